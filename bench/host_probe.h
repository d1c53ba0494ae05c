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

#include <jansson.h>

#include "bench/host.h"
#include "probes/counters_check.h"
#include "probes/energy_check.h"
#include "runners/accel_check.h"
#include "runners/qemu_check.h"
#include "runners/uffd_check.h"

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
