/* A Debian root as this host (see sandbox.h). */
#define _GNU_SOURCE
#include "config.h"
#include "runners/sandbox.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/atomic_file.h"

static int add(struct mb_sandbox *sb, const char *src, const char *fstype, struct mb_err *err)
{
	for (size_t i = 0; i < sb->n; i++)
		if (!strcmp(sb->m[i].src, src))
			return 0;
	if (sb->n == MB_SANDBOX_MAX_MOUNTS)
		return mb_errf(err, E2BIG, "sandbox %s: more than %d mounts", sb->root, MB_SANDBOX_MAX_MOUNTS);
	if (snprintf(sb->m[sb->n].src, sizeof(sb->m[sb->n].src), "%s", src) >= (int)sizeof(sb->m[0].src) ||
	    strlen(sb->root) + strlen(src) >= sizeof(sb->m[0].dst))
		return mb_errf(err, ENAMETOOLONG, "sandbox %s: mount point for %s", sb->root, src);
	memcpy(sb->m[sb->n].dst, sb->root, strlen(sb->root));
	memcpy(sb->m[sb->n].dst + strlen(sb->root), src, strlen(src) + 1);
	sb->m[sb->n].fstype = fstype;
	if (mb_mkdir_p(sb->m[sb->n].dst, err))
		return mb_err_prefix(err, "sandbox %s", sb->root);
	sb->n++;
	return 0;
}

int mb_sandbox_prepare(struct mb_sandbox *sb, const char *root, const char *const dirs[],
		       struct mb_err *err)
{
	struct stat st;

	memset(sb, 0, sizeof(*sb));
	if (root[0] != '/' || snprintf(sb->root, sizeof(sb->root), "%s", root) >= (int)sizeof(sb->root))
		return mb_errf(err, EINVAL, "sandbox: root '%s' must be an absolute path", root);
	if (stat(root, &st) || !S_ISDIR(st.st_mode))
		return mb_errf(err, errno ? errno : ENOTDIR, "sandbox: root %s", root);
	if (geteuid() != 0)
		return mb_errf(err, EPERM, "running a QEMU in its own Debian root (%s) needs root "
			       "(a mount namespace and chroot)", root);
	if (add(sb, "/dev", NULL, err) || add(sb, "/proc", "proc", err) || add(sb, "/sys", NULL, err))
		return -1;
	for (size_t i = 0; dirs && dirs[i]; i++)
		if (dirs[i][0] == '/' && add(sb, dirs[i], NULL, err))
			return -1;
	return 0;
}

int mb_sandbox_enter(const struct mb_sandbox *sb)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -1;
	/* Nothing mounted here may reach the host's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (mount(sb->root, sb->root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	for (size_t i = 0; i < sb->n; i++) {
		if (sb->m[i].fstype) {
			if (mount(sb->m[i].fstype, sb->m[i].dst, sb->m[i].fstype, 0, NULL) < 0)
				return -1;
		} else if (mount(sb->m[i].src, sb->m[i].dst, NULL, MS_BIND | MS_REC, NULL) < 0) {
			return -1;
		}
	}
	if (chroot(sb->root) < 0 || chdir("/") < 0)
		return -1;
	return 0;
}
