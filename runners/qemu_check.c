/* Which QEMU migbench would run, and its version, from `BINARY --version`
 * run directly (posix_spawn, no shell: the path may contain anything). */
#include "config.h"
#include "runners/qemu_check.h"
#include "runners/qemu_versions.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define VERSION_PREFIX "QEMU emulator version "
#define VERSION_TIMEOUT_MS 10000

int mb_qemu_parse_version(const char *text, struct mb_qemu_version *out)
{
	const char *p = text ? strstr(text, VERSION_PREFIX) : NULL;
	int used = 0;

	*out = (struct mb_qemu_version){ 0 };
	if (!p)
		return -1;
	p += strlen(VERSION_PREFIX);
	if (sscanf(p, "%d.%d%n", &out->major, &out->minor, &used) != 2)
		return -1;
	/* Every release prints three numbers; be lenient with two. */
	if (p[used] == '.') {
		int more = 0;

		if (sscanf(p + used + 1, "%d%n", &out->micro, &more) != 1)
			return -1;
		used += 1 + more;
	}
	snprintf(out->text, sizeof(out->text), "%d.%d.%d", out->major, out->minor, out->micro);

	/* Distribution builds append " (package version)" on the same line. */
	p += used;
	if (p[0] == ' ' && p[1] == '(') {
		const char *close = strchr(p, ')');
		const char *eol = strchr(p, '\n');

		if (close && (!eol || close < eol))
			snprintf(out->package, sizeof(out->package), "%.*s", (int)(close - p - 2), p + 2);
	}
	return 0;
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* Runs `binary --version` with stdout and stderr into one pipe. Returns
 * the exit status (as waitpid reports it) or -1 with check->detail set. */
static int run_version(const char *binary, char *output, size_t size, struct mb_check *check)
{
	char *const argv[] = { (char *)binary, "--version", NULL };
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	struct timespec start;
	size_t len = 0;
	int pipefd[2], status = 0, rc;
	pid_t pid;

	output[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(check->detail, sizeof(check->detail), "pipe for %s --version: %s", binary, strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
	/* Its own process group, so a wrapper script that hangs can be killed
	 * with everything it started. */
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	/* A bare name is looked up in $PATH, like a shell would. */
	rc = strchr(binary, '/') ? posix_spawn(&pid, binary, &actions, &attr, argv, environ)
				 : posix_spawnp(&pid, binary, &actions, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	close(pipefd[1]);
	if (rc != 0) {
		snprintf(check->detail, sizeof(check->detail), "cannot run %s: %s%s", binary, strerror(rc),
			 rc == ENOENT ? " (install qemu-system-x86, or pass --qemu / set $MIGBENCH_QEMU)" : "");
		close(pipefd[0]);
		return -1;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		long left = VERSION_TIMEOUT_MS - elapsed_ms(&start);
		ssize_t n;

		if (left <= 0) {
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pipefd[0]);
			snprintf(check->detail, sizeof(check->detail), "%s --version: no answer after %d s",
				 binary, VERSION_TIMEOUT_MS / 1000);
			return -1;
		}
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		n = read(pipefd[0], output + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		output[len] = '\0';
		if (len == size - 1)
			break;  /* more than a version banner: keep what we have */
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(check->detail, sizeof(check->detail), "waiting for %s --version: %s",
				 binary, strerror(errno));
			return -1;
		}
	}
	return status;
}

void mb_probe_qemu(const char *cli_binary, struct mb_host_qemu *out)
{
	const char *env = getenv("MIGBENCH_QEMU");
	const char *binary;
	char output[4096];
	int status;

	*out = (struct mb_host_qemu){ 0 };
	if (cli_binary && *cli_binary) {
		binary = cli_binary;
		out->origin = "--qemu";
	} else if (env && *env) {
		binary = env;
		out->origin = "$MIGBENCH_QEMU";
	} else {
		binary = MB_DEFAULT_QEMU;
		out->origin = "configure default";
	}
	snprintf(out->binary, sizeof(out->binary), "%s", binary);

	/* An installed version (qemu=7.2): what its install recorded. */
	if (mb_qemu_is_version_name(binary)) {
		struct mb_qemu_ref ref;
		struct mb_err err = { 0 };

		if (mb_qemu_resolve(binary, &ref, &err)) {
			snprintf(out->found.detail, sizeof(out->found.detail), "%s", err.msg);
			return;
		}
		snprintf(out->binary, sizeof(out->binary), "%s (in %s)", ref.binary, ref.root);
		if (mb_qemu_parse_version(ref.qemu_version, &out->version) < 0) {
			snprintf(out->found.detail, sizeof(out->found.detail), "QEMU %s: no version recorded "
				 "in its root (reinstall: migbench qemu install --force %s)", binary, binary);
			return;
		}
		out->found.ok = true;
		snprintf(out->found.detail, sizeof(out->found.detail), "%s", ref.qemu_version);
		return;
	}
	status = run_version(binary, output, sizeof(output), &out->found);
	if (status < 0)
		return;
	output[strcspn(output, "\n")] = '\0';   /* the first line is all we quote */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(out->found.detail, sizeof(out->found.detail), "%s --version %s %d: %.200s", binary,
			 WIFEXITED(status) ? "exited with" : "killed by signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), output);
		return;
	}
	if (mb_qemu_parse_version(output, &out->version) < 0) {
		snprintf(out->found.detail, sizeof(out->found.detail),
			 "%s --version printed no \"" VERSION_PREFIX "X.Y.Z\": '%.200s'", binary, output);
		return;
	}
	out->found.ok = true;
	snprintf(out->found.detail, sizeof(out->found.detail), "%s", output);
}
