/* The network client and its analysis (see netclient.h). */
#define _GNU_SOURCE /* setns, ppoll */
#include "config.h"
#include "probes/netclient.h"
#include "bench/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/scenario.h"
#include "runners/guest.h"
#include "workloads/svc_proto.h"

/* ---- fates, outages, percentiles ------------------------------------------ */

enum mb_nc_fate mb_nc_fate(const struct mb_nc_trace *t, size_t seq)
{
	const struct mb_nc_request *r = &t->req[seq];

	if (r->recv_us)
		return r->recv_us - r->send_us <= t->timeout_us ? MB_NC_OK : MB_NC_LATE;
	if (t->end_us && r->send_us + t->timeout_us > t->end_us)
		return MB_NC_UNDECIDED;
	return MB_NC_LOST;
}

const char *mb_nc_fate_name(enum mb_nc_fate f)
{
	static const char *const names[] = { "ok", "late", "lost", "undecided" };

	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

int64_t mb_nc_gap_us(double rate)
{
	int64_t ten_intervals = rate > 0 ? (int64_t)llround(10e6 / rate) : 0;

	return ten_intervals > 10000 ? ten_intervals : 10000;
}

struct outages {
	struct mb_nc_outage *v;
	size_t n, cap;
};

static int push_outage(struct outages *o, const struct mb_nc_outage *x)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct mb_nc_outage *v = realloc(o->v, cap * sizeof(*v));

		if (!v)
			return -1;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = *x;
	return 0;
}

static bool overlaps(int64_t a, int64_t b, int64_t from, int64_t to)
{
	return b >= from && a <= to;
}

int mb_nc_find_outages(const struct mb_nc_trace *t, int64_t gap_us, struct mb_nc_outage **out,
		       size_t *n, int64_t from_us, int64_t to_us, int64_t *longest_gap, int64_t *longest_at)
{
	struct outages raw = { 0 };
	int64_t latest = 0, last_ok = -1, first_bad_send = 0, longest = 0, longest_start = 0;
	size_t lost = 0, late = 0, merged = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < t->n; i++) {
		enum mb_nc_fate f = mb_nc_fate(t, i);
		int64_t r;

		if (f == MB_NC_LOST || f == MB_NC_LATE) {
			if (!lost && !late)
				first_bad_send = t->req[i].send_us;
			if (f == MB_NC_LOST)
				lost++;
			else
				late++;
			continue;
		}
		if (f != MB_NC_OK)
			continue;
		r = t->req[i].recv_us;
		if (last_ok < 0) {
			/* Nothing answered before: the outage began with the
			 * first request that went unanswered. */
			if (lost || late) {
				struct mb_nc_outage o = { .start_us = first_bad_send, .end_us = r, .last_ok_seq = -1,
							  .resumed_seq = (int64_t)i, .lost = lost, .late = late };

				if (push_outage(&raw, &o))
					goto oom;
				if (overlaps(o.start_us, o.end_us, from_us, to_us) && r - o.start_us > longest) {
					longest = r - o.start_us;
					longest_start = o.start_us;
				}
			}
		} else if (r > latest) {
			int64_t gap = r - latest;

			if (overlaps(latest, r, from_us, to_us) && gap > longest) {
				longest = gap;
				longest_start = latest;
			}
			if (lost || late || gap > gap_us) {
				struct mb_nc_outage o = { .start_us = latest, .end_us = r, .last_ok_seq = last_ok,
							  .resumed_seq = (int64_t)i, .lost = lost, .late = late };

				if (push_outage(&raw, &o))
					goto oom;
			}
		}
		/* A reply that overtook an earlier one (r <= latest) ends no
		 * silence; requests lost before it still count in the totals. */
		if (r > latest)
			latest = r;
		last_ok = (int64_t)i;
		lost = late = 0;
	}
	if (lost || late) {
		struct mb_nc_outage o = { .start_us = last_ok >= 0 ? latest : first_bad_send, .last_ok_seq = last_ok,
					  .resumed_seq = -1, .lost = lost, .late = late, .open = true };

		o.end_us = t->end_us > o.start_us ? t->end_us : o.start_us;
		if (push_outage(&raw, &o))
			goto oom;
		if (overlaps(o.start_us, o.end_us, from_us, to_us) && o.end_us - o.start_us > longest) {
			longest = o.end_us - o.start_us;
			longest_start = o.start_us;
		}
	}

	/* Less good service than one outage gap between two outages is no
	 * recovery: they are one. */
	for (size_t i = 0; i < raw.n; i++) {
		struct mb_nc_outage *cur = merged ? &raw.v[merged - 1] : NULL;
		const struct mb_nc_outage *next = &raw.v[i];

		if (cur && next->start_us - cur->end_us < gap_us) {
			if (next->end_us > cur->end_us)
				cur->end_us = next->end_us;
			cur->resumed_seq = next->resumed_seq;
			cur->lost += next->lost;
			cur->late += next->late;
			cur->open = next->open;
		} else {
			raw.v[merged++] = *next;
		}
	}
	for (size_t i = 0; i < merged; i++)
		if (overlaps(raw.v[i].start_us, raw.v[i].end_us, from_us, to_us) &&
		    raw.v[i].end_us - raw.v[i].start_us > longest) {
			longest = raw.v[i].end_us - raw.v[i].start_us;
			longest_start = raw.v[i].start_us;
		}
	if (longest_gap)
		*longest_gap = longest;
	if (longest_at)
		*longest_at = longest_start;
	*out = raw.v;
	*n = merged;
	return 0;
oom:
	free(raw.v);
	return -1;
}

int64_t mb_nc_percentile(const int64_t *sorted, size_t n, double p)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

/* ---- phases ---------------------------------------------------------------- */

const char *mb_nc_phase_name(enum mb_nc_phase p)
{
	static const char *const names[] = { "before", "precopy", "downtime", "postcopy", "after" };

	return (unsigned)p < MB_NC_NPHASES ? names[p] : "?";
}

/* b[k] is where phase k starts; b[NPHASES] = never. A missing instant, and
 * everything after it, is "never". */
static void phase_bounds(const struct mb_mig_times *t, int64_t b[MB_NC_NPHASES + 1])
{
	int64_t end = mb_mig_end_us(t);

	b[MB_NC_BEFORE] = INT64_MIN;
	b[MB_NC_PRECOPY] = t->start_us ? t->start_us : INT64_MAX;
	b[MB_NC_DOWNTIME] = t->src_stop_us ? t->src_stop_us : INT64_MAX;
	b[MB_NC_POSTCOPY] = t->dst_resume_us ? t->dst_resume_us : INT64_MAX;
	b[MB_NC_AFTER] = t->dst_resume_us && end ? end : INT64_MAX;
	b[MB_NC_NPHASES] = INT64_MAX;
	for (int k = 1; k <= MB_NC_NPHASES; k++)
		if (b[k] < b[k - 1] || b[k - 1] == INT64_MAX)
			b[k] = b[k - 1] == INT64_MAX ? INT64_MAX : b[k - 1];
}

enum mb_nc_phase mb_nc_phase_of(const struct mb_mig_times *t, int64_t us)
{
	int64_t b[MB_NC_NPHASES + 1];
	int k;

	phase_bounds(t, b);
	for (k = MB_NC_NPHASES - 1; k > 0; k--)
		if (b[k] != INT64_MAX && us >= b[k])
			break;
	return (enum mb_nc_phase)k;
}

/* ---- the analysis ---------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static json_t *latency_json(int64_t *lat, size_t n)
{
	qsort(lat, n, sizeof(*lat), cmp_i64);
	if (!n)
		return json_pack("{s:i, s:n, s:n, s:n, s:n}", "n", 0, "p50", "p99", "p99_9", "max");
	return json_pack("{s:I, s:o, s:o, s:o, s:o}", "n", (json_int_t)n,
			 "p50", mb_json_ms(mb_nc_percentile(lat, n, 50)),
			 "p99", mb_json_ms(mb_nc_percentile(lat, n, 99)),
			 "p99_9", mb_json_ms(mb_nc_percentile(lat, n, 99.9)),
			 "max", mb_json_ms(lat[n - 1]));
}

static json_t *ratio_or_null(double v, double base)
{
	if (isnan(v) || isnan(base) || base <= 0)
		return json_null();
	return json_real(v / base);
}

/* How many of the `n` sorted values are below `us`. */
static size_t count_below(const int64_t *sorted, size_t n, int64_t us)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sorted[mid] < us)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Time after RESUME until the client is served as before: the first window
 * of `window` (key recovery_window) that overlaps no outage and in which ok
 * replies arrive at >= 95 % of the baseline rate. The outage condition
 * keeps the burst of replies that waited through the pause from counting
 * as recovered service. -1 when it never is (before the client stopped). */
static int64_t recovery_us(const int64_t *arrivals, size_t narrivals, const struct mb_nc_outage *o, size_t no,
			   int64_t resume, int64_t until, double baseline, int64_t window)
{
	double need = 0.95 * baseline * (double)window / 1e6;
	size_t k = 0;

	for (int64_t a = resume; a + window <= until; a += MB_NC_RECOVERY_STEP_US) {
		int64_t b = a + window;
		bool clear = true;

		while (k < no && o[k].end_us <= a)
			k++;
		for (size_t j = k; j < no && o[j].start_us < b; j++)
			if (o[j].end_us > a) {
				clear = false;
				break;
			}
		if (clear && (double)(count_below(arrivals, narrivals, b) - count_below(arrivals, narrivals, a)) >= need)
			return a - resume;
	}
	return -1;
}

json_t *mb_nc_analyze(const struct mb_nc_trace *t, const struct mb_mig_times *times)
{
	int64_t b[MB_NC_NPHASES + 1], origin, first_send, last_decided, mig_end = mb_mig_end_us(times);
	int64_t gap_us = mb_nc_gap_us(t->rate), longest = 0, *lat[MB_NC_NPHASES] = { 0 };
	size_t nlat[MB_NC_NPHASES] = { 0 }, count[MB_NC_NPHASES][4] = { { 0 } }, total[4] = { 0 };
	size_t noutages = 0, counted = 0, baseline_outages = 0, narrivals = 0, warmup = 0;
	int64_t *arrivals = NULL;
	const struct mb_nc_outage *switchover = NULL;
	struct mb_nc_outage *outages = NULL;
	double throughput[MB_NC_NPHASES], p99[MB_NC_NPHASES], baseline;
	int64_t outage_total = 0, longest_start = 0;
	json_t *doc = NULL, *metrics, *phases, *lat_metrics, *deg, *deg_phases, *list, *requests;

	phase_bounds(times, b);
	first_send = t->n ? t->req[0].send_us : 0;
	origin = times->start_us ? times->start_us : first_send;
	/* The baseline is the scenario's `baseline` before `migrate`; what
	 * the client sent earlier warmed the path up (ARP, the guest's first
	 * packets under TCG) and stays out of the phases. */
	if (times->start_us && t->baseline_us && first_send < times->start_us - t->baseline_us)
		first_send = times->start_us - t->baseline_us;
	/* The last request whose fate is known. */
	last_decided = t->n ? t->req[t->n - 1].send_us : 0;
	if (t->end_us && t->end_us - t->timeout_us < last_decided)
		last_decided = t->end_us - t->timeout_us;

	arrivals = malloc((t->n ? t->n : 1) * sizeof(*arrivals));
	for (int k = 0; k < MB_NC_NPHASES; k++)
		lat[k] = malloc((t->n ? t->n : 1) * sizeof(int64_t));
	for (int k = 0; k < MB_NC_NPHASES; k++)
		if (!lat[k])
			goto out;
	if (!arrivals)
		goto out;

	for (size_t i = 0; i < t->n; i++) {
		const struct mb_nc_request *r = &t->req[i];
		enum mb_nc_fate f = mb_nc_fate(t, i);
		enum mb_nc_phase ph = mb_nc_phase_of(times, r->send_us);

		if (r->send_us < first_send) {
			warmup++;
			continue;
		}
		count[ph][f]++;
		total[f]++;
		if (f == MB_NC_OK)
			arrivals[narrivals++] = r->recv_us;
		if (r->recv_us)
			lat[ph][nlat[ph]++] = r->recv_us - r->send_us;
	}

	/* Migration window for client_downtime_ms: migrate .. end (or, for a
	 * migration that did not complete, until the client stopped). */
	if (mb_nc_find_outages(t, gap_us, &outages, &noutages, times->start_us ? times->start_us : INT64_MIN,
			       mig_end ? mig_end : (t->end_us ? t->end_us : INT64_MAX), &longest, &longest_start))
		goto out;

	qsort(arrivals, narrivals, sizeof(*arrivals), cmp_i64);

	doc = json_object();
	list = json_array();
	for (size_t i = 0; i < noutages; i++) {
		const struct mb_nc_outage *o = &outages[i];
		int64_t d = o->end_us - o->start_us;
		/* The guest's pause as the client saw it: the outage around STOP
		 * (or, if service held up to STOP, the first one after it). */
		bool at_stop = times->src_stop_us && o->end_us >= times->src_stop_us &&
			       (o->start_us <= times->src_stop_us ||
				(times->dst_resume_us && o->start_us <= times->dst_resume_us));

		if (at_stop && !switchover)
			switchover = o;
		json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:b}",
			"start_ms", mb_json_ms(o->start_us - origin), "end_ms", mb_json_ms(o->end_us - origin),
			"duration_ms", mb_json_ms(d),
			"phase_start", mb_nc_phase_name(mb_nc_phase_of(times, o->start_us)),
			"phase_end", mb_nc_phase_name(mb_nc_phase_of(times, o->end_us)),
			"last_ok_seq", (json_int_t)o->last_ok_seq, "resumed_seq", (json_int_t)o->resumed_seq,
			"lost", (json_int_t)o->lost, "late", (json_int_t)o->late, "open", o->open,
			"switchover", switchover == o));
		/* Outages wholly before `migrate` are the host's noise (or the
		 * warm-up), not the migration's: counted apart. */
		if (times->start_us && o->end_us < times->start_us) {
			baseline_outages++;
			continue;
		}
		counted++;
		outage_total += d;
	}

	/* Per phase: what was sent when, and what came of it. */
	phases = json_object();
	lat_metrics = json_object();
	for (int k = 0; k < MB_NC_NPHASES; k++) {
		int64_t lo = b[k] == INT64_MIN ? first_send : b[k], hi = b[k + 1] == INT64_MAX ? last_decided : b[k + 1];
		int64_t duration;
		size_t sent;
		json_t *latency;

		if (lo < first_send)
			lo = first_send;
		if (hi > last_decided)
			hi = last_decided;
		duration = hi > lo ? hi - lo : 0;
		/* A phase in which nothing was sent (pre-copy's instant between
		 * RESUME and completion) has no throughput, not zero. */
		sent = count[k][0] + count[k][1] + count[k][2] + count[k][3];
		throughput[k] = duration > 0 && sent ? (double)count[k][MB_NC_OK] * 1e6 / (double)duration : NAN;
		latency = latency_json(lat[k], nlat[k]);
		p99[k] = nlat[k] ? (double)mb_nc_percentile(lat[k], nlat[k], 99) : NAN;
		json_object_set(lat_metrics, mb_nc_phase_name(k), latency);
		json_object_set_new(phases, mb_nc_phase_name(k), json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:o, s:o}",
			"start_ms", duration > 0 ? mb_json_ms(lo - origin) : json_null(),
			"duration_ms", mb_json_ms(duration),
			"sent", (json_int_t)sent,
			"ok", (json_int_t)count[k][MB_NC_OK], "late", (json_int_t)count[k][MB_NC_LATE],
			"lost", (json_int_t)count[k][MB_NC_LOST],
			"throughput_per_s", isnan(throughput[k]) ? json_null() : json_real(throughput[k]),
			"latency_ms", latency));
	}

	metrics = json_pack("{s:o, s:o, s:I, s:o, s:I, s:I, s:o}",
			    "client_downtime_ms", t->n ? mb_json_ms(longest) : json_null(),
			    "client_downtime_start_ms", longest_start ? mb_json_ms(longest_start - origin) : json_null(),
			    "client_outages", (json_int_t)counted,
			    "client_outage_total_ms", mb_json_ms(outage_total),
			    "client_requests_lost", (json_int_t)total[MB_NC_LOST],
			    "client_requests_late", (json_int_t)total[MB_NC_LATE],
			    "client_latency_ms", lat_metrics);
	json_object_set_new(metrics, "client_switchover_outage_ms",
			    switchover ? mb_json_ms(switchover->end_us - switchover->start_us) : json_null());
	json_object_set_new(metrics, "client_switchover_outage_start_ms",
			    switchover ? mb_json_ms(switchover->start_us - origin) : json_null());
	json_object_set_new(metrics, "client_switchover_outage_end_ms",
			    switchover ? mb_json_ms(switchover->end_us - origin) : json_null());

	/* Degradation: throughput (ok requests/s) and p99 latency per phase
	 * against the baseline, and the recovery after RESUME. */
	baseline = throughput[MB_NC_BEFORE];
	deg_phases = json_object();
	for (int k = MB_NC_PRECOPY; k < MB_NC_NPHASES; k++)
		json_object_set_new(deg_phases, mb_nc_phase_name(k), json_pack("{s:o, s:o, s:o}",
			"throughput_per_s", isnan(throughput[k]) ? json_null() : json_real(throughput[k]),
			"ratio", ratio_or_null(throughput[k], baseline),
			"latency_p99_ratio", ratio_or_null(p99[k], p99[MB_NC_BEFORE])));
	{
		json_t *recovery = json_null();

		if (times->dst_resume_us && !isnan(baseline) && baseline > 0 && t->recovery_window_us > 0) {
			int64_t rec = recovery_us(arrivals, narrivals, outages, noutages, times->dst_resume_us,
						  narrivals ? arrivals[narrivals - 1] : 0, baseline,
						  t->recovery_window_us);

			if (rec >= 0) {
				json_decref(recovery);
				recovery = mb_json_ms(rec);
			}
		}
		deg = json_pack("{s:s, s:o, s:o, s:o, s:o}", "counter", "requests answered in time per second",
				"baseline_per_s", isnan(baseline) ? json_null() : json_real(baseline),
				"baseline_latency_p99_ms", isnan(p99[MB_NC_BEFORE]) ? json_null()
						: mb_json_ms((int64_t)p99[MB_NC_BEFORE]),
				"phases", deg_phases, "recovery_to_95pct_ms", recovery);
	}

	requests = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "sent", (json_int_t)t->n,
			     "warmup", (json_int_t)warmup,
			     "ok", (json_int_t)total[MB_NC_OK], "late", (json_int_t)total[MB_NC_LATE],
			     "lost", (json_int_t)total[MB_NC_LOST], "undecided", (json_int_t)total[MB_NC_UNDECIDED]);
	json_object_set_new(doc, "time_origin", json_string(times->start_us ? "migrate sent (metrics' start)"
									  : "first request"));
	json_object_set_new(doc, "origin_real_us", json_integer(origin));
	json_object_set_new(doc, "outage_gap_ms", mb_json_ms(gap_us));
	json_object_set_new(doc, "requests", requests);
	json_object_set_new(doc, "metrics", metrics);
	json_object_set_new(doc, "degradation", deg);
	json_object_set_new(doc, "phases", phases);
	json_object_set_new(doc, "outages", list);
	json_object_set_new(doc, "baseline_outages", json_integer((json_int_t)baseline_outages));
out:
	free(outages);
	free(arrivals);
	for (int k = 0; k < MB_NC_NPHASES; k++)
		free(lat[k]);
	return doc;
}

char *mb_nc_trace_csv(const struct mb_nc_trace *t, const struct mb_mig_times *times, int64_t origin_us,
		      size_t *len)
{
	static const char *const ops[] = { "?", "echo", "get", "put" };
	size_t cap = 128 + t->n * 64, used;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	used = (size_t)snprintf(buf, cap, "seq,op,send_ms,recv_ms,latency_ms,fate,phase\n");
	for (size_t i = 0; i < t->n; i++) {
		const struct mb_nc_request *r = &t->req[i];
		char recv[32] = "", latency[32] = "";
		int n;

		if (r->recv_us) {
			snprintf(recv, sizeof(recv), "%.3f", (double)(r->recv_us - origin_us) / 1000.0);
			snprintf(latency, sizeof(latency), "%.3f", (double)(r->recv_us - r->send_us) / 1000.0);
		}
		if (cap - used < 160) {
			char *grown = realloc(buf, cap * 2);

			if (!grown) {
				free(buf);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
		n = snprintf(buf + used, cap - used, "%zu,%s,%.3f,%s,%s,%s,%s\n", i, ops[r->op < 4 ? r->op : 0],
			     (double)(r->send_us - origin_us) / 1000.0, recv, latency,
			     mb_nc_fate_name(mb_nc_fate(t, i)), mb_nc_phase_name(mb_nc_phase_of(times, r->send_us)));
		used += (size_t)n;
	}
	*len = used;
	return buf;
}

/* ---- the live client --------------------------------------------------------- */

struct live_req {
	int64_t send_ns, recv_ns;   /* CLOCK_MONOTONIC */
	uint64_t key;
	uint64_t min_version;       /* GET: newest acknowledged PUT of the key when sent */
	uint8_t op, flags;
};

struct mb_netclient {
	struct mb_nc_opts o;
	char addr[64];
	char netns_path[PATH_MAX];
	pthread_t thread;
	bool running;               /* thread not joined yet */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready;                  /* 0 starting, 1 sending, -1 failed */
	char error[MB_ERR_MAX];
	_Atomic bool stop_sending;
	_Atomic int64_t last_ok_mono_us;

	struct live_req *req;
	size_t n, cap;
	bool truncated;
	uint64_t *acked;            /* kv: newest acknowledged version per key */
	uint64_t rng;
	int64_t real_minus_mono_us;
	int64_t end_ns;
	size_t unmatched, duplicates, send_errors, stalls, wrong_value, stale, error_replies;
	bool realtime;
	char realtime_why[128];
	struct mb_nc_request *trace;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t next_random(uint64_t *s)
{
	/* xorshift64*: plenty for choosing keys and operations. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void send_request(struct mb_netclient *c, int fd, int64_t now)
{
	unsigned char buf[MB_SVC_HEADER_SIZE + MB_SVC_VALUE_SIZE] = { 0 };
	struct mb_svc_header h = { .magic = MB_SVC_MAGIC, .seq = c->n };
	struct live_req *r;
	size_t len = MB_SVC_HEADER_SIZE;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 65536;
		struct live_req *v;

		if (cap > MB_NC_MAX_REQUESTS)
			cap = MB_NC_MAX_REQUESTS;
		if (c->n >= cap || !(v = realloc(c->req, cap * sizeof(*v)))) {
			c->truncated = true;
			return;
		}
		c->req = v;
		c->cap = cap;
	}
	r = &c->req[c->n];
	*r = (struct live_req){ .send_ns = now };
	if (!c->o.kv) {
		h.op = MB_SVC_OP_ECHO;
		h.value_len = MB_SVC_ECHO_PAYLOAD;
		memset(buf + MB_SVC_HEADER_SIZE, 0xa5, MB_SVC_ECHO_PAYLOAD);
		len += MB_SVC_ECHO_PAYLOAD;
	} else {
		h.key = r->key = next_random(&c->rng) % c->o.kv_slots;
		if ((double)(next_random(&c->rng) >> 11) * 0x1.0p-53 < c->o.write_fraction) {
			h.op = MB_SVC_OP_PUT;
			h.version = c->n + 1; /* 0 is the store's initial version */
			h.value_len = MB_SVC_VALUE_SIZE;
			mb_svc_fill_value(buf + MB_SVC_HEADER_SIZE, h.key, h.version);
			len += MB_SVC_VALUE_SIZE;
		} else {
			h.op = MB_SVC_OP_GET;
			r->min_version = c->acked[h.key];
		}
	}
	r->op = h.op;
	mb_svc_put_header(buf, &h);
	c->n++;
	/* A request that cannot leave (no route yet, buffer full) is one the
	 * service never answers: it stays in the trace as lost. */
	if (send(fd, buf, len, MSG_DONTWAIT) < 0)
		c->send_errors++;
}

static void take_reply(struct mb_netclient *c, const unsigned char *buf, size_t len, int64_t now)
{
	struct mb_svc_header h;
	struct live_req *r;
	uint64_t key, version;

	if (mb_svc_get_header(buf, len, &h) || h.seq >= c->n) {
		c->unmatched++;
		return;
	}
	r = &c->req[h.seq];
	if (r->recv_ns) {
		c->duplicates++;
		return;
	}
	r->recv_ns = now;
	if (h.status != MB_SVC_OK) {
		r->flags |= MB_NC_ERROR_REPLY;
		c->error_replies++;
	} else if (r->op == MB_SVC_OP_PUT) {
		if (h.key < c->o.kv_slots && c->acked[h.key] < h.version)
			c->acked[h.key] = h.version;
	} else if (r->op == MB_SVC_OP_GET) {
		if (len < MB_SVC_HEADER_SIZE + MB_SVC_VALUE_SIZE) {
			r->flags |= MB_NC_WRONG_VALUE;
			c->wrong_value++;
		} else {
			mb_svc_value_id(buf + MB_SVC_HEADER_SIZE, &key, &version);
			if (key != r->key || h.key != r->key) {
				r->flags |= MB_NC_WRONG_VALUE;
				c->wrong_value++;
			} else if (version < r->min_version) {
				r->flags |= MB_NC_STALE;
				c->stale++;
			}
		}
	}
	if (now - r->send_ns <= c->o.timeout_us * 1000)
		atomic_store_explicit(&c->last_ok_mono_us, now / 1000, memory_order_relaxed);
}

static void drain(struct mb_netclient *c, int fd)
{
	unsigned char buf[MB_SVC_MAX_DATAGRAM];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			/* ECONNREFUSED and friends: ICMP about an earlier request. */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno != EINTR && errno != ECONNREFUSED && errno != EHOSTUNREACH)
				return;
			continue;
		}
		take_reply(c, buf, (size_t)n, mono_ns());
	}
}

static void set_ready(struct mb_netclient *c, int ready)
{
	pthread_mutex_lock(&c->lock);
	c->ready = ready;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void *client_main(void *arg)
{
	struct mb_netclient *c = arg;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->o.port) };
	struct sched_param param = { .sched_priority = 1 };
	int64_t interval_ns = 1000000000 / (int64_t)c->o.rate, next, now;
	int fd = -1, buf = 4 << 20, err;
	bool ended = false;

	if (c->netns_path[0]) {
		int ns = open(c->netns_path, O_RDONLY | O_CLOEXEC);

		/* This thread only: setns(CLONE_NEWNET) is per thread. */
		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
			snprintf(c->error, sizeof(c->error), "cannot join network namespace %s: %s", c->netns_path,
				 strerror(errno));
			if (ns >= 0)
				close(ns);
			set_ready(c, -1);
			return NULL;
		}
		close(ns);
	}
	if (inet_pton(AF_INET, c->addr, &to.sin_addr) != 1) {
		snprintf(c->error, sizeof(c->error), "'%s' is not an IPv4 address", c->addr);
		set_ready(c, -1);
		return NULL;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		snprintf(c->error, sizeof(c->error), "UDP socket to %s:%u: %s", c->addr, c->o.port, strerror(errno));
		if (fd >= 0)
			close(fd);
		set_ready(c, -1);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	/* The lowest real-time priority: enough that the guests' TCG threads
	 * on a small host do not delay sends and receive stamps. */
	err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
	c->realtime = !err;
	if (err)
		snprintf(c->realtime_why, sizeof(c->realtime_why), "SCHED_FIFO: %s", strerror(err));

	c->real_minus_mono_us = (real_ns() - mono_ns()) / 1000;
	next = mono_ns();
	set_ready(c, 1);
	for (;;) {
		struct timespec wait;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t deadline;

		now = mono_ns();
		if (!atomic_load(&c->stop_sending) && !c->truncated) {
			if (now >= next) {
				/* Far behind (this thread was not scheduled): no
				 * burst of catch-up requests, which would be
				 * load nobody asked for. */
				if (now - next > 50000000) {
					c->stalls++;
					next = now;
				}
				send_request(c, fd, now);
				next += interval_ns;
				drain(c, fd);
				continue;
			}
			deadline = next;
		} else {
			if (!ended) {
				c->end_ns = now + c->o.timeout_us * 1000;
				ended = true;
			}
			if (now >= c->end_ns)
				break;
			deadline = c->end_ns;
		}
		wait = (struct timespec){ .tv_sec = (deadline - now) / 1000000000,
					  .tv_nsec = (deadline - now) % 1000000000 };
		if (ppoll(&pfd, 1, &wait, NULL) > 0)
			drain(c, fd);
	}
	drain(c, fd);
	close(fd);
	return NULL;
}

int mb_netclient_start(const struct mb_nc_opts *o, struct mb_netclient **out, struct mb_err *err)
{
	struct mb_netclient *c;
	int rc;

	*out = NULL;
	if (!o->rate || o->timeout_us <= 0 || (o->kv && !o->kv_slots))
		return mb_errf(err, EINVAL, "network client: bad options (rate %u, timeout %lld us, %llu keys)",
			       o->rate, (long long)o->timeout_us, (unsigned long long)o->kv_slots);
	c = calloc(1, sizeof(*c));
	if (!c)
		return mb_errf(err, ENOMEM, "network client");
	c->o = *o;
	snprintf(c->addr, sizeof(c->addr), "%s", o->addr ? o->addr : MB_NET_GUEST_ADDR);
	snprintf(c->netns_path, sizeof(c->netns_path), "%s", o->netns_path ? o->netns_path : "");
	c->rng = o->seed ? o->seed : 0x9e3779b97f4a7c15ull;
	if (o->kv && !(c->acked = calloc(o->kv_slots, sizeof(*c->acked)))) {
		free(c);
		return mb_errf(err, ENOMEM, "network client: %llu keys", (unsigned long long)o->kv_slots);
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	rc = pthread_create(&c->thread, NULL, client_main, c);
	if (rc) {
		free(c->acked);
		free(c);
		return mb_errf(err, rc, "network client: thread");
	}
	c->running = true;
	pthread_mutex_lock(&c->lock);
	while (!c->ready)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (c->ready < 0) {
		mb_errf(err, 0, "network client: %s", c->error);
		mb_netclient_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int64_t mb_netclient_last_ok_mono(struct mb_netclient *c)
{
	return atomic_load_explicit(&c->last_ok_mono_us, memory_order_relaxed);
}

void mb_netclient_stop(struct mb_netclient *c)
{
	if (!c || !c->running)
		return;
	atomic_store(&c->stop_sending, true);
	pthread_join(c->thread, NULL);
	c->running = false;
}

void mb_netclient_trace(struct mb_netclient *c, struct mb_nc_trace *t)
{
	mb_netclient_stop(c);
	if (!c->trace && c->n) {
		c->trace = calloc(c->n, sizeof(*c->trace));
		for (size_t i = 0; c->trace && i < c->n; i++)
			c->trace[i] = (struct mb_nc_request){
				.send_us = c->req[i].send_ns / 1000 + c->real_minus_mono_us,
				.recv_us = c->req[i].recv_ns ? c->req[i].recv_ns / 1000 + c->real_minus_mono_us : 0,
				.op = c->req[i].op,
				.flags = c->req[i].flags,
			};
	}
	*t = (struct mb_nc_trace){
		.req = c->trace,
		.n = c->trace ? c->n : 0,
		.timeout_us = c->o.timeout_us,
		.baseline_us = c->o.baseline_us,
		.recovery_window_us = c->o.recovery_window_us,
		.end_us = c->end_ns ? c->end_ns / 1000 + c->real_minus_mono_us : 0,
		.rate = c->o.rate,
	};
}

json_t *mb_netclient_counters(struct mb_netclient *c)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:b, s:b}",
			      "unmatched_replies", (json_int_t)c->unmatched,
			      "duplicate_replies", (json_int_t)c->duplicates,
			      "send_errors", (json_int_t)c->send_errors,
			      "scheduling_stalls", (json_int_t)c->stalls,
			      "truncated", c->truncated, "realtime", c->realtime);

	if (!c->realtime)
		json_object_set_new(o, "realtime_why", json_string(c->realtime_why));
	json_object_set_new(o, "error_replies", json_integer((json_int_t)c->error_replies));
	if (c->o.kv) {
		json_object_set_new(o, "kv_wrong_values", json_integer((json_int_t)c->wrong_value));
		json_object_set_new(o, "kv_stale_reads", json_integer((json_int_t)c->stale));
	}
	return o;
}

void mb_netclient_free(struct mb_netclient *c)
{
	if (!c)
		return;
	mb_netclient_stop(c);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->trace);
	free(c->req);
	free(c->acked);
	free(c);
}

/* ---- the probe ----------------------------------------------------------------- */

struct nc_probe {
	struct mb_netclient *client;
	struct mb_nc_opts opts;
	char netns[PATH_MAX];
	const char *service;
	json_t *headline;       /* {metrics, degradation} of to_json, for nc_metrics */
};

static int64_t mono_us(void)
{
	return mono_ns() / 1000;
}

/* Waits until ok replies have kept coming (no silence longer than `gap`)
 * for `healthy_us`, but at least `min_us` and at most `max_us`. */
static void wait_healthy_for(struct mb_netclient *c, int64_t gap, int64_t healthy_us, int64_t min_us,
			     int64_t max_us)
{
	int64_t t0 = mono_us(), healthy_since = 0;

	for (;;) {
		int64_t now = mono_us(), last_ok = mb_netclient_last_ok_mono(c);

		if (last_ok && now - last_ok <= gap) {
			if (!healthy_since)
				healthy_since = now;
		} else {
			healthy_since = 0;
		}
		if (now - t0 >= max_us || (now - t0 >= min_us && healthy_since && now - healthy_since >= healthy_us))
			return;
		mb_sleep_us(gap / 2);
	}
}

static void wait_healthy(struct mb_netclient *c, int64_t gap, int64_t healthy_us, int64_t max_us)
{
	wait_healthy_for(c, gap, healthy_us, 0, max_us);
}

static int nc_start(void **state, const struct mb_probe_ctx *ctx, struct mb_err *err)
{
	const struct mb_params *p = &ctx->spec->params;
	const struct mb_nc_options *mine = ctx->options;     /* client_rate, client_timeout */
	struct nc_probe *s;
	int64_t t0;

	*state = NULL;
	if (!mb_workload_has_net(p->workload))
		return mb_errf(err, 0, "workload=%s runs no network service (workload=echo or kv does)",
			       mb_keys[MB_KEY_WORKLOAD].choices[p->workload]);
	if (!ctx->netns || !*ctx->netns)
		return mb_errf(err, 0, "the runner gave the client no network namespace");
	s = calloc(1, sizeof(*s));
	if (!s)
		return mb_errf(err, ENOMEM, "network client");
	snprintf(s->netns, sizeof(s->netns), "%s", ctx->netns);
	s->service = mb_keys[MB_KEY_WORKLOAD].choices[p->workload];
	s->opts = (struct mb_nc_opts){
		.netns_path = s->netns,
		.addr = MB_NET_GUEST_ADDR,
		.port = MB_SVC_PORT,
		.rate = mine->rate,
		.timeout_us = (int64_t)mine->timeout_us,
		.baseline_us = (int64_t)p->baseline_us,
		.recovery_window_us = (int64_t)p->recovery_window_us,
		.after_us = (int64_t)p->client_after_us,
		/* what the guest serves, from the one workload description */
		.kv = mb_workload_desc(p->workload) && !strcmp(mb_workload_desc(p->workload)->svc, "kv"),
		.kv_slots = p->kv_size / MB_SVC_VALUE_SIZE,
		.write_fraction = p->kv_write_fraction,
		.seed = 0x6d6967626e636821ull ^ ((uint64_t)ctx->spec->repetition << 32),
	};
	if (mb_netclient_start(&s->opts, &s->client, err)) {
		free(s);
		return -1;
	}
	/* Warm-up: until the service has answered in time for a while (the
	 * first requests wait for ARP, and a TCG guest translates its network
	 * path on first use), at most MB_NC_WARMUP_MAX_US; then the baseline
	 * before `migrate` (the runner may have no idle time left before a
	 * repetition's migration). */
	wait_healthy(s->client, mb_nc_gap_us(s->opts.rate), MB_NC_WARMUP_US, MB_NC_WARMUP_MAX_US);
	t0 = mono_us();
	mb_sleep_us(t0 + s->opts.baseline_us - mono_us());
	*state = s;
	return 0;
}

static int nc_stop(void *state, struct mb_err *err)
{
	struct nc_probe *s = state;

	/* Keep asking after the migration: the outage may outlast it (the
	 * bridge learns the new port only from the announce), and the
	 * `after` phase needs service to compare with the baseline. */
	wait_healthy_for(s->client, mb_nc_gap_us(s->opts.rate), MB_NC_HEALTHY_US, s->opts.after_us,
			 MB_NC_AFTER_MAX_US);
	mb_netclient_stop(s->client);
	return 0;
}

static json_t *nc_to_json(void *state, const struct mb_mig_times *times)
{
	struct nc_probe *s = state;
	struct mb_nc_trace t;
	json_t *doc;
	char *csv;
	size_t len = 0;

	mb_netclient_trace(s->client, &t);
	doc = mb_nc_analyze(&t, times);
	if (!doc)
		return json_pack("{s:b, s:s}", "available", 0, "reason", "out of memory analysing the client's trace");
	json_object_set_new(doc, "available", json_true());
	/* The headline figures for nc_metrics: the result's metrics. */
	json_decref(s->headline);
	s->headline = json_pack("{s:O?, s:O?}", "metrics", json_object_get(doc, "metrics"),
				"degradation", json_object_get(doc, "degradation"));
	json_object_set_new(doc, "service", json_string(s->service));
	json_object_set_new(doc, "target", json_pack("{s:s, s:i}", "address", s->opts.addr, "port", (int)s->opts.port));
	json_object_set_new(doc, "namespace", json_string(s->netns));
	json_object_set_new(doc, "rate_per_s", json_integer(s->opts.rate));
	json_object_set_new(doc, "timeout_ms", mb_json_ms(s->opts.timeout_us));
	if (s->opts.kv) {
		json_object_set_new(doc, "kv_keys", json_integer((json_int_t)s->opts.kv_slots));
		json_object_set_new(doc, "kv_write_fraction", json_real(s->opts.write_fraction));
	}
	json_object_set_new(doc, "client", mb_netclient_counters(s->client));
	/* The per-request trace goes beside the result file (REP.client.csv,
	 * bench/result.c); this says where, once written. */
	csv = mb_nc_trace_csv(&t, times, json_integer_value(json_object_get(doc, "origin_real_us")), &len);
	json_object_set_new(doc, "trace", json_pack("{s:n, s:I, s:s, s:[sssssss]}", "file", "rows", (json_int_t)t.n,
						    "format", "csv",
						    "columns", "seq", "op", "send_ms", "recv_ms", "latency_ms", "fate", "phase"));
	if (csv) {
		json_object_set_new(doc, "sidecar", json_pack("{s:s, s:s%}", "suffix", "client.csv", "content", csv, len));
		free(csv);
	}
	return doc;
}

/* client_downtime_ms and its company into the result's metrics, the
 * degradation under metrics.degradation.client beside the heartbeats' own. */
static void nc_metrics(void *state, const struct mb_mig_times *times, json_t *metrics)
{
	struct nc_probe *s = state;
	json_t *cm = json_object_get(s->headline, "metrics"), *deg = json_object_get(s->headline, "degradation");

	(void)times;
	if (json_is_object(cm))
		json_object_update(metrics, cm);
	if (deg && !json_is_null(deg))
		json_object_set_new(metrics, "degradation", json_pack("{s:O}", "client", deg));
}

static void nc_free(void *state)
{
	struct nc_probe *s = state;

	if (!s)
		return;
	json_decref(s->headline);
	mb_netclient_free(s->client);
	free(s);
}

/* The probe's own scenario keys (the client's rate and patience; the
 * windows it shares with the heartbeats, baseline and client_after, are
 * global keys). */
static const struct mb_key nc_keys[] = {
	{
		.name = "client_rate", .type = MB_TYPE_COUNT, MB_FIELD(struct mb_nc_options, rate, unsigned),
		.def = "1000", .min = 1, .max = 100000,
		.help = "echo/kv: requests per second of the network client (open loop)",
	},
	{
		.name = "client_timeout", .type = MB_TYPE_DURATION,
		MB_FIELD(struct mb_nc_options, timeout_us, uint64_t),
		.def = "100ms", .min = 1000, .max = 60000000, .unit_us = 1000,
		.help = "echo/kv: a reply later than this counts as lost (ms when no unit)",
	},
	{ 0 },
};

const struct mb_probe_ops mb_probe_netclient = {
	.name = "netclient",
	.summary = "open-loop UDP client of the guest's echo/kv service: outages, latency per phase",
	.options = nc_keys,
	.options_size = sizeof(struct mb_nc_options),
	.start = nc_start,
	.stop = nc_stop,
	.to_json = nc_to_json,
	.metrics = nc_metrics,
	.free = nc_free,
};
