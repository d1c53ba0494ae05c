/* The campaign folder and its manifest (see campaign_dir.h). */
#include "config.h"
#include "bench/campaign_dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/atomic_file.h"
#include "bench/clock.h"
#include "bench/owner.h"
#include "bench/result.h"

static int write_manifest(struct mb_campaign_dir *c, struct mb_err *err)
{
	char path[4096 + 32];

	snprintf(path, sizeof(path), "%s/" MB_CAMPAIGN_MANIFEST, c->path);
	if (mb_write_json_atomic(path, c->manifest, 0, err))
		return mb_err_prefix(err, "campaign manifest");
	return 0;
}

static int set_owner(json_t *manifest, struct mb_err *err)
{
	struct mb_owner me;
	char id[MB_OWNER_TEXT];

	if (mb_owner_of(0, &me, err))
		return mb_err_prefix(err, "campaign manifest: who runs it");
	mb_owner_format(&me, id, sizeof(id));
	json_object_set_new(manifest, "owner", json_pack("{s:i, s:s}", "pid", (int)me.pid, "id", id));
	return 0;
}

/* A campaign name is a folder inside OUT: "../x" or "a/b" would put results
 * (and a later --resume's writes) somewhere else. */
int mb_campaign_name_check(const char *name, struct mb_err *err)
{
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/'))
		return mb_errf(err, EINVAL, "campaign name '%s': must be one folder name "
			       "(not empty, no '/', not '.' or '..')", name);
	return 0;
}

int mb_campaign_dir_create(const char *out_dir, const char *name, json_t *host, const json_t *inputs,
			   size_t planned_runs, struct mb_campaign_dir *c, struct mb_err *err)
{
	char stamp[32];
	struct timespec now;

	memset(c, 0, sizeof(*c));
	clock_gettime(CLOCK_REALTIME, &now);
	if (!name) {
		struct tm tm;

		localtime_r(&now.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		name = stamp;
	}
	if (mb_campaign_name_check(name, err))
		return -1;
	if (mb_mkdir_p(out_dir, err))
		return mb_err_prefix(err, "campaign");
	if (snprintf(c->path, sizeof(c->path), "%s/%s", out_dir, name) >= (int)sizeof(c->path))
		return mb_errf(err, ENAMETOOLONG, "campaign folder '%s/%s'", out_dir, name);
	if (mkdir(c->path, 0755))
		return mb_errf(err, errno, "campaign folder '%s'%s", c->path,
			       errno == EEXIST ? " (an earlier campaign is never overwritten; choose another name)" : "");
	c->manifest = json_pack("{s:s, s:o, s:s, s:o, s:s, s:O, s:O, s:I, s:n, s:[]}",
				"schema", MB_CAMPAIGN_SCHEMA, "tool", mb_tool_json(),
				"name", name, "created", mb_iso_time((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000),
				"state", "running", "host", host ? host : json_null(),
				"inputs", inputs ? (json_t *)inputs : json_null(), "planned_runs", (json_int_t)planned_runs,
				"in_progress", "runs");
	if (!c->manifest) {
		rmdir(c->path);
		return mb_errf(err, ENOMEM, "campaign manifest");
	}
	if (set_owner(c->manifest, err) || write_manifest(c, err)) {
		/* Nothing of the campaign exists yet but the folder: take it back
		 * rather than leave a campaign without a manifest. */
		char path[4096 + 32];

		snprintf(path, sizeof(path), "%s/" MB_CAMPAIGN_MANIFEST, c->path);
		unlink(path);
		rmdir(c->path);
		json_decref(c->manifest);
		c->manifest = NULL;
		return -1;
	}
	return 0;
}

int mb_campaign_dir_open(const char *path, struct mb_campaign_dir *c, struct mb_err *err)
{
	char file[4096 + 32];
	json_error_t jerr;
	const char *state, *id;
	struct mb_owner owner;

	memset(c, 0, sizeof(*c));
	if (snprintf(c->path, sizeof(c->path), "%s", path) >= (int)sizeof(c->path))
		return mb_errf(err, ENAMETOOLONG, "campaign folder '%s'", path);
	snprintf(file, sizeof(file), "%s/" MB_CAMPAIGN_MANIFEST, c->path);
	c->manifest = json_load_file(file, 0, &jerr);
	if (!c->manifest)
		return mb_errf(err, errno == ENOENT ? ENOENT : EINVAL, "%s: %s", file, jerr.text);
	state = json_string_value(json_object_get(c->manifest, "state"));
	id = json_string_value(json_object_get(json_object_get(c->manifest, "owner"), "id"));
	if (!json_is_array(json_object_get(c->manifest, "runs")) ||
	    !json_is_object(json_object_get(c->manifest, "inputs"))) {
		mb_errf(err, EINVAL, "%s: not a manifest this migbench can resume (no inputs or runs; "
			"made by an older migbench?)", file);
		goto fail;
	}
	if (state && !strcmp(state, "finished")) {
		mb_errf(err, EALREADY, "%s: the campaign finished; nothing to resume", file);
		goto fail;
	}
	if (id && mb_owner_parse(id, &owner) == 0 && mb_owner_alive(&owner)) {
		mb_errf(err, EBUSY, "%s: migbench pid %d is running this campaign now", file, (int)owner.pid);
		goto fail;
	}
	json_object_set_new(c->manifest, "state", json_string("running"));
	json_object_set_new(c->manifest, "in_progress", json_null());
	if (set_owner(c->manifest, err) || write_manifest(c, err))
		goto fail;
	return 0;
fail:
	json_decref(c->manifest);
	c->manifest = NULL;
	return -1;
}

/* The manifest's entry of `spec`, and its index; NULL when none. */
static json_t *entry_of(const struct mb_campaign_dir *c, const struct mb_run_spec *spec, size_t *index)
{
	json_t *runs = json_object_get(c->manifest, "runs"), *e;
	size_t i;

	json_array_foreach(runs, i, e) {
		const char *s = json_string_value(json_object_get(e, "scenario"));

		if (s && !strcmp(s, spec->name) &&
		    json_integer_value(json_object_get(e, "repetition")) == (json_int_t)spec->repetition + 1) {
			if (index)
				*index = i;
			return e;
		}
	}
	return NULL;
}

const char *mb_campaign_dir_kept_status(const struct mb_campaign_dir *c, const struct mb_run_spec *spec)
{
	const json_t *e = entry_of(c, spec, NULL);
	const char *status = json_string_value(json_object_get(e, "status"));
	const char *file = json_string_value(json_object_get(e, "file"));
	char path[4096 + 512];

	if (!e || !status || !file || !strcmp(status, "cancelled"))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", c->path, file);
	return access(path, R_OK) == 0 ? status : NULL;
}

int mb_campaign_dir_begin(struct mb_campaign_dir *c, const struct mb_run_spec *spec, struct mb_err *err)
{
	json_object_set_new(c->manifest, "in_progress",
			    json_pack("{s:s, s:i, s:o}", "scenario", spec->name,
				      "repetition", (int)spec->repetition + 1,
				      "started", mb_iso_time(mb_clock_us(CLOCK_REALTIME))));
	return write_manifest(c, err);
}

int mb_campaign_dir_add(struct mb_campaign_dir *c, const struct mb_run_spec *spec,
			const json_t *result, struct mb_err *err)
{
	char dir[4096 + 256], path[4096 + 300], rel[512];
	const json_t *run = json_object_get(result, "run");
	json_t *runs = json_object_get(c->manifest, "runs"), *entry;
	size_t old;

	snprintf(dir, sizeof(dir), "%s/%s", c->path, spec->name);
	if (mb_mkdir_p(dir, err))
		return mb_err_prefix(err, "result of %s repetition %u", spec->name, spec->repetition + 1);
	snprintf(rel, sizeof(rel), "%s/%u.json", spec->name, spec->repetition + 1);
	snprintf(path, sizeof(path), "%s/%s", c->path, rel);
	mb_result_write_sidecars(dir, spec->repetition + 1, result);
	/* A resumed run replaces the cancelled one it finishes. */
	if (entry_of(c, spec, &old)) {
		unlink(path);
		json_array_remove(runs, old);
	}
	if (mb_write_json_atomic(path, result, 1, err))
		return mb_err_prefix(err, "result of %s repetition %u", spec->name, spec->repetition + 1);
	entry = json_pack("{s:s, s:i, s:s, s:O, s:O}", "scenario", spec->name,
			  "repetition", (int)spec->repetition + 1, "file", rel,
			  "status", json_object_get(run, "status"),
			  "error", json_object_get(run, "error") ? json_object_get(run, "error") : json_null());
	if (!entry || json_array_append_new(runs, entry))
		return mb_errf(err, ENOMEM, "campaign manifest: recording %s", rel);
	json_object_set_new(c->manifest, "in_progress", json_null());
	return write_manifest(c, err);
}

int mb_campaign_dir_note_evacuation(struct mb_campaign_dir *c, const struct mb_run_spec *first_guest,
				    const json_t *figures, struct mb_err *err)
{
	size_t len = mb_run_spec_group_len(first_guest);
	json_t *list = json_object_get(c->manifest, "evacuations"), *entry, *e;
	size_t i;

	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(c->manifest, "evacuations", list))
			return mb_errf(err, ENOMEM, "campaign manifest: recording an evacuation");
	}
	json_array_foreach(list, i, e) {
		const char *s = json_string_value(json_object_get(e, "scenario"));

		if (s && strlen(s) == len && !strncmp(s, first_guest->name, len) &&
		    json_integer_value(json_object_get(e, "repetition")) == (json_int_t)first_guest->repetition + 1) {
			json_array_remove(list, i);
			break;
		}
	}
	entry = json_deep_copy(figures);
	if (!entry || json_object_set_new(entry, "scenario", json_stringn(first_guest->name, len)) ||
	    json_object_set_new(entry, "repetition", json_integer((json_int_t)first_guest->repetition + 1)) ||
	    json_array_append_new(list, entry))
		return mb_errf(err, ENOMEM, "campaign manifest: recording an evacuation");
	return write_manifest(c, err);
}

int mb_campaign_dir_close(struct mb_campaign_dir *c, const char *state, struct mb_err *err)
{
	int rc = 0;

	if (c->manifest) {
		json_object_set_new(c->manifest, "state", json_string(state));
		json_object_set_new(c->manifest, "in_progress", json_null());
		json_object_set_new(c->manifest, "ended", mb_iso_time(mb_clock_us(CLOCK_REALTIME)));
		rc = write_manifest(c, err);
	}
	json_decref(c->manifest);
	c->manifest = NULL;
	return rc;
}
