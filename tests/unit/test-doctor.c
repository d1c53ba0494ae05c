/* Host probes against fixture trees, QEMU version parsing against recorded
 * `--version` outputs, and the real `migbench doctor --json` on this host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/host_probe.h"

static const char *fixtures(void)
{
	const char *dir = getenv("MIGBENCH_FIXTURES");

	return dir && *dir ? dir : "tests/fixtures";
}

static void roots_at(struct mb_host_roots *roots, const char *sysfs, const char *procfs)
{
	snprintf(roots->sysfs, sizeof(roots->sysfs), "%s/sysfs/%s", fixtures(), sysfs);
	snprintf(roots->procfs, sizeof(roots->procfs), "%s/procfs/%s", fixtures(), procfs);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		fail_msg("open %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ---- RAPL source detection ---------------------------------------------- */

static void rapl_powercap_zone(void **state)
{
	struct mb_host_roots roots;
	struct mb_host_rapl rapl;

	roots_at(&roots, "rapl-powercap", "basic");
	mb_probe_rapl(&roots, false, &rapl);
	assert_int_equal(rapl.source, MB_RAPL_POWERCAP);
	assert_true(rapl.powercap.ok);
	/* intel-rapl:0 and :1 count; the sub-zone :0:0 and the control type
	 * directory "intel-rapl" do not. */
	assert_int_equal(rapl.powercap_zones, 2);
	assert_non_null(strstr(rapl.powercap.detail, "intel-rapl:0 (package-0)"));
	assert_non_null(strstr(rapl.powercap.detail, "intel-rapl:1 (package-1)"));
	assert_null(strstr(rapl.powercap.detail, "intel-rapl:0:0"));
	assert_false(rapl.perf.ok);
	assert_string_equal(mb_rapl_source_name(rapl.source), "powercap");
}

static void rapl_perf_pmu_only(void **state)
{
	struct mb_host_roots roots;
	struct mb_host_rapl rapl;

	roots_at(&roots, "rapl-perf", "basic");
	mb_probe_rapl(&roots, false, &rapl);
	assert_int_equal(rapl.source, MB_RAPL_PERF);
	assert_false(rapl.powercap.ok);
	assert_true(rapl.perf.ok);
	assert_non_null(strstr(rapl.perf.detail, "type 23"));
	assert_non_null(strstr(rapl.perf.detail, "energy-pkg"));
	assert_non_null(strstr(rapl.perf.detail, "energy-ram"));
	assert_null(strstr(rapl.perf.detail, ".scale"));
	assert_string_equal(mb_rapl_source_name(rapl.source), "perf");
}

static void rapl_none(void **state)
{
	struct mb_host_roots roots;
	struct mb_host_rapl rapl;
	json_t *j;

	roots_at(&roots, "rapl-none", "basic");
	mb_probe_rapl(&roots, false, &rapl);
	assert_int_equal(rapl.source, MB_RAPL_NONE);
	assert_non_null(strstr(rapl.reason, "powercap:"));
	assert_non_null(strstr(rapl.reason, "perf:"));
	assert_non_null(strstr(rapl.reason, strerror(ENOENT)));

	/* The shape result files record: {"available": false, "reason": ...}. */
	j = mb_host_rapl_json(&rapl);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "available")));
	assert_string_equal(json_string_value(json_object_get(j, "reason")), rapl.reason);
	json_decref(j);
}

static void rapl_zone_without_energy(void **state)
{
	struct mb_host_roots roots;
	struct mb_host_rapl rapl;

	roots_at(&roots, "rapl-powercap-no-energy", "basic");
	mb_probe_rapl(&roots, false, &rapl);
	assert_int_equal(rapl.source, MB_RAPL_NONE);
	assert_false(rapl.powercap.ok);
	assert_non_null(strstr(rapl.powercap.detail, "intel-rapl:0/energy_uj"));
	assert_non_null(strstr(rapl.powercap.detail, strerror(ENOENT)));
}

/* ---- QEMU --version parsing --------------------------------------------- */

static void parse_fixture(const char *name, int major, int minor, int micro, const char *package)
{
	char path[4096];
	struct mb_qemu_version v;

	snprintf(path, sizeof(path), "%s/qemu-version/%s", fixtures(), name);
	assert_int_equal(mb_qemu_parse_version(slurp(path), &v), 0);
	assert_int_equal(v.major, major);
	assert_int_equal(v.minor, minor);
	assert_int_equal(v.micro, micro);
	assert_string_equal(v.package, package);
}

static void qemu_version_7_2(void **state)
{
	struct mb_qemu_version v;

	parse_fixture("7.2-debian.txt", 7, 2, 22, "Debian 1:7.2+dfsg-7+deb12u18+b3");
	assert_int_equal(mb_qemu_parse_version("QEMU emulator version 7.2.22 (x)\n", &v), 0);
	assert_string_equal(v.text, "7.2.22");
}

static void qemu_version_10_0(void **state)
{
	parse_fixture("10.0-debian.txt", 10, 0, 2, "Debian 1:10.0.2+ds-1~bpo12+1");
	parse_fixture("10.0-git.txt", 10, 0, 50, "v10.0.0-1234-g0123456789");
	parse_fixture("10.0-upstream.txt", 10, 0, 0, "");
}

static void qemu_version_rejects(void **state)
{
	struct mb_qemu_version v;

	assert_int_equal(mb_qemu_parse_version("echo (GNU coreutils) 9.1\n", &v), -1);
	assert_int_equal(mb_qemu_parse_version("", &v), -1);
	assert_int_equal(mb_qemu_parse_version(NULL, &v), -1);
	assert_int_equal(mb_qemu_parse_version("QEMU emulator version x.y\n", &v), -1);
	/* No package on the first line: a parenthesis further down is not it. */
	assert_int_equal(mb_qemu_parse_version("QEMU emulator version 8.2.1\nCopyright (c) 2003\n", &v), 0);
	assert_string_equal(v.package, "");
}

/* ---- procfs-derived facts ------------------------------------------------ */

static void procfs_fixture(void **state)
{
	struct mb_host_roots roots;
	struct mb_host_system sys;
	struct mb_host_perf perf;
	struct mb_host_uffd uffd;

	roots_at(&roots, "rapl-none", "basic");
	mb_probe_system(&roots, &sys);
	assert_string_equal(sys.cpu_model, "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz");
	assert_true(sys.cores_online >= 1);
	mb_probe_perf(&roots, &perf);
	assert_int_equal(perf.paranoid, 3);
	mb_probe_uffd(&roots, &uffd);
	assert_int_equal(uffd.unprivileged, 1);
}

static void roots_from_env(void **state)
{
	struct mb_host_roots roots;

	setenv("MIGBENCH_SYSFS_ROOT", "/fixture/sys", 1);
	unsetenv("MIGBENCH_PROCFS_ROOT");
	mb_host_roots_from_env(&roots);
	assert_string_equal(roots.sysfs, "/fixture/sys");
	assert_string_equal(roots.procfs, "/proc");
	unsetenv("MIGBENCH_SYSFS_ROOT");
	mb_host_roots_from_env(&roots);
	assert_string_equal(roots.sysfs, "/sys");
}

/* ---- accelerator fallbacks ------------------------------------------------ */

static void accel_missing_device(void **state)
{
	struct mb_host_accel accel;

	mb_probe_accel("/nonexistent/kvm", &accel);
	assert_string_equal(accel.name, "tcg");
	assert_false(accel.kvm.ok);
	assert_int_equal(accel.kvm_api_version, -1);
	assert_non_null(strstr(accel.kvm.detail, strerror(ENOENT)));
}

static void accel_not_a_kvm_device(void **state)
{
	struct mb_host_accel accel;

	mb_probe_accel("/dev/null", &accel);
	assert_string_equal(accel.name, "tcg");
	assert_non_null(strstr(accel.kvm.detail, "KVM_GET_API_VERSION"));
}

static void kvm_backend_from_sysfs(void **state)
{
	char root[4096];

	snprintf(root, sizeof(root), "%s/sysfs/kvm-pvm", fixtures());
	assert_string_equal(mb_kvm_backend(root), "kvm_pvm");
	snprintf(root, sizeof(root), "%s/sysfs/kvm-amd", fixtures());
	assert_string_equal(mb_kvm_backend(root), "kvm_amd");
	snprintf(root, sizeof(root), "%s/sysfs/rapl-none", fixtures());
	assert_string_equal(mb_kvm_backend(root), "unknown");
}

/* ---- the real command ------------------------------------------------------ */

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Decided here independently of the probe: open, API version, a VM, and
 * hardware KVM rather than PVM alone (which cannot boot our guest). */
static int kvm_works_here(void)
{
	int fd, vm, ok = 0;

	if (is_dir("/sys/module/kvm_pvm") && !is_dir("/sys/module/kvm_intel") &&
	    !is_dir("/sys/module/kvm_amd"))
		return 0;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION) {
		vm = ioctl(fd, KVM_CREATE_VM, 0);
		if (vm >= 0) {
			ok = 1;
			close(vm);
		}
	}
	close(fd);
	return ok;
}

/* Runs `$MIGBENCH_BIN doctor --json` with `env_prefix` (may be ""), returns
 * the parsed object and the exit status. */
static json_t *run_doctor(const char *env_prefix, int *exit_status)
{
	const char *bin = getenv("MIGBENCH_BIN");
	static char out[1 << 16];
	char cmd[8192];
	json_error_t jerr;
	size_t len = 0, n;
	json_t *j;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s '%s' doctor --json", env_prefix, bin);
	p = popen(cmd, "r");
	if (!p)
		fail_msg("popen %s: %s", cmd, strerror(errno));
	while ((n = fread(out + len, 1, sizeof(out) - 1 - len, p)) > 0)
		len += n;
	out[len] = '\0';
	status = pclose(p);
	assert_true(WIFEXITED(status));
	*exit_status = WEXITSTATUS(status);
	j = json_loads(out, 0, &jerr);
	if (!j)
		fail_msg("%s printed no JSON (line %d: %s): %.300s", cmd, jerr.line, jerr.text, out);
	return j;
}

static void real_doctor(void **state)
{
	static const char *const keys[] = {
		"schema", "tool", "ready", "reason", "host", "accelerator", "kvm", "qemu",
		"userfaultfd", "rapl", "perf", "libraries", NULL,
	};
	const char *accel;
	int status;
	json_t *j;

	if (!getenv("MIGBENCH_BIN"))
		skip();
	j = run_doctor("", &status);
	for (size_t i = 0; keys[i]; i++)
		if (!json_object_get(j, keys[i]))
			fail_msg("doctor --json lacks key '%s'", keys[i]);
	assert_true(status == 0 || status == 3);
	assert_int_equal(json_is_true(json_object_get(j, "ready")), status == 0);

	accel = json_string_value(json_object_get(j, "accelerator"));
	assert_non_null(accel);
	assert_string_equal(accel, kvm_works_here() ? "kvm" : "tcg");

	assert_true(json_is_boolean(json_object_get(json_object_get(j, "rapl"), "available")));
	assert_true(json_is_boolean(json_object_get(json_object_get(j, "userfaultfd"), "postcopy")));
	assert_true(json_is_string(json_object_get(json_object_get(j, "host"), "kernel")));
	assert_true(json_is_integer(json_object_get(json_object_get(j, "host"), "cores_online")));
	assert_true(json_is_object(json_object_get(json_object_get(j, "perf"), "task_clock")));
	json_decref(j);
}

static void real_doctor_sysfs_root(void **state)
{
	char env[4096];
	json_t *j, *rapl;
	int status;

	if (!getenv("MIGBENCH_BIN"))
		skip();
	snprintf(env, sizeof(env), "MIGBENCH_SYSFS_ROOT='%s/sysfs/rapl-powercap'", fixtures());
	j = run_doctor(env, &status);
	rapl = json_object_get(j, "rapl");
	assert_string_equal(json_string_value(json_object_get(rapl, "source")), "powercap");
	assert_true(json_is_true(json_object_get(rapl, "available")));
	json_decref(j);
}

static void real_doctor_without_qemu(void **state)
{
	int status;
	json_t *j;

	if (!getenv("MIGBENCH_BIN"))
		skip();
	j = run_doctor("MIGBENCH_QEMU=/nonexistent/qemu-system-x86_64", &status);
	assert_int_equal(status, 3);
	assert_true(json_is_false(json_object_get(j, "ready")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "reason")), strerror(ENOENT)));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rapl_powercap_zone),
		cmocka_unit_test(rapl_perf_pmu_only),
		cmocka_unit_test(rapl_none),
		cmocka_unit_test(rapl_zone_without_energy),
		cmocka_unit_test(qemu_version_7_2),
		cmocka_unit_test(qemu_version_10_0),
		cmocka_unit_test(qemu_version_rejects),
		cmocka_unit_test(procfs_fixture),
		cmocka_unit_test(roots_from_env),
		cmocka_unit_test(accel_missing_device),
		cmocka_unit_test(accel_not_a_kvm_device),
		cmocka_unit_test(kvm_backend_from_sysfs),
		cmocka_unit_test(real_doctor),
		cmocka_unit_test(real_doctor_sysfs_root),
		cmocka_unit_test(real_doctor_without_qemu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
