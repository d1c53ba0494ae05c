/* Plug-ins' own scenario keys (bench/scenario.h: struct mb_plugin,
 * mb_keys_build) and probe names (bench/plugins.c): what joins the one
 * namespace and what is refused at start-up, with a message that names
 * both owners. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bench/plugins.h"
#include "bench/result.h"     /* mb_result_members */
#include "bench/scenario.h"

struct opts {
	unsigned level;
	const char *label;
};

static const struct mb_key good_keys[] = {
	{ .name = "toy_level", .type = MB_TYPE_COUNT, MB_FIELD(struct opts, level, unsigned),
	  .def = "2", .min = 1, .max = 9, .help = "toy: a level" },
	{ .name = "toy_label", .type = MB_TYPE_STRING, MB_FIELD(struct opts, label, const char *),
	  .def = "x", .help = "toy: a label" },
	{ 0 },
};

static const int toy_owner, other_owner;

static struct mb_plugin toy(const struct mb_key *keys)
{
	return (struct mb_plugin){ .kind = "probe", .name = "toy", .summary = "a toy", .owner = &toy_owner,
				   .keys = keys, .options_size = sizeof(struct opts) };
}

static void expect_refusal(const struct mb_plugin *p, size_t n, const char *want)
{
	struct mb_err err = { 0 };

	assert_int_equal(mb_keys_build(p, n, &err), -1);
	assert_string_equal(err.msg, want);
	/* what is left: the global keys only */
	assert_int_equal(mb_key_count(), MB_KEY_COUNT);
	assert_null(mb_key_find("toy_level"));
}

static void a_plugin_key_joins_the_namespace(void **state)
{
	struct mb_plugin p = toy(good_keys);
	struct mb_err err = { 0 };
	struct mb_scenario_set *set;
	struct mb_campaign c;
	const struct opts *o;

	assert_int_equal(mb_keys_build(&p, 1, &err), 0);
	assert_int_equal(mb_key_count(), MB_KEY_COUNT + 2);
	assert_ptr_equal(mb_key_find("toy-level"), &good_keys[0]);
	assert_ptr_equal(mb_key_plugin(&good_keys[0])->owner, &toy_owner);
	assert_null(mb_key_plugin(&mb_keys[MB_KEY_MODE]));
	assert_ptr_equal(mb_key_suggest("toy_levl"), &good_keys[0]);

	/* a file sweeps it, an option overrides it, each run has its own value */
	set = mb_scenario_set_new(&err);
	assert_non_null(set);
	assert_int_equal(mb_scenario_parse_string(set, "t.ini", "[a]\ntoy_level=3,4\n", &err), 0);
	assert_int_equal(mb_scenario_apply_option(set, "--toy-label", "hello", &err), 0);
	assert_int_equal(mb_scenario_expand(set, &c, &err), 0);
	assert_int_equal(c.nruns, 2);
	assert_string_equal(c.runs[1].name, "a,toy_level=4");
	o = mb_run_spec_options(&c.runs[1], &toy_owner);
	assert_non_null(o);
	assert_int_equal(o->level, 4);
	assert_string_equal(o->label, "hello");
	assert_null(mb_run_spec_options(&c.runs[1], &other_owner));
	assert_string_equal(mb_run_spec_text(&c.runs[0], "toy_level"), "3");
	{
		json_t *j = mb_run_spec_to_json(&c.runs[0]);

		assert_int_equal(json_integer_value(json_object_get(j, "toy_level")), 3);
		assert_string_equal(json_string_value(json_object_get(j, "toy_label")), "hello");
		json_decref(j);
	}
	mb_campaign_free(&c);

	/* its range is checked like a global key's, the key named */
	assert_int_equal(mb_scenario_apply_option(set, "--toy_level", "10", &err), -1);
	assert_string_equal(err.msg, "option '--toy_level': '10' is above the maximum, 9");
	mb_scenario_set_free(set);
}

static void clashes_and_mistakes_are_refused(void **state)
{
	static const struct mb_key global_clash[] = {
		{ .name = "memory", .type = MB_TYPE_COUNT, MB_FIELD(struct opts, level, unsigned),
		  .def = "1", .help = "toy: memory of its own" },
		{ 0 },
	};
	static const struct mb_key no_help[] = {
		{ .name = "toy_quiet", .type = MB_TYPE_BOOL, .def = "no" },
		{ 0 },
	};
	static const struct mb_key past_end[] = {
		{ .name = "toy_far", .type = MB_TYPE_COUNT, .offset = sizeof(struct opts), .def = "1",
		  .help = "toy: stored past its struct" },
		{ 0 },
	};
	static const struct mb_key bad_default[] = {
		{ .name = "toy_level", .type = MB_TYPE_COUNT, MB_FIELD(struct opts, level, unsigned),
		  .def = "0", .min = 1, .help = "toy: a level" },
		{ 0 },
	};
	struct mb_plugin p = toy(global_clash), two[2] = { toy(good_keys), toy(good_keys) };

	expect_refusal(&p, 1, "probe 'toy': key 'memory' clashes with the key of the same name in the "
		       "global key table (bench/scenario_keys.c): scenario keys are one namespace, "
		       "rename one of them");
	two[1].name = "other";
	two[1].kind = "runner";
	expect_refusal(two, 2, "runner 'other': key 'toy_level' clashes with the key of the same name "
		       "in probe 'toy': scenario keys are one namespace, rename one of them");
	p = toy(no_help);
	expect_refusal(&p, 1, "probe 'toy': key 'toy_quiet' has no help text (`migbench run --help` "
		       "shows it)");
	p = toy(past_end);
	expect_refusal(&p, 1, "probe 'toy': key 'toy_far' is stored at offset 16, past its options "
		       "struct of 16 bytes (options_size)");
	p = toy(good_keys);
	p.options_size = 0;
	expect_refusal(&p, 1, "probe 'toy' declares keys but no options_size (the size of the struct "
		       "its keys are stored in)");
	p = toy(bad_default);
	expect_refusal(&p, 1, "probe 'toy': key 'toy_level': its default: '0' must be greater than 0");
}

static int probe_start(void **s, const struct mb_probe_ctx *c, struct mb_err *e) { return 0; }

static void probe_names_are_checked(void **state)
{
	struct mb_probe_ops a = { .name = "toy", .start = probe_start }, b = a;
	const struct mb_probe_ops *probes[] = { &a, &b, NULL };
	const struct mb_runner_ops qmp = { .name = "qmp" };
	const struct mb_runner_ops *runners[] = { &qmp, NULL };
	struct mb_err err = { 0 };

	b.name = "other";
	assert_int_equal(mb_probe_names_check(probes, runners, &err), 0);
	b.name = "toy";
	assert_int_equal(mb_probe_names_check(probes, runners, &err), -1);
	assert_string_equal(err.msg, "probe 'toy' is registered twice (or two probes have that name, "
			    "entries 1 and 2 of the registry): their outputs would share one member of "
			    "the result");
	b.name = "metrics";
	assert_int_equal(mb_probe_names_check(probes, runners, &err), -1);
	assert_string_equal(err.msg, "probe 'metrics': its name is a member the result has of its own "
			    "('metrics'): its output would replace it, rename the probe");
	for (size_t i = 0; mb_result_members[i]; i++) {
		b.name = mb_result_members[i];
		assert_int_equal(mb_probe_names_check(probes, runners, &err), -1);
	}
	b.name = "qmp_reported";
	assert_int_equal(mb_probe_names_check(probes, runners, &err), -1);
	assert_string_equal(err.msg, "probe 'qmp_reported': its name is where the runner 'qmp' reports "
			    "in the result: rename the probe");
	b.name = "";
	assert_int_equal(mb_probe_names_check(probes, runners, &err), -1);
	assert_string_equal(err.msg, "probe 2 of the registry has no name (its output goes into the "
			    "result under it)");
}

/* migbench's own registry passes, and brings the keys moved into plug-ins. */
static void the_registered_plugins_pass(void **state)
{
	const struct mb_plugin *list;
	struct mb_err err = { 0 };
	size_t n;

	assert_int_equal(mb_plugins_list(&list, &n, &err), 0);
	assert_int_equal(mb_keys_build(list, n, &err), 0);
	assert_non_null(mb_key_find("counter_events"));
	assert_string_equal(mb_key_plugin(mb_key_find("counter_events"))->name, "counters");
	assert_string_equal(mb_key_plugin(mb_key_find("cpuset_probes"))->name, "placement");
	assert_int_equal(mb_keys_init(&err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_plugin_key_joins_the_namespace),
		cmocka_unit_test(clashes_and_mistakes_are_refused),
		cmocka_unit_test(probe_names_are_checked),
		cmocka_unit_test(the_registered_plugins_pass),
	};

	return cmocka_run_group_tests_name("plugins", tests, NULL, NULL);
}
