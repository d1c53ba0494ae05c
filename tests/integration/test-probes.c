/* The energy, counters, placement and topology probes on one real
 * post-copy migration: `$MIGBENCH_BIN run --mode=postcopy --rate=48M`
 * (48 MiB/s of dirtying leaves more after the first pass than the stop
 * threshold, so the switch to post-copy really happens), then assertions on
 * its result file:
 *   - `counters`: software counters (task-clock, page-faults,
 *     context-switches, cpu-migrations) and CPU time for every phase, for
 *     both QEMUs; the source's migration thread found by name; the
 *     destination faulting while post-copy pages arrive; hardware counters
 *     either counted or unavailable with a reason;
 *   - `energy`: what `migbench doctor` predicts for this host (here: no
 *     RAPL, so available false with a reason);
 *   - `placement` (nothing bound) and `host.topology` with the campaign's
 *     topology.xml beside the results.
 * The campaign runs in a mkdtemp folder with a private $XDG_RUNTIME_DIR;
 * afterwards no QEMU, run directory or temporary file may be left.
 *
 * Skips, saying why, without $MIGBENCH_BIN, QEMU, a guest image or
 * userfaultfd. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/host_probe.h"
#include "probes/counters_series.h"
#include "workloads/image/image.h"

extern char **environ;

#define DEADLINE_S 300

static char runtime_dir[PATH_MAX], work[PATH_MAX], campaign[PATH_MAX + 64];
static char skip_reason[MB_ERR_MAX + 128];
static const char *migbench_bin;
static json_t *doc;             /* the run's result */
static int status = -2;
static double seconds;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *qemu_binary(void)
{
	const char *q = getenv("MIGBENCH_QEMU");

	return q && *q ? q : MB_DEFAULT_QEMU;
}

static int qemu_exists(const char *qemu)
{
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];

	if (strchr(qemu, '/'))
		return access(qemu, X_OK) == 0;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, p, qemu);
		if (access(candidate, X_OK) == 0)
			return 1;
		p += len + (p[len] == ':');
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void remove_tree(const char *path)
{
	if (path[0] && !strncmp(path, "/tmp/mb-test-probes-", 20))
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* QEMUs whose command line points into our runtime dir (killed, named). */
static int our_qemus(char *why, size_t len)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], cmd[8192];
		ssize_t n;
		int fd, mine = 0;
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		cmd[n] = '\0';
		if (!strstr(cmd, "qemu-system"))
			continue;
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1)
			if (strstr(cmd + i, runtime_dir))
				mine = 1;
		if (mine && !found++)
			snprintf(why, len, "QEMU pid %d is still running", (int)pid);
		if (mine)
			kill(pid, SIGKILL);
	}
	closedir(d);
	return found;
}

/* Anything in the campaign folder but folders, *.json and topology.xml. */
static int stray_file(const char *dir, char *why, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[PATH_MAX + 256];
		struct stat st;
		size_t n = strlen(e->d_name);

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			found = stray_file(path, why, len);
		else if (strcmp(e->d_name, "topology.xml") &&
			 (!S_ISREG(st.st_mode) || n < 6 || strcmp(e->d_name + n - 5, ".json") || e->d_name[0] == '.'))
			found = snprintf(why, len, "%s is left in the campaign folder", path) > 0;
	}
	closedir(d);
	return found;
}

static int runtime_dir_empty(void)
{
	DIR *d = opendir(runtime_dir);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

static void skip_if_cannot(void)
{
	if (skip_reason[0]) {
		print_message("# SKIP: %s\n", skip_reason);
		skip();
	}
}

/* ---- the one migration ---------------------------------------------------------- */

static void run_once(void)
{
	char out_dir[PATH_MAX + 16], out_log[PATH_MAX + 16], err_log[PATH_MAX + 16], manifest[PATH_MAX + 128];
	const char *argv[] = { migbench_bin, "run", "--mode=postcopy", "--rate=48M", "-q",
			       "-o", out_dir, "-n", "probes", NULL };
	posix_spawn_file_actions_t fa;
	json_t *m, *runs;
	pid_t pid;
	int st = 0, killed = 0;
	double t0;

	if (status != -2)
		return;
	status = -1;
	snprintf(work, sizeof(work), "/tmp/mb-test-probes-w-XXXXXX");
	if (!mkdtemp(work))
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(out_dir, sizeof(out_dir), "%s/out", work);
	snprintf(campaign, sizeof(campaign), "%s/probes", out_dir);
	snprintf(out_log, sizeof(out_log), "%s/stdout", work);
	snprintf(err_log, sizeof(err_log), "%s/stderr", work);
	print_message("# migbench run --mode=postcopy --rate=48M -q -o %s -n probes\n", out_dir);

	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err_log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	t0 = now_s();
	if (posix_spawn(&pid, migbench_bin, &fa, NULL, (char *const *)argv, environ))
		fail_msg("cannot run %s", migbench_bin);
	posix_spawn_file_actions_destroy(&fa);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (!killed && now_s() - t0 > DEADLINE_S) {
			kill(pid, SIGTERM);
			killed = 1;
		} else if (killed && now_s() - t0 > DEADLINE_S + 30) {
			kill(pid, SIGKILL);
		}
		sleep_ms(50);
	}
	seconds = now_s() - t0;
	status = WIFEXITED(st) && !killed ? WEXITSTATUS(st) : -1;
	print_message("# exit status %d after %.1f s\n", status, seconds);

	snprintf(manifest, sizeof(manifest), "%s/campaign.json", campaign);
	m = json_load_file(manifest, 0, NULL);
	runs = json_object_get(m, "runs");
	if (json_array_size(runs) == 1) {
		char path[PATH_MAX + 512];

		snprintf(path, sizeof(path), "%s/%s", campaign,
			 json_string_value(json_object_get(json_array_get(runs, 0), "file")));
		doc = json_load_file(path, 0, NULL);
	}
	json_decref(m);
	if (!doc) {
		FILE *f = fopen(err_log, "r");
		char text[2048] = "";

		if (f) {
			text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
			fclose(f);
		}
		fail_msg("no result file in %s (exit status %d): %s", campaign, status, text);
	}
}

static const json_t *at(const json_t *o, const char *path)
{
	char buf[256], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
		o = json_object_get(o, tok);
	if (!o)
		fail_msg("the result has no %s", path);
	return o;
}

static json_int_t integer(const json_t *o, const char *path)
{
	const json_t *v = at(o, path);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

static double number(const json_t *o, const char *path)
{
	const json_t *v = at(o, path);

	if (!json_is_number(v))
		fail_msg("%s is not a number", path);
	return json_number_value(v);
}

/* ---- the tests ----------------------------------------------------------------------- */

static void migration_completed_in_postcopy(void **state)
{
	skip_if_cannot();
	run_once();
	if (strcmp(json_string_value(at(doc, "run.status")), "completed"))
		fail_msg("run %s: %s", json_string_value(at(doc, "run.status")),
			 json_string_value(json_object_get(at(doc, "run"), "error")));
	assert_string_equal(json_string_value(at(doc, "run.completed_as")), "postcopy");
}

static void software_counters_per_phase_both_sides(void **state)
{
	static const char *const events[] = { "task-clock", "page-faults", "context-switches", "cpu-migrations" };
	const json_t *c;

	skip_if_cannot();
	run_once();
	c = at(doc, "counters");
	assert_true(json_is_true(at(c, "available")));
	if (!json_is_true(at(c, "software.available")))
		fail_msg("software counters unavailable: %s", json_string_value(at(c, "software.reason")));
	for (int side = 0; side < 2; side++) {
		const json_t *s = at(c, side ? "destination" : "source");

		assert_true(integer(s, "pid") > 0);
		assert_true(integer(s, "threads_seen") >= 2);
		for (int p = 0; p < MB_PHASE_COUNT; p++) {
			char path[128];

			for (size_t e = 0; e < 4; e++) {
				snprintf(path, sizeof(path), "process.%s.%s", mb_phase_names[p], events[e]);
				assert_true(integer(s, path) >= 0);
			}
			snprintf(path, sizeof(path), "process.%s.cpu_user_ms", mb_phase_names[p]);
			assert_true(number(s, path) >= 0);
		}
		/* both QEMUs ran for the whole migration */
		assert_true(integer(s, "process.migration.task-clock") > 0);
		/* vCPU thread ids came from query-cpus-fast */
		assert_int_equal(integer(s, "vcpu_threads_from_qmp"), 1);
		assert_int_equal(integer(s, "roles.vcpu.threads"), 1);
	}
	print_message("# source process: task-clock %.1f ms in pre-copy, %.1f ms in post-copy\n",
		      (double)integer(c, "source.process.precopy.task-clock") / 1e6,
		      (double)integer(c, "source.process.postcopy.task-clock") / 1e6);
}

static void postcopy_destination_faults_while_pages_arrive(void **state)
{
	const json_t *d, *s;

	skip_if_cannot();
	run_once();
	d = at(doc, "counters.destination");
	s = at(doc, "counters.source");
	print_message("# destination page faults: before %lld, pre-copy %lld, downtime %lld, post-copy %lld "
		      "(vCPU %lld), post-copy %.1f ms\n",
		      (long long)integer(d, "process.before.page-faults"),
		      (long long)integer(d, "process.precopy.page-faults"),
		      (long long)integer(d, "process.downtime.page-faults"),
		      (long long)integer(d, "process.postcopy.page-faults"),
		      (long long)integer(d, "roles.vcpu.phases.postcopy.page-faults"),
		      number(doc, "counters.windows.postcopy.duration_ms"));
	assert_true(number(doc, "counters.windows.postcopy.duration_ms") > 0);
	assert_true(integer(d, "process.postcopy.page-faults") > 0);

	/* the source's migration thread, by its QEMU name */
	assert_int_equal(integer(s, "roles.migration.threads"), 1);
	print_message("# source migration thread: CPU %.0f ms user + %.0f ms system over the migration, "
		      "task-clock %.1f ms; destination migration helpers: %lld thread(s)\n",
		      number(s, "roles.migration.phases.migration.cpu_user_ms"),
		      number(s, "roles.migration.phases.migration.cpu_system_ms"),
		      (double)integer(s, "roles.migration.phases.migration.task-clock") / 1e6,
		      json_is_null(at(d, "roles.migration-helper")) ? 0LL
			      : (long long)integer(d, "roles.migration-helper.threads"));
	assert_true(integer(s, "roles.migration.phases.migration.task-clock") > 0);
}

static void hardware_counters_counted_or_explained(void **state)
{
	const json_t *hw;

	skip_if_cannot();
	run_once();
	hw = at(doc, "counters.hardware");
	if (json_is_true(at(hw, "available"))) {
		assert_true(integer(doc, "counters.source.process.migration.instructions") > 0);
	} else {
		print_message("# hardware counters: %s\n", json_string_value(at(hw, "reason")));
		assert_true(strlen(json_string_value(at(hw, "reason"))) > 0);
		/* none is reported as a number */
		assert_null(json_object_get(at(doc, "counters.source.process.migration"), "cycles"));
	}
}

static void energy_as_doctor_predicts(void **state)
{
	struct mb_host_roots roots;
	struct mb_host_rapl rapl;
	const json_t *e;

	skip_if_cannot();
	run_once();
	mb_host_roots_from_env(&roots);
	mb_probe_rapl(&roots, true, &rapl);
	e = at(doc, "energy");
	if (rapl.source == MB_RAPL_NONE) {
		assert_true(json_is_false(at(e, "available")));
		print_message("# energy: %s\n", json_string_value(at(e, "reason")));
		assert_non_null(strstr(json_string_value(at(e, "reason")), "powercap: "));
	} else {
		assert_true(json_is_true(at(e, "available")));
		assert_string_equal(json_string_value(at(e, "source")), mb_rapl_source_name(rapl.source));
		assert_true(number(e, "host.phases.migration.joules") > 0);
		print_message("# energy (%s): %.2f J over the migration, %.2f J above idle\n",
			      mb_rapl_source_name(rapl.source), number(e, "host.phases.migration.joules"),
			      number(e, "host.phases.migration.joules_above_idle"));
	}
}

static void topology_and_placement(void **state)
{
	char xml[PATH_MAX + 32];
	const json_t *t;

	skip_if_cannot();
	run_once();
	assert_true(json_is_false(at(doc, "placement.bound")));
	t = at(doc, "host.topology");
#ifdef HAVE_HWLOC
	assert_true(json_is_true(at(t, "available")));
	assert_true(integer(t, "pus") >= 1);
	assert_true(integer(t, "cores") >= 1);
	assert_true(integer(t, "packages") >= 1);
	assert_string_equal(json_string_value(at(t, "xml")), "topology.xml");
	snprintf(xml, sizeof(xml), "%s/topology.xml", campaign);
	assert_int_equal(access(xml, R_OK), 0);
	print_message("# topology: %lld package(s), %lld core(s), %lld PU(s), %lld NUMA node(s)\n",
		      (long long)integer(t, "packages"), (long long)integer(t, "cores"),
		      (long long)integer(t, "pus"), (long long)integer(t, "numa_nodes"));
#else
	(void)xml;
	assert_true(json_is_false(at(t, "available")));
#endif
}

static void nothing_left(void **state)
{
	char why[PATH_MAX + 8192] = "";

	skip_if_cannot();
	run_once();
	if (our_qemus(why, sizeof(why)))
		fail_msg("%s", why);
	if (!runtime_dir_empty())
		fail_msg("a run directory is left in %s", runtime_dir);
	if (stray_file(campaign, why, sizeof(why)))
		fail_msg("%s", why);
}

static int group_setup(void **state)
{
	struct mb_image_opts opts = { 0 };
	struct mb_image image;
	struct mb_host_roots roots;
	struct mb_host_uffd uffd;
	struct mb_err err = { 0 };

	snprintf(runtime_dir, sizeof(runtime_dir), "/tmp/mb-test-probes-XXXXXX");
	if (!mkdtemp(runtime_dir)) {
		print_error("cannot create a runtime directory: %s\n", strerror(errno));
		return -1;
	}
	setenv("XDG_RUNTIME_DIR", runtime_dir, 1);
	unsetenv("MIGBENCH_KEEP_RUNDIR");
	unsetenv("MIGBENCH_SYSFS_ROOT");
	mb_host_roots_from_env(&roots);
	mb_probe_uffd(&roots, &uffd);

	migbench_bin = getenv("MIGBENCH_BIN");
	if (!migbench_bin || access(migbench_bin, X_OK))
		snprintf(skip_reason, sizeof(skip_reason), "no migbench to run ($MIGBENCH_BIN %s)",
			 migbench_bin ? "is not executable" : "is not set");
	else if (!qemu_exists(qemu_binary()))
		snprintf(skip_reason, sizeof(skip_reason), "no executable QEMU %s (set MIGBENCH_QEMU)", qemu_binary());
	else if (!uffd.postcopy)
		snprintf(skip_reason, sizeof(skip_reason), "no post-copy on this host: %s", uffd.summary);
	else if (mb_image_ensure(&opts, &image, &err))
		snprintf(skip_reason, sizeof(skip_reason), "no guest image: %s", err.msg);
	return 0;
}

static int group_teardown(void **state)
{
	char why[PATH_MAX + 8192] = "";
	int left = our_qemus(why, sizeof(why));

	json_decref(doc);
	remove_tree(work);
	if (!left && !runtime_dir_empty())
		snprintf(why, sizeof(why), "a run directory is left in %s", runtime_dir);
	remove_tree(runtime_dir);
	if (why[0])
		print_error("%s\n", why);
	return why[0] ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(migration_completed_in_postcopy),
		cmocka_unit_test(software_counters_per_phase_both_sides),
		cmocka_unit_test(postcopy_destination_faults_while_pages_arrive),
		cmocka_unit_test(hardware_counters_counted_or_explained),
		cmocka_unit_test(energy_as_doctor_predicts),
		cmocka_unit_test(topology_and_placement),
		cmocka_unit_test(nothing_left),
	};

	return cmocka_run_group_tests_name("probes", tests, group_setup, group_teardown);
}
