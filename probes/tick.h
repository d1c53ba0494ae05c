/* The clock of the probes' sampling threads: a condition variable on
 * CLOCK_MONOTONIC (a wall-clock step must not stretch or skip a sample),
 * and a wait for the next tick that a stop request cuts short. */
#ifndef MB_PROBES_TICK_H
#define MB_PROBES_TICK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* pthread_cond_init with CLOCK_MONOTONIC; returns pthread's error code. */
int mb_tick_cond_init(pthread_cond_t *cond);

/* The first tick: now. */
void mb_tick_start(struct timespec *next);

/* Advances *next by interval_us and waits for it with `lock` held, until
 * then or until *stopping. With `skip_missed`, a deadline already past (the
 * last sample took longer than an interval) restarts from now instead of
 * firing once per missed interval. */
void mb_tick_wait(pthread_cond_t *cond, pthread_mutex_t *lock, struct timespec *next,
		  uint64_t interval_us, bool skip_missed, const int *stopping);

#endif
