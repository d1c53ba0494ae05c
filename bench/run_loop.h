/* The campaign loop: one guest per scenario, migrated back and forth for
 * its repetitions; every run's result written as soon as it is known. */
#ifndef MB_RUN_LOOP_H
#define MB_RUN_LOOP_H

#include <jansson.h>
#include <stdbool.h>

#include "bench/scenario.h"
#include "runners/runner.h"

struct mb_run_loop {
	const struct mb_runner_ops *ops;
	const struct mb_campaign *campaign;
	const char *out_dir;
	const char *name;            /* campaign name; NULL = date-time */
	int progress;                /* live progress line on stderr */
	bool grouped;                /* each scenario's runs together (one boot
	                              * each) instead of interleaved */
	volatile const int *interrupted;
	const json_t *inputs;        /* scenario texts and options for the
	                              * manifest (borrowed; see campaign_dir.h) */
	const char *resume_dir;      /* finish this campaign instead of a new one */
	unsigned unsaved;            /* out: results/manifests not written */
	char campaign_path[4096];    /* out: where the results went */
};

/* The order runs execute in, into out (c->nruns entries): the campaign's
 * own, round-robin over scenarios and sweep points (every scenario's
 * repetition 1, then every repetition 2, ...) so that host drift over a
 * long campaign spreads over all of them instead of looking like a
 * scenario effect; or, grouped, each scenario's repetitions together.
 * Returns how many. */
size_t mb_campaign_order(const struct mb_campaign *c, bool grouped, const struct mb_run_spec **out);

/* Returns the command's exit status (0 when every run completed). */
int mb_run_loop(struct mb_run_loop *loop);

#endif
