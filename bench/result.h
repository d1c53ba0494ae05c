/* The result file of one run (DESIGN.md, "Contract for a result file") and
 * the campaign folder that holds them. */
#ifndef MB_RESULT_H
#define MB_RESULT_H

#include <stdint.h>

#include <jansson.h>

#include "bench/migration.h"

#define MB_RESULT_SCHEMA "migbench-result/1"
#define MB_CAMPAIGN_SCHEMA "migbench-campaign/1"

struct mb_result_input {
	const struct mb_run_spec *spec;
	const char *run_id;
	int64_t start_real_us;              /* when the run began, host realtime */
	const struct mb_mig_outcome *outcome;
	const struct mb_hb_series *heartbeats; /* the guest's, as the host received them */
	const json_t *host;                 /* borrowed: host description */
};

/* Builds the whole document. Metrics that cannot be computed for this run
 * (a failed migration has no downtime) are left out, with the reason under
 * metrics.unavailable. */
json_t *mb_result_build(const struct mb_result_input *in);

/* ---- campaign folder ---- */

struct mb_campaign_dir {
	char path[4096];
	json_t *manifest;
};

/* Creates OUT/NAME (NAME defaults to the local time, YYYYmmdd-HHMMSS);
 * refuses to reuse an existing folder so no earlier campaign is touched. */
int mb_campaign_dir_create(const char *out_dir, const char *name, json_t *host,
			   struct mb_campaign_dir *c, struct mb_err *err);

/* Writes the run's file atomically to SCENARIO/REP.json and records it in
 * the manifest (rewritten atomically too). */
int mb_campaign_dir_add(struct mb_campaign_dir *c, const struct mb_run_spec *spec,
			const json_t *result, struct mb_err *err);

void mb_campaign_dir_close(struct mb_campaign_dir *c);

#endif
