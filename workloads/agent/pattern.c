#include "workloads/agent/pattern.h"

#include <math.h>

uint64_t pattern_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void pattern_init(struct pattern *pattern, enum mb_pattern kind, uint64_t npages,
		  double hot, double hotw, uint64_t seed)
{
	double hot_pages = nearbyint(hot * (double)npages);

	*pattern = (struct pattern){
		.kind = kind,
		.npages = npages,
		.rng_state = seed,
		.hot_pages = hot_pages <= 0 ? 0 : hot_pages >= (double)npages ? npages : (uint64_t)hot_pages,
		.hot_always = hotw >= 1.0,
		/* hotw × 2^64, so that P(random word < threshold) = hotw. */
		.hot_threshold = hotw <= 0 ? 0 : hotw >= 1.0 ? UINT64_MAX : (uint64_t)ldexp(hotw, 64),
	};
}

uint64_t pattern_next(struct pattern *pattern)
{
	uint64_t index, random_word;
	bool hot;

	switch (pattern->kind) {
	case MB_PATTERN_RANDOM:
		return pattern_bounded(pattern_splitmix64(&pattern->rng_state), pattern->npages);
	case MB_PATTERN_HOTCOLD:
		random_word = pattern_splitmix64(&pattern->rng_state);
		hot = pattern->hot_always || random_word < pattern->hot_threshold;
		if (pattern->hot_pages == 0)
			hot = false;
		else if (pattern->hot_pages == pattern->npages)
			hot = true;
		/* A second draw for the position: reusing the bits that chose the
		 * part would bias the position inside it. */
		random_word = pattern_splitmix64(&pattern->rng_state);
		if (hot)
			return pattern_bounded(random_word, pattern->hot_pages);
		return pattern->hot_pages + pattern_bounded(random_word, pattern->npages - pattern->hot_pages);
	case MB_PATTERN_SEQUENTIAL:
	default:
		index = pattern->next_sequential;
		pattern->next_sequential = index + 1 == pattern->npages ? 0 : index + 1;
		return index;
	}
}
