/* The workloads: dirty (write pages at a rate, in a pattern), idle (touch
 * nothing after the initial stamp) and compute (CPU-bound, tiny footprint).
 * All run on the calling thread and answer the heartbeat thread's requests
 * between bursts. */
#ifndef MB_AGENT_WORKLOAD_H
#define MB_AGENT_WORKLOAD_H

#include "workloads/agent/state.h"

/* Runs state->config.workload until state->stop is set (--stdio only). */
void workload_run(struct agent_state *state);

#endif
