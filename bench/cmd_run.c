/* migbench run: expands scenario files into runs, boots each scenario's
 * guest once, migrates it back and forth for its repetitions and writes one
 * result file per run. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/command.h"
#include "bench/host_probe.h"
#include "bench/progress.h"
#include "bench/result.h"
#include "bench/run_loop.h"
#include "bench/scenario.h"
#include "bench/summary.h"
#include "runners/runner.h"

struct run_options {
	const char *out_dir;
	const char *name;
	const char *runner;
	int dry_run;
	int quiet;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench run [OPTIONS] [--KEY=VALUE...] [SCENARIO.ini...]\n"
		"\n"
		"Migrates real QEMU guests as the scenario files describe and writes one\n"
		"JSON result per run into OUT/CAMPAIGN/SCENARIO/REP.json, with a manifest\n"
		"OUT/CAMPAIGN/campaign.json. Without a file, the --KEY options alone make\n"
		"one scenario ('migbench run --mode=postcopy').\n"
		"\n"
		"options:\n"
		"  -o, --output DIR   where campaigns go (default: results)\n"
		"  -n, --name NAME    campaign folder name (default: local date-time);\n"
		"                     an existing campaign is never overwritten\n"
		"  --runner NAME      how to drive QEMU (default: qmp; available:");
	for (size_t i = 0; mb_runners[i]; i++)
		fprintf(out, " %s", mb_runners[i]->name);
	fprintf(out, ")\n"
		"  --dry-run          print the expanded runs and exit\n"
		"  -q, --quiet        no progress line\n"
		"  -h, --help         this text\n"
		"\n"
		"Every scenario key is also an option (--max_bandwidth=1G or\n"
		"--max-bandwidth 1G), overriding the files; a comma list sweeps.\n"
		"\n");
	mb_scenario_print_keys(out);
	fprintf(out,
		"\nexit status: 0 all runs completed; 1 a run failed or did not converge;\n"
		"2 bad command line or scenario; 3 this host cannot run it (no QEMU).\n");
}

static int parse_args(int argc, char **argv, struct run_options *o,
		      struct mb_scenario_set *set, struct mb_err *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq, *val;
		char name[128];

		if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "-n") ||
		    !strcmp(a, "--name") || !strcmp(a, "--runner")) {
			if (i + 1 >= argc)
				return mb_errf(err, 0, "option '%s' needs a value", a);
			if (a[1] == 'o' || !strcmp(a, "--output"))
				o->out_dir = argv[++i];
			else if (!strcmp(a, "--runner"))
				o->runner = argv[++i];
			else
				o->name = argv[++i];
			continue;
		}
		if (!strncmp(a, "--output=", 9)) { o->out_dir = a + 9; continue; }
		if (!strncmp(a, "--name=", 7)) { o->name = a + 7; continue; }
		if (!strncmp(a, "--runner=", 9)) { o->runner = a + 9; continue; }
		if (!strcmp(a, "--dry-run")) { o->dry_run = 1; continue; }
		if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) { o->quiet = 1; continue; }
		if (!strncmp(a, "--", 2)) {
			/* A scenario key: --key=value or --key value. */
			eq = strchr(a, '=');
			if (eq) {
				snprintf(name, sizeof(name), "%.*s", (int)(eq - a), a);
				val = eq + 1;
			} else {
				snprintf(name, sizeof(name), "%s", a);
				if (!mb_key_find(a + 2)) {
					const struct mb_key *near = mb_key_suggest(a + 2);

					if (near)
						return mb_errf(err, 0, "unknown option '%s' (did you mean '--%s'?)",
							       a, near->name);
					return mb_errf(err, 0, "unknown option '%s' (see migbench run --help)", a);
				}
				if (i + 1 >= argc)
					return mb_errf(err, 0, "option '%s' needs a value", a);
				val = argv[++i];
			}
			if (mb_scenario_apply_option(set, name, val, err))
				return -1;
			continue;
		}
		if (a[0] == '-' && a[1])
			return mb_errf(err, 0, "unknown option '%s' (see migbench run --help)", a);
		if (mb_scenario_parse_file(set, a, err))
			return -1;
	}
	return 0;
}

static volatile int interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static void print_dry_run(const struct mb_campaign *c)
{
	printf("%zu run(s) in %zu scenario(s):\n", c->nruns, c->nscenarios);
	for (size_t s = 0; s < c->nscenarios; s++)
		for (size_t i = 0; i < c->nruns; i++)
			if (c->runs[i].scenario == s)
				printf("  %s  repetition %u\n", c->runs[i].name, c->runs[i].repetition + 1);
}

static int cmd_run(int argc, char **argv)
{
	struct run_options o = { .out_dir = "results", .runner = "qmp" };
	struct mb_campaign campaign = {0};
	struct mb_scenario_set *set;
	const struct mb_runner_ops *ops;
	struct mb_err err = {0};
	int status;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return MB_EXIT_OK;
		}
	set = mb_scenario_set_new(&err);
	if (!set || parse_args(argc, argv, &o, set, &err) || mb_scenario_expand(set, &campaign, &err)) {
		fprintf(stderr, "migbench run: %s\n", err.msg);
		mb_scenario_set_free(set);
		return MB_EXIT_USAGE;
	}
	ops = mb_runner_find(o.runner);
	if (!ops) {
		fprintf(stderr, "migbench run: unknown runner '%s' (see migbench run --help)\n", o.runner);
		status = MB_EXIT_USAGE;
		goto out;
	}
	if (o.dry_run) {
		print_dry_run(&campaign);
		status = MB_EXIT_OK;
		goto out;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	{
		struct mb_run_loop loop = {
			.ops = ops,
			.campaign = &campaign,
			.out_dir = o.out_dir,
			.name = o.name,
			.progress = !o.quiet && isatty(STDERR_FILENO),
			.interrupted = &interrupted,
		};

		status = mb_run_loop(&loop);
	}
out:
	mb_campaign_free(&campaign);
	mb_scenario_set_free(set);
	return status;
}

const struct mb_command mb_cmd_run = {
	.name = "run",
	.summary = "migrate guests as scenario files describe; write JSON results",
	.run = cmd_run,
};
