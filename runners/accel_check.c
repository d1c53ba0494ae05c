/* Can this process use KVM, or will QEMU fall back to TCG? */
#include "config.h"
#include "runners/accel_check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* What an open(2) errno on the KVM node usually means, so the user knows
 * what to change rather than just what failed. */
static const char *open_hint(int errnum)
{
	switch (errnum) {
	case ENOENT:
		return "no KVM device: kvm module not loaded, or no (nested) virtualisation";
	case EACCES:
	case EPERM:
		return "run as root, or join the group that owns the device, usually kvm";
	case ENXIO:
	case ENODEV:
		return "the node exists but no KVM driver answers: kvm_intel/kvm_amd not loaded, "
		       "or VT-x/AMD-V disabled in firmware";
	default:
		return "see dmesg";
	}
}

static bool module_loaded(const char *sysfs_root, const char *module)
{
	char path[PATH_MAX + 64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/module/%s", sysfs_root, module);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *mb_kvm_backend(const char *sysfs_root)
{
	/* Hardware first: where both are loaded, /dev/kvm is the hardware one. */
	static const char *const backends[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };

	for (size_t i = 0; i < sizeof(backends) / sizeof(*backends); i++)
		if (module_loaded(sysfs_root, backends[i]))
			return backends[i];
	return "unknown";
}

void mb_probe_accel(const char *device, struct mb_host_accel *out)
{
	struct mb_host_roots roots;
	int fd, version, vm;

	mb_host_roots_from_env(&roots);
	*out = (struct mb_host_accel){
		.name = "tcg",
		.kvm_api_version = -1,
		.backend = mb_kvm_backend(roots.sysfs),
	};
	fd = open(device, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		snprintf(out->kvm.detail, sizeof(out->kvm.detail), "open %s: %s (%s)",
			 device, strerror(e), open_hint(e));
		return;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version < 0) {
		snprintf(out->kvm.detail, sizeof(out->kvm.detail),
			 "%s: KVM_GET_API_VERSION: %s (not a KVM device?)", device, strerror(errno));
		goto out;
	}
	out->kvm_api_version = version;
	if (version != KVM_API_VERSION) {
		snprintf(out->kvm.detail, sizeof(out->kvm.detail),
			 "%s: KVM API version %d, this build knows %d", device, version, KVM_API_VERSION);
		goto out;
	}
	/* A VM is what QEMU will ask for first; some sandboxes pass the node
	 * through but refuse this. */
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(out->kvm.detail, sizeof(out->kvm.detail),
			 "%s: KVM_CREATE_VM: %s", device, strerror(errno));
		goto out;
	}
	close(vm);
	/* PVM passes all of the above, and even runs simple code, but the
	 * guest kernel migbench boots never gets past its real-mode setup. */
	if (!strcmp(out->backend, "kvm_pvm")) {
		snprintf(out->kvm.detail, sizeof(out->kvm.detail),
			 "%s is served by kvm_pvm (software PVM, no VT-x/AMD-V), which runs only "
			 "PVM-enabled guest kernels; the guest image's kernel hangs in early boot there",
			 device);
		goto out;
	}
	out->kvm.ok = true;
	out->name = "kvm";
	snprintf(out->kvm.detail, sizeof(out->kvm.detail),
		 "%s opens, API version %d, creates VMs (%s)", device, version, out->backend);
out:
	close(fd);
}
