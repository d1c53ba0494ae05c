/* The result file of one run (DESIGN.md, "Contract for a result file") and
 * the campaign folder that holds them. */
#ifndef MB_RESULT_H
#define MB_RESULT_H

#include <stdint.h>

#include <jansson.h>

#include "bench/migration.h"

#define MB_RESULT_SCHEMA "migbench-result/1"

/* A series (the run's heartbeats) longer than this many points goes to a
 * side file beside the result instead of into it (DESIGN.md, "Contract for
 * a result file"): 50 000 heartbeats are 50 s at the 1 ms default period,
 * about 2 MB of JSON, ten times that in jansson's memory while it is
 * written; beyond, the result would grow with the run. */
#define MB_RESULT_INLINE_POINTS 50000
/* The same for the query-migrate samples (~550 bytes of JSON each, ~3 KB
 * in jansson): 2 000 are 100 s at the 50 ms default interval. */
#define MB_RESULT_INLINE_SAMPLES 2000

struct mb_result_input {
	const struct mb_run_spec *spec;
	const char *run_id;
	int64_t start_real_us;              /* when the run began, host realtime */
	const struct mb_mig_outcome *outcome;
	const struct mb_hb_series *heartbeats; /* the guest's, as the host received them */
	const json_t *host;                 /* borrowed: host description */
	/* The scenario's folder, where a long series goes (REP.heartbeats.tsv,
	 * REP.samples.jsonl, written before the result is); NULL: every series
	 * inline. */
	const char *series_dir;
};

/* Builds the whole document. Metrics that cannot be computed for this run
 * (a failed migration has no downtime) are left out, with the reason under
 * metrics.unavailable. */
json_t *mb_result_build(const struct mb_result_input *in);

/* The top-level members a result has of its own, NULL-ended: a probe's
 * output goes beside them under its name, which must not be one of these. */
extern const char *const mb_result_members[];

/* "2026-11-27T22:18:19.123456Z" and the `tool` block, for every document
 * migbench writes. */
json_t *mb_iso_time(int64_t real_us);
json_t *mb_tool_json(void);

/* Writes the sidecar files a result's probes carry (SCENARIO/REP.SUFFIX
 * beside REP.json) and replaces them with their file names. */
void mb_result_write_sidecars(const char *dir, unsigned rep, const json_t *result);

/* The campaign folder and its manifest: bench/campaign_dir.h. */
#include "bench/campaign_dir.h"

#endif
