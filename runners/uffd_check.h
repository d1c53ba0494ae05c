/* Whether post-copy can work here: userfaultfd as QEMU needs it. */
#ifndef MB_UFFD_CHECK_H
#define MB_UFFD_CHECK_H

#include "bench/host.h"

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

#endif
