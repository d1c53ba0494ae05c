#include "config.h"
#include "probes/probe.h"

#include <stddef.h>

/* The probes that run around every migration (the query-migrate sampler
 * and the heartbeat reader are driven by the runner itself: its progress
 * and the guest checks need them). Adding a probe: one file, one line. */
const struct mb_probe_ops *const mb_probes[] = {
	NULL,
};
