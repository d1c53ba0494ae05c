/* The energy, counters, placement and topology probes on one real
 * post-copy migration: `$MIGBENCH_BIN run --mode=postcopy --rate=48M`
 * (48 MiB/s of dirtying leaves more after the first pass than the stop
 * threshold, so the switch to post-copy really happens), then assertions on
 * its result file:
 *   - `counters`: software counters (task-clock, page-faults,
 *     context-switches, cpu-migrations) and CPU time for every phase, for
 *     both QEMUs; the source's migration thread found by name; the
 *     destination faulting while post-copy pages arrive; hardware counters
 *     either counted or unavailable with a reason;
 *   - `energy`: what `migbench doctor` predicts for this host (here: no
 *     RAPL, so available false with a reason);
 *   - `placement` (nothing bound) and `host.topology` with the campaign's
 *     topology.xml beside the results.
 * The campaign runs in a mkdtemp folder with a private $XDG_RUNTIME_DIR;
 * afterwards no QEMU, run directory or temporary file may be left.
 *
 * Skips, saying why, without $MIGBENCH_BIN, QEMU, a guest image or
 * userfaultfd. */
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
#include <unistd.h>

#include <jansson.h>

#include "bench/host_probe.h"
#include "probes/counters_series.h"
#include "workloads/image/image.h"

#include "harness.h"

#define DEADLINE_S 300

#define WORK_PREFIX "/tmp/mb-test-probes-"

static char skip_reason[MB_ERR_MAX + 128];
static struct mbt_campaign probes_c;
static int tried;
static json_t *doc;             /* the run's result (in probes_c.files) */

static void skip_if_cannot(void)
{
	mbt_skip_if(skip_reason);
}

/* ---- the one migration ---------------------------------------------------------- */

static void run_once(void)
{
	static const char *const args[] = { "--mode=postcopy", "--rate=48M", NULL };
	const struct mbt_run r = { .work_template = WORK_PREFIX "w-XXXXXX", .name = "probes", .args = args,
				   .deadline_s = DEADLINE_S };

	if (tried)
		return;
	tried = 1;
	mbt_run_campaign(&probes_c, &r);
	if (json_array_size(json_object_get(probes_c.manifest, "runs")) == 1)
		doc = json_object_iter_value(json_object_iter(probes_c.files));
	if (!doc)
		fail_msg("no result file in %s (exit status %d): %.2047s", probes_c.path, probes_c.status,
			 probes_c.err);
}

/* ---- the tests ----------------------------------------------------------------------- */

static void migration_completed_in_postcopy(void **state)
{
	skip_if_cannot();
	run_once();
	if (strcmp(json_string_value(mbt_get(doc, "run.status")), "completed"))
		fail_msg("run %s: %s", json_string_value(mbt_get(doc, "run.status")),
			 json_string_value(json_object_get(mbt_get(doc, "run"), "error")));
	assert_string_equal(json_string_value(mbt_get(doc, "run.completed_as")), "postcopy");
}

static void software_counters_per_phase_both_sides(void **state)
{
	static const char *const events[] = { "task-clock", "page-faults", "context-switches", "cpu-migrations" };
	const json_t *c;

	skip_if_cannot();
	run_once();
	c = mbt_get(doc, "counters");
	assert_true(json_is_true(mbt_get(c, "available")));
	if (!json_is_true(mbt_get(c, "software.available")))
		fail_msg("software counters unavailable: %s", json_string_value(mbt_get(c, "software.reason")));
	for (int side = 0; side < 2; side++) {
		const json_t *s = mbt_get(c, side ? "destination" : "source");

		assert_true(mbt_int(s, "pid") > 0);
		assert_true(mbt_int(s, "threads_seen") >= 2);
		for (int p = 0; p < MB_PHASE_COUNT; p++) {
			char path[128];

			for (size_t e = 0; e < 4; e++) {
				snprintf(path, sizeof(path), "process.%s.%s", mb_phase_names[p], events[e]);
				assert_true(mbt_int(s, path) >= 0);
			}
			snprintf(path, sizeof(path), "process.%s.cpu_user_ms", mb_phase_names[p]);
			assert_true(mbt_num(s, path) >= 0);
		}
		/* both QEMUs ran for the whole migration */
		assert_true(mbt_int(s, "process.migration.task-clock") > 0);
		/* vCPU thread ids came from query-cpus-fast */
		assert_int_equal(mbt_int(s, "vcpu_threads_known"), 1);
		assert_int_equal(mbt_int(s, "roles.vcpu.threads"), 1);
	}
	print_message("# source process: task-clock %.1f ms in pre-copy, %.1f ms in post-copy\n",
		      (double)mbt_int(c, "source.process.precopy.task-clock") / 1e6,
		      (double)mbt_int(c, "source.process.postcopy.task-clock") / 1e6);
}

static void postcopy_destination_faults_while_pages_arrive(void **state)
{
	const json_t *d, *s;

	skip_if_cannot();
	run_once();
	d = mbt_get(doc, "counters.destination");
	s = mbt_get(doc, "counters.source");
	print_message("# destination page faults: before %lld, pre-copy %lld, downtime %lld, post-copy %lld "
		      "(vCPU %lld), post-copy %.1f ms\n",
		      (long long)mbt_int(d, "process.before.page-faults"),
		      (long long)mbt_int(d, "process.precopy.page-faults"),
		      (long long)mbt_int(d, "process.downtime.page-faults"),
		      (long long)mbt_int(d, "process.postcopy.page-faults"),
		      (long long)mbt_int(d, "roles.vcpu.phases.postcopy.page-faults"),
		      mbt_num(doc, "counters.windows.postcopy.duration_ms"));
	assert_true(mbt_num(doc, "counters.windows.postcopy.duration_ms") > 0);
	assert_true(mbt_int(d, "process.postcopy.page-faults") > 0);

	/* the source's migration thread, by its QEMU name */
	assert_int_equal(mbt_int(s, "roles.migration.threads"), 1);
	print_message("# source migration thread: CPU %.0f ms user + %.0f ms system over the migration, "
		      "task-clock %.1f ms; destination migration helpers: %lld thread(s)\n",
		      mbt_num(s, "roles.migration.phases.migration.cpu_user_ms"),
		      mbt_num(s, "roles.migration.phases.migration.cpu_system_ms"),
		      (double)mbt_int(s, "roles.migration.phases.migration.task-clock") / 1e6,
		      json_is_null(mbt_get(d, "roles.migration-helper")) ? 0LL
			      : (long long)mbt_int(d, "roles.migration-helper.threads"));
	assert_true(mbt_int(s, "roles.migration.phases.migration.task-clock") > 0);
}

static void hardware_counters_counted_or_explained(void **state)
{
	const json_t *hw;

	skip_if_cannot();
	run_once();
	hw = mbt_get(doc, "counters.hardware");
	if (json_is_true(mbt_get(hw, "available"))) {
		assert_true(mbt_int(doc, "counters.source.process.migration.instructions") > 0);
	} else {
		print_message("# hardware counters: %s\n", json_string_value(mbt_get(hw, "reason")));
		assert_true(strlen(json_string_value(mbt_get(hw, "reason"))) > 0);
		/* none is reported as a number */
		assert_null(json_object_get(mbt_get(doc, "counters.source.process.migration"), "cycles"));
	}
}

static void energy_as_doctor_predicts(void **state)
{
	struct mb_host_roots roots;
	struct mb_host_rapl rapl;
	const json_t *e;

	skip_if_cannot();
	run_once();
	mb_host_roots_from_env(&roots);
	mb_probe_rapl(&roots, true, &rapl);
	e = mbt_get(doc, "energy");
	if (rapl.source == MB_RAPL_NONE) {
		assert_true(json_is_false(mbt_get(e, "available")));
		print_message("# energy: %s\n", json_string_value(mbt_get(e, "reason")));
		assert_non_null(strstr(json_string_value(mbt_get(e, "reason")), "powercap: "));
	} else {
		assert_true(json_is_true(mbt_get(e, "available")));
		assert_string_equal(json_string_value(mbt_get(e, "source")), mb_rapl_source_name(rapl.source));
		assert_true(mbt_num(e, "host.phases.migration.joules") > 0);
		print_message("# energy (%s): %.2f J over the migration, %.2f J above idle\n",
			      mb_rapl_source_name(rapl.source), mbt_num(e, "host.phases.migration.joules"),
			      mbt_num(e, "host.phases.migration.joules_above_idle"));
	}
}

static void topology_and_placement(void **state)
{
	char xml[PATH_MAX + 32];
	const json_t *t;

	skip_if_cannot();
	run_once();
	assert_true(json_is_false(mbt_get(doc, "placement.bound")));
	t = mbt_get(doc, "host.topology");
#ifdef HAVE_HWLOC
	assert_true(json_is_true(mbt_get(t, "available")));
	assert_true(mbt_int(t, "pus") >= 1);
	assert_true(mbt_int(t, "cores") >= 1);
	assert_true(mbt_int(t, "packages") >= 1);
	assert_string_equal(json_string_value(mbt_get(t, "xml")), "topology.xml");
	snprintf(xml, sizeof(xml), "%s/topology.xml", probes_c.path);
	assert_int_equal(access(xml, R_OK), 0);
	print_message("# topology: %lld package(s), %lld core(s), %lld PU(s), %lld NUMA node(s)\n",
		      (long long)mbt_int(t, "packages"), (long long)mbt_int(t, "cores"),
		      (long long)mbt_int(t, "pus"), (long long)mbt_int(t, "numa_nodes"));
#else
	(void)xml;
	assert_true(json_is_false(mbt_get(t, "available")));
#endif
}

static void nothing_left(void **state)
{
	char why[PATH_MAX + 8192] = "";

	skip_if_cannot();
	run_once();
	mbt_leftovers(0, probes_c.path, NULL, why, sizeof(why));
	if (why[0])
		fail_msg("%s", why);
}

static int group_setup(void **state)
{
	struct mb_image_opts opts = { 0 };
	struct mb_image image;
	struct mb_err err = { 0 };
	char postcopy_skip[MB_ERR_MAX + 128] = "";

	if (mbt_runtime_dir_init(WORK_PREFIX "XXXXXX"))
		return -1;
	unsetenv("MIGBENCH_SYSFS_ROOT");
	mbt_check_postcopy(postcopy_skip, sizeof(postcopy_skip));

	if (mbt_check_migbench(skip_reason, sizeof(skip_reason)))
		;
	else if (postcopy_skip[0])
		snprintf(skip_reason, sizeof(skip_reason), "%s", postcopy_skip);
	else if (mb_image_ensure(&opts, &image, &err))
		snprintf(skip_reason, sizeof(skip_reason), "no guest image: %s", err.msg);
	return 0;
}

static int group_teardown(void **state)
{
	char why[PATH_MAX + 8192] = "";

	mbt_leftovers(0, NULL, NULL, why, sizeof(why));
	mbt_campaign_free(&probes_c, WORK_PREFIX);
	doc = NULL;
	mbt_remove_tree(mbt_runtime_dir, WORK_PREFIX);
	if (why[0])
		print_error("%s\n", why);
	return why[0] ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(migration_completed_in_postcopy),
		cmocka_unit_test(software_counters_per_phase_both_sides),
		cmocka_unit_test(postcopy_destination_faults_while_pages_arrive),
		cmocka_unit_test(hardware_counters_counted_or_explained),
		cmocka_unit_test(energy_as_doctor_predicts),
		cmocka_unit_test(topology_and_placement),
		cmocka_unit_test(nothing_left),
	};

	return cmocka_run_group_tests_name("probes", tests, group_setup, group_teardown);
}
