#include "config.h"
#include "bench/run_loop.h"
#include "bench/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/campaign_dir.h"
#include "bench/exit.h"
#include "bench/host_probe.h"
#include "bench/metrics.h"
#include "bench/migration.h"
#include "bench/progress.h"
#include "bench/result.h"
#include "bench/summary.h"
#include "probes/topology.h"

/* The runs of one scenario in repetition order. */
static size_t runs_of(const struct mb_campaign *c, size_t scenario, const struct mb_run_spec **out)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nruns; i++)
		if (c->runs[i].scenario == scenario)
			out[n++] = &c->runs[i];
	return n;
}

static bool cross_version(const struct mb_run_spec *spec)
{
	const char *src = spec->params.qemu, *dst = spec->params.qemu_dst;

	return src && dst && *dst && strcmp(src, dst);
}

size_t mb_campaign_order(const struct mb_campaign *c, bool grouped, const struct mb_run_spec **out)
{
	size_t n = 0;

	if (!grouped) {
		for (size_t i = 0; i < c->nruns; i++)
			out[n++] = &c->runs[i];
		return n;
	}
	for (size_t s = 0; s < c->nscenarios; s++)
		n += runs_of(c, s, out + n);
	return n;
}

/* A run that could not even start is still a result: it says why. */
static void record_unstarted(struct mb_mig_outcome *out, const struct mb_err *err)
{
	memset(out, 0, sizeof(*out));
	out->status = MB_RUN_FAILED;
	snprintf(out->error, sizeof(out->error), "%s", err->msg);
}

/* "downtime 8.1 ms, total 3982.7 ms, guest gap 114.0 ms" for the TTY. */
static void headline(const json_t *doc, char *buf, size_t len)
{
	const json_t *m = json_object_get(doc, "metrics");

	snprintf(buf, len, "downtime %.1f ms, total %.1f ms, guest gap %.1f ms, %s",
		 json_number_value(json_object_get(m, "downtime_ms")),
		 json_number_value(json_object_get(m, "total_time_ms")),
		 json_number_value(json_object_get(m, "guest_downtime_ms")),
		 json_string_value(json_object_get(json_object_get(doc, "run"), "completed_as")));
}

/* Builds and writes one run's result; a result that is not on disk is a
 * failed run, and the campaign stops (the next ones could not be saved
 * either). Only a result on disk counts in the summary. */
static int write_result(struct mb_run_loop *loop, struct mb_campaign_dir *dir,
			const struct mb_run_spec *spec, int64_t start_us,
			const struct mb_mig_outcome *out, const struct mb_hb_series *hb,
			const json_t *host, struct mb_summary *summary, char *line, size_t line_len)
{
	char run_id[128];
	struct mb_err err = {0};
	struct mb_result_input in = {
		.spec = spec, .run_id = run_id, .start_real_us = start_us,
		.outcome = out, .heartbeats = hb, .host = host,
	};
	json_t *doc;
	int rc;

	snprintf(run_id, sizeof(run_id), "%s/%s/%u", strrchr(dir->path, '/') + 1, spec->name,
		 spec->repetition + 1);
	doc = mb_result_build(&in);
	if (!doc) {
		fprintf(stderr, "migbench run: %s: cannot build the result (out of memory)\n", run_id);
		loop->unsaved++;
		return -1;
	}
	if (line)
		headline(doc, line, line_len);
	rc = mb_campaign_dir_add(dir, spec, doc, &err);
	if (rc) {
		fprintf(stderr, "migbench run: %s: %s\n", run_id, err.msg);
		loop->unsaved++;
	} else {
		mb_summary_add(summary, doc);
	}
	json_decref(doc);
	return rc;
}

/* A run a resumed campaign already has: counted in the summary as it was. */
static void summarize_existing(const struct mb_campaign_dir *dir, const struct mb_run_spec *spec,
			       struct mb_summary *summary)
{
	char path[4096 + 512];
	json_t *doc;

	snprintf(path, sizeof(path), "%s/%s/%u.json", dir->path, spec->name, spec->repetition + 1);
	doc = json_load_file(path, 0, NULL);
	if (doc)
		mb_summary_add(summary, doc);
	json_decref(doc);
}

int mb_run_loop(struct mb_run_loop *loop)
{
	const struct mb_campaign *c = loop->campaign;
	const struct mb_run_spec **runs = calloc(c->nruns ? c->nruns : 1, sizeof(*runs));
	struct mb_progress pr = { .enabled = loop->progress, .nruns = c->nruns };
	struct mb_summary *summary = mb_summary_new();
	struct mb_host_report host_report;
	struct mb_campaign_dir dir;
	struct mb_err err = {0};
	json_t *host;
	int failures = 0;
	size_t resumed = 0, nruns, r_scenario = 0;
	const char *kept;
	struct mb_runner *r = NULL;

	mb_host_probe_all(c->nruns ? c->runs[0].params.qemu : NULL, &host_report);
	if (!host_report.ready) {
		fprintf(stderr, "migbench run: this host cannot run migrations: %s\n", host_report.reason);
		free(runs);
		mb_summary_free(summary);
		return MB_EXIT_NO_RESOURCE;
	}
	host = mb_host_report_json(&host_report);
	/* hwloc's summary of the machine (probes/topology.h) */
	json_object_set_new(host, "topology", mb_topology_summary());

	/* Every scenario is checked against its QEMU before any guest boots. */
	for (size_t s = 0; s < c->nscenarios; s++) {
		int refused = 0;

		if (runs_of(c, s, runs) && runs[0]->params.postcopy_pause_us &&
		    (!loop->ops->pause_postcopy || !loop->ops->recover_postcopy))
			refused = mb_errf(&err, ENOTSUP, "postcopy_pause: the %s runner cannot cut and "
					  "recover a post-copy link", loop->ops->name);
		else if (runs_of(c, s, runs) && loop->ops->preflight)
			refused = loop->ops->preflight(runs[0], &err);
		if (refused) {
			fprintf(stderr, "migbench run: scenario %s: %s\n", runs[0]->name, err.msg);
			json_decref(host);
			free(runs);
			mb_summary_free(summary);
			/* A QEMU binary (qemu_dst=, or a later scenario's qemu=) or
			 * kernel that is not there is "no QEMU" as for the first
			 * scenario's qemu= above, not a bad scenario. */
			return err.errnum == ENOENT ? MB_EXIT_NO_RESOURCE : MB_EXIT_USAGE;
		}
	}
	if (loop->resume_dir ? mb_campaign_dir_open(loop->resume_dir, &dir, &err)
	    : mb_campaign_dir_create(loop->out_dir, loop->name, host, loop->inputs, c->nruns, &dir, &err)) {
		fprintf(stderr, "migbench run: %s\n", err.msg);
		json_decref(host);
		free(runs);
		mb_summary_free(summary);
		return MB_EXIT_FAILED;
	}
	snprintf(loop->campaign_path, sizeof(loop->campaign_path), "%s", dir.path);
	/* The full topology once, beside the campaign's results; the results
	 * name it (a host without hwloc says so in host.topology). */
	if (mb_topology_save_xml(dir.path, &err) == 0)
		json_object_set_new(json_object_get(host, "topology"), "xml", json_string("topology.xml"));
	else if (json_is_true(json_object_get(json_object_get(host, "topology"), "available")))
		json_object_set_new(json_object_get(host, "topology"), "xml_error", json_string(err.msg));
	if (loop->progress)
		fprintf(stderr, "campaign %s: %zu run(s)\n", dir.path, c->nruns);

	nruns = mb_campaign_order(c, loop->grouped, runs);
	for (size_t i = 0; i < nruns; i++) {
		const struct mb_run_spec *spec = runs[i];
		struct mb_mig_outcome out;
		struct mb_hb_point *pts = NULL;
		struct mb_hb_series hb = {0};
		int64_t start = mb_clock_us(CLOCK_REALTIME);
		char line[256] = "";

		pr.run++;
		pr.scenario = spec->name;
		pr.mode = spec->text[MB_KEY_MODE];
		pr.repetition = spec->repetition + 1;
		pr.repetitions = spec->params.repetitions;

		if (loop->unsaved)
			break; /* said below: nothing more can be saved */
		kept = loop->resume_dir ? mb_campaign_dir_kept_status(&dir, spec) : NULL;
		if (kept) {
			summarize_existing(&dir, spec, summary);
			resumed++;
			/* A kept run that did not complete still sets the exit status. */
			if (strcmp(kept, "completed"))
				failures++;
			continue;
		}
		if (loop->interrupted && *loop->interrupted) {
			mb_errf(&err, 0, "interrupted by the user before this run started");
			record_unstarted(&out, &err);
			out.status = MB_RUN_CANCELLED;
			write_result(loop, &dir, spec, start, &out, NULL, host, summary, NULL, 0);
			failures++;
			continue;
		}
		/* Interleaved: the next run is another scenario's. Its guest
		 * is booted anew unless the runner can take the running one
		 * over (the same guest, migrated differently). */
		if (r && r_scenario != spec->scenario) {
			if (loop->ops->adopt && loop->ops->adopt(r, spec) == 0) {
				r_scenario = spec->scenario;
			} else {
				loop->ops->teardown(r);
				r = NULL;
			}
		}
		if (mb_campaign_dir_begin(&dir, spec, &err)) {
			fprintf(stderr, "migbench run: %s\n", err.msg);
			loop->unsaved++;
			break;
		}
		if (!r) {
			if (loop->progress)
				mb_progress_note(&pr, "[%zu/%zu] %s: booting the guest", pr.run, pr.nruns, spec->name);
			r_scenario = spec->scenario;
			if (loop->ops->prepare(spec, loop->interrupted, &r, &err) ||
			    loop->ops->start_source(r, &err)) {
				if (r)
					loop->ops->teardown(r);
				r = NULL;
				record_unstarted(&out, &err);
				if (err.errnum == EINTR)
					out.status = MB_RUN_CANCELLED;
				mb_progress_note(&pr, "[%zu/%zu] %s rep %u: failed: %s", pr.run, pr.nruns,
						 spec->name, pr.repetition, err.msg);
				write_result(loop, &dir, spec, start, &out, NULL, host, summary, NULL, 0);
				failures++;
				continue;
			}
		}
		start = mb_clock_us(CLOCK_REALTIME);
		mb_migrate_once(loop->ops, r, spec, mb_progress_update, &pr, loop->interrupted, &out);
		if (!loop->ops->heartbeat_points(r, mb_metrics_heartbeats_from(out.rec.times.start_us,
									spec->params.baseline_us,
									spec->params.baseline_margin_us),
						 &pts, &hb.n, &err))
			hb.points = pts;
		mb_progress_clear(&pr);
		write_result(loop, &dir, spec, start, &out, &hb, host, summary, line, sizeof(line));
		if (out.status != MB_RUN_COMPLETED) {
			failures++;
			mb_progress_note(&pr, "[%zu/%zu] %s rep %u: %s: %s", pr.run, pr.nruns, spec->name,
					 pr.repetition, mb_run_status_name(out.status), out.error);
		} else if (loop->progress) {
			mb_progress_note(&pr, "[%zu/%zu] %s rep %u: completed: %s", pr.run, pr.nruns,
					 spec->name, pr.repetition, line);
		}
		/* Across QEMU versions every run must go from qemu= to
		 * qemu_dst=: a guest that arrived on qemu_dst starts
		 * over on qemu= (migrating back would measure new -> old). */
		if (!out.guest_usable || cross_version(spec)) {
			loop->ops->teardown(r);
			r = NULL;
		}
		free(pts);
		mb_mig_outcome_release(&out);
	}
	if (r)
		loop->ops->teardown(r);

	mb_summary_print(summary, stdout);
	if (resumed)
		printf("\n%zu run(s) kept from before the campaign was interrupted\n", resumed);
	printf("\nresults: %s\n", dir.path);
	if (mb_campaign_dir_close(&dir, loop->unsaved ? "failed" :
				  loop->interrupted && *loop->interrupted ? "interrupted" : "finished", &err)) {
		fprintf(stderr, "migbench run: %s\n", err.msg);
		loop->unsaved++;
	}
	if (loop->unsaved)
		fprintf(stderr, "migbench run: %u result(s) or manifest update(s) could not be written to %s; "
			"the campaign stopped there (free space, then `migbench run --resume %s`)\n",
			loop->unsaved, dir.path, dir.path);
	mb_summary_free(summary);
	json_decref(host);
	free(runs);
	return failures || loop->unsaved ? MB_EXIT_FAILED : MB_EXIT_OK;
}
