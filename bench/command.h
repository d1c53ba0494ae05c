/* One entry per `migbench` subcommand; the registry is in commands.c. */
#ifndef MB_COMMAND_H
#define MB_COMMAND_H

#include "bench/exit.h"

struct mb_command {
	const char *name;
	const char *summary;    /* one line for `migbench --help` */
	/* argv[0] is the subcommand name. Returns the process exit status. */
	int (*run)(int argc, char **argv);
};

extern const struct mb_command *const mb_commands[];


/* `report` and `compare` are front ends to the R scripts in analysis/:
 * mb_analysis_exec() (cmd_report.c) finds SCRIPT and replaces the process
 * with `Rscript SCRIPT OPTS... -- POS...`. OPTS holds one slot per option
 * (the last of repeated ones wins, as in the R scripts), so what reaches
 * R is bounded by the command's option table, not by its command line. */
struct mb_analysis_opt {
	const char *name;       /* R's spelling, e.g. "--out" */
	const char *value;      /* NULL: not given */
	int flag;               /* given without a value (--quiet) */
};

int mb_analysis_exec(const char *cmd, const char *script, const struct mb_analysis_opt *opts, int nopts,
		     char *const *pos, int npos);

/* The whole of such a command: clears OPTS, parses argv with SPEC (whose
 * table writes the values into OPTS, bench/options.h), then
 * mb_analysis_exec with SPEC's max_args positionals. */
struct mb_opt_spec;
int mb_analysis_command(const struct mb_opt_spec *spec, const char *script, struct mb_analysis_opt *opts,
			int nopts, int argc, char **argv);

#endif
