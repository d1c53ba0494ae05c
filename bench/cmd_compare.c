/* `migbench compare A B`: is campaign B worse than campaign A? A thin front
 * for analysis/compare.R (the statistics live there); exits 1 when something
 * regressed and 4 when it cannot tell, so a CI job can fail on either. */
#include "config.h"
#include "bench/command.h"
#include "bench/options.h"

#include <stdio.h>
#include <stdlib.h>

/* What goes on to compare.R: the table below fills in the values. */
enum { THRESHOLD, ALPHA, METRICS, OUT, JUNIT, POOL, QUIET, NOPTS };
static struct mb_analysis_opt r_opts[NOPTS] = {
	[THRESHOLD] = { .name = "--threshold" },
	[ALPHA] = { .name = "--alpha" },
	[METRICS] = { .name = "--metrics" },
	[OUT] = { .name = "--out" },
	[JUNIT] = { .name = "--junit" },
	[POOL] = { .name = "--pool", .flag = 1 },
	[QUIET] = { .name = "--quiet", .flag = 1 },
};

static const struct mb_opt options[] = {
	{ "threshold", 0, MB_OPT_NUMBER, "X", "relative change of the median that matters (default 0.05)",
	  .text = &r_opts[THRESHOLD].value, .lo = 0, .hi = 100 },
	{ "alpha", 0, MB_OPT_NUMBER, "X", "significance level (default 0.05)",
	  .text = &r_opts[ALPHA].value, .lo = 1e-6, .hi = 0.5 },
	{ "metrics", 0, MB_OPT_TEXT, "LIST", "judge only these metrics, comma-separated (default: every\n"
	  "metric with a worse direction); failed runs and lost\n"
	  "guest memory are judged whatever LIST says", .text = &r_opts[METRICS].value },
	{ "output", 'o', MB_OPT_TEXT, "FILE", "where the Markdown summary goes", .text = &r_opts[OUT].value },
	{ "junit", 0, MB_OPT_TEXT, "FILE", "also write the verdicts as JUnit XML to FILE", .text = &r_opts[JUNIT].value },
	{ "pool", 0, MB_OPT_FLAG, NULL, "A and B are folders of campaigns: pool each folder's runs",
	  .text = &r_opts[POOL].value },
	{ "quiet", 'q', MB_OPT_FLAG, NULL, "no summary on stdout (still written to FILE)", .text = &r_opts[QUIET].value },
	{ 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench compare A B [--threshold 0.05] [--alpha 0.05] [--metrics LIST]\n"
		"                            [-o FILE] [--junit FILE] [--pool] [--quiet]\n"
		"\n"
		"Compares campaign B (candidate) with campaign A (baseline): for each\n"
		"scenario in both and each metric, the Hodges-Lehmann shift B - A with its\n"
		"CI and a Mann-Whitney test over completed runs. A metric regressed when\n"
		"p < alpha and its median moved by more than the threshold (relative) in its\n"
		"worse direction (times, downtime, pages: up; throughput, bandwidth: down).\n"
		"A scenario regressed when B did not complete a run more often than A, when\n"
		"B completed none, or when B corrupted a guest page and A did not. A metric\n"
		"is inconclusive when the runs are too few for any p < alpha (3 vs 3: the\n"
		"smallest p is 0.1; 4 a side reach 0.029, 5 a side 0.0079), when its median\n"
		"got worse by more than the threshold without p < alpha, or when it has\n"
		"values on one side only. Prints a Markdown summary and writes it to FILE\n"
		"(default B/report/compare-vs-A.md, and a .csv beside it). Runs\n"
		"analysis/compare.R with Rscript.\n"
		"\n"
		"With --junit, the verdicts also go to FILE as JUnit XML for CI systems: one\n"
		"test case per scenario and metric (classname = scenario, name = metric), a\n"
		"<failure> for a regression, <skipped> with the reason for what could not be\n"
		"judged, the numbers in the messages and the summary in <system-out>.\n"
		"\n"
		"With --pool, A and B are folders of campaigns, and each side is all the\n"
		"runs of the campaigns in its folder: for campaigns run in alternating\n"
		"rounds (A, B, A, B, ...), so that a change of the host's load falls on\n"
		"both sides instead of passing for a regression.\n"
		"\n");
	mb_opts_print(out, options);
	fprintf(out,
		"\n"
		"Exit status:\n"
		"  %d  no regression, and every metric could be judged\n"
		"  %d  regression (or the analysis failed): fail the gate\n"
		"  %d  bad command line, or campaigns with no scenario in common\n"
		"  %d  Rscript or the R scripts missing\n"
		"  %d  inconclusive: nothing regressed, but something could not be judged;\n"
		"     not a pass: run more repetitions\n",
		MB_EXIT_OK, MB_EXIT_FAILED, MB_EXIT_USAGE, MB_EXIT_NO_RESOURCE, MB_EXIT_INCONCLUSIVE);
}

static int compare_run(int argc, char **argv)
{
	static const struct mb_opt_spec spec = {
		.cmd = "compare", .opts = options, .usage = usage, .min_args = 2, .max_args = 2,
		.args_wrong = "two campaign folders, please (baseline A, candidate B)",
	};

	return mb_analysis_command(&spec, "compare.R", r_opts, NOPTS, argc, argv);
}

const struct mb_command mb_cmd_compare = {
	.name = "compare",
	.summary = "A/B verdict between two campaigns: exit 1 on a regression, 4 inconclusive (R)",
	.run = compare_run,
};
