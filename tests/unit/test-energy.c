/* The energy probe on fixture trees (tests/fixtures/sysfs/energy-*): zone
 * discovery and naming, the powercap reader's arithmetic (one package, two
 * packages with DRAM, a counter that wraps between two readings, a file it
 * may not read), the perf power PMU's sysfs description (type, cpumask,
 * .scale, .unit), and the per-phase report with its idle baseline. Every
 * figure is checked for equality: µJ counts divided by 1e6 and phase
 * boundaries on sample instants leave nothing to round.
 *
 * A fixture that a test changes (the counter advancing) is copied into a
 * mkdtemp folder first, and removed again. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probes/energy.h"

#define S_US INT64_C(1000000)

static double num(const json_t *o, const char *a, const char *b, const char *c);

static char fixtures[PATH_MAX];

static void fixture_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/sysfs/%s", fixtures, name);
}

/* ---- a writable copy of a fixture ---------------------------------------- */

static char copy_src[PATH_MAX], copy_dst[PATH_MAX];

static int copy_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char to[PATH_MAX * 2], buf[4096];
	ssize_t n;
	int in, out;

	snprintf(to, sizeof(to), "%s%s", copy_dst, path + strlen(copy_src));
	if (flag == FTW_D)
		return mkdir(to, 0755) && errno != EEXIST ? -1 : 0;
	if (flag != FTW_F)
		return 0;
	in = open(path, O_RDONLY);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	close(out);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

struct tree {
	char root[PATH_MAX];
};

static void tree_copy(struct tree *t, const char *fixture)
{
	snprintf(t->root, sizeof(t->root), "/tmp/mb-test-energy-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	fixture_path(copy_src, sizeof(copy_src), fixture);
	snprintf(copy_dst, sizeof(copy_dst), "%s", t->root);
	assert_int_equal(nftw(copy_src, copy_entry, 16, FTW_PHYS), 0);
}

static void tree_remove(struct tree *t)
{
	if (!strncmp(t->root, "/tmp/mb-test-energy-", 20))
		nftw(t->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void set_counter(const struct tree *t, const char *zone, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/class/powercap/%s/energy_uj", t->root, zone);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", text);
	assert_int_equal(fclose(f), 0);
}

static const struct mb_energy_domain *domain(const struct mb_energy_dev *dev, const char *name)
{
	for (size_t i = 0; i < dev->n; i++)
		if (!strcmp(dev->d[i].name, name))
			return &dev->d[i];
	fail_msg("no domain %s", name);
	return NULL;
}

/* ---- arithmetic ------------------------------------------------------------ */

static void delta_plain_and_wrapped(void **state)
{
	assert_int_equal(mb_energy_delta(1000, 3500, 262143328850), 2500);
	assert_int_equal(mb_energy_delta(7, 7, 100), 0);
	/* climbed to the range's end, restarted from 0 */
	assert_int_equal(mb_energy_delta(262143000000, 500000, 262143328850), 328850 + 500000);
	assert_int_equal(mb_energy_delta(90, 0, 100), 10);
	/* range unknown: only what was counted since the restart */
	assert_int_equal(mb_energy_delta(90, 5, 0), 5);
}

/* ---- powercap ---------------------------------------------------------------- */

static void powercap_one_package(void **state)
{
	struct tree t;
	struct mb_energy_dev *dev;
	const struct mb_energy_domain *pkg, *core;
	char reason[MB_ENERGY_REASON], why[256];

	tree_copy(&t, "energy-one-package");
	assert_int_equal(mb_energy_open(t.root, MB_RAPL_NONE, &dev, reason, sizeof(reason)), 0);
	assert_int_equal(dev->source, MB_RAPL_POWERCAP);
	assert_int_equal(dev->n, 2);
	pkg = domain(dev, "package-0");
	core = domain(dev, "package-0/core");
	assert_string_equal(pkg->kind, "package");
	assert_int_equal(pkg->package, 0);
	assert_true(pkg->in_host_total);
	assert_string_equal(pkg->where, "intel-rapl:0");
	assert_int_equal(pkg->max_range, 262143328850);
	assert_string_equal(core->kind, "core");
	assert_false(core->in_host_total);     /* inside the package figure */
	assert_string_equal(core->where, "intel-rapl:0:0");
	assert_int_equal(pkg->total, 0);

	set_counter(&t, "intel-rapl:0", "3500000");
	set_counter(&t, "intel-rapl:0:0", "1400000");
	assert_int_equal(mb_energy_read(dev, why, sizeof(why)), 0);
	assert_int_equal(pkg->total, 2500000);
	assert_int_equal(core->total, 1000000);
	assert_true(mb_energy_joules(pkg, (double)pkg->total) == 2.5);
	assert_true(mb_energy_joules(core, (double)core->total) == 1.0);
	assert_int_equal(pkg->wraps, 0);
	mb_energy_close(dev);
	tree_remove(&t);
}

static void powercap_two_packages_dram(void **state)
{
	static const char *const names[] = {
		"package-0", "package-0/core", "package-0/dram", "package-0/uncore",
		"package-1", "package-1/core", "package-1/dram",
	};
	struct tree t;
	struct mb_energy_dev *dev;
	char reason[MB_ENERGY_REASON], why[256];
	double host = 0;

	tree_copy(&t, "energy-two-packages-dram");
	assert_int_equal(mb_energy_open(t.root, MB_RAPL_POWERCAP, &dev, reason, sizeof(reason)), 0);
	assert_int_equal(dev->n, 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(dev->d[i].name, names[i]);
	assert_string_equal(domain(dev, "package-1/dram")->kind, "dram");
	assert_int_equal(domain(dev, "package-1/dram")->package, 1);
	assert_int_equal(domain(dev, "package-1/dram")->max_range, 65712999613);
	assert_string_equal(domain(dev, "package-0/uncore")->kind, "uncore");

	set_counter(&t, "intel-rapl:0", "9000000");     /* +4 J */
	set_counter(&t, "intel-rapl:0:0", "4000000");   /* +2 J, inside the package */
	set_counter(&t, "intel-rapl:0:1", "1200000");   /* +0.5 J */
	set_counter(&t, "intel-rapl:0:2", "350000");    /* +0.25 J, inside the package */
	set_counter(&t, "intel-rapl:1", "9000000");     /* +3 J */
	set_counter(&t, "intel-rapl:1:0", "3000000");   /* +0.5 J */
	set_counter(&t, "intel-rapl:1:1", "1050000");   /* +0.25 J */
	assert_int_equal(mb_energy_read(dev, why, sizeof(why)), 0);
	for (size_t i = 0; i < dev->n; i++)
		if (dev->d[i].in_host_total)
			host += mb_energy_joules(&dev->d[i], (double)dev->d[i].total);
	/* packages and DRAM: 4 + 0.5 + 3 + 0.25 */
	assert_true(host == 7.75);
	assert_int_equal(domain(dev, "package-0/uncore")->total, 250000);
	mb_energy_close(dev);
	tree_remove(&t);
}

static void powercap_counter_wraps(void **state)
{
	struct tree t;
	struct mb_energy_dev *dev;
	char reason[MB_ENERGY_REASON], why[256];

	tree_copy(&t, "energy-wrap");
	assert_int_equal(mb_energy_open(t.root, MB_RAPL_NONE, &dev, reason, sizeof(reason)), 0);
	assert_int_equal(dev->d[0].raw, 262143000000);
	set_counter(&t, "intel-rapl:0", "262143300000");        /* +300000 */
	assert_int_equal(mb_energy_read(dev, why, sizeof(why)), 0);
	set_counter(&t, "intel-rapl:0", "500000");              /* wrapped: +28850 +500000 */
	assert_int_equal(mb_energy_read(dev, why, sizeof(why)), 0);
	set_counter(&t, "intel-rapl:0", "700000");              /* +200000 */
	assert_int_equal(mb_energy_read(dev, why, sizeof(why)), 0);
	assert_int_equal(dev->d[0].wraps, 1);
	assert_int_equal(dev->d[0].total, 300000 + 28850 + 500000 + 200000);
	assert_true(mb_energy_joules(&dev->d[0], (double)dev->d[0].total) == 1.02885);
	mb_energy_close(dev);
	tree_remove(&t);
}

/* As root, a mode-000 file still reads: the child drops the capabilities
 * that allow that, as an unprivileged reader of energy_uj is. */
static int drop_dac_override(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
	return (int)syscall(SYS_capset, &h, d);
}

static void powercap_unreadable(void **state)
{
	char path[PATH_MAX * 2], reason[MB_ENERGY_REASON] = "";
	struct tree t;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	tree_copy(&t, "energy-one-package");
	snprintf(path, sizeof(path), "%s/class/powercap/intel-rapl:0/energy_uj", t.root);
	assert_int_equal(chmod(path, 0), 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mb_energy_dev *dev = NULL;
		char why[MB_ENERGY_REASON] = "";
		int rc;

		close(fds[0]);
		if (geteuid() == 0 && drop_dac_override())
			_exit(3);
		rc = mb_energy_open(t.root, MB_RAPL_POWERCAP, &dev, why, sizeof(why));
		if (write(fds[1], why, strlen(why)) < 0)
			_exit(4);
		_exit(rc == 0 ? 1 : 0);
	}
	close(fds[1]);
	n = read(fds[0], reason, sizeof(reason) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	tree_remove(&t);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);       /* the open failed */
	assert_true(n > 0);
	reason[n] = '\0';
	assert_non_null(strstr(reason, "powercap: "));
	assert_non_null(strstr(reason, "intel-rapl:0/energy_uj"));
	assert_non_null(strstr(reason, strerror(EACCES)));
	assert_non_null(strstr(reason, "root-only"));
}

static void no_source_says_why(void **state)
{
	char root[PATH_MAX], reason[MB_ENERGY_REASON];
	struct mb_energy_dev *dev = (void *)1;

	fixture_path(root, sizeof(root), "rapl-none");
	assert_int_equal(mb_energy_open(root, MB_RAPL_NONE, &dev, reason, sizeof(reason)), -1);
	assert_null(dev);
	assert_non_null(strstr(reason, "powercap: "));
	assert_non_null(strstr(reason, "; perf: "));
	assert_non_null(strstr(reason, "; papi: "));
	assert_non_null(strstr(reason, strerror(ENOENT)));
}

/* The whole probe where nothing can be read: it starts, stops and says
 * why, and the run would go on. */
static void probe_unavailable(void **state)
{
	char root[PATH_MAX];
	struct mb_probe_ctx ctx = {0};
	struct mb_mig_times times = {0};
	struct mb_err err = {0};
	void *st = NULL;
	json_t *o;

	fixture_path(root, sizeof(root), "rapl-none");
	setenv("MIGBENCH_SYSFS_ROOT", root, 1);
	assert_int_equal(mb_probe_energy.start(&st, &ctx, &err), 0);
	assert_int_equal(mb_probe_energy.stop(st, &err), 0);
	o = mb_probe_energy.to_json(st, &times);
	mb_probe_energy.free(st);
	unsetenv("MIGBENCH_SYSFS_ROOT");
	assert_true(json_is_false(json_object_get(o, "available")));
	assert_non_null(strstr(json_string_value(json_object_get(o, "reason")), "powercap: "));
	json_decref(o);
}

static int64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The probe's sampling thread on a fixture tree whose counters move while
 * it runs: 2.5 J of package during the "migration", wrapping once. */
static void probe_samples_a_fixture_tree(void **state)
{
	struct tree t;
	struct mb_probe_ctx ctx = {0};
	struct mb_mig_times times = {0};
	struct mb_err err = {0};
	const json_t *pkg, *d;
	void *st = NULL;
	json_t *o;
	size_t i;

	tree_copy(&t, "energy-wrap");
	setenv("MIGBENCH_SYSFS_ROOT", t.root, 1);
	assert_int_equal(mb_probe_energy.start(&st, &ctx, &err), 0);
	sleep_ms(150);
	times.start_us = real_us();
	/* increments land two samples (50 ms) inside the phase */
	sleep_ms(120);
	set_counter(&t, "intel-rapl:0", "2171150");     /* 328850 to the wrap + 2171150 */
	sleep_ms(150);
	times.src_stop_us = times.dst_resume_us = times.src_complete_us = times.dst_complete_us = real_us();
	sleep_ms(60);
	assert_int_equal(mb_probe_energy.stop(st, &err), 0);
	o = mb_probe_energy.to_json(st, &times);
	mb_probe_energy.free(st);
	unsetenv("MIGBENCH_SYSFS_ROOT");
	tree_remove(&t);

	assert_true(json_is_true(json_object_get(o, "available")));
	assert_string_equal(json_string_value(json_object_get(o, "source")), "powercap");
	assert_true(json_integer_value(json_object_get(o, "samples")) >= 8);
	assert_int_equal(json_integer_value(json_object_get(o, "read_errors")), 0);
	pkg = NULL;
	json_array_foreach(json_object_get(o, "domains"), i, d)
		if (!strcmp(json_string_value(json_object_get(d, "name")), "package-0"))
			pkg = d;
	assert_non_null(pkg);
	assert_int_equal(json_integer_value(json_object_get(pkg, "wraps")), 1);
	assert_true(num(pkg, "phases", "before", "joules") == 0.0);
	assert_true(num(pkg, "phases", "precopy", "joules") == 2.5);
	assert_true(num(pkg, "phases", "migration", "joules") == 2.5);
	assert_true(num(pkg, "phases", "migration", "joules_above_idle") == 2.5);
	assert_true(json_number_value(json_object_get(json_object_get(json_object_get(json_object_get(o, "host"),
		"phases"), "migration"), "joules")) == 2.5);
	json_decref(o);
}

/* ---- perf power PMU ------------------------------------------------------------ */

static void cpulist(void **state)
{
	int cpus[16];

	assert_int_equal(mb_cpulist_parse("0", cpus, 16), 1);
	assert_int_equal(cpus[0], 0);
	assert_int_equal(mb_cpulist_parse("0,36", cpus, 16), 2);
	assert_int_equal(cpus[1], 36);
	assert_int_equal(mb_cpulist_parse("0-3,8\n", cpus, 16), 5);
	assert_int_equal(cpus[3], 3);
	assert_int_equal(cpus[4], 8);
	assert_int_equal(mb_cpulist_parse("0-3", cpus, 2), 2);
	assert_int_equal(mb_cpulist_parse("", cpus, 16), 0);
	assert_int_equal(mb_cpulist_parse("a", cpus, 16), -1);
	assert_int_equal(mb_cpulist_parse("3-1", cpus, 16), -1);
	assert_int_equal(mb_cpulist_parse("1,", cpus, 16), -1);
}

static void perf_pmu_parse(void **state)
{
	char root[PATH_MAX], why[512];
	struct mb_perf_power_pmu pmu;

	fixture_path(root, sizeof(root), "energy-perf");
	assert_int_equal(mb_perf_power_parse(root, &pmu, why, sizeof(why)), 0);
	assert_int_equal(pmu.type, 23);
	assert_int_equal(pmu.ncpus, 2);
	assert_int_equal(pmu.cpus[0], 0);
	assert_int_equal(pmu.cpus[1], 2);
	assert_int_equal(pmu.packages[0], 0);
	assert_int_equal(pmu.packages[1], 1);
	assert_int_equal(pmu.nevents, 4);
	/* sorted by name; .scale and .unit files are not events */
	assert_string_equal(pmu.events[0].name, "energy-cores");
	assert_string_equal(pmu.events[1].name, "energy-pkg");
	assert_string_equal(pmu.events[2].name, "energy-psys");
	assert_string_equal(pmu.events[3].name, "energy-ram");
	assert_int_equal(pmu.events[0].config, 0x01);
	assert_int_equal(pmu.events[1].config, 0x02);
	assert_int_equal(pmu.events[3].config, 0x03);
	assert_true(pmu.events[1].scale == ldexp(1, -32));  /* 2.3283064365386962890625e-10 */
	assert_true(pmu.events[3].scale == ldexp(1, -16));  /* 1.52587890625e-05 */
	assert_string_equal(pmu.events[1].unit, "Joules");
	/* 2^32 counts of energy-pkg are one joule */
	assert_true((double)(UINT64_C(1) << 32) * pmu.events[1].scale == 1.0);
}

static void perf_pmu_old_fixture_lacks_cpumask(void **state)
{
	char root[PATH_MAX], why[512];
	struct mb_perf_power_pmu pmu;

	fixture_path(root, sizeof(root), "rapl-perf");
	assert_int_equal(mb_perf_power_parse(root, &pmu, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "cpumask"));
	fixture_path(root, sizeof(root), "rapl-none");
	assert_int_equal(mb_perf_power_parse(root, &pmu, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no perf power PMU"));
}

/* ---- the report ------------------------------------------------------------------ */

static double num(const json_t *o, const char *a, const char *b, const char *c)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(o, a), b), c);

	if (!json_is_number(v))
		fail_msg("%s.%s.%s is not a number", a, b, c);
	return json_number_value(v);
}

static const json_t *domain_json(const json_t *report, const char *name)
{
	size_t i;
	const json_t *d;

	json_array_foreach(json_object_get(report, "domains"), i, d)
		if (!strcmp(json_string_value(json_object_get(d, "name")), name))
			return d;
	fail_msg("no domain %s in the report", name);
	return NULL;
}

static void report_phases_and_idle_baseline(void **state)
{
	struct mb_energy_dev dev = { .source = MB_RAPL_POWERCAP, .n = 3 };
	struct mb_series s;
	const int64_t t0 = INT64_C(1700000000000000);
	/* instants: probe start, migrate, STOP, RESUME, completed */
	const int64_t at[5] = { t0, t0 + 2 * S_US, t0 + 5 * S_US, t0 + 5 * S_US + S_US / 2,
				t0 + 7 * S_US + S_US / 2 };
	/* cumulative µJ: package 10 W idle, 15 W pre-copy, 14 W after;
	 * DRAM 2 W idle, 3 W pre-copy, 2 W after; core inside the package */
	const uint64_t v[5][3] = {
		{ 0, 0, 0 },
		{ 20000000, 4000000, 8000000 },
		{ 65000000, 13000000, 30000000 },
		{ 72000000, 14000000, 33000000 },
		{ 100000000, 18000000, 45000000 },
	};
	struct mb_mig_times times = {
		.start_us = at[1], .src_stop_us = at[2], .dst_resume_us = at[3],
		.src_complete_us = at[4], .dst_complete_us = at[4] - 1000,
	};
	const json_t *pkg, *dram, *core, *host;
	json_t *r;

	for (size_t i = 0; i < 3; i++) {
		dev.d[i].scale = 1;
		dev.d[i].divisor = 1e6;
		dev.d[i].package = 0;
		dev.d[i].fd = -1;
		snprintf(dev.d[i].unit, sizeof(dev.d[i].unit), "uJ");
	}
	snprintf(dev.d[0].name, sizeof(dev.d[0].name), "package-0");
	dev.d[0].kind = "package";
	dev.d[0].in_host_total = true;
	snprintf(dev.d[1].name, sizeof(dev.d[1].name), "package-0/dram");
	dev.d[1].kind = "dram";
	dev.d[1].in_host_total = true;
	snprintf(dev.d[2].name, sizeof(dev.d[2].name), "package-0/core");
	dev.d[2].kind = "core";

	mb_series_init(&s, 3);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(mb_series_push(&s, at[i], v[i]), 0);
	r = mb_energy_report(&dev, &s, &times, at[0], at[4]);
	mb_series_free(&s);

	assert_true(json_is_true(json_object_get(r, "available")));
	assert_string_equal(json_string_value(json_object_get(r, "source")), "powercap");
	assert_true(json_number_value(json_object_get(r, "baseline_window_ms")) == 2000.0);

	pkg = domain_json(r, "package-0");
	assert_true(json_number_value(json_object_get(pkg, "idle_watts")) == 10.0);
	assert_true(num(pkg, "phases", "before", "joules") == 20.0);
	assert_true(num(pkg, "phases", "before", "joules_above_idle") == 0.0);
	assert_true(num(pkg, "phases", "precopy", "joules") == 45.0);
	assert_true(num(pkg, "phases", "precopy", "watts") == 15.0);
	assert_true(num(pkg, "phases", "precopy", "joules_above_idle") == 15.0);
	assert_true(num(pkg, "phases", "downtime", "joules") == 7.0);
	assert_true(num(pkg, "phases", "downtime", "watts") == 14.0);
	assert_true(num(pkg, "phases", "downtime", "joules_above_idle") == 2.0);
	assert_true(num(pkg, "phases", "postcopy", "joules") == 28.0);
	assert_true(num(pkg, "phases", "postcopy", "joules_above_idle") == 8.0);
	assert_true(num(pkg, "phases", "migration", "joules") == 80.0);
	assert_true(num(pkg, "phases", "migration", "joules_above_idle") == 25.0);

	dram = domain_json(r, "package-0/dram");
	assert_true(json_number_value(json_object_get(dram, "idle_watts")) == 2.0);
	assert_true(num(dram, "phases", "precopy", "joules_above_idle") == 3.0);
	assert_true(num(dram, "phases", "postcopy", "watts") == 2.0);

	core = domain_json(r, "package-0/core");
	assert_true(json_is_false(json_object_get(core, "in_host_total")));
	assert_true(num(core, "phases", "migration", "joules") == 37.0);

	/* host: package + DRAM, not the core again */
	host = json_object_get(r, "host");
	assert_true(json_number_value(json_object_get(host, "idle_watts")) == 12.0);
	assert_true(num(host, "phases", "before", "joules") == 24.0);
	assert_true(num(host, "phases", "precopy", "joules") == 54.0);
	assert_true(num(host, "phases", "precopy", "watts") == 18.0);
	assert_true(num(host, "phases", "precopy", "joules_above_idle") == 18.0);
	assert_true(num(host, "phases", "downtime", "joules_above_idle") == 2.0);
	assert_true(num(host, "phases", "postcopy", "joules") == 32.0);
	assert_true(num(host, "phases", "migration", "joules") == 94.0);
	assert_true(num(host, "phases", "migration", "watts") == 94.0 / 5.5);
	assert_true(num(host, "phases", "migration", "joules_above_idle") == 28.0);
	json_decref(r);
}

/* A migration that never completed: cut at the last sample, and the phases
 * that did not happen are null. */
static void report_incomplete_migration(void **state)
{
	struct mb_energy_dev dev = { .source = MB_RAPL_PERF, .n = 1 };
	struct mb_series s;
	const int64_t t0 = INT64_C(1700000000000000);
	const uint64_t v0[1] = { 0 }, v1[1] = { UINT64_C(1) << 33 }, v2[1] = { UINT64_C(3) << 33 };
	struct mb_mig_times times = { .start_us = t0 + S_US };
	json_t *r;
	const json_t *pkg;

	dev.d[0] = (struct mb_energy_domain){ .kind = "package", .package = 0, .in_host_total = true,
					      .scale = ldexp(1, -32), .divisor = 1, .fd = -1 };
	snprintf(dev.d[0].name, sizeof(dev.d[0].name), "package-0");
	mb_series_init(&s, 1);
	mb_series_push(&s, t0, v0);
	mb_series_push(&s, t0 + S_US, v1);             /* 2 J idle over 1 s */
	mb_series_push(&s, t0 + 3 * S_US, v2);         /* 4 J over 2 s */
	r = mb_energy_report(&dev, &s, &times, t0, t0 + 3 * S_US);
	mb_series_free(&s);
	assert_true(json_is_true(json_object_get(r, "migration_cut_at_probe_stop")));
	pkg = domain_json(r, "package-0");
	assert_true(num(pkg, "phases", "precopy", "joules") == 4.0);
	assert_true(num(pkg, "phases", "precopy", "joules_above_idle") == 0.0);
	assert_true(num(pkg, "phases", "migration", "watts") == 2.0);
	assert_true(json_is_null(json_object_get(json_object_get(pkg, "phases"), "downtime")));
	assert_true(json_is_null(json_object_get(json_object_get(pkg, "phases"), "postcopy")));
	json_decref(r);
}

int main(void)
{
	const char *f = getenv("MIGBENCH_FIXTURES");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delta_plain_and_wrapped),
		cmocka_unit_test(powercap_one_package),
		cmocka_unit_test(powercap_two_packages_dram),
		cmocka_unit_test(powercap_counter_wraps),
		cmocka_unit_test(powercap_unreadable),
		cmocka_unit_test(no_source_says_why),
		cmocka_unit_test(probe_unavailable),
		cmocka_unit_test(probe_samples_a_fixture_tree),
		cmocka_unit_test(cpulist),
		cmocka_unit_test(perf_pmu_parse),
		cmocka_unit_test(perf_pmu_old_fixture_lacks_cpumask),
		cmocka_unit_test(report_phases_and_idle_baseline),
		cmocka_unit_test(report_incomplete_migration),
	};

	snprintf(fixtures, sizeof(fixtures), "%s", f && *f ? f : MB_FIXTURES_DIR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
