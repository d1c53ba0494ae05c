#include "config.h"
#include "probes/tick.h"

#include <errno.h>

int mb_tick_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int rc;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

void mb_tick_start(struct timespec *next)
{
	clock_gettime(CLOCK_MONOTONIC, next);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

void mb_tick_wait(pthread_cond_t *cond, pthread_mutex_t *lock, struct timespec *next,
		  uint64_t interval_us, bool skip_missed, const int *stopping)
{
	next->tv_nsec += (long)(interval_us % 1000000) * 1000;
	next->tv_sec += (time_t)(interval_us / 1000000) + next->tv_nsec / 1000000000;
	next->tv_nsec %= 1000000000;
	if (skip_missed) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (before(next, &now))
			*next = now;
	}
	while (!*stopping && pthread_cond_timedwait(cond, lock, next) != ETIMEDOUT)
		;
}
