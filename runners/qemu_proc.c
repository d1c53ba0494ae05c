/* Spawning, watching and tearing down one QEMU process (see qemu_proc.h). */
#include "config.h"
#include "runners/qemu_proc.h"
#include "bench/atomic_file.h"
#include "bench/clock.h"
#include "bench/owner.h"
#include "runners/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Lines of each log quoted in an error: enough for a kernel panic's first
 * lines or QEMU's one-line complaint, short enough for struct mb_err. */
#define QEMU_LOG_TAIL_LINES 4
#define CONSOLE_TAIL_LINES 8

/* Console lines that say why a guest kernel died or hung. Not a bare
 * "watchdog:": every boot prints "NMI watchdog: Perf NMI watchdog
 * permanently disabled", which then took the blame for a QEMU killed from
 * outside. The lockup reports carry these words. */
static const char *const sick_kernel_markers[] = { "Kernel panic", "BUG:", "Oops", "soft lockup",
						   "hard LOCKUP", NULL };

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL); /* an early wake-up (a signal) only shortens a poll */
}

/* ---- the run directory ------------------------------------------------------ */

/* A unix socket path must fit in sockaddr_un.sun_path, NUL included. */
static bool socket_fits(const char *dir)
{
	return strlen(dir) + sizeof("/qmp.sock") <= sizeof(((struct sockaddr_un *)0)->sun_path);
}

/* $XDG_RUNTIME_DIR is per user, mode 0700 and on tmpfs: the best home for
 * sockets. It is skipped when unusable rather than failing the run. */
static const char *run_dir_base(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	/* The longest directory mkdtemp will make under it. */
	char probe[PATH_MAX];

	if (!xdg || xdg[0] != '/' || strchr(xdg, ',') || stat(xdg, &st) || !S_ISDIR(st.st_mode) ||
	    access(xdg, W_OK | X_OK))
		return "/tmp";
	snprintf(probe, sizeof(probe), "%s/migbench-destination-XXXXXX", xdg);
	return socket_fits(probe) ? xdg : "/tmp";
}

/* migbench-<label>-XXXXXX under run_dir_base(); `dir` is "" on failure. */
static int make_dir_in_base(const char *label, char *dir, size_t len, struct mb_err *err)
{
	const char *base = run_dir_base();
	int n = snprintf(dir, len, "%s/migbench-%s-XXXXXX", base, label);

	if (n < 0 || (size_t)n >= len || !socket_fits(dir)) {
		dir[0] = '\0';
		return mb_errf(err, ENAMETOOLONG, "run directory under %s", base);
	}
	/* mkdtemp creates it 0700: only this user reaches the sockets. */
	if (!mkdtemp(dir)) {
		int e = errno;

		dir[0] = '\0';
		return mb_errf(err, e, "cannot create a run directory under %s", base);
	}
	return 0;
}

static int make_run_dir(struct mb_qemu *q, struct mb_err *err)
{
	if (make_dir_in_base(q->label, q->dir, sizeof(q->dir), err))
		return -1;
	snprintf(q->qmp_socket, sizeof(q->qmp_socket), "%s/qmp.sock", q->dir);
	snprintf(q->hb_socket, sizeof(q->hb_socket), "%s/hb.sock", q->dir);
	snprintf(q->console_log, sizeof(q->console_log), "%s/console.log", q->dir);
	snprintf(q->qemu_log, sizeof(q->qemu_log), "%s/qemu.log", q->dir);
	return 0;
}

/* Removes what QEMU and we put in a run directory, then the directory:
 * one this process made with mkdtemp, or an orphan whose owner file names
 * a dead migbench. */
static void remove_dir_entries(const char *dir);

static void remove_run_dir(struct mb_qemu *q)
{
	mb_private_dir_remove(q->dir);
}

/* ---- owners: cleaning up after a migbench that died --------------------------- */

#define OWNER_FILE "owner"

/* OWNER_FILE says whose the directory is: "migbench ID" from the moment it
 * exists, then "qemu ID" once QEMU runs (IDs as in bench/owner.h). */
static int write_owner(const char *dir, pid_t qemu_pid, struct mb_err *err)
{
	char path[PATH_MAX + 16], text[2 * MB_OWNER_TEXT + 32], id[MB_OWNER_TEXT];
	struct mb_owner me, qemu;
	size_t used;

	if (mb_owner_of(0, &me, err))
		return -1;
	mb_owner_format(&me, id, sizeof(id));
	used = (size_t)snprintf(text, sizeof(text), "migbench %s\n", id);
	if (qemu_pid > 0) {
		if (mb_owner_of(qemu_pid, &qemu, err))
			return -1;
		mb_owner_format(&qemu, id, sizeof(id));
		snprintf(text + used, sizeof(text) - used, "qemu %s\n", id);
	}
	snprintf(path, sizeof(path), "%s/" OWNER_FILE, dir);
	return mb_write_text_atomic(path, text, strlen(text), 0, err);
}

static int write_owner_file(const struct mb_qemu *q, struct mb_err *err)
{
	return write_owner(q->dir, q->pid, err);
}

int mb_private_dir_make(const char *label, char *dir, size_t len, struct mb_err *err)
{
	if (make_dir_in_base(label, dir, len, err))
		return -1;
	if (write_owner(dir, 0, err)) {
		mb_err_prefix(err, "private directory %s", dir);
		mb_private_dir_remove(dir);
		return -1;
	}
	return 0;
}

void mb_private_dir_remove(char *dir)
{
	if (!dir[0])
		return;
	remove_dir_entries(dir);
	dir[0] = '\0';
}

static void remove_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			unlinkat(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* One run directory: left alone unless its migbench is dead; then its QEMU
 * (if that very process still runs) is killed and the directory removed. */
static int clean_if_orphaned(const char *dir, char *report, size_t len)
{
	char path[PATH_MAX + 16], line[MB_OWNER_TEXT + 32];
	struct mb_owner owner = {0}, qemu = {0};
	bool have_owner = false, have_qemu = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/" OWNER_FILE, dir);
	f = fopen(path, "r");
	if (!f)
		return 0; /* not ours, or an older migbench's: not ours to judge */
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "migbench ", 9))
			have_owner = mb_owner_parse(line + 9, &owner) == 0;
		else if (!strncmp(line, "qemu ", 5))
			have_qemu = mb_owner_parse(line + 5, &qemu) == 0;
	}
	fclose(f);
	if (!have_owner || mb_owner_alive(&owner))
		return 0;
	if (have_qemu && mb_owner_alive(&qemu))
		kill(qemu.pid, SIGKILL);
	remove_dir_entries(dir);
	if (report) {
		size_t used = strlen(report);

		snprintf(report + used, len - used, "%s%s (migbench pid %d is gone%s)", used ? "; " : "",
			 dir, (int)owner.pid, have_qemu && qemu.pid ? ", its QEMU killed if it still ran" : "");
	}
	return 1;
}

int mb_qemu_clean_orphans(char *report, size_t len)
{
	const char *bases[] = { run_dir_base(), "/tmp" };
	int cleaned = 0;

	if (report && len)
		report[0] = '\0';
	for (size_t b = 0; b < 2; b++) {
		DIR *d;
		struct dirent *e;

		if (b == 1 && !strcmp(bases[0], bases[1]))
			break;
		d = opendir(bases[b]);
		if (!d)
			continue;
		while ((e = readdir(d))) {
			char dir[PATH_MAX];

			if (strncmp(e->d_name, "migbench-", 9))
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", bases[b], e->d_name);
			cleaned += clean_if_orphaned(dir, report, len);
		}
		closedir(d);
	}
	return cleaned;
}

/* ---- spawning ------------------------------------------------------------------ */

static bool reap(struct mb_qemu *q, int options);

/* The file a bare "qemu-system-x86_64" names, looked up in PATH as a shell
 * would (in the parent: the child of a threaded process may only make
 * async-signal-safe calls before exec). */
static int resolve_binary(const char *name, char *out, size_t len, struct mb_err *err)
{
	const char *path = getenv("PATH");
	int found_errno = ENOENT;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(out, len, "%.*s/%s", (int)n, n ? path : ".", name);
		if (access(out, X_OK) == 0)
			return 0;
		if (errno == EACCES)
			found_errno = EACCES;
		path += n + (path[n] == ':');
	}
	return mb_errf(err, found_errno, "cannot execute '%s' (searched PATH)", name);
}

/* In the child, between fork and exec: async-signal-safe calls only. Any
 * failure is written to `report` (close-on-exec) as an errno and ends the
 * child, so the parent learns of it synchronously. */
static void __attribute__((noreturn)) child_exec(const char *file, char *const argv[], const char *log,
						  const struct mb_sandbox *sb, pid_t parent, int report)
{
	static const int reset_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD,
					     SIGALRM, SIGUSR1, SIGUSR2 };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int e, fd;

	/* QEMU dies with migbench, whatever kills migbench (SIGKILL
	 * included): a guest must never outlive the benchmark that booted it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		goto fail;
	if (getppid() != parent) /* migbench died before the line above */
		_exit(127);
	/* Own process group: the terminal's Ctrl-C goes to migbench only,
	 * which then tears QEMU down in order. */
	if (setpgid(0, 0) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(reset_signals) / sizeof(reset_signals[0]); i++)
		sigaction(reset_signals[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		goto fail;
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		goto fail;
	/* A QEMU of another Debian release: in its root, in a mount namespace
	 * of its own that dies with it. */
	if (sb && mb_sandbox_enter(sb) < 0)
		goto fail;
	execve(file, argv, environ);
fail:
	e = errno;
	while (write(report, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* The host directories a QEMU in a root must see at their own paths: its
 * run directory, the kernel's and initramfs' folders, the TLS folder. */
static int prepare_sandbox(const struct mb_qemu *q, const struct mb_guest *g, struct mb_sandbox *sb,
			   struct mb_err *err)
{
	char kernel_dir[PATH_MAX], initrd_dir[PATH_MAX];
	const char *dirs[5];
	size_t n = 0;

	snprintf(kernel_dir, sizeof(kernel_dir), "%s", g->kernel ? g->kernel : "");
	snprintf(initrd_dir, sizeof(initrd_dir), "%s", g->initrd ? g->initrd : "");
	dirs[n++] = q->dir;
	if (kernel_dir[0] == '/')
		dirs[n++] = dirname(kernel_dir);
	if (initrd_dir[0] == '/')
		dirs[n++] = dirname(initrd_dir);
	if (g->tls_dir)
		dirs[n++] = g->tls_dir;
	dirs[n] = NULL;
	return mb_sandbox_prepare(sb, g->qemu_root, dirs, err);
}

static int spawn(struct mb_qemu *q, const struct mb_guest *g, char *const argv[], struct mb_err *err)
{
	char file[PATH_MAX];
	int pipefd[2], child_errno = 0;
	pid_t parent = getpid(), pid;
	ssize_t n;
	struct mb_sandbox *sb = NULL;

	if (g->qemu_root) {
		/* Inside the root: an absolute path there, not on this host. */
		sb = malloc(sizeof(*sb));
		if (!sb)
			return mb_errf(err, ENOMEM, "preparing to spawn %s", argv[0]);
		if (prepare_sandbox(q, g, sb, err)) {
			free(sb);
			return -1;
		}
		snprintf(file, sizeof(file), "%s", argv[0]);
	} else if (resolve_binary(argv[0], file, sizeof(file), err)) {
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(sb);
		return mb_errf(err, errno, "preparing to spawn %s: pipe", argv[0]);
	}
	q->launch_real_us = mb_clock_us(CLOCK_REALTIME);
	q->launch_mono_us = mb_clock_us(CLOCK_MONOTONIC);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pipefd[0]);
		close(pipefd[1]);
		free(sb);
		return mb_errf(err, e, "cannot fork to run '%s'", argv[0]);
	}
	if (pid == 0)
		child_exec(file, argv, q->qemu_log, sb, parent, pipefd[1]);
	close(pipefd[1]);
	free(sb);
	/* End of file: exec succeeded (the pipe closed on exec). */
	do
		n = read(pipefd[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	q->pid = pid;
	if (n == (ssize_t)sizeof(child_errno)) {
		reap(q, 0);
		q->pid = 0;
		return mb_errf(err, child_errno, "cannot execute '%s'%s%s", file, g->qemu_root ? " in " : "",
			       g->qemu_root ? g->qemu_root : "");
	}
	return 0;
}

int mb_qemu_start(const struct mb_qemu_opts *opts, struct mb_qemu **out, struct mb_err *err)
{
	const char *keep = getenv("MIGBENCH_KEEP_RUNDIR");
	struct mb_guest_paths paths;
	struct mb_argv argv;
	struct mb_qemu *q;
	enum mb_accel accel;
	char why[512];

	*out = NULL;
	if (mb_accel_resolve(opts->guest->accel, &accel, why, sizeof(why), err))
		return -1;
	q = calloc(1, sizeof(*q));
	if (!q)
		return mb_errf(err, errno, "starting QEMU");
	snprintf(q->label, sizeof(q->label), "%s", opts->label && *opts->label ? opts->label : "guest");
	q->accel = accel;
	snprintf(q->accel_why, sizeof(q->accel_why), "%s", why);
	q->keep_dir = opts->keep_dir || (keep && *keep && strcmp(keep, "0"));
	if (make_run_dir(q, err) || write_owner_file(q, err))
		goto fail;
	paths = (struct mb_guest_paths){
		.console_log = q->console_log,
		.qmp_socket = q->qmp_socket,
		.hb_socket = q->hb_socket,
	};
	if (mb_guest_build_argv(opts->guest, accel, &paths, opts->incoming, &argv, err))
		goto fail;
	mb_argv_format(&argv, q->command, sizeof(q->command));
	if (spawn(q, opts->guest, argv.v, err)) {
		mb_argv_free(&argv);
		goto fail;
	}
	mb_argv_free(&argv);
	/* Now with QEMU's identity, for whoever cleans up after us. */
	if (write_owner_file(q, err)) {
		mb_err_prefix(err, "%s QEMU: run directory %s", q->label, q->dir);
		mb_qemu_stop(q, 0);
		return -1;
	}
	*out = q;
	return 0;
fail:
	mb_err_prefix(err, "%s QEMU", q->label);
	q->keep_dir = false;
	remove_run_dir(q);
	free(q);
	return -1;
}

/* ---- watching ------------------------------------------------------------------ */

/* Reaps the process if it has exited; true when it is gone. */
static bool reap(struct mb_qemu *q, int options)
{
	pid_t r;
	int status;

	if (q->exited || q->pid <= 0)
		return true;
	do
		r = waitpid(q->pid, &status, options);
	while (r < 0 && errno == EINTR);
	if (r == q->pid) {
		q->exited = true;
		q->wait_status = status;
		return true;
	}
	if (r < 0 && errno == ECHILD) {
		/* Reaped elsewhere (SIGCHLD set to SIG_IGN): gone, status unknown. */
		q->exited = true;
		q->wait_status = -1;
		return true;
	}
	return false;
}

/* The last `max_lines` non-empty lines of a file, joined with " | ", and
 * cut at the front when longer than `len`: the end is where the reason is. */
static void file_tail(const char *path, unsigned max_lines, char *buf, size_t len)
{
	char data[4096];
	ssize_t n;
	off_t size;
	size_t start, out = 0;
	unsigned lines = 0;
	int fd;

	if (!len)
		return;
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size < 0 || lseek(fd, size > (off_t)sizeof(data) ? size - (off_t)sizeof(data) : 0, SEEK_SET) < 0) {
		close(fd);
		return;
	}
	n = read(fd, data, sizeof(data));
	close(fd);
	if (n <= 0)
		return;
	/* Walk back over max_lines lines, ignoring blank ones. */
	start = (size_t)n;
	while (start > 0 && lines < max_lines) {
		size_t end = start;

		while (end > 0 && (data[end - 1] == '\n' || data[end - 1] == '\r'))
			end--;
		start = end;
		while (start > 0 && data[start - 1] != '\n')
			start--;
		if (end > start)
			lines++;
	}
	for (size_t i = start; i < (size_t)n; i++) {
		char c = data[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			if (out && i + 1 < (size_t)n) {
				const char *sep = " | ";

				for (; *sep; sep++) {
					if (out + 1 >= len)
						memmove(buf, buf + 1, --out);
					buf[out++] = *sep;
				}
			}
			continue;
		}
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		if (out + 1 >= len)
			memmove(buf, buf + 1, --out); /* keep the end */
		buf[out++] = c;
	}
	while (out && (buf[out - 1] == ' ' || buf[out - 1] == '|'))
		out--;
	buf[out] = '\0';
}

/* The last line of the file's final 64 KiB that contains one of `needles`
 * (a NULL-terminated list), without its kernel timestamp; "" when none. */
static void find_last_line(const char *path, const char *const *needles, char *buf, size_t len)
{
	const size_t window = 64 * 1024;
	char *data;
	ssize_t n;
	off_t size;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	data = malloc(window);
	if (!data || size < 0 || lseek(fd, size > (off_t)window ? size - (off_t)window : 0, SEEK_SET) < 0) {
		free(data);
		close(fd);
		return;
	}
	n = read(fd, data, window - 1);
	close(fd);
	if (n <= 0) {
		free(data);
		return;
	}
	data[n] = '\0';
	for (char *save = NULL, *line = strtok_r(data, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		for (const char *const *needle = needles; *needle; needle++) {
			if (strstr(line, *needle)) {
				char *text = line;

				if (text[0] == '[' && strchr(text, ']'))
					text = strchr(text, ']') + 1 + (strchr(text, ']')[1] == ' ');
				snprintf(buf, len, "%s", text);
				break;
			}
		}
	}
	free(data);
}

void mb_qemu_console_tail(const struct mb_qemu *q, unsigned max_lines, char *buf, size_t len)
{
	file_tail(q->console_log, max_lines, buf, len);
}

void mb_qemu_log_tail(const struct mb_qemu *q, unsigned max_lines, char *buf, size_t len)
{
	file_tail(q->qemu_log, max_lines, buf, len);
}

/* Appends to err->msg whatever fits. */
static void err_append(struct mb_err *err, const char *fmt, const char *text)
{
	size_t used;

	if (!err)
		return;
	used = strlen(err->msg);
	if (used + 1 < sizeof(err->msg))
		snprintf(err->msg + used, sizeof(err->msg) - used, fmt, text);
}

void mb_qemu_explain(const struct mb_qemu *q, struct mb_err *err)
{
	char tail[400];

	mb_qemu_log_tail(q, QEMU_LOG_TAIL_LINES, tail, 200);
	if (tail[0])
		err_append(err, "; QEMU said: %s", tail);
	/* A dying kernel's reason is above its stack trace: quote it first. */
	find_last_line(q->console_log, sick_kernel_markers, tail, 240);
	if (tail[0])
		err_append(err, "; guest kernel: %s", tail);
	mb_qemu_console_tail(q, tail[0] ? CONSOLE_TAIL_LINES / 2 : CONSOLE_TAIL_LINES, tail, sizeof(tail));
	err_append(err, "; guest console: %s", tail[0] ? tail : "(empty)");
	if (q->dir[0] && q->keep_dir)
		err_append(err, "; logs in %s", q->dir);
}

static void describe_exit(const struct mb_qemu *q, struct mb_err *err)
{
	int st = q->wait_status;

	if (st == -1)
		mb_errf(err, 0, "%s QEMU (pid %d) exited (status unknown)", q->label, (int)q->pid);
	else if (WIFEXITED(st))
		mb_errf(err, 0, "%s QEMU (pid %d) exited with status %d", q->label, (int)q->pid, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		mb_errf(err, 0, "%s QEMU (pid %d) was killed by signal %d (%s)", q->label, (int)q->pid,
			WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		mb_errf(err, 0, "%s QEMU (pid %d) stopped (wait status 0x%x)", q->label, (int)q->pid, st);
	mb_qemu_explain(q, err);
}

int mb_qemu_check_alive(struct mb_qemu *q, struct mb_err *err)
{
	if (q->pid <= 0)
		return mb_errf(err, 0, "%s QEMU is not running", q->label);
	if (!reap(q, WNOHANG))
		return 0;
	describe_exit(q, err);
	return -1;
}

int mb_qemu_wait_for_socket(struct mb_qemu *q, const char *path, int timeout_ms,
			    struct mb_err *err)
{
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;
	struct stat st;

	for (;;) {
		if (mb_qemu_check_alive(q, err))
			return mb_err_prefix(err, "waiting for %s", path);
		if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (mb_clock_us(CLOCK_MONOTONIC) >= deadline) {
			mb_errf(err, 0, "%s QEMU (pid %d) did not create %s within %d ms", q->label,
				(int)q->pid, path, timeout_ms);
			mb_qemu_explain(q, err);
			return -1;
		}
		sleep_ms(2);
	}
}

/* ---- teardown ------------------------------------------------------------------ */

void mb_qemu_stop(struct mb_qemu *q, unsigned grace_ms)
{
	if (!q)
		return;
	if (q->pid > 0 && !reap(q, WNOHANG)) {
		int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)grace_ms * 1000;

		/* By PID only: the process group is QEMU's alone, but nothing
		 * else of ours should ever be signalled by accident. */
		kill(q->pid, SIGTERM);
		while (!reap(q, WNOHANG) && mb_clock_us(CLOCK_MONOTONIC) < deadline)
			sleep_ms(5);
		if (!q->exited) {
			kill(q->pid, SIGKILL);
			reap(q, 0);
		}
	}
	if (!q->keep_dir)
		remove_run_dir(q);
	free(q);
}
