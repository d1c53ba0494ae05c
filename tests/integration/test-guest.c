/* Boots real guests (the cached image, under TCG) and checks the host side
 * of one guest end to end: QEMU spawning and teardown, the heartbeat
 * reader, the agent's commands, and that the dirty rate the guest achieves
 * is the one asked for.
 *
 * Skips, saying why, when no image can be built or there is no QEMU. Each
 * test boots its own guest in its body and the teardown function stops it,
 * so a failing assertion still leaves no QEMU process behind; the run
 * directories live under a private $XDG_RUNTIME_DIR that every teardown
 * checks is empty again. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probes/heartbeat.h"
#include "runners/guest.h"
#include "runners/qemu_proc.h"
#include "workloads/image/image.h"

#include "harness.h"

#define FIRST_HEARTBEAT_TIMEOUT_MS 60000
#define FIRST_HEARTBEAT_BOUND_S 20.0 /* CI machines vary; ~2-3 s is typical */
#define COMMAND_TIMEOUT_MS 10000
#define VERIFY_TIMEOUT_MS 60000
#define RATE_WINDOW_MS 2000          /* how long each dirty-rate target runs */
#define RATE_SETTLE_MS 200           /* ... of which the first part is not measured by the host */
#define RATE_TOLERANCE 0.05
#define PERIOD_TOLERANCE 0.20

/* What every test shares: the image, and why it cannot run, if it cannot. */
static struct mb_image image;
static char skip_reason[MB_ERR_MAX + 64];

/* One test's guest, or the fake guests of the reader test. */
struct fixture {
	struct mb_qemu *q;
	struct mb_hb_reader *r;
	pid_t pid;
	char dir[PATH_MAX];
	double boot_s;
	/* fake heartbeat sockets: listening and accepted ends */
	char fake_path[2][PATH_MAX];
	int fake_listen[2], fake_conn[2];
};

/* ---- group fixture: image, QEMU, private runtime dir ------------------------ */

static int group_setup(void **state)
{
	struct mb_image_opts opts = { 0 }; /* defaults: $MIGBENCH_AGENT, the usual cache */
	struct mb_err err = { 0 };
	const char *qemu = mbt_qemu_binary();

	/* qemu_proc.c makes run directories here: the teardowns can see leftovers. */
	if (mbt_runtime_dir_init("/tmp/mb-test-guest-XXXXXX"))
		return -1;

	if (!mbt_qemu_exists(qemu)) {
		snprintf(skip_reason, sizeof(skip_reason), "no executable QEMU %s (set MIGBENCH_QEMU)", qemu);
	} else if (mb_image_ensure(&opts, &image, &err)) {
		snprintf(skip_reason, sizeof(skip_reason), "no guest image: %s", err.msg);
	} else {
		print_message("# image %s: kernel %s (%s), initrd %lld bytes\n", image.id, image.kernel_version,
			      image.kernel_source, image.initrd_size);
	}
	return 0;
}

static int group_teardown(void **state)
{
	rmdir(mbt_runtime_dir);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (!f)
		return -1;
	for (int i = 0; i < 2; i++)
		f->fake_listen[i] = f->fake_conn[i] = -1;
	return 0;
}

/* Stops the guest and checks that nothing is left of it: no process, no
 * run directory, nothing else in the runtime dir. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	char leftover[PATH_MAX + 300];
	int rc = 0;

	mb_hb_reader_free(f->r);
	mb_qemu_stop(f->q, MB_QEMU_GRACE_MS);
	for (int i = 0; i < 2; i++) {
		if (f->fake_conn[i] >= 0)
			close(f->fake_conn[i]);
		if (f->fake_listen[i] >= 0)
			close(f->fake_listen[i]);
		if (f->fake_path[i][0])
			unlink(f->fake_path[i]);
	}
	if (f->pid > 0 && (kill(f->pid, 0) == 0 || errno != ESRCH)) {
		print_error("QEMU pid %d still exists after teardown\n", (int)f->pid);
		kill(f->pid, SIGKILL);
		rc = -1;
	}
	if (f->dir[0] && access(f->dir, F_OK) == 0) {
		print_error("run directory %s still exists after teardown\n", f->dir);
		rc = -1;
	}
	if (mbt_first_entry(mbt_runtime_dir, leftover, sizeof(leftover))) {
		print_error("left behind after teardown: %s\n", leftover);
		rc = -1;
	}
	free(f);
	return rc;
}

/* ---- booting ---------------------------------------------------------------------- */

static void skip_without_image(void)
{
	mbt_skip_if(skip_reason);
}

static void guest_defaults(struct mb_guest *g)
{
	mb_guest_defaults(g);
	g->qemu = mbt_qemu_binary();
	g->accel = MB_ACCEL_TCG; /* what CI has; KVM would only be faster */
	g->kernel = image.kernel;
	g->initrd = image.initrd;
}

/* Boots `g` and waits for its first heartbeat; fails the test with QEMU's
 * and the console's last words when it does not come. */
static void boot(struct fixture *f, const struct mb_guest *g)
{
	struct mb_qemu_opts opts = { .guest = g, .label = "test" };
	struct mb_err err = { 0 };
	struct mb_hb_record first;

	if (mb_qemu_start(&opts, &f->q, &err))
		fail_msg("%s", err.msg);
	f->pid = f->q->pid;
	snprintf(f->dir, sizeof(f->dir), "%s", f->q->dir);
	if (mb_hb_reader_new(&f->r, &err) ||
	    mb_qemu_wait_for_socket(f->q, f->q->hb_socket, 10000, &err) ||
	    mb_hb_attach(f->r, f->q->hb_socket, "test", 10000, NULL, &err))
		fail_msg("%s", err.msg);
	if (mb_hb_wait_records(f->r, 1, FIRST_HEARTBEAT_TIMEOUT_MS, &err)) {
		if (mb_qemu_check_alive(f->q, &err) == 0)
			mb_qemu_explain(f->q, &err);
		fail_msg("no first heartbeat: %s", err.msg);
	}
	assert_int_equal(mb_hb_copy(f->r, 0, &first, 1), 1);
	f->boot_s = (double)(first.host_mono_us - f->q->launch_mono_us) / 1e6;
}

static void command(struct fixture *f, const char *cmd, const char *args, struct mb_hb_reply *reply,
		    int timeout_ms)
{
	struct mb_err err = { 0 };

	if (mb_hb_command(f->r, cmd, args, reply, timeout_ms, &err))
		fail_msg("%s", err.msg);
}

static uint64_t field(const struct mb_hb_reply *reply, const char *key)
{
	struct mb_err err = { 0 };
	uint64_t v;

	if (mb_hb_reply_u64(reply, key, &v, &err))
		fail_msg("%s", err.msg);
	return v;
}

static void verify_clean(struct fixture *f, uint64_t wss_pages)
{
	struct mb_hb_reply reply;

	command(f, "VERIFY", NULL, &reply, VERIFY_TIMEOUT_MS);
	print_message("# %s\n", reply.text);
	assert_int_equal(field(&reply, "corrupted"), 0);
	assert_int_equal(field(&reply, "checked"), wss_pages);
}

/* ---- heartbeat timing ------------------------------------------------------------- */

static int compare_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Heartbeats that arrive during the next `ms`: their number, the median
 * interval between arrivals (µs) and the seq numbers lost. */
struct arrivals {
	size_t count;
	double median_us;
	uint64_t lost;
};

static struct arrivals watch_arrivals(struct fixture *f, unsigned ms)
{
	size_t from = mb_hb_count(f->r), n;
	struct mb_hb_record *recs;
	int64_t *gaps;
	struct arrivals a = { 0 };

	mbt_sleep_ms(ms);
	n = mb_hb_count(f->r) - from;
	recs = calloc(n + 1, sizeof(*recs));
	gaps = calloc(n + 1, sizeof(*gaps));
	assert_non_null(recs);
	assert_non_null(gaps);
	n = mb_hb_copy(f->r, from, recs, n);
	a.count = n;
	for (size_t i = 1; i < n; i++) {
		gaps[i - 1] = recs[i].host_mono_us - recs[i - 1].host_mono_us;
		if (recs[i].seq > recs[i - 1].seq + 1)
			a.lost += recs[i].seq - recs[i - 1].seq - 1;
	}
	if (n > 1) {
		qsort(gaps, n - 1, sizeof(*gaps), compare_i64);
		a.median_us = (double)gaps[(n - 1) / 2];
	}
	free(recs);
	free(gaps);
	return a;
}

static void assert_period(const char *what, const struct arrivals *a, double period_us)
{
	double error = a->median_us / period_us - 1;

	print_message("# %s: %zu heartbeats, median interval %.0f us (period %.0f us, %+.1f %%), %" PRIu64
		      " lost\n", what, a->count, a->median_us, period_us, 100 * error, a->lost);
	if (error < -PERIOD_TOLERANCE || error > PERIOD_TOLERANCE)
		fail_msg("%s: median heartbeat interval %.0f us is not within %.0f %% of %.0f us", what,
			 a->median_us, 100 * PERIOD_TOLERANCE, period_us);
}

/* ---- tests ---------------------------------------------------------------------- */

/* The default guest: boot time, HELLO, PING, a sane 1 ms beat, VERIFY. */
static void boots_and_answers(void **state)
{
	struct fixture *f = *state;
	struct mb_guest g;
	struct mb_hb_hello hello;
	struct mb_hb_reply reply;
	struct mb_err err = { 0 };
	struct arrivals a;

	skip_without_image();
	guest_defaults(&g);
	boot(f, &g);
	print_message("# launch -> first heartbeat: %.3f s (accel %s)\n", f->boot_s, mb_accel_name(f->q->accel));
	assert_true(f->boot_s < FIRST_HEARTBEAT_BOUND_S);

	if (mb_hb_wait_hello(f->r, &hello, 1000, &err))
		fail_msg("%s", err.msg);
	print_message("# HELLO: workload %s, %" PRIu64 " pages, pattern %s, period %" PRIu64 " us, agent ready %"
		      PRIu64 " ms after the kernel started\n", hello.workload, hello.wss_pages, hello.pattern,
		      hello.period_us, hello.boot_us / 1000);
	assert_string_equal(hello.workload, "dirty");
	assert_string_equal(hello.pattern, "sequential");
	assert_int_equal(hello.wss_pages, g.wss / 4096);
	assert_int_equal(hello.period_us, 1000);
	assert_int_equal(hello.rate, g.rate);

	command(f, "PING", NULL, &reply, COMMAND_TIMEOUT_MS);
	print_message("# PING -> %s in %" PRId64 " us\n", reply.text, reply.host_mono_us - reply.sent_mono_us);
	assert_true(field(&reply, "gt") > 0);

	/* At 1 ms the host sees bursts (virtio batches), so the count is the
	 * check: most heartbeats arrive, none from the future. */
	a = watch_arrivals(f, 2000);
	print_message("# 1 ms period: %zu heartbeats in 2 s, %" PRIu64 " lost\n", a.count, a.lost);
	assert_true(a.count >= 1000 && a.count <= 2200);

	verify_clean(f, g.wss / 4096);
}

/* The period given at boot, then one changed at run time. */
static void heartbeat_period(void **state)
{
	struct fixture *f = *state;
	struct mb_guest g;
	struct mb_hb_reply reply;
	struct arrivals a;

	skip_without_image();
	guest_defaults(&g);
	g.heartbeat_period_us = 10000;
	boot(f, &g);
	a = watch_arrivals(f, 3000);
	assert_period("booted with 10 ms", &a, 10000);

	command(f, "PERIOD", "5000", &reply, COMMAND_TIMEOUT_MS);
	assert_int_equal(field(&reply, "period_us"), 5000);
	mbt_sleep_ms(100); /* let the old period's last interval pass */
	a = watch_arrivals(f, 2000);
	assert_period("PERIOD 5000 at run time", &a, 5000);
}

/* Pages/s written during the next `ms`, from the first and last heartbeat
 * of that time (written deltas over the guest's own clock). */
static double host_dirty_rate(struct fixture *f, unsigned ms)
{
	size_t from = mb_hb_count(f->r), to;
	struct mb_hb_record first, last;

	mbt_sleep_ms(ms);
	to = mb_hb_count(f->r);
	assert_true(to > from + 1);
	assert_int_equal(mb_hb_copy(f->r, from, &first, 1), 1);
	assert_int_equal(mb_hb_copy(f->r, to - 1, &last, 1), 1);
	assert_true(last.guest_us > first.guest_us);
	return (double)(last.written - first.written) * 1e6 / (double)(last.guest_us - first.guest_us);
}

/* Dirty rates changed at run time with RATE, measured by the guest's own
 * STATS, for one access pattern; then VERIFY after all that writing. */
static void dirty_rates(struct fixture *f, enum mb_pattern pattern, const char *name)
{
	static const uint64_t targets[] = { 256, 4096, 65536 }; /* pages/s: 1, 16, 256 MiB/s */
	struct mb_guest g;
	struct mb_hb_reply reply;
	char arg[32];

	skip_without_image();
	guest_defaults(&g);
	g.pattern = pattern;
	boot(f, &g);
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		uint64_t achieved;
		double error, seen;

		snprintf(arg, sizeof(arg), "%" PRIu64, targets[i]);
		command(f, "RATE", arg, &reply, COMMAND_TIMEOUT_MS);
		assert_int_equal(field(&reply, "rate"), targets[i]);
		/* The host's view from the heartbeats' `written` counter, once
		 * the workload surely applies the new rate. */
		mbt_sleep_ms(RATE_SETTLE_MS);
		seen = host_dirty_rate(f, RATE_WINDOW_MS - RATE_SETTLE_MS);
		command(f, "STATS", NULL, &reply, COMMAND_TIMEOUT_MS);
		assert_int_equal(field(&reply, "rate"), targets[i]);
		achieved = field(&reply, "achieved");
		error = (double)achieved / (double)targets[i] - 1;
		print_message("# %-10s target %6" PRIu64 " pages/s  guest STATS %6" PRIu64 " (%+.2f %%) over %.2f s"
			      "  heartbeats %8.0f (%+.2f %%)\n", name, targets[i], achieved, 100 * error,
			      (double)field(&reply, "since_us") / 1e6, seen, 100 * (seen / (double)targets[i] - 1));
		if (error < -RATE_TOLERANCE || error > RATE_TOLERANCE)
			fail_msg("%s: the guest achieved %" PRIu64 " pages/s, not within %.0f %% of %" PRIu64, name,
				 achieved, 100 * RATE_TOLERANCE, targets[i]);
		if (seen / (double)targets[i] - 1 < -RATE_TOLERANCE || seen / (double)targets[i] - 1 > RATE_TOLERANCE)
			fail_msg("%s: heartbeats show %.0f pages/s, not within %.0f %% of %" PRIu64, name, seen,
				 100 * RATE_TOLERANCE, targets[i]);
	}
	verify_clean(f, g.wss / 4096);
}

static void dirty_rate_sequential(void **state)
{
	dirty_rates(*state, MB_PATTERN_SEQUENTIAL, "sequential");
}

static void dirty_rate_random(void **state)
{
	dirty_rates(*state, MB_PATTERN_RANDOM, "random");
}

static void dirty_rate_hotcold(void **state)
{
	dirty_rates(*state, MB_PATTERN_HOTCOLD, "hotcold");
}

/* A QEMU that dies at start-up is reported with its own words, and leaves
 * nothing behind (the teardown checks). */
static void early_death_is_reported(void **state)
{
	struct fixture *f = *state;
	struct mb_guest g;
	struct mb_qemu_opts opts = { .guest = &g, .label = "test" };
	struct mb_err err = { 0 };
	double deadline = mbt_now_s() + 30;

	if (!mbt_qemu_exists(mbt_qemu_binary())) {
		print_message("# SKIP: no executable QEMU %s\n", mbt_qemu_binary());
		skip();
	}
	guest_defaults(&g);
	g.kernel = "/nonexistent/migbench-test-vmlinuz";
	g.initrd = "/nonexistent/migbench-test-initrd";
	if (mb_qemu_start(&opts, &f->q, &err))
		fail_msg("%s", err.msg);
	f->pid = f->q->pid;
	snprintf(f->dir, sizeof(f->dir), "%s", f->q->dir);
	while (mb_qemu_check_alive(f->q, &err) == 0) {
		if (mbt_now_s() > deadline)
			fail_msg("QEMU without a kernel is still running after 30 s");
		mbt_sleep_ms(10);
	}
	print_message("# %s\n", err.msg);
	assert_non_null(strstr(err.msg, "exited with status"));
	assert_non_null(strstr(err.msg, "QEMU said:"));
	assert_non_null(strstr(err.msg, "migbench-test-vmlinuz"));
}

/* A guest kernel that panics (no /init to run) makes QEMU exit at once
 * (panic=-1, -no-reboot): the error carries the console's last lines. */
static void guest_panic_is_reported(void **state)
{
	struct fixture *f = *state;
	struct mb_guest g;
	struct mb_qemu_opts opts = { .guest = &g, .label = "test" };
	struct mb_err err = { 0 };
	double deadline = mbt_now_s() + 60;

	skip_without_image();
	guest_defaults(&g);
	g.extra_append = "rdinit=/nonexistent";
	if (mb_qemu_start(&opts, &f->q, &err))
		fail_msg("%s", err.msg);
	f->pid = f->q->pid;
	snprintf(f->dir, sizeof(f->dir), "%s", f->q->dir);
	while (mb_qemu_check_alive(f->q, &err) == 0) {
		if (mbt_now_s() > deadline)
			fail_msg("a guest without /init still runs after 60 s");
		mbt_sleep_ms(20);
	}
	print_message("# %s\n", err.msg);
	assert_non_null(strstr(err.msg, "exited with status 0"));
	assert_non_null(strstr(err.msg, "Kernel panic"));
}

/* No binary: an error naming it, and no run directory left. */
static void missing_qemu_is_reported(void **state)
{
	struct fixture *f = *state;
	struct mb_guest g;
	struct mb_qemu_opts opts = { .guest = &g, .label = "test" };
	struct mb_err err = { 0 };

	guest_defaults(&g);
	g.qemu = "/nonexistent/qemu-system-x86_64";
	g.kernel = "/nonexistent/vmlinuz";
	g.initrd = "/nonexistent/initrd";
	assert_int_equal(mb_qemu_start(&opts, &f->q, &err), -1);
	assert_null(f->q);
	print_message("# %s\n", err.msg);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/qemu-system-x86_64"));
}

/* ---- `migbench boot`: the runner's ops, as a campaign uses them ---- */

/* Runs `migbench boot ARGS...` to completion; its exit status, and its
 * stdout and stderr in out/err (malloc'ed). */
static int run_boot(const char *const *args, char **out, char **err)
{
	const char *argv[16] = { mbt_migbench_bin, "boot" };
	char out_log[PATH_MAX], err_log[PATH_MAX];
	size_t n = 2;
	pid_t pid;
	int st;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	snprintf(out_log, sizeof(out_log), "%s/boot.out", mbt_runtime_dir);
	snprintf(err_log, sizeof(err_log), "%s/boot.err", mbt_runtime_dir);
	assert_int_equal(mbt_spawn(argv, out_log, err_log, &pid), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	*out = mbt_read_text(out_log);
	*err = mbt_read_text(err_log);
	unlink(out_log);
	unlink(err_log);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void boot_command_uses_the_runner(void **state)
{
	static const char *const good[] = { "--duration", "2", "--wss", "16M", "--set", "settle=0", NULL };
	static const char *const bad[] = { "--runner", "nosuch", NULL };
	static const char *const bad_key[] = { "--set", "no_such_key=1", NULL };
	char why[256], *out, *err;

	(void)state;
	skip_without_image();
	if (mbt_check_migbench(why, sizeof(why)))
		mbt_skip_if(why);
	assert_int_equal(run_boot(good, &out, &err), 0);
	print_message("# %s", out);
	assert_non_null(strstr(out, "runner qmp on "));
	assert_non_null(strstr(out, "first heartbeat "));
	assert_non_null(strstr(out, "verify: 4096 pages checked, 0 corrupted"));
	assert_non_null(strstr(out, "guest torn down"));
	free(out);
	free(err);
	assert_int_equal(run_boot(bad, &out, &err), 2);
	assert_non_null(strstr(err, "--runner 'nosuch': no such runner"));
	free(out);
	free(err);
	assert_int_equal(run_boot(bad_key, &out, &err), 2);
	assert_non_null(strstr(err, "no_such_key"));
	free(out);
	free(err);
}

/* ---- the reader against fake guests (no QEMU): what a migration needs ---- */

static void fake_listen(struct fixture *f, int i, const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	snprintf(f->fake_path[i], sizeof(f->fake_path[i]), "%s/%s", mbt_runtime_dir, name);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", f->fake_path[i]);
	f->fake_listen[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->fake_listen[i] >= 0);
	assert_int_equal(bind(f->fake_listen[i], (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(f->fake_listen[i], 1), 0);
}

/* Attaches the reader to fake i; the connection waits in the backlog until
 * accepted here, as QEMU would. */
static void fake_attach(struct fixture *f, int i, const char *label)
{
	struct mb_err err = { 0 };
	unsigned index;

	if (mb_hb_attach(f->r, f->fake_path[i], label, 1000, &index, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(index, (unsigned)i);
	f->fake_conn[i] = accept(f->fake_listen[i], NULL, NULL);
	assert_true(f->fake_conn[i] >= 0);
}

static void fake_say(struct fixture *f, int i, const char *line)
{
	size_t len = strlen(line);

	assert_int_equal(write(f->fake_conn[i], line, len), (ssize_t)len);
}

/* Answers one PING on a fake with PONG carrying `gt`, from a thread (the
 * test thread is blocked in mb_hb_command meanwhile). */
struct responder {
	int fd;
	unsigned gt;
	pthread_t thread;
};

static void *respond_once(void *arg)
{
	struct responder *rp = arg;
	char line[256], reply[300];
	size_t len = 0;
	unsigned long long id = 0;

	while (len < sizeof(line) - 1 && read(rp->fd, line + len, 1) == 1 && line[len] != '\n')
		len++;
	line[len] = '\0';
	if (sscanf(line, "PING %llu", &id) != 1)
		snprintf(reply, sizeof(reply), "ERR id=0 msg=fake_expected_PING\n");
	else
		snprintf(reply, sizeof(reply), "PONG id=%llu gt=%u\n", id, rp->gt);
	if (write(rp->fd, reply, strlen(reply)) < 0)
		return NULL;
	return NULL;
}

static uint64_t ping_answered_by(struct fixture *f, int i, unsigned gt)
{
	struct responder rp = { .fd = f->fake_conn[i], .gt = gt };
	struct mb_hb_reply reply;
	struct mb_err err = { 0 };
	int rc;

	assert_int_equal(pthread_create(&rp.thread, NULL, respond_once, &rp), 0);
	rc = mb_hb_command(f->r, "PING", NULL, &reply, 2000, &err);
	pthread_join(rp.thread, NULL);
	if (rc)
		fail_msg("%s", err.msg);
	return field(&reply, "gt");
}

static void reader_follows_a_migration(void **state)
{
	struct fixture *f = *state;
	struct mb_hb_record recs[8];
	struct mb_hb_counters c;
	struct mb_hb_hello hello;
	struct mb_err err = { 0 };
	char text[256];
	char line[128];

	assert_int_equal(mb_hb_reader_new(&f->r, &err), 0);
	fake_listen(f, 0, "src.sock");
	fake_listen(f, 1, "dst.sock");

	/* The source guest boots and beats. */
	fake_attach(f, 0, "source");
	fake_say(f, 0, "HELLO v=1 workload=dirty wss_pages=16 page_size=4096 rate=5 pattern=random "
		 "period_us=1000 boot_us=42\nERR id=0 msg=module_load_failed\n");
	for (int seq = 0; seq < 3; seq++) {
		snprintf(line, sizeof(line), "HB seq=%d gt=%d written=%d ops=0 rate=5\n", seq, 1000 * seq, 10 * seq);
		fake_say(f, 0, line);
	}
	if (mb_hb_wait_records(f->r, 3, 2000, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(mb_hb_wait_hello(f->r, &hello, 0, &err), 0);
	assert_string_equal(hello.pattern, "random");
	assert_int_equal(hello.boot_us, 42);
	assert_int_equal(mb_hb_guest_errors(f->r, text, sizeof(text)), 1);
	assert_non_null(strstr(text, "module_load_failed"));

	/* The destination is attached before the migration; until its guest
	 * speaks, commands still go to the source. */
	fake_attach(f, 1, "destination");
	assert_int_equal(ping_answered_by(f, 0, 111), 111);

	/* Resumed on the destination: seq continues, commands follow. A
	 * torn line and junk do not disturb the stream. */
	fake_say(f, 1, "HB seq=3 gt=3000 wri");
	fake_say(f, 1, "tten=30 ops=0 rate=5\nthis is not a record\nHB seq=4\n");
	fake_say(f, 1, "HB seq=5 gt=5000 written=50 ops=0 rate=5\n");
	if (mb_hb_wait_records(f->r, 5, 2000, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(ping_answered_by(f, 1, 222), 222);

	assert_int_equal(mb_hb_copy(f->r, 0, recs, 8), 5);
	for (int i = 0; i < 5; i++) {
		assert_true(recs[i].host_real_us > 0);
		if (i)
			assert_true(recs[i].host_mono_us >= recs[i - 1].host_mono_us);
	}
	assert_int_equal(recs[2].seq, 2);
	assert_int_equal(recs[2].source, 0);
	assert_int_equal(recs[3].seq, 3);
	assert_int_equal(recs[3].written, 30);
	assert_int_equal(recs[3].source, 1);
	assert_int_equal(recs[4].seq, 5);
	mb_hb_counters(f->r, &c);
	assert_int_equal(c.bad_lines, 2);
	assert_int_equal(c.open_sources, 2);

	/* The source QEMU goes away: the stream goes on. */
	close(f->fake_conn[0]);
	f->fake_conn[0] = -1;
	fake_say(f, 1, "HB seq=6 gt=6000 written=60 ops=0 rate=5\n");
	if (mb_hb_wait_records(f->r, 6, 2000, &err))
		fail_msg("%s", err.msg);
	/* Then the destination too: waiting fails at once, saying why. */
	close(f->fake_conn[1]);
	f->fake_conn[1] = -1;
	assert_int_equal(mb_hb_wait_records(f->r, 100, 10000, &err), -1);
	print_message("# %s\n", err.msg);
	assert_true(err.errnum != ETIMEDOUT);
	assert_non_null(strstr(err.msg, "closed"));
	assert_int_equal(mb_hb_command(f->r, "PING", NULL, NULL, 1000, &err), -1);
	assert_non_null(strstr(err.msg, "no open heartbeat channel"));
}

/* A guest on another host: its QEMU serves the heartbeat port on TCP and
 * the reader connects there, stamping arrivals on this host's clock. */
static void reader_over_tcp(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	struct mb_hb_record rec;
	struct mb_err err = { 0 };
	char where[64];

	assert_int_equal(mb_hb_reader_new(&f->r, &err), 0);
	f->fake_listen[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->fake_listen[0] >= 0);
	assert_int_equal(bind(f->fake_listen[0], (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(f->fake_listen[0], 1), 0);
	assert_int_equal(getsockname(f->fake_listen[0], (struct sockaddr *)&addr, &len), 0);
	snprintf(where, sizeof(where), "tcp:127.0.0.1:%u", (unsigned)ntohs(addr.sin_port));
	if (mb_hb_attach(f->r, where, "source", 1000, NULL, &err))
		fail_msg("%s", err.msg);
	f->fake_conn[0] = accept(f->fake_listen[0], NULL, NULL);
	assert_true(f->fake_conn[0] >= 0);
	fake_say(f, 0, "HB seq=7 gt=1000 written=70 ops=0 rate=5\n");
	if (mb_hb_wait_records(f->r, 1, 2000, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(mb_hb_copy(f->r, 0, &rec, 1), 1);
	assert_int_equal(rec.seq, 7);
	assert_true(rec.host_real_us > 0);
	assert_int_equal(ping_answered_by(f, 0, 333), 333);

	/* Bad addresses say what is wrong with them. */
	assert_int_equal(mb_hb_attach(f->r, "tcp:nohostport", "x", 100, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "not tcp:HOST:PORT"));
	assert_int_equal(mb_hb_attach(f->r, "tcp:no-such-host.invalid:1", "x", 100, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "no-such-host.invalid"));
}

/* A campaign attaches one destination per repetition, and repetitions go
 * to 1000: the reader must take any number of sources (it took 64). */
static void reader_takes_a_source_per_repetition(void **state)
{
	struct fixture *f = *state;
	struct mb_hb_record rec;
	struct mb_hb_counters c;
	struct mb_err err = { 0 };
	const unsigned reps = 130;

	assert_int_equal(mb_hb_reader_new(&f->r, &err), 0);
	fake_listen(f, 0, "reps.sock");
	for (unsigned i = 0; i < reps; i++) {
		char line[128];
		unsigned index;
		int conn;

		if (mb_hb_attach(f->r, f->fake_path[0], "destination", 1000, &index, &err))
			fail_msg("repetition %u: %s", i + 1, err.msg);
		assert_int_equal(index, i);
		conn = accept(f->fake_listen[0], NULL, NULL);
		assert_true(conn >= 0);
		snprintf(line, sizeof(line), "HB seq=%u gt=%u written=0 ops=0 rate=0\n", i, 1000 * i);
		assert_int_equal(write(conn, line, strlen(line)), (ssize_t)strlen(line));
		if (mb_hb_wait_records(f->r, i + 1, 2000, &err))
			fail_msg("repetition %u: %s", i + 1, err.msg);
		if (i)
			mb_hb_detach(f->r, i - 1);
		close(conn);
	}
	assert_int_equal(mb_hb_copy(f->r, reps - 1, &rec, 1), 1);
	assert_int_equal(rec.source, reps - 1);
	mb_hb_counters(f->r, &c);
	assert_int_equal(c.sources, reps);
	assert_int_equal(c.records, reps);
}

/* A guest is untrusted input: one that floods its channel must not grow
 * migbench without bound, and a run only gets (and keeps) its own window. */
static void flooding_guest_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct mb_hb_counters c;
	struct mb_hb_series series;
	struct mb_hb_record rec;
	struct mb_err err = { 0 };
	const size_t limit = 1000, sent = 20000;
	size_t n = 0, used = 0;
	char *flood = malloc(sent * 64);
	int64_t mid_us = 0;

	assert_non_null(flood);
	assert_int_equal(mb_hb_reader_new(&f->r, &err), 0);
	mb_hb_set_max_records(f->r, limit);
	fake_listen(f, 0, "flood.sock");
	fake_attach(f, 0, "source");
	for (size_t i = 0; i < sent; i++)
		used += (size_t)snprintf(flood + used, 64, "HB seq=%zu gt=%zu written=0 ops=0 rate=0\n", i, i);
	for (size_t off = 0; off < used;) {
		ssize_t w = write(f->fake_conn[0], flood + off, used - off);

		assert_true(w > 0);
		off += (size_t)w;
	}
	free(flood);
	if (mb_hb_wait_records(f->r, sent, 10000, &err))
		fail_msg("%s", err.msg);
	mb_hb_counters(f->r, &c);
	print_message("# %zu sent, %zu kept, %zu dropped\n", c.records, c.kept, c.dropped);
	assert_int_equal(c.records, sent);
	assert_true(c.kept <= limit);
	assert_int_equal(c.kept + c.dropped, sent);
	/* The newest survive; what was dropped cannot be copied. */
	assert_int_equal(mb_hb_copy(f->r, sent - 1, &rec, 1), 1);
	assert_int_equal(rec.seq, sent - 1);
	assert_int_equal(mb_hb_copy(f->r, 0, &rec, 1), 0);
	assert_true(mb_hb_oldest(f->r) >= sent - limit);

	/* A run's window: only what arrived since it began, and what came
	 * before is released. */
	assert_int_equal(mb_hb_copy(f->r, mb_hb_oldest(f->r) + c.kept / 2, &rec, 1), 1);
	mid_us = rec.host_real_us;
	assert_int_equal(mb_hb_points(f->r, mid_us, &series, &err), 0);
	n = series.n;
	assert_true(n > 0 && n < c.kept);
	assert_true(mb_hb_at(&series, 0).host_us >= mid_us);
	mb_hb_series_free(&series);
	mb_hb_release_before(f->r, mid_us);
	mb_hb_counters(f->r, &c);
	assert_int_equal(c.kept, n);
}

/* A long run: memory holds a few records, the rest goes to the spool, and
 * every record still reads back in order (copies across the disk/memory
 * boundary, the run's window as a series); releasing a window frees its
 * records, on disk too. */
static void long_run_spools_to_disk(void **state)
{
	struct fixture *f = *state;
	struct mb_hb_counters c;
	struct mb_hb_series series;
	struct mb_hb_record recs[300];
	struct mb_err err = { 0 };
	const size_t sent = 20000, in_memory = 256;
	char line[128];
	int64_t mid_us;

	assert_int_equal(mb_hb_reader_new(&f->r, &err), 0);
	mb_hb_set_memory_records(f->r, in_memory);
	fake_listen(f, 0, "long.sock");
	fake_attach(f, 0, "source");
	for (size_t i = 0; i < sent; i++) {
		snprintf(line, sizeof(line), "HB seq=%zu gt=%zu written=%zu ops=0 rate=0\n", i, 1000 * i, 2 * i);
		fake_say(f, 0, line);
	}
	if (mb_hb_wait_records(f->r, sent, 10000, &err))
		fail_msg("%s", err.msg);
	mb_hb_counters(f->r, &c);
	print_message("# %zu sent, %zu kept, %zu on disk, %zu dropped\n", c.records, c.kept, c.spooled, c.dropped);
	assert_int_equal(c.kept, sent);
	assert_int_equal(c.dropped, 0);
	assert_true(c.kept - c.spooled <= in_memory);
	assert_int_equal(mb_hb_oldest(f->r), 0);
	/* a copy across the spool's end and memory's start */
	assert_int_equal(mb_hb_copy(f->r, c.spooled - 150, recs, 300), 300);
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(recs[i].seq, c.spooled - 150 + i);

	/* the window from the middle on: every record, in order, from disk */
	assert_int_equal(mb_hb_copy(f->r, sent / 2, recs, 1), 1);
	mid_us = recs[0].host_real_us;
	mb_hb_release_before(f->r, mid_us);
	assert_int_equal(mb_hb_points(f->r, mid_us, &series, &err), 0);
	assert_true(series.n >= sent / 2 && series.n <= sent);
	for (size_t i = 0; i < series.n; i++) {
		struct mb_hb_point p = mb_hb_at(&series, i);

		assert_int_equal(p.seq, sent - series.n + i);
		assert_int_equal(p.written, 2 * p.seq);
		assert_int_equal(p.guest_us, 1000 * p.seq);
		assert_true(p.host_us >= mid_us);
	}
	assert_int_equal(mb_hb_series_read_errors(&series), 0);
	mb_hb_counters(f->r, &c);
	assert_int_equal(c.kept, series.n);
	assert_int_equal(mb_hb_oldest(f->r), sent - series.n);
	assert_int_equal(mb_hb_copy(f->r, 0, recs, 1), 0);
	mb_hb_series_free(&series);
}

int main(void)
{
	/* Output into a closed pipe must not kill the test before its
	 * teardowns have stopped QEMU. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reader_follows_a_migration, setup, teardown),
		cmocka_unit_test_setup_teardown(reader_over_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(reader_takes_a_source_per_repetition, setup, teardown),
		cmocka_unit_test_setup_teardown(flooding_guest_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(long_run_spools_to_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_qemu_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(early_death_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(guest_panic_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(boots_and_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(boot_command_uses_the_runner, setup, teardown),
		cmocka_unit_test_setup_teardown(heartbeat_period, setup, teardown),
		cmocka_unit_test_setup_teardown(dirty_rate_sequential, setup, teardown),
		cmocka_unit_test_setup_teardown(dirty_rate_random, setup, teardown),
		cmocka_unit_test_setup_teardown(dirty_rate_hotcold, setup, teardown),
	};

	return cmocka_run_group_tests_name("guest", tests, group_setup, group_teardown);
}
