#include "config.h"
#include "bench/host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void root_from_env(char *dst, size_t size, const char *var, const char *fallback)
{
	const char *v = getenv(var);

	snprintf(dst, size, "%s", v && *v ? v : fallback);
}

void mb_host_roots_from_env(struct mb_host_roots *roots)
{
	root_from_env(roots->sysfs, sizeof(roots->sysfs), "MIGBENCH_SYSFS_ROOT", "/sys");
	root_from_env(roots->procfs, sizeof(roots->procfs), "MIGBENCH_PROCFS_ROOT", "/proc");
}

int mb_host_read_file(const char *root, const char *rel, char *buf, size_t size)
{
	char path[PATH_MAX * 2];
	ssize_t n;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static char host_name[HOST_NAME_MAX + 1];

static void read_host_name(void)
{
	if (gethostname(host_name, sizeof(host_name) - 1))
		host_name[0] = '\0';
}

const char *mb_host_name(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, read_host_name);
	return host_name[0] ? host_name : "localhost";
}

