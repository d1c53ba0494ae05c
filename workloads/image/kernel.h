/* Which kernel the guest boots: the one given, else the host's own, else
 * Debian's cloud kernel fetched into the cache (see debian.h). */
#ifndef MB_IMAGE_KERNEL_H
#define MB_IMAGE_KERNEL_H

#include <stddef.h>

#include "bench/error.h"
#include "workloads/image/image.h"

struct mb_img_kernel {
	char vmlinuz[4096];
	char modules_dir[4096];   /* lib/modules/<ver>; "" when there is none (all built in, we hope) */
	char version[128];        /* "" when unknown */
	char source[256];         /* where it came from, for reports */
};

/* Fills k per opts. When no kernel can be had at all, err->errnum is ENOPKG
 * (see mb_image_ensure). */
int mb_img_kernel_find(const struct mb_image_opts *opts, const char *cache_dir,
		       struct mb_img_kernel *k, struct mb_err *err);

/* The release a bzImage announces in its setup header ("6.1.0-56-cloud-amd64"),
 * or "" when the file is not a bzImage (a vmlinux, a test fake). */
int mb_img_kernel_version(const char *vmlinuz, char *ver, size_t size, struct mb_err *err);

#endif
