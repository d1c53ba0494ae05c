#include "config.h"
#include "workloads/image/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: report errno through the status pipe and die. Only
 * async-signal-safe calls here. */
static void child_fail(int status_fd)
{
	int e = errno;
	ssize_t n = write(status_fd, &e, sizeof(e));

	(void)n;
	_exit(127);
}

static void child(const char *const argv[], const char *cwd, int out_fd, int err_fd,
		  int status_fd)
{
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(err_fd, STDERR_FILENO) < 0)
		child_fail(status_fd);
	if (cwd && chdir(cwd) < 0)
		child_fail(status_fd);
	execvp(argv[0], (char *const *)argv);
	child_fail(status_fd);
}

/* Appends to the start buffer while there is room. */
static void keep_head(char *buf, size_t size, const char *data, size_t n)
{
	size_t len = strlen(buf), room = size - 1 - len;

	if (n > room)
		n = room;
	memcpy(buf + len, data, n);
	buf[len + n] = '\0';
}

/* Keeps the last size-1 bytes seen. */
static void keep_tail(char *buf, size_t size, const char *data, size_t n)
{
	size_t len = strlen(buf);

	if (n >= size - 1) {
		data += n - (size - 1);
		n = size - 1;
	}
	if (len + n > size - 1) {
		size_t drop = len + n - (size - 1);
		memmove(buf, buf + drop, len - drop);
		len -= drop;
	}
	memcpy(buf + len, data, n);
	buf[len + n] = '\0';
}

/* Reads both pipes until the child closes them. */
static void drain(int out_fd, int err_fd, struct mb_img_spawn_result *res)
{
	struct pollfd fds[2] = {
		{ .fd = out_fd, .events = POLLIN },
		{ .fd = err_fd, .events = POLLIN },
	};
	char buf[4096];

	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
			} else if (i == 0) {
				keep_head(res->out, sizeof(res->out), buf, (size_t)n);
			} else {
				keep_tail(res->errtail, sizeof(res->errtail), buf, (size_t)n);
			}
		}
	}
}

int mb_img_spawn(const char *const argv[], const char *cwd, struct mb_img_spawn_result *res,
	     struct mb_err *err)
{
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, status[2] = { -1, -1 };
	int wstatus, child_errno;
	pid_t pid;
	ssize_t n;

	*res = (struct mb_img_spawn_result){ 0 };
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) {
		mb_errf(err, errno, "cannot run %s: pipe", argv[0]);
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		mb_errf(err, errno, "cannot run %s: fork", argv[0]);
		goto fail;
	}
	if (pid == 0)
		child(argv, cwd, out[1], errp[1], status[1]);
	close(out[1]);
	close(errp[1]);
	close(status[1]);
	out[1] = errp[1] = status[1] = -1;
	drain(out[0], errp[0], res);
	out[0] = errp[0] = -1;   /* drain closed them */
	/* The status pipe closes on a successful exec (O_CLOEXEC) with nothing
	 * written; an errno arrives when exec or the set-up failed. */
	do
		n = read(status[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(status[0]);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR)
			return mb_errf(err, errno, "cannot wait for %s", argv[0]);
	}
	if (n == sizeof(child_errno))
		return mb_errf(err, child_errno, "cannot run %s", argv[0]);
	res->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (status[i] >= 0)
			close(status[i]);
	}
	return -1;
}

const char *mb_img_spawn_last_line(struct mb_img_spawn_result *res)
{
	char *end = res->errtail + strlen(res->errtail);

	while (end > res->errtail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	char *nl = strrchr(res->errtail, '\n');
	return nl ? nl + 1 : res->errtail;
}
