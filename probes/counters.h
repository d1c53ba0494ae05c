/* The counters probe: where the CPU went during a migration, per QEMU
 * thread on both sides, per phase.
 *
 * Every thread of the source and destination QEMU (found in
 * /proc/PID/task, re-scanned at every sample so the migration threads that
 * appear with `migrate` are caught) gets perf_event_open counters:
 *   software  task-clock (ns), page-faults, context-switches, cpu-migrations:
 *             always, where perf_event_open works at all;
 *   hardware  cycles, instructions, LLC-misses by default, or the
 *             `counter_events` scenario key ('+'-separated libpfm4 names),
 *             encoded by libpfm4 (pfm_get_os_event_encoding,
 *             PFM_OS_PERF_EVENT); without libpfm4, or without a hardware
 *             PMU, reported unavailable with the reason.
 * and its CPU time from /proc/PID/task/TID/stat (utime, stime), which works
 * on any host. A sampling thread reads everything every sample_interval
 * with a timestamp; to_json attributes the increments to the phases
 * (probes/counters_series.h).
 *
 * Threads are told apart by role: "vcpu" (thread ids from QMP
 * query-cpus-fast, or named "CPU n/TCG|KVM"), "migration" (the source's
 * migration thread: "mig/src/main" since QEMU 9, "live_migration" before),
 * "migration-helper" (the other "mig/..." threads: return path, post-copy
 * fault and listen threads, multifd channels), "main" and "other". QEMU
 * names its threads because migbench starts it with debug-threads=on. */
#ifndef MB_PROBES_COUNTERS_H
#define MB_PROBES_COUNTERS_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probes/probe.h"

#define MB_CTR_SW 4
#define MB_CTR_MAX_HW 8
#define MB_CTR_DEFAULT_HW "cycles+instructions+LLC-misses"

/* The probe's own scenario keys (probes/counters.c), parsed for a run. */
struct mb_ctr_options {
	const char *counter_events;     /* '+'-separated libpfm4 names; "none" */
};

#define MB_CTR_NAME_MAX 64

struct mb_ctr_event {
	char name[MB_CTR_NAME_MAX];     /* as asked for: "LLC-misses" */
	char encoding[160];             /* libpfm4's full name, "" for software */
	struct perf_event_attr attr;
};

struct mb_ctr_events {
	size_t nsw, nhw;
	struct mb_ctr_event sw[MB_CTR_SW];
	struct mb_ctr_event hw[MB_CTR_MAX_HW];
	char hw_requested[512];         /* the list asked for, '+'-separated */
	bool hw_ok;                     /* every name encoded (opening is tried later) */
	char hw_reason[512];            /* why hardware events are not counted */
};

/* The syntax of a hardware event list, which the counter_events scenario
 * key checks before anything runs: names joined by '+' (or blanks), each
 * made of letters, digits and "_-.:=" (libpfm4's "pmu::event:umask:mod=1"
 * and perf's "LLC-misses"), shorter than MB_CTR_NAME_MAX, at most
 * MB_CTR_MAX_HW of them; or "none" alone. Fills `names` and returns how
 * many (0 for "none"), or -1 with `why` saying what is wrong. */
int mb_ctr_events_split(const char *list, char names[MB_CTR_MAX_HW][MB_CTR_NAME_MAX], char *why,
			size_t len);

/* Fills the software events and encodes `hw_list` ('+' or blank separated
 * event names; NULL or "" = MB_CTR_DEFAULT_HW; "none" = no hardware
 * events). Hardware names are libpfm4's, plus perf's spellings it lacks
 * (LLC-misses, LLC-loads, cache-misses, branch-misses). Never fails: what
 * cannot be encoded is in hw_reason. */
void mb_ctr_events_resolve(const char *hw_list, struct mb_ctr_events *ev);

/* Opens events [0, n) as one group on thread `tid` (any CPU), counting
 * at once. fds[i] = -1 for a member that failed; the leader failing fails
 * the group: -1 with errno kept and `why` saying which. `kernel_too`
 * becomes false when the kernel only allowed user space. */
int mb_ctr_open_group(const struct mb_ctr_event *events, size_t n, pid_t tid, int *fds,
		      bool *kernel_too, char *why, size_t len);
/* Reads a group opened by mb_ctr_open_group into values[0, n) (0 for a
 * member that is not open), scaled up when the PMU multiplexed it. 0, or -1
 * (the thread's counters are gone). */
int mb_ctr_read_group(const int *fds, size_t n, uint64_t *values);
void mb_ctr_close_group(int *fds, size_t n);

/* A /proc/PID/task/TID/stat line: utime, stime (clock ticks) and starttime
 * (clock ticks after boot). 0, or -1 when it is not such a line. */
int mb_proc_stat_parse(const char *line, uint64_t *utime, uint64_t *stime, uint64_t *starttime);

/* The role of a thread from its name, "vcpu" when is_vcpu. */
const char *mb_ctr_thread_role(const char *comm, bool is_vcpu, bool is_main);

extern const struct mb_probe_ops mb_probe_counters;

#endif
