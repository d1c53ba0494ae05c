#include "config.h"
#include "workloads/image/cpio.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void mb_cpio_init(struct mb_cpio *c)
{
	*c = (struct mb_cpio){ 0 };
}

void mb_cpio_free(struct mb_cpio *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].name);
		free(c->entries[i].src);
		free(c->entries[i].data);
	}
	free(c->entries);
	mb_cpio_init(c);
}

/* "/lib//x/" -> "lib/x"; "/" -> "."; refuses ".." and "." components, which
 * would let an entry land outside where its name says. */
static int normalize(const char *path, char *out, size_t size, struct mb_err *err)
{
	size_t n = 0;
	const char *p = path;

	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return mb_errf(err, EINVAL, "cpio: entry name '%s' has a '.' or '..' component", path);
		if (n + (n ? 1 : 0) + len + 1 > size)
			return mb_errf(err, ENAMETOOLONG, "cpio: entry name '%s'", path);
		if (n)
			out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
		p += len;
	}
	if (n == 0)
		out[n++] = '.';
	out[n] = '\0';
	return 0;
}

static struct mb_cpio_entry *find(struct mb_cpio *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->entries[i].name, name))
			return &c->entries[i];
	return NULL;
}

static struct mb_cpio_entry *append(struct mb_cpio *c, const char *name, enum mb_cpio_kind kind,
				    unsigned perm, struct mb_err *err)
{
	struct mb_cpio_entry *e;

	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 32;
		e = realloc(c->entries, ncap * sizeof(*e));
		if (!e) {
			mb_errf(err, ENOMEM, "cpio: adding %s", name);
			return NULL;
		}
		c->entries = e;
		c->cap = ncap;
	}
	e = &c->entries[c->n];
	*e = (struct mb_cpio_entry){ .kind = kind, .perm = perm & 07777, .name = strdup(name) };
	if (!e->name) {
		mb_errf(err, ENOMEM, "cpio: adding %s", name);
		return NULL;
	}
	c->n++;
	return e;
}

/* Adds name (normalized) and its parents as directories where missing. */
static int add_dirs(struct mb_cpio *c, const char *name, unsigned perm, struct mb_err *err)
{
	char buf[PATH_MAX];
	struct mb_cpio_entry *e;

	if (strcmp(name, ".") && !find(c, ".") && !append(c, ".", MB_CPIO_DIR, 0755, err))
		return -1;
	snprintf(buf, sizeof(buf), "%s", name);
	for (char *p = buf; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		e = find(c, buf);
		if (e && e->kind != MB_CPIO_DIR)
			return mb_errf(err, EEXIST, "cpio: %s is already in the archive, not as a directory", buf);
		if (!e && !append(c, buf, MB_CPIO_DIR, saved ? 0755 : perm, err))
			return -1;
		*p = saved;
		if (!saved)
			break;
	}
	return 0;
}

/* Normalizes path, makes its parents, refuses duplicates, appends. */
static struct mb_cpio_entry *add_leaf(struct mb_cpio *c, const char *path, enum mb_cpio_kind kind,
				      unsigned perm, struct mb_err *err)
{
	char name[PATH_MAX];
	char *slash;

	if (normalize(path, name, sizeof(name), err) < 0)
		return NULL;
	if (!strcmp(name, ".")) {
		mb_errf(err, EINVAL, "cpio: '%s' names the root, which can only be a directory", path);
		return NULL;
	}
	if (find(c, name)) {
		mb_errf(err, EEXIST, "cpio: %s added twice", name);
		return NULL;
	}
	slash = strrchr(name, '/');
	if (slash) {
		*slash = '\0';
		if (add_dirs(c, name, 0755, err) < 0)
			return NULL;
		*slash = '/';
	} else if (add_dirs(c, ".", 0755, err) < 0) {
		return NULL;
	}
	return append(c, name, kind, perm, err);
}

int mb_cpio_add_dir(struct mb_cpio *c, const char *path, unsigned perm, struct mb_err *err)
{
	char name[PATH_MAX];

	if (normalize(path, name, sizeof(name), err) < 0)
		return -1;
	return add_dirs(c, name, perm, err);
}

int mb_cpio_add_file(struct mb_cpio *c, const char *path, unsigned perm, const char *src,
		     struct mb_err *err)
{
	struct mb_cpio_entry *e = add_leaf(c, path, MB_CPIO_FILE, perm, err);

	if (!e)
		return -1;
	e->src = strdup(src);
	if (!e->src)
		return mb_errf(err, ENOMEM, "cpio: adding %s", path);
	return 0;
}

int mb_cpio_add_data(struct mb_cpio *c, const char *path, unsigned perm, const void *data,
		     size_t size, struct mb_err *err)
{
	struct mb_cpio_entry *e = add_leaf(c, path, MB_CPIO_FILE, perm, err);

	if (!e)
		return -1;
	e->data = malloc(size ? size : 1);
	if (!e->data)
		return mb_errf(err, ENOMEM, "cpio: adding %s", path);
	memcpy(e->data, data, size);
	e->size = size;
	return 0;
}

int mb_cpio_add_chardev(struct mb_cpio *c, const char *path, unsigned perm, unsigned major,
			unsigned minor, struct mb_err *err)
{
	struct mb_cpio_entry *e = add_leaf(c, path, MB_CPIO_CHARDEV, perm, err);

	if (!e)
		return -1;
	e->rdev_major = major;
	e->rdev_minor = minor;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct mb_cpio_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Pads the stream to a multiple of 4 bytes, as newc wants after the
 * header+name and after the data. */
static int pad4(FILE *out, uint64_t *off)
{
	static const char zeros[4];
	size_t n = (size_t)((4 - (*off & 3)) & 3);

	if (n && fwrite(zeros, 1, n, out) != n)
		return -1;
	*off += n;
	return 0;
}

static int write_header(FILE *out, uint64_t *off, const char *name, uint32_t ino, uint32_t mode,
			uint32_t nlink, uint32_t filesize, uint32_t rmaj, uint32_t rmin)
{
	char hdr[MB_CPIO_HEADER_SIZE + 1];
	size_t namesize = strlen(name) + 1;

	/* magic ino mode uid gid nlink mtime filesize devmajor devminor
	 * rdevmajor rdevminor namesize check */
	snprintf(hdr, sizeof(hdr), "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 MB_CPIO_MAGIC, ino, mode, 0u, 0u, nlink, 0u, filesize, 0u, 0u, rmaj, rmin,
		 (uint32_t)namesize, 0u);
	if (fwrite(hdr, 1, MB_CPIO_HEADER_SIZE, out) != MB_CPIO_HEADER_SIZE ||
	    fwrite(name, 1, namesize, out) != namesize)
		return -1;
	*off += MB_CPIO_HEADER_SIZE + namesize;
	return pad4(out, off);
}

/* Streams a host file's bytes, checking it still has the size announced in
 * the header: a file changing under us must not corrupt the archive. */
static int copy_src(FILE *out, uint64_t *off, const char *src, uint64_t size, struct mb_err *err)
{
	char buf[1 << 16];
	FILE *in = fopen(src, "rb");
	uint64_t done = 0;
	size_t n;

	if (!in)
		return mb_errf(err, errno, "cpio: cannot open %s", src);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (done + n > size)
			break;
		if (fwrite(buf, 1, n, out) != n) {
			fclose(in);
			return mb_errf(err, errno, "cpio: cannot write the archive");
		}
		done += n;
	}
	if (ferror(in)) {
		int e = errno;
		fclose(in);
		return mb_errf(err, e, "cpio: cannot read %s", src);
	}
	fclose(in);
	if (done != size)
		return mb_errf(err, 0, "cpio: %s changed size while being archived", src);
	*off += size;
	return 0;
}

int mb_cpio_write(struct mb_cpio *c, FILE *out, uint64_t *written, struct mb_err *err)
{
	uint64_t off = 0;
	uint32_t ino = 1;

	/* Sorting makes the bytes independent of the order of the adds, and puts
	 * every directory before its contents (a prefix sorts first). */
	if (c->n)
		qsort(c->entries, c->n, sizeof(*c->entries), by_name);
	for (size_t i = 0; i < c->n; i++, ino++) {
		struct mb_cpio_entry *e = &c->entries[i];
		uint64_t size = 0;
		uint32_t mode = e->perm, nlink = 1;
		struct stat st;

		switch (e->kind) {
		case MB_CPIO_DIR:
			mode |= S_IFDIR;
			nlink = 2;
			break;
		case MB_CPIO_CHARDEV:
			mode |= S_IFCHR;
			break;
		case MB_CPIO_FILE:
			mode |= S_IFREG;
			if (!e->src) {
				size = e->size;
			} else if (stat(e->src, &st) < 0) {
				return mb_errf(err, errno, "cpio: cannot stat %s (for %s)", e->src, e->name);
			} else {
				size = (uint64_t)st.st_size;
			}
			if (size > UINT32_MAX)
				return mb_errf(err, EFBIG, "cpio: %s is larger than newc's 4 GiB", e->name);
			break;
		}
		if (write_header(out, &off, e->name, ino, mode, nlink, (uint32_t)size,
				 e->rdev_major, e->rdev_minor) < 0)
			return mb_errf(err, errno, "cpio: cannot write the header of %s", e->name);
		if (e->kind == MB_CPIO_FILE) {
			if (e->src) {
				if (copy_src(out, &off, e->src, size, err) < 0)
					return -1;
			} else if (size && fwrite(e->data, 1, size, out) != size) {
				return mb_errf(err, errno, "cpio: cannot write %s", e->name);
			} else {
				off += size;
			}
			if (pad4(out, &off) < 0)
				return mb_errf(err, errno, "cpio: cannot write %s", e->name);
		}
	}
	if (write_header(out, &off, MB_CPIO_TRAILER, 0, 0, 1, 0, 0, 0) < 0 || fflush(out) != 0)
		return mb_errf(err, errno, "cpio: cannot write the trailer");
	if (written)
		*written = off;
	return 0;
}

int mb_cpio_write_file(struct mb_cpio *c, const char *path, uint64_t *written,
		       struct mb_err *err)
{
	char tmp[PATH_MAX];
	FILE *out;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return mb_errf(err, ENAMETOOLONG, "cpio: %s", path);
	out = fopen(tmp, "wb");
	if (!out)
		return mb_errf(err, errno, "cpio: cannot create %s", tmp);
	if (mb_cpio_write(c, out, written, err) < 0) {
		fclose(out);
		unlink(tmp);
		return mb_err_prefix(err, "writing %s", path);
	}
	if (fsync(fileno(out)) < 0 || fclose(out) != 0) {
		mb_errf(err, errno, "cpio: cannot write %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		mb_errf(err, errno, "cpio: cannot rename %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}
