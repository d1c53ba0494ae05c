/* guests=K: K guests, each with its own runner (its own source and
 * destination QEMUs), migrated at the same moment or staggered, as when a
 * host is evacuated for maintenance. Each guest's migration is the usual
 * one (bench/migration.c) in a thread of its own; a gate holds every
 * `migrate` until all destinations are up and then releases guest I at
 * t0 + (I - 1) x stagger, t0 being one baseline after the last destination
 * came up so that every guest has its full undisturbed baseline window.
 *
 * The runners stay up across repetitions, as the single guest's does
 * (back and forth between its two QEMUs); the run loop owns them. */
#ifndef MB_EVACUATION_H
#define MB_EVACUATION_H

#include <jansson.h>
#include <stddef.h>

#include "bench/migration.h"

struct mb_evac_guest {
	const struct mb_run_spec *spec;  /* this repetition's run of the guest */
	struct mb_runner *r;             /* its running guest; NULL = not booted */
	struct mb_err err;               /* why it could not boot */
	struct mb_mig_outcome out;
	struct mb_hb_series hb;          /* its heartbeats around the migration */
	int64_t start_real_us;           /* when its run began */
	int migrated;                    /* out is a migration's outcome */
	int fresh;                       /* prepared, not booted yet (internal) */
};

struct mb_evac_worker;

struct mb_evacuation {
	const struct mb_runner_ops *ops;
	volatile const int *interrupted;
	struct mb_evac_guest *guests;
	size_t k;
	struct mb_evac_worker *workers;  /* a thread per guest (internal) */
};

/* Boots every guest that has no runner: prepared one after the other (a
 * shared image may be built on first use), started in waves of one guest
 * per online CPU. A guest that fails keeps r NULL and says why in err.
 * Returns how many run. */
size_t mb_evac_boot(struct mb_evacuation *e);

/* Migrates every running guest (each guest's outcome and heartbeats into
 * its slot). Returns 0, or -1 (err) when the threads could not start:
 * nothing was migrated then. */
int mb_evac_migrate(struct mb_evacuation *e, struct mb_err *err);

/* The evacuation's figures from the guests' results (docs[i] is guest i's,
 * NULL for one without): first `migrate` to last end of migration,
 * aggregate throughput, and how downtime and total time spread over the
 * guests; with each guest's start and end offsets. */
json_t *mb_evac_figures(const struct mb_evacuation *e, json_t *const *docs);

/* The result's "group" member for guest i: its scenario before guests=K
 * expansion, its number, K, the stagger and the figures (borrowed). */
json_t *mb_evac_group_json(const struct mb_evacuation *e, size_t i, json_t *figures);

/* Releases every outcome and heartbeat series (not the runners). */
void mb_evac_release_runs(struct mb_evacuation *e);

/* Tears down every runner and ends the guests' threads. */
void mb_evac_teardown(struct mb_evacuation *e);

#endif
