/* modules.dep for a module tree that has none. Debian's kernel packages ship
 * modules without it (depmod runs when the package is installed, and we only
 * unpack it), so the builder writes one from each module's .modinfo
 * "depends=" field, in depmod's format (direct dependencies only, which is
 * all mb_modules_resolve needs). */
#ifndef MB_IMAGE_DEPMOD_H
#define MB_IMAGE_DEPMOD_H

#include "bench/error.h"

/* Writes moddir/modules.dep for every module file under moddir. Compressed
 * modules cannot be read here: that is an error telling to run depmod. */
int mb_img_depmod_write(const char *moddir, struct mb_err *err);

/* The "depends=" value of one uncompressed module ("" when it has none),
 * into buf. */
int mb_img_modinfo_depends(const char *ko, char *buf, size_t size, struct mb_err *err);

#endif
