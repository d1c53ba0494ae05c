/* Debian's cloud kernel, fetched without installing it: `apt-get download`
 * the meta package, follow its Depends to the real linux-image package,
 * download that and `dpkg-deb -x` it into the cache. A kernel unpacked
 * earlier is reused without touching the network. */
#ifndef MB_IMAGE_DEBIAN_H
#define MB_IMAGE_DEBIAN_H

#include "bench/error.h"
#include "workloads/image/kernel.h"

/* The meta package that always depends on the current cloud kernel. */
#define MB_IMG_DEBIAN_META "linux-image-cloud-amd64"

/* Fills k from kernels_dir (<cache>/kernels), fetching when it holds none. */
int mb_img_debian_kernel(const char *kernels_dir, int verbose, struct mb_img_kernel *k,
			 struct mb_err *err);

#endif
