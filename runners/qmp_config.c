/* What a scenario asks of QEMU's migration, as QMP capability and parameter
 * objects: one place, so preflight checks exactly what migrate sets. */
#include "config.h"
#include "runners/qmp_config.h"

#include <string.h>

#include "bench/scenario.h"
#include "runners/tls.h"

static const char *const compression_names[] = { MB_COMPRESSIONS(MB_X_NAME) NULL };

/* Capabilities that only measure: on where the QEMU offers them, left out
 * where it does not (a run is not refused for what it cannot measure;
 * the result says why the figures are missing). */
static const char *const measurement_caps[] = { "postcopy-blocktime", NULL };

static int is_measurement_cap(const char *name)
{
	for (const char *const *m = measurement_caps; *m; m++)
		if (!strcmp(*m, name))
			return 1;
	return 0;
}

json_t *mb_qmp_caps_for(const struct mb_params *p)
{
	int postcopy = p->mode == MB_MODE_POSTCOPY || p->mode == MB_MODE_HYBRID;

	/* Every capability migbench manages is set, off ones too: a QEMU that
	 * was the destination of another scenario's post-copy run still has
	 * postcopy-ram on when it becomes the source of a pre-copy run.
	 * mb_qmp_drop_unoffered removes the off ones a QEMU does not have. */
	return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b}", "events", 1, "postcopy-ram", postcopy,
			 "postcopy-preempt", p->postcopy_preempt, "multifd", p->multifd != 0,
			 "xbzrle", p->xbzrle_cache != 0, "auto-converge", p->auto_converge,
			 /* the source has nothing to measure; off, as it may have
			  * been the destination of the previous repetition */
			 "postcopy-blocktime", 0);
}

json_t *mb_qmp_destination_caps_for(const struct mb_params *p)
{
	json_t *caps = mb_qmp_caps_for(p);

	/* Post-copy fault latency is measured where the faults happen: on the
	 * destination (QEMU's postcopy-blocktime; query-migrate there reports
	 * it once the migration completed). */
	json_object_set_new(caps, "postcopy-blocktime",
			    json_boolean(p->mode == MB_MODE_POSTCOPY || p->mode == MB_MODE_HYBRID));
	return caps;
}

void mb_qmp_drop_unoffered(json_t *caps, const json_t *offered)
{
	const char *name;
	json_t *state, *tmp;

	json_object_foreach_safe(caps, tmp, name, state)
		if ((json_is_false(state) || is_measurement_cap(name)) && !json_object_get(offered, name))
			json_object_del(caps, name);
}

json_t *mb_qmp_source_params_for(const struct mb_params *p)
{
	json_t *params = json_pack("{s:I, s:I}",
				   "max-bandwidth", (json_int_t)p->max_bandwidth,
				   "downtime-limit", (json_int_t)((p->downtime_limit_us + 999) / 1000));

	if (p->multifd) {
		json_object_set_new(params, "multifd-channels", json_integer(p->multifd));
		json_object_set_new(params, "multifd-compression",
				    json_string(compression_names[p->multifd_compression]));
	}
	if (p->xbzrle_cache)
		json_object_set_new(params, "xbzrle-cache-size", json_integer((json_int_t)p->xbzrle_cache));
	/* Set on every migration, not left from the last one: the source was
	 * the previous repetition's destination, with the server creds set. */
	if (p->tls) {
		json_object_set_new(params, "tls-creds", json_string(MB_TLS_CREDS_CLIENT));
		json_object_set_new(params, "tls-hostname", json_string(MB_TLS_HOSTNAME));
	}
	return params;
}

json_t *mb_qmp_destination_params_for(const struct mb_params *p)
{
	json_t *params = json_object();

	/* The receiving side must open as many channels as the sender. */
	if (p->multifd) {
		json_object_set_new(params, "multifd-channels", json_integer(p->multifd));
		json_object_set_new(params, "multifd-compression",
				    json_string(compression_names[p->multifd_compression]));
	}
	if (p->tls)
		json_object_set_new(params, "tls-creds", json_string(MB_TLS_CREDS_SERVER));
	return params;
}
