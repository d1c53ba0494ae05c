/* The live progress line of `migbench run` (a TTY only). */
#ifndef MB_PROGRESS_H
#define MB_PROGRESS_H

#include <stdint.h>

#include "runners/runner.h"

struct mb_progress {
	int enabled;
	size_t run, nruns;
	const char *scenario;
	const char *mode;
	unsigned repetition, repetitions;
};

void mb_progress_update(const struct mb_mig_progress *p, int64_t elapsed_us, void *arg);
/* A line of its own (phase changes, results), erasing the progress line. */
void mb_progress_note(struct mb_progress *pr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mb_progress_clear(struct mb_progress *pr);

#endif
