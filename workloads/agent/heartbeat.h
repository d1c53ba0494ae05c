/* The heartbeat thread: one HB record every period, host commands read from
 * the same channel in between. It never blocks on the channel, so neither
 * it nor the workload ever waits for the host. */
#ifndef MB_AGENT_HEARTBEAT_H
#define MB_AGENT_HEARTBEAT_H

#include <pthread.h>
#include <stdbool.h>

#include "workloads/agent/channel.h"
#include "workloads/agent/state.h"

/* Starts the thread. `first_records` (HELLO, then any ERR from boot) are
 * queued ahead of everything and, unlike heartbeats, kept until the host
 * can take them, so a host that connects late still reads HELLO first.
 * `realtime`: run at SCHED_FIFO so a CPU-bound workload cannot delay
 * heartbeats (needs root; PID 1 only). Returns 0 or an errno value. */
int heartbeat_start(struct agent_state *state, struct channel *channel, const char *first_records,
		    bool realtime, pthread_t *thread);

#endif
