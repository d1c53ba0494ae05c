/* The campaign folder and its manifest (bench/campaign_dir.c): names that
 * stay inside OUT, a manifest from the first moment, runs recorded and
 * replaced, and the rules of --resume (never a finished campaign, never one
 * whose migbench still runs). */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/campaign_dir.h"
#include "bench/owner.h"
#include "bench/result.h"
#include "bench/scenario.h"

static char out_dir[PATH_MAX];

static void expand(const char *text, struct mb_campaign *c)
{
	struct mb_err err = { 0 };
	struct mb_scenario_set *set = mb_scenario_set_new(&err);

	assert_non_null(set);
	if (mb_scenario_parse_string(set, "t.ini", text, &err) || mb_scenario_expand(set, c, &err))
		fail_msg("%s", err.msg);
	mb_scenario_set_free(set);
}

static json_t *manifest(const char *campaign)
{
	char path[PATH_MAX + 32];
	json_t *m;

	snprintf(path, sizeof(path), "%s/campaign.json", campaign);
	m = json_load_file(path, 0, NULL);
	assert_non_null(m);
	return m;
}

static json_t *result_with_status(const char *status)
{
	return json_pack("{s:{s:s}}", "run", "status", status);
}

static void names_stay_inside_out(void **state)
{
	static const char *const bad[] = { "../escaped", "a/b", ".", "..", "", NULL };
	struct mb_campaign_dir c;
	struct mb_err err = { 0 };
	char escaped[PATH_MAX + 16];

	for (size_t i = 0; bad[i]; i++) {
		assert_int_equal(mb_campaign_dir_create(out_dir, bad[i], NULL, NULL, 1, &c, &err), -1);
		print_message("# '%s': %s\n", bad[i], err.msg);
		assert_non_null(strstr(err.msg, "one folder name"));
	}
	snprintf(escaped, sizeof(escaped), "%s/../escaped", out_dir);
	assert_int_equal(access(escaped, F_OK), -1);
	/* the same check on its own, for the command line before anything runs */
	assert_int_equal(mb_campaign_name_check("../x", &err), -1);
	assert_non_null(strstr(err.msg, "campaign name '../x': must be one folder name"));
	assert_int_equal(mb_campaign_name_check("..x", &err), 0);
	assert_int_equal(mb_campaign_name_check("run-1", &err), 0);
}

static void manifest_from_the_first_moment(void **state)
{
	struct mb_campaign campaign = { 0 };
	struct mb_campaign_dir c;
	struct mb_err err = { 0 };
	struct mb_owner owner;
	json_t *m, *doc;
	char path[PATH_MAX + 64];

	expand("[a]\nrepetitions=2\n", &campaign);
	json_t *inputs = json_pack("{s:[], s:[]}", "files", "options");

	if (mb_campaign_dir_create(out_dir, "first", NULL, inputs, campaign.nruns, &c, &err))
		fail_msg("%s", err.msg);
	json_decref(inputs); /* borrowed: the manifest keeps its own reference */
	/* Before any run: running, owned by us, nothing under way. */
	m = manifest(c.path);
	assert_string_equal(json_string_value(json_object_get(m, "state")), "running");
	assert_int_equal(json_integer_value(json_object_get(m, "planned_runs")), 2);
	assert_true(json_is_null(json_object_get(m, "in_progress")));
	assert_int_equal(mb_owner_parse(json_string_value(json_object_get(json_object_get(m, "owner"), "id")),
					&owner), 0);
	assert_int_equal(owner.pid, getpid());
	assert_true(mb_owner_alive(&owner));
	json_decref(m);

	/* A run under way is in the manifest before its result exists. */
	assert_int_equal(mb_campaign_dir_begin(&c, &campaign.runs[0], &err), 0);
	m = manifest(c.path);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "in_progress"), "repetition")), 1);
	json_decref(m);

	/* A cancelled result is replaced by the run that finishes it. */
	doc = result_with_status("cancelled");
	assert_int_equal(mb_campaign_dir_add(&c, &campaign.runs[0], doc, &err), 0);
	json_decref(doc);
	assert_null(mb_campaign_dir_kept_status(&c, &campaign.runs[0]));
	doc = result_with_status("completed");
	assert_int_equal(mb_campaign_dir_add(&c, &campaign.runs[0], doc, &err), 0);
	json_decref(doc);
	assert_string_equal(mb_campaign_dir_kept_status(&c, &campaign.runs[0]), "completed");
	assert_null(mb_campaign_dir_kept_status(&c, &campaign.runs[1]));
	m = manifest(c.path);
	assert_int_equal(json_array_size(json_object_get(m, "runs")), 1);
	assert_true(json_is_null(json_object_get(m, "in_progress")));
	json_decref(m);
	snprintf(path, sizeof(path), "%s/a/1.json", c.path);
	assert_int_equal(access(path, R_OK), 0);

	/* Ours, and still running: --resume refuses it. */
	{
		struct mb_campaign_dir again;

		assert_int_equal(mb_campaign_dir_open(c.path, &again, &err), -1);
		assert_int_equal(err.errnum, EBUSY);
	}
	assert_int_equal(mb_campaign_dir_close(&c, "interrupted", &err), 0);
	m = manifest(c.path);
	assert_string_equal(json_string_value(json_object_get(m, "state")), "interrupted");
	json_decref(m);
	mb_campaign_free(&campaign);
}

/* A manifest left "running" by a migbench that is gone is resumable; a
 * finished one is not. The owner is a child that has exited: its PID may
 * even be reused later, its start time will not match. */
static void resume_rules(void **state)
{
	struct mb_campaign_dir c;
	struct mb_err err = { 0 };
	struct mb_owner dead;
	char id[MB_OWNER_TEXT], path[PATH_MAX + 64], folder[4096];
	json_t *m;
	pid_t child;
	int st;

	json_t *inputs = json_pack("{s:[], s:[]}", "files", "options");

	if (mb_campaign_dir_create(out_dir, "resumable", NULL, inputs, 1, &c, &err))
		fail_msg("%s", err.msg);
	json_decref(inputs);
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_true(child > 0);
	assert_int_equal(mb_owner_of(child, &dead, &err), 0);
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	assert_false(mb_owner_alive(&dead));
	mb_owner_format(&dead, id, sizeof(id));
	json_object_set_new(json_object_get(c.manifest, "owner"), "id", json_string(id));
	snprintf(path, sizeof(path), "%s/campaign.json", c.path);
	assert_int_equal(json_dump_file(c.manifest, path, 0), 0);
	json_decref(c.manifest);
	c.manifest = NULL;

	snprintf(folder, sizeof(folder), "%s", c.path);
	assert_int_equal(mb_campaign_dir_open(folder, &c, &err), 0);
	m = manifest(folder);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "owner"), "pid")), getpid());
	json_decref(m);
	assert_int_equal(mb_campaign_dir_close(&c, "finished", &err), 0);
	assert_int_equal(mb_campaign_dir_open(folder, &c, &err), -1);
	assert_non_null(strstr(err.msg, "finished"));
}

static int setup(void **state)
{
	snprintf(out_dir, sizeof(out_dir), "/tmp/mb-test-campaign-dir-XXXXXX");
	return mkdtemp(out_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 32];

	/* Only the folder mkdtemp made. */
	if (!strncmp(out_dir, "/tmp/mb-test-campaign-dir-", 26)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", out_dir);
		return system(cmd) == 0 ? 0 : -1;
	}
	return -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_stay_inside_out),
		cmocka_unit_test(manifest_from_the_first_moment),
		cmocka_unit_test(resume_rules),
	};

	return cmocka_run_group_tests_name("campaign-dir", tests, setup, teardown);
}
