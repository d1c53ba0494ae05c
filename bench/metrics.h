/* The metrics of DESIGN.md, computed from what the probes recorded. Pure
 * functions of their inputs so that they can be checked on fixtures. */
#ifndef MB_METRICS_H
#define MB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Instants of one migration, µs on the host's realtime clock (QMP event
 * timestamps are on that clock). 0 = did not happen. */
struct mb_mig_times {
	int64_t start_us;          /* `migrate` sent (cold: `stop` sent) */
	int64_t src_stop_us;       /* source STOP event */
	int64_t dst_resume_us;     /* destination RESUME event */
	int64_t postcopy_us;       /* source MIGRATION postcopy-active, 0 if never */
	int64_t src_complete_us;   /* source MIGRATION completed */
	int64_t dst_complete_us;   /* destination MIGRATION completed */
	/* A post-copy link cut (postcopy_pause): 0 when there was none. */
	int64_t postcopy_paused_us;    /* source MIGRATION postcopy-paused */
	int64_t recover_sent_us;       /* migrate-recover sent to the destination */
	int64_t postcopy_recovered_us; /* source MIGRATION postcopy-active again */
};

/* One heartbeat as the host received it. */
struct mb_hb_point {
	int64_t host_us;           /* arrival, host realtime clock */
	uint64_t seq;
	uint64_t written;          /* guest's pages-written counter */
	uint64_t ops;              /* guest's operations counter */
	uint64_t guest_us;         /* the guest's clock when it sent it */
};

/* A run's heartbeats: in memory (points), or, for a series too long for
 * memory (probes/heartbeat.c's spool file), read a point at a time through
 * at(ctx, i). Read them with mb_hb_at. */
struct mb_hb_series {
	const struct mb_hb_point *points;
	size_t n;
	struct mb_hb_point (*at)(void *ctx, size_t i);
	void *ctx;
};

static inline struct mb_hb_point mb_hb_at(const struct mb_hb_series *hb, size_t i)
{
	return hb->points ? hb->points[i] : hb->at(hb->ctx, i);
}

/* End of migration: when neither side needs the other any more. */
int64_t mb_mig_end_us(const struct mb_mig_times *t);

/* Adds preparation_time_ms, downtime_ms, resume_time_ms, total_time_ms to
 * `metrics` (and postcopy_paused_ms, postcopy_recovery_ms after a link
 * cut). Returns -1 when the instants are incomplete or out of order
 * (the caller records why). */
int mb_metrics_times(const struct mb_mig_times *t, json_t *metrics);

/* Adds pages_transferred {total, precopy, downtime, postcopy, bytes{...}}
 * from the source's final `query-migrate` reply (its "ram" block). */
int mb_metrics_pages(const json_t *final_query_migrate, json_t *metrics);

/* Adds guest_downtime_ms (longest heartbeat gap overlapping the migration),
 * the split of the switchover's silence (mb_metrics_guest_gap) and
 * degradation (throughput per phase relative to the baseline before
 * `start_us`, and time after RESUME until a window of recovery_window_us
 * is back at >= 95 % of baseline): the windows are the scenario's keys
 * baseline and recovery_window. `counter` selects "written" (dirty
 * workload) or "ops" (compute). */
int mb_metrics_heartbeats(const struct mb_mig_times *t, const struct mb_hb_series *hb,
			  int64_t baseline_us, int64_t recovery_window_us, const char *counter,
			  json_t *metrics);

/* The silence around the switchover, split (the host's arrival stamps and
 * the QMP events; "first" = the first heartbeat to arrive after RESUME, "last"
 * = the one before it):
 *   guest_gap_switchover_ms   last -> first: the silence that holds RESUME
 *   guest_gap_before_stop_ms  last -> source STOP (0 when it came after STOP)
 *   guest_gap_stopped_ms      later of last and STOP -> destination RESUME
 *   guest_gap_after_resume_ms RESUME -> first
 * and, from the guest's own clock (gt=), the last part split again:
 *   guest_gap_after_resume_sent_ms      RESUME -> the guest stamped first
 *   guest_gap_after_resume_in_flight_ms the stamp -> its arrival, beyond the
 *       quickest arrival of the heartbeats that follow
 * The guest's stamp is put on the host's clock with the smallest
 * arrival - stamp of the heartbeats in the second after `first` (the two
 * clocks tick at one rate; the smallest lag is the channel's own); the two
 * are null when those heartbeats are too few or carry no stamp. Nothing is
 * added when no heartbeat arrived after RESUME or none before it. */
void mb_metrics_guest_gap(const struct mb_mig_times *t, const struct mb_hb_series *hb, json_t *metrics);

/* Where a run's heartbeats start: the baseline window before `start_us`
 * and the margin before it (keys baseline, baseline_margin), so that the
 * window's first gap has the heartbeat before it. */
int64_t mb_metrics_heartbeats_from(int64_t start_us, uint64_t baseline_us, uint64_t margin_us);

/* µs -> ms with three decimals, as a JSON real. */
json_t *mb_json_ms(int64_t us);

#endif
