/* guest_start=snapshot end to end (runners/snapshot.h), on real guests:
 *
 * - a cold boot (guest_start=boot) and the first snapshot start, which
 *   boots and saves the guest's snapshot (or, when an earlier run saved it,
 *   restores it);
 * - a second snapshot start restores that very file, reaches its first
 *   heartbeat in under half the cold boot's time, and its guest passes
 *   memory verify on every migration, there and back;
 * - a snapshot that QEMU cannot load (overwritten with garbage) is
 *   discarded, the guest boots instead and a new snapshot is saved: the
 *   campaign does not fail for it;
 * - each run's result says how its guest started (run.guest_start), only
 *   on the run that started it; nothing is left behind.
 *
 * The guest (96 MiB, 8 MiB set) is this test's own, so its snapshot is
 * too: the test may spoil it without touching anyone else's. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"

#define WORK_PREFIX "/tmp/mb-test-snapshot"
#define CAMPAIGN_DEADLINE_S 180

static char skip_reason[512];
static char postcopy_skip[512];

MBT_CAMPAIGN_FIXTURES(WORK_PREFIX, skip_reason, postcopy_skip, 4)

static const char ini_fmt[] =
	"[global]\n"
	"guest_start=%s\n"
	"memory=96M\n"
	"wss=8M\n"
	"rate=4M\n"
	"max_bandwidth=1G\n"
	"repetitions=2\n"
	"settle=500ms\n"
	"baseline=1s\n"
	"timeout=1min\n"
	"\n"
	"[snap]\n"
	"mode=precopy\n";

/* Runs one campaign with guest_start=`start` and checks what every
 * campaign must: completed, memory intact, the start on run 1 only. */
static const json_t *run_one(struct mbt_campaign *c, const char *start)
{
	char ini[sizeof(ini_fmt) + 16];
	const struct mbt_run r = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = "snapshot", .ini = ini,
				   .deadline_s = CAMPAIGN_DEADLINE_S, .check_leftovers = 1 };
	const json_t *first, *second;

	snprintf(ini, sizeof(ini), ini_fmt, start);
	mbt_run_campaign(c, &r);
	mbt_assert_campaign_ok(c);
	first = mbt_result(c, "snap/1");
	second = mbt_result(c, "snap/2");
	for (const json_t *const *d = (const json_t *const[]){ first, second, NULL }; *d; d++) {
		assert_string_equal(mbt_str(*d, "run.status"), "completed");
		assert_int_equal(mbt_int(*d, "metrics.memory_verify.pages_corrupted"), 0);
		assert_true(mbt_int(*d, "metrics.memory_verify.pages_checked") >= 2048);
		assert_string_equal(mbt_str(*d, "scenario.guest_start"), start);
	}
	/* Run 2 leaves from run 1's destination: no start of its own. */
	assert_null(json_object_get(mbt_get(second, "run"), "guest_start"));
	print_message("# guest_start=%s: %s; first heartbeat %.0f ms after launch\n", start,
		      mbt_str(first, "run.guest_start.how"), mbt_num(first, "run.guest_start.launch_to_first_heartbeat_ms"));
	return first;
}

/* The snapshot file named in `how` ("... snapshot PATH saved/(..."). */
static void snapshot_path(const char *how, char *out, size_t len)
{
	const char *p = strstr(how, "snapshot /");
	size_t n;

	if (!p)
		fail_msg("no snapshot path in '%s'", how);
	p += strlen("snapshot ");
	n = strcspn(p, " ");
	assert_true(n < len);
	memcpy(out, p, n);
	out[n] = '\0';
}

static void snapshot_start(void **state)
{
	struct mbt_campaign *c = *state;
	char path[4096], again[4096];
	const json_t *boot, *first, *restored, *spoiled;
	double cold_ms, restored_ms;
	struct stat st;
	int fd;

	mbt_skip_if(skip_reason);

	boot = run_one(&c[0], "boot");
	assert_string_equal(mbt_str(boot, "run.guest_start.how"), "booted");
	cold_ms = mbt_num(boot, "run.guest_start.launch_to_first_heartbeat_ms");

	first = run_one(&c[1], "snapshot");
	snapshot_path(mbt_str(first, "run.guest_start.how"), path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > (8 << 20));    /* at least the stamped set */

	restored = run_one(&c[2], "snapshot");
	snapshot_path(mbt_str(restored, "run.guest_start.how"), again, sizeof(again));
	assert_string_equal(again, path);
	assert_true(strncmp(mbt_str(restored, "run.guest_start.how"), "restored from snapshot", 22) == 0);
	restored_ms = mbt_num(restored, "run.guest_start.launch_to_first_heartbeat_ms");
	print_message("# cold boot %.0f ms, restored %.0f ms: %.1fx\n", cold_ms, restored_ms, cold_ms / restored_ms);
	if (restored_ms > cold_ms / 2)
		fail_msg("the restored guest took %.0f ms to its first heartbeat, the cold boot %.0f ms", restored_ms,
			 cold_ms);

	/* A snapshot QEMU cannot load: discarded, booted, saved anew. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a migration stream\n", 23), 23);
	close(fd);
	spoiled = run_one(&c[3], "snapshot");
	if (!strstr(mbt_str(spoiled, "run.guest_start.how"), "could not be restored") ||
	    !strstr(mbt_str(spoiled, "run.guest_start.how"), "saved"))
		fail_msg("a spoiled snapshot: '%s'", mbt_str(spoiled, "run.guest_start.how"));
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > (8 << 20));
}

int main(void)
{
	/* Output into a closed pipe must not kill the test before its
	 * teardowns have checked for leftovers. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(snapshot_start, setup, teardown),
	};

	return cmocka_run_group_tests_name("snapshot", tests, group_setup, group_teardown);
}
