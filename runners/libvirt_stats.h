/* libvirt's job statistics (virDomainGetJobStats) in the shape the rest of
 * migbench reads: QEMU's query-migrate reply. */
#ifndef MB_RUNNERS_LIBVIRT_STATS_H
#define MB_RUNNERS_LIBVIRT_STATS_H

#include <libvirt/libvirt.h>
#include <jansson.h>

#include "bench/error.h"

/* The job statistics of `dom` (flags: 0 for the running job,
 * VIR_DOMAIN_JOB_STATS_COMPLETED for the last completed one) as JSON,
 * verbatim, plus "type" (libvirt's job type). */
int mb_lv_job_stats(virDomainPtr dom, unsigned flags, json_t **out, struct mb_err *err);

/* A query-migrate-shaped object from libvirt's statistics: "status" as
 * given, "ram" from the memory_* fields (which come from QEMU's ram block),
 * "downtime" and "setup-time" where libvirt has them. What libvirt does not
 * pass on (QEMU's total-time, the per-phase byte counters) is absent, not
 * invented. */
json_t *mb_lv_query_migrate_shape(const json_t *stats, const char *status);

#endif
