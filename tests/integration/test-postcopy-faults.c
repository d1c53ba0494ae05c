/* Post-copy fault latency end to end: a real post-copy migration of a
 * 2-vCPU guest that dirties memory, and metrics.postcopy_faults in its
 * result: QEMU's blocktime, one entry per vCPU, every figure >= 0; on QEMU
 * 11.1 (an installed version, qemu=11.1) also the fault latencies and their
 * distribution. A pre-copy run of the same campaign has null and a reason.
 *
 * Skips, saying why, without $MIGBENCH_BIN, QEMU, a guest image or
 * post-copy; the 11.1 test without `migbench qemu install 11.1`. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench/command.h"
#include "runners/qemu_versions.h"

#include "harness.h"

#define WORK_PREFIX "/tmp/mb-test-postcopy-faults"
#define CAMPAIGN_DEADLINE_S 300
#define NEW_QEMU "11.1"

static char skip_reason[MB_ERR_MAX + 128];
static char postcopy_skip[MB_ERR_MAX + 128];

/* 48 MiB/s dirtied at 128 MiB/s: the first pass leaves more dirty than
 * the stop threshold, so the switch really happens and the vCPUs fault on
 * pages still at the source (bench/scenarios/main.ini's sizes). */
static const char ini_fmt[] =
	"[global]\n"
	"%s"
	"memory=256M\n"
	"vcpus=2\n"
	"wss=64M\n"
	"rate=48M\n"
	"max_bandwidth=128M\n"
	"downtime_limit=300ms\n"
	"timeout=2min\n"
	"settle=1s\n"
	"\n"
	"[postcopy]\n"
	"mode=postcopy\n"
	"%s";

static const char precopy_section[] =
	"\n"
	"[precopy]\n"
	"mode=precopy\n"
	"rate=1M\n";

MBT_CAMPAIGN_FIXTURES(WORK_PREFIX, skip_reason, postcopy_skip, 1)

/* `qemu_line` ("" or "qemu=NAME\n") into the scenario; `with_precopy` adds
 * a pre-copy section. */
static void run(struct mbt_campaign *c, const char *qemu_line, int with_precopy)
{
	char ini[sizeof(ini_fmt) + sizeof(precopy_section) + 64];
	const struct mbt_run r = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = "faults", .ini = ini,
				   .qemu_opt = !*qemu_line, .deadline_s = CAMPAIGN_DEADLINE_S,
				   .check_leftovers = 1 };

	snprintf(ini, sizeof(ini), ini_fmt, qemu_line, with_precopy ? precopy_section : "");
	mbt_run_campaign(c, &r);
	mbt_assert_campaign_ok(c);
}

/* The block of a post-copy run: what every QEMU with the capability gives. */
static const json_t *blocktime_block(const json_t *doc, const char *what)
{
	const json_t *pf, *v;
	size_t i;

	assert_string_equal(mbt_str(doc, "run.status"), "completed");
	assert_string_equal(mbt_str(doc, "run.completed_as"), "postcopy");
	assert_true(json_is_true(mbt_get(doc, "hypervisor.destination.capabilities.postcopy-blocktime")));
	pf = mbt_get(doc, "metrics.postcopy_faults");
	if (!json_is_object(pf))
		fail_msg("%s: metrics.postcopy_faults is not an object: %s", what,
			 json_string_value(json_object_get(json_object_get(json_object_get(doc, "metrics"),
								       "unavailable"), "postcopy_faults")));
	assert_true(mbt_num(pf, "blocktime_ms") >= 0);
	assert_int_equal(json_array_size(mbt_get(pf, "vcpu_blocktime_ms")), 2);
	json_array_foreach(mbt_get(pf, "vcpu_blocktime_ms"), i, v)
		assert_true(json_is_integer(v) && json_integer_value(v) >= 0);
	print_message("# %s (QEMU %s): blocktime %.0f ms, per vCPU [%" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
		      "] ms; %.0f page requests, resume %.3f ms\n", what, mbt_str(doc, "hypervisor.destination.version"),
		      mbt_num(pf, "blocktime_ms"), json_integer_value(json_array_get(mbt_get(pf, "vcpu_blocktime_ms"), 0)),
		      json_integer_value(json_array_get(mbt_get(pf, "vcpu_blocktime_ms"), 1)),
		      mbt_num(doc, "qemu_reported.ram.postcopy-requests"), mbt_num(doc, "metrics.resume_time_ms"));
	return pf;
}

/* The default QEMU (10.0 here): blocktime per vCPU; pre-copy: null, why. */
static void blocktime_per_vcpu(void **state)
{
	struct mbt_campaign *c = *state;
	const json_t *doc;

	mbt_skip_if(skip_reason);
	mbt_skip_if(postcopy_skip);
	run(c, "", 1);
	blocktime_block(mbt_result(c, "postcopy/1"), "postcopy");
	doc = mbt_result(c, "precopy/1");
	assert_true(json_is_null(mbt_get(doc, "metrics.postcopy_faults")));
	assert_non_null(strstr(mbt_str(doc, "metrics.unavailable.postcopy_faults"), "mode=precopy"));
}

/* QEMU 11.1: also the latencies, per vCPU, and their distribution. */
static void latencies_on_11_1(void **state)
{
	struct mbt_campaign *c = *state;
	struct mb_qemu_ref ref;
	struct mb_err err = {0};
	const json_t *pf, *dist, *v;
	double sum = 0;
	size_t i;

	mbt_skip_if(skip_reason);
	mbt_skip_if(postcopy_skip);
	if (mb_qemu_resolve(NEW_QEMU, &ref, &err)) {
		char why[MB_ERR_MAX + 64];

		snprintf(why, sizeof(why), "QEMU " NEW_QEMU " is not installed: %s", err.msg);
		mbt_skip_if(why);
	}
	run(c, "qemu=" NEW_QEMU "\n", 0);
	pf = blocktime_block(mbt_result(c, "postcopy/1"), "postcopy on " NEW_QEMU);
	assert_true(mbt_num(pf, "latency_us") > 0);
	assert_true(mbt_num(pf, "non_vcpu_latency_us") >= 0);
	assert_int_equal(json_array_size(mbt_get(pf, "vcpu_latency_us")), 2);
	json_array_foreach(mbt_get(pf, "vcpu_latency_us"), i, v)
		assert_true(json_is_number(v) && json_number_value(v) >= 0);
	dist = mbt_get(pf, "latency_dist");
	assert_true(json_array_size(mbt_get(dist, "faults")) > 0);
	assert_int_equal(json_array_size(mbt_get(dist, "bucket_from_us")), json_array_size(mbt_get(dist, "faults")));
	json_array_foreach(mbt_get(dist, "faults"), i, v)
		sum += json_number_value(v);
	assert_true(sum > 0);
	assert_true(sum == mbt_num(pf, "faults"));
	print_message("# latency %.3f us (vCPUs %.3f, %.3f; non-vCPU %.3f), %.0f faults timed\n",
		      mbt_num(pf, "latency_us"), json_number_value(json_array_get(mbt_get(pf, "vcpu_latency_us"), 0)),
		      json_number_value(json_array_get(mbt_get(pf, "vcpu_latency_us"), 1)),
		      mbt_num(pf, "non_vcpu_latency_us"), sum);
}

int main(void)
{
	/* Output into a closed pipe must not kill the test before its
	 * teardowns have checked for leftovers. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(blocktime_per_vcpu, setup, teardown),
		cmocka_unit_test_setup_teardown(latencies_on_11_1, setup, teardown),
	};

	return cmocka_run_group_tests_name("postcopy_faults", tests, group_setup, group_teardown);
}
