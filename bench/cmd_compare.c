/* `migbench compare A B`: is campaign B worse than campaign A? A thin front
 * for analysis/compare.R (the statistics live there); exits 1 when something
 * regressed and 4 when it cannot tell, so a CI job can fail on either. */
#include "config.h"
#include "bench/command.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
		"\n"
		"  --threshold X   relative change of the median that matters (default 0.05)\n"
		"  --alpha X       significance level (default 0.05)\n"
		"  --metrics LIST  judge only these metrics, comma-separated (default: every\n"
		"                  metric with a worse direction); failed runs and lost\n"
		"                  guest memory are judged whatever LIST says\n"
		"  -o, --output FILE  where the Markdown summary goes\n"
		"  --junit FILE    also write the verdicts as JUnit XML to FILE\n"
		"  --pool          A and B are folders of campaigns: pool each folder's runs\n"
		"  -q, --quiet     no summary on stdout (still written to FILE)\n"
		"  -h, --help      this text\n"
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

static int check_fraction(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
		fprintf(stderr, "migbench compare: --%s: '%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
		return -1;
	}
	return 0;
}

static int compare_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ .name = "threshold", .has_arg = required_argument, .val = 't' },
		{ .name = "alpha", .has_arg = required_argument, .val = 'a' },
		{ .name = "output", .has_arg = required_argument, .val = 'o' },
		{ .name = "junit", .has_arg = required_argument, .val = 'j' },
		{ .name = "pool", .has_arg = no_argument, .val = 'p' },
		{ .name = "metrics", .has_arg = required_argument, .val = 'm' },
		{ .name = "quiet", .has_arg = no_argument, .val = 'q' },
		{ .name = "help", .has_arg = no_argument, .val = 'h' },
		{ 0 },
	};
	enum { THRESHOLD, ALPHA, METRICS, OUT, JUNIT, POOL, QUIET, NOPTS };
	struct mb_analysis_opt opts[NOPTS] = {
		[THRESHOLD] = { .name = "--threshold" },
		[ALPHA] = { .name = "--alpha" },
		[METRICS] = { .name = "--metrics" },
		[OUT] = { .name = "--out" },
		[JUNIT] = { .name = "--junit" },
		[POOL] = { .name = "--pool", .flag = 1 },
		[QUIET] = { .name = "--quiet", .flag = 1 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:qh", options, NULL)) != -1) {
		switch (c) {
		case 't':
			if (check_fraction("threshold", optarg, 0, 100))
				return MB_EXIT_USAGE;
			opts[THRESHOLD].value = optarg;
			break;
		case 'a':
			if (check_fraction("alpha", optarg, 1e-6, 0.5))
				return MB_EXIT_USAGE;
			opts[ALPHA].value = optarg;
			break;
		case 'o':
			opts[OUT].value = optarg;
			break;
		case 'j':
			opts[JUNIT].value = optarg;
			break;
		case 'm':
			opts[METRICS].value = optarg;
			break;
		case 'p':
			opts[POOL].value = "";
			break;
		case 'q':
			opts[QUIET].value = "";
			break;
		case 'h':
			usage(stdout);
			return MB_EXIT_OK;
		default:
			usage(stderr);
			return MB_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "migbench compare: two campaign folders, please (baseline A, candidate B)\n");
		usage(stderr);
		return MB_EXIT_USAGE;
	}
	return mb_analysis_exec("compare", "compare.R", opts, NOPTS, argv + optind, 2);
}

const struct mb_command mb_cmd_compare = {
	.name = "compare",
	.summary = "A/B verdict between two campaigns: exit 1 on a regression, 4 inconclusive (R)",
	.run = compare_run,
};
