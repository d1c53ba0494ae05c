/* The workloads' loops, each in loop_<name>.c: dirty (write pages at a rate,
 * in a pattern), idle (touch nothing after the initial stamp) and compute
 * (CPU-bound, tiny footprint). All run on the calling thread and answer the
 * heartbeat thread's requests between bursts. Which workload runs which
 * loop and service is ../workload_list.h; workload.c turns it into
 * agent_workload_impls. */
#ifndef MB_AGENT_WORKLOAD_H
#define MB_AGENT_WORKLOAD_H

#include "workloads/agent/state.h"
#include "workloads/agent/svc.h"
#include "workloads/workload_list.h"

/* Runs until state->stop is set (--stdio only); one per loop of
 * MB_WORKLOADS (declared for every line: a repeated declaration is fine). */
#define X(id, name, loop, ...) void agent_run_##loop(struct agent_state *state);
MB_WORKLOADS(X)
#undef X

/* What the agent runs for each workload, indexed by enum mb_workload. */
struct agent_workload_impl {
	void (*run)(struct agent_state *state);
	const struct agent_svc_ops *svc;
};
extern const struct agent_workload_impl agent_workload_impls[];

/* Runs state->config.workload's loop until state->stop is set (--stdio only). */
void workload_run(struct agent_state *state);

#endif
