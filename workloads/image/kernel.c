#include "config.h"
#include "workloads/image/kernel.h"
#include "workloads/image/debian.h"
#include "workloads/image/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* x86 boot protocol (Documentation/x86/boot.rst): "HdrS" at 0x202, the
 * protocol version at 0x206, and at 0x20e the offset (minus 0x200) of a
 * NUL-terminated version string that starts with the release. */
#define BZ_MAGIC_OFF 0x202
#define BZ_PROTO_OFF 0x206
#define BZ_VERSION_PTR_OFF 0x20e

int mb_img_kernel_version(const char *vmlinuz, char *ver, size_t size, struct mb_err *err)
{
	unsigned char hdr[0x210];
	char text[256];
	int fd = open(vmlinuz, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ver[0] = '\0';
	if (fd < 0)
		return mb_errf(err, errno, "cannot open %s", vmlinuz);
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < (ssize_t)sizeof(hdr) || memcmp(hdr + BZ_MAGIC_OFF, "HdrS", 4) ||
	    (hdr[BZ_PROTO_OFF] | hdr[BZ_PROTO_OFF + 1] << 8) < 0x200) {
		close(fd);
		return 0;
	}
	uint32_t off = (uint32_t)(hdr[BZ_VERSION_PTR_OFF] | hdr[BZ_VERSION_PTR_OFF + 1] << 8) + 0x200;
	n = pread(fd, text, sizeof(text) - 1, off);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	size_t len = strcspn(text, " \n");
	if (len == 0 || len >= size)
		return 0;
	memcpy(ver, text, len);
	ver[len] = '\0';
	return 0;
}

/* --kernel without --modules: the modules of that release next to it (an
 * unpacked package: boot/vmlinuz-V beside lib/modules/V), else the host's. */
static int derive_modules_dir(struct mb_img_kernel *k, struct mb_err *err)
{
	char copy[PATH_MAX], cand[PATH_MAX];

	k->modules_dir[0] = '\0';
	if (!k->version[0])
		return 0;
	if (mb_img_path_join(copy, sizeof(copy), err, "%s", k->vmlinuz) < 0)
		return -1;
	const char *dir = dirname(copy);
	const char *const fmts[] = { "%s/../lib/modules/%s", "%s/../usr/lib/modules/%s" };
	for (size_t i = 0; i < 2; i++) {
		if (mb_img_path_join(cand, sizeof(cand), err, fmts[i], dir, k->version) < 0)
			return -1;
		if (mb_img_is_dir(cand)) {
			/* Without the "..": the path is shown to people. */
			char *abs = realpath(cand, NULL);
			if (!abs)
				return mb_errf(err, errno, "%s", cand);
			int ret = mb_img_path_join(k->modules_dir, sizeof(k->modules_dir), err, "%s", abs);
			free(abs);
			return ret;
		}
	}
	if (mb_img_path_join(cand, sizeof(cand), err, "/lib/modules/%s", k->version) < 0)
		return -1;
	if (mb_img_is_dir(cand))
		return mb_img_path_join(k->modules_dir, sizeof(k->modules_dir), err, "%s", cand);
	return 0;
}

static int has_modules_dep(const char *moddir)
{
	char dep[PATH_MAX];
	int n = snprintf(dep, sizeof(dep), "%s/modules.dep", moddir);

	return n > 0 && (size_t)n < sizeof(dep) && mb_img_is_readable_file(dep);
}

static int given_kernel(const struct mb_image_opts *opts, struct mb_img_kernel *k,
			struct mb_err *err)
{
	char base[PATH_MAX];

	if (mb_img_check_readable(opts->kernel, "--kernel", err) < 0)
		return -1;
	if (mb_img_path_join(k->vmlinuz, sizeof(k->vmlinuz), err, "%s", opts->kernel) < 0 ||
	    mb_img_kernel_version(opts->kernel, k->version, sizeof(k->version), err) < 0)
		return -1;
	snprintf(k->source, sizeof(k->source), "--kernel %s", opts->kernel);
	if (!opts->modules_dir) {
		if (derive_modules_dir(k, err) < 0)
			return -1;
		if (k->modules_dir[0] && !has_modules_dep(k->modules_dir))
			return mb_errf(err, 0, "%s (the modules of %s) has no readable modules.dep: "
				       "run `depmod -b ROOT %s` on that tree, or pass --modules DIR",
				       k->modules_dir, k->version, k->version);
		return 0;
	}
	if (!mb_img_is_dir(opts->modules_dir))
		return mb_errf(err, ENOTDIR, "--modules %s", opts->modules_dir);
	/* Without modules.dep there is no telling which modules to load. */
	if (!has_modules_dep(opts->modules_dir))
		return mb_errf(err, 0, "--modules %s has no readable modules.dep: run "
			       "`depmod -b ROOT VERSION` on that tree first", opts->modules_dir);
	if (mb_img_path_join(k->modules_dir, sizeof(k->modules_dir), err, "%s", opts->modules_dir) < 0 ||
	    mb_img_path_join(base, sizeof(base), err, "%s", opts->modules_dir) < 0)
		return -1;
	/* The directory is named after the release it belongs to; a kernel
	 * refuses modules built for another release, so say so now. */
	char *slash;
	while ((slash = strrchr(base, '/')) && slash[1] == '\0' && slash != base)
		*slash = '\0';
	const char *dir_version = (slash = strrchr(base, '/')) ? slash + 1 : base;
	if (k->version[0] && strcmp(k->version, dir_version))
		return mb_errf(err, 0, "--modules %s is for release %s but --kernel %s is %s: "
			       "the kernel would refuse those modules", opts->modules_dir,
			       dir_version, opts->kernel, k->version);
	if (!k->version[0])
		snprintf(k->version, sizeof(k->version), "%s", dir_version);
	return 0;
}

/* The host's running kernel, when its image and modules are readable (many
 * distributions make /boot/vmlinuz-* readable by root only). Returns 1 when
 * found, 0 when not usable. */
static int host_kernel(struct mb_img_kernel *k, struct mb_err *err)
{
	struct utsname u;
	char vmlinuz[PATH_MAX], moddir[PATH_MAX], dep[PATH_MAX];

	if (uname(&u) < 0)
		return 0;
	if (mb_img_path_join(vmlinuz, sizeof(vmlinuz), err, "/boot/vmlinuz-%s", u.release) < 0 ||
	    mb_img_path_join(moddir, sizeof(moddir), err, "/lib/modules/%s", u.release) < 0 ||
	    mb_img_path_join(dep, sizeof(dep), err, "%s/modules.dep", moddir) < 0)
		return -1;
	if (!mb_img_is_readable_file(vmlinuz) || !mb_img_is_readable_file(dep))
		return 0;
	snprintf(k->vmlinuz, sizeof(k->vmlinuz), "%s", vmlinuz);
	snprintf(k->modules_dir, sizeof(k->modules_dir), "%s", moddir);
	snprintf(k->version, sizeof(k->version), "%s", u.release);
	snprintf(k->source, sizeof(k->source), "host %s", vmlinuz);
	return 1;
}

int mb_img_kernel_find(const struct mb_image_opts *opts, const char *cache_dir,
		       struct mb_img_kernel *k, struct mb_err *err)
{
	char kernels[PATH_MAX];
	int found;

	*k = (struct mb_img_kernel){ 0 };
	if (opts->kernel)
		return given_kernel(opts, k, err) < 0 ? mb_err_prefix(err, "kernel") : 0;
	if (opts->modules_dir)
		return mb_errf(err, EINVAL, "--modules %s given without --kernel: modules only fit "
			       "the kernel they were built with", opts->modules_dir);
	found = host_kernel(k, err);
	if (found < 0)
		return mb_err_prefix(err, "kernel");
	if (found)
		return 0;
	if (mb_img_path_join(kernels, sizeof(kernels), err, "%s/kernels", cache_dir) < 0)
		return -1;
	if (mb_img_debian_kernel(kernels, opts->verbose, k, err) < 0) {
		char why[MB_ERR_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		mb_errf(err, 0, "no kernel for the guest image: %s (no --kernel was given and the host's "
			"/boot/vmlinuz-$(uname -r) with its modules is not readable; pass "
			"--kernel VMLINUZ [--modules DIR] to use another kernel)", why);
		err->errnum = ENOPKG;
		return -1;
	}
	return 0;
}
