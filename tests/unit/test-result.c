/* The result file of one run (bench/result.c) against DESIGN.md's contract,
 * on outcomes built by hand and on real result files kept as fixtures
 * (tests/fixtures/results/, see its README), and the end-of-campaign table
 * (bench/summary.c): medians over completed runs only. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/metrics.h"
#include "bench/migration.h"
#include "bench/result.h"
#include "bench/scenario.h"
#include "bench/summary.h"

#ifndef MB_FIXTURES_DIR
#define MB_FIXTURES_DIR "tests/fixtures"
#endif

static const char *fixtures_dir(void)
{
	const char *env = getenv("MIGBENCH_FIXTURES");

	return env && *env ? env : MB_FIXTURES_DIR;
}

/* tests/fixtures/<sub>/<name>, parsed; fails the test when it cannot be. */
static json_t *load_fixture(const char *sub, const char *name)
{
	char path[4096];
	json_error_t jerr;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/%s/%s", fixtures_dir(), sub, name);
	doc = json_load_file(path, 0, &jerr);
	if (!doc)
		fail_msg("fixture %s: %s (line %d)", path, jerr.text, jerr.line);
	return doc;
}

/* ---- the contract ---------------------------------------------------------------- */

static const char *const top_keys[] = { "schema", "tool", "host", "hypervisor", "scenario", "run",
					"metrics", "qemu_reported", "events", "samples", "heartbeats" };
#define NTOP (sizeof(top_keys) / sizeof(top_keys[0]))
/* ... and the ones a result written before they existed lacks */
static const char *const later_keys[] = { "self" };
#define NLATER (sizeof(later_keys) / sizeof(later_keys[0]))

/* The seed's six metrics: the four times, pages transferred, degradation. */
static const char *const time_keys[] = { "preparation_time_ms", "downtime_ms", "resume_time_ms",
					 "total_time_ms" };

static const json_t *member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		fail_msg("no key '%s' in %s", key, json_dumps(o, JSON_COMPACT) ?: "?");
	return v;
}

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = member(o, key);

	if (!json_is_string(v))
		fail_msg("'%s' is not a string", key);
	return json_string_value(v);
}

static double num(const json_t *o, const char *key)
{
	const json_t *v = member(o, key);

	if (!json_is_number(v))
		fail_msg("'%s' is not a number", key);
	return json_number_value(v);
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;
	int rc;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	if (rc)
		fail_msg("'%s' does not match /%s/", text, pattern);
}

/* Everything DESIGN.md's "Contract for a result file" promises, for any
 * status. `what` names the document in failure messages. With `exact`, no
 * other top-level key either (real files may also carry probes' outputs
 * under their names). */
static void assert_contract(const json_t *doc, const char *what, int exact)
{
	const json_t *run, *metrics, *scenario, *hb, *v;
	const char *status, *key;
	size_t n;

	print_message("# contract: %s\n", what);
	assert_true(json_is_object(doc));
	for (size_t i = 0; i < NTOP; i++)
		if (!json_object_get(doc, top_keys[i]))
			fail_msg("%s: no top-level key '%s'", what, top_keys[i]);
	json_object_foreach((json_t *)doc, key, v) {
		size_t i = 0;

		while (i < NTOP && strcmp(top_keys[i], key))
			i++;
		for (size_t l = 0; i == NTOP && l < NLATER; l++)
			if (!strcmp(later_keys[l], key))
				i = 0;
		if (i == NTOP && exact)
			fail_msg("%s: top-level key '%s' is not in the contract", what, key);
		if (i == NTOP && !json_is_object(v))
			fail_msg("%s: top-level key '%s' is not a probe's object", what, key);
	}
	assert_string_equal(str(doc, "schema"), MB_RESULT_SCHEMA);
	v = member(doc, "tool");
	assert_string_equal(str(v, "name"), "migbench");
	str(v, "version");
	str(v, "git_describe");

	/* every scenario key, after expansion (a file written before a key
	 * was added lacks it: fixtures are checked for the core ones) */
	scenario = member(doc, "scenario");
	str(scenario, "name");
	str(scenario, "mode");
	num(scenario, "memory");
	num(scenario, "rate");
	num(scenario, "max_bandwidth");
	if (exact)
		for (size_t k = 0; k < MB_KEY_COUNT; k++)
			member(scenario, mb_keys[k].name);

	run = member(doc, "run");
	str(run, "id");
	assert_string_equal(str(run, "scenario"), str(scenario, "name"));
	assert_true(json_integer_value(member(run, "repetition")) >= 1);
	assert_matches(str(run, "start_time"), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$");
	status = str(run, "status");
	assert_matches(status, "^(completed|failed|did-not-converge|cancelled)$");
	assert_true(json_is_boolean(member(run, "postcopy_requested")));
	/* How it completed is only said of a run that did. */
	if (!strcmp(status, "completed"))
		assert_matches(str(run, "completed_as"), "^(precopy|postcopy|cold)$");
	else
		assert_true(json_is_null(member(run, "completed_as")));
	if (strcmp(status, "completed")) {
		assert_true(strlen(str(run, "error")) > 0);
	} else {
		assert_null(json_object_get(run, "error"));
		assert_true(json_is_boolean(member(member(run, "health"), "healthy")));
	}

	metrics = member(doc, "metrics");
	assert_true(json_is_object(metrics));
	if (!strcmp(status, "completed")) {
		for (size_t i = 0; i < 4; i++)
			assert_true(num(metrics, time_keys[i]) >= 0);
		v = member(metrics, "pages_transferred");
		num(v, "total");
		num(v, "precopy");
		num(v, "downtime");
		num(v, "postcopy");
		num(member(v, "bytes"), "total");
		assert_true(json_is_object(member(metrics, "degradation")));
		member(metrics, "guest_downtime_ms");
		assert_true(num(member(metrics, "memory_verify"), "pages_checked") > 0);
		/* post-copy faults: figures, or null and why */
		if (json_is_null(member(metrics, "postcopy_faults")))
			assert_true(strlen(str(member(metrics, "unavailable"), "postcopy_faults")) > 0);
		else
			assert_true(num(member(metrics, "postcopy_faults"), "blocktime_ms") >= 0);
	} else {
		/* what could not be computed says why */
		assert_true(strlen(str(member(metrics, "unavailable"), "times")) > 0);
		for (size_t i = 0; i < 4; i++)
			assert_null(json_object_get(metrics, time_keys[i]));
	}

	v = member(doc, "qemu_reported");
	member(v, "source");
	member(v, "destination");
	assert_true(json_is_array(member(doc, "events")));
	json_array_foreach(member(doc, "events"), n, v) {
		assert_matches(str(v, "side"), "^(source|destination)$");
		str(v, "event");
		assert_true(json_integer_value(member(v, "qemu_us")) > 0);
	}
	v = member(doc, "samples");
	if (json_is_object(v)) {
		/* a long series: in a side file the result names */
		assert_matches(str(v, "file"), "^[0-9]+\\.samples\\.jsonl$");
		assert_true(num(v, "count") > MB_RESULT_INLINE_SAMPLES);
	} else {
		assert_true(json_is_array(v));
	}
	hb = member(doc, "heartbeats");
	if (json_object_get(hb, "file")) {
		/* a long series: in a side file the result names */
		assert_matches(str(hb, "file"), "^[0-9]+\\.heartbeats\\.tsv$");
		assert_string_equal(str(hb, "format"), "tsv");
		assert_true(num(hb, "count") > MB_RESULT_INLINE_POINTS);
		assert_true(num(hb, "bytes") > 0);
		assert_null(json_object_get(hb, "host_us"));
	} else {
		n = json_array_size(member(hb, "host_us"));
		assert_int_equal(json_array_size(member(hb, "seq")), n);
		assert_int_equal(json_array_size(member(hb, "written")), n);
		assert_int_equal(json_array_size(member(hb, "ops")), n);
	}
	assert_true(json_is_integer(member(hb, "origin_real_us")));
	if ((v = json_object_get(doc, "self"))) {
		assert_true(num(v, "cpu_user_ms") >= 0);
		assert_true(num(v, "cpu_sys_ms") >= 0);
		assert_true(num(v, "peak_rss_kib") > 0);
		assert_matches(str(v, "peak_rss_since"), "^(run|process start)$");
	}
}

/* ---- hand-built outcomes ------------------------------------------------------------ */

#define T0 1700000000123456LL   /* 2023-11-14T22:13:20.123456Z */

struct built {
	struct mb_campaign campaign;
	struct mb_mig_outcome out;
	struct mb_hb_point *points;
	struct mb_hb_series hb;
	json_t *host;
	json_t *doc;
};

static void expand(const char *text, struct mb_campaign *c)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);

	assert_non_null(set);
	if (mb_scenario_parse_string(set, "t.ini", text, &err) || mb_scenario_expand(set, c, &err))
		fail_msg("%s", err.msg);
	mb_scenario_set_free(set);
}

/* A migration at T0: STOP at +1 s, RESUME at +1.05 s, done at +1.06 s; a
 * heartbeat per ms from 2.5 s before to 1 s after, 1 page written per ms,
 * none while the guest is stopped. */
static void build_completed(struct built *b, const char *scenario)
{
	struct mb_mig_times t = {
		.start_us = T0, .src_stop_us = T0 + 1000000, .dst_resume_us = T0 + 1050000,
		.src_complete_us = T0 + 1060000, .dst_complete_us = T0 + 1059000,
	};
	json_t *qm = load_fixture("qmp", "query-migrate-completed.json");
	size_t n = 0;
	uint64_t written = 0;

	memset(b, 0, sizeof(*b));
	expand(scenario, &b->campaign);
	b->out.status = MB_RUN_COMPLETED;
	b->out.rec.times = t;
	b->out.rec.final_source = json_incref(json_object_get(qm, "return"));
	b->out.rec.final_destination = json_pack("{s:s}", "status", "completed");
	b->out.rec.events = json_pack("[{s:s, s:s, s:n, s:I}, {s:s, s:s, s:n, s:I}]",
				      "side", "source", "event", "STOP", "data", "qemu_us", (json_int_t)t.src_stop_us,
				      "side", "destination", "event", "RESUME", "data", "qemu_us",
				      (json_int_t)t.dst_resume_us);
	b->out.rec.samples = json_array();
	b->out.rec.hypervisor = json_pack("{s:{s:s}, s:{s:s}}", "source", "version", "10.0.2",
					  "destination", "version", "10.0.2");
	b->out.verify = json_pack("{s:i, s:i, s:n, s:i}", "pages_checked", 16384, "pages_corrupted", 0,
				  "first_corrupted_page", "verify_us", 5000);
	b->out.health = json_pack("{s:i, s:b}", "heartbeats_in_settle", 2000, "healthy", 1);
	json_decref(qm);

	b->points = calloc(5000, sizeof(*b->points));
	assert_non_null(b->points);
	for (int64_t us = T0 - 2500000; us < T0 + 2060000; us += 1000) {
		if (us >= t.src_stop_us && us < t.dst_resume_us)
			continue;
		b->points[n] = (struct mb_hb_point){ .host_us = us, .seq = n, .written = written++, .ops = 0 };
		n++;
		assert_true(n < 5000);
	}
	b->hb = (struct mb_hb_series){ .points = b->points, .n = n };
	b->host = json_pack("{s:s, s:s}", "accelerator", "tcg", "kernel", "Linux test");
}

static json_t *build_doc(struct built *b)
{
	struct mb_result_input in = {
		.spec = &b->campaign.runs[0], .run_id = "c/t/1", .start_real_us = T0,
		.outcome = &b->out, .heartbeats = b->hb.n ? &b->hb : NULL, .host = b->host,
	};

	b->doc = mb_result_build(&in);
	assert_non_null(b->doc);
	return b->doc;
}

static void built_free(struct built *b)
{
	json_decref(b->doc);
	json_decref(b->host);
	mb_mig_outcome_release(&b->out);
	free(b->points);
	mb_campaign_free(&b->campaign);
}

static void completed_precopy(void **state)
{
	struct built b;
	const json_t *doc, *run, *m, *pt, *qr;

	build_completed(&b, "[precopy]\nmode=precopy\nrate=1M\n");
	doc = build_doc(&b);
	assert_contract(doc, "built: completed pre-copy", 1);

	run = json_object_get(doc, "run");
	assert_string_equal(str(run, "id"), "c/t/1");
	assert_string_equal(str(run, "scenario"), "precopy");
	assert_int_equal(json_integer_value(member(run, "repetition")), 1);
	assert_string_equal(str(run, "start_time"), "2023-11-14T22:13:20.123456Z");
	assert_string_equal(str(run, "status"), "completed");
	assert_string_equal(str(run, "completed_as"), "precopy");
	assert_false(json_is_true(member(run, "postcopy_requested")));
	assert_true(json_is_true(member(member(run, "health"), "healthy")));

	m = json_object_get(doc, "metrics");
	/* all there but the post-copy faults a pre-copy run cannot have */
	assert_int_equal(json_object_size(member(m, "unavailable")), 1);
	assert_non_null(strstr(str(member(m, "unavailable"), "postcopy_faults"), "mode=precopy"));
	assert_float_equal(num(m, "preparation_time_ms"), 1000.0, 1e-9);
	assert_float_equal(num(m, "downtime_ms"), 50.0, 1e-9);
	assert_float_equal(num(m, "resume_time_ms"), 10.0, 1e-9);
	assert_float_equal(num(m, "total_time_ms"), 1060.0, 1e-9);
	/* the heartbeats' gap: the last beat before STOP to the first after RESUME */
	assert_float_equal(num(m, "guest_downtime_ms"), 51.0, 1e-9);
	assert_float_equal(num(member(m, "degradation"), "baseline_per_s"), 1000.0, 1e-6);
	pt = member(m, "pages_transferred");
	assert_int_equal(json_integer_value(member(pt, "total")), 4211 + 12307); /* normal + duplicate */
	assert_int_equal(json_integer_value(member(member(pt, "bytes"), "total")), 17392966);
	assert_int_equal(json_integer_value(member(member(pt, "bytes"), "downtime")), 16423);
	assert_int_equal(json_integer_value(member(member(m, "memory_verify"), "pages_corrupted")), 0);
	assert_int_equal(json_integer_value(member(member(m, "memory_verify"), "pages_checked")), 16384);

	/* QEMU's figures verbatim, beside ours */
	qr = json_object_get(doc, "qemu_reported");
	assert_int_equal(json_integer_value(member(qr, "downtime")), 1);
	assert_int_equal(json_integer_value(member(qr, "total-time")), 2015);
	assert_int_equal(json_integer_value(member(member(qr, "ram"), "dirty-sync-count")), 3);
	assert_string_equal(str(member(qr, "destination"), "status"), "completed");

	/* the scenario echo: typed values after expansion */
	assert_string_equal(str(member(doc, "scenario"), "mode"), "precopy");
	assert_int_equal(json_integer_value(member(member(doc, "scenario"), "rate")), 256); /* pages/s */

	/* heartbeats as columns, times relative to the run's start */
	assert_int_equal(json_integer_value(member(member(doc, "heartbeats"), "origin_real_us")), T0);
	assert_int_equal(json_integer_value(json_array_get(member(member(doc, "heartbeats"), "host_us"), 0)),
			 -2500000);
	assert_int_equal(json_array_size(member(doc, "events")), 2);
	built_free(&b);
}

/* Asking for post-copy is not getting it: only postcopy-active says so. */
static void completed_as(void **state)
{
	struct built b;

	build_completed(&b, "[h]\nmode=hybrid\nhybrid_passes=2\n");
	b.out.rec.switched_to_postcopy = 1;
	build_doc(&b);
	assert_string_equal(str(member(b.doc, "run"), "completed_as"), "precopy");
	assert_true(json_is_true(member(member(b.doc, "run"), "postcopy_requested")));
	json_decref(b.doc);
	b.out.rec.times.postcopy_us = b.out.rec.times.src_stop_us + 500;
	build_doc(&b);
	assert_string_equal(str(member(b.doc, "run"), "completed_as"), "postcopy");
	assert_contract(b.doc, "built: hybrid that switched", 1);
	built_free(&b);

	build_completed(&b, "[c]\nmode=cold\n");
	build_doc(&b);
	assert_string_equal(str(member(b.doc, "run"), "completed_as"), "cold");
	built_free(&b);
}

/* Given up past its bounds: the status and why, the times unavailable with
 * a reason, QEMU's last word kept. */
static void did_not_converge(void **state)
{
	static const char why[] = "not converged after 5.0 s (timeout 5.0 s), at pass 1 with 205574144 bytes remaining";
	struct built b;
	const json_t *m, *u, *run;

	build_completed(&b, "[stuck]\nrate=0\nmax_bandwidth=8M\ntimeout=5s\n");
	b.out.status = MB_RUN_DID_NOT_CONVERGE;
	snprintf(b.out.error, sizeof(b.out.error), "%s", why);
	/* what QEMU answers after migrate_cancel: no ram block */
	json_decref(b.out.rec.final_source);
	b.out.rec.final_source = json_pack("{s:s}", "status", "cancelled");
	json_decref(b.out.verify);
	json_decref(b.out.health);
	b.out.verify = b.out.health = NULL;
	b.out.rec.times.src_stop_us = b.out.rec.times.dst_resume_us = 0;
	b.out.rec.times.src_complete_us = b.out.rec.times.dst_complete_us = 0;
	build_doc(&b);
	assert_contract(b.doc, "built: did-not-converge", 1);

	run = member(b.doc, "run");
	assert_string_equal(str(run, "status"), "did-not-converge");
	assert_string_equal(str(run, "error"), why);
	assert_null(json_object_get(run, "health"));
	m = member(b.doc, "metrics");
	u = member(m, "unavailable");
	assert_string_equal(str(u, "times"), "the migration did not complete");
	/* The source did answer: the reason is the missing ram block, not a
	 * missing reply. */
	assert_non_null(strstr(str(u, "pages_transferred"), "status cancelled"));
	assert_non_null(strstr(str(u, "pages_transferred"), "no ram block"));
	assert_null(strstr(str(u, "pages_transferred"), "no final query-migrate"));
	assert_non_null(strstr(str(u, "guest_downtime_ms"), "no completed migration"));
	assert_null(json_object_get(m, "pages_transferred"));
	assert_null(json_object_get(m, "memory_verify"));
	assert_null(json_object_get(m, "degradation"));
	assert_string_equal(str(member(member(b.doc, "qemu_reported"), "source"), "status"), "cancelled");
	/* the heartbeats are kept all the same */
	assert_true(json_array_size(member(member(b.doc, "heartbeats"), "seq")) > 3000);
	built_free(&b);
}

/* Completed, but the instants do not add up: no made-up times. */
static void times_out_of_order(void **state)
{
	struct built b;
	const json_t *m;

	build_completed(&b, "[p]\n");
	b.out.rec.times.dst_resume_us = b.out.rec.times.src_stop_us - 1;
	build_doc(&b);
	m = member(b.doc, "metrics");
	assert_non_null(strstr(str(member(m, "unavailable"), "times"), "out of order"));
	assert_null(json_object_get(m, "downtime_ms"));
	/* pages do not depend on the instants */
	assert_non_null(json_object_get(m, "pages_transferred"));
	built_free(&b);

	build_completed(&b, "[p]\n");
	b.out.rec.times.src_stop_us = 0; /* no STOP event */
	build_doc(&b);
	assert_non_null(strstr(str(member(member(b.doc, "metrics"), "unavailable"), "times"), "missing"));
	built_free(&b);
}

/* A run that could not even start (the run loop's record_unstarted): still
 * a whole document, saying why. */
static void failed_before_start(void **state)
{
	struct built b;
	const json_t *m;

	memset(&b, 0, sizeof(b));
	expand("[p]\n", &b.campaign);
	b.out.status = MB_RUN_FAILED;
	snprintf(b.out.error, sizeof(b.out.error), "booting the guest: no heartbeat");
	build_doc(&b);
	assert_contract(b.doc, "built: failed before start", 1);
	assert_true(json_is_null(member(b.doc, "hypervisor")));
	assert_true(json_is_null(member(b.doc, "host")));
	assert_true(json_is_null(member(member(b.doc, "qemu_reported"), "source")));
	assert_int_equal(json_array_size(member(b.doc, "events")), 0);
	m = member(b.doc, "metrics");
	assert_non_null(strstr(str(member(m, "unavailable"), "pages_transferred"), "no final query-migrate"));
	assert_string_equal(str(member(b.doc, "run"), "error"), "booting the guest: no heartbeat");
	built_free(&b);
}

/* ---- real result files ----------------------------------------------------------------- */

static void fixtures_follow_the_contract(void **state)
{
	static const char *const files[] = { "precopy-completed.json", "postcopy-completed.json",
					     "hybrid-completed.json", "cold-completed.json",
					     "did-not-converge.json", "failed.json" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		json_t *doc = load_fixture("results", files[i]);

		assert_contract(doc, files[i], 0);
		json_decref(doc);
	}
}

/* A real file and a built one have the same shape: no key only one has. */
static void same_shape_as_real(void **state)
{
	json_t *real = load_fixture("results", "precopy-completed.json");
	struct built b;
	const char *key;
	json_t *v;
	static const char *const objects[] = { "run", "metrics", "tool" };

	build_completed(&b, "[precopy]\nmode=precopy\n");
	build_doc(&b);
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		json_t *a = json_object_get(real, objects[i]), *c = json_object_get(b.doc, objects[i]);

		json_object_foreach(a, key, v)
			if (!json_object_get(c, key))
				fail_msg("the real file's %s.%s is missing from the built result (if the format "
					 "changed on purpose, refresh tests/fixtures/results: see its README)", objects[i], key);
		json_object_foreach(c, key, v)
			if (!json_object_get(a, key))
				fail_msg("the built result's %s.%s is not in the real file (if the format changed "
					 "on purpose, refresh tests/fixtures/results: see its README)", objects[i], key);
	}
	json_decref(real);
	built_free(&b);
}

/* A series as the heartbeat reader's spool hands it out (read through
 * at()), here from the built points. */
static struct mb_hb_point points_at(void *ctx, size_t i)
{
	return ((const struct mb_hb_point *)ctx)[i];
}

/* A run longer than the result holds (a long baseline at 1 ms): the
 * heartbeats go to REP.heartbeats.tsv beside the result, which names it;
 * the metrics are those of the same series in memory, the file holds
 * every heartbeat with the inline columns' values. */
static void long_series_in_side_file(void **state)
{
	const size_t n = MB_RESULT_INLINE_POINTS + 1000;
	char dir[] = "/tmp/mb-test-result-XXXXXX", path[256], line[256];
	struct built b, ref;
	const json_t *hb;
	struct mb_hb_point *p = calloc(n, sizeof(*p));
	size_t rows = 0;
	FILE *f;

	assert_non_null(p);
	assert_non_null(mkdtemp(dir));
	build_completed(&b, "[long]\nmode=precopy\nbaseline=60s\n");
	build_completed(&ref, "[long]\nmode=precopy\nbaseline=60s\n");
	/* a beat per ms for 60 s before the migration, as in build_completed after it */
	for (size_t i = 0; i < n; i++)
		p[i] = (struct mb_hb_point){ .host_us = T0 - (int64_t)(n - 1000 - i) * 1000, .seq = i,
					     .written = i, .guest_us = 5000000 + i * 1000 };
	b.hb = (struct mb_hb_series){ .n = n, .at = points_at, .ctx = p };
	ref.hb = (struct mb_hb_series){ .points = p, .n = n };
	{
		struct mb_result_input in = {
			.spec = &b.campaign.runs[0], .run_id = "c/long/1", .start_real_us = T0,
			.outcome = &b.out, .heartbeats = &b.hb, .host = b.host, .series_dir = dir,
		};

		b.doc = mb_result_build(&in);
	}
	build_doc(&ref);
	assert_contract(b.doc, "built: long series", 1);
	hb = member(b.doc, "heartbeats");
	assert_string_equal(str(hb, "file"), "1.heartbeats.tsv");
	assert_int_equal(json_integer_value(member(hb, "count")), n);
	/* the same metrics as from memory, inline */
	assert_true(json_equal(member(b.doc, "metrics"), member(ref.doc, "metrics")));
	assert_int_equal(json_array_size(member(member(ref.doc, "heartbeats"), "host_us")), n);

	snprintf(path, sizeof(path), "%s/1.heartbeats.tsv", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "host_us\tguest_us\tseq\twritten\tops\n");
	while (fgets(line, sizeof(line), f)) {
		long long t, g, seq, w, ops;

		assert_int_equal(sscanf(line, "%lld\t%lld\t%lld\t%lld\t%lld", &t, &g, &seq, &w, &ops), 5);
		assert_int_equal(t, p[rows].host_us - T0);
		assert_int_equal(seq, rows);
		assert_int_equal(g, p[rows].guest_us);
		rows++;
	}
	assert_int_equal(ftell(f), json_integer_value(member(hb, "bytes")));
	fclose(f);
	assert_int_equal(rows, n);
	unlink(path);
	rmdir(dir);
	/* built_free frees b.points, not the series' p */
	b.hb = ref.hb = (struct mb_hb_series){ 0 };
	built_free(&b);
	built_free(&ref);
	free(p);
}

/* A series that cannot go to its side file: the result says why, and
 * names no file. */
static void side_file_error_named(void **state)
{
	const size_t n = MB_RESULT_INLINE_POINTS + 1;
	struct mb_hb_point *p = calloc(n, sizeof(*p));
	struct built b;
	const json_t *hb;

	assert_non_null(p);
	build_completed(&b, "[long]\nmode=precopy\n");
	for (size_t i = 0; i < n; i++)
		p[i] = (struct mb_hb_point){ .host_us = T0 - 2000000 + (int64_t)i * 50, .seq = i };
	b.hb = (struct mb_hb_series){ .points = p, .n = n };
	{
		struct mb_result_input in = {
			.spec = &b.campaign.runs[0], .run_id = "c/long/1", .start_real_us = T0,
			.outcome = &b.out, .heartbeats = &b.hb, .host = b.host,
			.series_dir = "/proc/no-such-dir/long",
		};

		b.doc = mb_result_build(&in);
	}
	hb = member(b.doc, "heartbeats");
	assert_null(json_object_get(hb, "file"));
	assert_non_null(strstr(str(hb, "error"), "/proc/no-such-dir"));
	assert_int_equal(json_integer_value(member(hb, "count")), n);
	b.hb = (struct mb_hb_series){ 0 };
	built_free(&b);
	free(p);
}

/* The samples as the sampler spools them (JSON Lines): a few go in the
 * result, a long run's to REP.samples.jsonl, which the result names. */
static void samples_from_the_spool(void **state)
{
	char dir[] = "/tmp/mb-test-result-XXXXXX", path[256];
	const size_t few = 3, many = MB_RESULT_INLINE_SAMPLES + 1;
	struct built b;
	const json_t *smp;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	for (int round = 0; round < 2; round++) {
		size_t n = round ? many : few, lines = 0;
		char line[256];
		struct mb_result_input in;

		build_completed(&b, "[spool]\nmode=precopy\n");
		json_decref(b.out.rec.samples);
		b.out.rec.samples = NULL;
		b.out.rec.samples_file = tmpfile();
		assert_non_null(b.out.rec.samples_file);
		for (size_t i = 0; i < n; i++)
			fprintf(b.out.rec.samples_file, "{\"host_real_us\":%lld,\"reply_wait_us\":5,\"reply\":{\"status\":\"active\"}}\n",
				T0 + (long long)i * 50000);
		b.out.rec.samples_count = n;
		in = (struct mb_result_input){
			.spec = &b.campaign.runs[0], .run_id = "c/spool/1", .start_real_us = T0,
			.outcome = &b.out, .heartbeats = &b.hb, .host = b.host, .series_dir = dir,
		};
		b.doc = mb_result_build(&in);
		assert_contract(b.doc, round ? "built: many samples" : "built: few samples", 1);
		smp = member(b.doc, "samples");
		snprintf(path, sizeof(path), "%s/1.samples.jsonl", dir);
		if (!round) {
			assert_int_equal(json_array_size(smp), few);
			assert_int_equal(json_integer_value(member(json_array_get(smp, 2), "host_real_us")), T0 + 100000);
			assert_int_equal(access(path, F_OK), -1);
		} else {
			assert_string_equal(str(smp, "file"), "1.samples.jsonl");
			assert_string_equal(str(smp, "format"), "jsonl");
			assert_int_equal(json_integer_value(member(smp, "count")), many);
			f = fopen(path, "r");
			assert_non_null(f);
			while (fgets(line, sizeof(line), f)) {
				json_t *v = json_loads(line, 0, NULL);

				assert_non_null(v);
				assert_int_equal(json_integer_value(json_object_get(v, "host_real_us")),
						 T0 + (long long)lines * 50000);
				json_decref(v);
				lines++;
			}
			assert_int_equal(ftell(f), json_integer_value(member(smp, "bytes")));
			fclose(f);
			assert_int_equal(lines, many);
			assert_int_equal(json_integer_value(member(member(b.doc, "self"), "records")), b.hb.n + many);
			unlink(path);
		}
		built_free(&b);
	}
	rmdir(dir);
}

/* ---- the summary table ----------------------------------------------------------------- */

/* The printed table, and the row of `scenario` split into its cells. */
struct row {
	char text[2048];
	char *cell[16];
	int ncells;
};

static char *print_summary(const struct mb_summary *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	mb_summary_print(s, f);
	fclose(f);
	return buf;
}

static void find_row(const char *table, const char *scenario, struct row *r)
{
	const char *line = table;
	size_t n = strlen(scenario);

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (!strncmp(line, scenario, n) && line[n] == ' ') {
			snprintf(r->text, sizeof(r->text), "%.*s", (int)len, line);
			r->ncells = 0;
			for (char *save, *tok = strtok_r(r->text, " ", &save); tok && r->ncells < 16;
			     tok = strtok_r(NULL, " ", &save))
				r->cell[r->ncells++] = tok;
			return;
		}
		line = end ? end + 1 : NULL;
	}
	fail_msg("no row for %s in:\n%s", scenario, table);
}

/* A copy of a fixture as scenario `name` with our downtime `downtime_ms`. */
static json_t *variant(const char *fixture, const char *name, double downtime_ms)
{
	json_t *doc = load_fixture("results", fixture);

	json_object_set_new(json_object_get(doc, "run"), "scenario", json_string(name));
	json_object_set_new(json_object_get(doc, "metrics"), "downtime_ms", json_real(downtime_ms));
	return doc;
}

/* Columns: scenario, completed, prep, downtime, resume, total, pages, guest gap, qemu downtime */
enum { C_NAME, C_DONE, C_PREP, C_DOWN, C_RESUME, C_TOTAL, C_PAGES, C_GAP, C_CLIENT, C_QEMU, C_COUNT };

static void summary_medians(void **state)
{
	struct mb_summary *s = mb_summary_new();
	json_t *docs[7];
	char *table;
	struct row r;

	/* three completed runs and a failed one that has (made-up) figures
	 * that would move the median if they were counted */
	docs[0] = variant("precopy-completed.json", "pre", 30.0);
	docs[1] = variant("precopy-completed.json", "pre", 10.0);
	docs[2] = variant("failed.json", "pre", 999.0);
	docs[3] = variant("precopy-completed.json", "pre", 20.0);
	/* an even count: the mean of the middle two */
	docs[4] = variant("postcopy-completed.json", "post", 4.0);
	docs[5] = variant("postcopy-completed.json", "post", 9.0);
	/* nothing completed */
	docs[6] = variant("did-not-converge.json", "stuck", 999.0);
	for (size_t i = 0; i < 7; i++)
		mb_summary_add(s, docs[i]);
	table = print_summary(s);
	print_message("%s", table);
	assert_non_null(strstr(table, "medians over completed runs"));

	find_row(table, "pre", &r);
	assert_int_equal(r.ncells, C_COUNT);
	assert_string_equal(r.cell[C_DONE], "3/4");
	assert_string_equal(r.cell[C_DOWN], "20.000");
	assert_string_equal(r.cell[C_PREP], "957.203"); /* the fixture's, three times */
	assert_string_equal(r.cell[C_PAGES], "65971");
	assert_string_equal(r.cell[C_QEMU], "27.000");
	assert_string_equal(r.cell[C_CLIENT], "-");  /* no network client in these runs */

	find_row(table, "post", &r);
	assert_string_equal(r.cell[C_DONE], "2/2");
	assert_string_equal(r.cell[C_DOWN], "6.500");

	find_row(table, "stuck", &r);
	assert_int_equal(r.ncells, C_COUNT);
	assert_string_equal(r.cell[C_DONE], "0/1");
	for (int c = C_PREP; c < C_COUNT; c++)
		assert_string_equal(r.cell[c], "-");

	free(table);
	for (size_t i = 0; i < 7; i++)
		json_decref(docs[i]);
	mb_summary_free(s);
}

/* Nothing added: nothing printed (a campaign that ran nothing). */
static void summary_empty(void **state)
{
	struct mb_summary *s = mb_summary_new();
	char *table = print_summary(s);

	assert_string_equal(table, "");
	free(table);
	mb_summary_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(completed_precopy),
		cmocka_unit_test(completed_as),
		cmocka_unit_test(did_not_converge),
		cmocka_unit_test(times_out_of_order),
		cmocka_unit_test(failed_before_start),
		cmocka_unit_test(fixtures_follow_the_contract),
		cmocka_unit_test(same_shape_as_real),
		cmocka_unit_test(long_series_in_side_file),
		cmocka_unit_test(side_file_error_named),
		cmocka_unit_test(samples_from_the_spool),
		cmocka_unit_test(summary_medians),
		cmocka_unit_test(summary_empty),
	};

	return cmocka_run_group_tests_name("result", tests, NULL, NULL);
}
