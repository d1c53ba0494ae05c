#include "config.h"
#include "bench/migration.h"
#include "bench/clock.h"
#include "bench/guest_check.h"
#include "bench/remote_probes.h"
#include "probes/probe.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *mb_run_status_name(enum mb_run_status s)
{
	switch (s) {
	case MB_RUN_COMPLETED: return "completed";
	case MB_RUN_FAILED: return "failed";
	case MB_RUN_DID_NOT_CONVERGE: return "did-not-converge";
	case MB_RUN_CANCELLED: return "cancelled";
	}
	return "unknown";
}

/* Whether the mode asks for the switch to post-copy now. `passes` counts
 * passes started, so "after the first pass" is the start of the second. */
static int wants_postcopy(const struct mb_params *p, const struct mb_mig_progress *prog,
			  int64_t elapsed_us)
{
	if (strcmp(prog->status, "active"))
		return 0;
	switch (p->mode) {
	case MB_MODE_POSTCOPY:
		return prog->passes >= 2;
	case MB_MODE_HYBRID:
		if (p->hybrid_passes && prog->passes >= p->hybrid_passes + 1)
			return 1;
		return p->hybrid_time_us && (uint64_t)elapsed_us >= p->hybrid_time_us;
	default:
		return 0;
	}
}

static void fail(struct mb_mig_outcome *out, enum mb_run_status status, const struct mb_err *err)
{
	out->status = status;
	snprintf(out->error, sizeof(out->error), "%s", err->msg);
}

/* postcopy_pause: the link is cut once post-copy runs, stays cut for the
 * scenario's time, and is recovered when asked (else the guest is lost,
 * which is the point of measuring that case). */
static int cut_postcopy_link(const struct mb_runner_ops *ops, struct mb_runner *r,
			     const struct mb_params *p, volatile const int *interrupted, struct mb_err *err)
{
	int64_t until;

	if (ops->pause_postcopy(r, err))
		return -1;
	until = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)p->postcopy_pause_us;
	while (mb_clock_us(CLOCK_MONOTONIC) < until && !(interrupted && *interrupted))
		mb_sleep_us(20000);
	if (!p->postcopy_recover)
		return mb_errf(err, 0, "post-copy link cut for %.0f ms and not recovered "
			       "(postcopy_recover=no)", p->postcopy_pause_us / 1e3);
	return ops->recover_postcopy(r, err);
}

/* Past its bounds the migration is given up: that is a result. */
static const char *over_bounds(const struct mb_params *p, const struct mb_mig_progress *prog,
			       int64_t elapsed_us, char *why, size_t len)
{
	if (p->timeout_us && (uint64_t)elapsed_us > p->timeout_us) {
		snprintf(why, len, "not converged after %.1f s (timeout %.1f s), at pass %u with %llu bytes remaining",
			 elapsed_us / 1e6, p->timeout_us / 1e6, prog->passes,
			 (unsigned long long)prog->remaining);
		return why;
	}
	if (p->max_passes && prog->passes > p->max_passes && !strcmp(prog->status, "active")) {
		snprintf(why, len, "not converged within max_passes=%u (pass %u started, %llu bytes remaining)",
			 p->max_passes, prog->passes, (unsigned long long)prog->remaining);
		return why;
	}
	return NULL;
}

/* The registered probes (probes/probe_set.c), started around one
 * migration, and those of sides on other hosts. */
struct probe_run {
	struct mb_probe_set *local;
	struct mb_remote_probes *remote;        /* sides on other hosts */
};

static void probes_start(const struct mb_runner_ops *ops, struct mb_runner *r, struct probe_run *pr)
{
	struct mb_probe_ctx ctx;

	memset(pr, 0, sizeof(*pr));
	memset(&ctx, 0, sizeof(ctx));
	ops->probe_ctx(r, &ctx);
	pr->remote = mb_remote_probes_start(&ctx);
	pr->local = mb_probe_set_start(&ctx);
}

static void probes_stop(struct probe_run *pr)
{
	mb_probe_set_stop(pr->local);
	mb_remote_probes_stop(pr->remote);
}

/* Every probe's output into rec->probes, their headline metrics into
 * rec->probe_metrics. */
static void probes_collect(struct probe_run *pr, struct mb_mig_record *rec)
{
	json_t *all = mb_probe_set_collect(pr->local, &rec->times, &rec->probe_metrics);

	if (pr->remote)
		json_object_set_new(all, "hosts", mb_remote_probes_collect(pr->remote, &rec->times));
	pr->local = NULL;
	rec->probes = all;
}

int mb_migrate_once(const struct mb_runner_ops *ops, struct mb_runner *r,
		    const struct mb_run_spec *spec, mb_mig_progress_fn progress, void *arg,
		    const struct mb_mig_gate *gate, volatile const int *interrupted,
		    struct mb_mig_outcome *out)
{
	const struct mb_params *p = &spec->params;
	struct probe_run probes;
	struct mb_mig_progress prog;
	struct mb_err err = {0};
	int64_t t0;
	int completed = 0, link_cut = 0;
	char why[512];

	memset(out, 0, sizeof(*out));
	out->guest_usable = 1;
	if (ops->start_destination(r, &err)) {
		fail(out, MB_RUN_FAILED, &err);
		if (gate)
			gate->leave(gate->arg);
		return 0;
	}
	/* Probes first: what is left between the gate and `migrate` is the
	 * runner's own setting of capabilities. */
	probes_start(ops, r, &probes);
	if (gate)
		gate->pass(gate->arg);
	if (ops->migrate(r, &err)) {
		fail(out, MB_RUN_FAILED, &err);
		ops->cancel(r, &err);
		probes_stop(&probes);
		ops->finish(r, &out->rec, &err);
		probes_collect(&probes, &out->rec);
		return 0;
	}
	/* Bounds count from `migrate`, not from the baseline wait before it. */
	t0 = mb_clock_us(CLOCK_MONOTONIC);

	for (;;) {
		int64_t elapsed;

		memset(&prog, 0, sizeof(prog));
		if (ops->poll(r, &prog, (int)(p->sample_interval_us / 1000), &err)) {
			if (out->rec.switched_to_postcopy)
				mb_err_prefix(&err, "guest lost in post-copy (its memory was split between "
					      "source and destination)");
			fail(out, MB_RUN_FAILED, &err);
			out->guest_usable = 0;
			break;
		}
		elapsed = mb_clock_us(CLOCK_MONOTONIC) - t0;
		if (progress)
			progress(&prog, elapsed, arg);
		if (!strcmp(prog.status, "completed")) {
			completed = 1;
			break;
		}
		if (!strcmp(prog.status, "failed") || !strcmp(prog.status, "cancelled")) {
			mb_errf(&err, 0, "migration %s on the source (see events)%s", prog.status,
				out->rec.switched_to_postcopy ? "; guest lost in post-copy (its memory was split "
				"between source and destination)" : "");
			fail(out, MB_RUN_FAILED, &err);
			/* A failed post-copy leaves the guest split between hosts. */
			out->guest_usable = !out->rec.switched_to_postcopy;
			break;
		}
		if (interrupted && *interrupted) {
			mb_errf(&err, 0, "interrupted by the user");
			fail(out, MB_RUN_CANCELLED, &err);
			if (!out->rec.switched_to_postcopy)
				ops->cancel(r, &err);
			else
				out->guest_usable = 0;
			break;
		}
		if (!out->rec.switched_to_postcopy && over_bounds(p, &prog, elapsed, why, sizeof(why))) {
			out->status = MB_RUN_DID_NOT_CONVERGE;
			snprintf(out->error, sizeof(out->error), "%s", why);
			if (ops->cancel(r, &err)) {
				fail(out, MB_RUN_FAILED, &err);
				out->guest_usable = 0;
			}
			break;
		}
		if (p->postcopy_pause_us && !link_cut && !strcmp(prog.status, "postcopy-active")) {
			link_cut = 1;
			if (cut_postcopy_link(ops, r, p, interrupted, &err)) {
				mb_err_prefix(&err, "guest lost in post-copy (its memory was split between "
					      "source and destination)");
				fail(out, MB_RUN_FAILED, &err);
				out->guest_usable = 0;
				break;
			}
			continue;
		}
		if (!out->rec.switched_to_postcopy && wants_postcopy(p, &prog, elapsed)) {
			if (ops->start_postcopy(r, &err)) {
				fail(out, MB_RUN_FAILED, &err);
				ops->cancel(r, &err);
				break;
			}
			out->rec.switched_to_postcopy = 1;
		}
	}

	/* switched_to_postcopy belongs to this loop; finish fills the rest. */
	/* Probes stop before finish: it stops the old source QEMU. */
	probes_stop(&probes);
	{
		int switched = out->rec.switched_to_postcopy;

		if (ops->finish(r, &out->rec, &err) && completed) {
			fail(out, MB_RUN_FAILED, &err);
			completed = 0;
		}
		out->rec.switched_to_postcopy = switched;
	}
	probes_collect(&probes, &out->rec);
	if (!completed)
		return 0;

	out->status = MB_RUN_COMPLETED;
	if (mb_guest_check(ops, r, spec, out, &err)) {
		fail(out, MB_RUN_FAILED, &err);
		out->guest_usable = 0;
	}
	return 0;
}

void mb_mig_outcome_release(struct mb_mig_outcome *out)
{
	mb_mig_record_release(&out->rec);
	json_decref(out->verify);
	json_decref(out->health);
	json_decref(out->guest_start);
	out->verify = out->health = out->guest_start = NULL;
}
