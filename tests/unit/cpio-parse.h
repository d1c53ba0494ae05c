/* A strict reader of newc archives for the image builder's tests: it
 * checks what the kernel's initramfs unpacker relies on (magic, 4-byte
 * alignment, trailer) while parsing, and hands back the entries. */
#ifndef MB_TEST_CPIO_PARSE_H
#define MB_TEST_CPIO_PARSE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CPIO_MAX_ENTRIES 64

struct cpio_parsed_entry {
	char name[256];
	uint32_t ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor;
	uint32_t rdevmajor, rdevminor, check;
	size_t header_off, data_off;
	const unsigned char *data;
};

struct cpio_parsed {
	struct cpio_parsed_entry e[CPIO_MAX_ENTRIES];
	size_t n;              /* entries before the trailer */
	int has_trailer;
	size_t end;            /* offset just past the trailer's padding */
};

static uint32_t cpio_hex8(const unsigned char *p)
{
	char buf[9];

	memcpy(buf, p, 8);
	buf[8] = '\0';
	return (uint32_t)strtoul(buf, NULL, 16);
}

/* Returns NULL when the archive is well formed, else what is wrong. */
static const char *cpio_parse(const unsigned char *buf, size_t len, struct cpio_parsed *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	while (off < len) {
		struct cpio_parsed_entry e = { .header_off = off };
		uint32_t f[13];

		if (off % 4)
			return "header not 4-byte aligned";
		if (len - off < 110)
			return "truncated header";
		if (memcmp(buf + off, "070701", 6))
			return "bad magic";
		for (int i = 0; i < 13; i++)
			f[i] = cpio_hex8(buf + off + 6 + 8 * i);
		e.ino = f[0]; e.mode = f[1]; e.uid = f[2]; e.gid = f[3]; e.nlink = f[4];
		e.mtime = f[5]; e.filesize = f[6]; e.devmajor = f[7]; e.devminor = f[8];
		e.rdevmajor = f[9]; e.rdevminor = f[10]; e.check = f[12];
		uint32_t namesize = f[11];
		if (namesize == 0 || namesize > sizeof(e.name) || off + 110 + namesize > len)
			return "bad name size";
		if (buf[off + 110 + namesize - 1] != '\0')
			return "name not NUL-terminated";
		memcpy(e.name, buf + off + 110, namesize);
		off += 110 + namesize;
		while (off % 4) {
			if (off >= len || buf[off])
				return "name padding missing or not zero";
			off++;
		}
		e.data_off = off;
		e.data = buf + off;
		if (off + e.filesize > len)
			return "truncated data";
		off += e.filesize;
		while (off % 4) {
			if (off >= len || buf[off])
				return "data padding missing or not zero";
			off++;
		}
		if (!strcmp(e.name, "TRAILER!!!")) {
			out->has_trailer = 1;
			out->end = off;
			return off == len ? NULL : "bytes after the trailer";
		}
		if (out->n == CPIO_MAX_ENTRIES)
			return "too many entries";
		out->e[out->n++] = e;
	}
	return "no trailer";
}

static const struct cpio_parsed_entry *cpio_find(const struct cpio_parsed *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].name, name))
			return &p->e[i];
	return NULL;
}

/* Reads a whole file into a malloc'd buffer (NULL on failure). */
static unsigned char *cpio_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#endif
