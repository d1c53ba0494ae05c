/* The image cache: where it is, and the content hash that names images. */
#ifndef MB_IMAGE_CACHE_H
#define MB_IMAGE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "bench/error.h"

/* FNV-1a, 64 bits: not cryptographic, only a fingerprint of our own inputs,
 * so a fast and dependency-free hash is enough. */
struct mb_img_hash {
	uint64_t h;
};

void mb_img_hash_init(struct mb_img_hash *h);
void mb_img_hash_bytes(struct mb_img_hash *h, const void *data, size_t size);
/* A string with its terminating NUL, so "ab"+"c" differs from "a"+"bc". */
void mb_img_hash_str(struct mb_img_hash *h, const char *s);
/* A file's size, then its bytes. */
int mb_img_hash_file(struct mb_img_hash *h, const char *path, struct mb_err *err);
/* 16 hex digits. */
void mb_img_hash_hex(const struct mb_img_hash *h, char *buf, size_t size);

/* The cache directory: dir when not NULL, else $MIGBENCH_CACHE, else
 * $XDG_CACHE_HOME/migbench, else $HOME/.cache/migbench. Creates it. */
int mb_img_cache_dir(const char *dir, char *buf, size_t size, struct mb_err *err);

#endif
