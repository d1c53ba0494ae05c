/* Many guests migrated at once (see evacuation.h). */
#include "config.h"
#include "bench/evacuation.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/clock.h"
#include "bench/metrics.h"

/* ---- the gate ------------------------------------------------------------- */

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t expected, waiting;
	bool open;
	int64_t t0_mono_us;
	uint64_t baseline_us, stagger_us;
	volatile const int *interrupted;
};

struct guest_thread {
	struct mb_evacuation *e;
	struct gate *gate;
	size_t i;
	bool started;
};

/* With the lock held: everyone still expected is waiting. */
static void gate_open_if_all_here(struct gate *g)
{
	if (g->open || g->waiting < g->expected)
		return;
	g->open = true;
	g->t0_mono_us = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)g->baseline_us;
	pthread_cond_broadcast(&g->cond);
}

static void gate_pass(void *arg)
{
	struct guest_thread *t = arg;
	struct gate *g = t->gate;
	int64_t turn;

	pthread_mutex_lock(&g->lock);
	g->waiting++;
	gate_open_if_all_here(g);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	turn = g->t0_mono_us + (int64_t)(g->stagger_us * t->e->guests[t->i].spec->guest);
	pthread_mutex_unlock(&g->lock);
	/* In short steps: Ctrl-C is seen by the migration right after. */
	for (int64_t now; (now = mb_clock_us(CLOCK_MONOTONIC)) < turn && !(g->interrupted && *g->interrupted);)
		mb_sleep_us(turn - now < 50000 ? turn - now : 50000);
}

static void gate_leave(void *arg)
{
	struct guest_thread *t = arg;
	struct gate *g = t->gate;

	pthread_mutex_lock(&g->lock);
	g->expected--;
	gate_open_if_all_here(g);
	pthread_mutex_unlock(&g->lock);
}

/* ---- booting -------------------------------------------------------------- */

static void *boot_thread(void *arg)
{
	struct guest_thread *t = arg;
	struct mb_evac_guest *g = &t->e->guests[t->i];

	if (t->e->ops->start_source(g->r, &g->err)) {
		t->e->ops->teardown(g->r);
		g->r = NULL;
	}
	return NULL;
}

/* One thread per guest for as long as its guest runs: QEMUs are started
 * with PR_SET_PDEATHSIG (runners/qemu_proc.h), which fires when the
 * *thread* that started them ends, so the thread that boots a guest and
 * starts its destinations must outlive them. Jobs are handed over one at
 * a time. */
struct mb_evac_worker {
	pthread_t tid;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *(*job)(void *);
	void *arg;
	bool busy, quit;
};

static void *worker_main(void *arg)
{
	struct mb_evac_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->busy && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->busy)
			break;
		pthread_mutex_unlock(&w->lock);
		w->job(w->arg);
		pthread_mutex_lock(&w->lock);
		w->busy = false;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Guest i's worker, started on first use; its pthread_create error, or 0. */
static int worker_of(struct mb_evacuation *e, size_t i, struct mb_evac_worker **out)
{
	struct mb_evac_worker *w;
	int rc;

	if (!e->workers && !(e->workers = calloc(e->k, sizeof(*e->workers))))
		return ENOMEM;
	w = &e->workers[i];
	if (!w->running) {
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
		rc = pthread_create(&w->tid, NULL, worker_main, w);
		if (rc) {
			pthread_mutex_destroy(&w->lock);
			pthread_cond_destroy(&w->cond);
			return rc;
		}
		w->running = true;
	}
	*out = w;
	return 0;
}

static void workers_stop(struct mb_evacuation *e)
{
	for (size_t i = 0; e->workers && i < e->k; i++) {
		struct mb_evac_worker *w = &e->workers[i];

		if (!w->running)
			continue;
		pthread_mutex_lock(&w->lock);
		w->quit = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->tid, NULL);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
	}
	free(e->workers);
	e->workers = NULL;
}

/* Runs fn on the worker of every guest that `want`s it and waits for them
 * all; a guest whose worker cannot start is handed to `no_thread`. */
static void for_each_guest(struct mb_evacuation *e, struct gate *gate, bool (*want)(const struct mb_evac_guest *),
			   void *(*fn)(void *), void (*no_thread)(struct guest_thread *t, int errnum))
{
	struct guest_thread *t = calloc(e->k, sizeof(*t));
	struct guest_thread none = { .e = e, .gate = gate };

	for (size_t i = 0; i < e->k; i++) {
		struct guest_thread *ti = t ? &t[i] : &none;
		struct mb_evac_worker *w = NULL;
		int rc = ENOMEM;

		if (!want(&e->guests[i]))
			continue;
		*ti = (struct guest_thread){ .e = e, .gate = gate, .i = i };
		if (t)
			rc = worker_of(e, i, &w);
		ti->started = rc == 0;
		if (rc) {
			no_thread(ti, rc);
			continue;
		}
		pthread_mutex_lock(&w->lock);
		w->job = fn;
		w->arg = ti;
		w->busy = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	for (size_t i = 0; t && i < e->k; i++) {
		struct mb_evac_worker *w = &e->workers[i];

		if (!t[i].started)
			continue;
		pthread_mutex_lock(&w->lock);
		while (w->busy)
			pthread_cond_wait(&w->cond, &w->lock);
		pthread_mutex_unlock(&w->lock);
	}
	free(t);
}

static void boot_no_thread(struct guest_thread *t, int errnum)
{
	struct mb_evac_guest *g = &t->e->guests[t->i];

	mb_errf(&g->err, errnum, "guest %u: no thread to boot it in", g->spec->guest + 1);
	t->e->ops->teardown(g->r);
	g->r = NULL;
}

/* fresh: 2 = prepared, to boot; 1 = booting in this wave. */
static bool fresh_now(const struct mb_evac_guest *g)
{
	return g->fresh == 1;
}

static bool running(const struct mb_evac_guest *g)
{
	return g->r != NULL;
}

size_t mb_evac_boot(struct mb_evacuation *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->k; i++) {
		struct mb_evac_guest *g = &e->guests[i];

		g->fresh = 0;
		if (g->r)
			continue;
		memset(&g->err, 0, sizeof(g->err));
		if (e->ops->prepare(g->spec, e->interrupted, &g->r, &g->err)) {
			if (g->r)
				e->ops->teardown(g->r);
			g->r = NULL;
			continue;
		}
		g->fresh = 2;
	}
	/* In waves of one guest per online CPU: K kernels booting at once
	 * under TCG slow each other down more than K times (12 at once on 2
	 * cores missed the 120 s boot timeout here). */
	while (!(e->interrupted && *e->interrupted)) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		size_t wave = 0;

		for (size_t i = 0; i < e->k && wave < (size_t)(cpus > 0 ? cpus : 1); i++)
			if (e->guests[i].fresh == 2) {
				e->guests[i].fresh = 1;
				wave++;
			}
		if (!wave)
			break;
		for_each_guest(e, NULL, fresh_now, boot_thread, boot_no_thread);
		for (size_t i = 0; i < e->k; i++)
			if (e->guests[i].fresh == 1)
				e->guests[i].fresh = 0;
	}
	for (size_t i = 0; i < e->k; i++) {
		if (e->guests[i].fresh && e->guests[i].r) {
			/* not booted: interrupted before its wave */
			e->ops->teardown(e->guests[i].r);
			e->guests[i].r = NULL;
			mb_errf(&e->guests[i].err, EINTR, "interrupted before guest %u booted",
				e->guests[i].spec->guest + 1);
		}
		e->guests[i].fresh = 0;
		n += e->guests[i].r != NULL;
	}
	return n;
}

/* ---- migrating ------------------------------------------------------------ */

static void *migrate_thread(void *arg)
{
	struct guest_thread *t = arg;
	struct mb_evacuation *e = t->e;
	struct mb_evac_guest *g = &e->guests[t->i];
	const struct mb_params *p = &g->spec->params;
	struct mb_mig_gate gate = { .pass = gate_pass, .leave = gate_leave, .arg = t };
	struct mb_err err = {0};

	g->start_real_us = mb_clock_us(CLOCK_REALTIME);
	mb_migrate_once(e->ops, g->r, g->spec, NULL, NULL, t->gate ? &gate : NULL, e->interrupted, &g->out);
	g->migrated = 1;
	/* From the reader's spool: bounded memory however long the window. */
	if (e->ops->heartbeat_series(g->r, mb_metrics_heartbeats_from(g->out.rec.times.start_us, p->baseline_us,
								      p->baseline_margin_us),
				     &g->hb, &err))
		memset(&g->hb, 0, sizeof(g->hb));
	return NULL;
}

static void migrate_no_thread(struct guest_thread *t, int errnum)
{
	struct mb_evac_guest *g = &t->e->guests[t->i];

	mb_errf(&g->err, errnum, "guest %u: no thread to migrate it in", g->spec->guest + 1);
	gate_leave(t);
}

int mb_evac_migrate(struct mb_evacuation *e, struct mb_err *err)
{
	/* The guests are one scenario's: one baseline, one stagger. */
	struct gate gate = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
			     .interrupted = e->interrupted, .baseline_us = e->guests[0].spec->params.baseline_us,
			     .stagger_us = e->guests[0].spec->params.stagger_us };

	for (size_t i = 0; i < e->k; i++) {
		struct mb_evac_guest *g = &e->guests[i];

		g->migrated = 0;
		if (!g->r)
			continue;
		memset(&g->err, 0, sizeof(g->err));
		gate.expected++;
	}
	if (!gate.expected)
		return mb_errf(err, 0, "no guest is running");
	for_each_guest(e, &gate, running, migrate_thread, migrate_no_thread);
	pthread_mutex_destroy(&gate.lock);
	pthread_cond_destroy(&gate.cond);
	return 0;
}

/* ---- the figures ---------------------------------------------------------- */

static double metric(const json_t *doc, const char *name)
{
	const json_t *v = json_object_get(json_object_get(doc, "metrics"), name);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static double bytes_sent(const json_t *doc)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(json_object_get(doc, "metrics"),
									   "pages_transferred"), "bytes"), "total");

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* {min, median, max, spread} of the values that are numbers; null if none. */
static json_t *spread_json(double *v, size_t n)
{
	size_t m = 0;
	double median;

	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[m++] = v[i];
	if (!m)
		return json_null();
	qsort(v, m, sizeof(*v), by_value);
	median = m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
	return json_pack("{s:f, s:f, s:f, s:f, s:I}", "min", v[0], "median", median, "max", v[m - 1],
			 "spread", v[m - 1] - v[0], "guests", (json_int_t)m);
}

json_t *mb_evac_figures(const struct mb_evacuation *e, json_t *const *docs)
{
	int64_t first = 0, last = 0;
	double bytes = 0, *downtime = calloc(e->k + 1, sizeof(double)), *total = calloc(e->k + 1, sizeof(double));
	double *guest_gap = calloc(e->k + 1, sizeof(double));
	size_t completed = 0;
	json_t *out = NULL, *per = json_array();

	if (!downtime || !total || !guest_gap || !per)
		goto done;
	for (size_t i = 0; i < e->k; i++) {
		const struct mb_evac_guest *g = &e->guests[i];
		int64_t start = g->out.rec.times.start_us;

		downtime[i] = total[i] = guest_gap[i] = NAN;
		if (g->migrated && start > 0 && (!first || start < first))
			first = start;
	}
	for (size_t i = 0; i < e->k; i++) {
		const struct mb_evac_guest *g = &e->guests[i];
		const struct mb_mig_times *t = &g->out.rec.times;
		int done_ok = g->migrated && g->out.status == MB_RUN_COMPLETED;
		int64_t end = done_ok ? mb_mig_end_us(t) : 0;
		json_t *one;

		if (done_ok) {
			completed++;
			if (end > last)
				last = end;
			if (!isnan(bytes_sent(docs[i])))
				bytes += bytes_sent(docs[i]);
			downtime[i] = metric(docs[i], "downtime_ms");
			total[i] = metric(docs[i], "total_time_ms");
			guest_gap[i] = metric(docs[i], "guest_downtime_ms");
		}
		one = json_pack("{s:i, s:s, s:o, s:o}", "guest", (int)g->spec->guest + 1,
				"status", g->migrated ? mb_run_status_name(g->out.status) : "failed",
				"start_ms", g->migrated && t->start_us > 0 ? json_real((t->start_us - first) / 1e3) : json_null(),
				"end_ms", end > 0 ? json_real((end - first) / 1e3) : json_null());
		if (!one || json_array_append_new(per, one))
			goto done;
	}
	out = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:O}",
			"guests", (json_int_t)e->k, "completed", (json_int_t)completed,
			"span_ms", completed && last > first ? json_real((last - first) / 1e3) : json_null(),
			"bytes", completed ? json_integer((json_int_t)bytes) : json_null(),
			"aggregate_MiB_s", completed && last > first
			? json_real(bytes / 1048576.0 / ((last - first) / 1e6)) : json_null(),
			"downtime_ms", spread_json(downtime, e->k),
			"total_time_ms", spread_json(total, e->k),
			"guest_downtime_ms", spread_json(guest_gap, e->k),
			"per_guest", per);
done:
	json_decref(per);
	free(downtime);
	free(total);
	free(guest_gap);
	return out;
}

json_t *mb_evac_group_json(const struct mb_evacuation *e, size_t i, json_t *figures)
{
	const struct mb_run_spec *spec = e->guests[i].spec;

	return json_pack("{s:s%, s:i, s:i, s:f, s:O}", "scenario", spec->name, mb_run_spec_group_len(spec),
			 "guest", (int)spec->guest + 1, "guests", (int)spec->params.guests,
			 "stagger_ms", spec->params.stagger_us / 1e3, "evacuation", figures ? figures : json_null());
}

void mb_evac_release_runs(struct mb_evacuation *e)
{
	for (size_t i = 0; i < e->k; i++) {
		struct mb_evac_guest *g = &e->guests[i];

		if (g->migrated)
			mb_mig_outcome_release(&g->out);
		mb_hb_series_free(&g->hb);
		g->migrated = 0;
	}
}

void mb_evac_teardown(struct mb_evacuation *e)
{
	for (size_t i = 0; i < e->k; i++)
		if (e->guests[i].r) {
			e->ops->teardown(e->guests[i].r);
			e->guests[i].r = NULL;
		}
	/* Only now: their QEMUs would die with the threads that started them. */
	workers_stop(e);
}
