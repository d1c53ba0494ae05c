/* Integration test of the libvirt runner: two libvirt "hosts" on this
 * machine (tests/integration/libvirt-hosts.sh: a libvirtd each in its own
 * network and mount namespace, joined by a veth pair), and `migbench run
 * --runner libvirt` migrating pre-copy (there and back), post-copy and
 * hybrid between them over the veth link. Each run must complete with its
 * memory intact and carry the QMP runner's metrics plus libvirt_reported;
 * nothing may be left on either daemon or in the run directory.
 *
 * Skips (exit 77) when this build has no libvirt runner, when libvirtd or
 * its QEMU driver is missing or this is not root (the script's exit 77), or
 * when there is no QEMU or guest image. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/command.h"
#include "bench/error.h"

#include "harness.h"

#define WORK_PREFIX "/tmp/migbench-test-libvirt"
#define CAMPAIGN_DEADLINE_S 900

static char skip_reason[MB_ERR_MAX + 256];
static char postcopy_skip[MB_ERR_MAX + 128];
static char state_dir[PATH_MAX];
static char uri_a[PATH_MAX + 64], uri_b[PATH_MAX + 64], addr_a[64], addr_b[64];
static int hosts_started;
static struct mbt_campaign main_c;

static const char *hosts_script(void)
{
	static char path[PATH_MAX];
	const char *srcdir = getenv("srcdir");

	snprintf(path, sizeof(path), "%s/tests/integration/libvirt-hosts.sh", srcdir && *srcdir ? srcdir : MB_SRCDIR);
	return path;
}

/* libvirt-hosts.sh start|stop STATE; its exit status. */
static int run_hosts(const char *cmd)
{
	const char *argv[] = { "/bin/bash", hosts_script(), cmd, state_dir, NULL };
	char out[PATH_MAX + 32], err[PATH_MAX + 32];
	pid_t pid;
	int status;

	snprintf(out, sizeof(out), "%s.%s.out", state_dir, cmd);
	snprintf(err, sizeof(err), "%s.%s.err", state_dir, cmd);
	if (mbt_spawn(argv, out, err, &pid) || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status)) {
		char *text = mbt_read_text(err);

		print_message("# libvirt-hosts.sh %s exited %d: %s\n", cmd, WEXITSTATUS(status), text);
		free(text);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* NAME='value' from STATE/env. */
static int env_value(const char *text, const char *name, char *out, size_t len)
{
	char key[64];
	const char *p, *end;

	snprintf(key, sizeof(key), "%s='", name);
	p = strstr(text, key);
	if (!p)
		return -1;
	p += strlen(key);
	end = strchr(p, '\'');
	if (!end || (size_t)(end - p) >= len)
		return -1;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

static int group_setup(void **state)
{
	char env_path[PATH_MAX + 8], *env;
	int rc;

	if (mbt_group_setup(WORK_PREFIX "-XXXXXX", skip_reason, sizeof(skip_reason), postcopy_skip,
			    sizeof(postcopy_skip)))
		return -1;
#ifndef HAVE_LIBVIRT
	snprintf(skip_reason, sizeof(skip_reason), "this build has no libvirt runner (configure did not find "
		 "libvirt and libvirt-qemu: apt-get install libvirt-dev)");
#endif
	if (skip_reason[0])
		return 0;
	/* Short: the daemons' UNIX socket paths must fit in 108 bytes. */
	snprintf(state_dir, sizeof(state_dir), "/tmp/mbt-virt-%ld", (long)getpid());
	rc = run_hosts("start");
	if (rc == 77) {
		snprintf(skip_reason, sizeof(skip_reason), "libvirt-hosts.sh cannot start two libvirt hosts here "
			 "(libvirtd, its QEMU driver or root missing: see %s.start.err)", state_dir);
		return 0;
	}
	hosts_started = 1;
	if (rc) {
		print_error("libvirt-hosts.sh start %s exited %d (see %s.start.err)\n", state_dir, rc, state_dir);
		return -1;
	}
	snprintf(env_path, sizeof(env_path), "%s/env", state_dir);
	env = mbt_read_text(env_path);
	rc = env_value(env, "MB_VIRT_A_URI", uri_a, sizeof(uri_a)) ||
	     env_value(env, "MB_VIRT_B_URI", uri_b, sizeof(uri_b)) ||
	     env_value(env, "MB_VIRT_A_ADDR", addr_a, sizeof(addr_a)) ||
	     env_value(env, "MB_VIRT_B_ADDR", addr_b, sizeof(addr_b));
	free(env);
	if (rc) {
		print_error("%s lacks MB_VIRT_{A,B}_{URI,ADDR}\n", env_path);
		return -1;
	}
	return 0;
}

/* What is running or defined on a daemon ("" when nothing). */
static void domains_on(const char *uri, char *out, size_t len)
{
	const char *argv[] = { "/usr/bin/virsh", "-c", uri, "list", "--all", "--name", NULL };
	char log[PATH_MAX + 32], err[PATH_MAX + 32], *text;
	pid_t pid;
	int status;

	out[0] = '\0';
	snprintf(log, sizeof(log), "%s.virsh.out", state_dir);
	snprintf(err, sizeof(err), "%s.virsh.err", state_dir);
	if (mbt_spawn(argv, log, err, &pid) || waitpid(pid, &status, 0) != pid) {
		snprintf(out, len, "(virsh did not run)");
		return;
	}
	text = mbt_read_text(log);
	for (char *p = text; *p; p++)
		if (*p != '\n' && *p != ' ') {
			snprintf(out, len, "%s", text);
			break;
		}
	free(text);
	unlink(log);
	unlink(err);
}

static int group_teardown(void **state)
{
	char left[2][512];
	int rc = 0;

	mbt_campaign_free(&main_c, WORK_PREFIX);
	if (hosts_started) {
		domains_on(uri_a, left[0], sizeof(left[0]));
		domains_on(uri_b, left[1], sizeof(left[1]));
		if (left[0][0] || left[1][0]) {
			print_error("domains left: host a: %s; host b: %s\n", left[0], left[1]);
			rc = -1;
		}
		if (run_hosts("stop")) {
			rc = -1;
		} else {
			static const char *const logs[] = { "start.out", "start.err", "stop.out", "stop.err" };
			char path[PATH_MAX + 32];

			mbt_remove_tree(state_dir, "/tmp/mbt-virt-");
			for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
				snprintf(path, sizeof(path), "%s.%s", state_dir, logs[i]);
				unlink(path);
			}
		}
	}
	if (mbt_group_teardown(0))
		rc = -1;
	return rc;
}

static void skip_if_cannot(void)
{
	mbt_skip_if(skip_reason);
}

static const struct mbt_campaign *main_campaign(void)
{
	char ini[4096];
	const char *args[] = { "--runner", "libvirt", "--order", "grouped", NULL };

	if (main_c.ran)
		return &main_c;
	/* The QMP runner's main campaign (test-migrate.c): post-copy only
	 * really switches with a fast dirtier, hybrid with one that never
	 * lets pre-copy converge. */
	snprintf(ini, sizeof(ini),
		 "[global]\n"
		 "libvirt_src=%s\n"
		 "libvirt_dst=%s\n"
		 "libvirt_migrate_uri=tcp://%s\n"
		 "libvirt_migrate_uri_back=tcp://%s\n"
		 "memory=256M\nwss=64M\nmax_bandwidth=128M\ndowntime_limit=300ms\nsettle=1s\ntimeout=2min\n"
		 "[precopy]\nmode=precopy\nrate=1M\nrepetitions=2\n"
		 "%s",
		 uri_a, uri_b, addr_b, addr_a,
		 postcopy_skip[0] ? "" :
		 "[postcopy]\nmode=postcopy\nrate=48M\n"
		 "[hybrid]\nmode=hybrid\nrate=0\nhybrid_passes=2\n");
	mbt_run_campaign(&main_c, &(struct mbt_run){ .work_template = WORK_PREFIX "-XXXXXX", .name = "libvirt",
						       .ini = ini, .args = args, .deadline_s = CAMPAIGN_DEADLINE_S,
						       .check_leftovers = 1 });
	return &main_c;
}

/* Completed, memory intact, healthy; the metrics of the QMP runner, and
 * libvirt's own figures beside them. */
static void check_run(const json_t *doc, const char *key)
{
	static const char *const metrics[] = {
		"metrics.preparation_time_ms", "metrics.downtime_ms", "metrics.resume_time_ms",
		"metrics.total_time_ms", "metrics.guest_downtime_ms", "metrics.pages_transferred.total",
		"metrics.pages_transferred.bytes.total", "metrics.degradation",
	};

	const json_t *net;
	char net_ms[32] = "(none)";

	if (strcmp(mbt_str(doc, "run.status"), "completed"))
		fail_msg("%s: %s: %s", key, mbt_str(doc, "run.status"), mbt_str(doc, "run.error"));
	assert_int_equal(mbt_int(doc, "metrics.memory_verify.pages_corrupted"), 0);
	assert_true(mbt_int(doc, "metrics.memory_verify.pages_checked") > 0);
	assert_true(json_is_true(mbt_get(doc, "run.health.healthy")));
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		mbt_get(doc, metrics[i]);
	assert_true(mbt_num(doc, "metrics.downtime_ms") > 0);
	/* libvirt's completed job statistics, verbatim */
	assert_true(mbt_num(doc, "libvirt_reported.memory_processed") > 0);
	mbt_get(doc, "libvirt_reported.downtime");
	/* downtime_net (libvirt's own STOP -> RESUME across hosts) is missing
	 * after some post-copy runs: not required. */
	net = json_object_get(json_object_get(doc, "libvirt_reported"), "downtime_net");
	if (json_is_integer(net))
		snprintf(net_ms, sizeof(net_ms), "%" JSON_INTEGER_FORMAT, json_integer_value(net));
	assert_string_equal(mbt_str(doc, "hypervisor.source.runner"), "libvirt");
	assert_true(json_array_size(mbt_get(doc, "samples")) > 0);
	print_message("# %s: %s, downtime %.3f ms (libvirt: downtime %.0f ms, downtime_net %s ms), "
		      "preparation %.3f ms, resume %.3f ms, guest gap %.3f ms, %.0f pages; verify %" JSON_INTEGER_FORMAT
		      " pages, 0 corrupted; %s -> %s\n", key, mbt_str(doc, "run.completed_as"),
		      mbt_num(doc, "metrics.downtime_ms"), mbt_num(doc, "libvirt_reported.downtime"),
		      net_ms,
		      mbt_num(doc, "metrics.preparation_time_ms"),
		      mbt_num(doc, "metrics.resume_time_ms"), mbt_num(doc, "metrics.guest_downtime_ms"),
		      mbt_num(doc, "metrics.pages_transferred.total"),
		      mbt_int(doc, "metrics.memory_verify.pages_checked"),
		      mbt_str(doc, "hypervisor.source.libvirt_uri"), mbt_str(doc, "hypervisor.destination.libvirt_uri"));
}

static void campaign_completes(void **state)
{
	const struct mbt_campaign *c;

	skip_if_cannot();
	c = main_campaign();
	if (c->leftover[0])
		fail_msg("left behind: %s", c->leftover);
	if (c->status != MB_EXIT_OK)
		fail_msg("migbench run --runner libvirt exited %d: %s", c->status, c->err);
	assert_int_equal(json_array_size(json_object_get(c->manifest, "runs")), postcopy_skip[0] ? 2 : 4);
}

/* a -> b, then b -> a: the destination becomes the next source. */
static void precopy_there_and_back(void **state)
{
	const json_t *one, *two;

	skip_if_cannot();
	one = mbt_result(main_campaign(), "precopy/1");
	two = mbt_result(main_campaign(), "precopy/2");
	check_run(one, "precopy/1");
	check_run(two, "precopy/2");
	assert_string_equal(mbt_str(one, "run.completed_as"), "precopy");
	assert_string_equal(mbt_str(one, "hypervisor.source.libvirt_uri"), uri_a);
	assert_string_equal(mbt_str(one, "hypervisor.destination.libvirt_uri"), uri_b);
	assert_string_equal(mbt_str(two, "hypervisor.source.libvirt_uri"), uri_b);
	assert_string_equal(mbt_str(two, "hypervisor.destination.libvirt_uri"), uri_a);
}

static void postcopy_completes(void **state)
{
	const json_t *doc;

	skip_if_cannot();
	mbt_skip_if(postcopy_skip);
	doc = mbt_result(main_campaign(), "postcopy/1");
	check_run(doc, "postcopy/1");
	assert_string_equal(mbt_str(doc, "run.completed_as"), "postcopy");
	assert_true(mbt_num(doc, "metrics.resume_time_ms") > 0);
	assert_true(mbt_num(doc, "libvirt_reported.memory_postcopy_requests") >= 0);
}

static void hybrid_completes(void **state)
{
	const json_t *doc;

	skip_if_cannot();
	mbt_skip_if(postcopy_skip);
	doc = mbt_result(main_campaign(), "hybrid/1");
	check_run(doc, "hybrid/1");
	assert_string_equal(mbt_str(doc, "run.completed_as"), "postcopy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(campaign_completes),
		cmocka_unit_test(precopy_there_and_back),
		cmocka_unit_test(postcopy_completes),
		cmocka_unit_test(hybrid_completes),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
