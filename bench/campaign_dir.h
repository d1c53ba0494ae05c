/* A campaign folder, OUT/NAME/, and its manifest campaign.json.
 *
 * The manifest exists from the first moment, before any guest boots, and is
 * rewritten atomically at every step, so that whatever ends migbench (a
 * full disk, SIGHUP, SIGKILL, a power cut) leaves a manifest that says how
 * far the campaign got:
 *   state        "running" | "finished" | "interrupted" | "failed"
 *   owner        the migbench running it (bench/owner.h: PID, start, boot)
 *   inputs       the scenario files' text and the command-line options, so
 *                that `migbench run --resume DIR` expands the same campaign
 *   planned_runs how many runs the campaign has
 *   in_progress  the run under way ({scenario, repetition, started}) or null
 *   runs         one entry per run with a result file: scenario,
 *                repetition, file, status, error
 * A manifest whose state is "running" but whose owner is gone belongs to a
 * migbench that was killed; --resume finishes it. */
#ifndef MB_CAMPAIGN_DIR_H
#define MB_CAMPAIGN_DIR_H

#include <stdbool.h>

#include <jansson.h>

#include "bench/error.h"
#include "bench/scenario.h"

#define MB_CAMPAIGN_SCHEMA "migbench-campaign/1"
#define MB_CAMPAIGN_MANIFEST "campaign.json"

struct mb_campaign_dir {
	char path[4096];
	json_t *manifest;
};

/* Creates OUT/NAME (NAME defaults to the local time, YYYYmmdd-HHMMSS; it
 * must be one path component) and writes its manifest in state "running".
 * Refuses to reuse an existing folder so no earlier campaign is touched.
 * `inputs` is borrowed (may be NULL). */
int mb_campaign_dir_create(const char *out_dir, const char *name, json_t *host, const json_t *inputs,
			   size_t planned_runs, struct mb_campaign_dir *c, struct mb_err *err);

/* 0 when `name` can be a campaign folder: one path component (not empty,
 * no '/', not "." or ".."); else -1 and `err` says so. mb_campaign_dir_create
 * checks it; `migbench run` can check it before anything else (--dry-run). */
int mb_campaign_name_check(const char *name, struct mb_err *err);

/* Opens an existing campaign to finish it: refuses one that finished or
 * whose migbench still runs; makes this process its owner. */
int mb_campaign_dir_open(const char *path, struct mb_campaign_dir *c, struct mb_err *err);

/* When the run already has a result that stands (completed, failed, did
 * not converge; not cancelled) and its file exists: its status, owned by
 * the manifest. Else NULL. */
const char *mb_campaign_dir_kept_status(const struct mb_campaign_dir *c, const struct mb_run_spec *spec);

/* Records that `spec` starts now (in_progress) and rewrites the manifest. */
int mb_campaign_dir_begin(struct mb_campaign_dir *c, const struct mb_run_spec *spec, struct mb_err *err);

/* Writes the run's file atomically to SCENARIO/REP.json and records it in
 * the manifest (replacing an earlier entry of the same run), rewritten
 * atomically too. A result not on disk is an error. */
int mb_campaign_dir_add(struct mb_campaign_dir *c, const struct mb_run_spec *spec,
			const json_t *result, struct mb_err *err);

/* guests=K: records the evacuation of one repetition (bench/evacuation.h:
 * its figures, borrowed) in the manifest's "evacuations", under the
 * scenario's name before the guests' expansion (replacing an earlier
 * entry of the same repetition), and rewrites the manifest. */
int mb_campaign_dir_note_evacuation(struct mb_campaign_dir *c, const struct mb_run_spec *first_guest,
				    const json_t *figures, struct mb_err *err);

/* Sets the final state ("finished", "interrupted", "failed"), writes the
 * manifest and releases it. 0, or -1 when the manifest could not be
 * written (it is released either way). */
int mb_campaign_dir_close(struct mb_campaign_dir *c, const char *state, struct mb_err *err);

#endif
