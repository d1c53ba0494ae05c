/* The shaped migration link (see link.h): two namespaces, a TUN device in
 * each, and a thread that carries the packets between them through a
 * serializer, a drop-tail queue, random loss and a delay line. */
#define _GNU_SOURCE /* ppoll */
#include "config.h"
#include "runners/link.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static const char *const addresses[MB_LINK_ENDS] = { "10.78.0.1", "10.78.0.2" };

/* Least queue before the serializer: a few dozen packets, so that a link
 * with a tiny bandwidth-delay product still absorbs a burst. */
#define QUEUE_MIN_BYTES (256u << 10)
/* A link without bandwidth queues only in its delay line; bound that too
 * (a stalled reader must not make migbench grow without end). */
#define DELAY_LINE_MAX_BYTES (256u << 20)
/* Packets read from one end before the thread looks at the other. */
#define READ_BATCH 64

struct packet {
	struct packet *next;
	int64_t arrival_ns, due_ns;
	uint32_t len;
	unsigned char data[];
};

/* One direction: packets read from `in` go out of `out`. */
struct direction {
	int in, out;
	struct packet *head, *tail;
	uint64_t held_bytes;         /* in the delay line */
	int64_t serializer_free_ns;  /* when the serializer has sent all it holds */
	int64_t last_due_ns;
	struct mb_link_counters c;
};

struct mb_link {
	struct mb_netns *ns[MB_LINK_ENDS];
	int tun[MB_LINK_ENDS];
	int wake[2];                 /* pipe: stop */
	pthread_t thread;
	bool running;
	atomic_bool stop;
	pthread_mutex_t lock;        /* settings and counters */
	struct mb_link_settings set;
	struct direction dir[MB_LINK_ENDS];
	uint64_t rng;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift64*: a packet's loss and jitter; no need for more. */
static double uniform01(struct mb_link *l)
{
	l->rng ^= l->rng >> 12;
	l->rng ^= l->rng << 25;
	l->rng ^= l->rng >> 27;
	return (double)((l->rng * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

void mb_link_settings_from(const struct mb_params *p, struct mb_link_settings *s)
{
	*s = (struct mb_link_settings){ .bandwidth = p->link_bandwidth, .delay_us = p->link_delay_us,
					.jitter_us = p->link_jitter_us, .loss = p->link_loss };
}

/* One bandwidth-delay product (RTT = 2 x delay), at least QUEUE_MIN_BYTES. */
static uint64_t queue_limit(const struct mb_link_settings *s)
{
	double bdp = (double)s->bandwidth * (double)(2 * s->delay_us) / 1e6;

	return bdp > QUEUE_MIN_BYTES ? (uint64_t)bdp : QUEUE_MIN_BYTES;
}

/* A packet that arrived from d->in at `now`: dropped, or queued with the
 * time it leaves the delay line. Called with the lock held. */
static void arrive(struct mb_link *l, struct direction *d, const unsigned char *buf, uint32_t len,
		   int64_t now)
{
	const struct mb_link_settings *s = &l->set;
	int64_t leave = now, due;
	struct packet *p;

	d->c.packets++;
	d->c.bytes += len;
	if (s->loss > 0 && uniform01(l) < s->loss) {
		d->c.lost++;
		return;
	}
	if (s->bandwidth) {
		int64_t start = d->serializer_free_ns > now ? d->serializer_free_ns : now;
		double backlog = (double)(start - now) * (double)s->bandwidth / 1e9;

		if (backlog + len > (double)queue_limit(s)) {
			d->c.queue_full++;
			return;
		}
		if (start > now)
			d->c.overlimits++;
		leave = start + (int64_t)((double)len * 1e9 / (double)s->bandwidth);
		d->serializer_free_ns = leave;
	}
	due = leave + (int64_t)s->delay_us * 1000;
	if (s->jitter_us)
		due += (int64_t)((uniform01(l) * 2 - 1) * (double)s->jitter_us * 1000);
	/* Jitter varies the delay, it does not reorder (netem's default
	 * with a rate, too): TCP would take reordering for loss. */
	if (due < d->last_due_ns)
		due = d->last_due_ns;
	d->last_due_ns = due;
	if (d->held_bytes + len > DELAY_LINE_MAX_BYTES || !(p = malloc(sizeof(*p) + len))) {
		d->c.queue_full++;
		return;
	}
	p->next = NULL;
	p->arrival_ns = now;
	p->due_ns = due;
	p->len = len;
	memcpy(p->data, buf, len);
	if (d->tail)
		d->tail->next = p;
	else
		d->head = p;
	d->tail = p;
	d->held_bytes += len;
}

/* Writes out what is due; returns when the next packet is (0 = none).
 * Called with the lock held. */
static int64_t deliver(struct direction *d, int64_t now)
{
	while (d->head && d->head->due_ns <= now) {
		struct packet *p = d->head;
		uint64_t sojourn_us;

		if (write(d->out, p->data, p->len) == (ssize_t)p->len) {
			d->c.delivered++;
			d->c.delivered_bytes += p->len;
			sojourn_us = (uint64_t)(now - p->arrival_ns) / 1000;
			d->c.sojourn_sum_us += sojourn_us;
			if (sojourn_us > d->c.sojourn_max_us)
				d->c.sojourn_max_us = sojourn_us;
		} else {
			d->c.write_errors++;
		}
		d->head = p->next;
		if (!d->head)
			d->tail = NULL;
		d->held_bytes -= p->len;
		free(p);
	}
	return d->head ? d->head->due_ns : 0;
}

static void *carry(void *arg)
{
	struct mb_link *l = arg;
	unsigned char buf[65536];

	/* A 50 µs link cannot live with the default 50 µs timer slack. */
	prctl(PR_SET_TIMERSLACK, 1UL);
	while (!atomic_load(&l->stop)) {
		struct pollfd pfd[3] = {
			{ .fd = l->tun[0], .events = POLLIN },
			{ .fd = l->tun[1], .events = POLLIN },
			{ .fd = l->wake[0], .events = POLLIN },
		};
		struct timespec ts, *timeout = NULL;
		int64_t now = now_ns(), next = 0;

		pthread_mutex_lock(&l->lock);
		for (unsigned i = 0; i < MB_LINK_ENDS; i++) {
			int64_t due = deliver(&l->dir[i], now);

			if (due && (!next || due < next))
				next = due;
		}
		pthread_mutex_unlock(&l->lock);
		if (next) {
			int64_t wait = next - now_ns();

			if (wait < 0)
				wait = 0;
			ts = (struct timespec){ .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
			timeout = &ts;
		}
		if (ppoll(pfd, 3, timeout, NULL) < 0 && errno != EINTR)
			break;
		for (unsigned i = 0; i < MB_LINK_ENDS; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			for (int n = 0; n < READ_BATCH; n++) {
				ssize_t got = read(l->tun[i], buf, sizeof(buf));

				if (got <= 0)
					break;
				pthread_mutex_lock(&l->lock);
				arrive(l, &l->dir[i], buf, (uint32_t)got, now_ns());
				pthread_mutex_unlock(&l->lock);
			}
		}
	}
	return NULL;
}

/* A TUN device named MB_LINK_DEV in `ns`: it is made in the namespace of
 * the thread that opens /dev/net/tun. */
static int open_tun(const struct mb_netns *ns, int *fd, struct mb_err *err)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int saved;

	if (mb_netns_enter(ns, &saved, err))
		return -1;
	*fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		mb_errf(err, errno, "cannot open /dev/net/tun in %s", ns->name);
	mb_netns_leave(saved);
	if (*fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", MB_LINK_DEV);
	if (ioctl(*fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(*fd);
		*fd = -1;
		return mb_errf(err, e, "cannot make TUN device %s in %s", MB_LINK_DEV, ns->name);
	}
	return 0;
}

/* Address, MTU and up, with ip(8) in the end's namespace. */
static int configure_end(struct mb_link *l, unsigned end, struct mb_err *err)
{
	char local[32], mtu[16];
	const char *addr[] = { "-n", l->ns[end]->name, "addr", "add", local, "peer", addresses[1 - end],
			       "dev", MB_LINK_DEV, NULL };
	const char *up[] = { "-n", l->ns[end]->name, "link", "set", MB_LINK_DEV, "mtu", mtu, "up", NULL };

	snprintf(local, sizeof(local), "%s", addresses[end]);
	snprintf(mtu, sizeof(mtu), "%d", MB_LINK_MTU);
	return mb_netns_ip(addr, err) || mb_netns_ip(up, err) ? -1 : 0;
}

int mb_link_create(const struct mb_link_settings *s, struct mb_link **out, struct mb_err *err)
{
	struct mb_link *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (!l)
		return mb_errf(err, ENOMEM, "shaped link");
	l->tun[0] = l->tun[1] = l->wake[0] = l->wake[1] = -1;
	l->set = *s;
	l->rng = (uint64_t)now_ns() | 1;
	pthread_mutex_init(&l->lock, NULL);
	for (unsigned end = 0; end < MB_LINK_ENDS; end++)
		if (mb_netns_create_bare(&l->ns[end], err) || open_tun(l->ns[end], &l->tun[end], err) ||
		    configure_end(l, end, err))
			goto fail;
	for (unsigned i = 0; i < MB_LINK_ENDS; i++) {
		l->dir[i].in = l->tun[i];
		l->dir[i].out = l->tun[1 - i];
	}
	if (pipe2(l->wake, O_CLOEXEC)) {
		mb_errf(err, errno, "pipe");
		goto fail;
	}
	rc = pthread_create(&l->thread, NULL, carry, l);
	if (rc) {
		mb_errf(err, rc, "cannot start the link's thread");
		goto fail;
	}
	l->running = true;
	*out = l;
	return 0;
fail:
	mb_err_prefix(err, "shaped link");
	mb_link_destroy(l);
	return -1;
}

void mb_link_configure(struct mb_link *l, const struct mb_link_settings *s)
{
	pthread_mutex_lock(&l->lock);
	l->set = *s;
	pthread_mutex_unlock(&l->lock);
}

const struct mb_netns *mb_link_netns(const struct mb_link *l, unsigned end)
{
	return l->ns[end % MB_LINK_ENDS];
}

const char *mb_link_address(unsigned end)
{
	return addresses[end % MB_LINK_ENDS];
}

void mb_link_counters(struct mb_link *l, struct mb_link_counters out[MB_LINK_ENDS])
{
	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < MB_LINK_ENDS; i++)
		out[i] = l->dir[i].c;
	pthread_mutex_unlock(&l->lock);
}

static json_t *direction_json(const struct mb_link_counters *now, const struct mb_link_counters *before)
{
	uint64_t delivered = now->delivered - before->delivered;
	uint64_t sojourn = now->sojourn_sum_us - before->sojourn_sum_us;

	/* The maximum cannot be differenced: it is the link's so far. */
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:f}",
			 "packets", (json_int_t)(now->packets - before->packets),
			 "bytes", (json_int_t)(now->bytes - before->bytes),
			 "delivered", (json_int_t)delivered,
			 "delivered_bytes", (json_int_t)(now->delivered_bytes - before->delivered_bytes),
			 "drops", (json_int_t)(now->lost - before->lost + now->queue_full - before->queue_full +
					       now->write_errors - before->write_errors),
			 "lost", (json_int_t)(now->lost - before->lost),
			 "queue_full", (json_int_t)(now->queue_full - before->queue_full),
			 "overlimits", (json_int_t)(now->overlimits - before->overlimits),
			 "write_errors", (json_int_t)(now->write_errors - before->write_errors),
			 "sojourn_mean_ms", delivered ? json_real((double)sojourn / (double)delivered / 1000.0)
						      : json_null(),
			 "sojourn_max_ms_so_far", (double)now->sojourn_max_us / 1000.0);
}

json_t *mb_link_json(struct mb_link *l, const struct mb_link_counters before[MB_LINK_ENDS],
		     unsigned src_end, int64_t window_us)
{
	struct mb_link_counters now[MB_LINK_ENDS];
	struct mb_link_settings s;
	unsigned dst_end = 1 - src_end % MB_LINK_ENDS;
	uint64_t stream;
	json_t *throughput;

	mb_link_counters(l, now);
	pthread_mutex_lock(&l->lock);
	s = l->set;
	pthread_mutex_unlock(&l->lock);
	src_end %= MB_LINK_ENDS;
	stream = now[src_end].delivered_bytes - before[src_end].delivered_bytes;
	if (window_us > 0) {
		double rate = (double)stream * 1e6 / (double)window_us;

		throughput = json_pack("{s:f, s:I, s:f, s:f, s:o}",
				       "window_ms", (double)window_us / 1000.0,
				       "bytes", (json_int_t)stream,
				       "bytes_per_s", rate,
				       "mbit_per_s", rate * 8 / 1e6,
				       "of_bandwidth", s.bandwidth ? json_real(rate / (double)s.bandwidth) : json_null());
	} else {
		throughput = json_pack("{s:n, s:I}", "window_ms", "bytes", (json_int_t)stream);
	}
	return json_pack("{s:s, s:{s:I, s:f, s:f, s:f, s:f, s:f}, s:i, s:I, s:{s:s, s:s}, s:o, s:o, s:o}",
			 "emulator", "migbench: TUN devices in two network namespaces, packets carried by a "
				     "thread (runners/link.h)",
			 "settings",
			 "bandwidth_bytes_per_s", (json_int_t)s.bandwidth,
			 "bandwidth_mbit_per_s", (double)s.bandwidth * 8 / 1e6,
			 "delay_ms", (double)s.delay_us / 1000.0,
			 "rtt_ms", (double)(2 * s.delay_us) / 1000.0,
			 "jitter_ms", (double)s.jitter_us / 1000.0,
			 "loss", s.loss,
			 "mtu", MB_LINK_MTU,
			 "queue_limit_bytes", (json_int_t)(s.bandwidth ? queue_limit(&s) : 0),
			 "addresses", "source", addresses[src_end], "destination", addresses[dst_end],
			 "source_to_destination", direction_json(&now[src_end], &before[src_end]),
			 "destination_to_source", direction_json(&now[dst_end], &before[dst_end]),
			 "throughput", throughput);
}

void mb_link_destroy(struct mb_link *l)
{
	if (!l)
		return;
	if (l->running) {
		atomic_store(&l->stop, true);
		/* One byte into an empty pipe: it cannot fail. */
		(void)!write(l->wake[1], "x", 1);
		pthread_join(l->thread, NULL);
	}
	for (unsigned i = 0; i < MB_LINK_ENDS; i++) {
		while (l->dir[i].head) {
			struct packet *p = l->dir[i].head;

			l->dir[i].head = p->next;
			free(p);
		}
		/* A TUN device goes with its last descriptor. */
		if (l->tun[i] >= 0)
			close(l->tun[i]);
	}
	for (unsigned i = 0; i < 2; i++)
		if (l->wake[i] >= 0)
			close(l->wake[i]);
	for (unsigned end = 0; end < MB_LINK_ENDS; end++)
		mb_netns_destroy(l->ns[end]);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
