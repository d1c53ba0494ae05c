/* Adding a probe is one new file plus one registry line: migbench-plugin is
 * migbench built from the same library with tests/plugin/probe_example.c and
 * tests/plugin/registry.c (probes/registry.c plus `&mb_probe_example,`,
 * made by make), and nothing else changed. Its key, help, range, output and
 * headline metric must then be everywhere migbench's own are:
 *   - `run --help` lists example_factor under the probe's name with its help
 *     text and range, and `run --list-keys --json` has it with its plug-in;
 *   - a bad value is refused before anything runs, naming the key, on the
 *     command line and in a scenario file (with file and line);
 *   - a sweep of it expands (--dry-run names the scenarios by it);
 *   - a real migration's result has it in `scenario`, the probe's output
 *     under "example" (given the parsed value through its ctx) and its
 *     metric in `metrics`.
 * The migration skips, saying why, without QEMU or a guest image. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/error.h"

#include "harness.h"

#define WORK_PREFIX "/tmp/mb-test-plugin-"
#define DEADLINE_S 300

static char skip_reason[MB_ERR_MAX + 128];
static char work[PATH_MAX];
static struct mbt_campaign run_c;

/* migbench-plugin ARGS...: its exit status, stdout and stderr (freed by the caller). */
static int plugin(const char *const *args, char **out, char **err)
{
	const char *argv[32] = { MB_PLUGIN_BIN };
	char out_log[PATH_MAX + 16], err_log[PATH_MAX + 16];
	size_t n = 1;
	pid_t pid;
	int status;

	for (; args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	snprintf(out_log, sizeof(out_log), "%s/out.log", work);
	snprintf(err_log, sizeof(err_log), "%s/err.log", work);
	assert_int_equal(mbt_spawn(argv, out_log, err_log, &pid), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*out = mbt_read_text(out_log);
	*err = mbt_read_text(err_log);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void help_lists_the_key_under_the_probe(void **state)
{
	static const char *const args[] = { "run", "--help", NULL };
	char *out, *err;
	const char *heading, *line;

	assert_int_equal(plugin(args, &out, &err), 0);
	heading = strstr(out, "The probe 'example' (a throw-away probe of the plug-in test) has keys of its own:\n");
	line = strstr(out, "  example_factor=3 ");
	if (!heading || !line || line < heading)
		fail_msg("run --help lacks the example probe's key under its name:\n%s", out);
	assert_non_null(strstr(line, "example probe: multiplies the downtime it reports (a test of "
				     "plug-in keys) [1..100]\n"));
	/* migbench's own probes' keys are still there */
	assert_non_null(strstr(out, "  counter_events="));
	free(out);
	free(err);
}

static void list_keys_names_the_plugin(void **state)
{
	static const char *const args[] = { "run", "--list-keys", "--json", NULL };
	char *out, *err;
	json_t *keys, *k;
	size_t i;
	int found = 0;

	assert_int_equal(plugin(args, &out, &err), 0);
	keys = json_loads(out, 0, NULL);
	assert_true(json_is_array(keys));
	json_array_foreach(keys, i, k) {
		if (strcmp(json_string_value(json_object_get(k, "name")), "example_factor"))
			continue;
		found = 1;
		assert_string_equal(json_string_value(json_object_get(k, "plugin")), "example");
		assert_string_equal(json_string_value(json_object_get(k, "kind")), "probe");
		assert_string_equal(json_string_value(json_object_get(k, "type")), "count");
		assert_string_equal(json_string_value(json_object_get(k, "default")), "3");
		assert_string_equal(json_string_value(json_object_get(k, "max")), "100");
	}
	assert_true(found);
	json_decref(keys);
	free(out);
	free(err);
}

static void bad_value_is_refused_naming_the_key(void **state)
{
	static const char *const args[] = { "run", "--dry-run", "--example-factor=101", NULL };
	char ini[PATH_MAX + 16], *out, *err;
	const char *file_args[] = { "run", "--dry-run", ini, NULL };
	FILE *f;

	assert_int_equal(plugin(args, &out, &err), 2);
	assert_string_equal(err, "migbench run: option '--example-factor': '101' is above the maximum, 100\n");
	free(out);
	free(err);

	snprintf(ini, sizeof(ini), "%s/bad.ini", work);
	assert_non_null(f = fopen(ini, "w"));
	fputs("[s]\nmode=precopy\nexample_factor=zero\n", f);
	fclose(f);
	assert_int_equal(plugin(file_args, &out, &err), 2);
	if (!strstr(err, "bad.ini:3: key 'example_factor': 'zero' is not a whole number"))
		fail_msg("unexpected: %s", err);
	free(out);
	free(err);
}

static void a_sweep_of_it_expands(void **state)
{
	static const char *const args[] = { "run", "--dry-run", "--example_factor=2,5", NULL };
	char *out, *err;

	assert_int_equal(plugin(args, &out, &err), 0);
	if (!strstr(out, "default,example_factor=2") || !strstr(out, "default,example_factor=5"))
		fail_msg("no sweep of example_factor in:\n%s", out);
	free(out);
	free(err);
}

static void result_has_its_key_output_and_metric(void **state)
{
	static const char *const args[] = { "--mode=precopy", "--example_factor=7", NULL };
	const struct mbt_run r = { .work_template = WORK_PREFIX "w-XXXXXX", .name = "plugin", .args = args,
				   .deadline_s = DEADLINE_S, .check_leftovers = 1 };
	const json_t *doc;
	double downtime, scaled;

	mbt_skip_if(skip_reason);
	mbt_run_campaign(&run_c, &r);
	if (json_array_size(json_object_get(run_c.manifest, "runs")) != 1)
		fail_msg("no result in %s (exit status %d): %.2047s", run_c.path, run_c.status, run_c.err);
	doc = json_object_iter_value(json_object_iter(run_c.files));
	if (strcmp(mbt_str(doc, "run.status"), "completed"))
		fail_msg("run %s: %s", mbt_str(doc, "run.status"), mbt_str(doc, "run.error"));
	assert_int_equal(mbt_int(doc, "scenario.example_factor"), 7);
	assert_true(json_is_true(mbt_get(doc, "example.available")));
	assert_int_equal(mbt_int(doc, "example.factor"), 7);             /* its options, through ctx */
	assert_true(json_is_true(mbt_get(doc, "example.stopped")));
	assert_int_equal(mbt_int(doc, "metrics.example_factor_seen"), 7);
	downtime = mbt_num(doc, "metrics.downtime_ms");
	scaled = mbt_num(doc, "metrics.example_downtime_scaled_ms");
	print_message("# downtime %.3f ms, the example probe's x7: %.3f ms\n", downtime, scaled);
	/* its clock is the run's (QEMU's event timestamps) */
	assert_true(scaled > 6.9 * downtime && scaled < 7.1 * downtime);
	/* the run's own metrics and probes are all still there */
	assert_non_null(mbt_get(doc, "counters"));
	assert_non_null(mbt_get(doc, "placement"));
	if (run_c.leftover[0])
		fail_msg("%s", run_c.leftover);
}

static int group_setup(void **state)
{
	/* not in the runtime dir, where anything is a leftover */
	snprintf(work, sizeof(work), WORK_PREFIX "logs-XXXXXX");
	if (!mkdtemp(work))
		return -1;
	/* The harness runs $MIGBENCH_BIN: here, the binary with the extra probe. */
	setenv("MIGBENCH_BIN", MB_PLUGIN_BIN, 1);
	return mbt_group_setup(WORK_PREFIX "XXXXXX", skip_reason, sizeof(skip_reason), NULL, 0);
}

static int group_teardown(void **state)
{
	mbt_campaign_free(&run_c, WORK_PREFIX);
	mbt_remove_tree(work, WORK_PREFIX);
	return mbt_group_teardown(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(help_lists_the_key_under_the_probe),
		cmocka_unit_test(list_keys_names_the_plugin),
		cmocka_unit_test(bad_value_is_refused_naming_the_key),
		cmocka_unit_test(a_sweep_of_it_expands),
		cmocka_unit_test(result_has_its_key_output_and_metric),
	};

	return cmocka_run_group_tests_name("plugin", tests, group_setup, group_teardown);
}
