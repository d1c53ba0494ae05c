/* Page stamps and the verify pass: a clean set verifies clean, and every
 * kind of damage a migration can do to a page is caught and located. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "workloads/agent/stamp.h"

#define PAGE 4096u
#define NPAGES 64u

static int setup(void **state)
{
	static struct working_set ws;

	if (working_set_alloc(&ws, NPAGES, PAGE))
		return -1;
	working_set_stamp_all(&ws);
	*state = &ws;
	return 0;
}

static int teardown(void **state)
{
	working_set_free(*state);
	return 0;
}

static unsigned char *page(struct working_set *ws, uint64_t index)
{
	return ws->base + index * ws->page_size;
}

static void verify_expect(struct working_set *ws, uint64_t corrupted, uint64_t first_bad)
{
	struct verify_result r;

	working_set_verify(ws, &r);
	assert_int_equal(r.checked, NPAGES);
	assert_int_equal(r.corrupted, corrupted);
	assert_int_equal(r.first_bad, first_bad);
}

static void clean_set_verifies(void **state)
{
	struct working_set *ws = *state;

	for (uint64_t i = 0; i < NPAGES; i++)
		assert_int_equal(ws->expected[i], 1);
	verify_expect(ws, 0, 0);
	for (unsigned round = 0; round < 5; round++)
		for (uint64_t i = 0; i < NPAGES; i += 3)
			working_set_write_page(ws, i);
	assert_int_equal(ws->expected[3], 6);
	assert_int_equal(ws->expected[4], 1);
	verify_expect(ws, 0, 0);
}

static void stamp_layout(void **state)
{
	struct working_set *ws = *state;
	struct page_stamp head, tail;

	working_set_write_page(ws, 9);
	memcpy(&head, page(ws, 9), sizeof(head));
	memcpy(&tail, page(ws, 9) + PAGE - sizeof(tail), sizeof(tail));
	assert_int_equal(head.index, 9);
	assert_int_equal(head.generation, 2);
	assert_int_equal(head.check, 9 ^ 2 ^ STAMP_MAGIC);
	assert_memory_equal(&head, &tail, sizeof(head));
}

static void flipped_byte_is_caught(void **state)
{
	struct working_set *ws = *state;

	page(ws, 10)[3] ^= 0x40;
	verify_expect(ws, 1, 10);
}

static void torn_page_is_caught(void **state)
{
	struct working_set *ws = *state;
	unsigned char old_tail[sizeof(struct page_stamp)];

	/* Head of the new generation, tail of the old one. */
	memcpy(old_tail, page(ws, 20) + PAGE - sizeof(old_tail), sizeof(old_tail));
	working_set_write_page(ws, 20);
	memcpy(page(ws, 20) + PAGE - sizeof(old_tail), old_tail, sizeof(old_tail));
	verify_expect(ws, 1, 20);
}

static void swapped_pages_are_caught(void **state)
{
	struct working_set *ws = *state;
	unsigned char tmp[PAGE];

	memcpy(tmp, page(ws, 3), PAGE);
	memcpy(page(ws, 3), page(ws, 7), PAGE);
	memcpy(page(ws, 7), tmp, PAGE);
	verify_expect(ws, 2, 3);
	assert_false(working_set_page_intact(ws, 3));
	assert_false(working_set_page_intact(ws, 7));
	assert_true(working_set_page_intact(ws, 5));
}

static void lost_write_is_caught(void **state)
{
	struct working_set *ws = *state;
	unsigned char old[PAGE];

	/* The destination got the page as it was before the last write. */
	memcpy(old, page(ws, 40), PAGE);
	working_set_write_page(ws, 40);
	memcpy(page(ws, 40), old, PAGE);
	verify_expect(ws, 1, 40);
}

static void zero_page_is_caught(void **state)
{
	struct working_set *ws = *state;

	memset(page(ws, NPAGES - 1), 0, PAGE);
	verify_expect(ws, 1, NPAGES - 1);
}

static void generation_wraps_past_zero(void **state)
{
	struct working_set *ws = *state;

	ws->expected[2] = UINT32_MAX - 1;
	working_set_write_page(ws, 2);
	assert_int_equal(ws->expected[2], UINT32_MAX);
	working_set_write_page(ws, 2);
	assert_int_equal(ws->expected[2], 1);
	verify_expect(ws, 0, 0);
}

static void bad_sizes_are_refused(void **unused)
{
	struct working_set ws;

	assert_int_equal(working_set_alloc(&ws, 0, PAGE), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(working_set_alloc(&ws, 1, 16), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(clean_set_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(stamp_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(flipped_byte_is_caught, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_page_is_caught, setup, teardown),
		cmocka_unit_test_setup_teardown(swapped_pages_are_caught, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_write_is_caught, setup, teardown),
		cmocka_unit_test_setup_teardown(zero_page_is_caught, setup, teardown),
		cmocka_unit_test_setup_teardown(generation_wraps_past_zero, setup, teardown),
		cmocka_unit_test(bad_sizes_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
