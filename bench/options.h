/* A command's options as one table: the parser, its checks and its help
 * come from the same entries, so an option cannot be parsed one way and
 * documented another, and no command carries a getopt loop of its own.
 *
 *	static const struct mb_opt opts[] = {
 *		{ "output", 'o', MB_OPT_TEXT, "OUT", "where the report goes", .text = &out },
 *		{ "seed", 0, MB_OPT_INT, "S", "random seed (default 1)", .text = &seed,
 *		  .lo = 0, .hi = INT_MAX },
 *		{ "quiet", 'q', MB_OPT_FLAG, NULL, "only the table", .flag = &quiet, .set = 1 },
 *		{ 0 },
 *	};
 *
 * -h/--help is always there (the help prints it last). Values are checked
 * while parsing; an error names the command, the option and the value:
 * "migbench compare: --alpha 'x': not a number in [1e-06, 0.5]". */
#ifndef MB_OPTIONS_H
#define MB_OPTIONS_H

#include <stdio.h>

#include "bench/error.h"

enum mb_opt_kind {
	MB_OPT_FLAG,    /* no value: *flag = set; *text = "" */
	MB_OPT_TEXT,    /* *text = the value */
	MB_OPT_INT,     /* a whole number in [lo, hi]: *text = the value, *number = it */
	MB_OPT_NUMBER,  /* a finite number in [lo, hi]: likewise */
	MB_OPT_CALL,    /* call(o, value, ctx, err), which checks and stores it */
};

struct mb_opt {
	const char *name;       /* --name */
	char short_name;        /* -c, or 0 */
	enum mb_opt_kind kind;
	const char *arg;        /* the value's name in the help ("N"); NULL for a flag */
	const char *help;       /* lines separated by '\n' */
	const char **text;      /* where the value (as given) goes; may be NULL */
	int *flag;              /* FLAG: where `set` goes; may be NULL */
	int set;
	double lo, hi;          /* INT and NUMBER: the range */
	double *number;         /* INT and NUMBER: the value parsed; may be NULL */
	int (*call)(const struct mb_opt *o, const char *value, void *ctx, struct mb_err *err);
	const char *key;        /* for call: what the option stands for (a scenario key) */
};

struct mb_opt_spec {
	const char *cmd;                /* "report": "migbench report: ..." */
	const struct mb_opt *opts;      /* ends with { 0 } */
	void (*usage)(FILE *out);       /* the whole help; it calls mb_opts_print */
	int min_args, max_args;         /* positionals; max -1: any number */
	const char *args_wrong;         /* said when their number is wrong ("two campaign folders") */
	void *ctx;                      /* for the calls */
};

/* Parses argv[1..]: 0 with *first the first positional (they are moved to
 * the end, as getopt_long does), 1 when -h/--help was asked, -1 with the
 * reason in err. */
int mb_opts_parse(const struct mb_opt_spec *s, int argc, char **argv, int *first, struct mb_err *err);

/* For a command's run(): parses; prints the help on -h (returns
 * MB_EXIT_OK) and the error with a pointer to --help (MB_EXIT_USAGE);
 * returns -1 when the command goes on, with *first as above. */
int mb_opts_command(const struct mb_opt_spec *s, int argc, char **argv, int *first);

/* Prints "migbench CMD: MSG" and where the options are; MB_EXIT_USAGE. */
int mb_opts_fail(const char *cmd, const char *msg);

/* The options' help, one entry a line (continuations aligned), -h last. */
void mb_opts_print(FILE *out, const struct mb_opt *opts);

#endif
