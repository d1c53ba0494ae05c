/* What this host can do for a migration benchmark: the accelerator, the QEMU
 * binary, userfaultfd (post-copy), RAPL energy, perf counters, and which
 * optional libraries were built in.
 *
 * Every check fills a struct and never fails as a whole: a capability that is
 * missing says why in its `detail`, because `migbench doctor` prints it and
 * result files record it (`host`, `hypervisor`). Nothing here prints.
 *
 * The sysfs and procfs roots are parameters so tests can point the probes at
 * fixture trees ($MIGBENCH_SYSFS_ROOT, $MIGBENCH_PROCFS_ROOT). */
#ifndef MB_HOST_PROBE_H
#define MB_HOST_PROBE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define MB_PROBE_TEXT 512

/* One capability that either works or does not, with a sentence saying what
 * was found or why not (strerror text included). */
struct mb_check {
	bool ok;
	char detail[MB_PROBE_TEXT];
};

struct mb_host_roots {
	char sysfs[PATH_MAX];   /* "/sys" unless $MIGBENCH_SYSFS_ROOT */
	char procfs[PATH_MAX];  /* "/proc" unless $MIGBENCH_PROCFS_ROOT */
};

/* Fills roots from the environment, with the real roots as defaults. */
void mb_host_roots_from_env(struct mb_host_roots *roots);

/* Reads root/rel (a small sysfs/procfs file) into buf, NUL-terminated and
 * without the trailing newline. 0, or -1 with errno set. */
int mb_host_read_file(const char *root, const char *rel, char *buf, size_t size);

/* ---- the machine --------------------------------------------------------- */

struct mb_host_system {
	char kernel[256];       /* "Linux 6.1.0-18-amd64 #1 SMP ... x86_64" */
	char kernel_release[128];
	char machine[65];       /* uname -m (utsname size) */
	char hostname[65];      /* uname -n: which host a side ran on */
	char cpu_model[256];    /* /proc/cpuinfo "model name", "unknown" if absent */
	long cores_online;
	long cores_configured;
};

void mb_probe_system(const struct mb_host_roots *roots, struct mb_host_system *out);

/* This host's name as results name the host a side runs on (gethostname;
 * "localhost" when it has none). Thread-safe. */
const char *mb_host_name(void);

/* ---- accelerator ----------------------------------------------------------- */

#define MB_KVM_DEVICE "/dev/kvm"

struct mb_host_accel {
	const char *name;       /* "kvm" or "tcg": what migbench will use */
	struct mb_check kvm;    /* why kvm is (not) usable */
	int kvm_api_version;    /* KVM_GET_API_VERSION, -1 when unknown */
	const char *backend;    /* "kvm_intel", "kvm_amd", "kvm_pvm" or "unknown" */
};

/* The KVM module behind /dev/kvm, from sysfs_root/module/: "kvm_intel",
 * "kvm_amd" (hardware virtualisation), "kvm_pvm" (software PVM, which runs
 * only PVM-enabled guest kernels), or "unknown". */
const char *mb_kvm_backend(const char *sysfs_root);

/* KVM counts as usable when `device` opens read-write, answers
 * KVM_GET_API_VERSION with the version this build knows, creates a VM, and
 * is not the PVM backend (an ordinary guest kernel hangs there in early
 * boot). The sysfs root comes from $MIGBENCH_SYSFS_ROOT. */
void mb_probe_accel(const char *device, struct mb_host_accel *out);

/* ---- QEMU ------------------------------------------------------------------- */

struct mb_qemu_version {
	int major, minor, micro;
	char text[32];          /* "7.2.22" */
	char package[128];      /* "Debian 1:7.2+dfsg-7+deb12u18", "" when none */
};

/* Parses the first line of `qemu-system-* --version`:
 * "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)".
 * 0 on success, -1 when `text` holds no QEMU version. */
int mb_qemu_parse_version(const char *text, struct mb_qemu_version *out);

struct mb_host_qemu {
	char binary[PATH_MAX];
	const char *origin;     /* "--qemu", "$MIGBENCH_QEMU" or "configure default" */
	struct mb_check found;  /* ran `BINARY --version` and understood it */
	struct mb_qemu_version version;
};

/* Chooses the binary (cli_binary, else $MIGBENCH_QEMU, else MB_DEFAULT_QEMU),
 * runs it with --version (no shell, a few seconds at most) and parses it. */
void mb_probe_qemu(const char *cli_binary, struct mb_host_qemu *out);

/* ---- userfaultfd (post-copy) ---------------------------------------------- */

struct mb_host_uffd {
	/* What QEMU's post-copy needs: faults from kernel mode too (KVM, vhost
	 * and syscalls touch guest RAM on QEMU's behalf). */
	struct mb_check syscall;        /* userfaultfd(O_CLOEXEC) */
	struct mb_check dev;            /* /dev/userfaultfd + USERFAULTFD_IOC_NEW (QEMU >= 8.1) */
	/* Not enough for QEMU, reported because it is what an unprivileged
	 * process gets when vm.unprivileged_userfaultfd = 0. */
	struct mb_check user_mode_only; /* userfaultfd(UFFD_USER_MODE_ONLY) */
	int unprivileged;               /* vm.unprivileged_userfaultfd, -1 unknown */
	bool postcopy;                  /* syscall or dev works */
	const char *method;             /* "syscall", "/dev/userfaultfd", NULL */
	char summary[MB_PROBE_TEXT];
};

void mb_probe_uffd(const struct mb_host_roots *roots, struct mb_host_uffd *out);

/* ---- RAPL energy ----------------------------------------------------------- */

enum mb_rapl_source {
	MB_RAPL_NONE,
	MB_RAPL_POWERCAP,       /* /sys/class/powercap/intel-rapl:N/energy_uj */
	MB_RAPL_PERF,           /* perf PMU /sys/bus/event_source/devices/power */
	MB_RAPL_PAPI,           /* PAPI's powercap or rapl component (HAVE_PAPI) */
};

struct mb_host_rapl {
	struct mb_check powercap;
	int powercap_zones;     /* top-level zones with a readable energy_uj */
	struct mb_check perf;
	struct mb_check papi;   /* PAPI with an enabled powercap/rapl component */
	enum mb_rapl_source source; /* powercap, then perf, then PAPI (probes/energy.h) */
	char reason[3 * MB_PROBE_TEXT + 32]; /* why none, when source is NONE */
};

/* try_open: also perf_event_open the power PMU's energy-pkg event (only
 * meaningful against the real /sys; fixture trees set it false). */
void mb_probe_rapl(const struct mb_host_roots *roots, bool try_open, struct mb_host_rapl *out);

const char *mb_rapl_source_name(enum mb_rapl_source source); /* "powercap", "perf", "papi", "none" */

/* ---- perf events ------------------------------------------------------------ */

struct mb_host_perf {
	int paranoid;           /* kernel.perf_event_paranoid, INT_MIN unknown */
	struct mb_check task_clock; /* software counter on this process */
	struct mb_check cycles;     /* hardware counter on this process */
};

void mb_probe_perf(const struct mb_host_roots *roots, struct mb_host_perf *out);

/* ---- optional libraries built in -------------------------------------------- */

struct mb_host_libs {
	bool libvirt, hwloc, libpfm4, papi;
};

void mb_probe_libs(struct mb_host_libs *out);

/* ---- everything ----------------------------------------------------------- */

struct mb_host_report {
	struct mb_host_roots roots;
	struct mb_host_system system;
	struct mb_host_accel accel;
	struct mb_host_qemu qemu;
	struct mb_host_uffd uffd;
	struct mb_host_rapl rapl;
	struct mb_host_perf perf;
	struct mb_host_libs libs;
	bool ready;             /* migbench can run here (QEMU works) */
	char reason[MB_PROBE_TEXT + 64]; /* why not, when !ready */
};

/* Runs every probe. qemu_binary may be NULL (then env/default). */
void mb_host_probe_all(const char *qemu_binary, struct mb_host_report *out);

/* JSON views, for doctor and for result files' `host` and `hypervisor`
 * blocks. Each returns a new reference (NULL only when out of memory). */
json_t *mb_check_json(const struct mb_check *check);
json_t *mb_host_system_json(const struct mb_host_system *sys);
json_t *mb_host_accel_json(const struct mb_host_accel *accel);
json_t *mb_host_qemu_json(const struct mb_host_qemu *qemu);
json_t *mb_host_uffd_json(const struct mb_host_uffd *uffd);
json_t *mb_host_rapl_json(const struct mb_host_rapl *rapl);
json_t *mb_host_perf_json(const struct mb_host_perf *perf);
json_t *mb_host_libs_json(const struct mb_host_libs *libs);
json_t *mb_host_report_json(const struct mb_host_report *report);

#endif
