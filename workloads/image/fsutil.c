#include "config.h"
#include "workloads/image/fsutil.h"
#include "bench/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mb_img_path_join(char *buf, size_t size, struct mb_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return mb_errf(err, ENAMETOOLONG, "path '%.64s...' does not fit in %zu bytes", buf, size);
	return 0;
}

int mb_img_rm_rf(const char *path, struct mb_err *err)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char child[PATH_MAX];

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : mb_errf(err, errno, "cannot stat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return mb_errf(err, errno, "cannot remove %s", path);
		return 0;
	}
	d = opendir(path);
	if (!d)
		return mb_errf(err, errno, "cannot open directory %s", path);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (mb_img_path_join(child, sizeof(child), err, "%s/%s", path, e->d_name) < 0 ||
		    mb_img_rm_rf(child, err) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		return mb_errf(err, errno, "cannot remove directory %s", path);
	return 0;
}

int mb_img_copy_file(const char *src, const char *dst, struct mb_err *err)
{
	char buf[1 << 16];
	int in, out;
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return mb_errf(err, errno, "cannot open %s", src);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		mb_errf(err, errno, "cannot create %s", dst);
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mb_errf(err, errno, "cannot read %s", src);
			goto fail;
		}
		if (mb_write_all(out, buf, (size_t)n) < 0) {
			mb_errf(err, errno, "cannot write %s", dst);
			goto fail;
		}
	}
	if (fsync(out) < 0 || close(out) < 0) {
		out = -1;
		mb_errf(err, errno, "cannot write %s", dst);
		goto fail;
	}
	close(in);
	return 0;
fail:
	close(in);
	if (out >= 0)
		close(out);
	unlink(dst);
	return -1;
}

int mb_img_read_file(const char *path, char **data, size_t *size, struct mb_err *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return mb_errf(err, errno, "cannot open %s", path);
	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nbuf = realloc(buf, ncap);
			if (!nbuf) {
				free(buf);
				fclose(f);
				return mb_errf(err, ENOMEM, "cannot read %s", path);
			}
			buf = nbuf;
			cap = ncap;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;
		free(buf);
		fclose(f);
		return mb_errf(err, e ? e : EIO, "cannot read %s", path);
	}
	fclose(f);
	buf[len] = '\0';
	*data = buf;
	if (size)
		*size = len;
	return 0;
}

int mb_img_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int mb_img_check_readable(const char *path, const char *what, struct mb_err *err)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0)
		return mb_errf(err, errno, "%s %s", what, path);
	if (!S_ISREG(st.st_mode))
		return mb_errf(err, 0, "%s %s is not a regular file", what, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mb_errf(err, errno, "%s %s", what, path);
	close(fd);
	return 0;
}

int mb_img_is_readable_file(const char *path)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	/* access() would answer for the real uid; opening answers for us. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}
