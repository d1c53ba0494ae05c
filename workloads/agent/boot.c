#include "workloads/agent/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workloads/agent/log.h"

struct kernel_fs {
	const char *source;
	const char *target;
	const char *type;
	unsigned long flags;
};

static const struct kernel_fs kernel_filesystems[] = {
	{ .source = "proc", .target = "/proc", .type = "proc", .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ .source = "sysfs", .target = "/sys", .type = "sysfs", .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ .source = "devtmpfs", .target = "/dev", .type = "devtmpfs", .flags = MS_NOSUID },
};

int boot_mount_filesystems(void)
{
	int failures = 0;

	for (size_t i = 0; i < sizeof(kernel_filesystems) / sizeof(kernel_filesystems[0]); i++) {
		const struct kernel_fs *fs = &kernel_filesystems[i];

		if (mkdir(fs->target, 0755) < 0 && errno != EEXIST)
			agent_log("cannot create mount point %s: %s", fs->target, strerror(errno));
		if (mount(fs->source, fs->target, fs->type, fs->flags, NULL) < 0 && errno != EBUSY) {
			agent_log("cannot mount %s on %s: %s", fs->type, fs->target, strerror(errno));
			failures++;
		}
	}
	return failures;
}

void boot_ensure_console(void)
{
	int fd = -1;

	for (int wanted = STDIN_FILENO; wanted <= STDERR_FILENO; wanted++) {
		if (fcntl(wanted, F_GETFD) >= 0)
			continue;
		if (fd < 0)
			fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd < 0)
			fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			return; /* nothing to open: log.c falls back to /dev/kmsg */
		if (fd != wanted)
			dup2(fd, wanted);
	}
	if (fd > STDERR_FILENO)
		close(fd);
}
