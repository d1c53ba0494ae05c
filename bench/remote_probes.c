/* Probes on the other hosts of a migration: `migbench host-probes` started
 * through each remote side's exec prefix. See bench/remote_probes.h. */
#include "config.h"
#include "bench/remote_probes.h"
#include "bench/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/scenario.h"

#define PINGS 5
#define MB_STR_(x) #x
#define MB_STR(x) MB_STR_(x)
#define REAP_MS 5000
#define LINE_MAX_BYTES (64u << 20)
#define STDERR_KEEP 1024

int mb_remote_probes_timeout_ms = 60000;

struct remote_host {
	const char *role;
	char key[160];          /* its name under "hosts" */
	char *exec;
	pid_t pid;              /* 0: not running (never started, or reaped) */
	int fd;                 /* socket: its stdin and stdout */
	int err_fd;             /* pipe: its stderr */
	char *buf;              /* what it wrote not yet taken as a line */
	size_t len, cap;
	char errtail[STDERR_KEEP];
	int stopped;
	int64_t offset_us, rtt_us;
	int clock_ok;
	json_t *started;        /* its "started" answer */
	json_t *out;            /* the entry under "hosts" */
};

struct mb_remote_probes {
	struct remote_host h[MB_SIDES];
	size_t n;
};

/* ---- the instants ------------------------------------------------------- */

static const struct {
	const char *name;
	size_t off;
} time_fields[] = {
	{ "start_us", offsetof(struct mb_mig_times, start_us) },
	{ "src_stop_us", offsetof(struct mb_mig_times, src_stop_us) },
	{ "dst_resume_us", offsetof(struct mb_mig_times, dst_resume_us) },
	{ "postcopy_us", offsetof(struct mb_mig_times, postcopy_us) },
	{ "src_complete_us", offsetof(struct mb_mig_times, src_complete_us) },
	{ "dst_complete_us", offsetof(struct mb_mig_times, dst_complete_us) },
	{ "postcopy_paused_us", offsetof(struct mb_mig_times, postcopy_paused_us) },
	{ "recover_sent_us", offsetof(struct mb_mig_times, recover_sent_us) },
	{ "postcopy_recovered_us", offsetof(struct mb_mig_times, postcopy_recovered_us) },
};

json_t *mb_remote_times_to_json(const struct mb_mig_times *t, int64_t offset_us)
{
	json_t *o = json_object();

	for (size_t i = 0; i < sizeof(time_fields) / sizeof(time_fields[0]); i++) {
		int64_t v = *(const int64_t *)((const char *)t + time_fields[i].off);

		json_object_set_new(o, time_fields[i].name, json_integer(v ? v + offset_us : 0));
	}
	return o;
}

int mb_remote_times_from_json(const json_t *o, struct mb_mig_times *t, struct mb_err *err)
{
	memset(t, 0, sizeof(*t));
	if (!json_is_object(o))
		return mb_errf(err, 0, "\"times\" is not an object");
	for (size_t i = 0; i < sizeof(time_fields) / sizeof(time_fields[0]); i++) {
		json_t *v = json_object_get(o, time_fields[i].name);

		if (!v || json_is_null(v))
			continue;
		if (!json_is_integer(v))
			return mb_errf(err, 0, "\"times\".%s is not an integer (µs)", time_fields[i].name);
		*(int64_t *)((char *)t + time_fields[i].off) = (int64_t)json_integer_value(v);
	}
	return 0;
}

/* ---- the child ------------------------------------------------------------ */

static void keep_stderr(struct remote_host *h, const char *data, size_t n)
{
	size_t have = strlen(h->errtail);

	if (n >= sizeof(h->errtail) - 1) {
		data += n - (sizeof(h->errtail) - 1);
		n = sizeof(h->errtail) - 1;
	}
	if (have + n >= sizeof(h->errtail)) {
		size_t drop = have + n - (sizeof(h->errtail) - 1);

		memmove(h->errtail, h->errtail + drop, have - drop + 1);
		have -= drop;
	}
	memcpy(h->errtail + have, data, n);
	h->errtail[have + n] = '\0';
}

static void drain_stderr(struct remote_host *h)
{
	char chunk[512];
	ssize_t n;

	while (h->err_fd >= 0 && (n = read(h->err_fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close(h->err_fd), h->err_fd = -1;
			return;
		}
		keep_stderr(h, chunk, (size_t)n);
	}
	if (h->err_fd >= 0)
		close(h->err_fd);
	h->err_fd = -1;
}

/* Its stderr, one line, for a reason: "" or "; it said: ...". */
static const char *said(struct remote_host *h, char *buf, size_t len)
{
	char *p;

	drain_stderr(h);
	for (p = h->errtail; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	while (p > h->errtail && p[-1] == ' ')
		*--p = '\0';
	snprintf(buf, len, "%s%s", h->errtail[0] ? "; it said: " : "", h->errtail);
	return buf;
}

static int spawn(struct remote_host *h, const char *bin, struct mb_err *err)
{
	int sv[2], ep[2];
	char *cmd;
	pid_t parent = getpid();

	if (asprintf(&cmd, "exec %s %s host-probes", h->exec, bin) < 0)
		return mb_errf(err, ENOMEM, "host-probes command");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		free(cmd);
		return mb_errf(err, errno, "socketpair for host-probes");
	}
	if (pipe2(ep, O_CLOEXEC)) {
		int e = errno;

		close(sv[0]), close(sv[1]), free(cmd);
		return mb_errf(err, e, "pipe for host-probes' stderr");
	}
	h->pid = fork();
	if (h->pid < 0) {
		int e = errno;

		h->pid = 0;
		close(sv[0]), close(sv[1]), close(ep[0]), close(ep[1]), free(cmd);
		return mb_errf(err, e, "fork for host-probes");
	}
	if (h->pid == 0) {
		sigset_t none;

		/* Its own process group: a Ctrl-C reaches migbench, which then
		 * stops and collects it; migbench's death ends it. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0 || dup2(ep[1], 2) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(h->pid, h->pid);        /* both, so no race with kill(-pid) */
	close(sv[1]);
	close(ep[1]);
	free(cmd);
	h->fd = sv[0];
	h->err_fd = ep[0];
	fcntl(h->err_fd, F_SETFL, fcntl(h->err_fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* How it ended, for a reason ("exit status 1", "killed by signal 9"). */
static void status_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
}

/* Waits up to `ms` for it to exit, then SIGKILLs its process group. Fills
 * `how` with how it ended. */
static void reap(struct remote_host *h, int ms, char *how, size_t len)
{
	int64_t until = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)ms * 1000;
	int status = 0;
	pid_t got;

	if (how && len)
		how[0] = '\0';
	if (h->fd >= 0)
		shutdown(h->fd, SHUT_WR);       /* EOF: it stops and exits */
	if (!h->pid)
		return;
	while ((got = waitpid(h->pid, &status, WNOHANG)) == 0 && mb_clock_us(CLOCK_MONOTONIC) < until) {
		drain_stderr(h);
		mb_sleep_us(10000);
	}
	if (got == 0) {
		kill(-h->pid, SIGKILL);
		kill(h->pid, SIGKILL);
		while ((got = waitpid(h->pid, &status, 0)) < 0 && errno == EINTR)
			;
		if (how)
			snprintf(how, len, "did not exit within %d ms: killed", ms);
	} else if (got > 0 && how) {
		status_text(status, how, len);
	}
	/* What it left in its group (ssh's helpers) goes with it. */
	kill(-h->pid, SIGKILL);
	h->pid = 0;
}

static void close_host(struct remote_host *h)
{
	reap(h, REAP_MS, NULL, 0);
	if (h->fd >= 0)
		close(h->fd);
	if (h->err_fd >= 0)
		close(h->err_fd);
	h->fd = h->err_fd = -1;
	free(h->buf);
	h->buf = NULL;
	h->len = h->cap = 0;
}

static int send_line(struct remote_host *h, json_t *msg, struct mb_err *err)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t n, off = 0;

	json_decref(msg);
	if (!text)
		return mb_errf(err, ENOMEM, "encoding a line for host-probes");
	n = strlen(text);
	text[n++] = '\n';      /* over its NUL: sent as bytes */
	while (off < n) {
		ssize_t w = send(h->fd, text + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			char how[128], why[STDERR_KEEP + 32];

			free(text);
			if (errno != EPIPE && errno != ECONNRESET)
				return mb_errf(err, errno, "writing to host-probes");
			/* It is gone: how it ended says why. */
			reap(h, REAP_MS, how, sizeof(how));
			return mb_errf(err, 0, "host-probes ended before it read its input (%s)%s", how,
				       said(h, why, sizeof(why)));
		}
		off += (size_t)w;
	}
	free(text);
	return 0;
}

/* The next line it writes, as JSON, within the timeout. */
static json_t *read_line(struct remote_host *h, const char *waiting_for, struct mb_err *err)
{
	int64_t until = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)mb_remote_probes_timeout_ms * 1000;
	char why[STDERR_KEEP + 32];

	for (;;) {
		char *nl = h->len ? memchr(h->buf, '\n', h->len) : NULL;
		struct pollfd pfd[2] = { { .fd = h->fd, .events = POLLIN }, { .fd = h->err_fd, .events = POLLIN } };
		int64_t left;
		ssize_t n;

		if (nl) {
			json_error_t je;
			size_t used = (size_t)(nl - h->buf) + 1;
			json_t *o = json_loadb(h->buf, used - 1, 0, &je);

			memmove(h->buf, h->buf + used, h->len - used);
			h->len -= used;
			if (!json_is_object(o)) {
				json_decref(o);
				return mb_errf(err, 0, "host-probes answered %s with a line that is not a JSON "
					       "object (%s)", waiting_for, je.text[0] ? je.text : "not an object"), NULL;
			}
			return o;
		}
		left = until - mb_clock_us(CLOCK_MONOTONIC);
		if (left <= 0)
			return mb_errf(err, 0, "host-probes did not answer %s within %d ms%s", waiting_for,
				       mb_remote_probes_timeout_ms, said(h, why, sizeof(why))), NULL;
		if (poll(pfd, h->err_fd >= 0 ? 2 : 1, (int)(left / 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return mb_errf(err, errno, "waiting for host-probes to answer %s", waiting_for), NULL;
		}
		if (h->err_fd >= 0 && pfd[1].revents)
			drain_stderr(h);
		if (!pfd[0].revents)
			continue;
		if (h->len + 65536 > h->cap) {
			size_t cap = h->cap ? h->cap * 2 : 131072;
			char *more;

			if (cap > LINE_MAX_BYTES)
				return mb_errf(err, EMSGSIZE, "host-probes' answer to %s: a line longer than %u bytes",
					       waiting_for, LINE_MAX_BYTES), NULL;
			more = realloc(h->buf, cap);
			if (!more)
				return mb_errf(err, ENOMEM, "host-probes' answer"), NULL;
			h->buf = more;
			h->cap = cap;
		}
		n = recv(h->fd, h->buf + h->len, h->cap - h->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			char how[128];

			reap(h, REAP_MS, how, sizeof(how));
			return mb_errf(err, 0, "host-probes ended before it answered %s (%s)%s", waiting_for, how,
				       said(h, why, sizeof(why))), NULL;
		}
		h->len += (size_t)n;
	}
}

/* ---- start, stop, collect ------------------------------------------------ */

static json_t *side_json(const struct mb_probe_side *s)
{
	json_t *vcpus = json_array();

	for (size_t i = 0; i < s->nvcpus && i < MB_PROBE_MAX_VCPUS; i++)
		json_array_append_new(vcpus, json_pack("{s:i, s:i}", "tid", (int)s->vcpu_tid[i],
						       "index", s->vcpu_index[i]));
	return json_pack("{s:s, s:s?, s:i, s:o, s:s}", "role", s->role ? s->role : "",
			 "host", s->host, "pid", (int)s->pid, "vcpus", vcpus, "vcpu_error", s->vcpu_error);
}

static json_t *params_json(const struct mb_run_spec *spec)
{
	json_t *o = json_object();

	/* Every key, the plug-ins' too (the remote probes parse their own). */
	for (size_t k = 0; spec && spec->text && k < mb_key_count(); k++)
		if (spec->text[k])
			json_object_set_new(o, mb_key_at(k)->name, json_string(spec->text[k]));
	return o;
}

static int failed(struct remote_host *h, const char *what, const struct mb_err *err)
{
	char reason[MB_ERR_MAX + 64];

	json_object_set_new(h->out, "available", json_false());
	snprintf(reason, sizeof(reason), "%s: %s", what, err->msg);
	json_object_set_new(h->out, "reason", json_string(reason));
	close_host(h);
	return -1;
}

/* The clock of the other host: the ping with the smallest round trip. */
static int measure_clock(struct remote_host *h, struct mb_err *err)
{
	for (int i = 0; i < PINGS; i++) {
		int64_t send_real = mb_clock_us(CLOCK_REALTIME), send_mono = mb_clock_us(CLOCK_MONOTONIC);
		int64_t recv_real, rtt;
		json_t *pong, *remote;

		if (send_line(h, json_pack("{s:i}", "ping", i), err))
			return -1;
		if (!(pong = read_line(h, "a ping", err)))
			return -1;
		recv_real = mb_clock_us(CLOCK_REALTIME);
		rtt = mb_clock_us(CLOCK_MONOTONIC) - send_mono;
		remote = json_object_get(pong, "clock_real_us");
		if (!json_is_integer(remote)) {
			json_decref(pong);
			return mb_errf(err, 0, "its answer to a ping has no integer clock_real_us");
		}
		if (!h->clock_ok || rtt < h->rtt_us) {
			h->rtt_us = rtt;
			h->offset_us = (int64_t)json_integer_value(remote) - (send_real + recv_real) / 2;
			h->clock_ok = 1;
		}
		json_decref(pong);
	}
	json_object_set_new(h->out, "clock_offset_us", json_integer(h->offset_us));
	json_object_set_new(h->out, "clock_rtt_us", json_integer(h->rtt_us));
	json_object_set_new(h->out, "clock",
			    json_string("offset measured over the exec channel (remote realtime minus the "
					"midpoint of the round trip, best of " MB_STR(PINGS) " pings); the "
					"migration's instants were shifted by it for that host's probes"));
	return 0;
}

static int start_one(struct remote_host *h, const struct mb_probe_ctx *ctx, const struct mb_probe_side *s,
		      const char *bin)
{
	struct mb_err err = { 0 };
	json_t *ans;

	h->fd = h->err_fd = -1;
	h->role = s->role ? s->role : "";
	h->out = json_pack("{s:s, s:s, s:s}", "role", h->role, "exec", s->exec, "command", bin);
	if (!(h->exec = strdup(s->exec)) || spawn(h, bin, &err))
		return failed(h, "starting host-probes", &err);
	if (send_line(h, json_pack("{s:o, s:o}", "params", params_json(ctx->spec), "side", side_json(s)), &err))
		return failed(h, "starting host-probes", &err);
	if (!(ans = read_line(h, "its first line", &err)))
		return failed(h, "starting host-probes", &err);
	if (!json_is_true(json_object_get(ans, "started"))) {
		mb_errf(&err, 0, "its answer has no \"started\": true");
		json_decref(ans);
		return failed(h, "starting host-probes", &err);
	}
	h->started = ans;
	if (json_object_get(ans, "host"))
		json_object_set(h->out, "remote_hostname", json_object_get(ans, "host"));
	if (json_object_size(json_object_get(ans, "params_ignored")))
		json_object_set(h->out, "params_ignored", json_object_get(ans, "params_ignored"));
	if (measure_clock(h, &err))
		return failed(h, "measuring the clock offset", &err);
	return 0;
}

struct mb_remote_probes *mb_remote_probes_start(const struct mb_probe_ctx *ctx)
{
	struct mb_remote_probes *rp = NULL;
	const char *bin = getenv("MIGBENCH_REMOTE_BIN");

	if (!bin || !*bin)
		bin = "migbench";
	for (int s = 0; s < MB_SIDES; s++) {
		const struct mb_probe_side *side = &ctx->side[s];
		struct remote_host *h;

		if (side->local || !side->exec || !*side->exec)
			continue;
		if (!rp && !(rp = calloc(1, sizeof(*rp))))
			return NULL;
		h = &rp->h[rp->n++];
		snprintf(h->key, sizeof(h->key), "%s", side->host && *side->host ? side->host : side->role);
		/* Both sides on one other host: one entry each. */
		for (size_t i = 0; i + 1 < rp->n; i++)
			if (!strcmp(rp->h[i].key, h->key))
				snprintf(h->key, sizeof(h->key), "%s (%s)", side->host, side->role);
		start_one(h, ctx, side, bin);
	}
	return rp;
}

static int stop_one(struct remote_host *h)
{
	struct mb_err err = { 0 };
	json_t *ans;

	if (!h->pid || h->stopped)
		return 0;
	h->stopped = 1;
	if (send_line(h, json_pack("{s:{}}", "stop"), &err) || !(ans = read_line(h, "stop", &err)))
		return failed(h, "stopping the probes", &err);
	if (!json_is_true(json_object_get(ans, "stopped"))) {
		mb_errf(&err, 0, "its answer has no \"stopped\": true");
		json_decref(ans);
		return failed(h, "stopping the probes", &err);
	}
	json_decref(ans);
	return 0;
}

void mb_remote_probes_stop(struct mb_remote_probes *rp)
{
	for (size_t i = 0; rp && i < rp->n; i++)
		stop_one(&rp->h[i]);
}

static int collect_one(struct remote_host *h, const struct mb_mig_times *times)
{
	struct mb_err err = { 0 };
	json_t *ans, *probes;
	char how[128];

	if (!h->pid)
		return 0;
	if (send_line(h, json_pack("{s:{s:o}}", "collect", "times", mb_remote_times_to_json(times, h->offset_us)),
		      &err) || !(ans = read_line(h, "collect", &err)))
		return failed(h, "collecting the probes' output", &err);
	probes = json_object_get(ans, "probes");
	if (!json_is_object(probes)) {
		mb_errf(&err, 0, "its answer has no \"probes\" object");
		json_decref(ans);
		return failed(h, "collecting the probes' output", &err);
	}
	json_object_set(h->out, "probes", probes);
	json_decref(ans);
	reap(h, REAP_MS, how, sizeof(how));
	if (strcmp(how, "exit status 0"))
		json_object_set_new(h->out, "exit", json_string(how));
	return 0;
}

json_t *mb_remote_probes_collect(struct mb_remote_probes *rp, const struct mb_mig_times *times)
{
	json_t *hosts = json_object();

	if (!rp)
		return hosts;
	for (size_t i = 0; i < rp->n; i++) {
		struct remote_host *h = &rp->h[i];

		stop_one(h);
		collect_one(h, times);
		close_host(h);
		json_object_set_new(hosts, h->key, h->out);
		json_decref(h->started);
		free(h->exec);
	}
	free(rp);
	return hosts;
}
