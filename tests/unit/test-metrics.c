#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/metrics.h"
#include "bench/scenario.h"

static double num(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	return json_number_value(v);
}

/* A post-copy-like migration: migrate at 1 s, STOP at 3 s, RESUME at
 * 3.05 s, source done at 4 s. */
static const struct mb_mig_times post = {
	.start_us = 1000000, .src_stop_us = 3000000, .dst_resume_us = 3050000,
	.postcopy_us = 2999000, .src_complete_us = 4000000, .dst_complete_us = 3990000,
};

static void times_add_up(void **state)
{
	json_t *m = json_object();

	assert_int_equal(mb_metrics_times(&post, m), 0);
	assert_float_equal(num(m, "preparation_time_ms"), 2000.0, 1e-9);
	assert_float_equal(num(m, "downtime_ms"), 50.0, 1e-9);
	assert_float_equal(num(m, "resume_time_ms"), 950.0, 1e-9);
	assert_float_equal(num(m, "total_time_ms"), 3000.0, 1e-9);
	json_decref(m);
}

static void times_reject_disorder(void **state)
{
	struct mb_mig_times t = post;
	json_t *m = json_object();

	t.dst_resume_us = t.src_stop_us - 1;
	assert_int_equal(mb_metrics_times(&t, m), -1);
	t = post;
	t.src_stop_us = 0;
	assert_int_equal(mb_metrics_times(&t, m), -1);
	json_decref(m);
}

static void pages_split_by_bytes(void **state)
{
	json_error_t jerr;
	json_t *q = json_loads("{\"status\":\"completed\",\"ram\":{\"transferred\":4200000,"
			       "\"normal\":900,\"duplicate\":100,\"normal-bytes\":3686400,"
			       "\"precopy-bytes\":3000000,\"downtime-bytes\":200000,"
			       "\"postcopy-bytes\":1000000,\"page-size\":4096}}", 0, &jerr);
	json_t *m = json_object(), *pt;

	assert_non_null(q);
	assert_int_equal(mb_metrics_pages(q, m), 0);
	pt = json_object_get(m, "pages_transferred");
	assert_int_equal(json_integer_value(json_object_get(pt, "total")), 1000);
	/* 3.0 / 4.2, 0.2 / 4.2 and 1.0 / 4.2 of 1000 pages */
	assert_int_equal(json_integer_value(json_object_get(pt, "precopy")), 714);
	assert_int_equal(json_integer_value(json_object_get(pt, "downtime")), 48);
	assert_int_equal(json_integer_value(json_object_get(pt, "postcopy")), 238);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(pt, "bytes"), "total")), 4200000);
	json_decref(q);
	json_decref(m);
}

/* Heartbeats every ms, 1000 pages/s before migration, half speed in
 * pre-copy, none while stopped, a quarter speed for 200 ms after RESUME,
 * then full speed again. */
static struct mb_hb_series make_series(void)
{
	struct mb_hb_point *p = calloc(6000, sizeof(*p));
	size_t n = 0;
	double written = 0;

	for (int64_t t = 0; t < 6000000; t += 1000) {
		double speed = 1.0;

		if (t >= post.src_stop_us && t < post.dst_resume_us)
			continue;
		if (t >= post.start_us && t < post.src_stop_us)
			speed = 0.5;
		else if (t >= post.dst_resume_us && t < post.dst_resume_us + 200000)
			speed = 0.25;
		written += speed;
		p[n++] = (struct mb_hb_point){ .host_us = t, .seq = n, .written = (uint64_t)written };
	}
	return (struct mb_hb_series){ .points = p, .n = n };
}

static void heartbeat_gaps_and_degradation(void **state)
{
	struct mb_hb_series hb = make_series();
	json_t *m = json_object(), *deg, *phases;

	assert_int_equal(mb_metrics_heartbeats(&post, &hb, 1000000, 100000, "written", m), 0);
	/* last beat at 2.999 s, first at 3.050 s */
	assert_float_equal(num(m, "guest_downtime_ms"), 51.0, 1e-9);
	deg = json_object_get(m, "degradation");
	assert_float_equal(num(deg, "baseline_per_s"), 1000.0, 1.0);
	phases = json_object_get(deg, "phases");
	assert_float_equal(num(json_object_get(phases, "precopy"), "ratio"), 0.5, 0.01);
	assert_float_equal(num(json_object_get(phases, "downtime"), "ratio"), 0.0, 0.05);
	/* recovery: the first 100 ms window at >= 95 % starts ~200 ms after RESUME */
	assert_float_equal(num(deg, "recovery_to_95pct_ms"), 200.0, 10.0);
	json_decref(m);
	free((void *)hb.points);
}

/* The switchover as a TCG guest shows it: heartbeats every ms, 0.1 ms on
 * the way; STOP at 3.000 s, RESUME at 3.050 s; the guest's clock stands
 * still while it is stopped; after RESUME the guest needs 20 ms to send
 * its first heartbeat, which then takes 5 ms to arrive; the ones after it
 * arrive 0.1 ms after they are sent again. `last_arrival_us` is when the
 * last heartbeat before STOP arrives (sent 0.1 ms earlier). */
static struct mb_hb_series switchover_series(int64_t last_arrival_us, int with_guest_clock)
{
	struct mb_hb_point *p = calloc(3000, sizeof(*p)); /* 1000 + 1 + 1479 */
	const int64_t guest_zero = 1000000; /* the guest booted 1 s after the host's 0 */
	const int64_t stopped = post.dst_resume_us - post.src_stop_us;
	size_t n = 0;

	for (int64_t sent = last_arrival_us - 100 - 999000; sent <= last_arrival_us - 100; sent += 1000)
		p[n++] = (struct mb_hb_point){ .host_us = sent + 100, .seq = n,
					       .guest_us = with_guest_clock ? (uint64_t)(sent - guest_zero) : 0 };
	p[n++] = (struct mb_hb_point){ .host_us = post.dst_resume_us + 25000, .seq = n,
				       .guest_us = with_guest_clock ?
					       (uint64_t)(post.dst_resume_us + 20000 - stopped - guest_zero) : 0 };
	for (int64_t sent = post.dst_resume_us + 21000; sent < post.dst_resume_us + 1500000; sent += 1000)
		p[n++] = (struct mb_hb_point){ .host_us = sent + 100, .seq = n,
					       .guest_us = with_guest_clock ?
						       (uint64_t)(sent - stopped - guest_zero) : 0 };
	return (struct mb_hb_series){ .points = p, .n = n };
}

static void guest_gap_split_at_stop_and_resume(void **state)
{
	struct mb_hb_series hb = switchover_series(2999500, 1);
	json_t *m = json_object();

	(void)state;
	mb_metrics_guest_gap(&post, &hb, m);
	/* 2.9995 s -> 3.075 s, of which 0.5 ms before STOP, 50 ms stopped,
	 * 25 ms after RESUME: 20 ms until the guest sent, 5 ms on the way */
	assert_float_equal(num(m, "guest_gap_switchover_ms"), 75.5, 1e-9);
	assert_float_equal(num(m, "guest_gap_before_stop_ms"), 0.5, 1e-9);
	assert_float_equal(num(m, "guest_gap_stopped_ms"), 50.0, 1e-9);
	assert_float_equal(num(m, "guest_gap_after_resume_ms"), 25.0, 1e-9);
	/* the guest's clock placed with the 0.1 ms of the heartbeats after:
	 * 20.1 ms and 4.9 ms, the channel's own 0.1 ms counted as sending */
	assert_float_equal(num(m, "guest_gap_after_resume_sent_ms"), 20.1, 1e-9);
	assert_float_equal(num(m, "guest_gap_after_resume_in_flight_ms"), 4.9, 1e-9);
	/* the parts add up to the silence */
	assert_float_equal(num(m, "guest_gap_before_stop_ms") + num(m, "guest_gap_stopped_ms") +
			   num(m, "guest_gap_after_resume_ms"), num(m, "guest_gap_switchover_ms"), 1e-9);
	json_decref(m);

	/* through mb_metrics_heartbeats too, beside the longest gap */
	m = json_object();
	assert_int_equal(mb_metrics_heartbeats(&post, &hb, 1000000, 100000, "written", m), 0);
	assert_float_equal(num(m, "guest_downtime_ms"), 75.5, 1e-9);
	assert_float_equal(num(m, "guest_gap_after_resume_ms"), 25.0, 1e-9);
	json_decref(m);
	free((void *)hb.points);
}

/* A heartbeat still on its way at STOP: the silence starts at its arrival,
 * nothing of it lies before STOP. */
static void guest_gap_heartbeat_arriving_after_stop(void **state)
{
	struct mb_hb_series hb = switchover_series(3002000, 1);
	json_t *m = json_object();

	(void)state;
	mb_metrics_guest_gap(&post, &hb, m);
	assert_float_equal(num(m, "guest_gap_switchover_ms"), 73.0, 1e-9);
	assert_float_equal(num(m, "guest_gap_before_stop_ms"), 0.0, 1e-9);
	assert_float_equal(num(m, "guest_gap_stopped_ms"), 48.0, 1e-9);
	assert_float_equal(num(m, "guest_gap_after_resume_ms"), 25.0, 1e-9);
	json_decref(m);
	free((void *)hb.points);
}

/* Heartbeats without the guest's stamp (gt=0): the host-side split stays,
 * the sent/in-flight split is null. No heartbeat after RESUME, or none
 * before it: nothing at all. */
static void guest_gap_without_guest_clock_or_heartbeats(void **state)
{
	struct mb_hb_series hb = switchover_series(2999500, 0);
	struct mb_hb_series cut;
	json_t *m = json_object();

	(void)state;
	mb_metrics_guest_gap(&post, &hb, m);
	assert_float_equal(num(m, "guest_gap_after_resume_ms"), 25.0, 1e-9);
	assert_true(json_is_null(json_object_get(m, "guest_gap_after_resume_sent_ms")));
	assert_true(json_is_null(json_object_get(m, "guest_gap_after_resume_in_flight_ms")));
	json_decref(m);

	cut = (struct mb_hb_series){ .points = hb.points, .n = 1000 }; /* up to 2.9995 s */
	m = json_object();
	mb_metrics_guest_gap(&post, &cut, m);
	assert_int_equal(json_object_size(m), 0);
	json_decref(m);

	cut = (struct mb_hb_series){ .points = hb.points + 1000, .n = hb.n - 1000 }; /* from 3.075 s */
	m = json_object();
	mb_metrics_guest_gap(&post, &cut, m);
	assert_int_equal(json_object_size(m), 0);
	json_decref(m);
	free((void *)hb.points);
}

/* One scenario of KEY=VALUE pairs (NULL-ended); 0 or -1 with err. */
static int params_of(struct mb_params *p, struct mb_err *err, ...)
{
	struct mb_scenario_set *set = mb_scenario_set_new(err);
	struct mb_campaign c = { 0 };
	const char *k, *v;
	va_list ap;
	int rc = set ? 0 : -1;

	va_start(ap, err);
	while (!rc && (k = va_arg(ap, const char *)) && (v = va_arg(ap, const char *)))
		rc = mb_scenario_apply_option(set, k, v, err);
	va_end(ap);
	if (!rc)
		rc = mb_scenario_expand(set, &c, err);
	if (!rc)
		*p = c.runs[0].params;  /* the numbers only: no string is used after the free */
	mb_campaign_free(&c);
	mb_scenario_set_free(set);
	return rc;
}

/* The measurement windows are scenario keys whose defaults are the values
 * they replaced, and what a key says is what the consumer uses. */
static void window_keys_reach_the_consumers(void **state)
{
	struct mb_hb_series hb = make_series();
	struct mb_params p;
	struct mb_err err = { 0 };
	json_t *m;

	(void)state;
	assert_int_equal(params_of(&p, &err, NULL), 0);
	assert_int_equal(p.baseline_us, 2000000);
	assert_int_equal(p.baseline_margin_us, 1000000);
	assert_int_equal(p.recovery_window_us, 100000);
	assert_int_equal(p.client_after_us, 1000000);
	/* the heartbeats of a result: the baseline and the margin before it */
	assert_int_equal(mb_metrics_heartbeats_from(10000000, p.baseline_us, p.baseline_margin_us), 7000000);
	assert_int_equal(params_of(&p, &err, "baseline", "3s", "baseline_margin", "250ms", NULL), 0);
	assert_int_equal(mb_metrics_heartbeats_from(10000000, p.baseline_us, p.baseline_margin_us), 6750000);
	assert_int_equal(params_of(&p, &err, "baseline_margin", "0", NULL), -1);
	assert_non_null(strstr(err.msg, "heartbeat_period"));
	assert_int_equal(params_of(&p, &err, "recovery_window", "0", NULL), -1);

	/* a 1 s recovery window forgives more of the 200 ms at a quarter
	 * speed: >= 95 % from ~134 ms after RESUME (10 ms steps: 140) */
	assert_int_equal(params_of(&p, &err, "recovery_window", "1s", NULL), 0);
	assert_int_equal(p.recovery_window_us, 1000000);
	m = json_object();
	/* (the series has 1 s of full speed before `migrate`: a 1 s baseline) */
	assert_int_equal(mb_metrics_heartbeats(&post, &hb, 1000000, (int64_t)p.recovery_window_us, "written", m), 0);
	assert_float_equal(num(json_object_get(m, "degradation"), "recovery_to_95pct_ms"), 140.0, 5.0);
	json_decref(m);
	free((void *)hb.points);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(times_add_up),
		cmocka_unit_test(times_reject_disorder),
		cmocka_unit_test(pages_split_by_bytes),
		cmocka_unit_test(heartbeat_gaps_and_degradation),
		cmocka_unit_test(guest_gap_split_at_stop_and_resume),
		cmocka_unit_test(guest_gap_heartbeat_arriving_after_stop),
		cmocka_unit_test(guest_gap_without_guest_clock_or_heartbeats),
		cmocka_unit_test(window_keys_reach_the_consumers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
