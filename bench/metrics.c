#include "config.h"
#include "bench/metrics.h"

#include <math.h>
#include <string.h>

json_t *mb_json_ms(int64_t us)
{
	return json_real(round((double)us) / 1000.0);
}

static int64_t max3(int64_t a, int64_t b, int64_t c)
{
	int64_t m = a > b ? a : b;

	return m > c ? m : c;
}

int64_t mb_mig_end_us(const struct mb_mig_times *t)
{
	return max3(t->src_complete_us, t->dst_complete_us, t->dst_resume_us);
}

int mb_metrics_times(const struct mb_mig_times *t, json_t *metrics)
{
	int64_t end = mb_mig_end_us(t);

	if (!t->start_us || !t->src_stop_us || !t->dst_resume_us || !end)
		return -1;
	if (t->src_stop_us < t->start_us || t->dst_resume_us < t->src_stop_us)
		return -1;
	json_object_set_new(metrics, "preparation_time_ms", mb_json_ms(t->src_stop_us - t->start_us));
	json_object_set_new(metrics, "downtime_ms", mb_json_ms(t->dst_resume_us - t->src_stop_us));
	json_object_set_new(metrics, "resume_time_ms", mb_json_ms(end - t->dst_resume_us));
	json_object_set_new(metrics, "total_time_ms", mb_json_ms(end - t->start_us));
	/* A link cut in post-copy: how long the guest's missing pages could
	 * not come, and how long the reconnection itself took. */
	if (t->postcopy_paused_us && t->postcopy_recovered_us >= t->postcopy_paused_us) {
		json_object_set_new(metrics, "postcopy_paused_ms",
				    mb_json_ms(t->postcopy_recovered_us - t->postcopy_paused_us));
		if (t->recover_sent_us && t->postcopy_recovered_us >= t->recover_sent_us)
			json_object_set_new(metrics, "postcopy_recovery_ms",
					    mb_json_ms(t->postcopy_recovered_us - t->recover_sent_us));
	}
	return 0;
}

static uint64_t ram_u64(const json_t *ram, const char *key)
{
	json_t *v = json_object_get(ram, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* QEMU counts bytes per phase but pages only in total: pages are split in
 * proportion to the phase's bytes, and the result says so. */
static json_t *phase_pages(uint64_t pages, uint64_t phase_bytes, uint64_t all_bytes)
{
	if (!all_bytes)
		return json_integer(0);
	return json_integer((json_int_t)llround((double)pages * (double)phase_bytes / (double)all_bytes));
}

int mb_metrics_pages(const json_t *final_query_migrate, json_t *metrics)
{
	const json_t *ram = json_object_get(final_query_migrate, "ram");
	uint64_t pages, pre, down, post, all;
	json_t *pt, *bytes;

	if (!json_is_object(ram))
		return -1;
	pages = ram_u64(ram, "normal") + ram_u64(ram, "duplicate");
	pre = ram_u64(ram, "precopy-bytes");
	down = ram_u64(ram, "downtime-bytes");
	post = ram_u64(ram, "postcopy-bytes");
	all = pre + down + post;

	bytes = json_pack("{s:I, s:I, s:I, s:I, s:I}",
			  "total", (json_int_t)ram_u64(ram, "transferred"),
			  "normal", (json_int_t)ram_u64(ram, "normal-bytes"),
			  "precopy", (json_int_t)pre, "downtime", (json_int_t)down,
			  "postcopy", (json_int_t)post);
	/* Statistics relayed without QEMU's per-phase counters (libvirt's job
	 * statistics): no split, rather than a split of zeros. */
	if (!json_object_get(ram, "precopy-bytes") && !json_object_get(ram, "downtime-bytes") &&
	    !json_object_get(ram, "postcopy-bytes")) {
		pt = json_pack("{s:I, s:I, s:I, s:n, s:n, s:n, s:I, s:{s:I, s:I, s:n, s:n, s:n}, s:s}",
			       "total", (json_int_t)pages,
			       "normal", (json_int_t)ram_u64(ram, "normal"),
			       "duplicate", (json_int_t)ram_u64(ram, "duplicate"),
			       "precopy", "downtime", "postcopy",
			       "page_size", (json_int_t)ram_u64(ram, "page-size"),
			       "bytes", "total", (json_int_t)ram_u64(ram, "transferred"),
			       "normal", (json_int_t)ram_u64(ram, "normal-bytes"),
			       "precopy", "downtime", "postcopy",
			       "phase_split", "not available: the statistics carry no per-phase byte counters");
		json_decref(bytes);
		if (!pt)
			return -1;
		json_object_set_new(metrics, "pages_transferred", pt);
		return 0;
	}
	pt = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:s}",
		       "total", (json_int_t)pages,
		       "normal", (json_int_t)ram_u64(ram, "normal"),
		       "duplicate", (json_int_t)ram_u64(ram, "duplicate"),
		       "precopy", phase_pages(pages, pre, all),
		       "downtime", phase_pages(pages, down, all),
		       "postcopy", phase_pages(pages, post, all),
		       "page_size", (json_int_t)ram_u64(ram, "page-size"),
		       "bytes", bytes,
		       "phase_split", "pages apportioned by QEMU's per-phase byte counters");
	if (!pt)
		return -1;
	json_object_set_new(metrics, "pages_transferred", pt);
	return 0;
}

static double counter_of(struct mb_hb_point p, int use_ops)
{
	return (double)(use_ops ? p.ops : p.written);
}

/* The counter's value as last reported at or before `t` (heartbeats are a
 * step function as seen by the host). Returns -1 before the first point. */
static int counter_at(const struct mb_hb_series *hb, int64_t t, int use_ops, double *out)
{
	size_t lo = 0, hi = hb->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mb_hb_at(hb, mid).host_us <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	*out = counter_of(mb_hb_at(hb, lo - 1), use_ops);
	return 0;
}

/* Counter units per second over [a, b]; NAN when not measurable. */
static double throughput(const struct mb_hb_series *hb, int64_t a, int64_t b, int use_ops)
{
	double ca, cb;

	if (b <= a || counter_at(hb, a, use_ops, &ca) || counter_at(hb, b, use_ops, &cb))
		return NAN;
	return (cb - ca) * 1e6 / (double)(b - a);
}

static json_t *ratio_json(double value, double baseline)
{
	if (isnan(value) || isnan(baseline) || baseline <= 0)
		return json_null();
	return json_real(value / baseline);
}

static json_t *phase_json(const struct mb_hb_series *hb, int64_t a, int64_t b,
			  int use_ops, double baseline)
{
	double tp = throughput(hb, a, b, use_ops);

	return json_pack("{s:o, s:o, s:o}",
			 "duration_ms", mb_json_ms(b > a ? b - a : 0),
			 "throughput_per_s", isnan(tp) ? json_null() : json_real(tp),
			 "ratio", ratio_json(tp, baseline));
}

/* Time after RESUME until a window of `window_us` (key recovery_window)
 * runs at >= 95 % of the baseline, scanning in `step_us` steps; -1 when it
 * never does. Both ends of the window only move forward: one pass over
 * the heartbeats (a long post-copy's are read from disk, not searched). */
static int64_t recovery_us(const struct mb_hb_series *hb, int64_t resume, double baseline,
			   int use_ops, int64_t window_us)
{
	const int64_t step_us = 10000;
	size_t ia = 0, ib = 0;   /* the first points after a, after a + window */
	int64_t last;

	if (!hb->n || isnan(baseline) || baseline <= 0 || window_us <= 0)
		return -1;
	last = mb_hb_at(hb, hb->n - 1).host_us;
	for (int64_t a = resume; a + window_us <= last; a += step_us) {
		while (ia < hb->n && mb_hb_at(hb, ia).host_us <= a)
			ia++;
		if (ib < ia)
			ib = ia;
		while (ib < hb->n && mb_hb_at(hb, ib).host_us <= a + window_us)
			ib++;
		/* counter_at: the last point at or before each end */
		if (ia == 0)
			continue;
		if ((counter_of(mb_hb_at(hb, ib - 1), use_ops) - counter_of(mb_hb_at(hb, ia - 1), use_ops)) *
		    1e6 / (double)window_us >= 0.95 * baseline)
			return a - resume;
	}
	return -1;
}

/* Heartbeats after `first` that place the guest's clock on the host's:
 * enough that the quickest of them travelled at the channel's own speed. */
#define GUEST_CLOCK_WINDOW_US 1000000
#define GUEST_CLOCK_MIN_POINTS 10

void mb_metrics_guest_gap(const struct mb_mig_times *t, const struct mb_hb_series *hb, json_t *metrics)
{
	size_t first = 0, used = 0;
	int64_t last_us, first_us, silence_from, offset = INT64_MAX;

	if (!t->src_stop_us || !t->dst_resume_us)
		return;
	while (first < hb->n && mb_hb_at(hb, first).host_us <= t->dst_resume_us)
		first++;
	if (first == 0 || first == hb->n)
		return;
	last_us = mb_hb_at(hb, first - 1).host_us;
	first_us = mb_hb_at(hb, first).host_us;
	/* A heartbeat still on its way at STOP arrives after it: the silence
	 * then starts later, and none of it is before STOP. */
	silence_from = last_us > t->src_stop_us ? last_us : t->src_stop_us;
	json_object_set_new(metrics, "guest_gap_switchover_ms", mb_json_ms(first_us - last_us));
	json_object_set_new(metrics, "guest_gap_before_stop_ms", mb_json_ms(silence_from - last_us));
	json_object_set_new(metrics, "guest_gap_stopped_ms", mb_json_ms(t->dst_resume_us - silence_from));
	json_object_set_new(metrics, "guest_gap_after_resume_ms", mb_json_ms(first_us - t->dst_resume_us));

	for (size_t i = first + 1; i < hb->n && mb_hb_at(hb, i).host_us - first_us <= GUEST_CLOCK_WINDOW_US; i++) {
		struct mb_hb_point p = mb_hb_at(hb, i);
		int64_t lag = p.host_us - (int64_t)p.guest_us;

		if (!p.guest_us)
			continue;
		used++;
		if (lag < offset)
			offset = lag;
	}
	if (used >= GUEST_CLOCK_MIN_POINTS && mb_hb_at(hb, first).guest_us) {
		int64_t sent = (int64_t)mb_hb_at(hb, first).guest_us + offset;

		/* Within [RESUME, arrival]: the estimate is good to the
		 * channel's jitter, and the guest cannot send before it runs. */
		if (sent < t->dst_resume_us)
			sent = t->dst_resume_us;
		if (sent > first_us)
			sent = first_us;
		json_object_set_new(metrics, "guest_gap_after_resume_sent_ms", mb_json_ms(sent - t->dst_resume_us));
		json_object_set_new(metrics, "guest_gap_after_resume_in_flight_ms", mb_json_ms(first_us - sent));
	} else {
		json_object_set_new(metrics, "guest_gap_after_resume_sent_ms", json_null());
		json_object_set_new(metrics, "guest_gap_after_resume_in_flight_ms", json_null());
	}
}

int64_t mb_metrics_heartbeats_from(int64_t start_us, uint64_t baseline_us, uint64_t margin_us)
{
	return start_us - (int64_t)baseline_us - (int64_t)margin_us;
}

int mb_metrics_heartbeats(const struct mb_mig_times *t, const struct mb_hb_series *hb,
			  int64_t baseline_us, int64_t recovery_window_us, const char *counter,
			  json_t *metrics)
{
	int use_ops = counter && !strcmp(counter, "ops");
	int64_t end = mb_mig_end_us(t), gap = -1, gap_at = 0, rec;
	int64_t precopy_end, settle_end;
	double baseline;
	json_t *deg, *phases;

	if (!hb->n || !t->start_us || !end)
		return -1;

	/* The longest silence that overlaps the migration, as the host saw it. */
	for (size_t i = 1; i < hb->n; i++) {
		int64_t a = mb_hb_at(hb, i - 1).host_us, b = mb_hb_at(hb, i).host_us;

		if (b >= t->start_us && a <= end && b - a > gap) {
			gap = b - a;
			gap_at = a;
		}
	}
	if (gap >= 0) {
		json_object_set_new(metrics, "guest_downtime_ms", mb_json_ms(gap));
		json_object_set_new(metrics, "guest_downtime_start_ms", mb_json_ms(gap_at - t->start_us));
	} else {
		json_object_set_new(metrics, "guest_downtime_ms", json_null());
	}
	mb_metrics_guest_gap(t, hb, metrics);

	baseline = throughput(hb, t->start_us - baseline_us, t->start_us, use_ops);
	precopy_end = t->postcopy_us ? t->postcopy_us : t->src_stop_us;
	if (precopy_end > t->src_stop_us || !precopy_end)
		precopy_end = t->src_stop_us;
	settle_end = mb_hb_at(hb, hb->n - 1).host_us;

	phases = json_object();
	json_object_set_new(phases, "precopy", phase_json(hb, t->start_us, precopy_end, use_ops, baseline));
	json_object_set_new(phases, "downtime", phase_json(hb, t->src_stop_us, t->dst_resume_us, use_ops, baseline));
	json_object_set_new(phases, "postcopy", phase_json(hb, t->dst_resume_us, end, use_ops, baseline));
	json_object_set_new(phases, "after", phase_json(hb, end, settle_end, use_ops, baseline));

	rec = recovery_us(hb, t->dst_resume_us, baseline, use_ops, recovery_window_us);
	deg = json_pack("{s:s, s:o, s:o, s:o, s:o}",
			"counter", use_ops ? "ops" : "written",
			"baseline_per_s", isnan(baseline) ? json_null() : json_real(baseline),
			"baseline_window_ms", mb_json_ms(baseline_us),
			"phases", phases,
			"recovery_to_95pct_ms", rec >= 0 ? mb_json_ms(rec) : json_null());
	json_object_set_new(metrics, "degradation", deg);
	return 0;
}
