/* The real agent binary ($MIGBENCH_AGENT) in --stdio mode, driven through
 * pipes the way the host drives it through the heartbeat channel: pacing
 * accuracy for several rates and every pattern, PING round trip, VERIFY,
 * PERIOD, STATS, heartbeats that never block the workload, and bad
 * parameters that leave an idle agent still answering. */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workloads/proto.h"

#define WAIT_MS 5000
/* ±5 %: the contract for rates the guest can sustain. */
#define RATE_TOLERANCE 0.05

struct heartbeat {
	uint64_t seq, gt, written, ops, rate;
};

struct agent {
	pid_t pid;
	int to_agent;
	int from_agent;
	char stderr_path[64];
	char buf[1 << 16];
	size_t len;
	bool have_hb;
	struct heartbeat last_hb;
	uint64_t heartbeats;
	uint64_t missing_seqs; /* heartbeats the agent dropped (gaps in seq) */
	uint64_t next_id;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Starts `$MIGBENCH_AGENT --stdio args...`; the test is skipped when the
 * variable is unset (running the binary outside `make check`). */
static void agent_spawn(struct agent *a, const char *const args[])
{
	const char *path = getenv("MIGBENCH_AGENT");
	char *argv[32] = { (char *)path, "--stdio" };
	int in[2], out[2], err_fd;
	size_t n = 2;

	if (!path || !*path)
		skip();
	for (; *args && n < 31; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;

	memset(a, 0, sizeof(*a));
	a->next_id = 1;
	snprintf(a->stderr_path, sizeof(a->stderr_path), "/tmp/test-agent-stdio.%d.err", (int)getpid());
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	err_fd = open(a->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(err_fd >= 0);
	a->pid = fork();
	assert_true(a->pid >= 0);
	if (a->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err_fd, STDERR_FILENO);
		execv(path, argv);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err_fd);
	a->to_agent = in[1];
	a->from_agent = out[0];
}

static void agent_stop(struct agent *a)
{
	int status;

	if (a->pid <= 0)
		return;
	/* End of stdin is the agent's signal to exit cleanly. */
	close(a->to_agent);
	for (int i = 0; i < 300; i++) {
		if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
			a->pid = 0;
			break;
		}
		/* Keep draining so the agent is never stuck on a full pipe. */
		char sink[4096];
		struct pollfd p = { .fd = a->from_agent, .events = POLLIN };
		if (poll(&p, 1, 10) > 0 && read(a->from_agent, sink, sizeof(sink)) <= 0)
			usleep(10000);
	}
	if (a->pid > 0) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, &status, 0);
		a->pid = 0;
		fail_msg("agent did not exit within 3 s of end of stdin");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(a->from_agent);
	unlink(a->stderr_path);
}

static void note_heartbeat(struct agent *a, const struct mb_proto_line *l)
{
	struct heartbeat hb;

	assert_int_equal(mb_proto_get_u64(l, "seq", &hb.seq), 0);
	assert_int_equal(mb_proto_get_u64(l, "gt", &hb.gt), 0);
	assert_int_equal(mb_proto_get_u64(l, "written", &hb.written), 0);
	assert_int_equal(mb_proto_get_u64(l, "ops", &hb.ops), 0);
	assert_int_equal(mb_proto_get_u64(l, "rate", &hb.rate), 0);
	if (a->have_hb) {
		assert_true(hb.seq > a->last_hb.seq);
		assert_true(hb.gt > a->last_hb.gt);
		assert_true(hb.written >= a->last_hb.written);
		a->missing_seqs += hb.seq - a->last_hb.seq - 1;
	}
	a->last_hb = hb;
	a->have_hb = true;
	a->heartbeats++;
}

/* Reads records for up to `timeout_ms`, tracking heartbeats. Returns true
 * as soon as a record of `type` (or ERR, with `or_err`) arrives, copied to
 * `out`; type NULL just pumps for the whole time. Other records are
 * unexpected: they fail the test. */
static bool agent_read_or_err(struct agent *a, const char *type, bool or_err, int timeout_ms, char *out,
			     size_t out_len)
{
	uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000u;

	for (;;) {
		char *nl;

		while ((nl = memchr(a->buf, '\n', a->len))) {
			char line[MB_PROTO_LINE_MAX], copy[MB_PROTO_LINE_MAX];
			size_t n = (size_t)(nl - a->buf);
			struct mb_proto_line l;

			assert_true(n < sizeof(line));
			memcpy(line, a->buf, n);
			line[n] = '\0';
			memmove(a->buf, nl + 1, a->len - n - 1);
			a->len -= n + 1;
			memcpy(copy, line, n + 1);
			assert_int_equal(mb_proto_parse(copy, &l), 0);
			if (!strcmp(l.type, "HB")) {
				note_heartbeat(a, &l);
				continue;
			}
			if (type && (!strcmp(l.type, type) || (or_err && !strcmp(l.type, "ERR")))) {
				snprintf(out, out_len, "%s", line);
				return true;
			}
			fail_msg("unexpected record while waiting for %s: %s", type ? type : "heartbeats", line);
		}

		uint64_t now = now_us();
		if (now >= deadline)
			return false;
		struct pollfd p = { .fd = a->from_agent, .events = POLLIN };
		int r = poll(&p, 1, (int)((deadline - now + 999) / 1000));
		if (r <= 0)
			continue;
		ssize_t got = read(a->from_agent, a->buf + a->len, sizeof(a->buf) - a->len - 1);
		if (got <= 0)
			fail_msg("agent closed its stdout (exited?) while waiting for %s", type ? type : "heartbeats");
		a->len += (size_t)got;
	}
}

static bool agent_read(struct agent *a, const char *type, int timeout_ms, char *out, size_t out_len)
{
	return agent_read_or_err(a, type, false, timeout_ms, out, out_len);
}

static void agent_send(struct agent *a, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	assert_int_equal(write(a->to_agent, line, (size_t)n), n);
}

/* Sends `command id args` and waits for its reply (PONG for PING, the
 * command's own type otherwise, or ERR), which must carry the same id. */
static void agent_ask(struct agent *a, const char *command_type, char *reply, size_t len, const char *fmt, ...)
{
	const char *type = strcmp(command_type, "PING") ? command_type : "PONG";
	char command[256], expect_id[32];
	uint64_t id = a->next_id++;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);
	agent_send(a, "%s %" PRIu64 "%s%s", command_type, id, *command ? " " : "", command);
	if (!agent_read_or_err(a, type, true, WAIT_MS, reply, len))
		fail_msg("no %s reply to '%s %" PRIu64 " %s' within %d ms", type, command_type, id, command, WAIT_MS);
	snprintf(expect_id, sizeof(expect_id), "id=%" PRIu64 " ", id);
	if (strncmp(reply, type, strlen(type)) || !strstr(reply, expect_id))
		fail_msg("'%s %" PRIu64 " %s' got: %s", command_type, id, command, reply);
}

static uint64_t field(const char *record, const char *key)
{
	char copy[MB_PROTO_LINE_MAX];
	struct mb_proto_line l;
	uint64_t v;

	snprintf(copy, sizeof(copy), "%s", record);
	assert_int_equal(mb_proto_parse(copy, &l), 0);
	if (mb_proto_get_u64(&l, key, &v))
		fail_msg("record has no %s: %s", key, record);
	return v;
}

static const char *text_field(const char *record, const char *key, char *out, size_t len)
{
	char copy[MB_PROTO_LINE_MAX];
	struct mb_proto_line l;
	const char *v;

	snprintf(copy, sizeof(copy), "%s", record);
	assert_int_equal(mb_proto_parse(copy, &l), 0);
	v = mb_proto_get(&l, key);
	snprintf(out, len, "%s", v ? v : "");
	return out;
}

static void wait_hello(struct agent *a, char *hello, size_t len)
{
	if (!agent_read(a, "HELLO", WAIT_MS, hello, len))
		fail_msg("no HELLO within %d ms", WAIT_MS);
	assert_int_equal(field(hello, "v"), MB_PROTO_VERSION);
}

static void check_within(const char *what, double measured, double target)
{
	double error = (measured - target) / target;

	print_message("# %-28s target %6.0f  measured %8.1f  (%+.2f%%)\n", what, target, measured, 100 * error);
	if (error < -RATE_TOLERANCE || error > RATE_TOLERANCE)
		fail_msg("%s: %.1f pages/s is off target %.0f by %+.2f%% (> ±%.0f%%)", what, measured, target,
			 100 * error, 100 * RATE_TOLERANCE);
}

/* Switches to `rate`, lets it settle, then measures the achieved rate twice:
 * from STATS (the agent's own window) and from two heartbeats ~1 s apart. */
static void measure_rate(struct agent *a, const char *pattern, uint64_t rate)
{
	char reply[MB_PROTO_LINE_MAX], what[64];
	struct heartbeat first;

	agent_ask(a, "RATE", reply, sizeof(reply), "%" PRIu64, rate);
	assert_int_equal(field(reply, "rate"), rate);
	agent_read(a, NULL, 100, NULL, 0);
	assert_true(a->have_hb);
	first = a->last_hb;
	agent_read(a, NULL, 1000, NULL, 0);
	assert_int_equal(a->last_hb.rate, rate);
	assert_true(a->last_hb.gt - first.gt > 500000);
	snprintf(what, sizeof(what), "%s heartbeats", pattern);
	check_within(what, (double)(a->last_hb.written - first.written) * 1e6 / (double)(a->last_hb.gt - first.gt),
		     (double)rate);

	agent_ask(a, "STATS", reply, sizeof(reply), "");
	assert_int_equal(field(reply, "rate"), rate);
	assert_true(field(reply, "since_us") >= 1000000);
	snprintf(what, sizeof(what), "%s STATS", pattern);
	check_within(what, (double)field(reply, "achieved"), (double)rate);
	/* achieved is defined as written × 1e6 / since_us. */
	assert_int_equal(field(reply, "achieved"), field(reply, "written") * 1000000 / field(reply, "since_us"));
}

static int teardown_agent(void **state)
{
	struct agent *a = *state;

	if (a->pid > 0) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, NULL, 0);
	}
	if (a->stderr_path[0])
		unlink(a->stderr_path);
	free(a);
	return 0;
}

static int setup_agent(void **state)
{
	*state = calloc(1, sizeof(struct agent));
	return *state ? 0 : -1;
}

static void rates_for_pattern(void **state, const char *pattern)
{
	struct agent *a = *state;
	char arg[64], hello[MB_PROTO_LINE_MAX], text[32], reply[MB_PROTO_LINE_MAX];
	static const uint64_t rates[] = { 2000, 5000, 10000 };

	snprintf(arg, sizeof(arg), "migbench.pattern=%s", pattern);
	agent_spawn(a, (const char *const[]){ "migbench.workload=dirty", "migbench.wss=16M", "migbench.rate=1000",
					      arg, NULL });
	wait_hello(a, hello, sizeof(hello));
	assert_string_equal(text_field(hello, "workload", text, sizeof(text)), "dirty");
	assert_string_equal(text_field(hello, "pattern", text, sizeof(text)), pattern);
	assert_int_equal(field(hello, "wss_pages"), 4096);
	assert_int_equal(field(hello, "page_size"), 4096);
	assert_int_equal(field(hello, "rate"), 1000);
	assert_int_equal(field(hello, "period_us"), 1000);

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		measure_rate(a, pattern, rates[i]);

	/* Everything written so far was stamped and still checks out. */
	agent_ask(a, "VERIFY", reply, sizeof(reply), "");
	assert_int_equal(field(reply, "checked"), 4096);
	assert_int_equal(field(reply, "corrupted"), 0);
	assert_int_equal(a->missing_seqs, 0);
	agent_stop(a);
}

static void sequential_rates(void **state) { rates_for_pattern(state, "sequential"); }
static void random_rates(void **state) { rates_for_pattern(state, "random"); }
static void hotcold_rates(void **state) { rates_for_pattern(state, "hotcold"); }

static void ping_round_trip(void **state)
{
	struct agent *a = *state;
	char hello[MB_PROTO_LINE_MAX], reply[MB_PROTO_LINE_MAX];

	agent_spawn(a, (const char *const[]){ "migbench.wss=1M", "migbench.rate=100", NULL });
	wait_hello(a, hello, sizeof(hello));
	for (int i = 0; i < 5; i++) {
		uint64_t sent = now_us(), gt, received;

		agent_ask(a, "PING", reply, sizeof(reply), "");
		received = now_us();
		gt = field(reply, "gt");
		/* --stdio shares the host's CLOCK_MONOTONIC: the guest time of the
		 * reply lies between sending and receiving. */
		assert_true(gt >= sent && gt <= received);
		print_message("# PING round trip %" PRIu64 " us\n", received - sent);
	}
	agent_stop(a);
}

static void verify_and_unpaced(void **state)
{
	struct agent *a = *state;
	char hello[MB_PROTO_LINE_MAX], reply[MB_PROTO_LINE_MAX];
	struct heartbeat first;

	agent_spawn(a, (const char *const[]){ "migbench.wss=16M", "migbench.rate=0", "migbench.pattern=random",
					      "migbench.seed=99", NULL });
	wait_hello(a, hello, sizeof(hello));
	agent_read(a, NULL, 200, NULL, 0);
	first = a->last_hb;
	agent_read(a, NULL, 500, NULL, 0);
	print_message("# unpaced: %.0f pages/s\n",
		      (double)(a->last_hb.written - first.written) * 1e6 / (double)(a->last_hb.gt - first.gt));
	assert_true(a->last_hb.written - first.written > 10000);
	assert_int_equal(a->last_hb.ops, a->last_hb.written);
	for (int i = 0; i < 3; i++) {
		agent_ask(a, "VERIFY", reply, sizeof(reply), "");
		assert_int_equal(field(reply, "checked"), 4096);
		assert_int_equal(field(reply, "corrupted"), 0);
		assert_int_equal(field(reply, "first_bad"), 0);
	}
	agent_stop(a);
}

/* The host stops reading: the pipe fills, heartbeats are dropped (their seq
 * still counts), replies wait, and the workload keeps its rate. */
static void full_channel_never_blocks_the_workload(void **state)
{
	struct agent *a = *state;
	char hello[MB_PROTO_LINE_MAX], reply[MB_PROTO_LINE_MAX];

	agent_spawn(a, (const char *const[]){ "migbench.wss=16M", "migbench.rate=5000", NULL });
	/* One page of pipe: full after ~80 heartbeats. */
	assert_true(fcntl(a->from_agent, F_SETPIPE_SZ, 4096) > 0);
	wait_hello(a, hello, sizeof(hello));
	agent_ask(a, "RATE", reply, sizeof(reply), "5000");
	usleep(1500000);
	agent_read(a, NULL, 300, NULL, 0);
	print_message("# %" PRIu64 " heartbeats received, %" PRIu64 " dropped while nobody read\n", a->heartbeats,
		      a->missing_seqs);
	assert_true(a->missing_seqs > 500);
	agent_ask(a, "STATS", reply, sizeof(reply), "");
	check_within("while the host stalled", (double)field(reply, "achieved"), 5000);
	agent_stop(a);
}

static void period_command(void **state)
{
	struct agent *a = *state;
	char hello[MB_PROTO_LINE_MAX], reply[MB_PROTO_LINE_MAX];
	uint64_t before, first_gt;

	agent_spawn(a, (const char *const[]){ "migbench.wss=1M", "migbench.period=2ms", NULL });
	wait_hello(a, hello, sizeof(hello));
	assert_int_equal(field(hello, "period_us"), 2000);
	agent_ask(a, "PERIOD", reply, sizeof(reply), "20ms");
	assert_int_equal(field(reply, "period_us"), 20000);
	agent_read(a, NULL, 50, NULL, 0);
	before = a->heartbeats;
	first_gt = a->last_hb.gt;
	agent_read(a, NULL, 500, NULL, 0);
	/* ~25 heartbeats in 500 ms at 20 ms. */
	print_message("# %" PRIu64 " heartbeats in %" PRIu64 " us at 20 ms\n", a->heartbeats - before,
		      a->last_hb.gt - first_gt);
	assert_true(a->heartbeats - before >= 20 && a->heartbeats - before <= 27);
	agent_send(a, "PERIOD 77 0");
	assert_true(agent_read(a, "ERR", WAIT_MS, reply, sizeof(reply)));
	assert_string_equal(reply, "ERR id=77 msg=bad_period");
	agent_stop(a);
}

static void bad_commands_get_err(void **state)
{
	struct agent *a = *state;
	char hello[MB_PROTO_LINE_MAX], reply[MB_PROTO_LINE_MAX];

	agent_spawn(a, (const char *const[]){ "migbench.wss=1M", "migbench.rate=100", NULL });
	wait_hello(a, hello, sizeof(hello));
	agent_send(a, "FROB 41");
	assert_true(agent_read(a, "ERR", WAIT_MS, reply, sizeof(reply)));
	assert_string_equal(reply, "ERR id=41 msg=unknown_command");
	agent_send(a, "RATE 42 lots");
	assert_true(agent_read(a, "ERR", WAIT_MS, reply, sizeof(reply)));
	assert_string_equal(reply, "ERR id=42 msg=bad_rate");
	agent_send(a, "PING");
	assert_true(agent_read(a, "ERR", WAIT_MS, reply, sizeof(reply)));
	assert_string_equal(reply, "ERR id=0 msg=bad_id");
	/* The rate did not change, and the agent still answers. */
	agent_ask(a, "STATS", reply, sizeof(reply), "");
	assert_int_equal(field(reply, "rate"), 100);
	/* RATE takes the kernel parameter's syntax: 16M bytes/s = 4096 pages/s. */
	agent_ask(a, "RATE", reply, sizeof(reply), "16M");
	assert_int_equal(field(reply, "rate"), 4096);
	agent_stop(a);
}

/* A typo on the command line: say so on the console and on the channel,
 * then idle and keep answering instead of dying. */
static void bad_parameter_idles_and_reports(void **state)
{
	struct agent *a = *state;
	char hello[MB_PROTO_LINE_MAX], reply[MB_PROTO_LINE_MAX], text[32], console[1024] = "";
	FILE *err;

	agent_spawn(a, (const char *const[]){ "migbench.wss=1M", "migbench.rate=fast", NULL });
	wait_hello(a, hello, sizeof(hello));
	assert_string_equal(text_field(hello, "workload", text, sizeof(text)), "idle");
	assert_true(agent_read(a, "ERR", WAIT_MS, reply, sizeof(reply)));
	assert_string_equal(reply, "ERR id=0 msg=bad_value:migbench.rate");
	agent_ask(a, "PING", reply, sizeof(reply), "");
	agent_read(a, NULL, 200, NULL, 0);
	assert_true(a->heartbeats > 50);
	assert_int_equal(a->last_hb.written, 0);
	err = fopen(a->stderr_path, "r");
	assert_non_null(err);
	assert_true(fread(console, 1, sizeof(console) - 1, err) > 0);
	fclose(err);
	assert_non_null(strstr(console, "migbench.rate=fast"));
	agent_stop(a);
}

/* idle writes nothing after the initial stamp; compute counts ops and
 * writes nothing; both verify clean. */
static void idle_and_compute(void **state)
{
	struct agent *a = *state;
	char hello[MB_PROTO_LINE_MAX], reply[MB_PROTO_LINE_MAX];
	uint64_t ops_before;

	agent_spawn(a, (const char *const[]){ "migbench.workload=idle", "migbench.wss=4M", NULL });
	wait_hello(a, hello, sizeof(hello));
	agent_read(a, NULL, 300, NULL, 0);
	assert_int_equal(a->last_hb.written, 0);
	assert_int_equal(a->last_hb.ops, 0);
	agent_ask(a, "VERIFY", reply, sizeof(reply), "");
	assert_int_equal(field(reply, "checked"), 1024);
	assert_int_equal(field(reply, "corrupted"), 0);
	agent_ask(a, "RATE", reply, sizeof(reply), "500");
	agent_read(a, NULL, 100, NULL, 0);
	agent_ask(a, "STATS", reply, sizeof(reply), "");
	assert_int_equal(field(reply, "written"), 0);
	agent_stop(a);

	agent_spawn(a, (const char *const[]){ "migbench.workload=compute", "migbench.wss=4M", NULL });
	wait_hello(a, hello, sizeof(hello));
	agent_read(a, NULL, 100, NULL, 0);
	ops_before = a->last_hb.ops;
	agent_read(a, NULL, 300, NULL, 0);
	print_message("# compute: %.0f ops/s\n", (double)(a->last_hb.ops - ops_before) / 0.3);
	assert_true(a->last_hb.ops > ops_before);
	assert_int_equal(a->last_hb.written, 0);
	agent_ask(a, "VERIFY", reply, sizeof(reply), "");
	assert_int_equal(field(reply, "corrupted"), 0);
	agent_stop(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sequential_rates, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(random_rates, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(hotcold_rates, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(ping_round_trip, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(verify_and_unpaced, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(full_channel_never_blocks_the_workload, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(period_command, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(bad_commands_get_err, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(bad_parameter_idles_and_reports, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(idle_and_compute, setup_agent, teardown_agent),
	};

	/* A hung agent must fail the suite, not hang `make check`. */
	alarm(120);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
