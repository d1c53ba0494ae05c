/* The registered probes started around one migration: as many as
 * probes/registry.c lists (no fixed limit), each given its own options. */
#include "config.h"
#include "probes/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mb_probe_set {
	size_t n;
	struct {
		void *state;
		int started, stopped;
	} *p;
	json_t *failures;       /* {name: {available: false, reason}} */
};

bool mb_probe_selected(const char *sel, const char *name)
{
	size_t n = strlen(name);

	if (!sel || !strcmp(sel, "all"))
		return true;
	for (const char *p = sel; *p; p += *p == '+') {
		size_t len = strcspn(p, "+");

		if (len == n && !strncmp(p, name, n))
			return true;
		p += len;
	}
	return false;
}

static void unavailable(struct mb_probe_set *ps, size_t i, const struct mb_err *err)
{
	json_object_set_new(ps->failures, mb_probes[i]->name,
			    json_pack("{s:b, s:s}", "available", 0, "reason", err->msg));
}

struct mb_probe_set *mb_probe_set_start(const struct mb_probe_ctx *ctx)
{
	struct mb_probe_set *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	while (mb_probes[ps->n])
		ps->n++;
	ps->p = calloc(ps->n ? ps->n : 1, sizeof(*ps->p));
	ps->failures = json_object();
	if (!ps->p || !ps->failures) {
		free(ps->p);
		json_decref(ps->failures);
		free(ps);
		return NULL;
	}
	for (size_t i = 0; i < ps->n; i++) {
		struct mb_probe_ctx mine = *ctx;
		struct mb_err err = { 0 };

		/* Not asked for (probes=): neither run nor in the output. */
		if (ctx->spec && !mb_probe_selected(ctx->spec->params.probes, mb_probes[i]->name))
			continue;
		/* Its own keys' values, parsed for this run. */
		mine.options = mb_run_spec_options(ctx->spec, mb_probes[i]);
		if (mb_probes[i]->options && mb_probes[i]->options[0].name && !mine.options) {
			mb_errf(&err, 0, "its options were not parsed for this run (the probe is not "
				"among the registered plug-ins)");
			unavailable(ps, i, &err);
			continue;
		}
		/* A probe that cannot run here says why; the run goes on. */
		if (mb_probes[i]->start(&ps->p[i].state, &mine, &err))
			unavailable(ps, i, &err);
		else
			ps->p[i].started = 1;
	}
	return ps;
}

json_t *mb_probe_set_failures(const struct mb_probe_set *ps)
{
	return ps->failures;
}

void mb_probe_set_stop(struct mb_probe_set *ps)
{
	for (size_t i = 0; ps && i < ps->n; i++) {
		struct mb_err err = { 0 };

		if (!ps->p[i].started || ps->p[i].stopped)
			continue;
		ps->p[i].stopped = 1;
		if (mb_probes[i]->stop(ps->p[i].state, &err))
			unavailable(ps, i, &err);
	}
}

json_t *mb_probe_set_collect(struct mb_probe_set *ps, const struct mb_mig_times *times,
			     json_t **metrics)
{
	json_t *all;

	if (metrics)
		*metrics = json_object();
	if (!ps)
		return json_object();
	mb_probe_set_stop(ps);
	all = ps->failures;
	for (size_t i = 0; i < ps->n; i++) {
		const struct mb_probe_ops *ops = mb_probes[i];

		if (!ps->p[i].started)
			continue;
		/* A probe whose stop failed keeps that reason as its output. */
		if (!json_object_get(all, ops->name))
			json_object_set_new(all, ops->name, ops->to_json(ps->p[i].state, times));
		if (metrics && *metrics && ops->metrics) {
			json_t *mine = json_object();

			ops->metrics(ps->p[i].state, times, mine);
			if (json_object_size(mine))
				json_object_set(*metrics, ops->name, mine);
			json_decref(mine);
		}
		ops->free(ps->p[i].state);
	}
	free(ps->p);
	free(ps);
	return all;
}
