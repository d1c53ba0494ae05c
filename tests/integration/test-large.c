/* A large guest end to end: a 4 GiB guest migrated by pre-copy and by
 * post-copy (one campaign, one repetition each), with memory verify on, and
 * assertions that the whole guest moved and arrived intact: completed as
 * the mode asked, every page of the working set checked and none
 * corrupted, at least every page of the guest's RAM sent (most as zero
 * pages), at least the working set sent as normal pages, the downtime
 * bounded and the throughput no higher than the cap allows.
 *
 * The working set is kept small (512 MiB) so that the guest boots in a few
 * seconds: the agent stamps its working set before HELLO, and the host's
 * first touch of guest memory runs at about 230 MiB/s on this machine (a
 * VM itself). The 4 GiB is what is tested: QEMU scans and sends all of it.
 * bench/large.sh measures the bigger guests and the full working sets.
 *
 * Skips, saying why, without $MIGBENCH_BIN, QEMU, a guest image or
 * post-copy, and when MemAvailable is below two copies of the guest plus a
 * margin (the source and the destination QEMU could each touch it all). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench/error.h"

#include "harness.h"

#define WORK_PREFIX "/tmp/mb-test-large"
/* Measured here: about 25 s for the whole campaign; this is the stop. */
#define CAMPAIGN_DEADLINE_S 300

#define GUEST_MIB 4096ULL
#define WSS_MIB 512ULL
#define PAGE 4096ULL
/* What the host keeps for itself beyond the two copies of the guest. */
#define HOST_MARGIN_MIB 1024ULL
/* Downtime bound: 10 x downtime_limit, slack for a loaded 2-core host. */
#define DOWNTIME_BOUND_MS 3000.0
/* max_bandwidth (1 GiB/s) with slack for QEMU's rate limiting in 100 ms
 * slices and for the timestamps migbench takes around them. */
#define CAP_BYTES_S (1024.0 * 1024 * 1024)
#define CAP_SLACK 1.25

static char skip_reason[MB_ERR_MAX + 128];
static char postcopy_skip[MB_ERR_MAX + 128];

/* Pre-copy dirties slowly and converges after a few passes; post-copy
 * dirties 64 MiB/s, so that after the first pass (about 4 s) more is dirty
 * than QEMU would stop for (bandwidth x downtime_limit) and the switch
 * really happens. */
static const char ini[] =
	"[global]\n"
	"memory=4G\n"
	"wss=512M\n"
	"max_bandwidth=1G\n"
	"downtime_limit=300ms\n"
	"timeout=3min\n"
	"baseline=1s\n"
	"settle=1s\n"
	"\n"
	"[precopy]\n"
	"mode=precopy\n"
	"rate=8M\n"
	"\n"
	"[postcopy]\n"
	"mode=postcopy\n"
	"rate=64M\n";

MBT_CAMPAIGN_FIXTURES(WORK_PREFIX, skip_reason, postcopy_skip, 1)

/* MemAvailable in MiB from /proc/meminfo; 0 (and why in `why`) when it
 * cannot be read. */
static uint64_t mem_available_mib(char *why, size_t len)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kib = 0;
	int found = 0;

	if (!f) {
		snprintf(why, len, "cannot read /proc/meminfo: %s", strerror(errno));
		return 0;
	}
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "MemAvailable: %llu kB", &kib) == 1;
	fclose(f);
	if (!found)
		snprintf(why, len, "no MemAvailable line in /proc/meminfo");
	return kib / 1024;
}

/* Skips (saying why) unless two copies of the guest and the margin fit. */
static void skip_unless_memory(void)
{
	char why[256] = "";
	uint64_t need = 2 * GUEST_MIB + HOST_MARGIN_MIB, avail = mem_available_mib(why, sizeof(why));

	if (!why[0] && avail < need)
		snprintf(why, sizeof(why),
			 "MemAvailable is %" PRIu64 " MiB, a %llu MiB guest needs %" PRIu64
			 " MiB here (source and destination, and %llu MiB for the host)",
			 avail, GUEST_MIB, need, HOST_MARGIN_MIB);
	mbt_skip_if(why);
}

/* What both modes must show. */
static void assert_large_migration(const json_t *doc, const char *mode)
{
	double downtime = mbt_num(doc, "metrics.downtime_ms"), total_ms = mbt_num(doc, "metrics.total_time_ms");
	double bytes = mbt_num(doc, "metrics.pages_transferred.bytes.total");

	if (strcmp(mbt_str(doc, "run.status"), "completed"))
		fail_msg("%s: status %s: %s", mode, mbt_str(doc, "run.status"),
			 json_string_value(json_object_get(mbt_get(doc, "run"), "error")) ?: "");
	if (strcmp(mbt_str(doc, "run.completed_as"), mode))
		fail_msg("%s: completed as %s", mode, mbt_str(doc, "run.completed_as"));
	assert_int_equal(mbt_int(doc, "scenario.memory"), GUEST_MIB << 20);
	/* QEMU's view: RAM of the guest (plus its ROMs), not a smaller guest. */
	assert_true(mbt_num(doc, "qemu_reported.ram.total") >= (double)(GUEST_MIB << 20));

	assert_int_equal(mbt_int(doc, "metrics.memory_verify.pages_checked"), (WSS_MIB << 20) / PAGE);
	assert_int_equal(mbt_int(doc, "metrics.memory_verify.pages_corrupted"), 0);

	/* Every page of the guest went over once at least (most as zero
	 * pages), and the working set's pages as normal ones. */
	assert_int_equal(mbt_int(doc, "metrics.pages_transferred.page_size"), PAGE);
	if (mbt_num(doc, "metrics.pages_transferred.total") < (double)((GUEST_MIB << 20) / PAGE))
		fail_msg("%s: %.0f pages sent, fewer than the guest's %llu", mode,
			 mbt_num(doc, "metrics.pages_transferred.total"), (GUEST_MIB << 20) / PAGE);
	if (mbt_num(doc, "metrics.pages_transferred.normal") < (double)((WSS_MIB << 20) / PAGE))
		fail_msg("%s: %.0f normal pages sent, fewer than the working set's %llu", mode,
			 mbt_num(doc, "metrics.pages_transferred.normal"), (WSS_MIB << 20) / PAGE);
	if (bytes < (double)(WSS_MIB << 20))
		fail_msg("%s: %.0f bytes sent, less than the working set", mode, bytes);

	if (!(downtime > 0 && downtime < DOWNTIME_BOUND_MS))
		fail_msg("%s: downtime %.3f ms, not in (0, %.0f)", mode, downtime, DOWNTIME_BOUND_MS);
	if (!(total_ms > downtime))
		fail_msg("%s: total time %.3f ms not above the downtime %.3f ms", mode, total_ms, downtime);
	if (bytes / (total_ms / 1000) > CAP_BYTES_S * CAP_SLACK)
		fail_msg("%s: %.0f bytes in %.3f ms is more than max_bandwidth allows", mode, bytes, total_ms);
	print_message("# %s: total %.3f ms, downtime %.3f ms, resume %.3f ms, %.1f MiB sent (%.0f pages, %.0f normal), "
		      "%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " pages corrupted\n",
		      mode, total_ms, downtime, mbt_num(doc, "metrics.resume_time_ms"), bytes / (1 << 20),
		      mbt_num(doc, "metrics.pages_transferred.total"), mbt_num(doc, "metrics.pages_transferred.normal"),
		      mbt_int(doc, "metrics.memory_verify.pages_corrupted"),
		      mbt_int(doc, "metrics.memory_verify.pages_checked"));
}

static void guest_4g(void **state)
{
	struct mbt_campaign *c = *state;
	const struct mbt_run r = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = "large", .ini = ini,
				   .qemu_opt = 1, .deadline_s = CAMPAIGN_DEADLINE_S, .check_leftovers = 1 };
	const json_t *doc;

	mbt_skip_if(skip_reason);
	mbt_skip_if(postcopy_skip);
	skip_unless_memory();
	mbt_run_campaign(c, &r);
	mbt_assert_campaign_ok(c);
	print_message("# campaign took %.1f s\n", c->seconds);

	assert_large_migration(mbt_result(c, "precopy/1"), "precopy");
	doc = mbt_result(c, "postcopy/1");
	assert_large_migration(doc, "postcopy");
	/* Post-copy: the destination ran while pages were still fetched. */
	assert_true(mbt_num(doc, "metrics.resume_time_ms") > 0);
	assert_true(mbt_num(doc, "metrics.pages_transferred.postcopy") > 0);
}

int main(void)
{
	/* Output into a closed pipe must not kill the test before its
	 * teardowns have checked for leftovers. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(guest_4g, setup, teardown),
	};

	return cmocka_run_group_tests_name("large", tests, group_setup, group_teardown);
}
