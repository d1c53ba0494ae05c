/* The working set and its page stamps.
 *
 * Every write to page i bumps its generation g and writes the stamp
 * {i, g, i ^ g ^ STAMP_MAGIC} at the start AND at the end of the page; the
 * expected generation of each page lives in a separate uint32 array. The
 * verify pass then catches a page that lost writes (old generation), a page
 * copied to the wrong place (wrong index), a torn page (head and tail
 * disagree) and a page that came back zero (migration bugs produce all of
 * these), and the stamp keeps pages from being all-zero, which migration
 * would otherwise send as cheap zero pages. */
#ifndef MB_AGENT_STAMP_H
#define MB_AGENT_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STAMP_MAGIC 0x6d6967626e636821ull /* "migbnch!" */

struct page_stamp {
	uint64_t index;
	uint64_t generation;
	uint64_t check; /* index ^ generation ^ STAMP_MAGIC */
};

struct working_set {
	unsigned char *base;
	uint64_t npages;
	uint64_t page_size;
	uint32_t *expected; /* expected generation of every page */
};

struct verify_result {
	uint64_t checked;
	uint64_t corrupted;
	uint64_t first_bad; /* index of the first bad page; 0 when corrupted == 0 */
	uint64_t us;        /* duration of the pass */
};

/* Maps (and pre-faults) npages pages plus the generation array. Returns 0,
 * or -1 with errno set. */
int working_set_alloc(struct working_set *ws, uint64_t npages, uint64_t page_size);
void working_set_free(struct working_set *ws);

/* Stamps every page with generation 1. */
void working_set_stamp_all(struct working_set *ws);

/* Writes one page: next generation, stamp at head and tail. */
static inline void working_set_write_page(struct working_set *ws, uint64_t index)
{
	unsigned char *page = ws->base + index * ws->page_size;
	uint32_t generation = ws->expected[index] + 1;
	struct page_stamp stamp;

	/* After 2^32 - 1 writes, skip 0: generation 0 would look like a page
	 * that was never stamped. */
	if (generation == 0)
		generation = 1;
	ws->expected[index] = generation;
	stamp = (struct page_stamp){
		.index = index,
		.generation = generation,
		.check = index ^ generation ^ STAMP_MAGIC,
	};
	__builtin_memcpy(page, &stamp, sizeof(stamp));
	__builtin_memcpy(page + ws->page_size - sizeof(stamp), &stamp, sizeof(stamp));
}

bool working_set_page_intact(const struct working_set *ws, uint64_t index);

/* Checks every page against its expected generation. Must not run while
 * another thread writes pages. */
void working_set_verify(const struct working_set *ws, struct verify_result *result);

#endif
