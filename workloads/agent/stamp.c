#include "workloads/agent/stamp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "workloads/agent/clock.h"

int working_set_alloc(struct working_set *ws, uint64_t npages, uint64_t page_size)
{
	size_t bytes = (size_t)(npages * page_size);
	int saved_errno;
	void *base;

	*ws = (struct working_set){ .npages = npages, .page_size = page_size };
	if (npages == 0 || page_size < 2 * sizeof(struct page_stamp) || bytes / page_size != npages) {
		errno = EINVAL;
		return -1;
	}
	/* MAP_POPULATE faults the whole set in with one call: under TCG one
	 * fault per page at stamp time would cost most of the boot budget. */
	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (base == MAP_FAILED)
		return -1;
	ws->expected = calloc(npages, sizeof(*ws->expected));
	if (!ws->expected) {
		saved_errno = errno;
		munmap(base, bytes);
		errno = saved_errno;
		return -1;
	}
	ws->base = base;
	return 0;
}

void working_set_free(struct working_set *ws)
{
	if (ws->base)
		munmap(ws->base, (size_t)(ws->npages * ws->page_size));
	free(ws->expected);
	*ws = (struct working_set){ 0 };
}

void working_set_stamp_all(struct working_set *ws)
{
	memset(ws->expected, 0, ws->npages * sizeof(*ws->expected));
	for (uint64_t i = 0; i < ws->npages; i++)
		working_set_write_page(ws, i);
}

static bool stamp_matches(const unsigned char *where, uint64_t index, uint64_t generation)
{
	struct page_stamp stamp;

	memcpy(&stamp, where, sizeof(stamp));
	return stamp.index == index && stamp.generation == generation &&
	       stamp.check == (index ^ generation ^ STAMP_MAGIC);
}

bool working_set_page_intact(const struct working_set *ws, uint64_t index)
{
	const unsigned char *page = ws->base + index * ws->page_size;
	uint64_t generation = ws->expected[index];

	return stamp_matches(page, index, generation) &&
	       stamp_matches(page + ws->page_size - sizeof(struct page_stamp), index, generation);
}

void working_set_verify(const struct working_set *ws, struct verify_result *result)
{
	uint64_t start = agent_now_us();

	*result = (struct verify_result){ 0 };
	for (uint64_t i = 0; i < ws->npages; i++) {
		if (!working_set_page_intact(ws, i)) {
			if (result->corrupted++ == 0)
				result->first_bad = i;
		}
		result->checked++;
	}
	result->us = agent_now_us() - start;
}
