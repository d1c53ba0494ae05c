/* The compute loop: CPU-bound arithmetic in 512 bytes that stay in L1, so
 * the guest is busy but dirties (almost) no memory. */
#include "workloads/agent/workload.h"

#include "workloads/agent/clock.h"
#include "workloads/agent/pattern.h"

/* Operations per batch: ~1 ms of work under TCG, so requests are still
 * answered quickly. */
#define COMPUTE_BATCH_OPS 16384u

void agent_run_compute(struct agent_state *state)
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
