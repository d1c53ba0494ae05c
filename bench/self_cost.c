#include "config.h"
#include "bench/self_cost.h"
#include "bench/clock.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* One run at a time is measured (the run loop's); the mark is the
 * process's. */
static struct {
	bool set, hwm_reset;
	int64_t wall_us, user_us, sys_us;
} mark;

static int64_t tv_us(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

void mb_self_begin(void)
{
	struct rusage ru;
	FILE *f = fopen("/proc/self/clear_refs", "w");

	/* "5" resets the peak RSS to the current RSS. */
	mark.hwm_reset = f && fputs("5", f) >= 0;
	if (f && fclose(f))
		mark.hwm_reset = false;
	getrusage(RUSAGE_SELF, &ru);
	mark.user_us = tv_us(ru.ru_utime);
	mark.sys_us = tv_us(ru.ru_stime);
	mark.wall_us = mb_clock_us(CLOCK_MONOTONIC);
	mark.set = true;
}

/* A "Key:   123 kB" line of /proc/self/status; -1 when absent. */
static long long status_field(const char *key)
{
	char line[256];
	long long v = -1;
	size_t len = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			sscanf(line + len + 1, "%lld", &v);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

static json_t *number_or_null(long long v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

json_t *mb_self_json(size_t records)
{
	struct rusage ru;
	int64_t user, sys;

	getrusage(RUSAGE_SELF, &ru);
	user = tv_us(ru.ru_utime) - (mark.set ? mark.user_us : 0);
	sys = tv_us(ru.ru_stime) - (mark.set ? mark.sys_us : 0);
	return json_pack("{s:f, s:f, s:o, s:o, s:s, s:o, s:o, s:I, s:o}",
			 "cpu_user_ms", (double)user / 1000.0,
			 "cpu_sys_ms", (double)sys / 1000.0,
			 "wall_ms", mark.set ? json_real((double)(mb_clock_us(CLOCK_MONOTONIC) - mark.wall_us) / 1000.0)
					     : json_null(),
			 "peak_rss_kib", number_or_null(status_field("VmHWM")),
			 "peak_rss_since", mark.set && mark.hwm_reset ? "run" : "process start",
			 "rss_kib", number_or_null(status_field("VmRSS")),
			 "threads", number_or_null(status_field("Threads")),
			 "records", (json_int_t)records,
			 "cpu_us_per_record", records ? json_real((double)(user + sys) / (double)records) : json_null());
}
