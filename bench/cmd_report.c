/* `migbench report DIR [-o OUT]`: tables and plots of a campaign. A thin
 * front for analysis/report.R: it checks the command line, finds the script
 * and replaces itself with Rscript (argv, no shell). mb_analysis_exec() is
 * shared with `migbench compare` (cmd_compare.c). */
#include "config.h"
#include "bench/command.h"
#include "bench/options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MB_PKGDATADIR
#define MB_PKGDATADIR "/usr/local/share/migbench"
#endif

/* Where the R scripts are: $MIGBENCH_ANALYSIS_DIR, else the source tree this
 * migbench was built from, else the installed copy. */
static int find_script(const char *script, char *path, size_t size)
{
	const char *env = getenv("MIGBENCH_ANALYSIS_DIR");
	const char *dirs[3];
	int n = 0;

	if (env && *env) {
		/* asked for explicitly: no fallback that would hide a typo */
		snprintf(path, size, "%s/%s", env, script);
		return access(path, R_OK) ? -1 : 0;
	}
#ifdef MB_SRCDIR
	dirs[n++] = MB_SRCDIR "/analysis";
#endif
	dirs[n++] = MB_PKGDATADIR "/analysis";
	for (int i = 0; i < n; i++) {
		snprintf(path, size, "%s/%s", dirs[i], script);
		if (!access(path, R_OK))
			return 0;
	}
	return -1;
}

int mb_analysis_exec(const char *cmd, const char *script, const struct mb_analysis_opt *opts, int nopts,
		     char *const *pos, int npos)
{
	char path[PATH_MAX + 64];
	const char *rscript = getenv("MIGBENCH_RSCRIPT");
	char **argv;
	int n = 0;

	if (!rscript || !*rscript)
		rscript = "Rscript";
	if (find_script(script, path, sizeof(path))) {
		const char *env = getenv("MIGBENCH_ANALYSIS_DIR");

		if (env && *env)
			fprintf(stderr, "migbench %s: %s not found in $MIGBENCH_ANALYSIS_DIR (%s)\n", cmd,
				script, env);
		else
			fprintf(stderr, "migbench %s: %s not found in "
#ifdef MB_SRCDIR
				MB_SRCDIR "/analysis nor in "
#endif
				MB_PKGDATADIR "/analysis (set $MIGBENCH_ANALYSIS_DIR to the analysis folder)\n",
				cmd, script);
		return MB_EXIT_NO_RESOURCE;
	}
	/* The analysis reads the scenario keys from this migbench (run
	 * --list-keys --json): every plug-in's keys, one source of truth. */
	if (!getenv("MIGBENCH_BIN")) {
		char self[PATH_MAX];
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (len > 0) {
			self[len] = '\0';
			setenv("MIGBENCH_BIN", self, 1);
		}
	}
	/* Rscript --vanilla SCRIPT, two per option, "--", the positionals, NULL */
	argv = calloc(3 + 2 * (size_t)nopts + 1 + (size_t)npos + 1, sizeof(*argv));
	if (!argv) {
		fprintf(stderr, "migbench %s: cannot build Rscript's command line: %s\n", cmd, strerror(errno));
		return MB_EXIT_FAILED;
	}
	argv[n++] = (char *)rscript;
	argv[n++] = "--vanilla";
	argv[n++] = path;
	for (int i = 0; i < nopts; i++) {
		if (!opts[i].value)
			continue;
		argv[n++] = (char *)opts[i].name;
		if (!opts[i].flag)
			argv[n++] = (char *)opts[i].value;
	}
	/* after "--", a folder named like an option stays a folder */
	argv[n++] = "--";
	for (int i = 0; i < npos; i++)
		argv[n++] = pos[i];
	argv[n] = NULL;
	fflush(NULL);
	execvp(rscript, argv);
	if (errno == ENOENT)
		fprintf(stderr, "migbench %s: %s not found%s: the analysis needs R "
			"(Debian: r-base-core r-cran-jsonlite r-cran-ggplot2 r-cran-boot; "
			"`sudo bash .ci/setup` installs them)\n", cmd, rscript,
			strchr(rscript, '/') ? "" : " on PATH");
	else
		fprintf(stderr, "migbench %s: cannot run %s: %s\n", cmd, rscript, strerror(errno));
	free(argv);
	return MB_EXIT_NO_RESOURCE;
}

int mb_analysis_command(const struct mb_opt_spec *spec, const char *script, struct mb_analysis_opt *opts,
			int nopts, int argc, char **argv)
{
	int first, rc;

	for (int i = 0; i < nopts; i++)
		opts[i].value = NULL;
	rc = mb_opts_command(spec, argc, argv, &first);
	return rc >= 0 ? rc : mb_analysis_exec(spec->cmd, script, opts, nopts, argv + first, spec->max_args);
}

/* What goes on to report.R: the table below fills in the values. */
enum { OUT, BOOTSTRAP, SEED, QUIET, NOPTS };
static struct mb_analysis_opt r_opts[NOPTS] = {
	[OUT] = { .name = "--out" },
	[BOOTSTRAP] = { .name = "--bootstrap" },
	[SEED] = { .name = "--seed" },
	[QUIET] = { .name = "--quiet", .flag = 1 },
};

static const struct mb_opt options[] = {
	{ "output", 'o', MB_OPT_TEXT, "OUT", "where the report goes", .text = &r_opts[OUT].value },
	{ "bootstrap", 0, MB_OPT_INT, "N", "bootstrap resamples for the CIs (default 2000)",
	  .text = &r_opts[BOOTSTRAP].value, .lo = 100, .hi = 1000000 },
	{ "seed", 0, MB_OPT_INT, "S", "random seed of the bootstrap (default 1)",
	  .text = &r_opts[SEED].value, .lo = 0, .hi = INT_MAX },
	{ "quiet", 'q', MB_OPT_FLAG, NULL, "only the table on stdout", .text = &r_opts[QUIET].value },
	{ 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench report DIR [-o OUT] [--bootstrap N] [--seed S] [--quiet]\n"
		"\n"
		"Turns a campaign (DIR holds campaign.json and SCENARIO/REP.json; or DIR\n"
		"holds campaigns, and the newest is used) into paper-ready tables and plots,\n"
		"written into OUT (default DIR/report):\n"
		"  runs.csv             one row per run: parameters, status, every metric\n"
		"  summary.csv          per scenario and metric: n, median, 95 %% BCa CI\n"
		"  report.md            run counts by status, main table, every metric, model\n"
		"  table.tex status.tex model.tex   booktabs tables\n"
		"  metrics.png/pdf, metric-*.png/pdf   metrics against the swept parameter\n"
		"  timeline-*.png/pdf   one run per scenario over time\n"
		"  model.*              the analytic pre-copy model vs measurement\n"
		"and prints the main table (Markdown). Runs analysis/report.R with Rscript.\n"
		"\n");
	mb_opts_print(out, options);
	fprintf(out,
		"\n"
		"Environment: MIGBENCH_ANALYSIS_DIR (folder of the R scripts),\n"
		"MIGBENCH_RSCRIPT (the Rscript to run).\n"
		"Exit status: 0 ok, 1 failed, 2 bad command line or not a campaign,\n"
		"3 Rscript or the R scripts missing.\n");
}

static int report_run(int argc, char **argv)
{
	static const struct mb_opt_spec spec = {
		.cmd = "report", .opts = options, .usage = usage,
		.min_args = 1, .max_args = 1, .args_wrong = "one campaign folder, please",
	};

	return mb_analysis_command(&spec, "report.R", r_opts, NOPTS, argc, argv);
}

const struct mb_command mb_cmd_report = {
	.name = "report",
	.summary = "tables (Markdown, LaTeX, CSV) and plots of a campaign (R)",
	.run = report_run,
};
