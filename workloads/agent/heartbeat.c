#define _GNU_SOURCE /* ppoll */

#include "workloads/agent/heartbeat.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workloads/agent/clock.h"
#include "workloads/agent/command.h"
#include "workloads/agent/log.h"
#include "workloads/proto.h"

/* Room for replies and boot records waiting for the host; heartbeats never
 * wait here (a late heartbeat would lie about when the guest ran). */
#define OUTPUT_QUEUE_BYTES 8192

struct heartbeat {
	struct agent_state *state;
	struct channel *channel;
	uint64_t period_us;
	uint64_t seq;
	uint64_t last_tick_us;
	uint64_t next_tick_us;
	/* Set when the channel reports no host (virtio: EOF/HUP); the fd is
	 * left out of poll() until the next tick instead of spinning on HUP. */
	bool channel_quiet;
	bool realtime;

	char output[OUTPUT_QUEUE_BYTES];
	size_t output_len;
	bool drop_logged; /* one console line per stall, not one per reply */

	char input[MB_PROTO_LINE_MAX];
	size_t input_len;
	bool discarding_long_line;
};

/* Writes as much of the queue as the channel takes now. */
static void flush_output(struct heartbeat *hb)
{
	ssize_t n;

	if (hb->channel->out_fd < 0)
		return;
	while (hb->output_len > 0) {
		n = write(hb->channel->out_fd, hb->output, hb->output_len);
		if (n <= 0) {
			/* EAGAIN (no host, buffer full), EPIPE, EIO: retry at the
			 * next tick. Until then the fd stays out of poll(), so a
			 * channel that says "writable" but fails cannot make this
			 * (real-time) thread spin. */
			hb->channel_quiet = true;
			return;
		}
		memmove(hb->output, hb->output + n, hb->output_len - (size_t)n);
		hb->output_len -= (size_t)n;
	}
	hb->drop_logged = false;
}

static void queue_output(struct heartbeat *hb, const char *record, size_t len)
{
	if (len > sizeof(hb->output) - hb->output_len) {
		if (!hb->drop_logged)
			agent_log("reply dropped: %zu bytes already wait for a host that is not reading",
				  hb->output_len);
		hb->drop_logged = true;
		return;
	}
	memcpy(hb->output + hb->output_len, record, len);
	hb->output_len += len;
	flush_output(hb);
}

static void send_heartbeat(struct heartbeat *hb, uint64_t now_us)
{
	struct agent_state *state = hb->state;
	char record[160];
	ssize_t n;
	int len;

	/* The sequence number counts dropped records too: the host sees the gap. */
	uint64_t seq = hb->seq++;

	flush_output(hb);
	if (hb->output_len > 0 || hb->channel->out_fd < 0)
		return;
	len = record_heartbeat(record, sizeof(record), seq, now_us, atomic_load(&state->pages_written),
			       atomic_load(&state->ops), atomic_load(&state->target_rate));
	n = write(hb->channel->out_fd, record, (size_t)len);
	/* A serial port may take part of a record; the rest must follow before
	 * anything else or the line would be torn. */
	if (n > 0 && n < len)
		queue_output(hb, record + n, (size_t)(len - n));
}

static void handle_line(struct heartbeat *hb, char *line)
{
	char reply[MB_PROTO_LINE_MAX];
	uint64_t period_before = hb->period_us;
	size_t len;

	line[strcspn(line, "\r")] = '\0';
	if (line[strspn(line, " \t")] == '\0')
		return; /* blank line: a human pressing enter */
	len = command_handle(hb->state, line, &hb->period_us, reply, sizeof(reply));
	if (len > 0)
		queue_output(hb, reply, len);
	if (hb->period_us != period_before)
		hb->next_tick_us = hb->last_tick_us + hb->period_us;
}

static void consume_input(struct heartbeat *hb, const char *data, size_t len)
{
	char reply[64];

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			if (!hb->discarding_long_line) {
				hb->input[hb->input_len] = '\0';
				handle_line(hb, hb->input);
			}
			hb->input_len = 0;
			hb->discarding_long_line = false;
		} else if (hb->discarding_long_line) {
			continue;
		} else if (hb->input_len + 1 >= sizeof(hb->input)) {
			hb->discarding_long_line = true;
			hb->input_len = 0;
			queue_output(hb, reply, (size_t)record_err(reply, sizeof(reply), 0, "line_too_long"));
		} else {
			hb->input[hb->input_len++] = data[i];
		}
	}
}

/* Reads what the host sent. Returns false when the agent should stop
 * (--stdio and the host closed stdin). */
static bool read_input(struct heartbeat *hb)
{
	char data[1024];
	ssize_t n = read(hb->channel->in_fd, data, sizeof(data));

	if (n > 0) {
		consume_input(hb, data, (size_t)n);
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n == 0 && hb->channel->stop_on_eof)
		return false;
	/* virtio: EOF means no host is connected; errors: try again later. */
	hb->channel_quiet = true;
	return true;
}

static void make_realtime(void)
{
	struct sched_param param = { .sched_priority = 10 };
	int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);

	if (err)
		agent_log("heartbeat thread stays at normal priority (SCHED_FIFO: %s): heartbeats may jitter "
			  "under a CPU-bound workload", strerror(err));
}

static void *heartbeat_main(void *arg)
{
	struct heartbeat *hb = arg;
	struct channel *channel = hb->channel;
	struct pollfd fds[3];
	struct verify_result verify;
	struct timespec timeout;
	char record[MB_PROTO_LINE_MAX];
	uint64_t now, id;
	nfds_t nfds;
	int in_slot, out_slot;

	if (hb->realtime)
		make_realtime();
	flush_output(hb);
	hb->next_tick_us = agent_now_us();

	while (!atomic_load(&hb->state->stop)) {
		now = agent_now_us();
		if (now >= hb->next_tick_us) {
			send_heartbeat(hb, now);
			hb->last_tick_us = hb->next_tick_us;
			hb->next_tick_us += hb->period_us;
			/* Far behind (the guest was paused): resume the beat from
			 * now rather than emit a burst of catch-up heartbeats. */
			if (hb->next_tick_us <= now)
				hb->next_tick_us = now + hb->period_us;
			hb->channel_quiet = false;
			continue;
		}

		nfds = 0;
		fds[nfds++] = (struct pollfd){ .fd = hb->state->heartbeat_wakeup_fd, .events = POLLIN };
		in_slot = out_slot = -1;
		if (channel->in_fd >= 0 && !hb->channel_quiet) {
			in_slot = (int)nfds;
			fds[nfds++] = (struct pollfd){ .fd = channel->in_fd, .events = POLLIN };
		}
		if (channel->out_fd >= 0 && hb->output_len > 0 && !hb->channel_quiet) {
			if (in_slot >= 0 && channel->out_fd == channel->in_fd) {
				out_slot = in_slot;
				fds[in_slot].events |= POLLOUT;
			} else {
				out_slot = (int)nfds;
				fds[nfds++] = (struct pollfd){ .fd = channel->out_fd, .events = POLLOUT };
			}
		}
		timeout = agent_us_to_timespec(hb->next_tick_us - now);
		if (ppoll(fds, nfds, &timeout, NULL) <= 0)
			continue; /* tick time, or EINTR */

		if (fds[0].revents & POLLIN) {
			while (state_take_verify_answer(hb->state, &id, &verify))
				queue_output(hb, record, (size_t)record_verify(record, sizeof(record), id, &verify));
		}
		if (in_slot >= 0 && (fds[in_slot].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (!read_input(hb))
				break;
		}
		if (in_slot >= 0 && (fds[in_slot].revents & POLLNVAL))
			hb->channel_quiet = true;
		if (out_slot >= 0 && (fds[out_slot].revents & POLLOUT))
			flush_output(hb);
		else if (out_slot >= 0 && out_slot != in_slot && (fds[out_slot].revents & (POLLERR | POLLHUP | POLLNVAL)))
			hb->channel_quiet = true;
	}
	state_request_stop(hb->state);
	return NULL;
}

int heartbeat_start(struct agent_state *state, struct channel *channel, const char *first_records,
		    bool realtime, pthread_t *thread)
{
	struct heartbeat *hb = calloc(1, sizeof(*hb));
	size_t len = strlen(first_records);
	int err;

	if (!hb)
		return errno;
	*hb = (struct heartbeat){
		.state = state,
		.channel = channel,
		.period_us = state->config.period_us,
		.realtime = realtime,
	};
	if (len > sizeof(hb->output))
		len = sizeof(hb->output);
	memcpy(hb->output, first_records, len);
	hb->output_len = len;
	err = pthread_create(thread, NULL, heartbeat_main, hb);
	if (err)
		free(hb);
	return err;
}
