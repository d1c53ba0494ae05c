/* `migbench boot`: boots one guest from the cached image and watches its
 * heartbeats: how long until the first one, then once a second how many
 * arrive, the dirty rate the guest achieves and any lost heartbeats; at the
 * end a VERIFY of the working set. The quickest way to see that a host,
 * its QEMU and the guest image work before running a campaign. */
#include "config.h"
#include "bench/command.h"
#include "bench/clock.h"
#include "bench/scenario.h"
#include "bench/units.h"
#include "probes/heartbeat.h"
#include "runners/guest.h"
#include "runners/qemu_proc.h"
#include "workloads/image/image.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_INTERRUPTED 130            /* 128 + SIGINT, as shells report it */
#define FIRST_HEARTBEAT_TIMEOUT_MS 60000 /* TCG on a loaded CI machine */
#define SOCKET_TIMEOUT_MS 10000
#define VERIFY_TIMEOUT_MS 120000        /* a GiB-sized working set under TCG */
#define COMMAND_TIMEOUT_MS 10000
#define SLICE_MS 100                    /* how often waits look at Ctrl-C */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench boot [--workload W] [--wss S] [--rate R] [--pattern P]\n"
		"                     [--period T] [--memory M] [--vcpus N]\n"
		"                     [--accel kvm|tcg|auto] [--duration T]\n"
		"\n"
		"Boots one guest from the cached image (built first when missing, see\n"
		"`migbench image`), prints the time from launching QEMU to the guest's\n"
		"first heartbeat, then once a second the heartbeats received, the dirty\n"
		"rate the guest achieves and heartbeats lost (seq gaps); at the end it\n"
		"checks the working set (VERIFY) and tears the guest down.\n"
		"\n"
		"  --workload W   dirty, idle or compute (default dirty)\n"
		"  --wss S        working set, e.g. 64M (default 64M)\n"
		"  --rate R       dirty rate: pages/s, or bytes/s with a suffix (16M);\n"
		"                 0 = as fast as possible (default 4M)\n"
		"  --pattern P    sequential, random or hotcold (default sequential)\n"
		"  --period T     heartbeat period, ms when no unit (default 1ms)\n"
		"  --memory M     guest RAM (default 256M)\n"
		"  --vcpus N      guest vCPUs (default 1)\n"
		"  --accel A      kvm, tcg, or auto = kvm when /dev/kvm is usable (default)\n"
		"  --duration T   how long to watch, s when no unit; 0 = until Ctrl-C\n"
		"                 (default 10s)\n"
		"  -h, --help     this text\n"
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

/* ---- options: the scenario keys' parser, so values mean what they mean in
 * a scenario file (same units, ranges and checks such as wss <= memory) ---- */

struct boot_options {
	struct mb_params params;
	uint64_t duration_us;
};

static int parse_options(int argc, char **argv, struct boot_options *o, struct mb_err *err)
{
	static const struct option options[] = {
		{ .name = "workload", .has_arg = required_argument, .val = 'W' },
		{ .name = "wss", .has_arg = required_argument, .val = 'S' },
		{ .name = "rate", .has_arg = required_argument, .val = 'R' },
		{ .name = "pattern", .has_arg = required_argument, .val = 'P' },
		{ .name = "period", .has_arg = required_argument, .val = 'T' },
		{ .name = "memory", .has_arg = required_argument, .val = 'M' },
		{ .name = "vcpus", .has_arg = required_argument, .val = 'N' },
		{ .name = "accel", .has_arg = required_argument, .val = 'A' },
		{ .name = "duration", .has_arg = required_argument, .val = 'D' },
		{ .name = "help", .has_arg = no_argument, .val = 'h' },
		{ 0 },
	};
	struct mb_scenario_set *set = mb_scenario_set_new(err);
	struct mb_campaign campaign = { 0 };
	int c, rc = 0, which = 0;

	if (!set)
		return -1;
	o->duration_us = 10 * UINT64_C(1000000);
	optind = 1;
	opterr = 0;
	while (!rc && (c = getopt_long(argc, argv, "h", options, &which)) != -1) {
		const char *key = NULL;

		switch (c) {
		case 'W': key = "workload"; break;
		case 'S': key = "wss"; break;
		case 'R': key = "rate"; break;
		case 'P': key = "pattern"; break;
		case 'T': key = "heartbeat_period"; break;
		case 'M': key = "memory"; break;
		case 'N': key = "vcpus"; break;
		case 'A': key = "accel"; break;
		case 'D':
			if (mb_parse_duration_us(optarg, 1000000, &o->duration_us))
				rc = mb_errf(err, 0, "--duration '%s': not a duration (10s, 2min, 0)", optarg);
			break;
		case 'h':
			rc = 1;
			break;
		default:
			rc = mb_errf(err, 0, "unknown option or missing value: %s", argv[optind - 1]);
			break;
		}
		if (key && strchr(optarg, ','))
			rc = mb_errf(err, 0, "--%s '%s': boot takes one value, not a list", options[which].name,
				     optarg);
		else if (key && mb_scenario_apply_option(set, key, optarg, err))
			rc = -1;
	}
	if (!rc && optind < argc)
		rc = mb_errf(err, 0, "unexpected argument '%s'", argv[optind]);
	if (!rc && mb_scenario_expand(set, &campaign, err))
		rc = -1;
	if (!rc)
		o->params = campaign.runs[0].params;
	/* params.qemu points into the campaign's text: keep only what outlives it. */
	o->params.qemu = NULL;
	o->params.qemu_dst = NULL;
	mb_campaign_free(&campaign);
	mb_scenario_set_free(set);
	return rc;
}

/* ---- watching the heartbeats ---------------------------------------------- */

/* Heartbeats seen since the last report. */
struct window {
	size_t next;                  /* index of the next record to read */
	bool have_last;
	struct mb_hb_record last;     /* newest record read */
	struct mb_hb_record start;    /* last record before this window */
	bool have_start;
	uint64_t count, gaps;
	uint64_t total_gaps;
};

static void read_new_records(struct mb_hb_reader *r, struct window *w)
{
	struct mb_hb_record chunk[1024];
	size_t n, oldest = mb_hb_oldest(r);

	/* Records dropped before we read them (a flooding guest) are skipped. */
	if (w->next < oldest)
		w->next = oldest;
	while ((n = mb_hb_copy(r, w->next, chunk, sizeof(chunk) / sizeof(chunk[0]))) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (w->have_last && chunk[i].seq > w->last.seq + 1)
				w->gaps += chunk[i].seq - w->last.seq - 1;
			w->last = chunk[i];
			w->have_last = true;
		}
		w->count += n;
		w->next += n;
	}
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

/* Waits for the first heartbeat in slices, so Ctrl-C and a dead QEMU are
 * noticed at once. */
static int wait_first_heartbeat(struct mb_qemu *q, struct mb_hb_reader *r, struct mb_err *err)
{
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)FIRST_HEARTBEAT_TIMEOUT_MS * 1000;

	while (!interrupted) {
		if (mb_hb_wait_records(r, 1, SLICE_MS, err) == 0)
			return 0;
		if (mb_qemu_check_alive(q, err))
			return mb_err_prefix(err, "waiting for the first heartbeat");
		if (err->errnum != ETIMEDOUT) {
			/* The channel closed: QEMU is on its way out, and its exit
			 * status and the console say more than the socket. */
			for (int i = 0; i < 20; i++) {
				struct timespec nap = { .tv_nsec = 50 * 1000000L };

				nanosleep(&nap, NULL);
				if (mb_qemu_check_alive(q, err))
					return mb_err_prefix(err, "waiting for the first heartbeat");
			}
			mb_qemu_explain(q, err);
			break;
		}
		if (mb_clock_us(CLOCK_MONOTONIC) >= deadline) {
			mb_errf(err, 0, "no heartbeat within %d s of launching QEMU (accel %s%s)",
				FIRST_HEARTBEAT_TIMEOUT_MS / 1000, mb_accel_name(q->accel),
				q->accel == MB_ACCEL_KVM ? ": if KVM does not really work here, try --accel tcg" : "");
			mb_qemu_explain(q, err);
			return -1;
		}
	}
	if (interrupted)
		return mb_errf(err, 0, "interrupted (%s) while waiting for the first heartbeat",
			       strsignal(interrupted));
	return mb_err_prefix(err, "waiting for the first heartbeat");
}

static int watch(struct mb_qemu *q, struct mb_hb_reader *r, const struct boot_options *o,
		 uint64_t page_size, struct mb_err *err)
{
	bool tty = isatty(STDOUT_FILENO);
	/* A log file gets a line every 5 s, a terminal a live line every second. */
	int64_t every_us = tty ? 1000000 : 5000000;
	int64_t start = mb_clock_us(CLOCK_MONOTONIC), last_report = start, next_report = start + every_us;
	struct window w = { 0 };
	int rc = 0;

	/* The first window starts at the newest heartbeat so far. */
	read_new_records(r, &w);
	w.start = w.last;
	w.have_start = w.have_last;
	w.count = w.gaps = 0;
	while (!interrupted && (!o->duration_us || mb_clock_us(CLOCK_MONOTONIC) - start < (int64_t)o->duration_us)) {
		int64_t now = mb_clock_us(CLOCK_MONOTONIC);
		struct timespec nap = { .tv_nsec = SLICE_MS * 1000000L };

		if (now >= next_report) {
			read_new_records(r, &w);
			report(&w, (double)(now - start) / 1e6, (double)(now - last_report) / 1e6, page_size, tty);
			last_report = now;
			next_report += every_us;
		}
		if (mb_qemu_check_alive(q, err)) {
			rc = mb_err_prefix(err, "while watching heartbeats");
			break;
		}
		nanosleep(&nap, NULL);
	}
	if (!rc && !interrupted && mb_clock_us(CLOCK_MONOTONIC) - last_report >= 200000) {
		/* The last, partial window. */
		int64_t now = mb_clock_us(CLOCK_MONOTONIC);

		read_new_records(r, &w);
		report(&w, (double)(now - start) / 1e6, (double)(now - last_report) / 1e6, page_size, tty);
	}
	if (tty)
		printf("\n");
	return rc;
}

/* ---- the end: what the guest says it did -------------------------------- */

static int final_checks(struct mb_hb_reader *r, struct mb_err *err)
{
	struct mb_hb_reply reply;
	uint64_t checked, corrupted, first_bad, us, achieved, rate, since;

	if (mb_hb_command(r, "STATS", NULL, &reply, COMMAND_TIMEOUT_MS, err) == 0 &&
	    mb_hb_reply_u64(&reply, "achieved", &achieved, NULL) == 0 &&
	    mb_hb_reply_u64(&reply, "rate", &rate, NULL) == 0 &&
	    mb_hb_reply_u64(&reply, "since_us", &since, NULL) == 0) {
		printf("dirty rate: %" PRIu64 " pages/s achieved over %.1f s, target %" PRIu64 "%s\n", achieved,
		       (double)since / 1e6, rate, rate ? " pages/s" : " (as fast as possible)");
	} else {
		return mb_err_prefix(err, "asking the guest for STATS");
	}
	if (mb_hb_command(r, "VERIFY", NULL, &reply, VERIFY_TIMEOUT_MS, err) ||
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

static int boot_and_watch(const struct boot_options *o, struct mb_err *err)
{
	static struct mb_image img; /* ~17 KiB: off the stack */
	struct mb_image_opts image_opts = { .verbose = 1 };
	struct mb_guest guest;
	struct mb_qemu *q = NULL;
	struct mb_hb_reader *r = NULL;
	struct mb_hb_hello hello;
	struct mb_hb_record first;
	struct mb_qemu_opts qopts = { .guest = &guest, .label = "guest" };
	char guest_errors[512];
	int status = MB_EXIT_FAILED;

	if (mb_image_ensure(&image_opts, &img, err)) {
		mb_err_prefix(err, "guest image");
		return err->errnum == ENOPKG ? MB_EXIT_NO_RESOURCE : MB_EXIT_FAILED;
	}
	mb_guest_defaults(&guest);
	mb_guest_from_params(&guest, &o->params);
	guest.kernel = img.kernel;
	guest.initrd = img.initrd;
	if (mb_qemu_start(&qopts, &q, err)) {
		/* No QEMU binary, or KVM asked for and absent: this host cannot. */
		return err->errnum == ENOENT || o->params.accel == MB_ACCEL_KVM ? MB_EXIT_NO_RESOURCE
										 : MB_EXIT_FAILED;
	}
	printf("image %s (kernel %s), accel %s (%s)\n", img.id, img.kernel_version, mb_accel_name(q->accel),
	       q->accel_why);
	printf("guest: %" PRIu64 " MiB, %u vCPU%s, %s workload, wss %" PRIu64 " MiB, rate %" PRIu64
	       " pages/s, %s, heartbeat every %" PRIu64 " us\n",
	       guest.memory >> 20, guest.vcpus, guest.vcpus == 1 ? "" : "s",
	       mb_keys[MB_KEY_WORKLOAD].choices[guest.workload], guest.wss >> 20, guest.rate,
	       mb_keys[MB_KEY_PATTERN].choices[guest.pattern], guest.heartbeat_period_us);
	fflush(stdout);

	if (mb_hb_reader_new(&r, err) ||
	    mb_qemu_wait_for_socket(q, q->hb_socket, SOCKET_TIMEOUT_MS, err) ||
	    mb_hb_attach(r, q->hb_socket, "guest", SOCKET_TIMEOUT_MS, NULL, err) ||
	    wait_first_heartbeat(q, r, err))
		goto out;
	mb_hb_copy(r, 0, &first, 1);
	mb_hb_wait_hello(r, &hello, 0, NULL);
	printf("first heartbeat %.3f s after launch", (double)(first.host_mono_us - q->launch_mono_us) / 1e6);
	if (hello.received)
		printf(" (agent ready %.3f s after the kernel started)", (double)hello.boot_us / 1e6);
	printf("\n");
	if (mb_hb_guest_errors(r, guest_errors, sizeof(guest_errors)))
		fprintf(stderr, "migbench boot: the guest reported: %s\n", guest_errors);
	if (watch(q, r, o, hello.page_size ? hello.page_size : MB_GUEST_PAGE_SIZE, err))
		goto out;
	if (interrupted) {
		mb_errf(err, 0, "interrupted (%s)", strsignal(interrupted));
		goto out;
	}
	if (final_checks(r, err))
		goto out;
	status = MB_EXIT_OK;
out:
	if (status != MB_EXIT_OK && interrupted)
		status = EXIT_INTERRUPTED;
	mb_hb_reader_free(r);
	mb_qemu_stop(q, MB_QEMU_GRACE_MS);
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
		return MB_EXIT_OK;
	}
	if (rc < 0) {
		fprintf(stderr, "migbench boot: %s\nRun `migbench boot --help` for the options.\n", err.msg);
		return MB_EXIT_USAGE;
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
	return rc;
}

const struct mb_command mb_cmd_boot = {
	.name = "boot",
	.summary = "boot one guest, watch its heartbeats, verify its memory",
	.run = boot_run,
};
