#include "config.h"
#include "git-describe.h"
#include "bench/result.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench/atomic_file.h"
#include "bench/postcopy_faults.h"
#include "bench/self_cost.h"

json_t *mb_iso_time(int64_t real_us)
{
	char buf[64];
	time_t s = (time_t)(real_us / 1000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(real_us % 1000000));
	return json_string(buf);
}

json_t *mb_tool_json(void)
{
	return json_pack("{s:s, s:s, s:s}", "name", PACKAGE_NAME, "version", PACKAGE_VERSION,
			 "git_describe", MB_GIT_DESCRIBE);
}

/* QEMU's own figures, verbatim, from both sides. */
static json_t *qemu_reported(const struct mb_mig_record *rec)
{
	json_t *o = json_object();
	static const char *const keys[] = { "downtime", "total-time", "setup-time",
					    "expected-downtime", "ram", "status" };

	if (rec->final_source)
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			json_t *v = json_object_get(rec->final_source, keys[i]);

			if (v)
				json_object_set(o, keys[i], v);
		}
	json_object_set(o, "source", rec->final_source ? rec->final_source : json_null());
	json_object_set(o, "destination", rec->final_destination ? rec->final_destination : json_null());
	/* What the migration really ran with (tls-creds: TLS was on). */
	json_object_set(o, "migration_parameters",
			rec->migration_parameters ? rec->migration_parameters : json_null());
	return o;
}

static const char *const hb_columns[] = { "host_us", "guest_us", "seq", "written", "ops" };
#define HB_COLUMNS (sizeof(hb_columns) / sizeof(hb_columns[0]))

/* Heartbeats as columns (a row object per beat would triple the file). */
static void heartbeats_inline(json_t *o, const struct mb_hb_series *hb, int64_t origin_us)
{
	json_t *col[HB_COLUMNS];

	/* guest_us beside host_us: whether a late heartbeat was sent late (the
	 * guest's clock says so) or delivered late (only the arrival is late). */
	for (size_t c = 0; c < HB_COLUMNS; c++)
		col[c] = json_array();
	for (size_t i = 0; hb && i < hb->n; i++) {
		struct mb_hb_point p = mb_hb_at(hb, i);

		json_array_append_new(col[0], json_integer(p.host_us - origin_us));
		json_array_append_new(col[1], json_integer((json_int_t)p.guest_us));
		json_array_append_new(col[2], json_integer((json_int_t)p.seq));
		json_array_append_new(col[3], json_integer((json_int_t)p.written));
		json_array_append_new(col[4], json_integer((json_int_t)p.ops));
	}
	for (size_t c = 0; c < HB_COLUMNS; c++)
		json_object_set_new(o, hb_columns[c], col[c]);
}

struct hb_tsv {
	const struct mb_hb_series *hb;
	int64_t origin_us;
	long long bytes;
};

/* The side file: a header line of the column names, then one line per
 * heartbeat, the same numbers as inline. */
static int fill_hb_tsv(FILE *f, void *arg)
{
	struct hb_tsv *t = arg;
	int n = 0;

	for (size_t c = 0; c < HB_COLUMNS; c++)
		n += fprintf(f, "%s%s", c ? "\t" : "", hb_columns[c]);
	n += fprintf(f, "\n");
	t->bytes = n;
	for (size_t i = 0; i < t->hb->n; i++) {
		struct mb_hb_point p = mb_hb_at(t->hb, i);

		n = fprintf(f, "%lld\t%llu\t%llu\t%llu\t%llu\n", (long long)(p.host_us - t->origin_us),
			    (unsigned long long)p.guest_us, (unsigned long long)p.seq,
			    (unsigned long long)p.written, (unsigned long long)p.ops);
		if (n < 0)
			return -1;
		t->bytes += n;
	}
	return 0;
}

/* A series too long for the result: written to SERIES_DIR/REP.heartbeats.tsv
 * and named; when it cannot be written the result says why instead (and
 * never names a file that is not there). */
static void heartbeats_side_file(json_t *o, const struct mb_result_input *in)
{
	struct hb_tsv t = { .hb = in->heartbeats, .origin_us = in->start_real_us };
	char file[64], path[4096 + 64];
	struct mb_err err = {0};

	snprintf(file, sizeof(file), "%u.heartbeats.tsv", in->spec->repetition + 1);
	snprintf(path, sizeof(path), "%s/%s", in->series_dir, file);
	json_object_set_new(o, "count", json_integer((json_int_t)in->heartbeats->n));
	if (mb_mkdir_p(in->series_dir, &err) ||
	    mb_write_stream_atomic(path, fill_hb_tsv, &t, 0, &err)) {
		json_object_set_new(o, "error", json_sprintf("the heartbeats' side file: %s", err.msg));
		return;
	}
	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "format", json_string("tsv"));
	json_object_set_new(o, "bytes", json_integer(t.bytes));
}

static json_t *heartbeats_json(const struct mb_result_input *in)
{
	const struct mb_hb_series *hb = in->heartbeats;
	json_t *o = json_pack("{s:s, s:I}", "time_origin", "host realtime µs of run.start_time",
			      "origin_real_us", (json_int_t)in->start_real_us);

	if (in->series_dir && hb && hb->n > MB_RESULT_INLINE_POINTS)
		heartbeats_side_file(o, in);
	else
		heartbeats_inline(o, hb, in->start_real_us);
	return o;
}

/* The samples from the sampler's spool (one JSON object a line, written by
 * migbench) into an array: a short series, at most MB_RESULT_INLINE_SAMPLES
 * lines when it goes in the result. */
static json_t *samples_read_back(FILE *f)
{
	json_t *a = json_array();
	char *line = NULL;
	size_t cap = 0;

	rewind(f);
	while (getline(&line, &cap, f) > 0) {
		json_t *v = json_loads(line, 0, NULL);

		if (v)
			json_array_append_new(a, v);
	}
	free(line);
	return a;
}

static int fill_copy(FILE *out, void *arg)
{
	FILE *in = arg;
	char buf[65536];
	size_t n;

	rewind(in);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			return -1;
	return ferror(in) ? -1 : 0;
}

/* `samples`: inline (an array), or for a long series the side file
 * SERIES_DIR/REP.samples.jsonl (JSON Lines: one sample a line, as inline)
 * named in {file, format, count, bytes}, or {count, error} when it could
 * not be written. */
static json_t *samples_json(const struct mb_result_input *in)
{
	const struct mb_mig_record *rec = &in->outcome->rec;
	char file[64], path[4096 + 64];
	struct mb_err err = {0};
	struct stat st;

	if (rec->samples || !rec->samples_file)
		return rec->samples ? json_incref(rec->samples) : json_array();
	if (!in->series_dir || rec->samples_count <= MB_RESULT_INLINE_SAMPLES)
		return samples_read_back(rec->samples_file);
	snprintf(file, sizeof(file), "%u.samples.jsonl", in->spec->repetition + 1);
	snprintf(path, sizeof(path), "%s/%s", in->series_dir, file);
	if (mb_mkdir_p(in->series_dir, &err) ||
	    mb_write_stream_atomic(path, fill_copy, rec->samples_file, 0, &err) || stat(path, &st))
		return json_pack("{s:I, s:o}", "count", (json_int_t)rec->samples_count,
				 "error", json_sprintf("the samples' side file: %s", err.msg[0] ? err.msg : strerror(errno)));
	return json_pack("{s:s, s:s, s:I, s:I}", "file", file, "format", "jsonl",
			 "count", (json_int_t)rec->samples_count, "bytes", (json_int_t)st.st_size);
}

static void add_unavailable(json_t *metrics, const char *key, const char *why)
{
	json_t *u = json_object_get(metrics, "unavailable");

	if (!u) {
		u = json_object();
		json_object_set_new(metrics, "unavailable", u);
	}
	json_object_set_new(u, key, json_string(why));
}

/* The members of a result document that are migbench's own: no probe may
 * be called so (bench/plugins.c checks at start-up), since each probe's
 * output goes to the top level under its name. */
const char *const mb_result_members[] = {
	"schema", "tool", "host", "hypervisor", "scenario", "run", "metrics", "qemu_reported",
	"events", "samples", "heartbeats", "hosts", "group", "link", "self", NULL,
};

/* One probe's headline metrics (its ops.metrics) into `m`: objects merge
 * member by member (netclient's degradation.client beside the heartbeats'
 * degradation); a figure `m` has already is kept, and the clash is said
 * under metrics.unavailable. */
static void merge_metrics(json_t *m, json_t *into, const json_t *from, const char *probe,
			  const char *path)
{
	const char *name;
	json_t *v;

	json_object_foreach((json_t *)from, name, v) {
		json_t *have = json_object_get(into, name);
		char full[256], why[384];

		snprintf(full, sizeof(full), "%s%s%s", path, *path ? "." : "", name);
		if (!have) {
			json_object_set(into, name, v);
		} else if (json_is_object(have) && json_is_object(v)) {
			merge_metrics(m, have, v, probe, full);
		} else {
			snprintf(why, sizeof(why), "the probe '%s' gives a metric of this name too: "
				 "the earlier one is kept, rename the probe's", probe);
			add_unavailable(m, full, why);
		}
	}
}

static void add_probe_metrics(json_t *m, const json_t *by_probe)
{
	const char *probe;
	json_t *mine;

	json_object_foreach((json_t *)by_probe, probe, mine)
		merge_metrics(m, m, mine, probe, "");
}

/* metrics.postcopy_faults: QEMU's figures, or null and why. */
static void add_postcopy_faults(const struct mb_mig_outcome *o, const struct mb_params *p, json_t *m)
{
	struct mb_pf_why why = {0};
	const struct mb_pf_input in = {
		.completed = o->status == MB_RUN_COMPLETED,
		.mode = mb_keys[MB_KEY_MODE].choices[p->mode],
		.postcopy_mode = p->mode == MB_MODE_POSTCOPY || p->mode == MB_MODE_HYBRID,
		.postcopy = o->rec.times.postcopy_us != 0,
		.reply = o->rec.final_destination,
		.destination = json_object_get(o->rec.hypervisor, "destination"),
	};

	json_object_set_new(m, "postcopy_faults", mb_postcopy_faults(&in, &why));
	if (why.none[0])
		add_unavailable(m, "postcopy_faults", why.none);
	if (why.latency[0])
		add_unavailable(m, "postcopy_faults.latency", why.latency);
}

static json_t *metrics_json(const struct mb_result_input *in)
{
	const struct mb_mig_outcome *o = in->outcome;
	const struct mb_params *p = &in->spec->params;
	json_t *m = json_object();

	if (o->status != MB_RUN_COMPLETED) {
		add_unavailable(m, "times", "the migration did not complete");
	} else if (mb_metrics_times(&o->rec.times, m)) {
		add_unavailable(m, "times", "STOP/RESUME/completion events missing or out of order");
	}
	if (!o->rec.final_source) {
		add_unavailable(m, "pages_transferred", "no final query-migrate from the source");
	} else if (mb_metrics_pages(o->rec.final_source, m)) {
		char why[160];

		/* QEMU drops the ram block of a migration that failed or was
		 * cancelled: say that, not that the source gave no reply. */
		snprintf(why, sizeof(why), "the source's final query-migrate (status %s) has no ram block",
			 json_string_value(json_object_get(o->rec.final_source, "status")) ?: "unknown");
		add_unavailable(m, "pages_transferred", why);
	}
	if (o->status == MB_RUN_COMPLETED && in->heartbeats && in->heartbeats->n) {
		/* the heartbeat field the workload advances (its counter column) */
		const char *counter = mb_workload_desc(p->workload) ? mb_workload_desc(p->workload)->counter : "written";

		if (mb_metrics_heartbeats(&o->rec.times, in->heartbeats, (int64_t)p->baseline_us,
					  (int64_t)p->recovery_window_us, counter, m))
			add_unavailable(m, "guest_downtime_ms", "no heartbeats around the migration");
	} else {
		add_unavailable(m, "guest_downtime_ms", "no completed migration with heartbeats");
	}
	add_postcopy_faults(o, p, m);
	if (o->verify)
		json_object_set(m, "memory_verify", o->verify);
	add_probe_metrics(m, o->rec.probe_metrics);
	return m;
}

json_t *mb_result_build(const struct mb_result_input *in)
{
	const struct mb_mig_outcome *o = in->outcome;
	const char *actual_mode = mb_keys[MB_KEY_MODE].choices[in->spec->params.mode];
	json_t *run, *doc;

	/* Asking for post-copy is not getting it: QEMU finishes as pre-copy
	 * when pre-copy converged first. Only its postcopy-active says so. */
	if (in->spec->params.mode != MB_MODE_COLD)
		actual_mode = o->rec.times.postcopy_us ? "postcopy" : "precopy";
	run = json_pack("{s:s, s:s, s:i, s:o, s:s, s:s?, s:b}",
			"id", in->run_id, "scenario", in->spec->name,
			"repetition", (int)in->spec->repetition + 1,
			"start_time", mb_iso_time(in->start_real_us),
			"status", mb_run_status_name(o->status),
			/* how it completed; null for a run that did not */
			"completed_as", o->status == MB_RUN_COMPLETED ? actual_mode : NULL,
			"postcopy_requested", o->rec.switched_to_postcopy);
	if (o->status != MB_RUN_COMPLETED)
		json_object_set_new(run, "error", json_string(o->error));
	if (o->health)
		json_object_set(run, "health", o->health);
	if (o->guest_start)
		json_object_set(run, "guest_start", o->guest_start);

	/* "o" for the empty arrays: "O" would keep a second reference to a
	 * fresh array, which then outlives the document (LeakSanitizer). */
	doc = json_pack("{s:s, s:o, s:O, s:O, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			"schema", MB_RESULT_SCHEMA,
			"tool", mb_tool_json(),
			"host", in->host ? in->host : json_null(),
			"hypervisor", o->rec.hypervisor ? o->rec.hypervisor : json_null(),
			"scenario", mb_run_spec_to_json(in->spec),
			"run", run,
			"metrics", metrics_json(in),
			"qemu_reported", qemu_reported(&o->rec),
			"events", o->rec.events ? json_incref(o->rec.events) : json_array(),
			"samples", samples_json(in),
			"heartbeats", heartbeats_json(in));
	/* What this run cost migbench itself, per record received too. */
	json_object_set_new(doc, "self", mb_self_json((in->heartbeats ? in->heartbeats->n : 0) +
						      (o->rec.samples ? json_array_size(o->rec.samples) : o->rec.samples_count)));
	if (o->rec.link)
		json_object_set(doc, "link", o->rec.link);
	/* What the runner's own layer reported (libvirt_reported: libvirt's
	 * completed-job statistics), verbatim beside migbench's metrics. */
	{
		const char *name;
		json_t *v;

		json_object_foreach(o->rec.runner_reported, name, v)
			json_object_set(doc, name, v);
	}
	/* Each probe's output under its own name (energy, counters, ...): the
	 * names were checked against the document's own at start-up; should
	 * one clash all the same, the run says so instead of losing it. */
	{
		const char *name;
		json_t *v;

		json_object_foreach(o->rec.probes, name, v) {
			if (json_object_get(doc, name))
				json_object_set_new(run, "error_probe_output", json_sprintf(
					"the output of probe '%s' was not written: the result has a "
					"member of that name already", name));
			else
				json_object_set(doc, name, v);
		}
	}
	return doc;
}

/* Sidecar files: a probe's output may carry {"sidecar": {"suffix": S,
 * "content": TEXT}} (the network client's per-request trace), written
 * beside REP.json as REP.S. The probe's output then names the file in
 * trace.file (or says why there is none in trace.error) instead. jansson
 * hands out the members of a const document as mutable: the sidecars are
 * the only thing changed. */
void mb_result_write_sidecars(const char *dir, unsigned rep, const json_t *result)
{
	const char *name;
	json_t *member;

	json_object_foreach((json_t *)result, name, member) {
		json_t *sidecar = json_object_get(member, "sidecar"), *trace;
		const char *suffix = json_string_value(json_object_get(sidecar, "suffix"));
		const char *content = json_string_value(json_object_get(sidecar, "content"));
		char file[256], path[4096 + 512];
		struct mb_err err = {0};

		if (!suffix || !content || strchr(suffix, '/'))
			continue;
		snprintf(file, sizeof(file), "%u.%s", rep, suffix);
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		trace = json_object_get(member, "trace");
		if (!json_is_object(trace)) {
			trace = json_object();
			json_object_set_new(member, "trace", trace);
		}
		if (mb_write_text_atomic(path, content, json_string_length(json_object_get(sidecar, "content")), 1, &err))
			json_object_set_new(trace, "error", json_string(err.msg));
		else
			json_object_set_new(trace, "file", json_string(file));
		json_object_del(member, "sidecar");
	}
}
