/* migbench's own cost: CPU time and memory of this process over a run, for
 * the result's `self` member, so that what measuring costs is measured
 * (issues 13 and 14: a long run must not grow migbench; a sample's cost). */
#ifndef MB_SELF_COST_H
#define MB_SELF_COST_H

#include <stddef.h>

#include <jansson.h>

/* A run starts: its CPU time counts from now, and the peak RSS (VmHWM) is
 * reset (Linux >= 4.0, /proc/self/clear_refs) so that it is this run's. */
void mb_self_begin(void);

/* Since mb_self_begin (or since the process started, when never called):
 *   {cpu_user_ms, cpu_sys_ms, wall_ms, peak_rss_kib, peak_rss_since: "run"
 *    | "process start", rss_kib, threads, records, cpu_us_per_record}
 * records = heartbeats + query-migrate samples received; cpu_us_per_record
 * = all of migbench's CPU time over them (an upper bound on what one
 * costs), null without records. */
json_t *mb_self_json(size_t records);

#endif
