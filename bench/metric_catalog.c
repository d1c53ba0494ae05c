#include "bench/metric_catalog.h"

#include <string.h>

/* Times come from QMP events whose delivery jitters by about a millisecond:
 * a floor of 1 ms keeps a 0.3 -> 0.5 ms resume time from reading as a 60 %
 * regression. Bytes are reported in MiB. */
#define MS(p, l, b, t) { .path = p, .label = l, .unit = "ms", .scale = 1, .better = b, .floor = 1, .paper = t }

const struct mb_metric_info mb_metric_catalog[] = {
	MS("preparation_time_ms", "Preparation", MB_BETTER_LOWER, 1),
	MS("downtime_ms", "Downtime", MB_BETTER_LOWER, 1),
	MS("resume_time_ms", "Resume", MB_BETTER_LOWER, 1),
	MS("total_time_ms", "Total time", MB_BETTER_LOWER, 1),
	MS("guest_downtime_ms", "Guest-seen downtime", MB_BETTER_LOWER, 1),
	/* the guest-seen silence around the switchover, split (metrics.h: mb_metrics_guest_gap) */
	MS("guest_gap_switchover_ms", "Guest gap at switchover", MB_BETTER_NONE, 0),
	MS("guest_gap_before_stop_ms", "Guest gap before STOP", MB_BETTER_NONE, 0),
	MS("guest_gap_stopped_ms", "Guest gap STOP->RESUME", MB_BETTER_NONE, 0),
	MS("guest_gap_after_resume_ms", "Guest gap after RESUME", MB_BETTER_LOWER, 0),
	MS("guest_gap_after_resume_sent_ms", "RESUME -> guest sent", MB_BETTER_NONE, 0),
	MS("guest_gap_after_resume_in_flight_ms", "Guest sent -> arrived", MB_BETTER_NONE, 0),
	MS("client_downtime_ms", "Client-seen downtime", MB_BETTER_LOWER, 1),
	{ .path = "pages_transferred.total", .label = "Pages transferred", .unit = "pages", .scale = 1,
	  .better = MB_BETTER_LOWER },
	{ .path = "pages_transferred.bytes.total", .label = "Data transferred", .unit = "MiB",
	  .scale = 1.0 / (1024 * 1024), .better = MB_BETTER_LOWER, .paper = 1 },
	{ .path = "pages_transferred.precopy", .label = "Pages in pre-copy", .unit = "pages", .scale = 1 },
	{ .path = "pages_transferred.downtime", .label = "Pages in stop-and-copy", .unit = "pages", .scale = 1 },
	{ .path = "pages_transferred.postcopy", .label = "Pages in post-copy", .unit = "pages", .scale = 1 },
	MS("degradation.recovery_to_95pct_ms", "Recovery to 95 %", MB_BETTER_LOWER, 0),
	{ .path = "degradation.phases.precopy.ratio", .label = "Throughput in pre-copy", .unit = "x baseline",
	  .scale = 1, .better = MB_BETTER_HIGHER, .floor = 0.01 },
	{ .path = "degradation.phases.postcopy.ratio", .label = "Throughput in post-copy", .unit = "x baseline",
	  .scale = 1, .better = MB_BETTER_HIGHER, .floor = 0.01 },
	{ .path = "degradation.phases.after.ratio", .label = "Throughput after", .unit = "x baseline",
	  .scale = 1, .better = MB_BETTER_HIGHER, .floor = 0.01 },
	{ .path = "memory_verify.pages_corrupted", .label = "Corrupted pages", .unit = "pages", .scale = 1,
	  .better = MB_BETTER_LOWER },
	MS("postcopy_faults.blocktime_ms", "Post-copy blocktime (all vCPUs)", MB_BETTER_LOWER, 0),
	{ .path = "postcopy_faults.latency_us", .label = "Post-copy fault latency", .unit = "us", .scale = 1,
	  .better = MB_BETTER_LOWER, .floor = 100 },
	{ .path = "postcopy_faults.non_vcpu_latency_us", .label = "Post-copy fault latency (non-vCPU)",
	  .unit = "us", .scale = 1, .better = MB_BETTER_LOWER, .floor = 100 },
	{ .path = "postcopy_faults.faults", .label = "Post-copy remote faults", .unit = "faults", .scale = 1 },
};

const size_t mb_metric_catalog_size = sizeof(mb_metric_catalog) / sizeof(mb_metric_catalog[0]);

const struct mb_metric_info *mb_metric_find(const char *path)
{
	for (size_t i = 0; i < mb_metric_catalog_size; i++)
		if (!strcmp(mb_metric_catalog[i].path, path))
			return &mb_metric_catalog[i];
	return NULL;
}

json_t *mb_metric_catalog_json(void)
{
	static const char *const better[] = {
		[MB_BETTER_NONE] = NULL, [MB_BETTER_LOWER] = "lower", [MB_BETTER_HIGHER] = "higher",
	};
	json_t *list = json_array(), *m;

	if (!list)
		return NULL;
	for (size_t i = 0; i < mb_metric_catalog_size; i++) {
		const struct mb_metric_info *e = &mb_metric_catalog[i];

		m = json_pack("{s:s, s:s, s:s, s:f, s:o, s:f, s:b}", "metric", e->path, "label", e->label,
			      "unit", e->unit, "scale", e->scale,
			      "better", better[e->better] ? json_string(better[e->better]) : json_null(),
			      "floor", e->floor, "paper", e->paper);
		if (!m || json_array_append_new(list, m)) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}
