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

#include "bench/campaign_dir.h"
#include "bench/command.h"
#include "bench/host_probe.h"
#include "bench/ini.h"
#include "bench/metric_catalog.h"
#include "bench/progress.h"
#include "bench/result.h"
#include "bench/run_loop.h"
#include "bench/scenario.h"
#include "bench/summary.h"
#include "runners/netns.h"
#include "runners/qemu_proc.h"
#include "runners/runner.h"

struct run_options {
	const char *out_dir;
	const char *name;
	const char *runner;
	const char *resume;
	int dry_run;
	int quiet;
	bool grouped;        /* --order=grouped */
	json_t *inputs;      /* {files: [{path, text}], options: [[key, value]]} */
};

static int add_file(struct mb_scenario_set *set, struct run_options *o, const char *path, struct mb_err *err)
{
	char *text;
	int rc;

	/* The same bytes for parsing and for the manifest: a file edited
	 * during the run cannot differ between them. */
	if (mb_ini_load(path, &text, err))
		return -1;
	rc = mb_scenario_parse_string(set, path, text, err);
	if (!rc)
		json_array_append_new(json_object_get(o->inputs, "files"),
				      json_pack("{s:s, s:s}", "path", path, "text", text));
	free(text);
	return rc;
}

static int add_option(struct mb_scenario_set *set, struct run_options *o, const char *name,
		      const char *value, struct mb_err *err)
{
	if (mb_scenario_apply_option(set, name, value, err))
		return -1;
	json_array_append_new(json_object_get(o->inputs, "options"), json_pack("[s, s]", name, value));
	return 0;
}

/* --resume: the campaign's own files and options, as they were given. */
static int load_inputs(struct mb_scenario_set *set, struct run_options *o, struct mb_err *err)
{
	char path[4096];
	json_t *manifest, *inputs, *v;
	json_error_t jerr;
	size_t i;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/campaign.json", o->resume);
	manifest = json_load_file(path, 0, &jerr);
	if (!manifest)
		return mb_errf(err, EINVAL, "--resume %s: cannot read %s: %s", o->resume, path, jerr.text);
	inputs = json_object_get(manifest, "inputs");
	if (!json_is_object(inputs)) {
		json_decref(manifest);
		return mb_errf(err, EINVAL, "--resume %s: %s records no inputs (made by an older migbench?)",
			       o->resume, path);
	}
	json_array_foreach(json_object_get(inputs, "files"), i, v) {
		const char *file = json_string_value(json_object_get(v, "path"));
		const char *text = json_string_value(json_object_get(v, "text"));

		if (!file || !text || mb_scenario_parse_string(set, file, text, err)) {
			rc = file && text ? -1 : mb_errf(err, EINVAL, "%s: inputs.files[%zu] is malformed", path, i);
			break;
		}
	}
	json_array_foreach(json_object_get(inputs, "options"), i, v) {
		const char *name = json_string_value(json_array_get(v, 0));
		const char *value = json_string_value(json_array_get(v, 1));

		if (rc)
			break;
		if (!name || !value || mb_scenario_apply_option(set, name, value, err))
			rc = name && value ? -1 : mb_errf(err, EINVAL, "%s: inputs.options[%zu] is malformed", path, i);
	}
	if (!rc && json_string_value(json_object_get(inputs, "order")))
		o->grouped = !strcmp(json_string_value(json_object_get(inputs, "order")), "grouped");
	if (!rc && json_string_value(json_object_get(inputs, "runner"))) {
		static char runner[64];

		snprintf(runner, sizeof(runner), "%s", json_string_value(json_object_get(inputs, "runner")));
		o->runner = runner;
	}
	json_object_set(o->inputs, "files", json_object_get(inputs, "files"));
	json_object_set(o->inputs, "options", json_object_get(inputs, "options"));
	if (json_object_get(inputs, "order"))
		json_object_set(o->inputs, "order", json_object_get(inputs, "order"));
	json_decref(manifest);
	return rc ? mb_err_prefix(err, "--resume %s", o->resume) : 0;
}

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
		"  --resume DIR       finish the campaign in DIR (interrupted, killed, or\n"
		"                     stopped by a full disk) with its own scenario: runs\n"
		"                     that have a result are kept, the others are run\n"
		"  --order ORDER      interleaved (default): every scenario's repetition 1,\n"
		"                     then every repetition 2, ..., so that host drift spreads\n"
		"                     over all scenarios (a guest boots at each switch);\n"
		"                     grouped: each scenario's runs together, one boot each\n"
		"  --dry-run          print the runs in the order they would run, and exit\n"
		"  --list-keys [--json]  every scenario key (KEY<TAB>PLUG-IN, or JSON with\n"
		"                     type, default, unit, range and help), and exit\n"
		"  --list-metrics [--json]  every metric of a result (PATH<TAB>LABEL (UNIT),\n"
		"                     or JSON with unit, scale, which way is better and\n"
		"                     the smallest change worth a verdict), and exit\n"
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

/* `migbench run --list-keys|--list-metrics [--json]`: a listing migbench
 * owns, as JSON for scripts (the R analysis reads both: one source of truth)
 * or one line per item. */
static int print_listing(int argc, char **argv, const char *option, json_t *list,
			 void (*line)(json_t *item))
{
	int json = 0;
	size_t i;
	json_t *item;

	for (int a = 1; a < argc; a++)
		json |= !strcmp(argv[a], "--json");
	if (!list) {
		fprintf(stderr, "migbench run %s: out of memory\n", option);
		return MB_EXIT_FAILED;
	}
	if (json) {
		json_dumpf(list, stdout, JSON_INDENT(1));
		putchar('\n');
	} else {
		json_array_foreach(list, i, item)
			line(item);
	}
	json_decref(list);
	return MB_EXIT_OK;
}

/* KEY<TAB>PLUG-IN ("-" for the global keys) */
static void key_line(json_t *k)
{
	const char *plugin = json_string_value(json_object_get(k, "plugin"));

	printf("%s\t%s\n", json_string_value(json_object_get(k, "name")), plugin && *plugin ? plugin : "-");
}

/* PATH<TAB>LABEL (UNIT) */
static void metric_line(json_t *m)
{
	printf("%s\t%s (%s)\n", json_string_value(json_object_get(m, "metric")),
	       json_string_value(json_object_get(m, "label")), json_string_value(json_object_get(m, "unit")));
}

static int parse_args(int argc, char **argv, struct run_options *o,
		      struct mb_scenario_set *set, struct mb_err *err)
{
	int scenario_given = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq, *val;
		char name[128];

		if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "-n") ||
		    !strcmp(a, "--name") || !strcmp(a, "--runner") || !strcmp(a, "--resume")) {
			if (i + 1 >= argc)
				return mb_errf(err, 0, "option '%s' needs a value", a);
			if (a[1] == 'o' || !strcmp(a, "--output"))
				o->out_dir = argv[++i];
			else if (!strcmp(a, "--runner"))
				o->runner = argv[++i];
			else if (!strcmp(a, "--resume"))
				o->resume = argv[++i];
			else
				o->name = argv[++i];
			continue;
		}
		if (!strncmp(a, "--resume=", 9)) { o->resume = a + 9; continue; }
		if (!strncmp(a, "--output=", 9)) { o->out_dir = a + 9; continue; }
		if (!strncmp(a, "--name=", 7)) { o->name = a + 7; continue; }
		if (!strncmp(a, "--runner=", 9)) { o->runner = a + 9; continue; }
		if (!strcmp(a, "--dry-run")) { o->dry_run = 1; continue; }
		if (!strncmp(a, "--order=", 8) || !strcmp(a, "--order")) {
			const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : "");

			if (strcmp(v, "grouped") && strcmp(v, "interleaved"))
				return mb_errf(err, 0, "--order: '%s' is neither interleaved nor grouped", v);
			o->grouped = !strcmp(v, "grouped");
			json_object_set_new(o->inputs, "order", json_string(v));
			continue;
		}
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
			if (add_option(set, o, name, val, err))
				return -1;
			scenario_given = 1;
			continue;
		}
		if (a[0] == '-' && a[1])
			return mb_errf(err, 0, "unknown option '%s' (see migbench run --help)", a);
		if (add_file(set, o, a, err))
			return -1;
		scenario_given = 1;
	}
	if (o->resume && (scenario_given || o->name))
		return mb_errf(err, 0, "--resume takes the scenario files, options and name from the campaign "
			       "itself; give it alone (with -o, -q or --dry-run)");
	if (o->resume)
		return load_inputs(set, o, err);
	return 0;
}

static volatile int interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

/* What a migbench killed earlier left (QEMUs, run directories, network
 * namespaces), removed before this one starts; never a live one's. */
static void clean_orphans(void)
{
	char report[2048];

	if (mb_qemu_clean_orphans(report, sizeof(report)))
		fprintf(stderr, "migbench run: removed what a migbench that died left: %s\n", report);
	if (mb_netns_clean_orphans(report, sizeof(report)))
		fprintf(stderr, "migbench run: removed what a migbench that died left: %s\n", report);
}

/* In the order they would run. */
static int print_dry_run(const struct mb_campaign *c, bool grouped)
{
	const struct mb_run_spec **order = calloc(c->nruns ? c->nruns : 1, sizeof(*order));
	size_t n;

	if (!order) {
		fprintf(stderr, "migbench run: --dry-run: out of memory\n");
		return MB_EXIT_FAILED;
	}
	n = mb_campaign_order(c, grouped, order);
	printf("%zu run(s) in %zu scenario(s), %s:\n", c->nruns, c->nscenarios,
	       grouped ? "grouped by scenario" : "interleaved");
	for (size_t i = 0; i < n; i++)
		if (order[i]->params.guests > 1)
			printf("  %s  repetition %u  (at once with the other %u guests)\n", order[i]->name,
			       order[i]->repetition + 1, order[i]->params.guests - 1);
		else
			printf("  %s  repetition %u\n", order[i]->name, order[i]->repetition + 1);
	free(order);
	return MB_EXIT_OK;
}

static int cmd_run(int argc, char **argv)
{
	struct run_options o = { .out_dir = "results", .runner = "qmp" };
	struct mb_campaign campaign = {0};
	struct mb_scenario_set *set;
	const struct mb_runner_ops *ops;
	struct mb_err err = {0};
	int status;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return MB_EXIT_OK;
		}
		if (!strcmp(argv[i], "--list-keys"))
			return print_listing(argc, argv, argv[i], mb_scenario_keys_json(), key_line);
		if (!strcmp(argv[i], "--list-metrics"))
			return print_listing(argc, argv, argv[i], mb_metric_catalog_json(), metric_line);
	}
	/* What the manifest keeps so that the campaign can be understood, and
	 * resumed, without the files it came from. */
	o.inputs = json_pack("{s:[], s:[]}", "files", "options");
	if (!o.inputs) {
		fprintf(stderr, "migbench run: out of memory\n");
		return MB_EXIT_FAILED;
	}
	set = mb_scenario_set_new(&err);
	if (!set || parse_args(argc, argv, &o, set, &err) ||
	    (o.name && mb_campaign_name_check(o.name, &err)) || mb_scenario_expand(set, &campaign, &err)) {
		fprintf(stderr, "migbench run: %s\n", err.msg);
		json_decref(o.inputs);
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
		status = print_dry_run(&campaign, o.grouped);
		goto out;
	}

	/* A closed terminal (SIGHUP: a CI runner's ssh dropping) ends the
	 * campaign in order like Ctrl-C does; SIGKILL cannot be caught, and is
	 * handled by PR_SET_PDEATHSIG on the QEMUs (runners/qemu_proc.h), by
	 * the manifest that exists from the start, and by the cleanup below on
	 * the next run. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGQUIT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	clean_orphans();
	json_object_set_new(o.inputs, "runner", json_string(o.runner));
	{
		struct mb_run_loop loop = {
			.ops = ops,
			.campaign = &campaign,
			.out_dir = o.out_dir,
			.name = o.name,
			.progress = !o.quiet && isatty(STDERR_FILENO),
			.interrupted = &interrupted,
			.inputs = o.inputs,
			.resume_dir = o.resume,
			.grouped = o.grouped,
		};

		status = mb_run_loop(&loop);
	}
out:
	json_decref(o.inputs);
	mb_campaign_free(&campaign);
	mb_scenario_set_free(set);
	return status;
}

const struct mb_command mb_cmd_run = {
	.name = "run",
	.summary = "migrate guests as scenario files describe; write JSON results",
	.run = cmd_run,
};
