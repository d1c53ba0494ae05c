/* Whether KVM is usable here, and which accelerator migbench will use
 * (`migbench doctor`, and runners/qemu_argv.c for accel=auto). */
#ifndef MB_ACCEL_CHECK_H
#define MB_ACCEL_CHECK_H

#include "bench/host.h"

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

#endif
