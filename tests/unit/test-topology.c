/* Topology and placement (probes/topology.h): the cpuset syntax of the
 * cpuset_* keys, hwloc's summary and XML of this host, and the placement
 * probe binding a child process (standing in for a QEMU) and this process
 * (the probes), then giving this process the whole machine back. Without
 * hwloc: that each part says so. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/metrics.h"
#include "bench/scenario.h"
#include "probes/topology.h"

static void summary_of_this_host(void **state)
{
	json_t *t = mb_topology_summary();

#ifdef HAVE_HWLOC
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	assert_true(json_is_true(json_object_get(t, "available")));
	assert_true(json_integer_value(json_object_get(t, "packages")) >= 1);
	assert_true(json_integer_value(json_object_get(t, "cores")) >= 1);
	/* hwloc sees the PUs this process may use; sysconf all online ones */
	assert_true(json_integer_value(json_object_get(t, "pus")) >= 1);
	assert_true(json_integer_value(json_object_get(t, "pus")) <= online);
	assert_true(json_integer_value(json_object_get(t, "numa_nodes")) >= 1);
	assert_true(json_is_array(json_object_get(t, "caches")));
	assert_non_null(strstr(json_string_value(json_object_get(t, "source")), "hwloc"));
#else
	assert_true(json_is_false(json_object_get(t, "available")));
	assert_non_null(strstr(json_string_value(json_object_get(t, "reason")), "without hwloc"));
#endif
	json_decref(t);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void xml_saved_once(void **state)
{
	char dir[] = "/tmp/mb-test-topology-XXXXXX", path[PATH_MAX];
	struct mb_err err = {0};
	FILE *f;
	char head[64] = "";

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/topology.xml", dir);
#ifdef HAVE_HWLOC
	assert_int_equal(mb_topology_save_xml(dir, &err), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(head, sizeof(head), f));
	fclose(f);
	assert_non_null(strstr(head, "<?xml"));
	/* once: an existing file is not replaced */
	assert_int_equal(mb_topology_save_xml(dir, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
#else
	(void)f;
	(void)head;
	assert_int_equal(mb_topology_save_xml(dir, &err), -1);
#endif
	nftw(dir, remove_entry, 4, FTW_DEPTH | FTW_PHYS);
}

static json_t *place(const char *src, const char *dst, const char *probes, pid_t child)
{
	struct mb_run_spec spec = {0};
	/* The probe's own options, as the scenario parser gives them. */
	struct mb_placement_options opts = { .cpuset_src = src, .cpuset_dst = dst, .cpuset_probes = probes };
	struct mb_probe_ctx ctx = { .spec = &spec, .options = &opts };
	struct mb_mig_times times = {0};
	struct mb_err err = {0};
	void *st = NULL;
	json_t *o;

	ctx.side[MB_SIDE_SOURCE] = (struct mb_probe_side){ .role = "source", .host = "localhost", .local = 1, .pid = child };
	ctx.side[MB_SIDE_DESTINATION] = ctx.side[MB_SIDE_SOURCE];
	ctx.side[MB_SIDE_DESTINATION].role = "destination";
	assert_int_equal(mb_probe_placement.start(&st, &ctx, &err), 0);
	assert_int_equal(mb_probe_placement.stop(st, &err), 0);
	o = mb_probe_placement.to_json(st, &times);
	mb_probe_placement.free(st);
	return o;
}

static void placement_binds_and_restores(void **state)
{
	cpu_set_t all, got;
	pid_t child;
	json_t *o;
	int last = -1;

	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all))
			last = c;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		for (;;)
			pause();
	}

	o = place("", "", "", child);
	assert_true(json_is_false(json_object_get(o, "bound")));
	json_decref(o);

#ifdef HAVE_HWLOC
	{
		char mine[16];

		/* the "destination" on the last CPU, the probes on the first */
		snprintf(mine, sizeof(mine), "%d", last);
		o = place("", mine, "0", child);
		assert_true(json_is_true(json_object_get(o, "bound")));
		assert_true(json_is_true(json_object_get(json_object_get(o, "destination"), "applied")));
		assert_string_equal(json_string_value(json_object_get(json_object_get(o, "destination"), "bound_to")), mine);
		assert_true(json_is_null(json_object_get(o, "source")));
		json_decref(o);
		assert_int_equal(sched_getaffinity(child, sizeof(got), &got), 0);
		assert_int_equal(CPU_COUNT(&got), 1);
		assert_true(CPU_ISSET(last, &got));
		assert_int_equal(sched_getaffinity(0, sizeof(got), &got), 0);
		assert_int_equal(CPU_COUNT(&got), 1);
		assert_true(CPU_ISSET(0, &got));

		/* not a CPU list, and CPUs the host lacks: said, nothing bound */
		o = place("core:1", "1000", "", child);
		assert_true(json_is_false(json_object_get(json_object_get(o, "source"), "applied")));
		assert_non_null(strstr(json_string_value(json_object_get(json_object_get(o, "source"), "reason")),
				       "not a CPU list"));
		assert_non_null(strstr(json_string_value(json_object_get(json_object_get(o, "destination"), "reason")),
				       "does not offer"));
		json_decref(o);

		/* the next scenario binds nothing: this process gets all back */
		o = place("", "", "", child);
		json_decref(o);
		assert_int_equal(sched_getaffinity(0, sizeof(got), &got), 0);
		assert_true(CPU_EQUAL(&got, &all));
	}
#else
	(void)last;
	(void)got;
	o = place("0", "", "", child);
	assert_non_null(strstr(json_string_value(json_object_get(o, "reason")), "without hwloc"));
	json_decref(o);
#endif
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	sched_setaffinity(0, sizeof(all), &all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(summary_of_this_host),
		cmocka_unit_test(xml_saved_once),
		cmocka_unit_test(placement_binds_and_restores),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
