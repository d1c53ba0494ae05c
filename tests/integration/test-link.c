/* The shaped link end to end (runners/link.h): one small guest migrated
 * over links of two bandwidths and two delays, in one campaign (the guest
 * boots once; the link is reconfigured between scenarios).
 *
 * - the stream's throughput over the link stays within the configured
 *   bandwidth (5 % tolerance: the window starts at `migrate`, before the
 *   first byte) and uses a fair share of the slower one;
 * - the total time grows as the link shrinks (a third of the bandwidth:
 *   at least 1.5 x the time);
 * - post-copy's fault latency grows with the RTT (2 ms against 50 ms), the
 *   median of three runs per RTT: metrics.postcopy_faults.latency_us on
 *   QEMU 11.1 when installed, else QEMU's blocktime per page request (both
 *   the destination's figures);
 * - the link's counters agree with QEMU's: what it delivered is at least
 *   what QEMU says it sent; nothing is left behind (namespaces, QEMUs).
 *
 * Skips, saying why, without root, TUN or network namespaces (it makes a
 * link first), and without $MIGBENCH_BIN, QEMU, a guest image or
 * post-copy. No tc: the link is migbench's own (this kernel has no netem). */
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
#include <unistd.h>

#include <jansson.h>

#include "bench/command.h"
#include "runners/link.h"
#include "runners/qemu_versions.h"

#include "harness.h"

#define WORK_PREFIX "/tmp/mb-test-link"
#define CAMPAIGN_DEADLINE_S 240
#define NEW_QEMU "11.1"
/* Post-copy runs per RTT: one run's mean fault wait can be inflated many
 * times by one starved burst on a loaded host (seen: 114.7 ms at 2 ms RTT),
 * so each RTT is its runs' median. */
#define PC_REPS 3
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static char skip_reason[MB_ERR_MAX + 128];
static char postcopy_skip[MB_ERR_MAX + 128];

/* 128 MiB, 2 vCPUs dirtying 8 MiB/s of a 32 MiB set: small enough that a
 * 160 Mbit/s link moves it in a few seconds, busy enough that post-copy's
 * vCPUs fault on pages still at the source. QEMU's own cap is far above
 * every link. */
static const char ini_fmt[] =
	"[global]\n"
	"%s"
	"memory=128M\n"
	"vcpus=2\n"
	"wss=32M\n"
	"rate=8M\n"
	"max_bandwidth=1G\n"
	"timeout=1min\n"
	"settle=500ms\n"
	"baseline=1s\n"
	"\n"
	"[slow]\n"
	"link_bandwidth=160Mbit\n"
	"link_delay=1ms\n"
	"\n"
	"[fast]\n"
	"link_bandwidth=480Mbit\n"
	"link_delay=1ms\n"
	"\n"
	"[near]\n"
	"mode=postcopy\n"
	"postcopy_preempt=yes\n"
	"repetitions=" STRINGIFY(PC_REPS) "\n"
	"link_delay=1ms\n"
	"\n"
	"[far]\n"
	"mode=postcopy\n"
	"postcopy_preempt=yes\n"
	"repetitions=" STRINGIFY(PC_REPS) "\n"
	"link_delay=25ms\n";

static int group_setup(void **state)
{
	struct mb_link_settings s = { .delay_us = 1000 };
	struct mb_link *l = NULL;
	struct mb_err err = { 0 };

	if (mbt_group_setup(WORK_PREFIX "-XXXXXX", skip_reason, sizeof(skip_reason), postcopy_skip,
			    sizeof(postcopy_skip)))
		return -1;
	if (skip_reason[0])
		return 0;
	/* What the runner will do, once: namespaces, TUN devices, ip(8). */
	if (geteuid() != 0)
		snprintf(skip_reason, sizeof(skip_reason), "a shaped link needs root (network namespaces)");
	else if (mb_link_create(&s, &l, &err))
		snprintf(skip_reason, sizeof(skip_reason), "cannot make a shaped link here: %s", err.msg);
	mb_link_destroy(l);
	return 0;
}

static int group_teardown(void **state) { return mbt_group_teardown(0); }
static int setup(void **state) { return mbt_campaigns_setup(state, 1); }
static int teardown(void **state) { return mbt_campaigns_teardown(state, 1, WORK_PREFIX); }

/* Post-copy's mean wait for a page: QEMU 11.1's fault latency, else the
 * blocktime every QEMU with postcopy-blocktime gives, per page request. */
static double fault_wait_ms(const json_t *doc, const char **what)
{
	const json_t *pf = mbt_get(doc, "metrics.postcopy_faults");
	const json_t *lat = json_object_get(pf, "latency_us");
	double requests = mbt_num(doc, "qemu_reported.ram.postcopy-requests");

	assert_string_equal(mbt_str(doc, "run.completed_as"), "postcopy");
	if (json_is_number(lat) && json_number_value(lat) > 0) {
		*what = "fault latency";
		return json_number_value(lat) / 1000.0;
	}
	*what = "blocktime per page request";
	assert_true(requests > 0);
	return mbt_num(pf, "blocktime_ms") / requests;
}

static void check_common(const json_t *doc, const char *name)
{
	double qemu_bytes = mbt_num(doc, "qemu_reported.ram.transferred");
	double link_bytes = mbt_num(doc, "link.source_to_destination.delivered_bytes");

	assert_string_equal(mbt_str(doc, "run.status"), "completed");
	assert_int_equal(mbt_int(doc, "metrics.memory_verify.pages_corrupted"), 0);
	/* The stream went over the link, all of it (TCP/IP headers on top). */
	if (link_bytes < qemu_bytes)
		fail_msg("%s: the link delivered %.0f bytes, QEMU says it sent %.0f", name, link_bytes, qemu_bytes);
	assert_true(mbt_num(doc, "link.destination_to_source.packets") > 0);
}

/* The median fault wait of scenario `name`'s runs, each checked; the runs'
 * figures go into `each` for the message. */
static double median_wait_ms(const struct mbt_campaign *c, const char *name, const char **what, char *each,
			     size_t len)
{
	double w[PC_REPS];
	size_t used = 0;

	each[0] = '\0';
	for (int i = 0; i < PC_REPS; i++) {
		char key[64];
		const json_t *doc;
		const char *this_what;

		snprintf(key, sizeof(key), "%s/%d", name, i + 1);
		doc = mbt_result(c, key);
		check_common(doc, key);
		w[i] = fault_wait_ms(doc, &this_what);
		if (i)
			assert_string_equal(this_what, *what);
		*what = this_what;
		used += snprintf(each + used, used < len ? len - used : 0, "%s%.1f", i ? " " : "", w[i]);
	}
	qsort(w, PC_REPS, sizeof(w[0]), mbt_by_value);
	return w[PC_REPS / 2];
}

static void shaped_link(void **state)
{
	struct mbt_campaign *c = *state;
	char ini[sizeof(ini_fmt) + 64], qemu_line[32] = "";
	const struct mbt_run r = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = "link", .ini = ini,
				   .deadline_s = CAMPAIGN_DEADLINE_S, .check_leftovers = 1 };
	const json_t *slow, *fast, *far;
	double slow_share, fast_share, t_slow, t_fast, w_near, w_far;
	const char *what = NULL, *what_far = NULL;
	char each_near[128], each_far[128];
	struct mb_qemu_ref ref;
	struct mb_err err = { 0 };

	mbt_skip_if(skip_reason);
	mbt_skip_if(postcopy_skip);
	/* 11.1 times each fault; older QEMUs only sum the vCPUs' blocktime. */
	if (!mb_qemu_resolve(NEW_QEMU, &ref, &err))
		snprintf(qemu_line, sizeof(qemu_line), "qemu=" NEW_QEMU "\n");
	snprintf(ini, sizeof(ini), ini_fmt, qemu_line);
	mbt_run_campaign(c, &r);
	mbt_assert_campaign_ok(c);
	slow = mbt_result(c, "slow/1");
	fast = mbt_result(c, "fast/1");
	far = mbt_result(c, "far/1");
	check_common(slow, "slow");
	check_common(fast, "fast");

	assert_int_equal(mbt_int(slow, "link.settings.bandwidth_bytes_per_s"), 20000000);
	assert_true(mbt_num(far, "link.settings.rtt_ms") == 50.0);
	slow_share = mbt_num(slow, "link.throughput.of_bandwidth");
	fast_share = mbt_num(fast, "link.throughput.of_bandwidth");
	t_slow = mbt_num(slow, "metrics.total_time_ms");
	t_fast = mbt_num(fast, "metrics.total_time_ms");
	print_message("# 160 Mbit/s: %.1f Mbit/s achieved (%.0f %%), total %.0f ms; 480 Mbit/s: %.1f Mbit/s "
		      "(%.0f %%), total %.0f ms\n", mbt_num(slow, "link.throughput.mbit_per_s"), slow_share * 100,
		      t_slow, mbt_num(fast, "link.throughput.mbit_per_s"), fast_share * 100, t_fast);
	/* Never above the link; the slow link is the bottleneck, so used. */
	assert_true(slow_share <= 1.05);
	assert_true(fast_share <= 1.05);
	assert_true(slow_share >= 0.6);
	if (t_slow < 1.5 * t_fast)
		fail_msg("a third of the bandwidth took %.0f ms against %.0f ms: less than 1.5 x", t_slow, t_fast);

	w_near = median_wait_ms(c, "near", &what, each_near, sizeof(each_near));
	w_far = median_wait_ms(c, "far", &what_far, each_far, sizeof(each_far));
	print_message("# post-copy %s (%s), median of " STRINGIFY(PC_REPS) " runs: RTT 2 ms %.3f ms (%s), RTT 50 ms %.3f ms "
		      "(%s)\n", what, mbt_str(far, "hypervisor.destination.version"), w_near, each_near, w_far,
		      each_far);
	assert_string_equal(what, what_far);
	/* A fault waits for its request and the page (one RTT, less the faults
	 * the background stream answers first) plus the host's scheduling,
	 * which a loaded host adds to both RTTs alike: so the 48 ms more RTT
	 * must show as at least half of it, whatever the load adds. */
	if (w_far - w_near < (50.0 - 2.0) / 2)
		fail_msg("post-copy %s did not grow with the RTT: median %.3f ms at 2 ms (%s), %.3f ms at 50 ms "
			 "(%s), less than 24 ms apart", what, w_near, each_near, w_far, each_far);
}

int main(void)
{
	/* Output into a closed pipe must not kill the test before its
	 * teardowns have checked for leftovers. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(shaped_link, setup, teardown),
	};

	return cmocka_run_group_tests_name("link", tests, group_setup, group_teardown);
}
