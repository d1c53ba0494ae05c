#include "workloads/agent/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* /dev/kmsg, opened the first time stderr turns out to be missing. */
static int kmsg_fd = -1;

void agent_log(const char *fmt, ...)
{
	int saved_errno = errno;
	char line[512];
	va_list ap;
	int len, prefix;

	prefix = snprintf(line, sizeof(line), "migbench-agent: ");
	va_start(ap, fmt);
	len = vsnprintf(line + prefix, sizeof(line) - prefix - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	len += prefix;
	if (len > (int)sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';

	/* One write() per message so lines from the two threads never interleave. */
	if (write(STDERR_FILENO, line, len) < 0 && errno == EBADF) {
		if (kmsg_fd < 0)
			kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
		if (kmsg_fd >= 0 && write(kmsg_fd, line, len) < 0) {
			/* Nowhere left to say it. */
		}
	}
	errno = saved_errno;
}
