/* The energy probe: chooses a RAPL source, samples every domain on its own
 * thread (at the scenario's sample_interval, so wrap-arounds are seen and
 * phases can be told apart), and reports joules per phase. */
#include "config.h"
#include "probes/energy.h"
#include "bench/clock.h"
#include "probes/tick.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/scenario.h"

uint64_t mb_energy_delta(uint64_t prev, uint64_t cur, uint64_t max_range)
{
	if (cur >= prev)
		return cur - prev;
	if (max_range && prev <= max_range)
		return (max_range - prev) + cur;
	return cur;
}

double mb_energy_joules(const struct mb_energy_domain *d, double units)
{
	return units * d->scale / d->divisor;
}

static int source_open(struct mb_energy_dev *dev, enum mb_rapl_source s, char *why, size_t len)
{
	dev->source = s;
	switch (s) {
	case MB_RAPL_POWERCAP:
		return mb_energy_powercap_open(dev, why, len);
	case MB_RAPL_PERF:
		return mb_energy_perf_open(dev, why, len);
	case MB_RAPL_PAPI:
		return mb_energy_papi_open(dev, why, len);
	default:
		snprintf(why, len, "no such source");
		return -1;
	}
}

int mb_energy_open(const char *sysfs, enum mb_rapl_source want, struct mb_energy_dev **out,
		   char *reason, size_t len)
{
	static const enum mb_rapl_source order[] = { MB_RAPL_POWERCAP, MB_RAPL_PERF, MB_RAPL_PAPI };
	struct mb_energy_dev *dev = calloc(1, sizeof(*dev));
	char why[MB_ENERGY_REASON / 2];

	*out = NULL;
	if (reason && len)
		reason[0] = '\0';
	if (!dev) {
		snprintf(reason, len, "out of memory");
		return -1;
	}
	snprintf(dev->sysfs, sizeof(dev->sysfs), "%s", sysfs);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		size_t used = strlen(reason);

		if (want != MB_RAPL_NONE && want != order[i])
			continue;
		if (source_open(dev, order[i], why, sizeof(why)) == 0) {
			*out = dev;
			return 0;
		}
		snprintf(reason + used, len - used, "%s%s: %s", used ? "; " : "",
			 mb_rapl_source_name(order[i]), why);
	}
	free(dev);
	return -1;
}

int mb_energy_read(struct mb_energy_dev *dev, char *why, size_t len)
{
	switch (dev->source) {
	case MB_RAPL_POWERCAP:
		return mb_energy_powercap_read(dev, why, len);
	case MB_RAPL_PERF:
		return mb_energy_perf_read(dev, why, len);
	case MB_RAPL_PAPI:
		return mb_energy_papi_read(dev, why, len);
	default:
		snprintf(why, len, "no source");
		return -1;
	}
}

void mb_energy_close(struct mb_energy_dev *dev)
{
	if (!dev)
		return;
	if (dev->source == MB_RAPL_PERF)
		mb_energy_perf_close(dev);
	else if (dev->source == MB_RAPL_PAPI)
		mb_energy_papi_close(dev);
	free(dev);
}

/* ---- the report ------------------------------------------------------------- */

static json_t *real_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* {joules, watts, joules_above_idle} of one phase. */
static json_t *phase_json(double joules, int64_t duration_us, double idle_watts, int is_before)
{
	double s = (double)duration_us / 1e6;

	return json_pack("{s:o, s:o, s:o}",
			 "joules", real_or_null(joules),
			 "watts", s > 0 ? real_or_null(joules / s) : json_null(),
			 "joules_above_idle", is_before ? json_real(0)
				 : real_or_null(joules - idle_watts * s));
}

json_t *mb_energy_report(const struct mb_energy_dev *dev, const struct mb_series *s,
			 const struct mb_mig_times *t, int64_t first_us, int64_t last_us)
{
	struct mb_phase_window w[MB_PHASE_COUNT];
	double host[MB_PHASE_COUNT] = { 0 };
	json_t *domains = json_array(), *host_phases = json_object(), *o;
	int64_t idle_us;
	double host_idle_watts;
	bool cut;

	mb_phase_windows(t, first_us, last_us, w, &cut);
	idle_us = w[MB_PHASE_BEFORE].to_us - w[MB_PHASE_BEFORE].from_us;

	for (size_t i = 0; i < dev->n; i++) {
		const struct mb_energy_domain *d = &dev->d[i];
		double joules[MB_PHASE_COUNT], idle_watts;
		json_t *phases = json_object();

		for (int p = 0; p < MB_PHASE_COUNT; p++) {
			joules[p] = w[p].valid ? mb_energy_joules(d, mb_series_delta(s, i, w[p].from_us,
										     w[p].to_us))
					       : NAN;
			if (d->in_host_total && w[p].valid)
				host[p] += joules[p];
		}
		idle_watts = idle_us > 0 ? joules[MB_PHASE_BEFORE] / ((double)idle_us / 1e6) : NAN;
		for (int p = 0; p < MB_PHASE_COUNT; p++)
			json_object_set_new(phases, mb_phase_names[p],
					    w[p].valid ? phase_json(joules[p], w[p].to_us - w[p].from_us,
								    idle_watts, p == MB_PHASE_BEFORE)
						       : json_null());
		json_array_append_new(domains, json_pack(
			"{s:s, s:s, s:o, s:s, s:b, s:s, s:o, s:i, s:o, s:o}",
			"name", d->name,
			"kind", d->kind ? d->kind : "other",
			"package", d->package >= 0 ? json_integer(d->package) : json_null(),
			"read_from", d->where,
			"in_host_total", d->in_host_total,
			"unit", d->unit,
			"max_energy_range", d->max_range ? json_integer((json_int_t)d->max_range) : json_null(),
			"wraps", (int)d->wraps,
			"idle_watts", real_or_null(idle_watts),
			"phases", phases));
	}
	host_idle_watts = idle_us > 0 ? host[MB_PHASE_BEFORE] / ((double)idle_us / 1e6) : NAN;
	for (int p = 0; p < MB_PHASE_COUNT; p++)
		json_object_set_new(host_phases, mb_phase_names[p],
				    w[p].valid ? phase_json(host[p], w[p].to_us - w[p].from_us,
							    host_idle_watts, p == MB_PHASE_BEFORE)
					       : json_null());
	o = json_pack("{s:b, s:s, s:i, s:o, s:o, s:b, s:o, s:{s:s, s:o, s:o}, s:o}",
		      "available", 1,
		      "source", mb_rapl_source_name(dev->source),
		      "samples", (int)s->n,
		      "baseline_window_ms", mb_json_ms(idle_us),
		      "windows", mb_phase_windows_json(w, t),
		      "migration_cut_at_probe_stop", cut,
		      "idle_watts", real_or_null(host_idle_watts),
		      "host", "adds", "packages and DRAM (core and uncore are inside the package; psys overlaps)",
		      "idle_watts", real_or_null(host_idle_watts),
		      "phases", host_phases,
		      "domains", domains);
	return o;
}

/* ---- the probe -------------------------------------------------------------- */

struct energy_state {
	struct mb_host_roots roots;
	uint64_t interval_us;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping, thread_started;
	struct mb_energy_dev *dev;      /* NULL: unavailable, see reason */
	char reason[MB_ENERGY_REASON];
	struct mb_series series;
	int64_t first_us, last_us;
	unsigned read_errors;
	char read_error[256];
};

/* Called with the lock held. */
static void take_sample(struct energy_state *st)
{
	uint64_t totals[MB_ENERGY_MAX_DOMAINS];
	char why[256];
	int64_t now;

	if (mb_energy_read(st->dev, why, sizeof(why))) {
		if (!st->read_errors++)
			snprintf(st->read_error, sizeof(st->read_error), "%s", why);
	}
	now = mb_clock_us(CLOCK_REALTIME);
	for (size_t i = 0; i < st->dev->n; i++)
		totals[i] = st->dev->d[i].total;
	if (mb_series_push(&st->series, now, totals) == 0) {
		if (!st->first_us)
			st->first_us = now;
		st->last_us = now;
	}
}

static void *energy_main(void *arg)
{
	struct energy_state *st = arg;
	struct timespec next;

	pthread_mutex_lock(&st->lock);
	/* Opened here: PAPI wants one thread to own its event set. */
	if (mb_energy_open(st->roots.sysfs, MB_RAPL_NONE, &st->dev, st->reason, sizeof(st->reason))) {
		pthread_mutex_unlock(&st->lock);
		return NULL;
	}
	mb_series_init(&st->series, st->dev->n);
	/* The open took the first reading: totals are 0 from this instant. */
	{
		uint64_t zeros[MB_ENERGY_MAX_DOMAINS] = { 0 };

		st->first_us = st->last_us = mb_clock_us(CLOCK_REALTIME);
		mb_series_push(&st->series, st->first_us, zeros);
	}
	mb_tick_start(&next);
	while (!st->stopping) {
		mb_tick_wait(&st->wake, &st->lock, &next, st->interval_us, false, &st->stopping);
		take_sample(st);
	}
	if (st->dev->source == MB_RAPL_PAPI) {
		/* PAPI's event set belongs to this thread: read the rest now. */
		mb_energy_papi_close(st->dev);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

static int energy_start(void **state, const struct mb_probe_ctx *ctx, struct mb_err *err)
{
	struct energy_state *st = calloc(1, sizeof(*st));

	if (!st)
		return mb_errf(err, ENOMEM, "energy probe");
	mb_host_roots_from_env(&st->roots);
	st->interval_us = ctx->spec && ctx->spec->params.sample_interval_us
				  ? ctx->spec->params.sample_interval_us : 50000;
	pthread_mutex_init(&st->lock, NULL);
	mb_tick_cond_init(&st->wake);
	if (pthread_create(&st->thread, NULL, energy_main, st)) {
		pthread_cond_destroy(&st->wake);
		pthread_mutex_destroy(&st->lock);
		free(st);
		return mb_errf(err, errno, "energy probe: starting its thread");
	}
	st->thread_started = 1;
	*state = st;
	return 0;
}

static int energy_stop(void *state, struct mb_err *err)
{
	struct energy_state *st = state;

	(void)err;
	if (!st->thread_started)
		return 0;
	pthread_mutex_lock(&st->lock);
	st->stopping = 1;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->thread, NULL);
	st->thread_started = 0;
	return 0;
}

static json_t *energy_to_json(void *state, const struct mb_mig_times *times)
{
	struct energy_state *st = state;
	json_t *o;

	if (!st->dev)
		return json_pack("{s:b, s:s, s:s}", "available", 0, "source", "none",
				 "reason", st->reason[0] ? st->reason : "no RAPL source opened");
	o = mb_energy_report(st->dev, &st->series, times, st->first_us, st->last_us);
	json_object_set_new(o, "interval_ms", mb_json_ms((int64_t)st->interval_us));
	json_object_set_new(o, "read_errors", json_integer(st->read_errors));
	if (st->read_errors)
		json_object_set_new(o, "first_read_error", json_string(st->read_error));
	return o;
}

static void energy_free(void *state)
{
	struct energy_state *st = state;

	if (!st)
		return;
	energy_stop(st, NULL);
	mb_energy_close(st->dev);
	mb_series_free(&st->series);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

const struct mb_probe_ops mb_probe_energy = {
	.name = "energy",
	.summary = "RAPL energy per domain and host, per phase, above the idle baseline",
	.start = energy_start,
	.stop = energy_stop,
	.to_json = energy_to_json,
	.free = energy_free,
};
