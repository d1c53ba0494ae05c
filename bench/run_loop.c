#include "config.h"
#include "bench/run_loop.h"
#include "bench/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/campaign_dir.h"
#include "bench/evacuation.h"
#include "bench/exit.h"
#include "bench/host_probe.h"
#include "bench/metrics.h"
#include "bench/migration.h"
#include "bench/progress.h"
#include "bench/result.h"
#include "bench/self_cost.h"
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

static json_t *build_result(struct mb_run_loop *loop, struct mb_campaign_dir *dir,
			    const struct mb_run_spec *spec, int64_t start_us,
			    const struct mb_mig_outcome *out, const struct mb_hb_series *hb, const json_t *host)
{
	char run_id[128], series_dir[4096 + 256];
	struct mb_result_input in = {
		.spec = spec, .run_id = run_id, .start_real_us = start_us,
		.outcome = out, .heartbeats = hb, .host = host, .series_dir = series_dir,
	};
	json_t *doc;

	snprintf(run_id, sizeof(run_id), "%s/%s/%u", strrchr(dir->path, '/') + 1, spec->name,
		 spec->repetition + 1);
	snprintf(series_dir, sizeof(series_dir), "%s/%s", dir->path, spec->name);
	doc = mb_result_build(&in);
	if (!doc) {
		fprintf(stderr, "migbench run: %s: cannot build the result (out of memory)\n", run_id);
		loop->unsaved++;
	}
	return doc;
}

/* Writes one run's result (and releases doc); a result that is not on disk
 * is a failed run, and the campaign stops (the next ones could not be saved
 * either). Only a result on disk counts in the summary. */
static int save_result(struct mb_run_loop *loop, struct mb_campaign_dir *dir, const struct mb_run_spec *spec,
		       json_t *doc, struct mb_summary *summary, char *line, size_t line_len)
{
	struct mb_err err = {0};
	int rc;

	if (!doc)
		return -1;
	if (line)
		headline(doc, line, line_len);
	rc = mb_campaign_dir_add(dir, spec, doc, &err);
	if (rc) {
		fprintf(stderr, "migbench run: %s/%u: %s\n", spec->name, spec->repetition + 1, err.msg);
		loop->unsaved++;
	} else {
		mb_summary_add(summary, doc);
	}
	json_decref(doc);
	return rc;
}

static int write_result(struct mb_run_loop *loop, struct mb_campaign_dir *dir,
			const struct mb_run_spec *spec, int64_t start_us,
			const struct mb_mig_outcome *out, const struct mb_hb_series *hb,
			const json_t *host, struct mb_summary *summary, char *line, size_t line_len)
{
	return save_result(loop, dir, spec, build_result(loop, dir, spec, start_us, out, hb, host),
			   summary, line, line_len);
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

/* guests=K: the K runs of one repetition, found anywhere in the order
 * (members[guest]); marks them done. Returns K, or 0 when one is missing. */
static size_t group_members(const struct mb_run_spec *const *runs, size_t nruns, const struct mb_run_spec *spec,
			    bool *done, const struct mb_run_spec **members)
{
	unsigned k = spec->params.guests, found = 0;

	for (size_t j = 0; j < nruns; j++) {
		if (runs[j]->group != spec->group || runs[j]->repetition != spec->repetition ||
		    runs[j]->guest >= k)
			continue;
		members[runs[j]->guest] = runs[j];
		done[j] = true;
		found++;
	}
	return found == k ? k : 0;
}

/* The guests of the group `spec` belongs to, up (those that stayed up
 * since its last repetition kept), migrated together, each guest's result
 * written with the evacuation's figures; the campaign's manifest records
 * them too. Returns how many runs did not complete. */
static int run_group(struct mb_run_loop *loop, struct mb_campaign_dir *dir, struct mb_evacuation *ev,
		     const json_t *host, struct mb_summary *summary, struct mb_progress *pr)
{
	const struct mb_run_spec *first = ev->guests[0].spec;
	json_t **docs = calloc(ev->k, sizeof(*docs)), *figures;
	struct mb_err err = {0};
	int failures = 0;
	size_t up;

	if (!docs) {
		fprintf(stderr, "migbench run: %s: out of memory\n", first->name);
		loop->unsaved++;
		return (int)ev->k;
	}
	if (mb_campaign_dir_begin(dir, first, &err)) {
		fprintf(stderr, "migbench run: %s\n", err.msg);
		loop->unsaved++;
		free(docs);
		return (int)ev->k;
	}
	if (loop->progress)
		mb_progress_note(pr, "[%zu/%zu] %s: %zu guests: booting those not running", pr->run, pr->nruns,
				 first->section, ev->k);
	/* Ctrl-C before the group began: every guest's run is cancelled. */
	up = loop->interrupted && *loop->interrupted ? 0 : mb_evac_boot(ev);
	if (up && loop->progress)
		mb_progress_note(pr, "[%zu/%zu] %s rep %u: migrating %zu guest(s) at once%s", pr->run, pr->nruns,
				 first->section, first->repetition + 1, up,
				 first->params.stagger_us ? " (staggered)" : "");
	/* migbench's own cost (the result's `self`) is the whole group's. */
	mb_self_begin();
	if (up && mb_evac_migrate(ev, &err))
		fprintf(stderr, "migbench run: %s: %s\n", first->name, err.msg);
	for (size_t i = 0; i < ev->k; i++) {
		struct mb_evac_guest *g = &ev->guests[i];
		struct mb_mig_outcome unstarted;

		if (g->migrated) {
			docs[i] = build_result(loop, dir, g->spec, g->start_real_us, &g->out, &g->hb, host);
			continue;
		}
		if (!g->err.msg[0])
			mb_errf(&g->err, 0, "guest %u was not migrated", g->spec->guest + 1);
		record_unstarted(&unstarted, &g->err);
		if (g->err.errnum == EINTR || (loop->interrupted && *loop->interrupted))
			unstarted.status = MB_RUN_CANCELLED;
		docs[i] = build_result(loop, dir, g->spec, mb_clock_us(CLOCK_REALTIME), &unstarted, NULL, host);
	}
	figures = mb_evac_figures(ev, docs);
	for (size_t i = 0; i < ev->k; i++) {
		struct mb_evac_guest *g = &ev->guests[i];
		const char *status;
		char line[256] = "";

		if (docs[i])
			json_object_set_new(docs[i], "group", mb_evac_group_json(ev, i, figures));
		status = json_string_value(json_object_get(json_object_get(docs[i], "run"), "status"));
		if (!status || strcmp(status, "completed"))
			failures++;
		pr->run += i > 0;
		if (save_result(loop, dir, g->spec, docs[i], summary, line, sizeof(line)) == 0 && loop->progress)
			mb_progress_note(pr, "[%zu/%zu] %s rep %u: %s%s%s", pr->run, pr->nruns, g->spec->name,
					 g->spec->repetition + 1, status ? status : "?", *line ? ": " : "", line);
		/* A guest that cannot go on (or went across versions) boots anew next time. */
		if (g->r && (!g->migrated || !g->out.guest_usable || cross_version(g->spec))) {
			loop->ops->teardown(g->r);
			g->r = NULL;
		}
	}
	if (figures) {
		if (mb_campaign_dir_note_evacuation(dir, first, figures, &err)) {
			fprintf(stderr, "migbench run: %s\n", err.msg);
			loop->unsaved++;
		} else if (loop->progress) {
			const json_t *dt = json_object_get(figures, "downtime_ms");

			mb_progress_note(pr, "[%zu/%zu] %s rep %u: evacuation of %d guest(s): %.0f ms, %.1f MiB/s, "
					 "downtime %.1f-%.1f ms", pr->run, pr->nruns, first->section,
					 first->repetition + 1, (int)json_integer_value(json_object_get(figures, "completed")),
					 json_number_value(json_object_get(figures, "span_ms")),
					 json_number_value(json_object_get(figures, "aggregate_MiB_s")),
					 json_number_value(json_object_get(dt, "min")),
					 json_number_value(json_object_get(dt, "max")));
		}
	}
	json_decref(figures);
	mb_evac_release_runs(ev);
	free(docs);
	return failures;
}

/* Whether the running guests can serve the next group's K guests. */
static bool group_adopt(struct mb_run_loop *loop, struct mb_evacuation *ev, const struct mb_run_spec **members,
			size_t k)
{
	if (!loop->ops->adopt || ev->k != k)
		return false;
	for (size_t g = 0; g < k; g++)
		if (ev->guests[g].r && loop->ops->adopt(ev->guests[g].r, members[g]))
			return false;
	return true;
}

/* Ends the group that ran (its guests go down). */
static void group_end(struct mb_evacuation *ev)
{
	mb_evac_teardown(ev);
	free(ev->guests);
	memset(ev, 0, sizeof(*ev));
}

/* How the guest just started (booted, restored from a snapshot) and how
 * long from launch to its first heartbeat, for the run's result; NULL when
 * the runner cannot say. */
static json_t *guest_started(const struct mb_runner_ops *ops, struct mb_runner *r)
{
	struct mb_guest_status gs;
	struct mb_err ignored;

	if (!ops->guest_status || ops->guest_status(r, &gs, &ignored))
		return NULL;
	return json_pack("{s:s, s:f}", "how", gs.start[0] ? gs.start : "booted", "launch_to_first_heartbeat_ms",
			 (double)(gs.first_heartbeat_mono_us - gs.launch_mono_us) / 1000.0);
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
	json_t *started = NULL;                 /* how r's guest started, for its first run */
	struct mb_evacuation ev = {0};          /* guests=K: the group's guests */
	const struct mb_run_spec **members = NULL;
	bool *done = NULL;

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
	/* guests=K: each group's runs, found once per repetition */
	members = calloc(c->nruns ? c->nruns : 1, sizeof(*members));
	done = calloc(c->nruns ? c->nruns : 1, sizeof(*done));
	if (!members || !done) {
		fprintf(stderr, "migbench run: out of memory\n");
		loop->unsaved++;
		nruns = 0;
	}
	for (size_t i = 0; i < nruns; i++) {
		const struct mb_run_spec *spec = runs[i];
		struct mb_mig_outcome out;
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
		if (done[i])
			continue; /* run with its group */
		if (spec->params.guests > 1) {
			size_t k = group_members(runs, nruns, spec, done, members);
			size_t kept_n = 0;

			if (r) {
				loop->ops->teardown(r);
				r = NULL;
			}
			/* Interleaved: another group's repetition. Its guests are
			 * booted anew unless the runner takes every running one over. */
			if (ev.k && ev.guests[0].spec->group != spec->group &&
			    !group_adopt(loop, &ev, members, k))
				group_end(&ev);
			for (size_t g = 0; g < k; g++)
				kept_n += loop->resume_dir && mb_campaign_dir_kept_status(&dir, members[g]);
			if (k && kept_n == k) {
				for (size_t g = 0; g < k; g++) {
					summarize_existing(&dir, members[g], summary);
					failures += strcmp(mb_campaign_dir_kept_status(&dir, members[g]), "completed") != 0;
				}
				resumed += k;
				pr.run += k - 1;
				continue;
			}
			if (!ev.k) {
				ev = (struct mb_evacuation){ .ops = loop->ops, .interrupted = loop->interrupted,
							     .guests = calloc(k ? k : 1, sizeof(*ev.guests)), .k = k };
				if (!ev.guests) {
					fprintf(stderr, "migbench run: %s: out of memory\n", spec->name);
					loop->unsaved++;
					break;
				}
			}
			if (!k || ev.k != k) {
				fprintf(stderr, "migbench run: %s: the runs of its %u guests are not all in the campaign\n",
					spec->name, spec->params.guests);
				loop->unsaved++;
				break;
			}
			for (size_t g = 0; g < k; g++)
				ev.guests[g].spec = members[g];
			failures += run_group(loop, &dir, &ev, host, summary, &pr);
			continue;
		}
		if (ev.k)
			group_end(&ev);
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
			started = guest_started(loop->ops, r);
		}
		start = mb_clock_us(CLOCK_REALTIME);
		mb_self_begin();
		mb_migrate_once(loop->ops, r, spec, mb_progress_update, &pr, NULL, loop->interrupted, &out);
		out.guest_start = started;
		started = NULL;
		/* The run's window, however long, read from the heartbeat
		 * spool: memory does not grow with it. */
		loop->ops->heartbeat_series(r, mb_metrics_heartbeats_from(out.rec.times.start_us,
									 spec->params.baseline_us,
									 spec->params.baseline_margin_us),
					    &hb, &err);
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
		mb_hb_series_free(&hb);
		mb_mig_outcome_release(&out);
	}
	if (r)
		loop->ops->teardown(r);
	if (ev.k)
		group_end(&ev);
	free(members);
	free(done);

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
