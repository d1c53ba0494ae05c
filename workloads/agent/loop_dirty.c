/* The dirty loop (workloads dirty, echo and kv): writes pages of the working
 * set at the target rate (changed by RATE), in migbench.pattern's order. */
#include "workloads/agent/workload.h"

#include "workloads/agent/clock.h"
#include "workloads/agent/pacer.h"
#include "workloads/agent/pattern.h"

void agent_run_dirty(struct agent_state *state)
{
	const struct agent_config *config = &state->config;
	struct working_set *ws = &state->ws;
	uint64_t seen_epoch = 0, rate, now, owed;
	struct pattern pattern;
	struct pacer pacer;

	pattern_init(&pattern, config->pattern, ws->npages, config->hot, config->hotw, config->seed);
	state_take_rate_change(state, &seen_epoch, agent_now_us(), &rate);
	pacer_reset(&pacer, rate, agent_now_us());

	while (!atomic_load_explicit(&state->stop, memory_order_relaxed)) {
		state_serve_verify(state);
		now = agent_now_us();
		if (state_take_rate_change(state, &seen_epoch, now, &rate))
			pacer_reset(&pacer, rate, now);
		owed = pacer_owed(&pacer, now);
		if (owed == 0) {
			agent_sleep_until_us(now + pacer_wait_us(&pacer, now));
			continue;
		}
		for (uint64_t i = 0; i < owed; i++)
			working_set_write_page(ws, pattern_next(&pattern));
		pacer_account(&pacer, owed);
		atomic_fetch_add_explicit(&state->pages_written, owed, memory_order_relaxed);
		atomic_fetch_add_explicit(&state->ops, owed, memory_order_relaxed);
	}
}
