#include "config.h"
#include "workloads/image/cache.h"
#include "workloads/image/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

void mb_img_hash_init(struct mb_img_hash *h)
{
	h->h = FNV_OFFSET;
}

void mb_img_hash_bytes(struct mb_img_hash *h, const void *data, size_t size)
{
	const unsigned char *p = data;
	uint64_t v = h->h;

	for (size_t i = 0; i < size; i++) {
		v ^= p[i];
		v *= FNV_PRIME;
	}
	h->h = v;
}

void mb_img_hash_str(struct mb_img_hash *h, const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	mb_img_hash_bytes(h, s, n + 1);
}

int mb_img_hash_file(struct mb_img_hash *h, const char *path, struct mb_err *err)
{
	unsigned char buf[1 << 16];
	uint64_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return mb_errf(err, errno, "cannot open %s", path);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mb_errf(err, errno, "cannot read %s", path);
			close(fd);
			return -1;
		}
		mb_img_hash_bytes(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	close(fd);
	/* The length closes the field: file contents cannot run into the next
	 * input and collide with a different split. */
	mb_img_hash_bytes(h, &total, sizeof(total));
	return 0;
}

void mb_img_hash_hex(const struct mb_img_hash *h, char *buf, size_t size)
{
	snprintf(buf, size, "%016" PRIx64, h->h);
}

int mb_img_cache_dir(const char *dir, char *buf, size_t size, struct mb_err *err)
{
	const char *env;
	int ret;

	if (dir && *dir)
		ret = mb_img_path_join(buf, size, err, "%s", dir);
	else if ((env = getenv("MIGBENCH_CACHE")) && *env)
		ret = mb_img_path_join(buf, size, err, "%s", env);
	else if ((env = getenv("XDG_CACHE_HOME")) && *env)
		ret = mb_img_path_join(buf, size, err, "%s/migbench", env);
	else if ((env = getenv("HOME")) && *env)
		ret = mb_img_path_join(buf, size, err, "%s/.cache/migbench", env);
	else
		return mb_errf(err, 0, "no cache directory: none given and neither MIGBENCH_CACHE, "
			       "XDG_CACHE_HOME nor HOME is set");
	if (ret < 0 || mb_mkdir_p(buf, err) < 0)
		return mb_err_prefix(err, "cache directory");
	/* Absolute, so the image paths handed to QEMU work from any directory. */
	char *abs = realpath(buf, NULL);
	if (!abs)
		return mb_errf(err, errno, "cache directory %s", buf);
	ret = mb_img_path_join(buf, size, err, "%s", abs);
	free(abs);
	return ret;
}
