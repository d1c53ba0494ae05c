/* Whether perf counters work here (software, hardware): the check beside
 * the counters probe. */
#ifndef MB_COUNTERS_CHECK_H
#define MB_COUNTERS_CHECK_H

#include "bench/host.h"

/* ---- perf events ------------------------------------------------------------ */

struct mb_host_perf {
	int paranoid;           /* kernel.perf_event_paranoid, INT_MIN unknown */
	struct mb_check task_clock; /* software counter on this process */
	struct mb_check cycles;     /* hardware counter on this process */
};

void mb_probe_perf(const struct mb_host_roots *roots, struct mb_host_perf *out);

#endif
