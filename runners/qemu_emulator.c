#include "config.h"
#include "runners/qemu_emulator.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/atomic_file.h"

/* Debian's multiarch layout, the same in every root migbench installs. */
#define LOADER "/lib64/ld-linux-x86-64.so.2"

static int shell_safe(const char *s)
{
	return !strpbrk(s, "'\"\\$`\n");
}

static int same_text(const char *path, const char *text, size_t len)
{
	char buf[8 * PATH_MAX + 1];
	FILE *f = fopen(path, "r");
	size_t got;

	if (!f)
		return 0;
	got = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return got == len && !memcmp(buf, text, len) && access(path, X_OK) == 0;
}

int mb_qemu_emulator_wrapper(const struct mb_qemu_ref *ref, char *path, size_t len, struct mb_err *err)
{
	char dir[PATH_MAX], loader[PATH_MAX + 64], text[8 * PATH_MAX], binary[PATH_MAX];
	const char *root = ref->root;
	const char *slash = strrchr(root, '/');
	int n;

	if (!root[0])
		return mb_errf(err, EINVAL, "QEMU %s runs on this host as it is: it needs no wrapper", ref->binary);
	if (!slash || !shell_safe(root) || !shell_safe(ref->binary) || !shell_safe(ref->name))
		return mb_errf(err, EINVAL, "QEMU %s: root '%s' is not a path a wrapper script can name", ref->name,
			       root);
	/* `path` may be ref->binary itself. */
	snprintf(binary, sizeof(binary), "%s", ref->binary);
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - root), root);
	snprintf(loader, sizeof(loader), "%s" LOADER, root);
	if (access(loader, X_OK))
		return mb_errf(err, errno, "QEMU %s: its root has no dynamic loader %s (reinstall it: "
			       "migbench qemu install --force %s)", ref->name, loader, ref->name);
	n = snprintf(path, len, "%s/emulator", dir);
	if (n < 0 || (size_t)n >= len)
		return mb_errf(err, ENAMETOOLONG, "QEMU %s: wrapper path under %s", ref->name, dir);
	n = snprintf(text, sizeof(text),
		     "#!/bin/sh\n"
		     "# QEMU %s from migbench's Debian root, for a libvirt daemon of this host\n"
		     "# (written by migbench: runners/qemu_emulator.c). It runs with the root's\n"
		     "# own loader, libraries, modules (TCG is one) and firmware, without a chroot.\n"
		     "R='%s'\n"
		     "QEMU_MODULE_DIR=\"$R/usr/lib/x86_64-linux-gnu/qemu\"\n"
		     "export QEMU_MODULE_DIR\n"
		     "exec \"$R%s\" --library-path \"%s\" \"$R%s\" -L \"$R/usr/share/qemu\" "
		     "-L \"$R/usr/share/seabios\" \"$@\"\n",
		     ref->name, root, LOADER, "$R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu", binary);
	if (n < 0 || (size_t)n >= sizeof(text))
		return mb_errf(err, ENAMETOOLONG, "QEMU %s: wrapper script", ref->name);
	/* Unchanged: left alone, so that libvirt's capability cache (keyed by
	 * the binary's times) stays valid. */
	if (same_text(path, text, (size_t)n))
		return 0;
	if (mb_write_text_atomic(path, text, (size_t)n, 0, err))
		return mb_err_prefix(err, "QEMU %s: writing its wrapper", ref->name);
	if (chmod(path, 0755))
		return mb_errf(err, errno, "QEMU %s: chmod 755 %s", ref->name, path);
	return 0;
}
