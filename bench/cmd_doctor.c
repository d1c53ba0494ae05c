/* `migbench doctor`: what this host can measure, and why not where not.
 * A table for people, --json for scripts; exit 3 when migbench cannot run
 * here at all (no working QEMU). */
#include "config.h"
#include "git-describe.h"
#include "bench/command.h"
#include "bench/host_probe.h"
#include "bench/options.h"

#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

struct row {
	char check[32];
	char status[32];
	char detail[2 * MB_PROBE_TEXT + 64];
};

#define MAX_ROWS 32

struct table {
	struct row rows[MAX_ROWS];
	int n;
};

static void add_row(struct table *t, const char *check, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_row(struct table *t, const char *check, const char *status, const char *fmt, ...)
{
	struct row *r;
	va_list ap;

	if (t->n == MAX_ROWS)
		return;
	r = &t->rows[t->n++];
	snprintf(r->check, sizeof(r->check), "%s", check);
	snprintf(r->status, sizeof(r->status), "%s", status);
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

static const char *yes_no(bool ok)
{
	return ok ? "ok" : "no";
}

static void add_check(struct table *t, const char *name, const struct mb_check *c)
{
	add_row(t, name, yes_no(c->ok), "%s", c->detail);
}

static void add_lib(struct table *t, const char *name, bool built_in, const char *package)
{
	if (built_in)
		add_row(t, name, "yes", "built in");
	else
		add_row(t, name, "no", "not built in (install %s, re-run configure)", package);
}

static void build_table(const struct mb_host_report *r, struct table *t)
{
	char buf[32];

	add_row(t, "kernel", "-", "%s", r->system.kernel);
	snprintf(buf, sizeof(buf), "%ld cores", r->system.cores_online);
	add_row(t, "cpu", buf, "%s", r->system.cpu_model);

	add_row(t, "accelerator", r->accel.name, "%s%s", r->accel.kvm.ok ? "" : "no KVM: ",
		r->accel.kvm.detail);

	add_row(t, "qemu", r->qemu.found.ok ? r->qemu.version.text : "missing", "%s [%s]: %s",
		r->qemu.binary, r->qemu.origin, r->qemu.found.detail);

	add_row(t, "post-copy", r->uffd.postcopy ? "yes" : "no", "%s", r->uffd.summary);
	add_check(t, "  userfaultfd()", &r->uffd.syscall);
	add_check(t, "  /dev/userfaultfd", &r->uffd.dev);
	add_check(t, "  user-mode-only", &r->uffd.user_mode_only);
	snprintf(buf, sizeof(buf), "%d", r->uffd.unprivileged);
	add_row(t, "  unprivileged", r->uffd.unprivileged >= 0 ? buf : "?",
		"vm.unprivileged_userfaultfd (%s/sys/vm/unprivileged_userfaultfd)", r->roots.procfs);

	if (r->rapl.source == MB_RAPL_NONE)
		add_row(t, "energy (RAPL)", "none",
			"no energy metric: none of the sources below works (results say energy: available false)");
	else
		add_row(t, "energy (RAPL)", mb_rapl_source_name(r->rapl.source), "would read from %s",
			r->rapl.source == MB_RAPL_POWERCAP ? "the powercap tree"
			: r->rapl.source == MB_RAPL_PERF ? "the perf power PMU" : "PAPI");
	add_check(t, "  powercap", &r->rapl.powercap);
	add_check(t, "  perf power PMU", &r->rapl.perf);
	add_check(t, "  PAPI", &r->rapl.papi);

	add_check(t, "perf task-clock", &r->perf.task_clock);
	add_check(t, "perf cycles", &r->perf.cycles);
	snprintf(buf, sizeof(buf), "%d", r->perf.paranoid);
	add_row(t, "perf paranoid", r->perf.paranoid != INT_MIN ? buf : "?",
		"%s/sys/kernel/perf_event_paranoid", r->roots.procfs);

	add_lib(t, "libvirt", r->libs.libvirt, "libvirt-dev");
	add_lib(t, "hwloc", r->libs.hwloc, "libhwloc-dev");
	add_lib(t, "libpfm4", r->libs.libpfm4, "libpfm4-dev");
	add_lib(t, "papi", r->libs.papi, "libpapi-dev");
}

static void print_table(const struct table *t)
{
	int wc = (int)strlen("CHECK"), ws = (int)strlen("STATUS");

	for (int i = 0; i < t->n; i++) {
		int c = (int)strlen(t->rows[i].check), s = (int)strlen(t->rows[i].status);

		wc = c > wc ? c : wc;
		ws = s > ws ? s : ws;
	}
	printf("%-*s  %-*s  %s\n", wc, "CHECK", ws, "STATUS", "DETAIL");
	for (int i = 0; i < t->n; i++)
		printf("%-*s  %-*s  %s\n", wc, t->rows[i].check, ws, t->rows[i].status, t->rows[i].detail);
}

static int print_json(const struct mb_host_report *r)
{
	json_t *o = mb_host_report_json(r);
	int rc;

	if (!o) {
		fprintf(stderr, "migbench doctor: building the JSON report: out of memory\n");
		return -1;
	}
	rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (rc < 0) {
		fprintf(stderr, "migbench doctor: writing the JSON report to stdout failed\n");
		return -1;
	}
	putchar('\n');
	return 0;
}

static int want_json;
static const char *qemu_path;

static const struct mb_opt options[] = {
	{ "json", 0, MB_OPT_FLAG, NULL, "print the report as one JSON object", .flag = &want_json, .set = 1 },
	{ "qemu", 0, MB_OPT_TEXT, "PATH", "QEMU binary to check (default: $MIGBENCH_QEMU, else\n"
	  MB_DEFAULT_QEMU ")", .text = &qemu_path },
	{ 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: migbench doctor [--json] [--qemu PATH]\n"
		"\n"
		"Reports what this host can measure: accelerator (kvm or tcg), the QEMU\n"
		"binary and its version, userfaultfd for post-copy, RAPL energy, perf\n"
		"counters, and the optional libraries built in.\n"
		"\n");
	mb_opts_print(out, options);
	fprintf(out,
		"\n"
		"Environment: MIGBENCH_QEMU, MIGBENCH_SYSFS_ROOT (default /sys) and\n"
		"MIGBENCH_PROCFS_ROOT (default /proc).\n"
		"Exit status: 0 when migbench can run here, 3 when it cannot (no\n"
		"working QEMU), 2 on a bad command line.\n");
}

static int doctor_run(int argc, char **argv)
{
	static const struct mb_opt_spec spec = { .cmd = "doctor", .opts = options, .usage = usage };
	static struct mb_host_report report; /* large: keep it off the stack */
	static struct table table;
	const char *qemu;
	bool json;
	int first, rc;

	want_json = 0;
	qemu_path = NULL;
	rc = mb_opts_command(&spec, argc, argv, &first);
	if (rc >= 0)
		return rc;
	json = want_json;
	qemu = qemu_path;

	mb_host_probe_all(qemu, &report);
	if (json) {
		if (print_json(&report) < 0)
			return MB_EXIT_FAILED;
	} else {
		printf("migbench %s (%s) on this host:\n\n", PACKAGE_VERSION, MB_GIT_DESCRIBE);
		build_table(&report, &table);
		print_table(&table);
		if (report.ready)
			printf("\nmigbench can run here, with %s.\n", report.accel.name);
	}
	if (!report.ready) {
		fprintf(stderr, "migbench doctor: migbench cannot run here: %s\n", report.reason);
		return MB_EXIT_NO_RESOURCE;
	}
	return MB_EXIT_OK;
}

const struct mb_command mb_cmd_doctor = {
	.name = "doctor",
	.summary = "report what this host can measure (KVM, QEMU, post-copy, RAPL, perf)",
	.run = doctor_run,
};
