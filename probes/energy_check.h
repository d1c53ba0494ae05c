/* Whether RAPL energy counters can be read here, and through what: the
 * check beside the energy probe that relies on it. */
#ifndef MB_ENERGY_CHECK_H
#define MB_ENERGY_CHECK_H

#include "bench/host.h"

/* ---- RAPL energy ----------------------------------------------------------- */

enum mb_rapl_source {
	MB_RAPL_NONE,
	MB_RAPL_POWERCAP,       /* /sys/class/powercap/intel-rapl:N/energy_uj */
	MB_RAPL_PERF,           /* perf PMU /sys/bus/event_source/devices/power */
	MB_RAPL_PAPI,           /* PAPI's powercap or rapl component (HAVE_PAPI) */
};

struct mb_host_rapl {
	struct mb_check powercap;
	int powercap_zones;     /* top-level zones with a readable energy_uj */
	struct mb_check perf;
	struct mb_check papi;   /* PAPI with an enabled powercap/rapl component */
	enum mb_rapl_source source; /* powercap, then perf, then PAPI (probes/energy.h) */
	char reason[3 * MB_PROBE_TEXT + 32]; /* why none, when source is NONE */
};

/* try_open: also perf_event_open the power PMU's energy-pkg event (only
 * meaningful against the real /sys; fixture trees set it false). */
void mb_probe_rapl(const struct mb_host_roots *roots, bool try_open, struct mb_host_rapl *out);

const char *mb_rapl_source_name(enum mb_rapl_source source); /* "powercap", "perf", "papi", "none" */

#endif
