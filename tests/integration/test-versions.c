/* QEMU versions side by side: `migbench qemu install 7.2 11.1` puts both
 * into Debian roots, then a guest migrates old -> new (7.2 -> 11.1) and
 * new -> old (11.1 -> 7.2), pre-copy and post-copy, with every page intact,
 * on the newest pc-i440fx machine type both versions offer, each side's
 * installed version and Debian package recorded; machine=pc on both sides
 * fails, saying the machine types differ; and an A/A comparison of one
 * version against itself does not call a regression.
 *
 * Skips, saying why, when not root (Debian roots, chroot), when a version
 * is missing and mmdebstrap or Debian's mirror is not at hand, and without
 * $MIGBENCH_BIN, a guest image or post-copy. About 90 s here once the
 * versions are installed (the install takes 30-70 s a version, once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/command.h"
#include "bench/error.h"
#include "runners/qemu_emulator.h"
#include "runners/qemu_versions.h"

#include "harness.h"

#define WORK_PREFIX "/tmp/mb-test-versions"
#define CAMPAIGN_DEADLINE_S 300
/* mmdebstrap of two suites on a slow mirror */
#define INSTALL_DEADLINE_S 900
#define OLD "7.2"
#define NEW "11.1"
/* What migbench must pick for 7.2 <-> 11.1: 7.2 knows no newer pc-i440fx. */
#define COMMON_MACHINE "pc-i440fx-7.2"

static char skip_reason[MB_ERR_MAX + 256];
static char postcopy_skip[MB_ERR_MAX + 128];
static char install_failure[8192];

/* QEMU 7.2 (and 5.2) under TCG corrupt the guest whenever, as the source,
 * they send a page a second time: a second pre-copy pass, or post-copy after
 * a pre-copy pass (README "QEMU versions on this machine"; as the
 * destination 7.2 is fine). So both migrations send every page once.
 * Pre-copy: one pass over RAM, then stop. 1 MiB/s dirtied is not enough for
 * that: with a 300 ms limit 3 runs in 12 still went round again here
 * (probably because QEMU estimates its bandwidth from the bytes sent, few
 * while it skips zero pages); a 2 s limit leaves room for far more than
 * what is dirty after the first pass. Post-copy: switched to at
 * once (hybrid_time=1ms), with the guest dirtying 16 MiB/s meanwhile;
 * migbench's mode=postcopy runs a pre-copy pass first. */
static const char cross_ini_fmt[] =
	"[global]\n"
	"qemu=%s\n"
	"qemu_dst=%s\n"
	"%s"
	"memory=160M\n"
	"wss=32M\n"
	"max_bandwidth=128M\n"
	"timeout=1min\n"
	"settle=1s\n"
	"\n"
	"[precopy]\n"
	"mode=precopy\n"
	"rate=1M\n"
	"downtime_limit=2s\n"
	"%s";

static const char postcopy_section[] =
	"\n"
	"[postcopy]\n"
	"mode=hybrid\n"
	"hybrid_time=1ms\n"
	"rate=16M\n";

static const char aa_ini[] =
	"[global]\n"
	"qemu=" NEW "\n"
	"memory=160M\n"
	"wss=32M\n"
	"rate=16M\n"
	"max_bandwidth=128M\n"
	"downtime_limit=300ms\n"
	"timeout=1min\n"
	"settle=1s\n"
	"\n"
	"[precopy]\n"
	"mode=precopy\n";

/* ---- running migbench's other commands --------------------------------------------- */

struct tool_run {
	int status;                 /* exit status, or -1 when it had to be killed */
	char *out, *err;
};

/* ARGV (argv[0] is migbench) with stdout and stderr in files of DIR. */
static void run_tool(const char *const argv[], const char *dir, double deadline_s, struct tool_run *t)
{
	char out_log[PATH_MAX + 16], err_log[PATH_MAX + 16];
	pid_t pid;
	int st = 0, rc, killed = 0;
	double t0 = mbt_now_s();

	snprintf(out_log, sizeof(out_log), "%s/tool.out", dir);
	snprintf(err_log, sizeof(err_log), "%s/tool.err", dir);
	print_message("#");
	for (size_t i = 0; argv[i]; i++)
		print_message(" %s", argv[i]);
	print_message("\n");
	rc = mbt_spawn(argv, out_log, err_log, &pid);
	if (rc) {
		t->status = -1;
		t->out = strdup("");
		t->err = strdup(strerror(rc));
		return;
	}
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			fail_msg("waitpid %s: %s", argv[0], strerror(errno));
		if (!killed && mbt_now_s() - t0 > deadline_s) {
			kill(pid, SIGTERM);
			killed = 1;
		}
		mbt_sleep_ms(100);
	}
	t->status = WIFEXITED(st) && !killed ? WEXITSTATUS(st) : -1;
	t->out = mbt_read_text(out_log);
	t->err = mbt_read_text(err_log);
	print_message("# exit status %d after %.1f s\n", t->status, mbt_now_s() - t0);
}

static void tool_free(struct tool_run *t)
{
	free(t->out);
	free(t->err);
}

/* ---- installing the two versions (group set-up) -------------------------------- */

/* Whether NAME is installed, from `migbench qemu list --json`; -1 with why
 * in `why` when the list cannot be had. */
static int installed(const char *dir, const char *name, char *why, size_t len)
{
	const char *argv[] = { mbt_migbench_bin, "qemu", "list", "--json", NULL };
	struct tool_run t;
	json_error_t jerr;
	json_t *list, *v;
	size_t i;
	int found = 0;

	run_tool(argv, dir, 30, &t);
	list = t.status == 0 ? json_loads(t.out, 0, &jerr) : NULL;
	if (!json_is_array(list)) {
		snprintf(why, len, "migbench qemu list --json: exit %d, %s", t.status,
			 t.status ? t.err : "not a JSON array");
		json_decref(list);
		tool_free(&t);
		return -1;
	}
	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", name))
			found = json_is_true(json_object_get(v, "installed"));
	json_decref(list);
	tool_free(&t);
	return found;
}

/* Says in `why` when Debian's mirror does not answer on port 80 within 5 s:
 * mmdebstrap needs it, and a host without network is a reason to skip, not a
 * failure. */
static void mirror_reachable(char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *a;
	int rc, ok = 0;

	rc = getaddrinfo("deb.debian.org", "80", &hints, &res);
	if (rc) {
		snprintf(why, len, "deb.debian.org does not resolve (%s): no network for mmdebstrap", gai_strerror(rc));
		return;
	}
	for (a = res; a && !ok; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (fd < 0)
			continue;
		if (!connect(fd, a->ai_addr, a->ai_addrlen) ||
		    (errno == EINPROGRESS && poll(&p, 1, 5000) == 1 &&
		     !getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) && !soerr))
			ok = 1;
		close(fd);
	}
	freeaddrinfo(res);
	if (!ok)
		snprintf(why, len, "deb.debian.org:80 does not answer within 5 s: no network for mmdebstrap");
}

/* Installs OLD and NEW unless the host cannot (skip_reason); an install
 * that should have worked and did not is install_failure, which fails every
 * test. Always runs the install: with both present it must be a quick no-op. */
static void install_versions(void)
{
	const char *argv[] = { mbt_migbench_bin, "qemu", "install", OLD, NEW, NULL };
	char dir[] = WORK_PREFIX "-install-XXXXXX";
	struct tool_run t;
	int have_old, have_new;

	if (geteuid() != 0) {
		snprintf(skip_reason, sizeof(skip_reason),
			 "not root: QEMU versions are installed into Debian roots and run chrooted");
		return;
	}
	if (!mkdtemp(dir)) {
		snprintf(install_failure, sizeof(install_failure), "mkdtemp %s: %s", dir, strerror(errno));
		return;
	}
	have_old = installed(dir, OLD, install_failure, sizeof(install_failure));
	have_new = have_old < 0 ? -1 : installed(dir, NEW, install_failure, sizeof(install_failure));
	if (have_old >= 0 && have_new >= 0 && !(have_old && have_new)) {
		if (!mbt_qemu_exists("mmdebstrap"))
			snprintf(skip_reason, sizeof(skip_reason),
				 "QEMU %s or %s is not installed, and installing needs mmdebstrap (.ci/setup installs it)",
				 OLD, NEW);
		else
			mirror_reachable(skip_reason, sizeof(skip_reason));
	}
	if (have_old >= 0 && have_new >= 0 && !skip_reason[0]) {
		double t0 = mbt_now_s();

		run_tool(argv, dir, INSTALL_DEADLINE_S, &t);
		if (t.status == MB_EXIT_NO_RESOURCE)
			snprintf(skip_reason, sizeof(skip_reason), "migbench qemu install cannot here: %.4000s", t.err);
		else if (t.status != MB_EXIT_OK)
			snprintf(install_failure, sizeof(install_failure),
				 "migbench qemu install %s %s: exit %d: %.4000s", OLD, NEW, t.status, t.err);
		else if (have_old && have_new && mbt_now_s() - t0 > 10)
			snprintf(install_failure, sizeof(install_failure),
				 "migbench qemu install %s %s took %.0f s with both installed: it must do nothing then",
				 OLD, NEW, mbt_now_s() - t0);
		tool_free(&t);
	}
	mbt_remove_tree(dir, WORK_PREFIX);
}

static void skip_or_fail(void)
{
	mbt_skip_if(skip_reason);
	if (install_failure[0])
		fail_msg("%s", install_failure);
}

/* ---- cross-version migration -------------------------------------------------------- */

static void run(struct mbt_campaign *c, const char *name, const char *ini, const char *const *args)
{
	const struct mbt_run r = { .work_template = WORK_PREFIX "-c-XXXXXX", .name = name, .ini = ini,
				   .args = args, .deadline_s = CAMPAIGN_DEADLINE_S, .check_leftovers = 1 };

	mbt_run_campaign(c, &r);
	if (c->leftover[0])
		fail_msg("after campaign %s: %s", c->path, c->leftover);
}

static void assert_side(const json_t *doc, const char *side, const char *version)
{
	char path[128], prefix[32];
	const char *pkg, *ver;

	snprintf(path, sizeof(path), "hypervisor.%s.installed_version", side);
	assert_string_equal(mbt_str(doc, path), version);
	/* Debian's version of QEMU 7.2 is 1:7.2+dfsg-..., of 11.1 1:11.1.3+ds-... */
	snprintf(path, sizeof(path), "hypervisor.%s.package_version", side);
	pkg = mbt_str(doc, path);
	snprintf(prefix, sizeof(prefix), "1:%s", version);
	if (strncmp(pkg, prefix, strlen(prefix)))
		fail_msg("%s: Debian package version %s is not QEMU %s's", side, pkg, version);
	/* query-version of the QEMU that ran, 7.2.22 or 11.1.3 */
	snprintf(path, sizeof(path), "hypervisor.%s.version", side);
	ver = mbt_str(doc, path);
	snprintf(prefix, sizeof(prefix), "%s.", version);
	if (strncmp(ver, prefix, strlen(prefix)))
		fail_msg("%s: QEMU says it is %s, not %s", side, ver, version);
}

static void assert_intact(const json_t *doc, const char *mode, const char *src, const char *dst)
{
	const char *status = mbt_str(doc, "run.status");

	if (strcmp(status, "completed"))
		fail_msg("%s %s -> %s: %s: %s", mode, src, dst, status,
			 json_string_value(json_object_get(json_object_get(doc, "run"), "error")) ?: "(no error)");
	assert_string_equal(mbt_str(doc, "run.completed_as"), mode);
	assert_int_equal(mbt_int(doc, "metrics.memory_verify.pages_corrupted"), 0);
	assert_true(mbt_int(doc, "metrics.memory_verify.pages_checked") > 0);
	assert_string_equal(mbt_str(doc, "hypervisor.machine.type"), COMMON_MACHINE);
	assert_non_null(strstr(mbt_str(doc, "hypervisor.machine.chosen_by"), "common"));
	assert_side(doc, "source", src);
	assert_side(doc, "destination", dst);
}

static void cross(void **state, const char *name, const char *src, const char *dst)
{
	struct mbt_campaign *c = *state;
	char ini[2048];

	skip_or_fail();
	mbt_skip_if(postcopy_skip);
	snprintf(ini, sizeof(ini), cross_ini_fmt, src, dst, "", postcopy_section);
	run(c, name, ini, NULL);
	assert_int_equal(c->status, MB_EXIT_OK);
	assert_intact(mbt_result(c, "precopy/1"), "precopy", src, dst);
	assert_intact(mbt_result(c, "postcopy/1"), "postcopy", src, dst);
}

static void old_to_new(void **state)
{
	cross(state, "old-to-new", OLD, NEW);
}

static void new_to_old(void **state)
{
	cross(state, "new-to-old", NEW, OLD);
}

/* `pc` is each version's own newest type (pc-i440fx-7.2, pc-i440fx-11.1):
 * the destination refuses the stream, and migbench must say why. */
static void machine_pc_across_versions_fails(void **state)
{
	struct mbt_campaign *c = *state;
	char ini[2048];
	const json_t *doc;

	skip_or_fail();
	snprintf(ini, sizeof(ini), cross_ini_fmt, OLD, NEW, "machine=pc\n", "");
	run(c, "machine-pc", ini, NULL);
	assert_int_equal(c->status, MB_EXIT_FAILED);
	doc = mbt_result(c, "precopy/1");
	assert_string_equal(mbt_str(doc, "run.status"), "failed");
	assert_string_equal(mbt_str(doc, "hypervisor.machine.type"), "pc");
	if (!strstr(mbt_str(doc, "run.error"), "different machine types"))
		fail_msg("machine=pc across %s and %s: the error does not say the machine types differ: %s", OLD,
			 NEW, mbt_str(doc, "run.error"));
}

/* ---- an installed version as libvirt's <emulator> ------------------------------------ */

/* The wrapper runs the root's QEMU with the root's loader, libraries, TCG
 * module and firmware: it reports its own version, and it starts a TCG
 * machine (without the module dir it died at once: "could not load module
 * for type 'tcg-accel-ops'"). Written once: a second call leaves it as it
 * is, so that libvirt's capability cache stays valid. */
static void installed_version_as_emulator(void **state)
{
	struct mb_qemu_ref ref;
	struct mb_err err = {0};
	struct stat st1, st2;
	char path[PATH_MAX], dir[] = WORK_PREFIX "-emu-XXXXXX";
	struct tool_run t;

	(void)state;
	skip_or_fail();
	assert_non_null(mkdtemp(dir));
	if (mb_qemu_resolve(OLD, &ref, &err) || mb_qemu_emulator_wrapper(&ref, path, sizeof(path), &err))
		fail_msg("%s", err.msg);
	assert_int_equal(stat(path, &st1), 0);
	{
		const char *argv[] = { path, "-version", NULL };

		run_tool(argv, dir, 30, &t);
		assert_int_equal(t.status, 0);
		if (!strstr(t.out, "QEMU emulator version " OLD))
			fail_msg("%s -version: %s", path, t.out);
		tool_free(&t);
	}
	{
		const char *argv[] = { path, "-machine", "none", "-accel", "tcg", "-display", "none", "-nodefaults",
				       "-S", "-monitor", "none", "-serial", "none", NULL };

		/* Still running after 3 s (then stopped): the TCG module loaded. */
		run_tool(argv, dir, 3, &t);
		if (t.status != -1)
			fail_msg("%s with TCG exited (status %d) instead of running: %s", path, t.status, t.err);
		tool_free(&t);
	}
	mbt_sleep_ms(20);
	if (mb_qemu_emulator_wrapper(&ref, path, sizeof(path), &err))
		fail_msg("%s", err.msg);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_true(st1.st_ctim.tv_sec == st2.st_ctim.tv_sec && st1.st_ctim.tv_nsec == st2.st_ctim.tv_nsec);
	mbt_remove_tree(dir, WORK_PREFIX);
}

/* ---- A/A: one version against itself ------------------------------------------------ */

/* Baseline and candidate are the same QEMU, run in alternating rounds
 * (A 3 runs, B 3, A 2, B 2) and pooled, as README's CI gate does: on a
 * shared host, one campaign after the other can differ by tens of percent.
 * 5 against 5 runs can reach p < 0.01 (0.0079), so alpha 0.01 keeps the
 * chance that noise alone passes for a regression near 1 %; the metrics are
 * the gate's. Exit 0 (no change) or 4 (could not tell) pass; 1 fails. */
static void aa_no_regression(void **state)
{
	struct mbt_campaign *c = *state;
	static const char *const three[] = { "--repetitions=3", NULL };
	static const char *const two[] = { "--repetitions=2", NULL };
	const char *const names[] = { "a1", "b1", "a2", "b2" };
	char dir[] = WORK_PREFIX "-aa-XXXXXX";
	char a[PATH_MAX], b[PATH_MAX], link[PATH_MAX * 2], md[PATH_MAX];
	struct tool_run t;

	skip_or_fail();
	for (int i = 0; i < 4; i++) {
		run(&c[i], names[i], aa_ini, i < 2 ? three : two);
		assert_int_equal(c[i].status, MB_EXIT_OK);
	}
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/A", dir);
	snprintf(b, sizeof(b), "%s/B", dir);
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(link, sizeof(link), "%s/%s", names[i][0] == 'a' ? a : b, names[i]);
		assert_int_equal(symlink(c[i].path, link), 0);
	}
	snprintf(md, sizeof(md), "%s/aa.md", dir);
	{
		const char *argv[] = { mbt_migbench_bin, "compare", "--pool", a, b, "--alpha", "0.01",
				       "--metrics", "total_time_ms,pages_transferred.total", "-q", "-o", md, NULL };
		char *summary;

		run_tool(argv, dir, 120, &t);
		summary = mbt_read_text(md);
		print_message("# %.300s\n", strstr(summary, "Verdict:") ?: "(no verdict line)");
		if (t.status != MB_EXIT_OK && t.status != MB_EXIT_INCONCLUSIVE)
			fail_msg("A/A of QEMU %s: migbench compare exit %d (0 or 4 expected): %.2000s%.600s", NEW,
				 t.status, summary, t.err);
		free(summary);
		tool_free(&t);
	}
	mbt_remove_tree(dir, WORK_PREFIX);
}

/* ---- fixtures ------------------------------------------------------------------------ */

static int group_setup(void **state)
{
	if (mbt_group_setup(WORK_PREFIX "-XXXXXX", skip_reason, sizeof(skip_reason), postcopy_skip,
			    sizeof(postcopy_skip)))
		return -1;
	if (!skip_reason[0])
		install_versions();
	return 0;
}

static int group_teardown(void **state)
{
	return mbt_group_teardown(0);
}

static int setup(void **state)
{
	return mbt_campaigns_setup(state, 4);
}

static int teardown(void **state)
{
	return mbt_campaigns_teardown(state, 4, WORK_PREFIX);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(old_to_new, setup, teardown),
		cmocka_unit_test_setup_teardown(new_to_old, setup, teardown),
		cmocka_unit_test_setup_teardown(machine_pc_across_versions_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(aa_no_regression, setup, teardown),
		cmocka_unit_test(installed_version_as_emulator),
	};

	return cmocka_run_group_tests_name("versions", tests, group_setup, group_teardown);
}
