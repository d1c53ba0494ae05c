/* The network client: what a user of the guest's service (workload echo or
 * kv) sees of a migration.
 *
 * An open-loop UDP client runs in a thread of migbench inside the run's
 * network namespace (runners/netns.h): it sends requests at a fixed rate
 * (client_rate, default 1000/s) whatever the replies do, each with its
 * sequence number, and records when each was sent and when its reply came.
 * For kv it sends GETs and PUTs (PUT with probability kv_write_fraction) of
 * uniformly random keys and checks that a GET returns the key it asked for
 * and no version older than one a PUT already had acknowledged.
 *
 * The analysis (pure functions, tested on synthetic traces):
 *
 *  - A request's fate: ok (reply within client_timeout), late (reply after
 *    it), lost (no reply), undecided (sent less than a timeout before the
 *    client stopped listening, no reply yet: left out).
 *  - Outages. Walking the ok requests in sequence order, the time between
 *    the latest arrival of an ok reply so far and the arrival of the next
 *    ok reply is an outage when late or lost requests lie between them, or
 *    when it is longer than the outage gap (mb_nc_gap_us: 10 request
 *    intervals, at least 10 ms). Because the walk is by sequence, a reply
 *    to a request sent before the guest stopped that arrives in the middle
 *    of the silence (it waited in the guest's queue) neither ends nor
 *    splits the outage; outages separated by less than the outage gap of
 *    good service are merged. An outage still running when the client
 *    stopped is `open`.
 *  - client_downtime_ms: the longest outage (or silence) that overlaps the
 *    migration [migrate sent, end of migration]; it may be a stall during
 *    pre-copy rather than the switch-over. client_switchover_outage_ms is
 *    the outage around the source's STOP (the guest's pause as the client
 *    saw it), with its start and end.
 *  - Phases, by a request's send time: before (the baseline: the last
 *    the scenario's `baseline` before `migrate`; earlier requests are the client's
 *    warm-up, in the trace and the outage list only), precopy
 *    [migrate, STOP), downtime [STOP, RESUME), postcopy [RESUME, end of
 *    migration: post-copy's page fetching; ~0 for pre-copy), after.
 *    Per phase: requests by fate, latency percentiles (nearest rank) of the
 *    answered ones, and throughput = requests answered in time per second
 *    (by send time); degradation is each phase's throughput and p99
 *    latency relative to the baseline, and the time after RESUME until a
 *    100 ms window that overlaps no outage receives ok replies at >= 95 %
 *    of the baseline rate.
 *
 * Times in a trace are host realtime µs, the clock of QMP events. */
#ifndef MB_PROBES_NETCLIENT_H
#define MB_PROBES_NETCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bench/error.h"
#include "bench/metrics.h"
#include "probes/probe.h"

/* Client behaviour around one migration (the probe). */
#define MB_NC_WARMUP_US 500000      /* service answering in time this long ... */
#define MB_NC_WARMUP_MAX_US 10000000 /* ... (or this long at most) before the baseline */
/* after the migration at least the key client_after long ... */
#define MB_NC_HEALTHY_US 500000     /* ... and until this long without an outage ... */
#define MB_NC_AFTER_MAX_US 15000000 /* ... but no longer than this */
#define MB_NC_MAX_REQUESTS 4000000  /* the trace stops growing here (stated in the result) */
#define MB_NC_RECOVERY_STEP_US 1000 /* the recovery window (key recovery_window) moves by this */

enum mb_nc_flag {
	MB_NC_WRONG_VALUE = 1,     /* GET returned another key's value */
	MB_NC_STALE = 2,           /* GET returned a version older than an acknowledged PUT */
	MB_NC_ERROR_REPLY = 4,     /* the service answered with a non-OK status */
};

/* One request; its index in the trace is its sequence number. */
struct mb_nc_request {
	int64_t send_us;
	int64_t recv_us;           /* first reply's arrival; 0 = none */
	uint8_t op;                /* MB_SVC_OP_* */
	uint8_t flags;             /* enum mb_nc_flag */
};

struct mb_nc_trace {
	const struct mb_nc_request *req;
	size_t n;
	int64_t timeout_us;
	int64_t end_us;            /* the client stopped listening */
	double rate;               /* requests per second asked for */
	int64_t baseline_us;       /* the window before `migrate` (key baseline) */
	int64_t recovery_window_us; /* key recovery_window */
};

enum mb_nc_fate {
	MB_NC_OK,
	MB_NC_LATE,
	MB_NC_LOST,
	MB_NC_UNDECIDED,
};

enum mb_nc_fate mb_nc_fate(const struct mb_nc_trace *t, size_t seq);
const char *mb_nc_fate_name(enum mb_nc_fate f);

struct mb_nc_outage {
	int64_t start_us;          /* last ok reply before it arrived */
	int64_t end_us;            /* first ok reply after it arrived (open: client stopped) */
	int64_t last_ok_seq;       /* the request of that last reply; -1 = none */
	int64_t resumed_seq;       /* the request of that first reply; -1 = none (open) */
	size_t lost, late;         /* requests between the two */
	bool open;
};

/* The silence that counts as an outage without any lost request. */
int64_t mb_nc_gap_us(double rate);

/* Outages of a trace in time order (*out malloc'd, caller frees). Returns
 * 0, or -1 when out of memory. `longest_gap` (may be NULL) gets the longest
 * outage or silence between ok replies that overlaps [from_us, to_us], 0
 * when none, and `longest_at` (may be NULL) when it began. */
int mb_nc_find_outages(const struct mb_nc_trace *t, int64_t gap_us, struct mb_nc_outage **out,
		       size_t *n, int64_t from_us, int64_t to_us, int64_t *longest_gap, int64_t *longest_at);

/* Nearest-rank percentile (p in (0, 100]) of `n` sorted values; 0 if n=0. */
int64_t mb_nc_percentile(const int64_t *sorted, size_t n, double p);

enum mb_nc_phase {
	MB_NC_BEFORE,
	MB_NC_PRECOPY,
	MB_NC_DOWNTIME,
	MB_NC_POSTCOPY,
	MB_NC_AFTER,
	MB_NC_NPHASES
};

const char *mb_nc_phase_name(enum mb_nc_phase p);

/* The phase of an instant; missing instants (0) end nothing, so a
 * migration that never stopped the guest has no downtime phase. */
enum mb_nc_phase mb_nc_phase_of(const struct mb_mig_times *t, int64_t us);

/* The analysis as JSON: {requests, metrics, degradation, phases, outages,
 * outage_gap_ms, ...}. `metrics` holds the keys that go into the result's
 * metrics, `degradation` what goes under metrics.degradation.client. */
json_t *mb_nc_analyze(const struct mb_nc_trace *t, const struct mb_mig_times *times);

/* The per-request trace as CSV (seq,op,send_ms,recv_ms,latency_ms,fate,
 * phase; times relative to origin_us). Caller frees; NULL when out of
 * memory. */
char *mb_nc_trace_csv(const struct mb_nc_trace *t, const struct mb_mig_times *times,
		      int64_t origin_us, size_t *len);

/* ---- the live client ---------------------------------------------------- */

/* The probe's own scenario keys (probes/netclient.c), parsed for a run. */
struct mb_nc_options {
	unsigned rate;             /* client_rate: requests/s */
	uint64_t timeout_us;       /* client_timeout */
};

struct mb_nc_opts {
	const char *netns_path;    /* /run/netns/NAME to join; NULL = stay */
	const char *addr;          /* the guest: MB_NET_GUEST_ADDR */
	unsigned port;             /* MB_SVC_PORT */
	unsigned rate;             /* requests per second */
	int64_t timeout_us;
	int64_t baseline_us;       /* key baseline: measured before `migrate` */
	int64_t recovery_window_us; /* key recovery_window */
	int64_t after_us;          /* key client_after: asking on after the migration at least */
	bool kv;                   /* GET/PUT; else echo */
	uint64_t kv_slots;         /* keys 0 .. kv_slots - 1 */
	double write_fraction;     /* share of PUTs */
	uint64_t seed;
};

struct mb_netclient;

/* Joins the namespace in a new thread, opens the socket and starts
 * sending. Returns once the first request is out, or -1. */
int mb_netclient_start(const struct mb_nc_opts *o, struct mb_netclient **out, struct mb_err *err);

/* CLOCK_MONOTONIC µs of the latest ok reply; 0 = none yet. */
int64_t mb_netclient_last_ok_mono(struct mb_netclient *c);

/* Stops sending, listens one timeout longer for the last replies, joins the
 * thread. Idempotent. */
void mb_netclient_stop(struct mb_netclient *c);

/* The recorded trace (after stop; valid until free). */
void mb_netclient_trace(struct mb_netclient *c, struct mb_nc_trace *t);

/* The client's own counters as JSON (replies that matched nothing, kv
 * checks, scheduling stalls, realtime priority). */
json_t *mb_netclient_counters(struct mb_netclient *c);

void mb_netclient_free(struct mb_netclient *c);

/* The probe: runs the client around every migration of a guest whose
 * workload is a network service; says why it is not available otherwise. */
extern const struct mb_probe_ops mb_probe_netclient;

#endif
