/* The idle loop: after the initial stamp it touches nothing, and only
 * wakes to answer the heartbeat thread's requests. */
#include "workloads/agent/workload.h"

#include "workloads/agent/clock.h"

void agent_run_idle(struct agent_state *state)
{
	uint64_t seen_epoch = 0, rate;

	state_take_rate_change(state, &seen_epoch, agent_now_us(), &rate);
	while (!atomic_load(&state->stop)) {
		state_wait_for_request(state, seen_epoch);
		state_serve_verify(state);
		/* A rate means nothing here, but STATS should still start a window. */
		state_take_rate_change(state, &seen_epoch, agent_now_us(), &rate);
	}
}
