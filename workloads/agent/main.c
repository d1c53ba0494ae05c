/* migbench-agent: the guest's /init. Reads its migbench.* parameters, brings
 * up the heartbeat channel, stamps the working set and runs the workload
 * while a second thread sends heartbeats and answers the host.
 *
 *   as PID 1:  migbench-agent                 (parameters from /proc/cmdline)
 *   for tests: migbench-agent --stdio [migbench.key=value ...]
 *              (no mounts or modules; stdin/stdout are the channel; exits
 *              when stdin reaches end of file)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "workloads/agent/boot.h"
#include "workloads/agent/channel.h"
#include "workloads/agent/clock.h"
#include "workloads/agent/command.h"
#include "workloads/agent/config.h"
#include "workloads/agent/heartbeat.h"
#include "workloads/agent/log.h"
#include "workloads/agent/modules.h"
#include "workloads/agent/state.h"
#include "workloads/agent/svc.h"
#include "workloads/agent/workload.h"

/* How long a guest waits for the heartbeat port after loading the virtio
 * modules; the port is announced asynchronously by the host. */
#define PORT_WAIT_MS 3000u

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench-agent                      (as a guest's /init: parameters from /proc/cmdline)\n"
		"       migbench-agent --stdio [migbench.KEY=VALUE ...]\n"
		"  --stdio: take parameters from the arguments, use stdin/stdout as the heartbeat channel,\n"
		"           skip mounts and modules, exit at end of stdin.\n"
		"  KEY: workload (dirty|idle|compute), wss, rate, pattern (sequential|random|hotcold),\n"
		"       hot, hotw, period, seed, svc (none|echo|kv), kv_size, net, port\n"
		"       -- see workloads/agent/README.md\n");
}

/* PID 1 must never exit (the kernel would panic, and the host would lose
 * the console message that says why): park the calling thread for good.
 * The heartbeat thread, if any, keeps reporting. */
static void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		pause();
}

static int read_kernel_cmdline(char *buf, size_t len)
{
	ssize_t n;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		agent_log("cannot open /proc/cmdline: %s; using default parameters", strerror(errno));
		return -1;
	}
	n = read(fd, buf, len - 1);
	if (n < 0) {
		agent_log("cannot read /proc/cmdline: %s; using default parameters", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

/* Appends an ERR record to the records sent right after HELLO. */
static void add_boot_error(char *records, size_t len, const char *word)
{
	size_t used = strlen(records);

	record_err(records + used, len - used, 0, word);
}

int main(int argc, char **argv)
{
	static struct agent_state state;
	static struct channel channel;
	bool stdio_mode = argc > 1 && !strcmp(argv[1], "--stdio");
	bool pid1 = getpid() == 1;
	struct agent_config config;
	struct agent_config_error config_error = { 0 };
	char cmdline[4096], first_records[2048] = "", errors[512] = "";
	long page_size = sysconf(_SC_PAGESIZE);
	pthread_t heartbeat_thread;
	/* Where the boot time goes (the target is ≤3 s to the first heartbeat
	 * under TCG): kept for the "ready" console line. */
	uint64_t start_us = agent_now_us(), modules_us = 0, channel_us = 0, stamp_us;
	int err;

	if (!pid1 && !stdio_mode) {
		bool asked = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));

		usage(asked ? stdout : stderr);
		return asked ? 0 : 2;
	}
	/* A host that closes the channel must cost a dropped record, not the
	 * agent's life. */
	signal(SIGPIPE, SIG_IGN);

	agent_config_defaults(&config, page_size > 0 ? (uint64_t)page_size : 4096);
	if (stdio_mode) {
		for (int i = 2; i < argc; i++) {
			if (strncmp(argv[i], "migbench.", 9)) {
				fprintf(stderr, "migbench-agent: %s: not a migbench.KEY=VALUE parameter\n", argv[i]);
				usage(stderr);
				return 2;
			}
		}
		agent_config_parse_words(&config, argc - 2, argv + 2, &config_error);
		channel_open_stdio(&channel);
	} else {
		/* Order matters: until devtmpfs is mounted there may be no fds
		 * 0-2, and the first open() would silently become stdin. */
		boot_mount_filesystems();
		boot_ensure_console();
		if (read_kernel_cmdline(cmdline, sizeof(cmdline)) == 0)
			agent_config_parse_cmdline(&config, cmdline, &config_error);
		modules_us = agent_now_us();
		if (modules_load_list(AGENT_MODULES_LIST))
			snprintf(errors + strlen(errors), sizeof(errors) - strlen(errors), "module_load_failed ");
		channel_us = agent_now_us();
		modules_us = channel_us - modules_us;
		channel_open_guest(&channel, PORT_WAIT_MS);
		channel_us = agent_now_us() - channel_us;
	}

	if (config_error.count) {
		/* A typo in a scenario must be visible, not crash the guest:
		 * report it and idle so the host can still talk to us. */
		for (unsigned i = 0; i < config_error.count && i < AGENT_CONFIG_MAX_ERRORS; i++)
			agent_log("%s", config_error.items[i].message);
		if (config_error.count > AGENT_CONFIG_MAX_ERRORS)
			agent_log("(%u more bad migbench.* parameters)", config_error.count - AGENT_CONFIG_MAX_ERRORS);
		agent_log("bad parameters: running the idle workload instead");
		config.workload = MB_WORKLOAD_IDLE;
	}

	if (state_init(&state, &config)) {
		agent_log("cannot create the eventfd between workload and heartbeat threads: %s", strerror(errno));
		if (pid1)
			halt_forever();
		return 1;
	}
	stamp_us = agent_now_us();
	if (working_set_alloc(&state.ws, config.wss_pages, config.page_size) < 0) {
		agent_log("cannot allocate the working set of %" PRIu64 " pages (%" PRIu64 " MiB): %s; idling",
			  config.wss_pages, config.wss_pages * config.page_size >> 20, strerror(errno));
		snprintf(errors + strlen(errors), sizeof(errors) - strlen(errors), "wss_alloc_failed ");
		state.config.workload = MB_WORKLOAD_IDLE;
	} else {
		working_set_stamp_all(&state.ws);
		state.have_working_set = true;
	}

	/* The service is up before HELLO, so a host that sees HELLO can talk
	 * to it at once. */
	if (config.svc != AGENT_SVC_NONE) {
		char word[64];

		if (svc_start(&config, !stdio_mode, pid1, word, sizeof(word)))
			snprintf(errors + strlen(errors), sizeof(errors) - strlen(errors), "%s ", word);
	}

	state.boot_us = agent_now_us();
	stamp_us = state.boot_us - stamp_us;
	record_hello(first_records, sizeof(first_records), 0, &state, config.period_us);
	for (unsigned i = 0; i < config_error.count && i < AGENT_CONFIG_MAX_ERRORS; i++)
		add_boot_error(first_records, sizeof(first_records), config_error.items[i].word);
	for (char *save = NULL, *word = strtok_r(errors, " ", &save); word; word = strtok_r(NULL, " ", &save))
		add_boot_error(first_records, sizeof(first_records), word);

	err = heartbeat_start(&state, &channel, first_records, pid1, &heartbeat_thread);
	if (err) {
		agent_log("cannot start the heartbeat thread: %s", strerror(err));
		if (pid1)
			halt_forever();
		return 1;
	}
	agent_log("%s workload, %" PRIu64 " pages, rate %" PRIu64 " pages/s, %s pattern, heartbeat every %" PRIu64
		  " us on %s", agent_workload_name(state.config.workload), config.wss_pages, config.rate_pages,
		  agent_pattern_name(config.pattern), config.period_us, channel.name);
	if (pid1)
		agent_log("ready %" PRIu64 " ms after the kernel started: /init ran %" PRIu64 " ms (modules %" PRIu64
			  " ms, channel %" PRIu64 " ms, working set %" PRIu64 " ms)", state.boot_us / 1000,
			  (state.boot_us - start_us) / 1000, modules_us / 1000, channel_us / 1000, stamp_us / 1000);

	workload_run(&state);

	if (pid1)
		halt_forever();
	pthread_join(heartbeat_thread, NULL);
	return 0;
}
