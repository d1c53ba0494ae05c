/* libvirt's job statistics -> QEMU's query-migrate shape.
 *
 * libvirt (9.0, src/qemu/qemu_monitor_json.c and qemu_domainjob.c) fills
 * its memory_* fields from QEMU's query-migrate "ram" block, so the mapping
 * back is one to one:
 *
 *   libvirt job stat            query-migrate
 *   memory_total                ram.total
 *   memory_processed            ram.transferred   (bytes sent, all kinds)
 *   memory_remaining            ram.remaining
 *   memory_constant             ram.duplicate     (zero pages, counted not sent)
 *   memory_normal               ram.normal        (pages sent whole)
 *   memory_normal_bytes         ram.normal-bytes
 *   memory_dirty_rate           ram.dirty-pages-rate
 *   memory_page_size            ram.page-size
 *   memory_iteration            ram.dirty-sync-count
 *   memory_postcopy_requests    ram.postcopy-requests
 *   memory_bps                  ram.mbps (libvirt: bytes/s = mbps * 10^6 / 8)
 *   downtime                    downtime          (QEMU's, once completed)
 *   setup_time                  setup-time
 *
 * Not mapped: time_elapsed and downtime_net are libvirt's own clocks
 * (its job from Begin, including the destination's start-up; its STOP to
 * RESUME across hosts), not QEMU's total-time and downtime: they stay
 * under libvirt_reported only. QEMU's precopy-bytes, downtime-bytes and
 * postcopy-bytes are not passed on by libvirt 9.0, so the pages cannot be
 * split by phase. */
#include "config.h"
#include "runners/libvirt_stats.h"

#include "runners/libvirt_conn.h"

int mb_lv_job_stats(virDomainPtr dom, unsigned flags, json_t **out, struct mb_err *err)
{
	virTypedParameterPtr params = NULL;
	int n = 0, type = 0;

	*out = NULL;
	if (virDomainGetJobStats(dom, &type, &params, &n, flags) < 0)
		return mb_lv_errf(err, "virDomainGetJobStats(%s) of domain %s",
				  flags & VIR_DOMAIN_JOB_STATS_COMPLETED ? "completed" : "current",
				  virDomainGetName(dom));
	*out = mb_lv_params_json(params, n);
	virTypedParamsFree(params, n);
	json_object_set_new(*out, "type", json_integer(type));
	return 0;
}

static void copy_as(json_t *to, const char *to_key, const json_t *from, const char *from_key)
{
	json_t *v = json_object_get(from, from_key);

	if (json_is_integer(v))
		json_object_set_new(to, to_key, json_integer(json_integer_value(v)));
}

json_t *mb_lv_query_migrate_shape(const json_t *stats, const char *status)
{
	static const struct { const char *lv, *qmp; } ram_keys[] = {
		{ "memory_total", "total" },
		{ "memory_processed", "transferred" },
		{ "memory_remaining", "remaining" },
		{ "memory_constant", "duplicate" },
		{ "memory_normal", "normal" },
		{ "memory_normal_bytes", "normal-bytes" },
		{ "memory_dirty_rate", "dirty-pages-rate" },
		{ "memory_page_size", "page-size" },
		{ "memory_iteration", "dirty-sync-count" },
		{ "memory_postcopy_requests", "postcopy-requests" },
	};
	json_t *q = json_pack("{s:s, s:s}", "status", status,
			      "shaped_from", "libvirt job statistics (runners/libvirt_stats.c)");
	json_t *ram = json_object(), *bps = json_object_get(stats, "memory_bps");

	for (size_t i = 0; i < sizeof(ram_keys) / sizeof(ram_keys[0]); i++)
		copy_as(ram, ram_keys[i].qmp, stats, ram_keys[i].lv);
	if (json_is_integer(bps))
		json_object_set_new(ram, "mbps", json_real((double)json_integer_value(bps) * 8 / 1e6));
	if (json_object_size(ram))
		json_object_set_new(q, "ram", ram);
	else
		json_decref(ram);
	copy_as(q, "downtime", stats, "downtime");
	copy_as(q, "setup-time", stats, "setup_time");
	return q;
}
