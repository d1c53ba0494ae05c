/* Which page the dirty workload writes next. Pure arithmetic, no memory
 * access, so the distribution can be tested without a working set. */
#ifndef MB_MB_PATTERN_H
#define MB_MB_PATTERN_H

#include <stdbool.h>
#include <stdint.h>

#include "workloads/agent/config.h"

struct pattern {
	enum mb_pattern kind;
	uint64_t npages;
	uint64_t next_sequential;
	uint64_t rng_state;
	/* hotcold: pages [0, hot_pages) are hot; a write goes there when a
	 * random word is below hot_threshold (or always, with hot_always). */
	uint64_t hot_pages;
	uint64_t hot_threshold;
	bool hot_always;
};

/* splitmix64: one add and three multiply-xorshifts per number, statistically
 * sound, and any seed (0 included) is fine. */
uint64_t pattern_splitmix64(uint64_t *state);

/* A uniform index in [0, range) from a 64-bit random word (range > 0). */
static inline uint64_t pattern_bounded(uint64_t random_word, uint64_t range)
{
	return (uint64_t)(((unsigned __int128)random_word * range) >> 64);
}

/* `hot` and `hotw` only matter for hotcold. The hot part is
 * round(hot × npages) pages at the start of the set; when it is empty every
 * write goes to the cold part, when it is the whole set every write is hot. */
void pattern_init(struct pattern *pattern, enum mb_pattern kind, uint64_t npages,
		  double hot, double hotw, uint64_t seed);

uint64_t pattern_next(struct pattern *pattern);

#endif
