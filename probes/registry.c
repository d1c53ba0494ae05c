#include "config.h"
#include "probes/probe.h"
#include "probes/counters.h"
#include "probes/energy.h"
#include "probes/netclient.h"
#include "probes/topology.h"

#include <stddef.h>

/* The probes that run around every migration (the query-migrate sampler
 * and the heartbeat reader are driven by the runner itself: its progress
 * and the guest checks need them). Adding a probe: one file, one line. */
const struct mb_probe_ops *const mb_probes[] = {
	&mb_probe_placement,    /* first: the others' threads start bound */
	&mb_probe_energy,
	&mb_probe_counters,
	&mb_probe_netclient,    /* echo/kv: what a client of the guest's service sees */
	NULL,
};
