#include "workloads/agent/modules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "workloads/agent/log.h"

static int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int saved_errno;

	if (fd < 0) {
		agent_log("cannot open module %s: %s", path, strerror(errno));
		return -1;
	}
	/* glibc has no wrapper for finit_module. */
	if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) {
		saved_errno = errno;
		close(fd);
		agent_log("cannot load module %s: %s", path, strerror(saved_errno));
		return -1;
	}
	close(fd);
	return 0;
}

int modules_load_list(const char *list_path)
{
	char line[1024];
	int failures = 0;
	FILE *list = fopen(list_path, "re");

	if (!list) {
		if (errno != ENOENT)
			agent_log("cannot read module list %s: %s", list_path, strerror(errno));
		return errno == ENOENT ? 0 : 1;
	}
	while (fgets(line, sizeof(line), list)) {
		char *path = line + strspn(line, " \t");

		path[strcspn(path, "\r\n")] = '\0';
		for (size_t end = strlen(path); end > 0 && (path[end - 1] == ' ' || path[end - 1] == '\t'); end--)
			path[end - 1] = '\0';
		if (*path == '\0' || *path == '#')
			continue;
		if (load_module(path))
			failures++;
	}
	fclose(list);
	return failures;
}
