/* The agent's one time base: CLOCK_MONOTONIC in microseconds. Pacing, the
 * heartbeat schedule and every `gt=` field use it, so they agree. */
#ifndef MB_AGENT_CLOCK_H
#define MB_AGENT_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t agent_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline struct timespec agent_us_to_timespec(uint64_t us)
{
	return (struct timespec){
		.tv_sec = (time_t)(us / 1000000u),
		.tv_nsec = (long)(us % 1000000u) * 1000,
	};
}

/* Sleeps until the absolute CLOCK_MONOTONIC time `deadline_us`, retrying
 * after signals so a short sleep never turns into a busy loop. */
static inline void agent_sleep_until_us(uint64_t deadline_us)
{
	struct timespec ts = agent_us_to_timespec(deadline_us);

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

#endif
