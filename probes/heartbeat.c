/* The heartbeat reader (see heartbeat.h): one thread per source socket, one
 * ordered record stream, command replies matched to waiting callers. */
#include "config.h"
#include "probes/heartbeat.h"
#include "bench/atomic_file.h"
#include "bench/clock.h"
#include "probes/tick.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Unsolicited ERR lines kept for mb_hb_guest_errors. */
#define GUEST_ERRORS_TEXT 1024

/* Records a series reads from the spool at once (16 KiB): a scan reads the
 * file in order, a binary search touches a few blocks. */
#define VIEW_BLOCK 256

struct source {
	struct mb_hb_reader *reader;
	unsigned index;
	char label[MB_HB_LABEL_MAX];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	pthread_t thread;
	bool thread_running;       /* joinable */
	bool open;                 /* still reading (guarded by reader->lock) */
	char close_reason[160];    /* why it stopped: "closed by QEMU", an errno text */
	int64_t last_mono_us;      /* arrival of its last record; 0 = none yet */
	pthread_mutex_t write_lock; /* one command line at a time on the socket */
};

/* A caller of mb_hb_command waiting for the reply with its id. Lives on
 * that caller's stack while linked in reader->waiters. */
struct waiter {
	uint64_t id;
	const struct source *to;
	bool done;
	struct mb_hb_reply reply;
	struct waiter *next;
};

struct mb_hb_reader {
	pthread_mutex_t lock;      /* guards everything below */
	pthread_cond_t changed;    /* a record, a reply or a closed source */
	/* Every source ever attached, in attach order: a record names its
	 * source by index. A detached one keeps its few hundred bytes (label,
	 * why it closed) but no thread or descriptor, so a campaign of 1000
	 * repetitions costs 1000 of them, not a limit. */
	struct source **sources;
	unsigned nsources, sources_cap;
	/* The records still kept: absolute indexes [spool_first, base) in
	 * the spool file (record i at offset i * sizeof(record)), [base, base
	 * + nrecords) in memory. At most mem_max are in memory: when full,
	 * the older half goes to the spool. The guest is untrusted input: at
	 * most max_records are kept in all, the oldest half dropped when full;
	 * the run loop releases what no run will ask for any more
	 * (mb_hb_release_before), and the spool's blocks with them. */
	struct mb_hb_record *records;
	size_t nrecords, cap, base, max_records, mem_max, dropped;
	int spool_fd;              /* -1 until the first spill */
	size_t spool_first;
	char spool_error[200];     /* why there is no spool (said once) */
	struct mb_hb_hello hello;
	struct waiter *waiters;
	uint64_t next_id;
	size_t bad_lines, late_replies, guest_errors, unstored;
	char guest_error_text[GUEST_ERRORS_TEXT];
};

/* ---- handling one record (reader->lock held) ---------------------------- */

/* Takes the oldest n in-memory records out of memory (they are on the
 * spool, or forgotten). */
static void drop_oldest(struct mb_hb_reader *r, size_t n)
{
	if (n > r->nrecords)
		n = r->nrecords;
	memmove(r->records, r->records + n, (r->nrecords - n) * sizeof(*r->records));
	r->nrecords -= n;
	r->base += n;
}

/* The spool: an unnamed file, gone with the process whatever ends it. */
static int spool_open(struct mb_hb_reader *r)
{
	struct mb_err err = {0};

	if (r->spool_fd >= 0 || r->spool_error[0])
		return r->spool_fd;
	r->spool_fd = mb_spool_open("heartbeats", &err);
	if (r->spool_fd < 0)
		snprintf(r->spool_error, sizeof(r->spool_error), "%s", err.msg);
	return r->spool_fd;
}

/* Forgets the oldest n kept records, on disk first; the spool's blocks go
 * back to the file system (a hole; where holes are not supported the
 * file keeps its size, which MB_HB_MAX_RECORDS bounds). */
static void forget_oldest(struct mb_hb_reader *r, size_t n)
{
	size_t on_disk = r->base - r->spool_first;

	if (n > on_disk + r->nrecords)
		n = on_disk + r->nrecords;
	if (on_disk) {
		size_t d = n < on_disk ? n : on_disk;
		off_t from = (off_t)r->spool_first * (off_t)sizeof(struct mb_hb_record);

		r->spool_first += d;
		fallocate(r->spool_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from,
			  (off_t)r->spool_first * (off_t)sizeof(struct mb_hb_record) - from);
		n -= d;
	}
	/* Nothing on disk any more: the kept records start in memory. */
	drop_oldest(r, n);
	if (r->spool_first == r->base - n)
		r->spool_first = r->base;
}

/* Moves the oldest n in-memory records to the spool; false (and why in
 * spool_error) when it cannot. This is a write to the page cache (at most
 * 2 MiB, once a half-minute at 1 ms) from a reader's thread with the lock
 * held: a heartbeat arriving meanwhile is stamped when it is read,
 * microseconds late. */
static bool spool_write(struct mb_hb_reader *r, size_t n)
{
	int fd = spool_open(r);
	ssize_t done;

	if (n > r->nrecords)
		n = r->nrecords;
	if (fd < 0)
		return false;
	errno = 0;
	done = pwrite(fd, r->records, n * sizeof(*r->records), (off_t)r->base * (off_t)sizeof(*r->records));
	if (done != (ssize_t)(n * sizeof(*r->records))) {
		if (!r->spool_error[0])
			snprintf(r->spool_error, sizeof(r->spool_error), "writing the heartbeat spool: %s",
				 errno ? strerror(errno) : "short write (file system full?)");
		return false;
	}
	drop_oldest(r, n);
	return true;
}

/* Memory is full: the older half to the spool, or, without one, dropped
 * (counted), as memory must stay bounded. */
static void spill(struct mb_hb_reader *r, size_t n)
{
	if (spool_write(r, n))
		return;
	/* The kept records must follow each other: those on disk go with
	 * the ones that could not join them. */
	if (n > r->nrecords)
		n = r->nrecords;
	r->dropped += (r->base - r->spool_first) + n;
	forget_oldest(r, (r->base - r->spool_first) + n);
}

static void store_heartbeat(struct mb_hb_reader *r, const struct mb_hb_record *rec)
{
	size_t i;

	if (r->base + r->nrecords - r->spool_first >= r->max_records) {
		size_t half = r->max_records / 2 ? r->max_records / 2 : 1;

		forget_oldest(r, half);
		r->dropped += half;
	}
	if (r->nrecords >= r->mem_max)
		spill(r, r->mem_max / 2 ? r->mem_max / 2 : 1);
	if (r->nrecords == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;

		if (cap > r->mem_max)
			cap = r->mem_max;
		struct mb_hb_record *grown = realloc(r->records, cap * sizeof(*grown));

		if (!grown) {
			r->unstored++;
			return;
		}
		r->records = grown;
		r->cap = cap;
	}
	/* Two sources' threads may append a few µs out of order; keep the
	 * stream sorted by arrival (nearly always: append at the end). */
	i = r->nrecords;
	while (i > 0 && r->records[i - 1].host_mono_us > rec->host_mono_us) {
		r->records[i] = r->records[i - 1];
		i--;
	}
	r->records[i] = *rec;
	r->nrecords++;
}

static void take_hello(struct mb_hb_reader *r, const struct mb_proto_line *l, const struct source *s,
		       int64_t real_us, int64_t mono_us)
{
	struct mb_hb_hello h = {
		.received = true,
		.host_real_us = real_us,
		.host_mono_us = mono_us,
		.source = s->index,
	};
	const char *v;

	mb_proto_get_u64(l, "v", &h.version);
	mb_proto_get_u64(l, "wss_pages", &h.wss_pages);
	mb_proto_get_u64(l, "page_size", &h.page_size);
	mb_proto_get_u64(l, "rate", &h.rate);
	mb_proto_get_u64(l, "period_us", &h.period_us);
	mb_proto_get_u64(l, "boot_us", &h.boot_us);
	if ((v = mb_proto_get(l, "workload")))
		snprintf(h.workload, sizeof(h.workload), "%s", v);
	if ((v = mb_proto_get(l, "pattern")))
		snprintf(h.pattern, sizeof(h.pattern), "%s", v);
	r->hello = h;
}

static void note_guest_error(struct mb_hb_reader *r, const char *text)
{
	size_t used = strlen(r->guest_error_text);

	r->guest_errors++;
	if (used + 3 < sizeof(r->guest_error_text))
		snprintf(r->guest_error_text + used, sizeof(r->guest_error_text) - used, "%s%s",
			 used ? "; " : "", text);
}

static bool is_reply_type(const char *type)
{
	static const char *const replies[] = { "PONG", "RATE", "PERIOD", "VERIFY", "STATS", "ERR" };

	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++)
		if (!strcmp(type, replies[i]))
			return true;
	return false;
}

/* A reply `l` (`text` as it came): to the command waiting for its id, else
 * an ERR the guest sent on its own, else one nobody waits for any more. */
static void take_reply(struct mb_hb_reader *r, const struct mb_proto_line *l, const char *text,
		       int64_t real_us, int64_t mono_us)
{
	struct waiter *w;
	uint64_t id;

	if (mb_proto_get_u64(l, "id", &id))
		id = 0;
	for (w = r->waiters; w; w = w->next)
		if (w->id == id && !w->done)
			break;
	if (w) {
		snprintf(w->reply.text, sizeof(w->reply.text), "%s", text);
		w->reply.host_real_us = real_us;
		w->reply.host_mono_us = mono_us;
		w->done = true;
	} else if (!strcmp(l->type, "ERR")) {
		note_guest_error(r, text);
	} else {
		r->late_replies++;
	}
}

static void handle_line(struct mb_hb_reader *r, struct source *s, const char *text,
			int64_t real_us, int64_t mono_us)
{
	char copy[MB_PROTO_LINE_MAX];
	struct mb_proto_line l;

	snprintf(copy, sizeof(copy), "%s", text);
	if (mb_proto_parse(copy, &l)) {
		if (text[strspn(text, " \t\r")])
			r->bad_lines++;
		return;
	}
	s->last_mono_us = mono_us;
	if (!strcmp(l.type, "HB")) {
		struct mb_hb_record rec = {
			.host_real_us = real_us,
			.host_mono_us = mono_us,
			.source = s->index,
		};

		if (mb_proto_get_u64(&l, "seq", &rec.seq) || mb_proto_get_u64(&l, "gt", &rec.guest_us) ||
		    mb_proto_get_u64(&l, "written", &rec.written) || mb_proto_get_u64(&l, "ops", &rec.ops) ||
		    mb_proto_get_u64(&l, "rate", &rec.rate)) {
			r->bad_lines++;
			return;
		}
		store_heartbeat(r, &rec);
	} else if (!strcmp(l.type, "HELLO")) {
		take_hello(r, &l, s, real_us, mono_us);
		/* With an id: the boot's, repeated for the HELLO command. */
		if (mb_proto_get(&l, "id"))
			take_reply(r, &l, text, real_us, mono_us);
	} else if (is_reply_type(l.type)) {
		take_reply(r, &l, text, real_us, mono_us);
	} else {
		r->bad_lines++;
	}
}

/* ---- the per-source thread ------------------------------------------------ */

static void source_closed(struct source *s, const char *reason)
{
	struct mb_hb_reader *r = s->reader;

	pthread_mutex_lock(&r->lock);
	if (s->open) {
		s->open = false;
		snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason);
	}
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
}

static void *source_main(void *arg)
{
	struct source *s = arg;
	struct mb_hb_reader *r = s->reader;
	char buf[8 * MB_PROTO_LINE_MAX];
	size_t len = 0;
	bool discarding = false; /* inside an over-long line: skip to its '\n' */

	for (;;) {
		ssize_t n = read(s->fd, buf + len, sizeof(buf) - 1 - len);
		/* Stamp first: the arrival time is the measurement. */
		int64_t real_us = mb_clock_us(CLOCK_REALTIME), mono_us = mb_clock_us(CLOCK_MONOTONIC);
		size_t start = 0;
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			char reason[160];

			if (n == 0)
				snprintf(reason, sizeof(reason), "%s closed (QEMU exited or detached)", s->path);
			else
				snprintf(reason, sizeof(reason), "reading %s: %s", s->path, strerror(errno));
			source_closed(s, reason);
			return NULL;
		}
		len += (size_t)n;
		buf[len] = '\0';
		pthread_mutex_lock(&r->lock);
		while ((nl = memchr(buf + start, '\n', len - start))) {
			*nl = '\0';
			if (!discarding)
				handle_line(r, s, buf + start, real_us, mono_us);
			discarding = false;
			start = (size_t)(nl - buf) + 1;
		}
		pthread_cond_broadcast(&r->changed);
		pthread_mutex_unlock(&r->lock);
		memmove(buf, buf + start, len - start);
		len -= start;
		if (len >= MB_PROTO_LINE_MAX) {
			/* No record is this long: drop it, resync at the next '\n'. */
			pthread_mutex_lock(&r->lock);
			r->bad_lines++;
			pthread_mutex_unlock(&r->lock);
			discarding = true;
			len = 0;
		}
	}
}

/* ---- reader ------------------------------------------------------------------ */

int mb_hb_reader_new(struct mb_hb_reader **out, struct mb_err *err)
{
	struct mb_hb_reader *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return mb_errf(err, errno, "heartbeat reader");
	r->max_records = MB_HB_MAX_RECORDS;
	r->mem_max = MB_HB_MEM_RECORDS;
	r->spool_fd = -1;
	pthread_mutex_init(&r->lock, NULL);
	/* Waits are measured on the monotonic clock: a clock step (NTP) must
	 * not stretch or cut a timeout. */
	rc = mb_tick_cond_init(&r->changed);
	if (rc) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return mb_errf(err, rc, "heartbeat reader: pthread_cond_init");
	}
	*out = r;
	return 0;
}

/* "tcp:HOST:PORT" (a guest on another host, its QEMU serving the port
 * there): resolved once; each attempt makes a new socket. */
static int tcp_address(const char *where, struct sockaddr_storage *ss, socklen_t *len, struct mb_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	char host[256];
	const char *colon = strrchr(where + 4, ':');
	int rc;

	if (!colon || colon == where + 4 || !colon[1] || (size_t)(colon - (where + 4)) >= sizeof(host))
		return mb_errf(err, EINVAL, "heartbeat address '%s': not tcp:HOST:PORT", where);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - (where + 4)), where + 4);
	/* [v6]:port */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc)
		return mb_errf(err, 0, "heartbeat address '%s': %s", where, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* `where` is a unix socket path, or tcp:HOST:PORT. */
static int connect_retrying(const char *where, int timeout_ms, struct mb_err *err)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_un *un = (struct sockaddr_un *)&ss;
	socklen_t len = sizeof(*un);
	int64_t deadline = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;
	int fd, e;

	if (!strncmp(where, "tcp:", 4)) {
		if (tcp_address(where, &ss, &len, err))
			return -1;
	} else {
		if (strlen(where) >= sizeof(un->sun_path))
			return mb_errf(err, ENAMETOOLONG, "heartbeat socket %s", where);
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, where, strlen(where) + 1);
	}
	for (;;) {
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return mb_errf(err, errno, "heartbeat socket %s: socket()", where);
		if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
			int one = 1;

			/* Heartbeats are small lines: no Nagle delay on commands. */
			if (ss.ss_family != AF_UNIX)
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		e = errno;
		close(fd);
		/* QEMU has not created or not started listening on it yet. */
		if ((e != ENOENT && e != ECONNREFUSED && e != EINTR) ||
		    (timeout_ms >= 0 && mb_clock_us(CLOCK_MONOTONIC) >= deadline))
			return mb_errf(err, e, "cannot connect to heartbeat socket %s", where);
		usleep(2000);
	}
}

int mb_hb_attach(struct mb_hb_reader *r, const char *socket_path, const char *label,
		 int timeout_ms, unsigned *index, struct mb_err *err)
{
	struct source *s;
	sigset_t all, old;
	int fd, rc;

	fd = connect_retrying(socket_path, timeout_ms, err);
	if (fd < 0)
		return -1;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return mb_errf(err, errno, "heartbeat reader: attaching %s", socket_path);
	}
	*s = (struct source){ .reader = r, .fd = fd, .open = true };
	snprintf(s->label, sizeof(s->label), "%s", label && *label ? label : "guest");
	snprintf(s->path, sizeof(s->path), "%s", socket_path);
	pthread_mutex_init(&s->write_lock, NULL);

	pthread_mutex_lock(&r->lock);
	if (r->nsources == r->sources_cap) {
		unsigned cap = r->sources_cap ? 2 * r->sources_cap : 8;
		struct source **grown = realloc(r->sources, cap * sizeof(*grown));

		if (!grown) {
			pthread_mutex_unlock(&r->lock);
			close(fd);
			pthread_mutex_destroy(&s->write_lock);
			free(s);
			return mb_errf(err, ENOMEM, "heartbeat reader: attaching %s", socket_path);
		}
		r->sources = grown;
		r->sources_cap = cap;
	}
	s->index = r->nsources;
	r->sources[r->nsources++] = s;
	/* The reader thread must not take the caller's signals (Ctrl-C is
	 * for the main loop). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->thread, NULL, source_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->thread_running = rc == 0;
	if (rc) {
		s->open = false;
		snprintf(s->close_reason, sizeof(s->close_reason), "no reader thread");
	}
	pthread_mutex_unlock(&r->lock);
	if (rc)
		return mb_errf(err, rc, "heartbeat reader: thread for %s", socket_path);
	if (index)
		*index = s->index;
	return 0;
}

void mb_hb_detach(struct mb_hb_reader *r, unsigned index)
{
	struct source *s;
	bool join;

	pthread_mutex_lock(&r->lock);
	s = index < r->nsources ? r->sources[index] : NULL;
	join = s && s->thread_running;
	if (s)
		s->thread_running = false;
	pthread_mutex_unlock(&r->lock);
	if (!s)
		return;
	/* Wakes the thread's read() with end of file. */
	if (s->fd >= 0)
		shutdown(s->fd, SHUT_RDWR);
	if (join)
		pthread_join(s->thread, NULL);
	source_closed(s, "detached");
	pthread_mutex_lock(&s->write_lock);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	pthread_mutex_unlock(&s->write_lock);
}

void mb_hb_reader_free(struct mb_hb_reader *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->nsources; i++)
		mb_hb_detach(r, i);
	for (unsigned i = 0; i < r->nsources; i++) {
		pthread_mutex_destroy(&r->sources[i]->write_lock);
		free(r->sources[i]);
	}
	free(r->sources);
	free(r->records);
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	pthread_cond_destroy(&r->changed);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* ---- waiting (reader->lock held) --------------------------------------------- */

static struct timespec deadline_after(int timeout_ms)
{
	int64_t us = mb_clock_us(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000;

	return (struct timespec){ .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
}

/* Sleeps until something changes; false once the deadline has passed. */
static bool wait_changed(struct mb_hb_reader *r, int timeout_ms, const struct timespec *deadline)
{
	if (timeout_ms < 0) {
		pthread_cond_wait(&r->changed, &r->lock);
		return true;
	}
	return pthread_cond_timedwait(&r->changed, &r->lock, deadline) != ETIMEDOUT;
}

static unsigned open_sources(const struct mb_hb_reader *r)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->nsources; i++)
		n += r->sources[i]->open;
	return n;
}

/* "source: why; destination: why" for a reader whose sources all closed. */
static void closed_reasons(const struct mb_hb_reader *r, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	/* Sources we detached ourselves explain nothing. */
	for (unsigned i = 0; i < r->nsources && used + 1 < len; i++)
		if (strcmp(r->sources[i]->close_reason, "detached"))
			used += (size_t)snprintf(buf + used, len - used, "%s%s: %s", used ? "; " : "",
						 r->sources[i]->label, r->sources[i]->close_reason);
	if (!used)
		snprintf(buf, len, r->nsources ? "every source detached" : "no source attached");
}

int mb_hb_wait_records(struct mb_hb_reader *r, size_t count, int timeout_ms, struct mb_err *err)
{
	struct timespec deadline = deadline_after(timeout_ms);
	char why[512];
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	while (r->base + r->nrecords < count) {
		if (!open_sources(r)) {
			closed_reasons(r, why, sizeof(why));
			rc = mb_errf(err, 0, "heartbeat channel closed after %zu of %zu heartbeats (%s)",
				     r->base + r->nrecords, count, why);
			break;
		}
		if (!wait_changed(r, timeout_ms, &deadline) && r->base + r->nrecords < count) {
			rc = mb_errf(err, ETIMEDOUT, "%zu of %zu heartbeats within %d ms", r->base + r->nrecords,
				     count, timeout_ms);
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int mb_hb_wait_hello(struct mb_hb_reader *r, struct mb_hb_hello *hello, int timeout_ms,
		     struct mb_err *err)
{
	struct timespec deadline = deadline_after(timeout_ms);
	char why[512];
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	while (!r->hello.received) {
		if (!open_sources(r)) {
			closed_reasons(r, why, sizeof(why));
			rc = mb_errf(err, 0, "heartbeat channel closed before the agent's HELLO (%s)", why);
			break;
		}
		if (!wait_changed(r, timeout_ms, &deadline) && !r->hello.received) {
			rc = mb_errf(err, ETIMEDOUT, "no HELLO from the guest agent within %d ms", timeout_ms);
			break;
		}
	}
	if (hello)
		*hello = r->hello;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- commands ------------------------------------------------------------------ */

/* The open source that spoke last; before anyone spoke, the newest. */
static struct source *active_source(struct mb_hb_reader *r)
{
	struct source *best = NULL;

	for (unsigned i = 0; i < r->nsources; i++) {
		struct source *s = r->sources[i];

		if (s->open && (!best || s->last_mono_us >= best->last_mono_us))
			best = s;
	}
	return best;
}

static void unlink_waiter(struct mb_hb_reader *r, struct waiter *w)
{
	for (struct waiter **p = &r->waiters; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			return;
		}
	}
}

static int send_line(struct source *s, const char *line, size_t len, struct mb_err *err)
{
	size_t done = 0;
	int rc = 0;

	pthread_mutex_lock(&s->write_lock);
	while (done < len) {
		ssize_t n = s->fd < 0 ? -1 : send(s->fd, line + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = mb_errf(err, s->fd < 0 ? EBADF : errno, "writing to heartbeat socket %s", s->path);
			break;
		}
		done += (size_t)n;
	}
	pthread_mutex_unlock(&s->write_lock);
	return rc;
}

static const char *expected_reply(const char *command)
{
	return !strcmp(command, "PING") ? "PONG" : command;
}

int mb_hb_command(struct mb_hb_reader *r, const char *command, const char *args,
		  struct mb_hb_reply *reply, int timeout_ms, struct mb_err *err)
{
	struct timespec deadline;
	struct waiter w = { 0 };
	struct source *s;
	char line[MB_PROTO_LINE_MAX], type[32] = "";
	int n, rc = 0;
	int64_t sent;

	pthread_mutex_lock(&r->lock);
	s = active_source(r);
	if (!s) {
		char why[512];

		closed_reasons(r, why, sizeof(why));
		pthread_mutex_unlock(&r->lock);
		return mb_errf(err, 0, "guest command %s: no open heartbeat channel (%s)", command, why);
	}
	w.id = ++r->next_id;
	w.to = s;
	w.next = r->waiters;
	r->waiters = &w;
	pthread_mutex_unlock(&r->lock);

	n = snprintf(line, sizeof(line), "%s %llu%s%s\n", command, (unsigned long long)w.id,
		     args && *args ? " " : "", args ? args : "");
	if (n < 0 || (size_t)n >= sizeof(line)) {
		rc = mb_errf(err, 0, "guest command %s: longer than %d bytes", command, MB_PROTO_LINE_MAX - 1);
		goto out;
	}
	sent = mb_clock_us(CLOCK_MONOTONIC);
	/* Sent without the lock: a slow socket must not stall the readers. */
	if (send_line(s, line, (size_t)n, err)) {
		rc = mb_err_prefix(err, "guest command %s (%s)", command, s->label);
		goto out;
	}
	deadline = deadline_after(timeout_ms);
	pthread_mutex_lock(&r->lock);
	while (!w.done) {
		if (!s->open) {
			rc = mb_errf(err, 0, "guest command %s: %s channel closed before the reply (%s)", command,
				     s->label, s->close_reason);
			break;
		}
		if (!wait_changed(r, timeout_ms, &deadline) && !w.done) {
			rc = mb_errf(err, ETIMEDOUT, "guest command %s: no reply from the %s guest within %d ms",
				     command, s->label, timeout_ms);
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (!rc) {
		w.reply.sent_mono_us = sent;
		sscanf(w.reply.text, "%31s", type);
		if (!strcmp(type, "ERR"))
			rc = mb_errf(err, 0, "guest command %s: the %s guest answered: %s", command, s->label,
				     w.reply.text);
		else if (strcmp(type, expected_reply(command)))
			rc = mb_errf(err, 0, "guest command %s: the %s guest answered with a %s record: %s",
				     command, s->label, type, w.reply.text);
	}
out:
	pthread_mutex_lock(&r->lock);
	unlink_waiter(r, &w);
	pthread_mutex_unlock(&r->lock);
	if (reply)
		*reply = w.reply;
	return rc;
}

int mb_hb_reply_u64(const struct mb_hb_reply *reply, const char *key, uint64_t *out,
		    struct mb_err *err)
{
	char copy[MB_PROTO_LINE_MAX];
	struct mb_proto_line l;

	snprintf(copy, sizeof(copy), "%s", reply->text);
	if (mb_proto_parse(copy, &l) || mb_proto_get_u64(&l, key, out))
		return mb_errf(err, 0, "guest reply has no number %s=: '%s'", key, reply->text);
	return 0;
}

/* ---- reading the stream ------------------------------------------------------- */

size_t mb_hb_count(struct mb_hb_reader *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->base + r->nrecords;
	pthread_mutex_unlock(&r->lock);
	return n;
}

size_t mb_hb_oldest(struct mb_hb_reader *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->spool_first;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* Kept records [from, from + max) into out, from the spool then from
 * memory (lock held). Returns how many; fewer when the spool cannot be
 * read. */
static size_t read_kept(struct mb_hb_reader *r, size_t from, struct mb_hb_record *out, size_t max)
{
	size_t n = 0;

	if (from < r->spool_first || from >= r->base + r->nrecords)
		return 0;
	if (from < r->base) {
		size_t want = r->base - from < max ? r->base - from : max;
		ssize_t got = pread(r->spool_fd, out, want * sizeof(*out), (off_t)from * (off_t)sizeof(*out));

		if (got < 0)
			return 0;
		n = (size_t)got / sizeof(*out);
		if (n < want)
			return n;
	}
	if (n < max && from + n >= r->base) {
		size_t at = from + n - r->base, more = r->nrecords - at;

		if (more > max - n)
			more = max - n;
		memcpy(out + n, r->records + at, more * sizeof(*out));
		n += more;
	}
	return n;
}

size_t mb_hb_copy(struct mb_hb_reader *r, size_t from, struct mb_hb_record *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = read_kept(r, from, out, max);
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* The absolute index of the first kept record that arrived at or after
 * from_real_us (lock held): a binary search, as arrival order is
 * monotonic-clock order and realtime only steps with the clock. */
static size_t first_since(struct mb_hb_reader *r, int64_t from_real_us)
{
	size_t lo = r->spool_first, hi = r->base + r->nrecords;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct mb_hb_record rec;

		if (read_kept(r, mid, &rec, 1) == 1 && rec.host_real_us < from_real_us)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A series read from the spool: its own descriptor, so that it reads
 * without the reader's lock, and one block of records. */
struct spool_view {
	int fd;
	size_t first, n;           /* absolute index of point 0; points */
	size_t block_at, block_n;  /* the block holds [block_at, block_at + block_n) */
	size_t read_errors;
	struct mb_hb_point *copy;  /* no spool: the points, in memory */
	struct mb_hb_record block[VIEW_BLOCK];
};

static struct mb_hb_point view_at(void *ctx, size_t i)
{
	struct spool_view *v = ctx;
	const struct mb_hb_record *rec;

	if (i < v->block_at || i >= v->block_at + v->block_n) {
		size_t want = v->n - i < VIEW_BLOCK ? v->n - i : VIEW_BLOCK;
		ssize_t got = pread(v->fd, v->block, want * sizeof(*v->block),
				    (off_t)(v->first + i) * (off_t)sizeof(*v->block));

		v->block_at = i;
		v->block_n = got > 0 ? (size_t)got / sizeof(*v->block) : 0;
		if (!v->block_n) {
			v->read_errors++;
			return (struct mb_hb_point){ 0 };
		}
	}
	rec = &v->block[i - v->block_at];
	return (struct mb_hb_point){
		.host_us = rec->host_real_us, .seq = rec->seq, .written = rec->written,
		.ops = rec->ops, .guest_us = rec->guest_us,
	};
}

int mb_hb_points(struct mb_hb_reader *r, int64_t from_real_us, struct mb_hb_series *out,
		 struct mb_err *err)
{
	struct spool_view *v = calloc(1, sizeof(*v));
	size_t first;
	int rc = 0;

	*out = (struct mb_hb_series){ 0 };
	if (!v)
		return mb_errf(err, errno, "heartbeat series");
	v->fd = -1;
	pthread_mutex_lock(&r->lock);
	/* All of the window on disk: one file to read it from. */
	if (r->nrecords)
		spool_write(r, r->nrecords);
	first = first_since(r, from_real_us);
	v->first = first;
	v->n = r->base + r->nrecords - first;
	if (r->nrecords) {
		/* No spool (the window is in memory): a copy. */
		struct mb_hb_record rec;

		v->copy = malloc(v->n * sizeof(*v->copy));
		if (!v->copy) {
			rc = mb_errf(err, errno, "copying %zu heartbeats", v->n);
		} else {
			for (size_t i = 0; i < v->n; i++) {
				read_kept(r, first + i, &rec, 1);
				v->copy[i] = (struct mb_hb_point){
					.host_us = rec.host_real_us, .seq = rec.seq, .written = rec.written,
					.ops = rec.ops, .guest_us = rec.guest_us,
				};
			}
		}
	} else if (v->n) {
		v->fd = fcntl(r->spool_fd, F_DUPFD_CLOEXEC, 0);
		if (v->fd < 0)
			rc = mb_errf(err, errno, "heartbeat spool: dup");
	}
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		free(v->copy);
		if (v->fd >= 0)
			close(v->fd);
		free(v);
		return rc;
	}
	*out = (struct mb_hb_series){ .points = v->copy, .n = v->n, .at = view_at, .ctx = v };
	return 0;
}

void mb_hb_series_free(struct mb_hb_series *s)
{
	struct spool_view *v = s ? s->ctx : NULL;

	if (v) {
		if (v->fd >= 0)
			close(v->fd);
		free(v->copy);
		free(v);
	}
	if (s)
		*s = (struct mb_hb_series){ 0 };
}

size_t mb_hb_series_read_errors(const struct mb_hb_series *s)
{
	const struct spool_view *v = s ? s->ctx : NULL;

	return v ? v->read_errors : 0;
}

void mb_hb_release_before(struct mb_hb_reader *r, int64_t before_real_us)
{
	pthread_mutex_lock(&r->lock);
	forget_oldest(r, first_since(r, before_real_us) - r->spool_first);
	pthread_mutex_unlock(&r->lock);
}

void mb_hb_set_max_records(struct mb_hb_reader *r, size_t max)
{
	size_t kept;

	pthread_mutex_lock(&r->lock);
	r->max_records = max ? max : 1;
	kept = r->base + r->nrecords - r->spool_first;
	if (kept > r->max_records) {
		r->dropped += kept - r->max_records;
		forget_oldest(r, kept - r->max_records);
	}
	pthread_mutex_unlock(&r->lock);
}

void mb_hb_set_memory_records(struct mb_hb_reader *r, size_t in_memory)
{
	pthread_mutex_lock(&r->lock);
	if (in_memory)
		r->mem_max = in_memory;
	pthread_mutex_unlock(&r->lock);
}

void mb_hb_counters(struct mb_hb_reader *r, struct mb_hb_counters *out)
{
	pthread_mutex_lock(&r->lock);
	*out = (struct mb_hb_counters){
		.records = r->base + r->nrecords,
		.kept = r->base + r->nrecords - r->spool_first,
		.spooled = r->base - r->spool_first,
		.dropped = r->dropped,
		.bad_lines = r->bad_lines,
		.late_replies = r->late_replies,
		.guest_errors = r->guest_errors,
		.unstored = r->unstored,
		.sources = r->nsources,
		.open_sources = open_sources(r),
	};
	pthread_mutex_unlock(&r->lock);
}

size_t mb_hb_guest_errors(struct mb_hb_reader *r, char *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->guest_errors;
	if (len)
		snprintf(buf, len, "%s", r->guest_error_text);
	pthread_mutex_unlock(&r->lock);
	return n;
}
