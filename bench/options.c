/* One option parser for every command (bench/options.h). */
#include "config.h"
#include "bench/options.h"
#include "bench/exit.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTS 32
#define HELP_VAL 'h'
#define LONG_VAL 256            /* getopt's value for entry i is LONG_VAL + i */

static int count(const struct mb_opt *opts)
{
	int n = 0;

	while (opts[n].name)
		n++;
	return n;
}

static int check_number(const struct mb_opt *o, const char *value, struct mb_err *err)
{
	char *end;
	double v;

	errno = 0;
	if (o->kind == MB_OPT_INT) {
		long long i = strtoll(value, &end, 10);

		v = (double)i;
		if (errno || end == value || *end || v < o->lo || v > o->hi)
			return mb_errf(err, 0, "--%s '%s': not a whole number in [%.0f, %.0f]", o->name, value,
				       o->lo, o->hi);
	} else {
		v = strtod(value, &end);
		if (errno || end == value || *end || !isfinite(v) || v < o->lo || v > o->hi)
			return mb_errf(err, 0, "--%s '%s': not a number in [%g, %g]", o->name, value, o->lo,
				       o->hi);
	}
	if (o->number)
		*o->number = v;
	return 0;
}

/* One option given: check it, store it. */
static int take(const struct mb_opt_spec *s, const struct mb_opt *o, const char *value, struct mb_err *err)
{
	switch (o->kind) {
	case MB_OPT_FLAG:
		if (o->flag)
			*o->flag = o->set;
		value = "";
		break;
	case MB_OPT_INT:
	case MB_OPT_NUMBER:
		if (check_number(o, value, err))
			return -1;
		break;
	case MB_OPT_CALL:
		if (o->call(o, value, s->ctx, err))
			return -1;
		break;
	case MB_OPT_TEXT:
		break;
	}
	if (o->text)
		*o->text = value;
	return 0;
}

int mb_opts_parse(const struct mb_opt_spec *s, int argc, char **argv, int *first, struct mb_err *err)
{
	struct option longs[MAX_OPTS + 2] = { 0 };
	char shorts[2 * MAX_OPTS + 4] = ":h";  /* ':': a missing value is told apart */
	int n = count(s->opts), c, npos, len = 2;

	if (n > MAX_OPTS)
		return mb_errf(err, 0, "%d options: this parser takes at most %d", n, MAX_OPTS);
	for (int i = 0; i < n; i++) {
		const struct mb_opt *o = &s->opts[i];

		longs[i] = (struct option){ .name = o->name,
					    .has_arg = o->kind == MB_OPT_FLAG ? no_argument : required_argument,
					    .val = LONG_VAL + i };
		if (o->short_name) {
			shorts[len++] = o->short_name;
			if (o->kind != MB_OPT_FLAG)
				shorts[len++] = ':';
		}
	}
	longs[n] = (struct option){ .name = "help", .has_arg = no_argument, .val = HELP_VAL };
	shorts[len] = '\0';
	optind = 0;     /* glibc: start afresh, a command may parse twice in one process */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct mb_opt *o = NULL;

		if (c == HELP_VAL)
			return 1;
		if (c == ':' || c == '?') {
			char given[8];
			const char *what = argv[optind - 1];

			/* a short option inside a cluster (-qx): name that one */
			if (optopt && optopt < LONG_VAL && strncmp(what, "--", 2)) {
				snprintf(given, sizeof(given), "-%c", optopt);
				what = given;
			}
			return mb_errf(err, 0, c == ':' ? "option '%s' needs a value" : "unknown option '%s'", what);
		}
		if (c >= LONG_VAL)
			o = &s->opts[c - LONG_VAL];
		else
			for (int i = 0; i < n && !o; i++)
				if (s->opts[i].short_name == c)
					o = &s->opts[i];
		if (take(s, o, optarg, err))
			return -1;
	}
	npos = argc - optind;
	if (npos < s->min_args || (s->max_args >= 0 && npos > s->max_args)) {
		if (s->max_args == 0 || !s->args_wrong)
			return mb_errf(err, 0, "unexpected argument '%s'", argv[optind]);
		return mb_errf(err, 0, "%s", s->args_wrong);
	}
	*first = optind;
	return 0;
}

int mb_opts_fail(const char *cmd, const char *msg)
{
	fprintf(stderr, "migbench %s: %s\nRun `migbench %s --help` for the options.\n", cmd, msg, cmd);
	return MB_EXIT_USAGE;
}

int mb_opts_command(const struct mb_opt_spec *s, int argc, char **argv, int *first)
{
	struct mb_err err = { 0 };
	int rc = mb_opts_parse(s, argc, argv, first, &err);

	if (rc == 1) {
		s->usage(stdout);
		return MB_EXIT_OK;
	}
	if (rc < 0)
		return mb_opts_fail(s->cmd, err.msg);
	return -1;
}

static int left_column(const struct mb_opt *o, char *buf, size_t size)
{
	char sh[8] = "";

	if (o->short_name)
		snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
	return snprintf(buf, size, "  %s--%s%s%s", sh, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

static void print_one(FILE *out, const struct mb_opt *o, int width)
{
	char left[128];
	const char *line = o->help ? o->help : "";
	int w = left_column(o, left, sizeof(left));

	/* too wide for the column: the help starts on the next line */
	if (w > width)
		fprintf(out, "%s\n%*s", left, width + 2, "");
	else
		fprintf(out, "%-*s  ", width, left);
	for (;;) {
		const char *nl = strchr(line, '\n');

		fprintf(out, "%.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
		if (!nl)
			break;
		line = nl + 1;
		fprintf(out, "%*s", width + 2, "");
	}
}

void mb_opts_print(FILE *out, const struct mb_opt *opts)
{
	static const struct mb_opt help = { .name = "help", .short_name = 'h', .kind = MB_OPT_FLAG, .help = "this text" };
	char left[128];
	int width = left_column(&help, left, sizeof(left));

	for (const struct mb_opt *o = opts; o->name; o++) {
		int w = left_column(o, left, sizeof(left));

		if (w <= 24 && w > width)
			width = w;
	}
	for (const struct mb_opt *o = opts; o->name; o++)
		print_one(out, o, width);
	print_one(out, &help, width);
}
