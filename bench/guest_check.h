/* After a migration: did the guest arrive whole and healthy? The agent
 * verifies every page of its working set on the destination; heartbeats
 * must continue through the settle period; the console must show no sick
 * kernel. */
#ifndef MB_GUEST_CHECK_H
#define MB_GUEST_CHECK_H

#include "bench/migration.h"

/* Fills out->verify and out->health. Returns -1 (err says why, loudly for
 * corrupted pages) when the guest is not healthy. */
int mb_guest_check(const struct mb_runner_ops *ops, struct mb_runner *r,
		   const struct mb_run_spec *spec, struct mb_mig_outcome *out,
		   struct mb_err *err);

#endif
