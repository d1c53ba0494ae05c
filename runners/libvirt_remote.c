/* Daemons on other hosts: URIs, the exec prefix, the image and QEMU there.
 * See runners/libvirt_remote.h. */
#include "config.h"
#include "runners/libvirt_remote.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/clock.h"

#define CHECK_TIMEOUT_MS 30000
/* An upload of a guest image (tens of MiB) over a slow link. */
#define UPLOAD_TIMEOUT_MS 600000

static int copy_part(char *dst, size_t len, const char *from, size_t n)
{
	if (n >= len)
		return -1;
	memcpy(dst, from, n);
	dst[n] = '\0';
	return 0;
}

int mb_lv_uri_parse(const char *uri, struct mb_lv_uri *u, struct mb_err *err)
{
	const char *sep = strstr(uri, "://"), *plus, *auth, *end, *at, *colon;

	memset(u, 0, sizeof(*u));
	if (!sep)
		return mb_errf(err, 0, "libvirt URI '%s' has no '://' (e.g. qemu+ssh://root@host/system)", uri);
	plus = memchr(uri, '+', (size_t)(sep - uri));
	if (plus && copy_part(u->transport, sizeof(u->transport), plus + 1, (size_t)(sep - plus - 1)))
		return mb_errf(err, 0, "libvirt URI '%s': transport too long", uri);
	auth = sep + 3;
	end = auth + strcspn(auth, "/?");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (at) {
		if (copy_part(u->user, sizeof(u->user), auth, (size_t)(at - auth)))
			return mb_errf(err, 0, "libvirt URI '%s': user name too long", uri);
		auth = at + 1;
	}
	/* [v6]:port, host:port */
	if (*auth == '[') {
		const char *close = memchr(auth, ']', (size_t)(end - auth));

		if (!close)
			return mb_errf(err, 0, "libvirt URI '%s': '[' without ']' in the host", uri);
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memchr(auth, ':', (size_t)(end - auth));
	}
	if (copy_part(u->host, sizeof(u->host), auth, (size_t)((colon ? colon : end) - auth)) ||
	    (colon && copy_part(u->port, sizeof(u->port), colon + 1, (size_t)(end - colon - 1))))
		return mb_errf(err, 0, "libvirt URI '%s': host or port too long", uri);
	return 0;
}

static int same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (!a || !b || a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
	return 0;
}

int mb_lv_host_is_local(const char *host)
{
	char name[256] = "", bare[256];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	struct ifaddrs *ifs = NULL, *i;
	int local = 0;

	if (!host || !*host || !strcasecmp(host, "localhost") || !strncmp(host, "127.", 4) ||
	    !strcmp(host, "[::1]") || !strcmp(host, "::1"))
		return 1;
	if (!gethostname(name, sizeof(name) - 1) && !strcasecmp(name, host))
		return 1;
	snprintf(bare, sizeof(bare), "%s", host);
	if (bare[0] == '[' && bare[strlen(bare) - 1] == ']') {
		memmove(bare, bare + 1, strlen(bare));
		bare[strlen(bare) - 1] = '\0';
	}
	/* A name or address of one of this host's interfaces. A name that
	 * does not resolve here is another host's (libvirt resolves it the
	 * same way, or fails to connect). */
	if (getaddrinfo(bare, NULL, &hints, &res) || getifaddrs(&ifs)) {
		if (res)
			freeaddrinfo(res);
		return 0;
	}
	for (ai = res; ai && !local; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET &&
		    (ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127)
			local = 1;
		for (i = ifs; i && !local; i = i->ifa_next)
			local = same_addr(ai->ai_addr, i->ifa_addr);
	}
	freeaddrinfo(res);
	freeifaddrs(ifs);
	return local;
}

void mb_lv_default_exec(const struct mb_lv_uri *u, char *buf, size_t len)
{
	buf[0] = '\0';
	if (strcmp(u->transport, "ssh") && strcmp(u->transport, "libssh") && strcmp(u->transport, "libssh2"))
		return;
	snprintf(buf, len, "ssh -o BatchMode=yes%s%s %s%s%s", u->port[0] ? " -p " : "", u->port,
		 u->user, u->user[0] ? "@" : "", u->host);
}

/* ---- running a program there ---- */

static void append(char *buf, size_t len, size_t *used, const char *data, size_t n)
{
	if (!buf || !len)
		return;
	if (*used + n >= len) {
		/* keep the end: the last words say why */
		size_t keep = len / 2;

		if (*used > keep) {
			memmove(buf, buf + *used - keep, keep);
			*used = keep;
		}
		if (n >= len - *used)
			n = len - *used - 1;
	}
	memcpy(buf + *used, data, n);
	*used += n;
	buf[*used] = '\0';
}

int mb_lv_exec(const char *exec, const char *args, int in_fd, char *out, size_t outlen, int timeout_ms,
	       struct mb_err *err)
{
	char *cmd = NULL, errbuf[1024] = "";
	size_t out_used = 0, err_used = 0;
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, status, open_fds = 2;
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;
	pid_t pid;

	if (out && outlen)
		out[0] = '\0';
	if (!exec || !*exec)
		return mb_errf(err, 0, "no command to run '%s' on the other host (set libvirt_exec_src/_dst)", args);
	if (asprintf(&cmd, "exec %s %s", exec, args) < 0)
		return mb_errf(err, ENOMEM, "running '%s %s'", exec, args);
	if (pipe2(op, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		mb_errf(err, errno, "running '%s': pipe", cmd);
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		mb_errf(err, errno, "running '%s': fork", cmd);
		goto fail;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (dup2(in_fd >= 0 ? in_fd : nul, 0) < 0 || dup2(op[1], 1) < 0 || dup2(ep[1], 2) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	while (open_fds) {
		struct pollfd pf[2] = { { .fd = op[0], .events = POLLIN }, { .fd = ep[0], .events = POLLIN } };
		int64_t left = (deadline - mb_clock_us(CLOCK_MONOTONIC)) / 1000;
		char chunk[4096];

		if (left <= 0 || poll(pf, 2, (int)left) == 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			mb_errf(err, ETIMEDOUT, "'%s' did not end within %d ms (is the host reachable? "
				"does it ask for a password? BatchMode must not need one)", cmd, timeout_ms);
			goto fail;
		}
		for (int k = 0; k < 2; k++) {
			ssize_t n;

			if (pf[k].fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pf[k].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pf[k].fd);
				*(k ? &ep[0] : &op[0]) = -1;
				open_fds--;
				continue;
			}
			if (k)
				append(errbuf, sizeof(errbuf), &err_used, chunk, (size_t)n);
			else
				append(out, outlen, &out_used, chunk, (size_t)n);
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status)) {
		mb_errf(err, 0, "'%s' was killed by signal %d", cmd, WTERMSIG(status));
		free(cmd);
		return -1;
	}
	if (WEXITSTATUS(status)) {
		for (char *p = errbuf; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		mb_errf(err, 0, "'%s' exited %d%s%s", cmd, WEXITSTATUS(status), errbuf[0] ? ": " : "", errbuf);
	}
	free(cmd);
	return WEXITSTATUS(status);
fail:
	for (int k = 0; k < 2; k++) {
		if (op[k] >= 0)
			close(op[k]);
		if (ep[k] >= 0)
			close(ep[k]);
	}
	free(cmd);
	return -1;
}

/* Runs shell `script` there as `EXEC sh -s` (the script on stdin: no
 * quoting survives both ssh's remote shell and a prefix that execs
 * directly, such as ip netns exec). */
static int exec_script(const char *exec, const char *script, char *out, size_t outlen, int timeout_ms,
		       struct mb_err *err)
{
	int p[2], rc;
	size_t n = strlen(script);

	if (n > 60000)
		return mb_errf(err, E2BIG, "a script of %zu bytes for '%s'", n, exec);
	if (pipe2(p, O_CLOEXEC))
		return mb_errf(err, errno, "running a script through '%s': pipe", exec);
	/* smaller than a pipe's buffer: no writer thread needed */
	if (write(p[1], script, n) != (ssize_t)n) {
		mb_errf(err, errno, "running a script through '%s': writing it", exec);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	rc = mb_lv_exec(exec, "sh -s", p[0], out, outlen, timeout_ms, err);
	close(p[0]);
	return rc;
}

/* Words that mean the same to a second shell (ssh's remote one). */
static int shell_safe(const char *s)
{
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+-,:=@%", *s))
			return 0;
	return 1;
}

/* `path` quoted for a shell script. */
static void quote(char *buf, size_t len, const char *path)
{
	size_t used = 0;

	append(buf, len, &used, "'", 1);
	for (; *path; path++)
		if (*path == '\'')
			append(buf, len, &used, "'\\''", 4);
		else
			append(buf, len, &used, path, 1);
	append(buf, len, &used, "'", 1);
}

/* The size of `path` there; -1 when it is not there or not readable. */
static int remote_size(const char *exec, const char *path, long long *size, struct mb_err *err)
{
	char script[8400], q[4200], out[256];

	quote(q, sizeof(q), path);
	snprintf(script, sizeof(script), "if [ -r %s ]; then echo size $(wc -c <%s); else echo missing; fi\n", q, q);
	if (exec_script(exec, script, out, sizeof(out), CHECK_TIMEOUT_MS, err)) {
		if (!err->msg[0])
			mb_errf(err, 0, "checking %s through '%s'", path, exec);
		return -1;
	}
	if (sscanf(out, "size %lld", size) == 1)
		return 0;
	if (!strncmp(out, "missing", 7)) {
		*size = -1;
		return 0;
	}
	return mb_errf(err, 0, "checking %s through '%s': unexpected answer '%.80s'", path, exec, out);
}

int mb_lv_remote_ensure_file(const char *exec, const char *host, const char *what, const char *local,
			     const char *remote, int *uploaded, struct mb_err *err)
{
	char args[8400], dir[4096], *slash;
	struct stat st;
	long long have;
	int fd, rc;

	*uploaded = 0;
	if (stat(local, &st))
		return mb_errf(err, errno, "the guest's %s %s", what, local);
	if (!exec || !*exec)
		return mb_errf(err, 0, "the guest's %s must be at %s on host %s, and migbench has no way to "
			       "check or copy it (no libvirt_exec_* for that side): copy %s there (scp %s %s:%s)",
			       what, remote, host, local, local, host, remote);
	if (remote_size(exec, remote, &have, err))
		return mb_err_prefix(err, "host %s: the guest's %s", host, what);
	if (have == (long long)st.st_size)
		return 0;
	if (!shell_safe(remote) || remote[0] != '/')
		return mb_errf(err, 0, "host %s: the guest's %s %s is %s there, and its path has characters "
			       "migbench does not send through '%s': copy %s to %s:%s yourself", host, what, remote,
			       have < 0 ? "missing" : "of another size", exec, local, host, remote);
	snprintf(dir, sizeof(dir), "%s", remote);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	snprintf(args, sizeof(args), "mkdir -p %s", dir);
	if (mb_lv_exec(exec, args, -1, NULL, 0, CHECK_TIMEOUT_MS, err))
		goto failed;
	fd = open(local, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mb_errf(err, errno, "reading %s", local);
		goto failed;
	}
	snprintf(args, sizeof(args), "dd of=%s.tmp bs=1048576", remote);
	rc = mb_lv_exec(exec, args, fd, NULL, 0, UPLOAD_TIMEOUT_MS, err);
	close(fd);
	if (rc)
		goto failed;
	snprintf(args, sizeof(args), "mv -f %s.tmp %s", remote, remote);
	if (mb_lv_exec(exec, args, -1, NULL, 0, CHECK_TIMEOUT_MS, err) || remote_size(exec, remote, &have, err))
		goto failed;
	if (have != (long long)st.st_size) {
		mb_errf(err, 0, "it has %lld bytes there after the upload, not %lld", have, (long long)st.st_size);
		goto failed;
	}
	*uploaded = 1;
	return 0;
failed:
	return mb_err_prefix(err, "host %s: uploading the guest's %s %s to %s through '%s' (or copy it there "
			     "yourself: scp %s %s:%s)", host, what, local, remote, exec, local, host, remote);
}

void mb_lv_remote_qemu(const char *exec, const char *name, struct mb_probe_side *side)
{
	char script[2048], out[16384], *line, *save = NULL;
	struct mb_err err = {0};

	side->pid = 0;
	side->nvcpus = 0;
	if (!shell_safe(name)) {
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "domain name '%s' not sent to a shell", name);
		return;
	}
	/* libvirt names the QEMU `-name guest=NAME,debug-threads=on`, its
	 * vCPU threads "CPU N/KVM" (or /TCG). */
	snprintf(script, sizeof(script),
		 "for p in $(pgrep -f 'guest=%s,'); do\n"
		 "  c=$(tr '\\000' ' ' </proc/$p/cmdline 2>/dev/null) || continue\n"
		 "  case $c in *qemu*guest=%s,*) ;; *) continue ;; esac\n"
		 "  echo pid $p\n"
		 "  for t in /proc/$p/task/*; do echo task ${t##*/} $(cat $t/comm 2>/dev/null); done\n"
		 "  exit 0\n"
		 "done\n"
		 "echo none\n", name, name);
	if (exec_script(exec, script, out, sizeof(out), CHECK_TIMEOUT_MS, &err)) {
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "%s", err.msg[0] ? err.msg : "no answer");
		return;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long pid, tid;
		unsigned cpu;

		if (sscanf(line, "pid %ld", &pid) == 1)
			side->pid = (pid_t)pid;
		else if (sscanf(line, "task %ld CPU %u/", &tid, &cpu) == 2 && side->nvcpus < MB_PROBE_MAX_VCPUS) {
			side->vcpu_tid[side->nvcpus] = (pid_t)tid;
			side->vcpu_index[side->nvcpus] = (int)cpu;
			side->nvcpus++;
		}
	}
	if (!side->pid)
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "no QEMU of domain %s on that host (through '%s')",
			 name, exec);
	else if (!side->nvcpus)
		snprintf(side->vcpu_error, sizeof(side->vcpu_error), "no thread named 'CPU N/...' in QEMU %ld there",
			 (long)side->pid);
	else
		side->vcpu_error[0] = '\0';
}
