#include "config.h"
#include "bench/progress.h"

#include <stdarg.h>
#include <stdio.h>

static double mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

void mb_progress_update(const struct mb_mig_progress *p, int64_t elapsed_us, void *arg)
{
	struct mb_progress *pr = arg;

	if (!pr->enabled)
		return;
	fprintf(stderr,
		"\r\033[K[%zu/%zu] %s rep %u/%u  %-15s pass %u  %.1f/%.1f MiB  dirty %llu p/s  exp.downtime %llu ms  %.1f s",
		pr->run, pr->nruns, pr->mode, pr->repetition, pr->repetitions, p->status, p->passes,
		mib(p->transferred), mib(p->total), (unsigned long long)p->dirty_rate,
		(unsigned long long)p->expected_downtime_ms, elapsed_us / 1e6);
	fflush(stderr);
}

void mb_progress_clear(struct mb_progress *pr)
{
	if (pr->enabled) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

void mb_progress_note(struct mb_progress *pr, const char *fmt, ...)
{
	va_list ap;

	mb_progress_clear(pr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
