#include "config.h"
#include "bench/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mb_mkdir_p(const char *path, struct mb_err *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	struct stat st;

	if (len == 0 || len >= sizeof(buf))
		return mb_errf(err, ENAMETOOLONG, "create directory '%s'", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return mb_errf(err, errno, "create directory '%s'", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return mb_errf(err, errno, "create directory '%s'", buf);
	if (stat(buf, &st))
		return mb_errf(err, errno, "create directory '%s'", buf);
	if (!S_ISDIR(st.st_mode))
		return mb_errf(err, ENOTDIR, "create directory '%s'", buf);
	return 0;
}

int mb_spool_open(const char *what, struct mb_err *err)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (!dir || !*dir)
		dir = "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* A file system without O_TMPFILE: named for a moment. */
		snprintf(path, sizeof(path), "%s/migbench-spool-XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return mb_errf(err, errno, "%s: spool file in %s", what, dir);
	return fd;
}

int mb_write_all(int fd, const void *data, size_t len)
{
	const char *buf = data;

	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int mb_write_stream_atomic(const char *path, mb_fill_fn fill, void *arg, int exclusive, struct mb_err *err)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return mb_errf(err, ENAMETOOLONG, "write '%s'", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return mb_errf(err, errno, "write '%s': create temporary file", path);
	f = fdopen(fd, "w");
	if (!f) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return mb_errf(err, e, "write '%s'", tmp);
	}
	errno = 0;
	if (fill(f, arg) || fflush(f) || ferror(f) || fsync(fd) || fchmod(fd, 0644)) {
		int e = errno ? errno : EIO;

		fclose(f);
		unlink(tmp);
		return mb_errf(err, e, "write '%s'", tmp);
	}
	if (fclose(f)) {
		int e = errno;

		unlink(tmp);
		return mb_errf(err, e, "write '%s'", tmp);
	}
	/* link() fails on an existing target, which rename() would replace. */
	if (exclusive ? link(tmp, path) : rename(tmp, path)) {
		int e = errno;

		unlink(tmp);
		return mb_errf(err, e, "write '%s'", path);
	}
	if (exclusive)
		unlink(tmp);
	return 0;
}

struct text {
	const char *text;
	size_t len;
};

static int fill_text(FILE *f, void *arg)
{
	const struct text *t = arg;

	return t->len && fwrite(t->text, t->len, 1, f) != 1 ? -1 : 0;
}

int mb_write_text_atomic(const char *path, const char *text, size_t len,
			 int exclusive, struct mb_err *err)
{
	struct text t = { .text = text, .len = len };

	return mb_write_stream_atomic(path, fill_text, &t, exclusive, err);
}

int mb_write_json_atomic(const char *path, const json_t *value, int exclusive,
			 struct mb_err *err)
{
	char *text = json_dumps(value, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	size_t len;
	char *with_newline;
	int rc;

	if (!text)
		return mb_errf(err, ENOMEM, "write '%s': serialise JSON", path);
	len = strlen(text);
	with_newline = realloc(text, len + 2);
	if (!with_newline) {
		free(text);
		return mb_errf(err, ENOMEM, "write '%s'", path);
	}
	with_newline[len] = '\n';
	with_newline[len + 1] = '\0';
	rc = mb_write_text_atomic(path, with_newline, len + 1, exclusive, err);
	free(with_newline);
	return rc;
}
