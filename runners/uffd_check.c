/* Post-copy needs userfaultfd: the destination QEMU registers guest RAM with
 * it and fetches each page from the source on first touch. */
#include "config.h"
#include "runners/uffd_check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *syscall_hint(int errnum)
{
	switch (errnum) {
	case EPERM:
		return "needs CAP_SYS_PTRACE or vm.unprivileged_userfaultfd=1";
	case ENOSYS:
		return "kernel built without CONFIG_USERFAULTFD";
	case EINVAL:
		return "flag unknown to this kernel";
	default:
		return "";
	}
}

/* A userfaultfd is only usable after the UFFDIO_API handshake. */
static int handshake(int ufd, struct mb_check *check, const char *what)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };

	if (ioctl(ufd, UFFDIO_API, &api) < 0) {
		snprintf(check->detail, sizeof(check->detail), "%s: UFFDIO_API: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

static void probe_syscall(int flags, const char *what, struct mb_check *check)
{
#ifdef SYS_userfaultfd
	int ufd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | flags);

	if (ufd < 0) {
		int e = errno;

		snprintf(check->detail, sizeof(check->detail), "%s: %s%s%s", what, strerror(e),
			 *syscall_hint(e) ? "; " : "", syscall_hint(e));
		return;
	}
	if (handshake(ufd, check, what) == 0) {
		check->ok = true;
		snprintf(check->detail, sizeof(check->detail), "%s works", what);
	}
	close(ufd);
#else
	snprintf(check->detail, sizeof(check->detail), "%s: no such system call on this architecture", what);
#endif
}

/* Linux 6.1 added /dev/userfaultfd so that access can be granted by file
 * mode instead of capability; QEMU uses it from 8.1 on. */
static void probe_dev(struct mb_check *check)
{
	const char *dev = "/dev/userfaultfd";
	int fd, ufd;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		snprintf(check->detail, sizeof(check->detail), "open %s: %s%s", dev, strerror(e),
			 e == ENOENT ? " (kernel older than 6.1?)" :
			 e == EACCES ? " (file mode or owner of the node)" : "");
		return;
	}
#ifdef USERFAULTFD_IOC_NEW
	ufd = ioctl(fd, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	if (ufd < 0) {
		snprintf(check->detail, sizeof(check->detail), "%s: USERFAULTFD_IOC_NEW: %s", dev, strerror(errno));
	} else {
		if (handshake(ufd, check, dev) == 0) {
			check->ok = true;
			snprintf(check->detail, sizeof(check->detail), "%s works", dev);
		}
		close(ufd);
	}
#else
	(void)ufd;
	snprintf(check->detail, sizeof(check->detail), "%s: built against headers without USERFAULTFD_IOC_NEW", dev);
#endif
	close(fd);
}

void mb_probe_uffd(const struct mb_host_roots *roots, struct mb_host_uffd *out)
{
	char buf[32];

	*out = (struct mb_host_uffd){ .unprivileged = -1 };
	probe_syscall(0, "userfaultfd()", &out->syscall);
	probe_syscall(UFFD_USER_MODE_ONLY, "userfaultfd(UFFD_USER_MODE_ONLY)", &out->user_mode_only);
	probe_dev(&out->dev);
	if (mb_host_read_file(roots->procfs, "sys/vm/unprivileged_userfaultfd", buf, sizeof(buf)) == 0)
		out->unprivileged = atoi(buf);

	if (out->syscall.ok)
		out->method = "syscall";
	else if (out->dev.ok)
		out->method = "/dev/userfaultfd";
	out->postcopy = out->method != NULL;
	if (out->postcopy)
		snprintf(out->summary, sizeof(out->summary), "post-copy possible via %s",
			 out->syscall.ok ? "the userfaultfd() system call" : "/dev/userfaultfd");
	else if (out->user_mode_only.ok)
		snprintf(out->summary, sizeof(out->summary),
			 "no post-copy: only user-mode-only userfaultfd works, and QEMU needs kernel faults too "
			 "(run as root, or set vm.unprivileged_userfaultfd=1, or grant /dev/userfaultfd)");
	else
		snprintf(out->summary, sizeof(out->summary), "no post-copy: no userfaultfd works here");
}
