/* Probes on "another host": bench/remote_probes.c driving the real
 * `$MIGBENCH_BIN host-probes` through an exec prefix that reaches this
 * same machine without ssh (`env`), with a real CPU-burning child as the
 * side's QEMU. Checks the counters of that PID come back with its CPU time,
 * the clock offset is ~0 with a round trip > 0, a broken or silent exec is
 * recorded with the reason and fails nothing, and no process is left
 * behind (the test is a child subreaper: an orphan would be its child).
 * Also host-probes' protocol errors, driven through pipes. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/clock.h"
#include "bench/remote_probes.h"
#include "bench/scenario.h"

static const char *migbench_bin(void)
{
	const char *bin = getenv("MIGBENCH_BIN");

	if (!bin || !*bin || access(bin, X_OK))
		skip();
	return bin;
}

/* No child of ours left, not even an orphaned grandchild. */
static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static pid_t burner(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		volatile unsigned long x = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			x++;
	}
	return pid;
}

static void stop_burner(pid_t pid)
{
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* utime + stime of a process, ms. */
static double cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	assert_non_null(p);
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st), 2);
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static void ctx_remote(struct mb_probe_ctx *ctx, struct mb_run_spec *spec, const char *exec, pid_t pid)
{
	/* One spec for every test, held to the end (a global: no leak). */
	static struct mb_run_spec shared;
	struct mb_err err = { 0 };

	if (!shared.text && (mb_run_spec_defaults(&shared, &err) ||
			     mb_run_spec_set(&shared, &mb_keys[MB_KEY_SAMPLE_INTERVAL], "20ms", &err) ||
			     mb_run_spec_set(&shared, mb_key_find("counter_events"), "none", &err)))
		fail_msg("the test's scenario: %s", err.msg);
	memset(ctx, 0, sizeof(*ctx));
	*spec = shared;
	ctx->spec = spec;
	ctx->side[MB_SIDE_SOURCE] = (struct mb_probe_side){ .role = "source", .host = "other-host", .local = 0,
							   .exec = exec, .pid = pid };
	snprintf(ctx->side[MB_SIDE_SOURCE].vcpu_error, sizeof(ctx->side[0].vcpu_error), "a test process");
	ctx->side[MB_SIDE_DESTINATION] = (struct mb_probe_side){ .role = "destination", .host = "here", .local = 1 };
}

static double phase_cpu(const json_t *pcpu, const char *phase)
{
	json_t *p = json_object_get(pcpu, phase);

	assert_true(json_is_object(p));
	return json_number_value(json_object_get(p, "user_ms")) + json_number_value(json_object_get(p, "system_ms"));
}

static void counters_of_a_process_on_another_host(void **unused)
{
	struct mb_probe_ctx ctx;
	struct mb_run_spec spec;
	struct mb_remote_probes *rp;
	struct mb_mig_times times = { 0 };
	json_t *hosts, *h, *ctr, *src;
	pid_t pid;
	int64_t t0, offset, rtt;
	double c0, c1, seen;

	setenv("MIGBENCH_REMOTE_BIN", migbench_bin(), 1);
	pid = burner();
	ctx_remote(&ctx, &spec, "env", pid);
	c0 = cpu_ms(pid);
	rp = mb_remote_probes_start(&ctx);
	assert_non_null(rp);
	t0 = mb_clock_us(CLOCK_REALTIME);
	times.start_us = t0 + 300000;
	times.src_stop_us = t0 + 600000;
	times.dst_resume_us = t0 + 650000;
	times.src_complete_us = times.dst_complete_us = t0 + 900000;
	mb_sleep_us(1000000);
	mb_remote_probes_stop(rp);
	c1 = cpu_ms(pid);
	hosts = mb_remote_probes_collect(rp, &times);
	stop_burner(pid);
	assert_no_children();

	h = json_object_get(hosts, "other-host");
	assert_non_null(h);
	if (json_object_get(h, "reason"))
		fail_msg("host-probes failed: %s", json_string_value(json_object_get(h, "reason")));
	assert_string_equal(json_string_value(json_object_get(h, "role")), "source");
	offset = json_integer_value(json_object_get(h, "clock_offset_us"));
	rtt = json_integer_value(json_object_get(h, "clock_rtt_us"));
	print_message("# clock_offset_us %lld, clock_rtt_us %lld\n", (long long)offset, (long long)rtt);
	assert_true(rtt > 0);
	/* One clock: the reply was stamped between send and receive. */
	assert_true(llabs(offset) <= rtt / 2 + 200);
	assert_non_null(strstr(json_string_value(json_object_get(h, "clock")), "offset measured over the exec channel"));

	ctr = json_object_get(json_object_get(h, "probes"), "counters");
	assert_true(json_is_true(json_object_get(ctr, "available")));
	/* the scenario's sample_interval reached it */
	assert_int_equal((int)(json_number_value(json_object_get(ctr, "interval_ms")) + 0.5), 20);
	src = json_object_get(ctr, "source");
	assert_int_equal(json_integer_value(json_object_get(src, "pid")), pid);
	assert_string_equal(json_string_value(json_object_get(src, "host")), "other-host");
	/* What it saw is the CPU the process burnt while it watched. */
	seen = phase_cpu(json_object_get(src, "process_cpu_time"), "before") +
	       phase_cpu(json_object_get(src, "process_cpu_time"), "migration");
	print_message("# process CPU seen remotely %.0f ms, by /proc around it %.0f ms\n", seen, c1 - c0);
	assert_true(seen > 0);
	assert_true(seen <= c1 - c0 + 30);
	assert_true(seen >= (c1 - c0) * 0.5 - 30);
	/* The other side is not its business. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ctr, "destination"), "pid")), 0);
	json_decref(hosts);
}

static void broken_exec_is_a_reason(void **unused)
{
	struct mb_probe_ctx ctx;
	struct mb_run_spec spec;
	struct mb_remote_probes *rp;
	struct mb_mig_times times = { 0 };
	json_t *hosts, *h;
	const char *reason;

	setenv("MIGBENCH_REMOTE_BIN", migbench_bin(), 1);
	ctx_remote(&ctx, &spec, "false", getpid());
	rp = mb_remote_probes_start(&ctx);
	assert_non_null(rp);
	mb_remote_probes_stop(rp);
	hosts = mb_remote_probes_collect(rp, &times);
	assert_no_children();
	h = json_object_get(hosts, "other-host");
	assert_false(json_is_true(json_object_get(h, "available")));
	reason = json_string_value(json_object_get(h, "reason"));
	assert_non_null(reason);
	print_message("# %s\n", reason);
	assert_non_null(strstr(reason, "exit status 1"));
	assert_null(json_object_get(h, "probes"));
	json_decref(hosts);

	/* A remote binary that is not there: the shell's message is the reason. */
	setenv("MIGBENCH_REMOTE_BIN", "/nonexistent/migbench", 1);
	ctx_remote(&ctx, &spec, "env", getpid());
	hosts = mb_remote_probes_collect(mb_remote_probes_start(&ctx), &times);
	assert_no_children();
	reason = json_string_value(json_object_get(json_object_get(hosts, "other-host"), "reason"));
	assert_non_null(reason);
	print_message("# %s\n", reason);
	assert_non_null(strstr(reason, "/nonexistent/migbench"));
	json_decref(hosts);
}

/* A host that never answers: the timeout, then SIGKILL, nothing left. */
static void silent_host_is_killed(void **unused)
{
	struct mb_probe_ctx ctx;
	struct mb_run_spec spec;
	struct mb_mig_times times = { 0 };
	json_t *hosts;
	const char *reason;
	int64_t t0 = mb_clock_us(CLOCK_MONOTONIC);
	int saved = mb_remote_probes_timeout_ms;

	setenv("MIGBENCH_REMOTE_BIN", migbench_bin(), 1);
	mb_remote_probes_timeout_ms = 300;
	/* `exec sleep 60 # migbench host-probes`: reads nothing, says nothing */
	ctx_remote(&ctx, &spec, "sleep 60 #", getpid());
	hosts = mb_remote_probes_collect(mb_remote_probes_start(&ctx), &times);
	mb_remote_probes_timeout_ms = saved;
	assert_no_children();
	reason = json_string_value(json_object_get(json_object_get(hosts, "other-host"), "reason"));
	assert_non_null(reason);
	print_message("# %s\n", reason);
	assert_non_null(strstr(reason, "did not answer its first line within 300 ms"));
	assert_true(mb_clock_us(CLOCK_MONOTONIC) - t0 < 15000000);
	json_decref(hosts);
}

/* Only local sides, or remote ones without exec: nothing to start. */
static void nothing_remote(void **unused)
{
	struct mb_probe_ctx ctx;
	struct mb_run_spec spec;

	ctx_remote(&ctx, &spec, NULL, 0);
	assert_null(mb_remote_probes_start(&ctx));
	json_t *hosts = mb_remote_probes_collect(NULL, &(struct mb_mig_times){ 0 });

	assert_int_equal(json_object_size(hosts), 0);
	json_decref(hosts);
}

static void times_shifted_both_ways(void **unused)
{
	struct mb_mig_times t = { .start_us = 1000, .src_stop_us = 2000, .dst_resume_us = 2500 }, back;
	struct mb_err err = { 0 };
	json_t *o = mb_remote_times_to_json(&t, -300);

	assert_int_equal(json_integer_value(json_object_get(o, "start_us")), 700);
	assert_int_equal(json_integer_value(json_object_get(o, "dst_resume_us")), 2200);
	assert_int_equal(json_integer_value(json_object_get(o, "postcopy_us")), 0); /* never: stays 0 */
	assert_int_equal(mb_remote_times_from_json(o, &back, &err), 0);
	assert_int_equal(back.src_stop_us, 1700);
	json_object_set_new(o, "src_stop_us", json_string("soon"));
	assert_int_equal(mb_remote_times_from_json(o, &back, &err), -1);
	assert_non_null(strstr(err.msg, "src_stop_us"));
	json_decref(o);
}

/* `migbench host-probes` with `input` on stdin: exit status, stdout, stderr. */
static int host_probes(const char *input, char *out, size_t outlen, char *errtext, size_t errlen)
{
	char dir[] = "/tmp/test-remote-probes.XXXXXX", cmd[1024], path[128];
	FILE *f;
	int status;
	size_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/in", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(input, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' host-probes <%s/in >%s/out 2>%s/err", migbench_bin(), dir, dir, dir);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	snprintf(path, sizeof(path), "%s/out", dir);
	f = fopen(path, "r");
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	fclose(f);
	snprintf(path, sizeof(path), "%s/err", dir);
	f = fopen(path, "r");
	n = fread(errtext, 1, errlen - 1, f);
	errtext[n] = '\0';
	fclose(f);
	snprintf(cmd, sizeof(cmd), "rm -r '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return WEXITSTATUS(status);
}

static void protocol_errors(void **unused)
{
	static const struct {
		const char *input, *says;
	} bad[] = {
		{ "{not json\n", "first line: not a JSON object" },
		{ "[1, 2]\n", "first line: not a JSON object" },
		{ "", "stdin ended before the first line" },
		{ "{\"params\": {}}\n", "\"side\" is missing" },
		{ "{\"side\": {\"role\": \"elsewhere\"}}\n", "\"side\".role" },
		{ "{\"params\": [], \"side\": {\"role\": \"source\"}}\n", "\"params\" is not an object" },
		{ "{\"side\": {\"role\": \"source\", \"pid\": \"12\"}}\n", "\"side\".pid" },
		{ "{\"side\": {\"role\": \"source\", \"vcpus\": [{\"tid\": 1}]}}\n", "tid and index" },
		{ "{\"side\": {\"role\": \"source\"}}\n{\"dance\": 1}\n", "expected {\"ping\": N}" },
		{ "{\"side\": {\"role\": \"source\"}}\n{\"collect\": {\"times\": {}}}\n", "after stop" },
		{ "{\"side\": {\"role\": \"source\"}}\n{\"stop\": {\"times\": {\"start_us\": 1.5}}}\n", "start_us" },
		{ "{\"side\": {\"role\": \"source\"}}\nping\n", "a line after the first: not a JSON object" },
	};
	char out[65536], err[4096];

	migbench_bin();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = host_probes(bad[i].input, out, sizeof(out), err, sizeof(err));

		if (rc != 2 || !strstr(err, bad[i].says) || !strstr(err, "migbench host-probes: "))
			fail_msg("input %zu (%s): exit %d, stderr '%s' (expected 2 and '%s')", i, bad[i].input, rc,
				 err, bad[i].says);
	}
	/* EOF after the first line: stops quietly, nothing but "started". */
	assert_int_equal(host_probes("{\"side\": {\"role\": \"source\", \"pid\": 1}}\n", out, sizeof(out), err,
				     sizeof(err)), 0);
	assert_non_null(strstr(out, "\"started\":true"));
	assert_null(strstr(out, "\"probes\""));
	/* A key this host refuses keeps its default and is named. */
	assert_int_equal(host_probes("{\"params\": {\"sample_interval\": \"-5\"}, \"side\": {\"role\": \"destination\"}}\n"
				     "{\"ping\": 7}\n{\"stop\": {}}\n{\"collect\": {\"times\": {}}}\n",
				     out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(out, "\"params_ignored\":{\"sample_interval\""));
	assert_non_null(strstr(out, "\"pong\":7"));
	assert_non_null(strstr(out, "\"stopped\":true"));
	assert_non_null(strstr(out, "{\"probes\":{"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(times_shifted_both_ways),
		cmocka_unit_test(nothing_remote),
		cmocka_unit_test(protocol_errors),
		cmocka_unit_test(counters_of_a_process_on_another_host),
		cmocka_unit_test(broken_exec_is_a_reason),
		cmocka_unit_test(silent_host_is_killed),
	};

	/* An orphaned grandchild becomes ours: assert_no_children sees it. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
