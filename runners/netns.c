/* The per-run network namespace, bridge and taps (see netns.h). */
#define _GNU_SOURCE /* setns, pipe2 */
#include "config.h"
#include "runners/netns.h"
#include "bench/owner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workloads/svc_proto.h"

extern char **environ;

static const char *const ip_candidates[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };

static const char *ip_binary(void)
{
	for (size_t i = 0; i < sizeof(ip_candidates) / sizeof(ip_candidates[0]); i++)
		if (access(ip_candidates[i], X_OK) == 0)
			return ip_candidates[i];
	return NULL;
}

int mb_netns_ip(const char *const args[], struct mb_err *err)
{
	const char *ip = ip_binary();
	char *argv[32], output[512] = "", command[512] = "ip";
	posix_spawn_file_actions_t actions;
	size_t n = 0, used = 0;
	int pipefd[2], rc, status;
	pid_t pid;
	ssize_t got;

	if (!ip)
		return mb_errf(err, ENOENT, "ip(8) not found (install iproute2)");
	argv[n++] = (char *)ip;
	for (size_t i = 0; args[i] && n + 1 < sizeof(argv) / sizeof(argv[0]); i++) {
		argv[n++] = (char *)args[i];
		snprintf(command + strlen(command), sizeof(command) - strlen(command), " %s", args[i]);
	}
	argv[n] = NULL;
	if (pipe2(pipefd, O_CLOEXEC))
		return mb_errf(err, errno, "%s: pipe", command);
	rc = posix_spawn_file_actions_init(&actions);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
	if (!rc)
		rc = posix_spawn(&pid, ip, &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(pipefd[1]);
	if (rc) {
		close(pipefd[0]);
		return mb_errf(err, rc, "%s: cannot run %s", command, ip);
	}
	/* ip says little; whatever does not fit is read and dropped. */
	for (;;) {
		char drop[256];

		if (used + 1 < sizeof(output))
			got = read(pipefd[0], output + used, sizeof(output) - 1 - used);
		else
			got = read(pipefd[0], drop, sizeof(drop));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (used + 1 < sizeof(output))
			used += (size_t)got;
	}
	output[used] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return mb_errf(err, errno, "%s: waitpid", command);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	output[strcspn(output, "\n")] = '\0';
	return mb_errf(err, 0, "%s: %s", command, *output ? output : "failed");
}

static int ip_in(const struct mb_netns *ns, struct mb_err *err, const char *a0, const char *a1,
		 const char *a2, const char *a3, const char *a4, const char *a5, const char *a6,
		 const char *a7, const char *a8)
{
	const char *args[] = { "-n", ns->name, a0, a1, a2, a3, a4, a5, a6, a7, a8, NULL };

	return mb_netns_ip(args, err);
}

bool mb_netns_exists(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", MB_NETNS_DIR, name);
	return stat(path, &st) == 0;
}

/* Whether the migbench that named a namespace is gone (killed before its
 * teardown ran). Names are migbench-<pid>-<start>-<n>, <start> the tick its
 * process started at (bench/owner.h): a PID reused by another process since
 * does not keep the namespace alive. Older names, migbench-<pid>-<n>, can
 * only be judged by the PID. */
static bool owner_gone(const char *name)
{
	unsigned long long v[3];
	int parts = 0;
	const char *p = name + strlen(MB_NETNS_PREFIX);
	char *end;

	while (parts < 3) {
		v[parts++] = strtoull(p, &end, 10);
		if (end == p || (*end != '-' && *end != '\0'))
			return false;
		if (!*end)
			break;
		p = end + 1;
	}
	if (parts == 3) {
		struct mb_owner o = { .pid = (pid_t)v[0], .start_ticks = v[1] };
		struct mb_err ignored;

		/* /run/netns is a tmpfs: every name in it is of this boot. */
		if (mb_owner_of(o.pid, &o, &ignored))
			return true;
		return o.start_ticks != v[1];
	}
	return parts == 2 && v[0] > 0 && kill((pid_t)v[0], 0) < 0 && errno == ESRCH;
}

int mb_netns_clean_orphans(char *report, size_t len)
{
	DIR *d = opendir(MB_NETNS_DIR);
	struct dirent *e;
	int removed = 0;

	if (report && len)
		report[0] = '\0';
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		const char *args[] = { "netns", "del", e->d_name, NULL };
		struct mb_err ignored;

		if (strncmp(e->d_name, MB_NETNS_PREFIX, strlen(MB_NETNS_PREFIX)) || !owner_gone(e->d_name))
			continue;
		if (mb_netns_ip(args, &ignored))
			continue;
		removed++;
		if (report) {
			size_t used = strlen(report);

			snprintf(report + used, len - used, "%snetwork namespace %s", used ? "; " : "", e->d_name);
		}
	}
	closedir(d);
	return removed;
}

int mb_netns_enter(const struct mb_netns *ns, int *saved, struct mb_err *err)
{
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return mb_errf(err, errno, "network namespace: cannot open /proc/thread-self/ns/net");
	if (setns(ns->fd, CLONE_NEWNET) < 0) {
		int e = errno;

		close(*saved);
		*saved = -1;
		return mb_errf(err, e, "cannot enter network namespace %s", ns->name);
	}
	return 0;
}

void mb_netns_leave(int saved)
{
	if (saved < 0)
		return;
	/* Cannot fail for a namespace we came from; if it did, say so: the
	 * thread's later sockets would be in the wrong network. */
	if (setns(saved, CLONE_NEWNET) < 0)
		fprintf(stderr, "migbench: cannot return to the original network namespace: %s\n", strerror(errno));
	close(saved);
}

int mb_netns_tap_set(struct mb_netns *ns, unsigned tap, bool up, struct mb_err *err)
{
	struct ifreq ifr = { 0 };

	if (tap >= MB_NETNS_NTAPS || ns->ctl < 0)
		return mb_errf(err, EINVAL, "network namespace %s: no tap %u", ns->name, tap);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ns->tap[tap]);
	if (ioctl(ns->ctl, SIOCGIFFLAGS, &ifr) < 0)
		return mb_errf(err, errno, "%s in %s: SIOCGIFFLAGS", ns->tap[tap], ns->name);
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	if (ioctl(ns->ctl, SIOCSIFFLAGS, &ifr) < 0)
		return mb_errf(err, errno, "%s in %s: bringing it %s", ns->tap[tap], ns->name, up ? "up" : "down");
	return 0;
}

/* A half-built namespace's failure: said, and nothing left of it. */
static int netns_fail(struct mb_netns *ns, struct mb_err *err)
{
	mb_err_prefix(err, "network namespace %s", ns->name);
	mb_netns_destroy(ns);
	return -1;
}

/* The namespace alone, with lo up: named for orphan cleaning (netns.h). */
int mb_netns_create_bare(struct mb_netns **out, struct mb_err *err)
{
	static _Atomic unsigned counter;
	struct mb_netns *ns;
	struct mb_owner me;

	*out = NULL;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return mb_errf(err, ENOMEM, "network namespace");
	ns->fd = ns->ctl = -1;
	mb_netns_clean_orphans(NULL, 0);
	if (mb_owner_of(0, &me, err)) {
		free(ns);
		return mb_err_prefix(err, "the run's network namespace");
	}
	snprintf(ns->name, sizeof(ns->name), MB_NETNS_PREFIX "%d-%llu-%u", (int)me.pid, me.start_ticks,
		 atomic_fetch_add(&counter, 1));
	snprintf(ns->path, sizeof(ns->path), "%s/%s", MB_NETNS_DIR, ns->name);
	{
		const char *args[] = { "netns", "add", ns->name, NULL };

		if (mb_netns_ip(args, err)) {
			mb_err_prefix(err, "the run's network namespace (needs root)");
			free(ns);
			return -1;
		}
	}
	ns->added = true;
	ns->fd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (ns->fd < 0) {
		mb_errf(err, errno, "cannot open %s", ns->path);
		return netns_fail(ns, err);
	}
	if (ip_in(ns, err, "link", "set", "lo", "up", NULL, NULL, NULL, NULL, NULL))
		return netns_fail(ns, err);
	*out = ns;
	return 0;
}

int mb_netns_create(struct mb_netns **out, struct mb_err *err)
{
	char address[32];
	struct mb_netns *ns;
	int saved;

	if (mb_netns_create_bare(&ns, err))
		return -1;
	for (unsigned i = 0; i < MB_NETNS_NTAPS; i++)
		snprintf(ns->tap[i], sizeof(ns->tap[i]), "mbtap%u", i);
	ns->bridged = true;
	snprintf(address, sizeof(address), "%s/%d", MB_NET_HOST_ADDR, MB_NET_PREFIX);
	if (ip_in(ns, err, "link", "add", MB_NETNS_BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0") ||
	    ip_in(ns, err, "addr", "add", address, "dev", MB_NETNS_BRIDGE, NULL, NULL, NULL, NULL) ||
	    ip_in(ns, err, "link", "set", MB_NETNS_BRIDGE, "up", NULL, NULL, NULL, NULL, NULL))
		goto fail;
	for (unsigned i = 0; i < MB_NETNS_NTAPS; i++)
		if (ip_in(ns, err, "tuntap", "add", "dev", ns->tap[i], "mode", "tap", NULL, NULL, NULL) ||
		    ip_in(ns, err, "link", "set", ns->tap[i], "master", MB_NETNS_BRIDGE, NULL, NULL, NULL, NULL))
			goto fail;
	if (mb_netns_enter(ns, &saved, err))
		goto fail;
	ns->ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ns->ctl < 0)
		mb_errf(err, errno, "socket in %s", ns->name);
	mb_netns_leave(saved);
	if (ns->ctl < 0)
		goto fail;
	*out = ns;
	return 0;
fail:
	return netns_fail(ns, err);
}

void mb_netns_destroy(struct mb_netns *ns)
{
	struct mb_err ignored;

	if (!ns)
		return;
	if (ns->ctl >= 0)
		close(ns->ctl);
	if (ns->added && ns->bridged) {
		/* Devices first: a namespace still referenced somewhere (a
		 * socket not yet closed) would keep them alive. */
		for (unsigned i = 0; i < MB_NETNS_NTAPS; i++)
			ip_in(ns, &ignored, "link", "del", ns->tap[i], NULL, NULL, NULL, NULL, NULL, NULL);
		ip_in(ns, &ignored, "link", "del", MB_NETNS_BRIDGE, NULL, NULL, NULL, NULL, NULL, NULL);
	}
	if (ns->added) {
		const char *args[] = { "netns", "del", ns->name, NULL };

		mb_netns_ip(args, &ignored);
	}
	if (ns->fd >= 0)
		close(ns->fd);
	free(ns);
}
