/* Results are written whole or not at all: a reader (or a crash) never sees
 * half a file. */
#ifndef MB_ATOMIC_FILE_H
#define MB_ATOMIC_FILE_H

#include <stdio.h>

#include <jansson.h>

#include "bench/error.h"

/* Writes `value` as indented JSON to `path` through a temporary file in the
 * same directory, fsync and rename. With `exclusive`, fails (EEXIST) rather
 * than replace an existing file. */
int mb_write_json_atomic(const char *path, const json_t *value, int exclusive,
			 struct mb_err *err);

/* Same for a text buffer. */
int mb_write_text_atomic(const char *path, const char *text, size_t len,
			 int exclusive, struct mb_err *err);

/* Same for what fill(f, arg) writes to f (returning 0, or -1 with errno
 * set): a file written as it is produced, never whole in memory. */
typedef int (*mb_fill_fn)(FILE *f, void *arg);
int mb_write_stream_atomic(const char *path, mb_fill_fn fill, void *arg, int exclusive,
			   struct mb_err *err);

/* Writes all of buf to fd, retrying short writes and EINTR. 0, or -1 with
 * errno set. */
int mb_write_all(int fd, const void *buf, size_t len);

/* An unnamed file for data too long for memory (a spool), in $TMPDIR, else
 * /var/tmp (disk, where /tmp may be memory): gone with the process however
 * it ends. Returns its descriptor, or -1 with err saying where and why. */
int mb_spool_open(const char *what, struct mb_err *err);

/* mkdir -p with mode 0755; existing directories are fine, an existing
 * non-directory is ENOTDIR. */
int mb_mkdir_p(const char *path, struct mb_err *err);

#endif
