/* A remote guest's console over TCP: see runners/libvirt_console.h. */
#include "config.h"
#include "runners/libvirt_console.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/clock.h"

#define TAIL_LINES 4
#define LINE_MAX_KEPT 512
/* A guest that prints one problem line after another (a soft lockup every
 * few seconds) must not grow migbench without bound. */
#define PROBLEMS_MAX 1000
#define CONNECT_WAIT_MS 500

struct mb_lv_console {
	char host[256], port[8];
	int64_t deadline_mono_us;
	pthread_t thread;
	atomic_int stop, connected;
	pthread_mutex_t lock;
	json_t *problems;
	char tail[TAIL_LINES][LINE_MAX_KEPT];
	unsigned ntail;
	char line[LINE_MAX_KEPT];
	size_t len;
	char error[256];
};

int mb_lv_console_line_is_problem(const char *line)
{
	static const char *const signs[] = { "BUG:", "Oops", "Kernel panic", "panic", "watchdog:",
					     "soft lockup", "hard LOCKUP", "Call Trace" };

	for (size_t i = 0; i < sizeof(signs) / sizeof(signs[0]); i++)
		if (strstr(line, signs[i]))
			return 1;
	return 0;
}

static void end_line(struct mb_lv_console *c)
{
	c->line[c->len] = '\0';
	c->len = 0;
	if (!c->line[0])
		return;
	pthread_mutex_lock(&c->lock);
	snprintf(c->tail[c->ntail++ % TAIL_LINES], LINE_MAX_KEPT, "%s", c->line);
	if (mb_lv_console_line_is_problem(c->line) && json_array_size(c->problems) < PROBLEMS_MAX)
		json_array_append_new(c->problems, json_string(c->line));
	pthread_mutex_unlock(&c->lock);
}

static int connect_once(struct mb_lv_console *c)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	int fd = -1, rc;
	char bare[256];

	snprintf(bare, sizeof(bare), "%s", c->host);
	if (bare[0] == '[' && bare[strlen(bare) - 1] == ']') {
		memmove(bare, bare + 1, strlen(bare));
		bare[strlen(bare) - 1] = '\0';
	}
	rc = getaddrinfo(bare, c->port, &hints, &res);
	if (rc) {
		pthread_mutex_lock(&c->lock);
		snprintf(c->error, sizeof(c->error), "%s:%s: %s", c->host, c->port, gai_strerror(rc));
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	/* Non-blocking, at most CONNECT_WAIT_MS a try: a host that drops
	 * the SYNs must not hold mb_lv_console_stop for minutes. */
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		int e = 0;
		socklen_t elen = sizeof(e);

		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };

			e = errno;
			if (e == EINPROGRESS)
				e = poll(&pf, 1, CONNECT_WAIT_MS) == 1 &&
				    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) ? e : ETIMEDOUT;
		}
		if (e) {
			pthread_mutex_lock(&c->lock);
			snprintf(c->error, sizeof(c->error), "connecting to %s:%s: %s", c->host, c->port, strerror(e));
			pthread_mutex_unlock(&c->lock);
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

static void *console_main(void *arg)
{
	struct mb_lv_console *c = arg;
	int fd = -1;

	while (fd < 0 && !atomic_load(&c->stop)) {
		fd = connect_once(c);
		if (fd >= 0)
			break;
		if (mb_clock_us(CLOCK_MONOTONIC) > c->deadline_mono_us)
			return NULL;
		usleep(20000);
	}
	if (fd < 0)
		return NULL;
	atomic_store(&c->connected, 1);
	while (!atomic_load(&c->stop)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		char buf[4096];
		ssize_t n;

		if (poll(&pf, 1, 200) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* its QEMU ended (the guest migrated away, or died) */
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || buf[i] == '\r')
				end_line(c);
			else if (c->len < LINE_MAX_KEPT - 1)
				c->line[c->len++] = buf[i];
		}
	}
	end_line(c);
	close(fd);
	return NULL;
}

int mb_lv_console_start(const char *host, unsigned port, int timeout_ms, struct mb_lv_console **out,
			struct mb_err *err)
{
	struct mb_lv_console *c = calloc(1, sizeof(*c));
	int e;

	*out = NULL;
	if (!c || !(c->problems = json_array())) {
		free(c);
		return mb_errf(err, ENOMEM, "the guest console at %s:%u", host, port);
	}
	snprintf(c->host, sizeof(c->host), "%s", host);
	snprintf(c->port, sizeof(c->port), "%u", port);
	c->deadline_mono_us = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;
	pthread_mutex_init(&c->lock, NULL);
	e = pthread_create(&c->thread, NULL, console_main, c);
	if (e) {
		json_decref(c->problems);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return mb_errf(err, e, "the guest console at %s:%u: a thread to read it", host, port);
	}
	*out = c;
	return 0;
}

void mb_lv_console_problems(struct mb_lv_console *c, json_t *lines)
{
	size_t i;
	json_t *l;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	json_array_foreach(c->problems, i, l)
		json_array_append(lines, l);
	pthread_mutex_unlock(&c->lock);
}

void mb_lv_console_tail(struct mb_lv_console *c, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	for (unsigned i = c->ntail > TAIL_LINES ? c->ntail - TAIL_LINES : 0; i < c->ntail; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? " | " : "", c->tail[i % TAIL_LINES]);
	pthread_mutex_unlock(&c->lock);
}

int mb_lv_console_connected(struct mb_lv_console *c, char *why, size_t len)
{
	if (!c) {
		snprintf(why, len, "not started");
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	snprintf(why, len, "%s", c->error);
	pthread_mutex_unlock(&c->lock);
	return atomic_load(&c->connected);
}

void mb_lv_console_stop(struct mb_lv_console *c)
{
	if (!c)
		return;
	atomic_store(&c->stop, 1);
	pthread_join(c->thread, NULL);
	json_decref(c->problems);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
