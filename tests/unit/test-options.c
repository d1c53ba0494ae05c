/* bench/options.c: one table parses, checks and documents a command's options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/options.h"

static const char *out, *seed, *name;
static int quiet;
static double alpha;

static int upper_only(const struct mb_opt *o, const char *value, void *ctx, struct mb_err *err)
{
	if (strcmp(value, "UP"))
		return mb_errf(err, 0, "--%s '%s': not UP", o->name, value);
	*(const char **)ctx = value;
	return 0;
}

static const struct mb_opt table[] = {
	{ "output", 'o', MB_OPT_TEXT, "OUT", "where it goes", .text = &out },
	{ "seed", 0, MB_OPT_INT, "S", "a seed", .text = &seed, .lo = 0, .hi = 100 },
	{ "alpha", 0, MB_OPT_NUMBER, "X", "a level\nsecond line", .number = &alpha, .lo = 1e-6, .hi = 0.5 },
	{ "quiet", 'q', MB_OPT_FLAG, NULL, "say less", .flag = &quiet, .set = 7 },
	{ "name", 0, MB_OPT_CALL, "N", "only UP", .call = upper_only },
	{ 0 },
};

static int parse(struct mb_err *err, int *first, ...)
{
	static const struct mb_opt_spec spec0 = { .cmd = "t", .opts = table, .min_args = 1, .max_args = 1,
						  .args_wrong = "one thing, please" };
	struct mb_opt_spec spec = spec0;
	char *argv[16] = { "t" };
	int argc = 1;
	va_list ap;

	spec.ctx = &name;
	out = seed = name = NULL;
	quiet = 0;
	alpha = 0;
	va_start(ap, first);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	memset(err, 0, sizeof(*err));
	return mb_opts_parse(&spec, argc, argv, first, err);
}

static void parses_and_stores(void **state)
{
	struct mb_err err;
	int first = 0;

	(void)state;
	assert_int_equal(parse(&err, &first, "pos", "-o", "x", "--seed=3", "--alpha", "0.01", "-q", "--name", "UP",
			       NULL), 0);
	assert_string_equal(out, "x");
	assert_string_equal(seed, "3");
	assert_true(alpha > 0.0099 && alpha < 0.0101);
	assert_int_equal(quiet, 7);
	assert_string_equal(name, "UP");
	assert_int_equal(first, 9);     /* the positional, moved to the end */
	/* parsing twice in one process starts afresh */
	assert_int_equal(parse(&err, &first, "-qo", "y", "pos", NULL), 0);
	assert_string_equal(out, "y");
	assert_int_equal(quiet, 7);
	assert_null(seed);
	assert_int_equal(parse(&err, &first, "--help", NULL), 1);
}

static void says_what_is_wrong(void **state)
{
	struct mb_err err;
	int first;

	(void)state;
	assert_int_equal(parse(&err, &first, "--alpha", "x", "p", NULL), -1);
	assert_string_equal(err.msg, "--alpha 'x': not a number in [1e-06, 0.5]");
	assert_int_equal(parse(&err, &first, "--seed", "101", "p", NULL), -1);
	assert_string_equal(err.msg, "--seed '101': not a whole number in [0, 100]");
	assert_int_equal(parse(&err, &first, "--seed", "1.5", "p", NULL), -1);
	assert_int_equal(parse(&err, &first, "p", "-o", NULL), -1);
	assert_string_equal(err.msg, "option '-o' needs a value");
	assert_int_equal(parse(&err, &first, "p", "--output", NULL), -1);
	assert_string_equal(err.msg, "option '--output' needs a value");
	assert_int_equal(parse(&err, &first, "--nope", "p", NULL), -1);
	assert_string_equal(err.msg, "unknown option '--nope'");
	assert_int_equal(parse(&err, &first, "-qz", "p", NULL), -1);
	assert_string_equal(err.msg, "unknown option '-z'");
	assert_int_equal(parse(&err, &first, "--name", "down", "p", NULL), -1);
	assert_string_equal(err.msg, "--name 'down': not UP");
	assert_int_equal(parse(&err, &first, NULL), -1);
	assert_string_equal(err.msg, "one thing, please");
	assert_int_equal(parse(&err, &first, "a", "b", NULL), -1);
}

static void help_from_the_table(void **state)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	(void)state;
	mb_opts_print(f, table);
	fclose(f);
	assert_string_equal(text,
			    "  -o, --output OUT  where it goes\n"
			    "  --seed S          a seed\n"
			    "  --alpha X         a level\n"
			    "                    second line\n"
			    "  -q, --quiet       say less\n"
			    "  --name N          only UP\n"
			    "  -h, --help        this text\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_and_stores),
		cmocka_unit_test(says_what_is_wrong),
		cmocka_unit_test(help_from_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
