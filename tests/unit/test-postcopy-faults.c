/* metrics.postcopy_faults from destination query-migrate replies recorded
 * from real QEMUs (tests/fixtures/qmp/query-migrate-destination-postcopy-*):
 * 10.0 reports blocktime only, 11.1 also the fault latencies and their
 * distribution; and the runs that have no figures say why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "bench/postcopy_faults.h"

static json_t *fixture_reply(const char *name)
{
	char path[4096];
	json_error_t e;
	json_t *doc, *ret;

	snprintf(path, sizeof(path), "%s/qmp/%s", MB_FIXTURES_DIR, name);
	doc = json_load_file(path, 0, &e);
	if (!doc)
		fail_msg("%s: %s (line %d)", path, e.text, e.line);
	ret = json_incref(json_object_get(doc, "return"));
	json_decref(doc);
	assert_non_null(ret);
	return ret;
}

/* What the destination said of itself (the result's hypervisor.destination). */
static json_t *destination(const char *version, int offers_blocktime)
{
	json_t *caps = json_pack("{s:b, s:b}", "events", 1, "postcopy-ram", 1);

	if (offers_blocktime)
		json_object_set_new(caps, "postcopy-blocktime", json_true());
	return json_pack("{s:s, s:o}", "version", version, "capabilities", caps);
}

/* As result.c adds it: metrics.postcopy_faults, the reasons under
 * metrics.unavailable. */
static json_t *metrics_of(const struct mb_pf_input *in)
{
	struct mb_pf_why why;
	json_t *m = json_object(), *u = json_object();

	json_object_set_new(m, "postcopy_faults", mb_postcopy_faults(in, &why));
	if (why.none[0])
		json_object_set_new(u, "postcopy_faults", json_string(why.none));
	if (why.latency[0])
		json_object_set_new(u, "postcopy_faults.latency", json_string(why.latency));
	if (json_object_size(u))
		json_object_set(m, "unavailable", u);
	json_decref(u);
	return m;
}

static const char *unavailable(const json_t *m, const char *key)
{
	return json_string_value(json_object_get(json_object_get(m, "unavailable"), key));
}

static json_int_t int_at(const json_t *list, size_t i)
{
	assert_true(json_is_integer(json_array_get(list, i)));
	return json_integer_value(json_array_get(list, i));
}

/* 10.0.2: {"postcopy-blocktime": 0, "postcopy-vcpu-blocktime": [0, 21]} */
static void qemu_10_0_blocktime_without_latency(void **state)
{
	json_t *reply = fixture_reply("query-migrate-destination-postcopy-10.0.json");
	json_t *dst = destination("10.0.2", 1);
	json_t *m = metrics_of(&(struct mb_pf_input){ .completed = 1, .postcopy_mode = 1, .postcopy = 1,
						       .reply = reply, .destination = dst });
	json_t *pf = json_object_get(m, "postcopy_faults");

	assert_true(json_is_object(pf));
	assert_int_equal(json_integer_value(json_object_get(pf, "blocktime_ms")), 0);
	assert_int_equal(json_array_size(json_object_get(pf, "vcpu_blocktime_ms")), 2);
	assert_int_equal(int_at(json_object_get(pf, "vcpu_blocktime_ms"), 0), 0);
	assert_int_equal(int_at(json_object_get(pf, "vcpu_blocktime_ms"), 1), 21);
	/* the latencies are there, as null, and why is said */
	for (const char *const *k = (const char *const[]){ "latency_us", "vcpu_latency_us", "non_vcpu_latency_us",
							   "latency_dist", "faults", NULL }; *k; k++) {
		assert_non_null(json_object_get(pf, *k));
		assert_true(json_is_null(json_object_get(pf, *k)));
	}
	assert_non_null(strstr(unavailable(m, "postcopy_faults.latency"), "QEMU 10.0.2"));
	assert_non_null(strstr(unavailable(m, "postcopy_faults.latency"), "10.1"));
	assert_null(unavailable(m, "postcopy_faults"));
	json_decref(m);
	json_decref(dst);
	json_decref(reply);
}

/* 11.1.3: blocktime 51 ms, per vCPU 65 and 93 ms; latency 6081335 ns,
 * per vCPU 5442900 and 6657976 ns, non-vCPU 6012710 ns; 24 buckets. */
static void qemu_11_1_latencies_and_distribution(void **state)
{
	json_t *reply = fixture_reply("query-migrate-destination-postcopy-11.1.json");
	json_t *dst = destination("11.1.3", 1);
	json_t *m = metrics_of(&(struct mb_pf_input){ .completed = 1, .postcopy_mode = 1, .postcopy = 1,
						       .reply = reply, .destination = dst });
	json_t *pf = json_object_get(m, "postcopy_faults"), *dist, *qemu_dist = json_object_get(reply, "postcopy-latency-dist");
	json_int_t sum = 0;

	assert_true(json_is_object(pf));
	assert_null(json_object_get(m, "unavailable"));
	assert_int_equal(json_integer_value(json_object_get(pf, "blocktime_ms")), 51);
	assert_int_equal(int_at(json_object_get(pf, "vcpu_blocktime_ms"), 0), 65);
	assert_int_equal(int_at(json_object_get(pf, "vcpu_blocktime_ms"), 1), 93);
	/* ns -> µs, every ns kept */
	assert_float_equal(json_real_value(json_object_get(pf, "latency_us")), 6081.335, 1e-9);
	assert_float_equal(json_real_value(json_object_get(pf, "non_vcpu_latency_us")), 6012.710, 1e-9);
	assert_int_equal(json_array_size(json_object_get(pf, "vcpu_latency_us")), 2);
	assert_float_equal(json_real_value(json_array_get(json_object_get(pf, "vcpu_latency_us"), 0)), 5442.900, 1e-9);
	assert_float_equal(json_real_value(json_array_get(json_object_get(pf, "vcpu_latency_us"), 1)), 6657.976, 1e-9);
	/* the buckets verbatim, with QEMU's documented bounds [2^N, 2^(N+1)) us */
	dist = json_object_get(pf, "latency_dist");
	assert_true(json_equal(json_object_get(dist, "faults"), qemu_dist));
	assert_int_equal(json_array_size(json_object_get(dist, "faults")), 24);
	assert_int_equal(json_array_size(json_object_get(dist, "bucket_from_us")), 24);
	assert_int_equal(json_array_size(json_object_get(dist, "bucket_to_us")), 24);
	assert_int_equal(int_at(json_object_get(dist, "bucket_from_us"), 0), 1);
	assert_int_equal(int_at(json_object_get(dist, "bucket_to_us"), 0), 2);
	assert_int_equal(int_at(json_object_get(dist, "bucket_from_us"), 8), 256);
	assert_int_equal(int_at(json_object_get(dist, "bucket_to_us"), 8), 512);
	assert_int_equal(int_at(json_object_get(dist, "bucket_from_us"), 12), 4096);
	for (size_t i = 0; i < 24; i++)
		sum += int_at(qemu_dist, i);
	assert_int_equal(sum, 32);
	assert_int_equal(json_integer_value(json_object_get(pf, "faults")), sum);
	json_decref(m);
	json_decref(dst);
	json_decref(reply);
}

static void assert_null_because(const struct mb_pf_input *in, const char *needle)
{
	json_t *m = metrics_of(in);
	const char *why = unavailable(m, "postcopy_faults");

	assert_non_null(json_object_get(m, "postcopy_faults"));
	assert_true(json_is_null(json_object_get(m, "postcopy_faults")));
	if (!why || !strstr(why, needle))
		fail_msg("expected a reason with '%s', got '%s'", needle, why ? why : "(none)");
	json_decref(m);
}

/* No figures, each with its reason; never a failure. */
static void no_figures_say_why(void **state)
{
	json_t *reply = fixture_reply("query-migrate-destination-postcopy-11.1.json");
	json_t *bare = fixture_reply("query-migrate-destination-completed.json"); /* 7.2: only status */
	json_t *dst = destination("11.1.3", 1), *old = destination("7.2.22", 0);

	assert_null_because(&(struct mb_pf_input){ .completed = 1, .mode = "cold", .reply = bare, .destination = dst },
			    "mode=cold: no post-copy phase");
	assert_null_because(&(struct mb_pf_input){ .postcopy_mode = 1, .reply = bare, .destination = dst },
			    "did not complete");
	assert_null_because(&(struct mb_pf_input){ .completed = 1, .postcopy_mode = 1, .reply = bare,
						    .destination = dst }, "before the switch");
	assert_null_because(&(struct mb_pf_input){ .completed = 1, .postcopy_mode = 1, .postcopy = 1 },
			    "libvirt runner");
	assert_null_because(&(struct mb_pf_input){ .completed = 1, .postcopy_mode = 1, .postcopy = 1,
						    .reply = bare, .destination = old },
			    "QEMU 7.2.22 (destination) does not offer the postcopy-blocktime capability");
	assert_null_because(&(struct mb_pf_input){ .completed = 1, .postcopy_mode = 1, .postcopy = 1,
						    .reply = bare, .destination = dst }, "reported no postcopy-blocktime");
	/* a malformed reply is no figure, not a crash */
	json_object_set_new(reply, "postcopy-vcpu-blocktime", json_pack("[i, s]", 1, "x"));
	assert_null_because(&(struct mb_pf_input){ .completed = 1, .postcopy_mode = 1, .postcopy = 1,
						    .reply = reply, .destination = dst }, "is not a count");
	json_decref(old);
	json_decref(dst);
	json_decref(bare);
	json_decref(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qemu_10_0_blocktime_without_latency),
		cmocka_unit_test(qemu_11_1_latencies_and_distribution),
		cmocka_unit_test(no_figures_say_why),
	};

	return cmocka_run_group_tests_name("postcopy_faults", tests, NULL, NULL);
}
