/* The host description that does not need its own file: the machine,
 * the optional libraries, and the run-every-probe entry point. */
#include "config.h"
#include "bench/host_probe.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* "model name : AMD EPYC 7B13" on x86; other architectures name it
 * differently, and "unknown" is an honest answer there. */
static void cpu_model(const char *procfs, char *dst, size_t size)
{
	char path[PATH_MAX + 16], line[512];
	FILE *f;

	snprintf(dst, size, "unknown");
	snprintf(path, sizeof(path), "%s/cpuinfo", procfs);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon++;
		colon += strspn(colon, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(dst, size, "%s", colon);
		break;
	}
	fclose(f);
}

void mb_probe_system(const struct mb_host_roots *roots, struct mb_host_system *out)
{
	struct utsname u;

	*out = (struct mb_host_system){ .cores_online = -1, .cores_configured = -1 };
	if (uname(&u) == 0) {
		snprintf(out->kernel, sizeof(out->kernel), "%s %s %s", u.sysname, u.release, u.machine);
		snprintf(out->kernel_release, sizeof(out->kernel_release), "%s", u.release);
		snprintf(out->machine, sizeof(out->machine), "%s", u.machine);
		snprintf(out->hostname, sizeof(out->hostname), "%s", u.nodename);
	} else {
		snprintf(out->kernel, sizeof(out->kernel), "unknown (uname: %s)", strerror(errno));
	}
	cpu_model(roots->procfs, out->cpu_model, sizeof(out->cpu_model));
	out->cores_online = sysconf(_SC_NPROCESSORS_ONLN);
	out->cores_configured = sysconf(_SC_NPROCESSORS_CONF);
}

void mb_probe_libs(struct mb_host_libs *out)
{
	*out = (struct mb_host_libs){
#ifdef HAVE_LIBVIRT
		.libvirt = true,
#endif
#ifdef HAVE_HWLOC
		.hwloc = true,
#endif
#ifdef HAVE_LIBPFM
		.libpfm4 = true,
#endif
#ifdef HAVE_PAPI
		.papi = true,
#endif
	};
}

/* /dev/userfaultfd only helps QEMU from 8.1 on; older ones call the
 * syscall and nothing else. */
static void uffd_for_this_qemu(struct mb_host_uffd *uffd, const struct mb_host_qemu *qemu)
{
	const struct mb_qemu_version *v = &qemu->version;

	if (!qemu->found.ok || uffd->syscall.ok || !uffd->dev.ok)
		return;
	if (v->major > 8 || (v->major == 8 && v->minor >= 1))
		return;
	uffd->postcopy = false;
	uffd->method = NULL;
	snprintf(uffd->summary, sizeof(uffd->summary),
		 "no post-copy: only /dev/userfaultfd works, and QEMU %s uses it from 8.1 on",
		 v->text);
}

void mb_host_probe_all(const char *qemu_binary, struct mb_host_report *out)
{
	*out = (struct mb_host_report){ 0 };
	mb_host_roots_from_env(&out->roots);
	mb_probe_system(&out->roots, &out->system);
	mb_probe_accel(MB_KVM_DEVICE, &out->accel);
	mb_probe_qemu(qemu_binary, &out->qemu);
	mb_probe_uffd(&out->roots, &out->uffd);
	uffd_for_this_qemu(&out->uffd, &out->qemu);
	mb_probe_rapl(&out->roots, !strcmp(out->roots.sysfs, "/sys"), &out->rapl);
	mb_probe_perf(&out->roots, &out->perf);
	mb_probe_libs(&out->libs);

	/* QEMU is the one thing migbench cannot do without; everything else
	 * only removes a metric or a migration mode. */
	out->ready = out->qemu.found.ok;
	if (!out->ready)
		snprintf(out->reason, sizeof(out->reason), "QEMU unusable: %s", out->qemu.found.detail);
}
