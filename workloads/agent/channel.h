/* The heartbeat channel: the virtio-serial port named
 * org.migbench.heartbeat, else /dev/ttyS1, else (--stdio) stdin/stdout. The
 * output side is always non-blocking: the heartbeat thread drops a record
 * rather than wait for a host that is not reading. */
#ifndef MB_AGENT_CHANNEL_H
#define MB_AGENT_CHANNEL_H

#include <stdbool.h>

struct channel {
	int in_fd;  /* -1: no channel at all */
	int out_fd;
	/* stdio: end of input means the host is done, so the agent stops.
	 * virtio: it only means no host is connected right now. */
	bool stop_on_eof;
	char name[128];
};

/* Channel of --stdio mode. */
void channel_open_stdio(struct channel *channel);

/* Channel of a guest: waits up to `wait_ms` for the named virtio port (only
 * when a virtio-serial device exists at all, so a guest without one does
 * not pay the wait), then falls back to /dev/ttyS1 in raw mode. Returns 0,
 * or -1 with both fds -1 when neither works (the agent runs on without). */
int channel_open_guest(struct channel *channel, unsigned wait_ms);

#endif
