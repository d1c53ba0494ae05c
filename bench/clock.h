/* The host clocks in µs, and a sleep that survives signals: one definition
 * for every file that times something. CLOCK_REALTIME is the clock of
 * QEMU's QMP event timestamps; CLOCK_MONOTONIC measures intervals. */
#ifndef MB_CLOCK_H
#define MB_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline int64_t mb_clock_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline void mb_sleep_us(int64_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	while (us > 0 && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#endif
