/* The network client's analysis on synthetic traces: request fates, outage
 * detection and merging (by sequence, so a reply that waited in the guest
 * through the pause neither ends nor splits an outage), percentiles, phase
 * attribution, the metrics and degradation it reports, and the CSV trace. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probes/netclient.h"
#include "workloads/svc_proto.h"

#define MS 1000
#define T0 1700000000000000LL /* an arbitrary realtime origin, µs */

/* A trace of `n` requests, one per ms from T0, each answered `lat` µs
 * later; tests then break some of them. */
static struct mb_nc_request *steady(size_t n, int64_t lat)
{
	struct mb_nc_request *r = calloc(n, sizeof(*r));

	assert_non_null(r);
	for (size_t i = 0; i < n; i++) {
		r[i].send_us = T0 + (int64_t)i * MS;
		r[i].recv_us = r[i].send_us + lat;
		r[i].op = MB_SVC_OP_GET;
	}
	return r;
}

static struct mb_nc_trace trace_of(const struct mb_nc_request *r, size_t n)
{
	return (struct mb_nc_trace){
		.req = r, .n = n, .timeout_us = 100 * MS,
		/* listening stopped 200 ms after the last send */
		.end_us = r[n - 1].send_us + 200 * MS, .rate = 1000,
		.baseline_us = 1000 * MS, .recovery_window_us = 100 * MS,
	};
}

static double ms_of(const json_t *v)
{
	assert_true(json_is_number(v));
	return json_number_value(v);
}

static void fates(void **unused)
{
	struct mb_nc_request r[4] = {
		{ .send_us = T0, .recv_us = T0 + 5 * MS },           /* ok */
		{ .send_us = T0 + MS, .recv_us = T0 + 150 * MS },    /* late: 149 ms */
		{ .send_us = T0 + 2 * MS },                          /* lost */
		{ .send_us = T0 + 950 * MS },                        /* sent 50 ms before the end */
	};
	struct mb_nc_trace t = { .req = r, .n = 4, .timeout_us = 100 * MS, .end_us = T0 + 1000 * MS, .rate = 1000 };

	assert_int_equal(mb_nc_fate(&t, 0), MB_NC_OK);
	assert_int_equal(mb_nc_fate(&t, 1), MB_NC_LATE);
	assert_int_equal(mb_nc_fate(&t, 2), MB_NC_LOST);
	assert_int_equal(mb_nc_fate(&t, 3), MB_NC_UNDECIDED);
	/* exactly the timeout is still in time */
	r[1].recv_us = r[1].send_us + 100 * MS;
	assert_int_equal(mb_nc_fate(&t, 1), MB_NC_OK);
	assert_string_equal(mb_nc_fate_name(MB_NC_LOST), "lost");
}

static void percentiles(void **unused)
{
	int64_t v[100];

	for (int i = 0; i < 100; i++)
		v[i] = i + 1; /* 1 .. 100 */
	assert_int_equal(mb_nc_percentile(v, 100, 50), 50);
	assert_int_equal(mb_nc_percentile(v, 100, 99), 99);
	assert_int_equal(mb_nc_percentile(v, 100, 99.9), 100);
	assert_int_equal(mb_nc_percentile(v, 100, 100), 100);
	assert_int_equal(mb_nc_percentile(v, 1, 99.9), 1);
	assert_int_equal(mb_nc_percentile(v, 0, 50), 0);
	/* nearest rank: the 3rd of 4 for p60 (ceil(2.4)) */
	assert_int_equal(mb_nc_percentile(v, 4, 60), 3);
}

static void gap_threshold(void **unused)
{
	assert_int_equal(mb_nc_gap_us(1000), 10 * MS);  /* 10 intervals = 10 ms */
	assert_int_equal(mb_nc_gap_us(10000), 10 * MS); /* at least 10 ms */
	assert_int_equal(mb_nc_gap_us(100), 100 * MS);  /* 10 intervals of 10 ms */
}

static void steady_service_has_no_outage(void **unused)
{
	struct mb_nc_request *r = steady(1000, 300);
	struct mb_nc_trace t = trace_of(r, 1000);
	struct mb_nc_outage *o;
	size_t n;
	int64_t longest, at;

	assert_int_equal(mb_nc_find_outages(&t, mb_nc_gap_us(1000), &o, &n, T0, T0 + 2000 * MS, &longest, &at), 0);
	assert_int_equal(n, 0);
	assert_int_equal(longest, MS); /* the longest silence is one interval */
	free(o);
	free(r);
}

/* The shape of a migration on a bridge: the guest stops at 400 ms; the
 * requests it had already received (395-399) are answered when it resumes
 * at 430 ms; the bridge sends everything from 400 ms to the old port until
 * the announce at 480 ms. Arrival gaps alone make two outages, split by
 * the early replies at 431 ms; by sequence it is one, from the last reply
 * before the stop to the first reply to a request sent after it. */
static void stragglers_do_not_split_an_outage(void **unused)
{
	struct mb_nc_request *r = steady(1000, 300);
	struct mb_nc_trace t;
	struct mb_nc_outage *o;
	size_t n;
	int64_t longest, at;

	for (int i = 395; i < 400; i++)
		r[i].recv_us = T0 + 431 * MS; /* in time: 31-36 ms */
	for (int i = 400; i < 480; i++)
		r[i].recv_us = 0;
	t = trace_of(r, 1000);
	assert_int_equal(mb_nc_find_outages(&t, mb_nc_gap_us(1000), &o, &n, T0 + 100 * MS, T0 + 500 * MS,
					    &longest, &at), 0);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].start_us, T0 + 394 * MS + 300);  /* request 394's reply */
	assert_int_equal(o[0].end_us, T0 + 480 * MS + 300);    /* request 480's reply */
	assert_int_equal(o[0].last_ok_seq, 394);
	assert_int_equal(o[0].resumed_seq, 480);
	assert_int_equal(o[0].lost, 80);
	assert_int_equal(o[0].late, 0);
	assert_false(o[0].open);
	/* longer than the guest's pause, and it covers it */
	assert_int_equal(longest, o[0].end_us - o[0].start_us);
	assert_int_equal(at, o[0].start_us);
	assert_true(o[0].start_us <= T0 + 400 * MS && o[0].end_us >= T0 + 430 * MS);
	free(o);
	free(r);
}

/* A pause shorter than the timeout loses nothing: every request sent
 * during it is answered at the resume, late but in time. The silence is
 * still an outage, and it contains the pause. */
static void short_pause_without_losses(void **unused)
{
	struct mb_nc_request *r = steady(1000, 300);
	struct mb_nc_trace t;
	struct mb_nc_outage *o;
	size_t n;
	int64_t longest, at;

	for (int i = 400; i < 430; i++)
		r[i].recv_us = T0 + 430 * MS + 500;
	t = trace_of(r, 1000);
	assert_int_equal(mb_nc_find_outages(&t, mb_nc_gap_us(1000), &o, &n, T0, T0 + 2000 * MS, &longest, &at), 0);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].lost + o[0].late, 0);
	assert_int_equal(o[0].start_us, T0 + 399 * MS + 300);
	assert_int_equal(o[0].end_us, T0 + 430 * MS + 500);
	assert_int_equal(longest, 31 * MS + 200);
	free(o);
	free(r);
}

/* Late replies count as the outage's, not as its end. */
static void late_replies_extend_the_outage(void **unused)
{
	struct mb_nc_request *r = steady(1000, 300);
	struct mb_nc_trace t;
	struct mb_nc_outage *o;
	size_t n;

	for (int i = 200; i < 260; i++)
		r[i].recv_us = T0 + 390 * MS; /* 130-190 ms: late */
	t = trace_of(r, 1000);
	assert_int_equal(mb_nc_find_outages(&t, mb_nc_gap_us(1000), &o, &n, 0, INT64_MAX, NULL, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].late, 60);
	assert_int_equal(o[0].end_us, T0 + 260 * MS + 300);
	free(o);
	free(r);
}

/* Outages with less good service between them than the gap are one; with
 * more, two. */
static void merging_by_healthy_time(void **unused)
{
	struct mb_nc_request *r = steady(1000, 300);
	struct mb_nc_trace t;
	struct mb_nc_outage *o;
	size_t n;

	/* two losses 5 ms apart: one outage */
	for (int i = 100; i < 120; i++)
		r[i].recv_us = 0;
	for (int i = 125; i < 140; i++)
		r[i].recv_us = 0;
	/* and one 100 ms later: a second */
	for (int i = 240; i < 250; i++)
		r[i].recv_us = 0;
	t = trace_of(r, 1000);
	assert_int_equal(mb_nc_find_outages(&t, mb_nc_gap_us(1000), &o, &n, 0, INT64_MAX, NULL, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(o[0].lost, 35);
	assert_int_equal(o[0].last_ok_seq, 99);
	assert_int_equal(o[0].resumed_seq, 140);
	assert_int_equal(o[1].lost, 10);
	assert_int_equal(o[1].resumed_seq, 250);
	free(o);
	free(r);
}

/* A reply that overtakes an earlier one ends no silence. */
static void reordered_reply(void **unused)
{
	struct mb_nc_request *r = steady(100, 300);
	struct mb_nc_trace t;
	struct mb_nc_outage *o;
	size_t n;

	r[50].recv_us = r[51].recv_us + 200; /* 50 arrives after 51 */
	t = trace_of(r, 100);
	assert_int_equal(mb_nc_find_outages(&t, mb_nc_gap_us(1000), &o, &n, 0, INT64_MAX, NULL, NULL), 0);
	assert_int_equal(n, 0);
	free(o);
	free(r);
}

static void open_and_leading_outages(void **unused)
{
	struct mb_nc_request *r = steady(1000, 300);
	struct mb_nc_trace t;
	struct mb_nc_outage *o;
	size_t n;

	for (int i = 0; i < 10; i++)
		r[i].recv_us = 0; /* the service was not up yet */
	for (int i = 900; i < 1000; i++)
		r[i].recv_us = 0; /* and never came back */
	t = trace_of(r, 1000);
	assert_int_equal(mb_nc_find_outages(&t, mb_nc_gap_us(1000), &o, &n, 0, INT64_MAX, NULL, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(o[0].start_us, T0);
	assert_int_equal(o[0].last_ok_seq, -1);
	assert_int_equal(o[0].resumed_seq, 10);
	assert_true(o[1].open);
	assert_int_equal(o[1].resumed_seq, -1);
	assert_int_equal(o[1].end_us, t.end_us);
	assert_int_equal(o[1].lost, 100);
	free(o);
	free(r);
}

static void phase_attribution(void **unused)
{
	struct mb_mig_times times = {
		.start_us = T0 + 100 * MS, .src_stop_us = T0 + 400 * MS, .dst_resume_us = T0 + 430 * MS,
		.src_complete_us = T0 + 600 * MS, .dst_complete_us = T0 + 610 * MS,
	};
	struct mb_mig_times failed = { .start_us = T0 + 100 * MS };

	assert_int_equal(mb_nc_phase_of(&times, T0), MB_NC_BEFORE);
	assert_int_equal(mb_nc_phase_of(&times, T0 + 100 * MS - 1), MB_NC_BEFORE);
	assert_int_equal(mb_nc_phase_of(&times, T0 + 100 * MS), MB_NC_PRECOPY);
	assert_int_equal(mb_nc_phase_of(&times, T0 + 400 * MS), MB_NC_DOWNTIME);
	assert_int_equal(mb_nc_phase_of(&times, T0 + 429 * MS), MB_NC_DOWNTIME);
	assert_int_equal(mb_nc_phase_of(&times, T0 + 430 * MS), MB_NC_POSTCOPY);
	assert_int_equal(mb_nc_phase_of(&times, T0 + 609 * MS), MB_NC_POSTCOPY);
	assert_int_equal(mb_nc_phase_of(&times, T0 + 610 * MS), MB_NC_AFTER);
	/* a migration that never stopped the guest stays in pre-copy */
	assert_int_equal(mb_nc_phase_of(&failed, T0 + 900 * MS), MB_NC_PRECOPY);
	assert_string_equal(mb_nc_phase_name(MB_NC_POSTCOPY), "postcopy");
}

/* The whole analysis of a post-copy-like run: pause, lost requests until
 * the announce, then slow replies (page faults) for a while. */
static void analysis_json(void **unused)
{
	struct mb_nc_request *r = steady(1500, 300);
	struct mb_mig_times times = {
		.start_us = T0 + 500 * MS, .src_stop_us = T0 + 700 * MS, .dst_resume_us = T0 + 710 * MS,
		.postcopy_us = T0 + 699 * MS, .src_complete_us = T0 + 1000 * MS, .dst_complete_us = T0 + 1001 * MS,
	};
	struct mb_nc_trace t;
	json_t *doc, *m, *deg, *ph;

	for (int i = 700; i < 800; i++)
		r[i].recv_us = 0;
	for (int i = 800; i < 1000; i++)
		r[i].recv_us = r[i].send_us + 20 * MS; /* slow but in time */
	t = trace_of(r, 1500);
	doc = mb_nc_analyze(&t, &times);
	assert_non_null(doc);
	m = json_object_get(doc, "metrics");
	/* 699.3 ms (reply to 699) .. 820 ms (reply to 800) */
	assert_true(fabs(ms_of(json_object_get(m, "client_downtime_ms")) - 120.7) < 1e-6);
	assert_true(fabs(ms_of(json_object_get(m, "client_downtime_start_ms")) - 199.3) < 1e-6);
	assert_int_equal(json_integer_value(json_object_get(m, "client_outages")), 1);
	assert_int_equal(json_integer_value(json_object_get(m, "client_requests_lost")), 100);
	assert_int_equal(json_integer_value(json_object_get(m, "client_requests_late")), 0);
	assert_true(fabs(ms_of(json_object_get(json_object_get(json_object_get(m, "client_latency_ms"), "before"),
					       "p99")) - 0.3) < 1e-6);
	assert_true(fabs(ms_of(json_object_get(json_object_get(json_object_get(m, "client_latency_ms"), "postcopy"),
					       "p50")) - 20.0) < 1e-6);

	ph = json_object_get(doc, "phases");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ph, "before"), "sent")), 500);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ph, "precopy"), "sent")), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ph, "downtime"), "lost")), 10);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ph, "postcopy"), "lost")), 90);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ph, "after"), "sent")), 499);

	deg = json_object_get(doc, "degradation");
	assert_true(fabs(json_number_value(json_object_get(deg, "baseline_per_s")) - 1000.0) < 5);
	assert_true(json_number_value(json_object_get(json_object_get(json_object_get(deg, "phases"), "downtime"),
						      "ratio")) == 0.0);
	/* post-copy: 90 of 291 requests lost, the rest 66x slower */
	assert_true(json_number_value(json_object_get(json_object_get(json_object_get(deg, "phases"), "postcopy"),
						      "ratio")) < 0.75);
	assert_true(json_number_value(json_object_get(json_object_get(json_object_get(deg, "phases"), "postcopy"),
						      "latency_p99_ratio")) > 50);
	/* replies flow again from 820 ms, the end of the outage: 110 ms after RESUME */
	assert_true(fabs(ms_of(json_object_get(deg, "recovery_to_95pct_ms")) - 110.0) < 1e-6);
	/* the outage around STOP */
	assert_true(fabs(ms_of(json_object_get(m, "client_switchover_outage_ms")) - 120.7) < 1e-6);
	assert_true(fabs(ms_of(json_object_get(m, "client_switchover_outage_end_ms")) - 320.0) < 1e-6);
	json_decref(doc);
	/* the window is the key recovery_window's: one of 1 s does not fit in
	 * the 680 ms of service after the outage */
	t.recovery_window_us = 1000 * MS;
	doc = mb_nc_analyze(&t, &times);
	assert_true(json_is_null(json_object_get(json_object_get(doc, "degradation"), "recovery_to_95pct_ms")));
	json_decref(doc);
	t.recovery_window_us = 600 * MS;
	doc = mb_nc_analyze(&t, &times);
	assert_true(fabs(ms_of(json_object_get(json_object_get(doc, "degradation"), "recovery_to_95pct_ms")) - 110.0) < 1e-6);
	json_decref(doc);
	free(r);
}

/* Outages in the baseline are the host's, counted apart. */
static void baseline_outages_are_apart(void **unused)
{
	struct mb_nc_request *r = steady(1000, 300);
	struct mb_mig_times times = { .start_us = T0 + 500 * MS, .src_stop_us = T0 + 600 * MS,
				      .dst_resume_us = T0 + 610 * MS, .src_complete_us = T0 + 620 * MS };
	struct mb_nc_trace t;
	json_t *doc;

	for (int i = 100; i < 120; i++)
		r[i].recv_us = 0;
	t = trace_of(r, 1000);
	doc = mb_nc_analyze(&t, &times);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "metrics"), "client_outages")), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "baseline_outages")), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "outages")), 1);
	/* nothing overlapped the migration: the longest silence there */
	assert_true(fabs(ms_of(json_object_get(json_object_get(doc, "metrics"), "client_downtime_ms")) - 1.0) < 1e-6);
	json_decref(doc);
	free(r);
}

/* A stall during pre-copy can be the longest silence; the switch-over is
 * still reported on its own. */
static void switchover_apart_from_longest(void **unused)
{
	struct mb_nc_request *r = steady(1000, 300);
	struct mb_mig_times times = { .start_us = T0 + 100 * MS, .src_stop_us = T0 + 600 * MS,
				      .dst_resume_us = T0 + 620 * MS, .src_complete_us = T0 + 621 * MS };
	struct mb_nc_trace t;
	json_t *doc, *m, *list;

	for (int i = 200; i < 290; i++)
		r[i].recv_us = T0 + 290 * MS + 500; /* a 90 ms stall, nothing lost */
	for (int i = 600; i < 660; i++)
		r[i].recv_us = 0;                  /* the switch-over: 60 lost */
	t = trace_of(r, 1000);
	doc = mb_nc_analyze(&t, &times);
	m = json_object_get(doc, "metrics");
	assert_true(fabs(ms_of(json_object_get(m, "client_downtime_ms")) - 91.2) < 1e-6);
	assert_true(fabs(ms_of(json_object_get(m, "client_switchover_outage_ms")) - 61.0) < 1e-6);
	assert_true(fabs(ms_of(json_object_get(m, "client_switchover_outage_start_ms")) - 499.3) < 1e-6);
	list = json_object_get(doc, "outages");
	assert_int_equal(json_array_size(list), 2);
	assert_true(json_is_false(json_object_get(json_array_get(list, 0), "switchover")));
	assert_true(json_is_true(json_object_get(json_array_get(list, 1), "switchover")));
	json_decref(doc);
	free(r);
}

/* The baseline is the last second before `migrate`; the slow start of the
 * path (ARP, a TCG guest's first packets) before it is warm-up. */
static void warmup_is_not_the_baseline(void **unused)
{
	struct mb_nc_request *r = steady(3000, 300);
	struct mb_mig_times times = { .start_us = T0 + 2000 * MS, .src_stop_us = T0 + 2500 * MS,
				      .dst_resume_us = T0 + 2520 * MS, .src_complete_us = T0 + 2521 * MS };
	struct mb_nc_trace t;
	json_t *doc;

	for (int i = 0; i < 500; i++)
		r[i].recv_us = r[i].send_us + 300 * MS; /* late */
	t = trace_of(r, 3000);
	doc = mb_nc_analyze(&t, &times);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "requests"), "warmup")), 1000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(doc, "phases"), "before"),
							    "sent")), 1000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "metrics"), "client_requests_late")),
			 0);
	assert_true(fabs(json_number_value(json_object_get(json_object_get(doc, "degradation"), "baseline_per_s")) -
			 1000.0) < 1.0);
	assert_int_equal(json_integer_value(json_object_get(doc, "baseline_outages")), 1);
	json_decref(doc);
	free(r);
}

static void csv_trace(void **unused)
{
	struct mb_nc_request *r = steady(3, 300);
	struct mb_mig_times times = { .start_us = T0 + MS };
	struct mb_nc_trace t;
	size_t len;
	char *csv;

	r[1].recv_us = 0;
	r[2].op = MB_SVC_OP_PUT;
	t = trace_of(r, 3);
	t.end_us = T0 + 500 * MS;
	csv = mb_nc_trace_csv(&t, &times, T0 + MS, &len);
	assert_non_null(csv);
	assert_int_equal(strlen(csv), len);
	assert_string_equal(csv,
			    "seq,op,send_ms,recv_ms,latency_ms,fate,phase\n"
			    "0,get,-1.000,-0.700,0.300,ok,before\n"
			    "1,get,0.000,,,lost,precopy\n"
			    "2,put,1.000,1.300,0.300,ok,precopy\n");
	free(csv);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fates),
		cmocka_unit_test(percentiles),
		cmocka_unit_test(gap_threshold),
		cmocka_unit_test(steady_service_has_no_outage),
		cmocka_unit_test(stragglers_do_not_split_an_outage),
		cmocka_unit_test(short_pause_without_losses),
		cmocka_unit_test(late_replies_extend_the_outage),
		cmocka_unit_test(merging_by_healthy_time),
		cmocka_unit_test(reordered_reply),
		cmocka_unit_test(open_and_leading_outages),
		cmocka_unit_test(phase_attribution),
		cmocka_unit_test(analysis_json),
		cmocka_unit_test(baseline_outages_are_apart),
		cmocka_unit_test(switchover_apart_from_longest),
		cmocka_unit_test(warmup_is_not_the_baseline),
		cmocka_unit_test(csv_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
