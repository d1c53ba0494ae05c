/* Integration test of the libvirt runner: two libvirt "hosts" on this
 * machine (tests/integration/libvirt-hosts.sh: a libvirtd each in its own
 * network and mount namespace, joined by a bridge in the root namespace),
 * and `migbench run --runner libvirt` migrating pre-copy (there and back),
 * post-copy and hybrid between them over the virtual link. Each run must
 * complete with its memory intact and carry the QMP runner's metrics plus
 * libvirt_reported; nothing may be left on either daemon or in the run
 * directory.
 *
 * The same hosts as other machines (the remote_* tests): qemu+tcp:// URIs
 * to their addresses, libvirt_remote=yes, `ip netns exec NS` as each
 * side's exec prefix. The heartbeat port and console are then TCP servers
 * in the namespaces, host-probes runs "there", and the instants are taken
 * on migbench's clock (arrival), while QEMU's timestamps, one clock here,
 * give the same downtime within REMOTE_CLOCK_BOUND_MS.
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

#include <errno.h>
#include <limits.h>
#include <math.h>
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
/* |downtime by arrival - downtime by QEMU's clock| on the same migration:
 * the difference of the delivery delays of the destination's RESUME and
 * the source's STOP (QEMU -> libvirtd -> RPC over TCP -> migbench).
 * Measured here over 16 remote migrations (10 pre-copy, 6 post-copy): each
 * event arrived 0.18 to 5.35 ms after QEMU stamped it, the downtimes
 * differed by 0.01 ms (median), 0.60 ms (mean of |difference|), 4.44 ms
 * at most (a post-copy RESUME delivered 5.35 ms late). The bound is about
 * twice the largest delay seen. */
#define REMOTE_CLOCK_BOUND_MS 10.0

static char skip_reason[MB_ERR_MAX + 256];
static char postcopy_skip[MB_ERR_MAX + 128];
static char state_dir[PATH_MAX];
static char uri_a[PATH_MAX + 64], uri_b[PATH_MAX + 64], addr_a[64], addr_b[64];
static char tcp_a[128], tcp_b[128], ns_a[64], ns_b[64], pid_a[16], pid_b[16];
static int hosts_started;
static struct mbt_campaign main_c, remote_c;

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
	     env_value(env, "MB_VIRT_B_ADDR", addr_b, sizeof(addr_b)) ||
	     env_value(env, "MB_VIRT_A_TCP", tcp_a, sizeof(tcp_a)) ||
	     env_value(env, "MB_VIRT_B_TCP", tcp_b, sizeof(tcp_b)) ||
	     env_value(env, "MB_VIRT_A_NETNS", ns_a, sizeof(ns_a)) ||
	     env_value(env, "MB_VIRT_B_NETNS", ns_b, sizeof(ns_b)) ||
	     env_value(env, "MB_VIRT_A_PID", pid_a, sizeof(pid_a)) ||
	     env_value(env, "MB_VIRT_B_PID", pid_b, sizeof(pid_b));
	free(env);
	if (rc) {
		print_error("%s lacks MB_VIRT_{A,B}_{URI,ADDR,TCP,NETNS,PID}\n", env_path);
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
	mbt_campaign_free(&remote_c, WORK_PREFIX);
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
	/* The guest's QEMU's own version (query-version), "1.2.3", never the
	 * daemon's default emulator's nor a guess. */
	for (int side = 0; side < 2; side++) {
		const char *v = mbt_str(doc, side ? "hypervisor.destination.version" : "hypervisor.source.version");
		unsigned a, b, c;

		if (sscanf(v, "%u.%u.%u", &a, &b, &c) != 3)
			fail_msg("hypervisor.%s.version is '%s', not QEMU's version", side ? "destination" : "source", v);
	}
	assert_true(json_array_size(mbt_get(doc, "samples")) > 0);
	/* What the source QEMU held while it migrated, asked through libvirt
	 * (the run fails when it is not what the scenario asked) */
	{
		const json_t *mp = mbt_get(doc, "qemu_reported.migration_parameters");

		if (json_object_get(mp, "source_error"))
			fail_msg("%s: the source's parameters were %s", key, mbt_str(mp, "source_error"));
		assert_true(mbt_int(mp, "source.downtime-limit") > 0);
		assert_true(mbt_int(mp, "source.max-bandwidth") > 0);
		assert_true(json_is_boolean(mbt_get(mp, "source_capabilities.postcopy-ram")));
		assert_true(json_is_object(mbt_get(mp, "destination")));
		mbt_get(mp, "libvirt_request.max_downtime_ms");
		print_message("# %s: the source QEMU held downtime-limit %" JSON_INTEGER_FORMAT " ms, max-bandwidth %"
			      JSON_INTEGER_FORMAT " B/s, postcopy-ram %s\n", key, mbt_int(mp, "source.downtime-limit"),
			      mbt_int(mp, "source.max-bandwidth"),
			      json_is_true(mbt_get(mp, "source_capabilities.postcopy-ram")) ? "on" : "off");
	}
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

/* Exit 0, nothing left behind, `runs` runs. */
static void campaign_ok(const struct mbt_campaign *c, const char *what, size_t runs)
{
	if (c->leftover[0])
		fail_msg("%s: left behind: %s", what, c->leftover);
	if (c->status != MB_EXIT_OK)
		fail_msg("migbench run --runner libvirt (%s) exited %d: %s", what, c->status, c->err);
	assert_int_equal(json_array_size(json_object_get(c->manifest, "runs")), runs);
}

static void check_remote(const json_t *doc, const char *key, const char *clock);

/* precopy/1 a -> b, then precopy/2 b -> a: the destination becomes the
 * next source. */
static void there_and_back(const struct mbt_campaign *c, const char *a, const char *b, int remote)
{
	const json_t *one = mbt_result(c, "precopy/1"), *two = mbt_result(c, "precopy/2");

	if (remote) {
		check_remote(one, "remote precopy/1", "arrival");
		check_remote(two, "remote precopy/2", "arrival");
	} else {
		check_run(one, "precopy/1");
		check_run(two, "precopy/2");
	}
	assert_string_equal(mbt_str(one, "run.completed_as"), "precopy");
	assert_string_equal(mbt_str(one, "hypervisor.source.libvirt_uri"), a);
	assert_string_equal(mbt_str(one, "hypervisor.destination.libvirt_uri"), b);
	assert_string_equal(mbt_str(two, "hypervisor.source.libvirt_uri"), b);
	assert_string_equal(mbt_str(two, "hypervisor.destination.libvirt_uri"), a);
}

static void campaign_completes(void **state)
{
	skip_if_cannot();
	campaign_ok(main_campaign(), "two hosts by UNIX socket", postcopy_skip[0] ? 2 : 4);
}

static void precopy_there_and_back(void **state)
{
	skip_if_cannot();
	there_and_back(main_campaign(), uri_a, uri_b, 0);
}

/* postcopy/1 switched and completed. */
static void postcopy_of(const struct mbt_campaign *c, int remote)
{
	const json_t *doc;

	mbt_skip_if(postcopy_skip);
	doc = mbt_result(c, "postcopy/1");
	if (remote)
		check_remote(doc, "remote postcopy/1", "arrival");
	else
		check_run(doc, "postcopy/1");
	assert_string_equal(mbt_str(doc, "run.completed_as"), "postcopy");
	assert_true(mbt_num(doc, "metrics.resume_time_ms") > 0);
	assert_true(mbt_num(doc, "libvirt_reported.memory_postcopy_requests") >= 0);
}

static void postcopy_completes(void **state)
{
	skip_if_cannot();
	postcopy_of(main_campaign(), 0);
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

/* ---- the two hosts as other machines ---- */

static const struct mbt_campaign *remote_campaign(void)
{
	static char remote_bin[PATH_MAX];
	char ini[4096];
	const char *args[] = { "--runner", "libvirt", "--order", "grouped", NULL };

	if (remote_c.ran)
		return &remote_c;
	/* host-probes "there" is this build's migbench (ip netns exec keeps
	 * the file system). */
	if (!realpath(mbt_migbench_bin, remote_bin))
		fail_msg("realpath %s: %s", mbt_migbench_bin, strerror(errno));
	setenv("MIGBENCH_REMOTE_BIN", remote_bin, 1);
	snprintf(ini, sizeof(ini),
		 "[global]\n"
		 "libvirt_src=%s\n"
		 "libvirt_dst=%s\n"
		 "libvirt_migrate_uri=tcp://%s\n"
		 "libvirt_migrate_uri_back=tcp://%s\n"
		 "libvirt_remote=yes\n"
		 "libvirt_exec_src=ip netns exec %s\n"
		 "libvirt_exec_dst=ip netns exec %s\n"
		 "memory=256M\nwss=64M\nmax_bandwidth=128M\ndowntime_limit=300ms\nsettle=1s\ntimeout=2min\n"
		 "[precopy]\nmode=precopy\nrate=1M\nrepetitions=2\n"
		 "[qemu_clock]\nmode=precopy\nrate=1M\nlibvirt_clock=qemu\n"
		 "%s",
		 tcp_a, tcp_b, addr_b, addr_a, ns_a, ns_b,
		 postcopy_skip[0] ? "" : "[postcopy]\nmode=postcopy\nrate=48M\n");
	mbt_run_campaign(&remote_c, &(struct mbt_run){ .work_template = WORK_PREFIX "-XXXXXX", .name = "remote",
							 .ini = ini, .args = args, .deadline_s = CAMPAIGN_DEADLINE_S,
							 .check_leftovers = 1 });
	unsetenv("MIGBENCH_REMOTE_BIN");
	return &remote_c;
}

/* A run between the "remote" hosts: heartbeats and console over TCP, each
 * host's probes with its clock offset, the instants on `clock` and the
 * other clock's downtime within the bound. */
static void check_remote(const json_t *doc, const char *key, const char *clock)
{
	const char *sides[] = { "hypervisor.source", "hypervisor.destination" };
	const json_t *hosts = json_object_get(doc, "hosts");
	const char *addrs[] = { addr_a, addr_b };
	double by_arrival, by_qemu;
	char path[128];

	check_run(doc, key);
	for (int i = 0; i < 2; i++) {
		const json_t *h = json_object_get(hosts, addrs[i]);

		snprintf(path, sizeof(path), "%s.remote", sides[i]);
		assert_true(json_is_true(mbt_get(doc, path)));
		snprintf(path, sizeof(path), "%s.remote_access.heartbeat", sides[i]);
		assert_true(!strncmp(mbt_str(doc, path), "tcp:", 4));
		snprintf(path, sizeof(path), "%s.remote_access.console", sides[i]);
		assert_true(!strncmp(mbt_str(doc, path), "tcp:", 4));
		if (!h)
			fail_msg("%s: no hosts.%s (host-probes of that side): %s", key, addrs[i],
				 json_dumps(hosts, JSON_COMPACT));
		if (!json_is_integer(json_object_get(h, "clock_offset_us")))
			fail_msg("%s: hosts.%s has no clock offset: %s", key, addrs[i], json_dumps(h, JSON_COMPACT));
		/* one machine: one clock, within the ping's round trip */
		assert_true(llabs((long long)json_integer_value(json_object_get(h, "clock_offset_us"))) < 1000);
		assert_true(json_is_object(json_object_get(h, "probes")));
	}
	/* heartbeats over TCP, stamped on arrival, through the migration */
	assert_true(mbt_int(doc, "run.health.heartbeats_in_settle") > 0);
	assert_true(json_array_size(mbt_get(doc, "run.health.console_problems")) == 0);
	assert_string_equal(mbt_str(doc, "hypervisor.timing.clock"), clock);
	assert_true(strlen(mbt_str(doc, "hypervisor.timing.reason")) > 10);
	by_arrival = mbt_num(doc, "hypervisor.timing.by_clock.arrival.downtime_ms");
	by_qemu = mbt_num(doc, "hypervisor.timing.by_clock.qemu.downtime_ms");
	snprintf(path, sizeof(path), "hypervisor.timing.by_clock.%s.downtime_ms", clock);
	assert_true(fabs(mbt_num(doc, "metrics.downtime_ms") - mbt_num(doc, path)) < 0.001);
	print_message("# %s: timing clock %s; downtime by arrival %.3f ms, by QEMU's clock %.3f ms (%+.3f); clock "
		      "offsets %s %" JSON_INTEGER_FORMAT " us, %s %" JSON_INTEGER_FORMAT " us\n", key, clock,
		      by_arrival, by_qemu, by_arrival - by_qemu,
		      addr_a, json_integer_value(json_object_get(json_object_get(hosts, addr_a), "clock_offset_us")),
		      addr_b, json_integer_value(json_object_get(json_object_get(hosts, addr_b), "clock_offset_us")));
	if (fabs(by_arrival - by_qemu) > REMOTE_CLOCK_BOUND_MS)
		fail_msg("%s: downtime by arrival %.3f ms and by QEMU's clock %.3f ms differ by more than %.1f ms",
			 key, by_arrival, by_qemu, REMOTE_CLOCK_BOUND_MS);
}

static void remote_campaign_completes(void **state)
{
	skip_if_cannot();
	campaign_ok(remote_campaign(), "two hosts as other machines", postcopy_skip[0] ? 3 : 4);
}

static void remote_precopy_there_and_back(void **state)
{
	skip_if_cannot();
	there_and_back(remote_campaign(), tcp_a, tcp_b, 1);
}

static void remote_postcopy(void **state)
{
	skip_if_cannot();
	postcopy_of(remote_campaign(), 1);
}

/* libvirt_clock=qemu: the same migration timed on QEMU's clock. */
static void remote_clock_forced(void **state)
{
	const json_t *doc;

	skip_if_cannot();
	doc = mbt_result(remote_campaign(), "qemu_clock/1");
	check_remote(doc, "remote qemu_clock/1", "qemu");
	assert_string_equal(mbt_str(doc, "hypervisor.timing.reason"), "libvirt_clock=qemu");
}

/* After the campaign: no domain on either daemon, and in each namespace
 * nothing but its libvirtd (no QEMU, no host-probes). */
static void remote_leaves_nothing(void **state)
{
	const char *uris[] = { uri_a, uri_b }, *nss[] = { ns_a, ns_b }, *pids[] = { pid_a, pid_b };

	skip_if_cannot();
	remote_campaign();
	for (int i = 0; i < 2; i++) {
		const char *argv[] = { "/usr/bin/env", "ip", "netns", "pids", nss[i], NULL };
		char left[512], out[PATH_MAX + 32], err[PATH_MAX + 32], *text, *line, *save = NULL;
		pid_t pid;
		int status;

		domains_on(uris[i], left, sizeof(left));
		if (left[0])
			fail_msg("domains left on %s: %s", uris[i], left);
		snprintf(out, sizeof(out), "%s.pids.out", state_dir);
		snprintf(err, sizeof(err), "%s.pids.err", state_dir);
		if (mbt_spawn(argv, out, err, &pid) || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			fail_msg("ip netns pids %s failed", nss[i]);
		text = mbt_read_text(out);
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strcmp(line, pids[i])) {
				char cmd[64], comm[128] = "?";
				FILE *f;

				snprintf(cmd, sizeof(cmd), "/proc/%s/cmdline", line);
				f = fopen(cmd, "r");
				if (f) {
					size_t n = fread(comm, 1, sizeof(comm) - 1, f);

					comm[n] = '\0';
					fclose(f);
				}
				fail_msg("process %s (%s) left in namespace %s besides its libvirtd %s", line, comm,
					 nss[i], pids[i]);
			}
		free(text);
		unlink(out);
		unlink(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(campaign_completes),
		cmocka_unit_test(precopy_there_and_back),
		cmocka_unit_test(postcopy_completes),
		cmocka_unit_test(hybrid_completes),
		cmocka_unit_test(remote_campaign_completes),
		cmocka_unit_test(remote_precopy_there_and_back),
		cmocka_unit_test(remote_postcopy),
		cmocka_unit_test(remote_clock_forced),
		cmocka_unit_test(remote_leaves_nothing),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
