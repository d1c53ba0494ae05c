/* `migbench boot`: boots one guest from the cached image and watches its
 * heartbeats: how long until the first one, then once a second how many
 * arrive, the dirty rate the guest achieves and any lost heartbeats; at the
 * end a VERIFY of the working set. The quickest way to see that a host,
 * its QEMU and the guest image work before running a campaign. */
#include "config.h"
#include "bench/command.h"
#include "bench/clock.h"
#include "bench/options.h"
#include "bench/scenario.h"
#include "bench/units.h"
#include "probes/heartbeat.h"
#include "runners/guest.h"
#include "runners/runner.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_INTERRUPTED 130            /* 128 + SIGINT, as shells report it */
#define VERIFY_TIMEOUT_MS 120000        /* a GiB-sized working set under TCG */
#define COMMAND_TIMEOUT_MS 10000
#define SLICE_MS 100                    /* how often waits look at Ctrl-C */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* ---- options: the scenario keys' parser, so values mean what they mean in
 * a scenario file (same units, ranges and checks such as wss <= memory) ---- */

struct boot_options {
	struct mb_campaign campaign;   /* one run: the guest to boot */
	const char *runner;
	uint64_t duration_us;
};

struct boot_parse {
	struct boot_options *o;
	struct mb_scenario_set *set;
};

/* --KEY VALUE for the scenario key o->key, or --set KEY=VALUE */
static int scenario_opt(const struct mb_opt *o, const char *value, void *ctx, struct mb_err *err)
{
	struct boot_parse *bp = ctx;
	const char *key = o->key;
	char kv[256];

	if (!key) {
		const char *eq = strchr(value, '=');

		if (!eq || eq == value || (size_t)(eq - value) >= sizeof(kv))
			return mb_errf(err, 0, "--set '%s': not KEY=VALUE", value);
		snprintf(kv, sizeof(kv), "%.*s", (int)(eq - value), value);
		key = kv;
		value = eq + 1;
	}
	if (strchr(value, ','))
		return mb_errf(err, 0, "--%s '%s': boot takes one value, not a list", o->name, value);
	return mb_scenario_apply_option(bp->set, key, value, err) ? -1 : 0;
}

static int runner_opt(const struct mb_opt *o, const char *value, void *ctx, struct mb_err *err)
{
	if (!mb_runner_find(value))
		return mb_errf(err, 0, "--runner '%s': no such runner (migbench run --help lists them)", value);
	((struct boot_parse *)ctx)->o->runner = value;
	return 0;
}

static int duration_opt(const struct mb_opt *o, const char *value, void *ctx, struct mb_err *err)
{
	if (mb_parse_duration_us(value, 1000000, &((struct boot_parse *)ctx)->o->duration_us))
		return mb_errf(err, 0, "--duration '%s': not a duration (10s, 2min, 0)", value);
	return 0;
}

#define KEY_OPT(name_, arg_, key_, help_) \
	{ name_, 0, MB_OPT_CALL, arg_, help_, .call = scenario_opt, .key = key_ }

static const struct mb_opt options[] = {
	KEY_OPT("workload", "W", "workload", "dirty, idle, compute or memset; echo or kv with a network (default dirty)"),
	KEY_OPT("wss", "S", "wss", "working set, e.g. 64M (default 64M)"),
	KEY_OPT("rate", "R", "rate", "dirty rate: pages/s, or bytes/s with a suffix (16M);\n"
		"0 = as fast as possible (default 4M)"),
	KEY_OPT("pattern", "P", "pattern", "sequential, random or hotcold (default sequential)"),
	KEY_OPT("period", "T", "heartbeat_period", "heartbeat period, ms when no unit (default 1ms)"),
	KEY_OPT("memory", "M", "memory", "guest RAM (default 256M)"),
	KEY_OPT("vcpus", "N", "vcpus", "guest vCPUs (default 1)"),
	KEY_OPT("accel", "A", "accel", "kvm, tcg, or auto = kvm when /dev/kvm is usable (default)"),
	{ "duration", 0, MB_OPT_CALL, "T", "how long to watch, s when no unit; 0 = until Ctrl-C\n"
	  "(default 10s)", .call = duration_opt },
	{ "runner", 0, MB_OPT_CALL, "NAME", "how to start the guest, as `migbench run --runner`\n"
	  "(default qmp)", .call = runner_opt },
	KEY_OPT("set", "KEY=VALUE", NULL, "any other scenario key (`migbench run --help` lists them),\n"
		"e.g. --set qemu=10.0 or the libvirt runner's libvirt_src=URI"),
	{ 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench boot [--workload W] [--wss S] [--rate R] [--pattern P]\n"
		"                     [--period T] [--memory M] [--vcpus N]\n"
		"                     [--accel kvm|tcg|auto] [--duration T]\n"
		"                     [--runner NAME] [--set KEY=VALUE]...\n"
		"\n"
		"Boots one guest from the cached image (built first when missing, see\n"
		"`migbench image`), prints the time from launching QEMU to the guest's\n"
		"first heartbeat, then once a second the heartbeats received, the dirty\n"
		"rate the guest achieves and heartbeats lost (seq gaps); at the end it\n"
		"checks the working set (VERIFY) and tears the guest down.\n"
		"\n");
	mb_opts_print(out, options);
	fprintf(out,
		"\n"
		"The agent comes from $MIGBENCH_AGENT, else %s/migbench-agent.\n"
		"$MIGBENCH_KEEP_RUNDIR=1 keeps the run directory (console.log, qemu.log).\n"
		"\n"
		"Exit status: 0 when the guest booted, heartbeats arrived and VERIFY found\n"
		"no corrupted page; 1 on failure; 2 on a bad command line; 3 when this host\n"
		"cannot boot a guest (no kernel, no QEMU, --accel kvm without KVM); 130\n"
		"after Ctrl-C.\n",
		MB_PKGLIBEXECDIR);
}

/* 0, 1 for --help, -1 with the reason in err */
static int parse_options(int argc, char **argv, struct boot_options *o, struct mb_err *err)
{
	struct boot_parse bp = { .o = o, .set = mb_scenario_set_new(err) };
	const struct mb_opt_spec spec = { .cmd = "boot", .opts = options, .usage = usage, .ctx = &bp };
	int first, rc;

	if (!bp.set)
		return -1;
	o->duration_us = 10 * UINT64_C(1000000);
	o->runner = "qmp";
	rc = mb_opts_parse(&spec, argc, argv, &first, err);
	if (!rc && mb_scenario_expand(bp.set, &o->campaign, err))
		rc = -1;
	mb_scenario_set_free(bp.set);
	return rc;
}

/* ---- watching the heartbeats ---------------------------------------------- */

/* Heartbeats seen since the last report. */
struct window {
	bool have_last;
	struct mb_hb_point last;      /* newest heartbeat read */
	struct mb_hb_point start;     /* last heartbeat before this window */
	bool have_start;
	uint64_t count, gaps;
	uint64_t total_gaps;
};

static int read_new_points(const struct mb_runner_ops *ops, struct mb_runner *r, struct window *w,
			   struct mb_err *err)
{
	struct mb_hb_series s;

	if (ops->heartbeat_series(r, w->have_last ? w->last.host_us + 1 : 0, &s, err))
		return -1;
	for (size_t i = 0; i < s.n; i++) {
		struct mb_hb_point p = mb_hb_at(&s, i);

		if (w->have_last && p.seq > w->last.seq + 1)
			w->gaps += p.seq - w->last.seq - 1;
		w->last = p;
		w->have_last = true;
	}
	w->count += s.n;
	mb_hb_series_free(&s);
	return 0;
}

static void report(struct window *w, double elapsed_s, double window_s, uint64_t page_size, bool tty)
{
	double rate = 0;

	if (w->have_start && w->have_last && w->last.guest_us > w->start.guest_us)
		/* Guest time: what the guest achieved, free of arrival jitter. */
		rate = (double)(w->last.written - w->start.written) * 1e6 /
		       (double)(w->last.guest_us - w->start.guest_us);
	printf("%s%6.1f s  heartbeats %6.0f/s  dirty %8.0f pages/s (%7.2f MiB/s)  lost %" PRIu64
	       " (total %" PRIu64 ")%s",
	       tty ? "\r\033[K" : "", elapsed_s, (double)w->count / window_s, rate,
	       rate * (double)page_size / (1 << 20), w->gaps, w->total_gaps + w->gaps, tty ? "" : "\n");
	fflush(stdout);
	w->total_gaps += w->gaps;
	w->count = w->gaps = 0;
	w->start = w->last;
	w->have_start = w->have_last;
}

static int watch(const struct mb_runner_ops *ops, struct mb_runner *r, const struct boot_options *o,
		 uint64_t page_size, struct mb_err *err)
{
	bool tty = isatty(STDOUT_FILENO);
	/* A log file gets a line every 5 s, a terminal a live line every second. */
	int64_t every_us = tty ? 1000000 : 5000000;
	int64_t start = mb_clock_us(CLOCK_MONOTONIC), last_report = start, next_report = start + every_us;
	struct window w = { 0 };
	int rc = 0;

	/* The first window starts at the newest heartbeat so far. */
	if (read_new_points(ops, r, &w, err))
		return -1;
	w.start = w.last;
	w.have_start = w.have_last;
	w.count = w.gaps = 0;
	while (!interrupted && (!o->duration_us || mb_clock_us(CLOCK_MONOTONIC) - start < (int64_t)o->duration_us)) {
		int64_t now = mb_clock_us(CLOCK_MONOTONIC);
		struct timespec nap = { .tv_nsec = SLICE_MS * 1000000L };

		if (now >= next_report) {
			if (read_new_points(ops, r, &w, err))
				return -1;
			report(&w, (double)(now - start) / 1e6, (double)(now - last_report) / 1e6, page_size, tty);
			last_report = now;
			next_report += every_us;
		}
		if (ops->check_alive(r, err)) {
			rc = mb_err_prefix(err, "while watching heartbeats");
			break;
		}
		nanosleep(&nap, NULL);
	}
	if (!rc && !interrupted && mb_clock_us(CLOCK_MONOTONIC) - last_report >= 200000) {
		/* The last, partial window. */
		int64_t now = mb_clock_us(CLOCK_MONOTONIC);

		if (read_new_points(ops, r, &w, err))
			return -1;
		report(&w, (double)(now - start) / 1e6, (double)(now - last_report) / 1e6, page_size, tty);
	}
	if (tty)
		printf("\n");
	return rc;
}

/* ---- the end: what the guest says it did -------------------------------- */

static int final_checks(const struct mb_runner_ops *ops, struct mb_runner *r, struct mb_err *err)
{
	struct mb_hb_reply reply;
	uint64_t checked, corrupted, first_bad, us, achieved, rate, since;

	if (ops->guest_command(r, "STATS", NULL, &reply, COMMAND_TIMEOUT_MS, err) == 0 &&
	    mb_hb_reply_u64(&reply, "achieved", &achieved, NULL) == 0 &&
	    mb_hb_reply_u64(&reply, "rate", &rate, NULL) == 0 &&
	    mb_hb_reply_u64(&reply, "since_us", &since, NULL) == 0) {
		printf("dirty rate: %" PRIu64 " pages/s achieved over %.1f s, target %" PRIu64 "%s\n", achieved,
		       (double)since / 1e6, rate, rate ? " pages/s" : " (as fast as possible)");
	} else {
		return mb_err_prefix(err, "asking the guest for STATS");
	}
	if (ops->guest_command(r, "VERIFY", NULL, &reply, VERIFY_TIMEOUT_MS, err) ||
	    mb_hb_reply_u64(&reply, "checked", &checked, err) ||
	    mb_hb_reply_u64(&reply, "corrupted", &corrupted, err))
		return mb_err_prefix(err, "verifying the working set");
	if (mb_hb_reply_u64(&reply, "us", &us, NULL))
		us = 0;
	printf("verify: %" PRIu64 " pages checked, %" PRIu64 " corrupted (%.0f ms in the guest)\n", checked,
	       corrupted, (double)us / 1000);
	if (corrupted) {
		if (mb_hb_reply_u64(&reply, "first_bad", &first_bad, NULL))
			first_bad = 0;
		return mb_errf(err, 0, "VERIFY found %" PRIu64 " corrupted pages (first: page %" PRIu64 ")",
			       corrupted, first_bad);
	}
	return 0;
}

/* ---- the command ------------------------------------------------------------ */

/* Exit status of a failed start: this host cannot (no image, no QEMU, KVM
 * asked for and absent), or the guest failed. */
static int start_failure(const struct mb_params *p, const struct mb_err *err)
{
	if (interrupted || err->errnum == EINTR)
		return EXIT_INTERRUPTED;
	if (err->errnum == ENOPKG || err->errnum == ENOENT || p->accel == MB_ACCEL_KVM)
		return MB_EXIT_NO_RESOURCE;
	return MB_EXIT_FAILED;
}

/* Through the runner's ops, like a campaign: `boot` checks what `run` uses. */
static int boot_and_watch(const struct boot_options *o, struct mb_err *err)
{
	const struct mb_runner_ops *ops = mb_runner_find(o->runner);
	const struct mb_run_spec *spec = &o->campaign.runs[0];
	const struct mb_params *p = &spec->params;
	struct mb_runner *r = NULL;
	struct mb_guest_status gs;
	int status = MB_EXIT_FAILED;

	if (ops->prepare(spec, (volatile const int *)&interrupted, &r, err))
		return start_failure(p, err);
	if (ops->start_source(r, err)) {
		if (p->accel == MB_ACCEL_KVM && err->errnum != EINTR)
			mb_errf(err, err->errnum, "%s (if KVM does not really work here, try --accel tcg)", err->msg);
		status = start_failure(p, err);
		goto out;
	}
	if (ops->guest_status(r, &gs, err))
		goto out;
	printf("runner %s on %s; image %s; accel %s (%s)\n", ops->name, gs.host, gs.image, gs.accel, gs.accel_why);
	printf("guest: %" PRIu64 " MiB, %u vCPU%s, %s workload, wss %" PRIu64 " MiB, rate %" PRIu64
	       " pages/s, %s, heartbeat every %" PRIu64 " us\n",
	       p->memory >> 20, p->vcpus, p->vcpus == 1 ? "" : "s", spec->text[MB_KEY_WORKLOAD], p->wss >> 20,
	       p->rate, spec->text[MB_KEY_PATTERN], p->heartbeat_period_us);
	printf("first heartbeat %.3f s after launch", (double)(gs.first_heartbeat_mono_us - gs.launch_mono_us) / 1e6);
	if (gs.agent_boot_us)
		printf(" (agent ready %.3f s after the kernel started)", (double)gs.agent_boot_us / 1e6);
	printf("\n");
	if (gs.start[0])
		printf("start: %s\n", gs.start);
	fflush(stdout);
	if (watch(ops, r, o, gs.page_size ? gs.page_size : MB_GUEST_PAGE_SIZE, err))
		goto out;
	if (interrupted) {
		mb_errf(err, 0, "interrupted (%s)", strsignal(interrupted));
		goto out;
	}
	if (final_checks(ops, r, err))
		goto out;
	status = MB_EXIT_OK;
out:
	if (status != MB_EXIT_OK && interrupted)
		status = EXIT_INTERRUPTED;
	ops->teardown(r);
	return status;
}

static int boot_run(int argc, char **argv)
{
	struct boot_options o = { 0 };
	struct mb_err err = { 0 };
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: waits return */
	int rc = parse_options(argc, argv, &o, &err);

	if (rc > 0) {
		usage(stdout);
		mb_campaign_free(&o.campaign);
		return MB_EXIT_OK;
	}
	if (rc < 0) {
		mb_campaign_free(&o.campaign);
		return mb_opts_fail("boot", err.msg);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* `migbench boot | head` must not kill us before QEMU is torn down. */
	signal(SIGPIPE, SIG_IGN);
	rc = boot_and_watch(&o, &err);
	if (rc != MB_EXIT_OK)
		fprintf(stderr, "migbench boot: %s\n", err.msg);
	else
		printf("guest torn down\n");
	mb_campaign_free(&o.campaign);
	return rc;
}

const struct mb_command mb_cmd_boot = {
	.name = "boot",
	.summary = "boot one guest, watch its heartbeats, verify its memory",
	.run = boot_run,
};
