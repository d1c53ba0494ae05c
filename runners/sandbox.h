/* Running a program inside a Debian root as if it were this host: a private
 * mount namespace (nothing stays mounted after the process, whatever kills
 * it), the host's /dev, /proc and /sys, chosen host directories bind-mounted
 * at their own paths, then chroot. Needs root (CAP_SYS_ADMIN).
 *
 * mb_sandbox_prepare runs in the parent (it allocates and creates mount
 * points); mb_sandbox_enter runs in the child between fork and exec and
 * makes only system calls, as a child of a threaded process must. */
#ifndef MB_RUNNERS_SANDBOX_H
#define MB_RUNNERS_SANDBOX_H

#include <limits.h>
#include <stddef.h>

#include "bench/error.h"

#define MB_SANDBOX_MAX_MOUNTS 16

struct mb_sandbox {
	char root[PATH_MAX];
	size_t n;
	struct {
		char src[PATH_MAX];
		char dst[PATH_MAX];    /* inside root */
		const char *fstype;    /* "proc", or NULL for a recursive bind */
	} m[MB_SANDBOX_MAX_MOUNTS];
};

/* The root, and host directories that must be seen at their own paths
 * inside it (NULL-terminated; duplicates are skipped).
 * Creates the mount points inside the root. */
int mb_sandbox_prepare(struct mb_sandbox *sb, const char *root, const char *const dirs[],
		       struct mb_err *err);

/* In the child: enters the sandbox. 0, or -1 with errno set. */
int mb_sandbox_enter(const struct mb_sandbox *sb);

#endif
