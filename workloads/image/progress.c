#include "config.h"
#include "workloads/image/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void mb_img_progress(int verbose, const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	fputs("migbench image: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double mb_img_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
