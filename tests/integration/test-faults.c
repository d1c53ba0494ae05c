/* Faults against real QEMU guests: what migbench does when its own process
 * is hung up on or killed, when the disk fills under a campaign, and when a
 * QEMU dies mid-migration. Each test checks what the result says, the exit
 * status, and that nothing is left running or lying around; the SIGKILL
 * test also finishes the killed campaign with --resume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/command.h"
#include "bench/error.h"

#include "harness.h"

#define WORK_PREFIX "/tmp/mb-test-faults"
#define CAMPAIGN_DEADLINE_S 600

static char skip_reason[MB_ERR_MAX + 128];
static char postcopy_skip[MB_ERR_MAX + 128];

/* A small guest; a bandwidth that makes one pass of its memory take a few
 * seconds, so that a fault lands inside the migration under TCG. */
static const char slow_ini[] =
	"[global]\n"
	"memory=128M\n"
	"wss=32M\n"
	"max_bandwidth=16M\n"
	"downtime_limit=300ms\n"
	"timeout=2min\n"
	"settle=0\n"
	"\n"
	"[precopy]\n"
	"mode=precopy\n"
	"rate=1M\n";

/* 160M: the guest keeps about 80M for itself (bench/scenario_keys.c). */
static const char postcopy_ini[] =
	"[global]\n"
	"memory=160M\n"
	"wss=64M\n"
	"max_bandwidth=16M\n"
	"timeout=2min\n"
	"settle=0\n"
	"\n"
	"[postcopy]\n"
	"mode=postcopy\n"
	"rate=16M\n";

/* ---- helpers ------------------------------------------------------------------ */

static json_t *manifest_now(const struct mbt_campaign *c)
{
	char path[PATH_MAX + 100];

	snprintf(path, sizeof(path), "%s/campaign.json", c->path);
	return json_load_file(path, 0, NULL);
}

/* The repetition the manifest says is under way, or 0. */
static int in_progress(const struct mbt_campaign *c)
{
	json_t *m = manifest_now(c);
	int rep = (int)json_integer_value(json_object_get(json_object_get(m, "in_progress"), "repetition"));

	json_decref(m);
	return rep;
}

static int file_exists(const struct mbt_campaign *c, const char *rel)
{
	char path[PATH_MAX + 200];

	snprintf(path, sizeof(path), "%s/%s", c->path, rel);
	return access(path, F_OK) == 0;
}

/* Whether QEMU `pid` has a thread whose name begins with one of `names`
 * (QEMU names its threads with debug-threads=on; the names changed in 9.x). */
static int has_thread(pid_t pid, const char *const names[])
{
	char dir[64], path[PATH_MAX], comm[64];
	struct dirent *e;
	DIR *d;
	int found = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			for (size_t i = 0; names[i] && !found; i++)
				found = !strncmp(comm, names[i], strlen(names[i]));
		fclose(f);
	}
	closedir(d);
	return found;
}

/* The destination starts its post-copy threads when the source switches. */
static int in_postcopy(pid_t dst)
{
	static const char *const names[] = { "mig/dst/fault", "mig/dst/listen", "postcopy/", "fault-", NULL };

	return has_thread(dst, names);
}

/* The source's migration thread exists from `migrate` to the end. */
static int migrating(pid_t src)
{
	static const char *const names[] = { "mig/src/main", "live_migration", NULL };

	return has_thread(src, names);
}

static void run(struct mbt_campaign *c, const char *name, const char *ini, const char *const *args,
		int (*during)(struct mbt_campaign *, double, void *), void *arg)
{
	const struct mbt_run r = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = name, .ini = ini,
				   .args = args, .qemu_opt = 1, .deadline_s = CAMPAIGN_DEADLINE_S,
				   .check_leftovers = 1, .during = during, .arg = arg };

	mbt_run_campaign(c, &r);
}

static void assert_nothing_left(const struct mbt_campaign *c)
{
	if (c->leftover[0])
		fail_msg("after campaign %s: %s", c->path, c->leftover);
}

static const char *manifest_state(const struct mbt_campaign *c)
{
	return json_string_value(json_object_get(c->manifest, "state")) ?: "(none)";
}

/* ---- SIGHUP: a closed terminal ends the campaign in order -------------------------- */

static int hang_up_in_run_1(struct mbt_campaign *c, double t, void *arg)
{
	pid_t src = mbt_qemu_pid("source");

	/* Once the guest is up and the first run is under way. */
	if (!src || in_progress(c) != 1 || !mbt_qemu_pid("destination"))
		return 0;
	kill(c->pid, SIGHUP);
	*(pid_t *)arg = src;
	return 1;
}

static void hangup_ends_the_campaign_in_order(void **state)
{
	struct mbt_campaign *c = *state;
	static const char *const args[] = { "--repetitions=3", NULL };
	pid_t src = 0;

	mbt_skip_if(skip_reason);
	run(c, "hangup", slow_ini, args, hang_up_in_run_1, &src);
	assert_int_not_equal(src, 0);
	/* migbench itself exits (not killed by the signal), failing. */
	assert_int_equal(c->signal, 0);
	assert_int_equal(c->status, MB_EXIT_FAILED);
	assert_non_null(c->manifest);
	assert_string_equal(manifest_state(c), "interrupted");
	assert_true(json_is_null(json_object_get(c->manifest, "in_progress")));
	for (int rep = 1; rep <= 3; rep++) {
		char key[32];

		snprintf(key, sizeof(key), "precopy/%d", rep);
		assert_string_equal(mbt_str(mbt_result(c, key), "run.status"), "cancelled");
	}
	assert_int_equal(kill(src, 0) == 0, 0);
	assert_nothing_left(c);
}

/* ---- Ctrl-C while the guest boots acts at once ------------------------------------- */

static int interrupt_the_boot(struct mbt_campaign *c, double t, void *arg)
{
	double *sent = arg;

	/* The source QEMU exists, and its guest is still booting (several
	 * seconds under TCG; no destination yet). */
	if (!mbt_qemu_pid("source") || mbt_qemu_pid("destination"))
		return 0;
	kill(c->pid, SIGINT);
	*sent = t;
	return 1;
}

static void interrupt_during_boot_acts_at_once(void **state)
{
	struct mbt_campaign *c = *state;
	double sent = -1;

	mbt_skip_if(skip_reason);
	run(c, "boot-interrupted", slow_ini, NULL, interrupt_the_boot, &sent);
	assert_true(sent >= 0);
	print_message("# exited %.2f s after SIGINT\n", c->seconds - sent);
	/* It used to wait for the boot to finish (about 5 s). */
	assert_true(c->seconds - sent < 2.0);
	assert_int_equal(c->status, MB_EXIT_FAILED);
	assert_string_equal(mbt_str(mbt_result(c, "precopy/1"), "run.status"), "cancelled");
	assert_string_equal(manifest_state(c), "interrupted");
	assert_nothing_left(c);
}

/* ---- SIGKILL: QEMU dies with migbench; the next run cleans up; --resume ------------ */

struct kill_plan {
	pid_t src, dst;
};

static int kill_in_run_2(struct mbt_campaign *c, double t, void *arg)
{
	struct kill_plan *k = arg;

	pid_t pids[2];

	/* Run 2 migrates the guest back: both QEMUs are "destination-N". */
	if (!file_exists(c, "precopy/1.json") || in_progress(c) != 2 || mbt_qemu_pids("", pids, 2) != 2)
		return 0;
	k->src = pids[0];
	k->dst = pids[1];
	kill(c->pid, SIGKILL);
	return 1;
}

static void sigkill_then_resume(void **state)
{
	struct mbt_campaign *c = *state, *resumed = c + 1;
	static const char *const args[] = { "--repetitions=2", NULL };
	struct kill_plan k = { 0 };
	char why[PATH_MAX + 8192] = "", first_start[64];
	const struct mbt_run again = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = "resume",
				       .resume = c->path, .deadline_s = CAMPAIGN_DEADLINE_S,
				       .check_leftovers = 1 };
	double t0;

	mbt_skip_if(skip_reason);
	run(c, "killed", slow_ini, args, kill_in_run_2, &k);
	assert_int_equal(c->signal, SIGKILL);
	assert_true(k.src > 0 && k.dst > 0);
	/* Both QEMUs die with migbench (PR_SET_PDEATHSIG), within moments. */
	t0 = mbt_now_s();
	while ((kill(k.src, 0) == 0 || kill(k.dst, 0) == 0) && mbt_now_s() - t0 < 5)
		mbt_sleep_ms(20);
	assert_true(kill(k.src, 0) < 0 && errno == ESRCH);
	assert_true(kill(k.dst, 0) < 0 && errno == ESRCH);
	assert_int_equal(mbt_our_qemus(why, sizeof(why)), 0);
	/* The manifest says how far it got. */
	assert_non_null(c->manifest);
	assert_string_equal(manifest_state(c), "running");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c->manifest, "in_progress"),
							    "repetition")), 2);
	assert_string_equal(mbt_str(mbt_result(c, "precopy/1"), "run.status"), "completed");
	snprintf(first_start, sizeof(first_start), "%s", mbt_str(mbt_result(c, "precopy/1"), "run.start_time"));
	/* What it left: its run directories (the leftover check saw them). */
	assert_non_null(strstr(c->leftover, "run directory"));

	/* The next run removes them, and finishes the campaign. */
	mbt_run_campaign(resumed, &again);
	assert_int_equal(resumed->status, MB_EXIT_OK);
	assert_non_null(strstr(resumed->err, "removed what a migbench that died left"));
	assert_non_null(strstr(resumed->out, "1 run(s) kept"));
	assert_non_null(resumed->manifest);
	assert_string_equal(manifest_state(resumed), "finished");
	assert_string_equal(mbt_str(mbt_result(resumed, "precopy/1"), "run.start_time"), first_start);
	assert_string_equal(mbt_str(mbt_result(resumed, "precopy/2"), "run.status"), "completed");
	assert_nothing_left(resumed);
}

/* ---- a full disk: a result not written is a failed run ---------------------------- */

struct disk {
	char mount[PATH_MAX + 16];
	int mounted;
	int filled;
};

static void mount_small_disk(struct mbt_campaign *c, void *arg)
{
	struct disk *d = arg;

	snprintf(d->mount, sizeof(d->mount), "%s/out", c->work);
	if (mkdir(d->mount, 0755) == 0 && mount("migbench-test", d->mount, "tmpfs", 0, "size=4m") == 0)
		d->mounted = 1;
}

static int fill_disk_in_run_1(struct mbt_campaign *c, double t, void *arg)
{
	struct disk *d = arg;
	char path[PATH_MAX + 32], block[65536];
	int fd;

	if (!d->mounted || in_progress(c) != 1 || !mbt_qemu_pid("destination"))
		return 0;
	snprintf(path, sizeof(path), "%s/filler", d->mount);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 1;
	memset(block, 0xa5, sizeof(block));
	while (write(fd, block, sizeof(block)) > 0)
		;
	close(fd);
	d->filled = 1;
	return 1;
}

static void full_disk_fails_the_run(void **state)
{
	struct mbt_campaign *c = *state;
	static const char *const args[] = { "--repetitions=2", NULL };
	const struct mbt_run r = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = "full", .ini = slow_ini,
				   .args = args, .qemu_opt = 1, .deadline_s = CAMPAIGN_DEADLINE_S,
				   .check_leftovers = 0, .before = mount_small_disk,
				   .during = fill_disk_in_run_1, .arg = NULL };
	struct disk d = { .mounted = 0 };
	struct mbt_run rr = r;
	char why[PATH_MAX + 8192];

	mbt_skip_if(skip_reason);
	rr.arg = &d;
	mbt_run_campaign(c, &rr);
	if (!d.mounted) {
		print_message("# SKIP: cannot mount a small tmpfs here (needs root): %s\n", strerror(errno));
		skip();
	}
	umount2(d.mount, MNT_DETACH);
	assert_true(d.filled);
	assert_int_equal(c->status, MB_EXIT_FAILED);
	assert_non_null(strstr(c->err, "No space left on device"));
	assert_non_null(strstr(c->err, "could not be written"));
	/* No claim of a completed run that is not on disk. */
	assert_null(strstr(c->out, "1/1"));
	assert_null(strstr(c->out, "2/2"));
	mbt_leftovers(c->pid, NULL, NULL, why, sizeof(why));
	if (why[0])
		fail_msg("%s", why);
}

/* ---- QEMU dies mid-migration -------------------------------------------------------- */

static int kill_source_in_precopy(struct mbt_campaign *c, double t, void *arg)
{
	pid_t src = mbt_qemu_pid("source");

	if (!src || in_progress(c) != 1 || !migrating(src))
		return 0;
	kill(src, SIGKILL);
	*(pid_t *)arg = src;
	return 1;
}

static void source_killed_in_precopy(void **state)
{
	struct mbt_campaign *c = *state;
	const json_t *doc;
	pid_t src = 0;

	mbt_skip_if(skip_reason);
	run(c, "source-killed", slow_ini, NULL, kill_source_in_precopy, &src);
	assert_int_not_equal(src, 0);
	assert_int_equal(c->status, MB_EXIT_FAILED);
	doc = mbt_result(c, "precopy/1");
	assert_string_equal(mbt_str(doc, "run.status"), "failed");
	print_message("# error: %s\n", mbt_str(doc, "run.error"));
	assert_non_null(strstr(mbt_str(doc, "run.error"), "source QEMU"));
	assert_non_null(strstr(mbt_str(doc, "run.error"), "killed by signal 9"));
	/* A healthy guest's boot lines are not blamed ("NMI watchdog: ..."). */
	assert_null(strstr(mbt_str(doc, "run.error"), "guest kernel:"));
	assert_string_equal(manifest_state(c), "finished");
	assert_nothing_left(c);
}

static int kill_destination_in_postcopy(struct mbt_campaign *c, double t, void *arg)
{
	pid_t dst = mbt_qemu_pid("destination");

	if (!dst || in_progress(c) != 1 || !in_postcopy(dst))
		return 0;
	kill(dst, SIGKILL);
	*(pid_t *)arg = dst;
	return 1;
}

static void destination_killed_in_postcopy(void **state)
{
	struct mbt_campaign *c = *state;
	const json_t *doc;
	const char *error;
	pid_t dst = 0;

	mbt_skip_if(skip_reason);
	mbt_skip_if(postcopy_skip);
	run(c, "destination-killed", postcopy_ini, NULL, kill_destination_in_postcopy, &dst);
	assert_int_not_equal(dst, 0);
	assert_int_equal(c->status, MB_EXIT_FAILED);
	doc = mbt_result(c, "postcopy/1");
	assert_string_equal(mbt_str(doc, "run.status"), "failed");
	error = mbt_str(doc, "run.error");
	print_message("# error: %s\n", error);
	/* The guest's memory was split between the hosts: it is gone, and
	 * the result must say so. */
	assert_non_null(strstr(error, "guest lost"));
	assert_nothing_left(c);
}

/* ---- a post-copy link cut, recovered or not ----------------------------------------- */

static int has_status(const json_t *doc, const char *side, const char *status)
{
	size_t i;
	const json_t *e;

	json_array_foreach(mbt_get(doc, "events"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "side")) ?: "", side) &&
		    !strcmp(json_string_value(json_object_get(e, "event")) ?: "", "MIGRATION") &&
		    !strcmp(json_string_value(json_object_get(json_object_get(e, "data"), "status")) ?: "", status))
			return 1;
	return 0;
}

static void postcopy_link_cut_is_recovered(void **state)
{
	struct mbt_campaign *c = *state;
	static const char *const args[] = { "--postcopy_pause=1s", NULL };
	const json_t *doc;
	double paused, recovery, gap;

	mbt_skip_if(skip_reason);
	mbt_skip_if(postcopy_skip);
	run(c, "link-cut", postcopy_ini, args, NULL, NULL);
	assert_int_equal(c->status, MB_EXIT_OK);
	doc = mbt_result(c, "postcopy/1");
	assert_string_equal(mbt_str(doc, "run.status"), "completed");
	/* Both sides went through the pause and the recovery. */
	assert_true(has_status(doc, "source", "postcopy-paused"));
	assert_true(has_status(doc, "destination", "postcopy-paused"));
	assert_true(has_status(doc, "source", "postcopy-recover"));
	assert_true(has_status(doc, "destination", "postcopy-recover"));
	paused = mbt_num(doc, "metrics.postcopy_paused_ms");
	recovery = mbt_num(doc, "metrics.postcopy_recovery_ms");
	gap = mbt_num(doc, "metrics.guest_downtime_ms");
	print_message("# paused %.1f ms, recovery %.1f ms, guest gap %.1f ms\n", paused, recovery, gap);
	/* The link stayed cut for the scenario's second, plus the recovery. */
	assert_true(paused >= 1000.0 && paused < 1000.0 + 5000.0);
	assert_true(recovery > 0 && recovery < paused);
	/* Cross-check: the guest, waiting for pages that could not come, felt
	 * the cut (its heartbeats stopped for most of it). */
	assert_true(gap >= 0.8 * paused);
	/* Nothing was lost on the way. */
	assert_int_equal(mbt_int(doc, "metrics.memory_verify.pages_corrupted"), 0);
	assert_true(mbt_int(doc, "metrics.memory_verify.pages_checked") > 0);
	assert_nothing_left(c);
}

static void postcopy_link_cut_unrecovered_loses_the_guest(void **state)
{
	struct mbt_campaign *c = *state;
	static const char *const args[] = { "--postcopy_pause=200ms", "--postcopy_recover=no", NULL };
	const json_t *doc;

	mbt_skip_if(skip_reason);
	mbt_skip_if(postcopy_skip);
	run(c, "link-cut-lost", postcopy_ini, args, NULL, NULL);
	assert_int_equal(c->status, MB_EXIT_FAILED);
	doc = mbt_result(c, "postcopy/1");
	assert_string_equal(mbt_str(doc, "run.status"), "failed");
	assert_non_null(strstr(mbt_str(doc, "run.error"), "guest lost"));
	assert_non_null(strstr(mbt_str(doc, "run.error"), "not recovered"));
	assert_nothing_left(c);
}

/* ---- fixtures -------------------------------------------------------------------- */

static int group_setup(void **state)
{
	return mbt_group_setup(WORK_PREFIX "-XXXXXX", skip_reason, sizeof(skip_reason), postcopy_skip,
			       sizeof(postcopy_skip));
}

static int group_teardown(void **state)
{
	return mbt_group_teardown(0);
}

static int setup(void **state)
{
	return mbt_campaigns_setup(state, 2);
}

static int teardown(void **state)
{
	return mbt_campaigns_teardown(state, 2, WORK_PREFIX);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hangup_ends_the_campaign_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupt_during_boot_acts_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(sigkill_then_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(full_disk_fails_the_run, setup, teardown),
		cmocka_unit_test_setup_teardown(source_killed_in_precopy, setup, teardown),
		cmocka_unit_test_setup_teardown(destination_killed_in_postcopy, setup, teardown),
		cmocka_unit_test_setup_teardown(postcopy_link_cut_is_recovered, setup, teardown),
		cmocka_unit_test_setup_teardown(postcopy_link_cut_unrecovered_loses_the_guest, setup, teardown),
	};

	return cmocka_run_group_tests_name("faults", tests, group_setup, group_teardown);
}
