/* A writer of cpio "newc" archives, the format the kernel unpacks as an
 * initramfs. Entries are collected first and written sorted by name, with
 * mtime 0, uid/gid 0 and sequential inode numbers, so the same entries
 * always give the same bytes whatever order they were added in. */
#ifndef MB_IMAGE_CPIO_H
#define MB_IMAGE_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/error.h"

#define MB_CPIO_MAGIC "070701"
#define MB_CPIO_HEADER_SIZE 110   /* magic + 13 fields of 8 hex digits */
#define MB_CPIO_TRAILER "TRAILER!!!"

enum mb_cpio_kind {
	MB_CPIO_DIR,
	MB_CPIO_FILE,
	MB_CPIO_CHARDEV,
};

struct mb_cpio_entry {
	char *name;               /* archive path: no leading '/', "." is the root */
	enum mb_cpio_kind kind;
	unsigned perm;            /* permission bits; the file type comes from kind */
	char *src;                /* FILE: host file whose bytes are copied at write time */
	void *data;               /* FILE without src: these bytes (owned) */
	size_t size;
	unsigned rdev_major, rdev_minor;  /* CHARDEV */
};

struct mb_cpio {
	struct mb_cpio_entry *entries;
	size_t n, cap;
};

void mb_cpio_init(struct mb_cpio *c);
void mb_cpio_free(struct mb_cpio *c);

/* Each add also adds the missing parent directories (mode 0755). Paths may
 * start with '/'. Adding a directory twice is harmless; adding any other
 * name twice is an error. */
int mb_cpio_add_dir(struct mb_cpio *c, const char *path, unsigned perm, struct mb_err *err);
int mb_cpio_add_file(struct mb_cpio *c, const char *path, unsigned perm, const char *src,
		     struct mb_err *err);
int mb_cpio_add_data(struct mb_cpio *c, const char *path, unsigned perm, const void *data,
		     size_t size, struct mb_err *err);
int mb_cpio_add_chardev(struct mb_cpio *c, const char *path, unsigned perm, unsigned major,
			unsigned minor, struct mb_err *err);

/* Writes the archive (sorted entries, then the trailer) to out; *written
 * gets the number of bytes when not NULL. */
int mb_cpio_write(struct mb_cpio *c, FILE *out, uint64_t *written, struct mb_err *err);

/* The same into path, atomically: a temporary file, fsync, rename. */
int mb_cpio_write_file(struct mb_cpio *c, const char *path, uint64_t *written,
		       struct mb_err *err);

#endif
