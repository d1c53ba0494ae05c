/* The QMP client against a fake QEMU in this process (a thread replaying
 * replies and events recorded from QEMU 7.2 in tests/fixtures/qmp/), and
 * once against a real qemu-system-x86_64 when there is one. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runners/qmp.h"
#include "runners/qmp_config.h"
#include "bench/scenario.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SERVER_IO_TIMEOUT_MS 10000   /* bounds every wait of the fake, so a broken test cannot hang */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t clock_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *fixtures_dir(void)
{
	const char *env = getenv("MIGBENCH_FIXTURES");

	return env && *env ? env : MB_FIXTURES_DIR;
}

/* Loads tests/fixtures/qmp/<name>; on failure says why in `why`. */
static json_t *load_fixture(const char *name, char *why, size_t why_size)
{
	char path[4096];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/qmp/%s", fixtures_dir(), name);
	j = json_load_file(path, 0, &jerr);
	if (!j)
		snprintf(why, why_size, "fixture %s: %s (line %d)", path, jerr.text, jerr.line);
	return j;
}

static json_t *fixture(const char *name)
{
	char why[512];
	json_t *j = load_fixture(name, why, sizeof(why));

	if (!j)
		fail_msg("%s", why);
	return j;
}

/* ---- the fake QEMU -------------------------------------------------------- */

/* One step of the fake's script, run in order after the handshake (greeting,
 * qmp_capabilities). */
struct fake_step {
	int delay_ms;           /* sleep first */
	const char *expect;     /* read the next request; it must execute this */
	const char *send;       /* fixture: a reply gets the id of request `reply_to`,
				 * an array of events goes out one message at a time */
	const char *only_event; /* with an event array: send only events of this name */
	int reply_to;           /* 1-based index of the request answered; 0: the latest */
	const char *raw;        /* bytes to send as they are */
	bool hang_up;           /* close the connection, like QEMU exiting */
};

struct fake_qemu {
	char dir[64];
	char socket_path[128];
	const struct fake_step *steps;
	size_t n_steps;
	int bind_delay_ms;      /* create the socket only after this, like a starting QEMU */
	pthread_t thread;
	bool started;
	int listen_fd, fd;
	char in[65536];
	size_t in_len;
	pthread_mutex_t lock;
	json_t *requests;       /* every request after the handshake (lock) */
	char failure[1024];     /* what went wrong in the fake, "" when nothing */
};

static bool fake_failed(struct fake_qemu *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool fake_failed(struct fake_qemu *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->failure[0]) {
		va_start(ap, fmt);
		vsnprintf(f->failure, sizeof(f->failure), fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool fake_send_text(struct fake_qemu *f, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = send(f->fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fake_failed(f, "fake QEMU: send: %s", strerror(errno));
		off += (size_t)n;
	}
	return true;
}

/* QEMU ends every message with "\r\n"; so does the fake. */
static bool fake_send_json(struct fake_qemu *f, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	bool ok = text && fake_send_text(f, text) && fake_send_text(f, "\r\n");

	free(text);
	return ok;
}

static bool fake_read_request(struct fake_qemu *f, json_t **out)
{
	char *nl;

	while (!(nl = memchr(f->in, '\n', f->in_len))) {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, SERVER_IO_TIMEOUT_MS) <= 0)
			return fake_failed(f, "fake QEMU: no request within %d ms", SERVER_IO_TIMEOUT_MS);
		n = read(f->fd, f->in + f->in_len, sizeof(f->in) - f->in_len);
		if (n <= 0) {
			*out = NULL;    /* the client closed */
			return true;
		}
		f->in_len += (size_t)n;
	}
	json_error_t jerr;
	size_t line = (size_t)(nl - f->in) + 1;

	*out = json_loadb(f->in, line, 0, &jerr);
	memmove(f->in, f->in + line, f->in_len - line);
	f->in_len -= line;
	if (!*out)
		return fake_failed(f, "fake QEMU: request is not JSON: %s", jerr.text);
	return true;
}

static bool fake_expect(struct fake_qemu *f, const char *command, json_t **out)
{
	json_t *req;
	const char *got;

	if (!fake_read_request(f, &req))
		return false;
	if (!req)
		return fake_failed(f, "fake QEMU: client closed while %s was expected", command);
	got = json_string_value(json_object_get(req, "execute"));
	if (!got || strcmp(got, command) != 0 || !json_is_integer(json_object_get(req, "id"))) {
		char *text = json_dumps(req, JSON_COMPACT);

		fake_failed(f, "fake QEMU: expected %s with an id, got %s", command, text);
		free(text);
		json_decref(req);
		return false;
	}
	*out = req;
	return true;
}

static bool fake_send_fixture(struct fake_qemu *f, const struct fake_step *step)
{
	json_t *msg = load_fixture(step->send, f->failure, sizeof(f->failure));
	bool ok = true;

	if (!msg)
		return false;
	if (json_is_array(msg)) {
		size_t i;
		json_t *ev;

		json_array_foreach(msg, i, ev) {
			const char *name = json_string_value(json_object_get(ev, "event"));

			if (!step->only_event || (name && strcmp(name, step->only_event) == 0))
				ok = ok && fake_send_json(f, ev);
		}
	} else if (json_object_get(msg, "return") || json_object_get(msg, "error")) {
		json_t *req;

		pthread_mutex_lock(&f->lock);
		req = json_array_get(f->requests, step->reply_to ? (size_t)step->reply_to - 1
							      : json_array_size(f->requests) - 1);
		if (req)
			json_object_set(msg, "id", json_object_get(req, "id"));
		pthread_mutex_unlock(&f->lock);
		ok = req ? fake_send_json(f, msg)
			 : fake_failed(f, "fake QEMU: no request %d to answer with %s", step->reply_to,
				       step->send);
	} else {
		ok = fake_send_json(f, msg);
	}
	json_decref(msg);
	return ok;
}

static bool fake_handshake(struct fake_qemu *f)
{
	struct fake_step greeting = { .send = "greeting.json" };
	json_t *req;
	json_t *reply;
	bool ok;

	if (!fake_send_fixture(f, &greeting) || !fake_expect(f, "qmp_capabilities", &req))
		return false;
	reply = load_fixture("qmp_capabilities.json", f->failure, sizeof(f->failure));
	ok = reply && json_object_set(reply, "id", json_object_get(req, "id")) == 0 &&
	     fake_send_json(f, reply);
	json_decref(reply);
	json_decref(req);
	return ok;
}

static bool fake_run_step(struct fake_qemu *f, const struct fake_step *step)
{
	if (step->delay_ms)
		usleep((useconds_t)step->delay_ms * 1000);
	if (step->expect) {
		json_t *req;

		if (!fake_expect(f, step->expect, &req))
			return false;
		pthread_mutex_lock(&f->lock);
		json_array_append_new(f->requests, req);
		pthread_mutex_unlock(&f->lock);
	}
	if (step->send && !fake_send_fixture(f, step))
		return false;
	if (step->raw && !fake_send_text(f, step->raw))
		return false;
	if (step->hang_up) {
		close(f->fd);
		f->fd = -1;
	}
	return true;
}

static bool fake_listen(struct fake_qemu *f)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", f->socket_path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(f->listen_fd, 1) != 0)
		return fake_failed(f, "fake QEMU: listening on %s: %s", f->socket_path, strerror(errno));
	return true;
}

static void *fake_main(void *arg)
{
	struct fake_qemu *f = arg;
	struct pollfd pfd;

	if (f->bind_delay_ms)
		usleep((useconds_t)f->bind_delay_ms * 1000);
	if (!fake_listen(f))
		return NULL;
	pfd = (struct pollfd){ .fd = f->listen_fd, .events = POLLIN };
	if (poll(&pfd, 1, SERVER_IO_TIMEOUT_MS) <= 0) {
		fake_failed(f, "fake QEMU: nobody connected within %d ms", SERVER_IO_TIMEOUT_MS);
		return NULL;
	}
	f->fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (f->fd < 0) {
		fake_failed(f, "fake QEMU: accept: %s", strerror(errno));
		return NULL;
	}
	if (!fake_handshake(f))
		return NULL;
	for (size_t i = 0; i < f->n_steps && f->fd >= 0; i++) {
		if (!fake_run_step(f, &f->steps[i]))
			return NULL;
	}
	/* script done: stay connected until the client leaves, refuse anything more */
	while (f->fd >= 0) {
		json_t *extra;

		if (!fake_read_request(f, &extra) || !extra)
			break;
		char *text = json_dumps(extra, JSON_COMPACT);

		fake_failed(f, "fake QEMU: unexpected request %s", text);
		free(text);
		json_decref(extra);
	}
	return NULL;
}

static void fake_start(struct fake_qemu *f, const struct fake_step *steps, size_t n_steps)
{
	f->steps = steps;
	f->n_steps = n_steps;
	f->listen_fd = f->fd = -1;
	f->requests = json_array();
	pthread_mutex_init(&f->lock, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mb-test-qmp.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->socket_path, sizeof(f->socket_path), "%s/qmp.sock", f->dir);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
	f->started = true;
}

/* Joins the fake and removes its directory; returns its failure text. */
static const char *fake_stop(struct fake_qemu *f)
{
	if (!f->started)
		return "";
	pthread_join(f->thread, NULL);
	f->started = false;
	if (f->fd >= 0)
		close(f->fd);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	unlink(f->socket_path);
	rmdir(f->dir);
	json_decref(f->requests);
	f->requests = NULL;
	pthread_mutex_destroy(&f->lock);
	return f->failure;
}

/* Waits until the fake has read n requests of its script. */
static void fake_wait_requests(struct fake_qemu *f, size_t n)
{
	int64_t give_up = mono_ms() + SERVER_IO_TIMEOUT_MS;
	size_t have = 0;

	while (mono_ms() < give_up) {
		pthread_mutex_lock(&f->lock);
		have = json_array_size(f->requests);
		pthread_mutex_unlock(&f->lock);
		if (have >= n)
			return;
		usleep(2000);
	}
	fail_msg("fake QEMU read %zu requests, expected %zu", have, n);
}

static json_t *fake_request_arguments(struct fake_qemu *f, size_t index)
{
	json_t *args;

	pthread_mutex_lock(&f->lock);
	args = json_incref(json_object_get(json_array_get(f->requests, index), "arguments"));
	pthread_mutex_unlock(&f->lock);
	return args;
}

/* ---- per-test state: a fake and the client connected to it ---------------- */

struct fixture_state {
	struct fake_qemu fake;
	struct mb_qmp *conn;
	struct mb_err err;
};

static int state_setup(void **state)
{
	struct fixture_state *s = calloc(1, sizeof(*s));

	*state = s;
	return s ? 0 : -1;
}

/* Also runs after a failed assertion: no thread or directory outlives a test. */
static int state_teardown(void **state)
{
	struct fixture_state *s = *state;

	mb_qmp_close(s->conn);
	fake_stop(&s->fake);
	free(s);
	return 0;
}

#define START(s, ...)                                                              \
	do {                                                                       \
		static const struct fake_step steps_[] = { __VA_ARGS__ };          \
		fake_start(&(s)->fake, steps_, ARRAY_SIZE(steps_));                \
	} while (0)

static void connect_to_fake(struct fixture_state *s)
{
	if (mb_qmp_connect(s->fake.socket_path, 5000, &s->conn, &s->err) != 0)
		fail_msg("connect: %s", s->err.msg);
}

/* Disconnects and checks the fake followed its script. */
static void finish(struct fixture_state *s)
{
	const char *failure;

	mb_qmp_close(s->conn);
	s->conn = NULL;
	failure = fake_stop(&s->fake);
	if (failure[0])
		fail_msg("%s", failure);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void assert_json_equal(const json_t *got, const json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);

		print_message("# got  %s\n# want %s\n", g ? g : "NULL", w ? w : "NULL");
		free(g);
		free(w);
		fail();
	}
}

/* ---- tests ------------------------------------------------------------------ */

static void greeting_gives_version(void **state)
{
	struct fixture_state *s = *state;
	const struct mb_qmp_version *v;

	fake_start(&s->fake, NULL, 0);
	connect_to_fake(s);
	v = mb_qmp_version(s->conn);
	assert_int_equal(v->major, 7);
	assert_int_equal(v->minor, 2);
	assert_int_equal(v->micro, 22);
	assert_string_equal(mb_qmp_qemu_version(s->conn), "7.2.22");
	assert_string_equal(v->package, "Debian 1:7.2+dfsg-7+deb12u18+b3");
	assert_string_equal(mb_qmp_socket_path(s->conn), s->fake.socket_path);
	finish(s);
}

static void connect_waits_for_the_socket(void **state)
{
	struct fixture_state *s = *state;
	int64_t t0 = mono_ms();

	s->fake.bind_delay_ms = 300;
	fake_start(&s->fake, NULL, 0);
	connect_to_fake(s);
	assert_true(mono_ms() - t0 >= 250);
	finish(s);
}

static void connect_gives_up_at_the_deadline(void **state)
{
	struct fixture_state *s = *state;
	char path[160];
	int64_t t0;

	fake_start(&s->fake, NULL, 0);    /* only for its directory: its socket path is not used */
	snprintf(path, sizeof(path), "%s/nobody-here.sock", s->fake.dir);
	t0 = mono_ms();
	assert_int_equal(mb_qmp_connect(path, 200, &s->conn, &s->err), -1);
	assert_null(s->conn);
	assert_true(mono_ms() - t0 >= 200);
	assert_true(mono_ms() - t0 < 3000);
	assert_contains(s->err.msg, path);
	assert_contains(s->err.msg, "gave up after 200 ms");
	assert_contains(s->err.msg, strerror(ENOENT));
	/* let the fake see a client and leave, so it ends at once */
	connect_to_fake(s);
	finish(s);
}

static void execute_returns_the_reply(void **state)
{
	struct fixture_state *s = *state;
	json_t *ret;

	START(s, { .expect = "query-migrate-capabilities", .send = "query-migrate-capabilities.json" },
	      { .expect = "query-migrate", .send = "query-migrate-active.json" });
	connect_to_fake(s);
	assert_int_equal(mb_qmp_execute(s->conn, "query-migrate-capabilities", NULL, &ret, 2000,
					&s->err), 0);
	assert_true(json_is_array(ret));
	assert_int_equal(json_array_size(ret), 21);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ret, 0), "capability")),
			    "xbzrle");
	json_decref(ret);
	assert_int_equal(mb_qmp_execute(s->conn, "query-migrate", NULL, &ret, 2000, &s->err), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "active");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ret, "ram"), "total")),
			 67641344);
	json_decref(ret);
	finish(s);
}

static void error_reply_names_command_class_and_desc(void **state)
{
	struct fixture_state *s = *state;
	json_t *ret = (json_t *)1;

	START(s, { .expect = "no-such-command", .send = "error-command-not-found.json" },
	      { .expect = "query-status", .send = "query-status-prelaunch.json" });
	connect_to_fake(s);
	assert_int_equal(mb_qmp_execute(s->conn, "no-such-command", NULL, &ret, 2000, &s->err), -1);
	assert_null(ret);
	assert_string_equal(s->err.msg, "QMP no-such-command failed: CommandNotFound: "
			    "The command no-such-command has not been found");
	/* an error reply leaves the connection usable */
	assert_int_equal(mb_qmp_execute(s->conn, "query-status", NULL, &ret, 2000, &s->err), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "prelaunch");
	json_decref(ret);
	finish(s);
}

static void timeout_names_command_and_duration(void **state)
{
	struct fixture_state *s = *state;
	json_t *ret;
	int64_t t0;

	/* the reply to query-migrate comes after its caller gave up: it must be
	 * dropped, not handed to the next command */
	START(s, { .expect = "query-migrate" },
	      { .delay_ms = 600, .send = "query-migrate-active.json", .reply_to = 1 },
	      { .expect = "query-status", .send = "query-status-prelaunch.json" });
	connect_to_fake(s);
	t0 = mono_ms();
	assert_int_equal(mb_qmp_execute(s->conn, "query-migrate", NULL, &ret, 200, &s->err), -1);
	assert_true(mono_ms() - t0 >= 200);
	assert_true(mono_ms() - t0 < 590);
	char expected[256];

	snprintf(expected, sizeof(expected), "QMP query-migrate: no reply from %s within 200 ms",
		 s->fake.socket_path);
	assert_string_equal(s->err.msg, expected);
	assert_int_equal(mb_qmp_execute(s->conn, "query-status", NULL, &ret, 5000, &s->err), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "prelaunch");
	json_decref(ret);
	finish(s);
}

static void event_before_reply_is_queued_with_timestamps(void **state)
{
	struct fixture_state *s = *state;
	json_t *recorded = fixture("events-source.json");
	struct mb_qmp_event ev;
	struct mb_qmp_event_list all;
	int64_t real0, mono0, stop_qemu_us = -1;
	json_t *args, *match;
	size_t i;
	json_t *rec;

	json_array_foreach(recorded, i, rec) {
		if (strcmp(json_string_value(json_object_get(rec, "event")), "STOP") == 0) {
			json_t *ts = json_object_get(rec, "timestamp");

			stop_qemu_us = json_integer_value(json_object_get(ts, "seconds")) * 1000000 +
				       json_integer_value(json_object_get(ts, "microseconds"));
		}
	}
	/* the whole migration's events arrive before migrate's reply */
	START(s, { .expect = "migrate", .send = "events-source.json" },
	      { .send = "migrate.json" });
	connect_to_fake(s);
	real0 = clock_us(CLOCK_REALTIME);
	mono0 = clock_us(CLOCK_MONOTONIC);
	assert_int_equal(mb_qmp_execute(s->conn, "migrate", json_pack("{s:s}", "uri", "unix:/x/mig.sock"),
					NULL, 2000, &s->err), 0);
	args = fake_request_arguments(&s->fake, 0);
	assert_string_equal(json_string_value(json_object_get(args, "uri")), "unix:/x/mig.sock");
	json_decref(args);

	/* timeout 0: the events are already there */
	assert_int_equal(mb_qmp_wait_event(s->conn, "STOP", NULL, 0, &ev, &s->err), 0);
	assert_string_equal(ev.name, "STOP");
	assert_null(ev.data);
	assert_int_equal(ev.qemu_us, stop_qemu_us);
	assert_true(ev.host_real_us >= real0 && ev.host_real_us <= clock_us(CLOCK_REALTIME));
	assert_true(ev.host_mono_us >= mono0 && ev.host_mono_us <= clock_us(CLOCK_MONOTONIC));
	mb_qmp_event_release(&ev);

	match = json_pack("{s:s}", "status", "completed");
	assert_int_equal(mb_qmp_wait_event(s->conn, "MIGRATION", match, 0, &ev, &s->err), 0);
	assert_string_equal(json_string_value(json_object_get(ev.data, "status")), "completed");
	mb_qmp_event_release(&ev);
	/* consumed: the same wait now times out and says what it waited for */
	assert_int_equal(mb_qmp_wait_event(s->conn, "MIGRATION", match, 100, &ev, &s->err), -1);
	assert_contains(s->err.msg, "no QMP event MIGRATION with data matching {\"status\":\"completed\"}");
	assert_contains(s->err.msg, "within 100 ms");
	json_decref(match);

	/* passes come out one by one, in order */
	for (int pass = 1; pass <= 3; pass++) {
		assert_int_equal(mb_qmp_wait_event(s->conn, "MIGRATION_PASS", NULL, 0, &ev, &s->err), 0);
		assert_int_equal(json_integer_value(json_object_get(ev.data, "pass")), pass);
		mb_qmp_event_release(&ev);
	}
	assert_int_equal(mb_qmp_wait_event(s->conn, "MIGRATION_PASS", NULL, 0, &ev, &s->err), -1);

	/* taking returns every event, consumed or not, in arrival order */
	mb_qmp_take_events(s->conn, &all);
	assert_int_equal(all.count, json_array_size(recorded));
	for (i = 0; i < all.count; i++) {
		assert_string_equal(all.items[i].name,
				    json_string_value(json_object_get(json_array_get(recorded, i), "event")));
		if (i)
			assert_true(all.items[i].host_mono_us >= all.items[i - 1].host_mono_us);
	}
	json_t *as_json = mb_qmp_event_to_json(&all.items[1]);
	assert_string_equal(json_string_value(json_object_get(as_json, "event")), "MIGRATION");
	assert_string_equal(json_string_value(json_object_get(json_object_get(as_json, "data"), "status")),
			    "setup");
	assert_int_equal(json_integer_value(json_object_get(as_json, "host_mono_us")),
			 all.items[1].host_mono_us);
	json_decref(as_json);
	mb_qmp_event_list_free(&all);
	/* and the log is empty afterwards */
	assert_int_equal(mb_qmp_wait_event(s->conn, "RESUME", NULL, 0, &ev, &s->err), -1);
	json_decref(recorded);
	finish(s);
}

struct exec_job {
	struct mb_qmp *conn;
	const char *command;
	int rc;
	json_t *ret;
	struct mb_qmp_timing timing;
	struct mb_err err;
	pthread_t thread;
};

static void *exec_job_main(void *arg)
{
	struct exec_job *j = arg;

	j->rc = mb_qmp_execute_timed(j->conn, j->command, NULL, &j->ret, 5000, &j->timing, &j->err);
	return NULL;
}

static void exec_job_start(struct exec_job *j, struct mb_qmp *conn, const char *command)
{
	*j = (struct exec_job){ .conn = conn, .command = command, .rc = -2 };
	assert_int_equal(pthread_create(&j->thread, NULL, exec_job_main, j), 0);
}

static void exec_job_join(struct exec_job *j)
{
	pthread_join(j->thread, NULL);
	if (j->rc != 0)
		fail_msg("%s: %s", j->command, j->err.msg);
}

static void events_do_not_wait_behind_a_slow_command(void **state)
{
	struct fixture_state *s = *state;
	struct exec_job slow;
	struct mb_qmp_event ev;
	int64_t t0;

	/* stop-and-copy: QEMU sends STOP, then takes a second to answer query-migrate */
	START(s, { .expect = "query-migrate", .send = "events-source.json", .only_event = "STOP" },
	      { .delay_ms = 1000, .send = "query-migrate-completed.json" });
	connect_to_fake(s);
	t0 = mono_ms();
	exec_job_start(&slow, s->conn, "query-migrate");
	assert_int_equal(mb_qmp_wait_event(s->conn, "STOP", NULL, 5000, &ev, &s->err), 0);
	assert_true(mono_ms() - t0 < 900);
	exec_job_join(&slow);
	assert_true(mono_ms() - t0 >= 1000);
	assert_true(ev.host_mono_us < slow.timing.reply_mono_us);
	assert_true(slow.timing.sent_mono_us <= slow.timing.reply_mono_us);
	assert_string_equal(json_string_value(json_object_get(slow.ret, "status")), "completed");
	json_decref(slow.ret);
	mb_qmp_event_release(&ev);
	finish(s);
}

static bool terminal_migration_state(const struct mb_qmp_event *ev, void *arg)
{
	const char *status = json_string_value(json_object_get(ev->data, "status"));

	(void)arg;
	return status && (!strcmp(status, "completed") || !strcmp(status, "failed") ||
			  !strcmp(status, "cancelled"));
}

static void wait_event_wakes_when_the_event_arrives(void **state)
{
	struct fixture_state *s = *state;
	struct mb_qmp_event ev;
	int64_t t0;

	START(s, { .delay_ms = 300, .send = "events-destination.json" });
	connect_to_fake(s);
	t0 = mono_ms();
	assert_int_equal(mb_qmp_wait_event_if(s->conn, "MIGRATION", terminal_migration_state, NULL,
					      5000, &ev, &s->err), 0);
	assert_true(mono_ms() - t0 >= 250);
	assert_string_equal(json_string_value(json_object_get(ev.data, "status")), "completed");
	mb_qmp_event_release(&ev);
	/* an earlier MIGRATION (setup) is still there for a plain wait */
	assert_int_equal(mb_qmp_wait_event(s->conn, "MIGRATION", NULL, 0, &ev, &s->err), 0);
	assert_string_equal(json_string_value(json_object_get(ev.data, "status")), "setup");
	mb_qmp_event_release(&ev);
	/* The fixture's last event: closing before it arrived would leave the
	 * fake sending into a closed socket (a flake: "send: Broken pipe"). */
	assert_int_equal(mb_qmp_wait_event(s->conn, "SHUTDOWN", NULL, 5000, &ev, &s->err), 0);
	mb_qmp_event_release(&ev);
	finish(s);
}

static void concurrent_executes_answered_out_of_order(void **state)
{
	struct fixture_state *s = *state;
	struct exec_job first, second;

	START(s, { .expect = "query-migrate" },
	      { .expect = "query-status" },
	      { .send = "query-status-prelaunch.json", .reply_to = 2 },
	      { .delay_ms = 100, .send = "query-migrate-active.json", .reply_to = 1 });
	connect_to_fake(s);
	exec_job_start(&first, s->conn, "query-migrate");
	fake_wait_requests(&s->fake, 1);      /* fixes the order the fake sees them in */
	exec_job_start(&second, s->conn, "query-status");
	exec_job_join(&first);
	exec_job_join(&second);
	assert_string_equal(json_string_value(json_object_get(first.ret, "status")), "active");
	assert_string_equal(json_string_value(json_object_get(second.ret, "status")), "prelaunch");
	assert_true(second.timing.reply_mono_us < first.timing.reply_mono_us);
	json_decref(first.ret);
	json_decref(second.ret);
	finish(s);
}

static void eof_fails_pending_and_later_calls(void **state)
{
	struct fixture_state *s = *state;
	char closed[256];
	struct mb_qmp_event ev;
	int64_t t0;

	START(s, { .expect = "query-migrate", .send = "events-source.json", .only_event = "STOP" },
	      { .delay_ms = 100, .hang_up = true });
	connect_to_fake(s);
	snprintf(closed, sizeof(closed), "QMP connection to %s closed (QEMU exited?)",
		 s->fake.socket_path);
	t0 = mono_ms();
	assert_int_equal(mb_qmp_execute(s->conn, "query-migrate", NULL, NULL, 5000, &s->err), -1);
	assert_true(mono_ms() - t0 < 2000);
	char expected[300];

	snprintf(expected, sizeof(expected), "QMP query-migrate: %s", closed);
	assert_string_equal(s->err.msg, expected);

	/* later calls fail at once */
	t0 = mono_ms();
	assert_int_equal(mb_qmp_execute(s->conn, "query-status", NULL, NULL, 5000, &s->err), -1);
	snprintf(expected, sizeof(expected), "QMP query-status: %s", closed);
	assert_string_equal(s->err.msg, expected);
	assert_int_equal(mb_qmp_wait_event(s->conn, "RESUME", NULL, 5000, &ev, &s->err), -1);
	assert_true(mono_ms() - t0 < 1000);
	snprintf(expected, sizeof(expected), "waiting for QMP event RESUME: %s", closed);
	assert_string_equal(s->err.msg, expected);

	/* what arrived before the end is kept */
	assert_int_equal(mb_qmp_wait_event(s->conn, "STOP", NULL, 0, &ev, &s->err), 0);
	mb_qmp_event_release(&ev);
	finish(s);
}

static void garbage_from_qemu_breaks_the_connection(void **state)
{
	struct fixture_state *s = *state;

	START(s, { .expect = "query-status", .raw = "{\"return\": oops\r\n" });
	connect_to_fake(s);
	assert_int_equal(mb_qmp_execute(s->conn, "query-status", NULL, NULL, 5000, &s->err), -1);
	assert_contains(s->err.msg, "QMP query-status: QMP connection to ");
	assert_contains(s->err.msg, "QEMU sent unparseable JSON");
	assert_contains(s->err.msg, "{\"return\": oops");
	finish(s);
}

static void migration_capabilities_and_parameters(void **state)
{
	struct fixture_state *s = *state;
	json_t *caps, *params, *wanted, *args, *expected;

	START(s, { .expect = "query-migrate-capabilities", .send = "query-migrate-capabilities.json" },
	      { .expect = "query-migrate-parameters", .send = "query-migrate-parameters.json" },
	      { .expect = "migrate-set-capabilities", .send = "migrate.json" },
	      { .expect = "migrate-set-parameters", .send = "migrate.json" },
	      { .expect = "migrate-set-capabilities", .send = "error-bad-capability.json" });
	connect_to_fake(s);

	assert_int_equal(mb_qmp_query_migrate_capabilities(s->conn, &caps, 2000, &s->err), 0);
	assert_int_equal(json_object_size(caps), 21);
	assert_true(json_is_false(json_object_get(caps, "postcopy-preempt")));
	assert_int_equal(mb_qmp_require_name(caps, "postcopy-preempt", "migration capability", &s->err), 0);
	assert_int_equal(mb_qmp_require_name(caps, "no-such-cap", "migration capability", &s->err), -1);
	assert_contains(s->err.msg, "QEMU has no migration capability 'no-such-cap' (it has: xbzrle, "
			"rdma-pin-all, auto-converge,");
	assert_contains(s->err.msg, ", zero-copy-send, postcopy-preempt)");

	assert_int_equal(mb_qmp_query_migrate_parameters(s->conn, &params, 2000, &s->err), 0);
	assert_string_equal(json_string_value(json_object_get(params, "multifd-compression")), "none");
	wanted = json_pack("{s:i, s:i}", "multifd-channels", 4, "downtime-limit", 300);
	assert_int_equal(mb_qmp_require_names(params, wanted, "migration parameter", &s->err), 0);
	json_object_set_new(wanted, "x-made-up", json_true());
	assert_int_equal(mb_qmp_require_names(params, wanted, "migration parameter", &s->err), -1);
	assert_contains(s->err.msg, "QEMU has no migration parameter 'x-made-up' (it has: ");

	/* the object form becomes QMP's list form */
	json_t *want_caps = json_pack("{s:b, s:b}", "events", 1, "postcopy-ram", 0);
	assert_int_equal(mb_qmp_set_migrate_capabilities(s->conn, want_caps, 2000, &s->err), 0);
	args = fake_request_arguments(&s->fake, 2);
	expected = json_pack("{s:[{s:s, s:b}, {s:s, s:b}]}", "capabilities",
			     "capability", "events", "state", 1, "capability", "postcopy-ram", "state", 0);
	assert_json_equal(args, expected);
	json_decref(args);
	json_decref(expected);

	json_object_del(wanted, "x-made-up");
	assert_int_equal(mb_qmp_set_migrate_parameters(s->conn, wanted, 2000, &s->err), 0);
	args = fake_request_arguments(&s->fake, 3);
	assert_json_equal(args, wanted);
	json_decref(args);
	assert_int_equal(json_object_size(wanted), 2);  /* borrowed, not changed */

	/* refused locally, never sent */
	json_t *not_bool = json_pack("{s:i}", "events", 1);
	assert_int_equal(mb_qmp_set_migrate_capabilities(s->conn, not_bool, 2000, &s->err), -1);
	assert_string_equal(s->err.msg, "migration capability 'events' must be true or false");
	json_decref(not_bool);

	json_t *bogus = json_pack("{s:b}", "no-such-cap", 1);
	assert_int_equal(mb_qmp_set_migrate_capabilities(s->conn, bogus, 2000, &s->err), -1);
	assert_string_equal(s->err.msg, "QMP migrate-set-capabilities failed: GenericError: "
			    "Parameter 'capability' does not accept value 'no-such-cap'");
	json_decref(bogus);

	json_decref(want_caps);
	json_decref(wanted);
	json_decref(params);
	json_decref(caps);
	finish(s);
}

/* ---- a real QEMU ------------------------------------------------------------ */

struct real_qemu {
	char dir[64];
	char socket_path[128];
	pid_t pid;
	struct mb_qmp *conn;
};

static int real_qemu_setup(void **state)
{
	struct real_qemu *q = calloc(1, sizeof(*q));

	if (!q)
		return -1;
	q->pid = -1;
	*state = q;
	return 0;
}

/* Runs also when the test failed half-way: QEMU killed and reaped, dir gone. */
static int real_qemu_teardown(void **state)
{
	struct real_qemu *q = *state;

	mb_qmp_close(q->conn);
	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
	}
	if (q->dir[0]) {
		unlink(q->socket_path);
		rmdir(q->dir);
	}
	free(q);
	return 0;
}

/* The configured QEMU (or $MIGBENCH_QEMU) as an executable path, NULL when
 * there is none. */
static const char *find_qemu(char *buf, size_t size)
{
	const char *name = getenv("MIGBENCH_QEMU");
	const char *path = getenv("PATH");

	if (!name || !*name)
		name = MB_DEFAULT_QEMU;
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? name : NULL;
	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(buf, size, "%.*s/%s", (int)len, path, name);
		if (len && access(buf, X_OK) == 0)
			return buf;
		path += len + (path[len] == ':');
	}
	return NULL;
}

static void real_qemu_status_and_capabilities(void **state)
{
	struct real_qemu *q = *state;
	char qemu_buf[4096], qmp_arg[200];
	const char *qemu = find_qemu(qemu_buf, sizeof(qemu_buf));
	struct mb_err err = { 0 };
	json_t *ret, *caps;
	int status = 0;

	if (!qemu) {
		const char *wanted = getenv("MIGBENCH_QEMU");

		print_message("# SKIP: no executable %s (configure found none; set MIGBENCH_QEMU)\n",
			      wanted && *wanted ? wanted : MB_DEFAULT_QEMU);
		skip();
	}
	snprintf(q->dir, sizeof(q->dir), "/tmp/mb-test-qmp-qemu.XXXXXX");
	assert_non_null(mkdtemp(q->dir));
	snprintf(q->socket_path, sizeof(q->socket_path), "%s/qmp.sock", q->dir);
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", q->socket_path);
	char *const argv[] = { (char *)qemu, "-accel", "tcg", "-nodefaults", "-display", "none",
			       "-m", "64", "-qmp", qmp_arg, "-S", NULL };

	q->pid = fork();
	assert_true(q->pid >= 0);
	if (q->pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		/* keep TAP on stdout clean; die with the test if it crashes */
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(qemu, argv);
		_exit(127);
	}
	if (mb_qmp_connect(q->socket_path, 20000, &q->conn, &err) != 0)
		fail_msg("connect to real QEMU: %s", err.msg);
	print_message("# real QEMU %s (%s)\n", mb_qmp_qemu_version(q->conn),
		      mb_qmp_version(q->conn)->package);
	assert_true(mb_qmp_version(q->conn)->major >= 2);

	if (mb_qmp_execute(q->conn, "query-status", NULL, &ret, 10000, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "prelaunch");
	json_decref(ret);
	if (mb_qmp_query_migrate_capabilities(q->conn, &caps, 10000, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(mb_qmp_require_name(caps, "events", "migration capability", &err), 0);
	assert_int_equal(mb_qmp_require_name(caps, "postcopy-ram", "migration capability", &err), 0);
	json_decref(caps);

	if (mb_qmp_execute(q->conn, "quit", NULL, NULL, 10000, &err) != 0)
		fail_msg("%s", err.msg);
	/* QEMU hangs up after quitting: the next call must say so */
	assert_int_equal(mb_qmp_execute(q->conn, "query-status", NULL, NULL, 10000, &err), -1);
	assert_contains(err.msg, "closed (QEMU exited?)");
	for (int64_t give_up = mono_ms() + 10000; mono_ms() < give_up; usleep(10000)) {
		if (waitpid(q->pid, &status, WNOHANG) == q->pid) {
			q->pid = -1;
			break;
		}
	}
	assert_int_equal(q->pid, -1);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* What QEMU holds against what was asked: equal values pass, a value QEMU
 * changed or a key it lacks fails, naming the key and both values. */
static void applied_values_are_compared(void **state)
{
	json_t *applied = json_pack("{s:I, s:s, s:b}", "max-bandwidth", (json_int_t)67108864,
				    "multifd-compression", "none", "xbzrle", 1);
	json_t *same = json_pack("{s:I, s:b}", "max-bandwidth", (json_int_t)67108864, "xbzrle", 1);
	json_t *rounded = json_pack("{s:I}", "max-bandwidth", (json_int_t)67108000);
	json_t *missing = json_pack("{s:I}", "zero-page-detection", (json_int_t)1);
	struct mb_err err = { 0 };

	assert_int_equal(mb_qmp_compare_applied(applied, same, "migration parameter", &err), 0);
	assert_int_equal(mb_qmp_compare_applied(applied, rounded, "migration parameter", &err), -1);
	assert_non_null(strstr(err.msg, "'max-bandwidth': asked 67108000, QEMU holds 67108864"));
	assert_int_equal(mb_qmp_compare_applied(applied, missing, "migration parameter", &err), -1);
	assert_non_null(strstr(err.msg, "QEMU holds nothing"));
	json_decref(applied);
	json_decref(same);
	json_decref(rounded);
	json_decref(missing);
}

/* query-migrate-capabilities' list as an object, however the reply came
 * (QMP, or libvirt's monitor for the libvirt runner); a malformed entry is
 * refused, naming it. */
static void capabilities_list_as_object(void **state)
{
	json_t *list = json_loads("[{\"capability\": \"xbzrle\", \"state\": false},"
				  " {\"capability\": \"postcopy-ram\", \"state\": true}]", 0, NULL);
	json_t *bad = json_loads("[{\"capability\": \"xbzrle\", \"state\": \"on\"}]", 0, NULL);
	json_t *caps = NULL;
	struct mb_err err = { 0 };

	(void)state;
	assert_int_equal(mb_qmp_capabilities_object(list, &caps, &err), 0);
	assert_true(json_is_false(json_object_get(caps, "xbzrle")));
	assert_true(json_is_true(json_object_get(caps, "postcopy-ram")));
	assert_int_equal(json_object_size(caps), 2);
	json_decref(caps);
	assert_int_equal(mb_qmp_capabilities_object(bad, &caps, &err), -1);
	assert_null(caps);
	assert_non_null(strstr(err.msg, "entry 0"));
	assert_int_equal(mb_qmp_capabilities_object(json_object_get(bad, "nothing"), &caps, &err), -1);
	json_decref(list);
	json_decref(bad);
}

/* Off capabilities are set too (a QEMU that was a post-copy destination
 * keeps postcopy-ram on otherwise), except those a QEMU does not offer. */
static void capabilities_off_are_explicit(void **state)
{
	struct mb_params p = { .mode = MB_MODE_PRECOPY };
	json_t *caps = mb_qmp_caps_for(&p);
	json_t *old_qemu = json_pack("{s:b, s:b, s:b, s:b, s:b}", "events", 0, "postcopy-ram", 0, "multifd", 0,
				     "xbzrle", 0, "auto-converge", 0);

	assert_true(json_is_false(json_object_get(caps, "postcopy-ram")));
	assert_true(json_is_false(json_object_get(caps, "postcopy-preempt")));
	assert_true(json_is_true(json_object_get(caps, "events")));
	mb_qmp_drop_unoffered(caps, old_qemu);
	assert_null(json_object_get(caps, "postcopy-preempt"));
	assert_non_null(json_object_get(caps, "postcopy-ram"));
	json_decref(caps);
	p.mode = MB_MODE_HYBRID;
	p.postcopy_preempt = true;
	caps = mb_qmp_caps_for(&p);
	mb_qmp_drop_unoffered(caps, old_qemu);
	/* Asked for: stays, and the preflight then names what is missing. */
	assert_true(json_is_true(json_object_get(caps, "postcopy-preempt")));
	assert_true(json_is_true(json_object_get(caps, "postcopy-ram")));
	json_decref(caps);
	json_decref(old_qemu);
}

int main(void)
{
#define FAKE_TEST(fn) cmocka_unit_test_setup_teardown(fn, state_setup, state_teardown)
	const struct CMUnitTest tests[] = {
		FAKE_TEST(greeting_gives_version),
		FAKE_TEST(connect_waits_for_the_socket),
		FAKE_TEST(connect_gives_up_at_the_deadline),
		FAKE_TEST(execute_returns_the_reply),
		FAKE_TEST(error_reply_names_command_class_and_desc),
		FAKE_TEST(timeout_names_command_and_duration),
		FAKE_TEST(event_before_reply_is_queued_with_timestamps),
		FAKE_TEST(events_do_not_wait_behind_a_slow_command),
		FAKE_TEST(wait_event_wakes_when_the_event_arrives),
		FAKE_TEST(concurrent_executes_answered_out_of_order),
		FAKE_TEST(eof_fails_pending_and_later_calls),
		FAKE_TEST(garbage_from_qemu_breaks_the_connection),
		FAKE_TEST(migration_capabilities_and_parameters),
		cmocka_unit_test(applied_values_are_compared),
		cmocka_unit_test(capabilities_list_as_object),
		cmocka_unit_test(capabilities_off_are_explicit),
		cmocka_unit_test_setup_teardown(real_qemu_status_and_capabilities, real_qemu_setup,
						real_qemu_teardown),
	};

	/* a peer that hangs up must not kill the test with SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	/* Jansson seeds its hash on the first object, race-free but with atomics
	 * helgrind cannot see; seeding here, before any thread, keeps the
	 * helgrind run quiet (migbench creates JSON long before it connects) */
	json_object_seed(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
