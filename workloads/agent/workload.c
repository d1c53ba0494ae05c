#include "workloads/agent/workload.h"

#include "workloads/agent/clock.h"
#include "workloads/agent/pacer.h"
#include "workloads/agent/pattern.h"

static void run_dirty(struct agent_state *state)
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

static void run_idle(struct agent_state *state)
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

/* Operations per batch: ~1 ms of work under TCG, so requests are still
 * answered quickly. */
#define COMPUTE_BATCH_OPS 16384u

static void run_compute(struct agent_state *state)
{
	/* 512 bytes that stay in L1: the point is CPU, not memory. */
	uint64_t scratch[64] = { 0 }, mix = state->config.seed, seen_epoch = 0, rate;

	state_take_rate_change(state, &seen_epoch, agent_now_us(), &rate);
	while (!atomic_load_explicit(&state->stop, memory_order_relaxed)) {
		state_serve_verify(state);
		state_take_rate_change(state, &seen_epoch, agent_now_us(), &rate);
		for (unsigned i = 0; i < COMPUTE_BATCH_OPS; i++) {
			uint64_t *slot = &scratch[i & 63];

			*slot += pattern_splitmix64(&mix);
			mix ^= *slot >> 7;
		}
		/* Keeps the compiler from proving the loop useless. */
		__asm__ volatile("" : : "r"(mix) : "memory");
		atomic_fetch_add_explicit(&state->ops, COMPUTE_BATCH_OPS, memory_order_relaxed);
	}
}

void workload_run(struct agent_state *state)
{
	switch (state->config.workload) {
	case AGENT_WORKLOAD_DIRTY:
		run_dirty(state);
		break;
	case AGENT_WORKLOAD_COMPUTE:
		run_compute(state);
		break;
	case AGENT_WORKLOAD_IDLE:
	default:
		run_idle(state);
		break;
	}
}
