/* The memset loop: rewrites the whole working set with memset, page after
 * page, as fast as the guest can. It is the guest's own memory bandwidth,
 * the reference the dirty loop's unpaced rate is measured against (the
 * dirty loop stores only a stamp at both ends of a page). Each page is
 * stamped again after its memset, so memory verify holds as for dirty. */
#include "workloads/agent/workload.h"

#include <string.h>

#include "workloads/agent/clock.h"

/* Pages per batch between looks at stop and VERIFY: ~1 ms under TCG. */
#define MEMSET_BATCH_PAGES 64u

void agent_run_memset(struct agent_state *state)
{
	struct working_set *ws = &state->ws;
	uint64_t next = 0, seen_epoch = 0, rate;
	unsigned char fill = 1;

	/* Unpaced whatever the rate; taking the change opens STATS' window. */
	state_take_rate_change(state, &seen_epoch, agent_now_us(), &rate);
	while (!atomic_load_explicit(&state->stop, memory_order_relaxed)) {
		uint64_t done = 0;

		state_serve_verify(state);
		state_take_rate_change(state, &seen_epoch, agent_now_us(), &rate);
		for (; done < MEMSET_BATCH_PAGES && next < ws->npages; done++, next++) {
			memset(ws->base + next * ws->page_size, fill, ws->page_size);
			working_set_write_page(ws, next);
		}
		if (next == ws->npages) {
			next = 0;
			fill++;
		}
		atomic_fetch_add_explicit(&state->pages_written, done, memory_order_relaxed);
		atomic_fetch_add_explicit(&state->ops, done, memory_order_relaxed);
	}
}
