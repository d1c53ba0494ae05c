/* File-system helpers of the image builder: everything it writes goes into
 * its cache, so these are about creating, copying and removing trees. */
#ifndef MB_IMAGE_FSUTIL_H
#define MB_IMAGE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "bench/error.h"

/* snprintf into buf; fails (ENAMETOOLONG) instead of truncating a path. */
int mb_img_path_join(char *buf, size_t size, struct mb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* rm -rf; a missing path is not an error. Does not follow symlinks. */
int mb_img_rm_rf(const char *path, struct mb_err *err);

/* Copies the bytes of src to a new file dst (mode 0644, fsynced). */
int mb_img_copy_file(const char *src, const char *dst, struct mb_err *err);

/* Reads a whole file, NUL-terminated, into *data (free it). */
int mb_img_read_file(const char *path, char **data, size_t *size, struct mb_err *err);

/* 1 when path is a directory, 0 when it is not or does not exist. */
int mb_img_is_dir(const char *path);

/* 0 when path is a regular file we can open for reading, else -1 with err
 * saying why ("WHAT PATH: No such file or directory"). */
int mb_img_check_readable(const char *path, const char *what, struct mb_err *err);

/* 1 when path is a regular file we can open for reading. */
int mb_img_is_readable_file(const char *path);

#include "bench/atomic_file.h" /* mb_mkdir_p, mb_write_text_atomic */

#endif
