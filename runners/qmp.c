/* The QMP connection: socket, reader thread, reply matching, and the
 * migration-configuration helpers built on commands. Events go to the
 * connection's event log (qmp_events.c). */
#include "config.h"
#include "runners/qmp.h"
#include "bench/clock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_RETRY_US   20000          /* QEMU usually binds within ~100 ms */
#define READ_CHUNK         65536
#define MAX_MESSAGE_BYTES  (64u << 20)    /* query-qmp-schema is ~200 KiB; anything near this is garbage */
#define NO_DEADLINE        INT64_MAX

/* A command waiting for its reply. Lives on the caller's stack while it is
 * linked into conn->pending; the reader thread fills `reply`. */
struct pending_reply {
	uint64_t id;
	json_t *reply;
	int64_t real_us, mono_us;
	struct pending_reply *next;
};

struct mb_qmp {
	int fd;
	char *socket_path;
	pthread_t reader;
	bool reader_started;
	struct mb_qmp_version version;
	bool oob;                       /* out-of-band execution enabled */

	struct mb_qmp_event_log *events; /* has its own lock: events never wait for ours */
	pthread_mutex_t write_lock;     /* keeps requests whole on the wire */

	pthread_mutex_t lock;           /* guards every field below */
	pthread_cond_t changed;         /* broadcast on reply, event, greeting, close */
	json_t *greeting;
	uint64_t next_id;
	struct pending_reply *pending;
	bool closed;
	int closed_errnum;
	char closed_why[MB_ERR_MAX];    /* without strerror(closed_errnum) */
};

/* ---- clocks and deadlines ------------------------------------------------- */

static int64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? NO_DEADLINE : mb_clock_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;
}

static bool deadline_passed(int64_t deadline)
{
	return deadline != NO_DEADLINE && mb_clock_us(CLOCK_MONOTONIC) >= deadline;
}

/* What is left of a deadline as a timeout for a nested call. */
static int ms_left(int64_t deadline)
{
	int64_t left;

	if (deadline == NO_DEADLINE)
		return -1;
	left = (deadline - mb_clock_us(CLOCK_MONOTONIC) + 999) / 1000;
	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Waits for conn->changed (lock held) until the deadline (CLOCK_MONOTONIC,
 * see the condattr in mb_qmp_connect). */
static void wait_for_change(struct mb_qmp *c, int64_t deadline)
{
	struct timespec ts;

	if (deadline == NO_DEADLINE) {
		pthread_cond_wait(&c->changed, &c->lock);
		return;
	}
	ts = (struct timespec){ .tv_sec = deadline / 1000000, .tv_nsec = deadline % 1000000 * 1000 };
	pthread_cond_timedwait(&c->changed, &c->lock, &ts);
}

/* ---- closed state ------------------------------------------------------------ */

/* Records why the connection is unusable (first reason wins) and wakes every
 * waiter. Lock held. */
static void mark_closed_locked(struct mb_qmp *c, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void mark_closed_locked(struct mb_qmp *c, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (c->closed)
		return;
	va_start(ap, fmt);
	vsnprintf(c->closed_why, sizeof(c->closed_why), fmt, ap);
	va_end(ap);
	c->closed_errnum = errnum;
	c->closed = true;
	pthread_cond_broadcast(&c->changed);
	mb_qmp_event_log_end(c->events, errnum, c->closed_why);
}

/* Fills err with the reason the connection closed, behind a context
 * (printf-style). Lock held. */
static int closed_error_locked(const struct mb_qmp *c, struct mb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int closed_error_locked(const struct mb_qmp *c, struct mb_err *err, const char *fmt, ...)
{
	char context[MB_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(context, sizeof(context), fmt, ap);
	va_end(ap);
	mb_errf(err, c->closed_errnum, "%s", c->closed_why);
	return mb_err_prefix(err, "%s", context);
}

/* ---- reader thread -------------------------------------------------------------- */

static int deliver_reply_locked(struct mb_qmp *c, json_t *msg, int64_t real_us, int64_t mono_us,
				struct mb_err *err)
{
	json_t *id = json_object_get(msg, "id");

	if (!json_is_integer(id)) {
		char *text = json_dumps(msg, JSON_COMPACT);

		mb_errf(err, 0, "QEMU sent a reply without a numeric id: %.200s", text ? text : "?");
		free(text);
		return -1;
	}
	for (struct pending_reply *p = c->pending; p; p = p->next) {
		if (p->id == (uint64_t)json_integer_value(id)) {
			/* A second reply with the same id (a broken QEMU: found by
			 * fuzzing) must neither replace what the caller may be
			 * reading nor leak it: the first one stands. */
			if (p->reply)
				return 0;
			p->reply = json_incref(msg);
			p->real_us = real_us;
			p->mono_us = mono_us;
			pthread_cond_broadcast(&c->changed);
			return 0;
		}
	}
	/* its caller timed out and left: the reply is no longer anyone's */
	return 0;
}

/* Sorts one message from QEMU into greeting, event or reply. */
static int handle_message(struct mb_qmp *c, json_t *msg, int64_t real_us, int64_t mono_us,
			  struct mb_err *err)
{
	struct mb_qmp_event ev;
	int rc = 0;

	if (json_object_get(msg, "event")) {
		if (mb_qmp_event_from_message(msg, real_us, mono_us, &ev, err) != 0)
			return -1;
		rc = mb_qmp_event_log_append(c->events, &ev, err);
		mb_qmp_event_release(&ev);
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	if (json_object_get(msg, "return") || json_object_get(msg, "error")) {
		rc = deliver_reply_locked(c, msg, real_us, mono_us, err);
	} else if (json_object_get(msg, "QMP")) {
		if (!c->greeting)
			c->greeting = json_incref(msg);
		pthread_cond_broadcast(&c->changed);
	} else {
		char *text = json_dumps(msg, JSON_COMPACT);

		rc = mb_errf(err, 0, "QEMU sent a message that is no reply, event or greeting: %.200s",
			     text ? text : "?");
		free(text);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Parses and handles each complete line in buf[0..*len); keeps the
 * unfinished tail at the start of buf. QEMU ends messages with "\r\n". */
static int handle_lines(struct mb_qmp *c, char *buf, size_t *len, int64_t real_us,
			int64_t mono_us, struct mb_err *err)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(buf + start, '\n', *len - start))) {
		size_t end = (size_t)(nl - buf);
		json_error_t jerr;
		json_t *msg;
		int rc;

		while (end > start && (buf[end - 1] == '\r' || buf[end - 1] == ' '))
			end--;
		if (end > start) {
			msg = json_loadb(buf + start, end - start, 0, &jerr);
			if (!msg)
				return mb_errf(err, 0, "QEMU sent unparseable JSON (%s): %.*s", jerr.text,
					       (int)(end - start < 200 ? end - start : 200), buf + start);
			rc = handle_message(c, msg, real_us, mono_us, err);
			json_decref(msg);
			if (rc != 0)
				return -1;
		}
		start = (size_t)(nl - buf) + 1;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
	return 0;
}

static void *reader_main(void *arg)
{
	struct mb_qmp *c = arg;
	size_t cap = READ_CHUNK, len = 0;
	char *buf = malloc(cap);
	struct mb_err err = { 0 };

	if (!buf) {
		pthread_mutex_lock(&c->lock);
		mark_closed_locked(c, ENOMEM, "QMP connection to %s: reader buffer", c->socket_path);
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	for (;;) {
		ssize_t n;
		int64_t real_us, mono_us;

		if (cap - len < READ_CHUNK / 4) {
			char *bigger = cap * 2 <= MAX_MESSAGE_BYTES ? realloc(buf, cap * 2) : NULL;

			if (!bigger) {
				pthread_mutex_lock(&c->lock);
				mark_closed_locked(c, cap * 2 <= MAX_MESSAGE_BYTES ? ENOMEM : 0,
						   "QMP connection to %s: a message from QEMU exceeds %zu bytes",
						   c->socket_path, cap);
				pthread_mutex_unlock(&c->lock);
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(c->fd, buf + len, cap - len);
		/* stamp before parsing: the arrival time is what the metrics need */
		real_us = mb_clock_us(CLOCK_REALTIME);
		mono_us = mb_clock_us(CLOCK_MONOTONIC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int errnum = n < 0 ? errno : 0;

			pthread_mutex_lock(&c->lock);
			if (errnum && errnum != ECONNRESET)
				mark_closed_locked(c, errnum, "QMP connection to %s: read", c->socket_path);
			else
				mark_closed_locked(c, 0, "QMP connection to %s closed (QEMU exited?)",
						   c->socket_path);
			pthread_mutex_unlock(&c->lock);
			break;
		}
		len += (size_t)n;
		if (handle_lines(c, buf, &len, real_us, mono_us, &err) != 0) {
			/* a broken stream cannot be re-synchronised reliably: stop */
			pthread_mutex_lock(&c->lock);
			mark_closed_locked(c, err.errnum, "QMP connection to %s: %s", c->socket_path,
					   err.msg);
			pthread_mutex_unlock(&c->lock);
			break;
		}
	}
	free(buf);
	return NULL;
}

/* ---- connecting ------------------------------------------------------------------- */

/* QEMU creates the socket a moment after it starts: keep trying while the
 * socket is missing or not yet listening. */
static int connect_with_retry(const char *path, int64_t deadline, int timeout_ms,
			      struct mb_err *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(addr.sun_path))
		return mb_errf(err, ENAMETOOLONG, "QMP socket path %s is %zu bytes, the limit is %zu",
			       path, strlen(path), sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return mb_errf(err, errno, "creating a socket for QMP %s", path);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		int errnum = errno;

		close(fd);
		if (errnum != ENOENT && errnum != ECONNREFUSED && errnum != EAGAIN && errnum != EINTR)
			return mb_errf(err, errnum, "connecting to QMP socket %s", path);
		if (deadline_passed(deadline))
			return mb_errf(err, errnum, "connecting to QMP socket %s: gave up after %d ms",
				       path, timeout_ms);
		usleep(CONNECT_RETRY_US);
	}
}

static int parse_version(const json_t *version, struct mb_qmp_version *out)
{
	const json_t *qemu = json_object_get(version, "qemu");
	const json_t *major = json_object_get(qemu, "major");
	const json_t *minor = json_object_get(qemu, "minor");
	const json_t *micro = json_object_get(qemu, "micro");
	const char *package = json_string_value(json_object_get(version, "package"));

	if (!json_is_integer(major) || !json_is_integer(minor) || !json_is_integer(micro))
		return -1;
	*out = (struct mb_qmp_version){
		.major = (int)json_integer_value(major),
		.minor = (int)json_integer_value(minor),
		.micro = (int)json_integer_value(micro),
	};
	snprintf(out->text, sizeof(out->text), "%d.%d.%d", out->major, out->minor, out->micro);
	/* Debian's package string has a leading space in some versions */
	while (package && *package == ' ')
		package++;
	snprintf(out->package, sizeof(out->package), "%s", package ? package : "");
	return 0;
}

static int wait_for_greeting(struct mb_qmp *c, int64_t deadline, int timeout_ms,
			     struct mb_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	while (!c->greeting && !c->closed && !deadline_passed(deadline))
		wait_for_change(c, deadline);
	if (c->greeting) {
		if (parse_version(json_object_get(json_object_get(c->greeting, "QMP"), "version"),
				  &c->version) != 0) {
			char *text = json_dumps(c->greeting, JSON_COMPACT);

			rc = mb_errf(err, 0, "QMP greeting on %s has no QEMU version: %.300s",
				     c->socket_path, text ? text : "?");
			free(text);
		}
	} else if (c->closed) {
		rc = closed_error_locked(c, err, "waiting for the QMP greeting");
	} else {
		/* QEMU serves one QMP client at a time: a second one hangs here */
		rc = mb_errf(err, 0, "no QMP greeting on %s within %d ms (is another client connected?)",
			     c->socket_path, timeout_ms);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int mb_qmp_connect(const char *socket_path, int timeout_ms, struct mb_qmp **out,
		   struct mb_err *err)
{
	int64_t deadline = deadline_after(timeout_ms);
	pthread_condattr_t attr;
	struct mb_qmp *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return mb_errf(err, ENOMEM, "QMP connection to %s", socket_path);
	c->fd = -1;
	c->next_id = 1;
	c->socket_path = strdup(socket_path);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->write_lock, NULL);
	/* deadlines are CLOCK_MONOTONIC: immune to the host clock being set */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->changed, &attr);
	pthread_condattr_destroy(&attr);
	if (!c->socket_path) {
		mb_qmp_close(c);
		return mb_errf(err, ENOMEM, "QMP connection to %s", socket_path);
	}
	if (mb_qmp_event_log_new(socket_path, &c->events, err) != 0) {
		mb_qmp_close(c);
		return mb_err_prefix(err, "QMP connection to %s", socket_path);
	}
	c->fd = connect_with_retry(socket_path, deadline, timeout_ms, err);
	if (c->fd < 0) {
		mb_qmp_close(c);
		return -1;
	}
	rc = pthread_create(&c->reader, NULL, reader_main, c);
	if (rc != 0) {
		mb_qmp_close(c);
		return mb_errf(err, rc, "starting the QMP reader thread for %s", socket_path);
	}
	c->reader_started = true;
	if (wait_for_greeting(c, deadline, timeout_ms, err) != 0) {
		mb_qmp_close(c);
		return -1;
	}
	/* Out-of-band execution where offered: migrate-recover must reach a
	 * destination whose main loop waits on a page that the cut link will
	 * not bring (QEMU's postcopy recovery docs). */
	{
		json_t *offered = json_object_get(json_object_get(c->greeting, "QMP"), "capabilities"), *v;
		size_t i;

		json_array_foreach(offered, i, v)
			if (json_is_string(v) && !strcmp(json_string_value(v), "oob"))
				c->oob = true;
	}
	if (mb_qmp_execute(c, "qmp_capabilities", c->oob ? json_pack("{s:[s]}", "enable", "oob") : NULL,
			   NULL, ms_left(deadline), err) != 0) {
		mb_qmp_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

void mb_qmp_close(struct mb_qmp *c)
{
	if (!c)
		return;
	if (c->reader_started) {
		/* wakes the reader's read() with EOF */
		shutdown(c->fd, SHUT_RDWR);
		pthread_join(c->reader, NULL);
	}
	if (c->fd >= 0)
		close(c->fd);
	mb_qmp_event_log_free(c->events);
	json_decref(c->greeting);
	free(c->socket_path);
	pthread_cond_destroy(&c->changed);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->write_lock);
	free(c);
}

const char *mb_qmp_socket_path(const struct mb_qmp *c)
{
	return c->socket_path;
}

const struct mb_qmp_version *mb_qmp_version(const struct mb_qmp *c)
{
	return &c->version;
}

const char *mb_qmp_qemu_version(const struct mb_qmp *c)
{
	return c->version.text;
}

/* ---- commands ------------------------------------------------------------------------- */

/* Writes all of buf before the deadline without blocking the reader (no
 * O_NONBLOCK on the shared fd: MSG_DONTWAIT per call). *sent says how far it
 * got, so a partial request can be told from one never started. */
static int send_all(struct mb_qmp *c, const char *buf, size_t len, int64_t deadline,
		    size_t *sent, struct mb_err *err)
{
	*sent = 0;
	while (*sent < len) {
		ssize_t n = send(c->fd, buf + *sent, len - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			*sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
			int left = ms_left(deadline);

			if (left == 0)
				return mb_errf(err, ETIMEDOUT, "sending to %s", c->socket_path);
			if (poll(&pfd, 1, left) < 0 && errno != EINTR)
				return mb_errf(err, errno, "waiting to send to %s", c->socket_path);
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return mb_errf(err, 0, "QMP connection to %s closed (QEMU exited?)",
				       c->socket_path);
		return mb_errf(err, n < 0 ? errno : EIO, "sending to %s", c->socket_path);
	}
	return 0;
}

static void unlink_pending_locked(struct mb_qmp *c, struct pending_reply *p)
{
	for (struct pending_reply **pp = &c->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

/* {"execute": command, "arguments": args, "id": id} + "\n"; steals args. */
static char *format_request(const char *command, json_t *args, uint64_t id, bool oob, size_t *len)
{
	json_t *req = json_pack("{s:s, s:I}", oob ? "exec-oob" : "execute", command, "id", (json_int_t)id);
	char *text, *line = NULL;

	if (!req || (args && json_object_set_new(req, "arguments", args) != 0)) {
		if (!req)
			json_decref(args);
		json_decref(req);
		return NULL;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text) {
		*len = strlen(text) + 1;
		line = realloc(text, *len + 1);
		if (!line) {
			free(text);
			return NULL;
		}
		line[*len - 1] = '\n';
		line[*len] = '\0';
	}
	return line;
}

/* Turns QEMU's reply into the caller's result or an error message. */
static int interpret_reply(const char *command, json_t *reply, json_t **ret, struct mb_err *err)
{
	json_t *error = json_object_get(reply, "error");

	if (error) {
		const char *cls = json_string_value(json_object_get(error, "class"));
		const char *desc = json_string_value(json_object_get(error, "desc"));

		return mb_errf(err, 0, "QMP %s failed: %s: %s", command, cls ? cls : "(no class)",
			       desc ? desc : "(no description)");
	}
	if (ret)
		*ret = json_incref(json_object_get(reply, "return"));
	return 0;
}

static int execute(struct mb_qmp *c, const char *command, json_t *args, bool oob,
		   json_t **ret, int timeout_ms, struct mb_qmp_timing *timing, struct mb_err *err)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct pending_reply p = { 0 };
	char *line;
	size_t len, sent;
	int rc;

	if (ret)
		*ret = NULL;
	if (args && !json_is_object(args)) {
		json_decref(args);
		return mb_errf(err, 0, "QMP %s: arguments must be a JSON object", command);
	}
	pthread_mutex_lock(&c->lock);
	if (c->closed) {
		json_decref(args);
		rc = closed_error_locked(c, err, "QMP %s", command);
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	p.id = c->next_id++;
	p.next = c->pending;
	c->pending = &p;         /* linked before sending: the reply may beat send() back */
	pthread_mutex_unlock(&c->lock);

	if (timing)
		*timing = (struct mb_qmp_timing){ 0 };
	line = format_request(command, args, p.id, oob, &len);
	if (!line) {
		rc = mb_errf(err, ENOMEM, "QMP %s: formatting the request", command);
	} else {
		pthread_mutex_lock(&c->write_lock);
		/* stamped before the write: the reader thread can take the reply
		 * before send() returns here (reply_wait_us came out negative) */
		if (timing)
			*timing = (struct mb_qmp_timing){ .sent_mono_us = mb_clock_us(CLOCK_MONOTONIC) };
		rc = send_all(c, line, len, deadline, &sent, err);
		pthread_mutex_unlock(&c->write_lock);
		free(line);
		if (rc != 0) {
			mb_err_prefix(err, "QMP %s", command);
			if (sent > 0) {
				/* half a request on the wire garbles every later one */
				pthread_mutex_lock(&c->lock);
				mark_closed_locked(c, 0, "QMP connection to %s broken: a request was cut off (%s)",
						   c->socket_path, err->msg);
				pthread_mutex_unlock(&c->lock);
			}
		}
	}
	pthread_mutex_lock(&c->lock);
	while (rc == 0 && !p.reply) {
		if (c->closed)
			rc = closed_error_locked(c, err, "QMP %s", command);
		else if (deadline_passed(deadline))
			rc = mb_errf(err, 0, "QMP %s: no reply from %s within %d ms", command,
				     c->socket_path, timeout_ms);
		else
			wait_for_change(c, deadline);
	}
	unlink_pending_locked(c, &p);
	pthread_mutex_unlock(&c->lock);

	if (rc == 0) {
		if (timing) {
			timing->reply_real_us = p.real_us;
			timing->reply_mono_us = p.mono_us;
		}
		rc = interpret_reply(command, p.reply, ret, err);
	}
	json_decref(p.reply);
	return rc;
}

int mb_qmp_execute_timed(struct mb_qmp *c, const char *command, json_t *args,
			 json_t **ret, int timeout_ms, struct mb_qmp_timing *timing,
			 struct mb_err *err)
{
	return execute(c, command, args, false, ret, timeout_ms, timing, err);
}

int mb_qmp_execute(struct mb_qmp *c, const char *command, json_t *args, json_t **ret,
		   int timeout_ms, struct mb_err *err)
{
	return execute(c, command, args, false, ret, timeout_ms, NULL, err);
}

int mb_qmp_execute_oob(struct mb_qmp *c, const char *command, json_t *args, json_t **ret,
		       int timeout_ms, struct mb_err *err)
{
	if (!c->oob) {
		json_decref(args);
		return mb_errf(err, ENOTSUP, "QMP %s: this QEMU (%s) offers no out-of-band execution",
			       command, c->socket_path);
	}
	return execute(c, command, args, true, ret, timeout_ms, NULL, err);
}

/* ---- events ------------------------------------------------------------------------- */

int mb_qmp_wait_event(struct mb_qmp *c, const char *name, const json_t *data_match,
		      int timeout_ms, struct mb_qmp_event *out, struct mb_err *err)
{
	return mb_qmp_event_log_wait(c->events, name, data_match, NULL, NULL, timeout_ms, out, err);
}

int mb_qmp_wait_event_if(struct mb_qmp *c, const char *name, mb_qmp_event_pred pred,
			 void *pred_arg, int timeout_ms, struct mb_qmp_event *out,
			 struct mb_err *err)
{
	return mb_qmp_event_log_wait(c->events, name, NULL, pred, pred_arg, timeout_ms, out, err);
}

void mb_qmp_take_events(struct mb_qmp *c, struct mb_qmp_event_list *out)
{
	mb_qmp_event_log_take(c->events, out);
}

int mb_qmp_copy_events(struct mb_qmp *c, struct mb_qmp_event_list *out, struct mb_err *err)
{
	return mb_qmp_event_log_copy(c->events, out, err);
}

/* ---- migration configuration ------------------------------------------------------------ */

int mb_qmp_capabilities_object(const json_t *list, json_t **out, struct mb_err *err)
{
	json_t *item, *caps = json_object();
	size_t i;

	*out = NULL;
	if (!caps || !json_is_array(list)) {
		json_decref(caps);
		return mb_errf(err, caps ? 0 : ENOMEM,
			       "query-migrate-capabilities: expected a list of capabilities");
	}
	json_array_foreach(list, i, item) {
		const char *name = json_string_value(json_object_get(item, "capability"));
		json_t *state = json_object_get(item, "state");

		if (!name || !json_is_boolean(state)) {
			json_decref(caps);
			return mb_errf(err, 0, "query-migrate-capabilities: entry %zu is not "
				       "{\"capability\": name, \"state\": bool}", i);
		}
		json_object_set(caps, name, state);
	}
	*out = caps;
	return 0;
}

int mb_qmp_query_migrate_capabilities(struct mb_qmp *c, json_t **out, int timeout_ms,
				      struct mb_err *err)
{
	json_t *list;
	int rc;

	*out = NULL;
	if (mb_qmp_execute(c, "query-migrate-capabilities", NULL, &list, timeout_ms, err) != 0)
		return -1;
	rc = mb_qmp_capabilities_object(list, out, err);
	json_decref(list);
	return rc ? mb_err_prefix(err, "QMP") : 0;
}

int mb_qmp_query_migrate_parameters(struct mb_qmp *c, json_t **out, int timeout_ms,
				    struct mb_err *err)
{
	if (mb_qmp_execute(c, "query-migrate-parameters", NULL, out, timeout_ms, err) != 0)
		return -1;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return mb_errf(err, 0, "QMP query-migrate-parameters: expected an object");
	}
	return 0;
}

int mb_qmp_require_name(const json_t *available, const char *name, const char *what,
			struct mb_err *err)
{
	char names[MB_ERR_MAX / 2] = "";
	size_t used = 0;
	const char *key;
	json_t *value;

	if (json_object_get(available, name))
		return 0;
	json_object_foreach((json_t *)available, key, value) {
		int n = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", key);

		if (n < 0 || (size_t)n >= sizeof(names) - used) {
			snprintf(names + sizeof(names) - 5, 5, "...");
			break;
		}
		used += (size_t)n;
	}
	return mb_errf(err, 0, "QEMU has no %s '%s' (it has: %s)", what, name, names);
}

int mb_qmp_require_names(const json_t *available, const json_t *wanted, const char *what,
			 struct mb_err *err)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)wanted, key, value) {
		if (mb_qmp_require_name(available, key, what, err) != 0)
			return -1;
	}
	return 0;
}

int mb_qmp_set_migrate_capabilities(struct mb_qmp *c, const json_t *caps, int timeout_ms,
				    struct mb_err *err)
{
	json_t *list = json_array(), *state;
	const char *name;

	if (!list)
		return mb_errf(err, ENOMEM, "QMP migrate-set-capabilities");
	json_object_foreach((json_t *)caps, name, state) {
		if (!json_is_boolean(state)) {
			json_decref(list);
			return mb_errf(err, 0, "migration capability '%s' must be true or false", name);
		}
		if (json_array_append_new(list, json_pack("{s:s, s:O}", "capability", name,
							  "state", state)) != 0) {
			json_decref(list);
			return mb_errf(err, ENOMEM, "QMP migrate-set-capabilities");
		}
	}
	return mb_qmp_execute(c, "migrate-set-capabilities", json_pack("{s:o}", "capabilities", list),
			      NULL, timeout_ms, err);
}

int mb_qmp_set_migrate_parameters(struct mb_qmp *c, const json_t *params, int timeout_ms,
				  struct mb_err *err)
{
	if (!json_is_object(params))
		return mb_errf(err, 0, "QMP migrate-set-parameters: parameters must be a JSON object");
	/* execute steals a reference; the caller keeps its own */
	return mb_qmp_execute(c, "migrate-set-parameters", json_incref((json_t *)params), NULL,
			      timeout_ms, err);
}

int mb_qmp_compare_applied(const json_t *applied, const json_t *wanted, const char *what,
			   struct mb_err *err)
{
	const char *key;
	json_t *want;

	json_object_foreach((json_t *)wanted, key, want) {
		json_t *got = json_object_get(applied, key);

		if (!got || !json_equal(got, want)) {
			char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
			char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

			mb_errf(err, 0, "%s '%s': asked %s, QEMU holds %s", what, key, w ? w : "?",
				g ? g : "nothing");
			free(w);
			free(g);
			return -1;
		}
	}
	return 0;
}

int mb_qmp_check_applied(struct mb_qmp *c, const json_t *caps, const json_t *params, int timeout_ms,
			 struct mb_err *err)
{
	json_t *got = NULL;
	int rc = 0;

	if (caps && json_object_size(caps)) {
		rc = mb_qmp_query_migrate_capabilities(c, &got, timeout_ms, err) ||
		     mb_qmp_compare_applied(got, caps, "migration capability", err);
		json_decref(got);
		got = NULL;
	}
	if (!rc && params && json_object_size(params)) {
		rc = mb_qmp_query_migrate_parameters(c, &got, timeout_ms, err) ||
		     mb_qmp_compare_applied(got, params, "migration parameter", err);
		json_decref(got);
	}
	return rc ? -1 : 0;
}
