/* Just enough ELF reading for the image builder: a kernel module's .modinfo
 * (for its dependencies) and whether a program needs a dynamic loader (an
 * initramfs has none). 64-bit little-endian objects only: x86-64 guests. */
#ifndef MB_IMAGE_ELF_H
#define MB_IMAGE_ELF_H

#include <stddef.h>

#include "bench/error.h"

/* Reads section `name` of the ELF file at path into a malloc'd *data. */
int mb_img_elf_section(const char *path, const char *name, char **data, size_t *size,
		   struct mb_err *err);

/* *dynamic = 1 when the program has a PT_INTERP (needs ld.so). */
int mb_img_elf_needs_interp(const char *path, int *dynamic, struct mb_err *err);

#endif
