/* A throw-away probe that exists only to show that adding a probe is one
 * new file plus one registry line: its own scenario key (example_factor,
 * with its help and range), its own output ("example" in the result) and
 * its own headline metric (metrics.example_downtime_scaled_ms), nothing
 * anywhere else. tests/plugin/registry.c is probes/registry.c with the line
 * `&mb_probe_example,` added (made by make, see Makefile.am), linked into
 * tests/plugin/migbench-plugin; tests/plugin/test-plugin.c runs it. */
#include "config.h"
#include "probes/probe.h"

#include <errno.h>
#include <stdlib.h>

#include "bench/metrics.h"

/* Its options: what its keys parse into (MB_FIELD offsets below). */
struct example_options {
	unsigned factor;
};

static const struct mb_key example_keys[] = {
	{
		.name = "example_factor", .type = MB_TYPE_COUNT,
		MB_FIELD(struct example_options, factor, unsigned),
		.def = "3", .min = 1, .max = 100,
		.help = "example probe: multiplies the downtime it reports (a test of plug-in keys)",
	},
	{ 0 },
};

struct example {
	unsigned factor;
	int stopped;
};

static int example_start(void **state, const struct mb_probe_ctx *ctx, struct mb_err *err)
{
	const struct example_options *o = ctx->options;
	struct example *e = calloc(1, sizeof(*e));

	if (!e)
		return mb_errf(err, ENOMEM, "example probe");
	e->factor = o->factor;
	*state = e;
	return 0;
}

static int example_stop(void *state, struct mb_err *err)
{
	(void)err;
	((struct example *)state)->stopped = 1;
	return 0;
}

static json_t *example_to_json(void *state, const struct mb_mig_times *times)
{
	const struct example *e = state;

	(void)times;
	return json_pack("{s:b, s:i, s:b}", "available", 1, "factor", (int)e->factor, "stopped", e->stopped);
}

static void example_metrics(void *state, const struct mb_mig_times *t, json_t *metrics)
{
	const struct example *e = state;

	if (t->src_stop_us && t->dst_resume_us > t->src_stop_us)
		json_object_set_new(metrics, "example_downtime_scaled_ms",
				    json_real((double)(t->dst_resume_us - t->src_stop_us) / 1000.0 * e->factor));
	json_object_set_new(metrics, "example_factor_seen", json_integer(e->factor));
}

static void example_free(void *state)
{
	free(state);
}

const struct mb_probe_ops mb_probe_example = {
	.name = "example",
	.summary = "a throw-away probe of the plug-in test",
	.options = example_keys,
	.options_size = sizeof(struct example_options),
	.start = example_start,
	.stop = example_stop,
	.to_json = example_to_json,
	.metrics = example_metrics,
	.free = example_free,
};
