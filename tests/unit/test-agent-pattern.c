/* Which pages the dirty workload writes (pattern.c) and how fast
 * (pacer.c), checked without memory or clocks: the pacer gets a fake time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "workloads/agent/pacer.h"
#include "workloads/agent/pattern.h"

static void sequential_wraps(void **unused)
{
	struct pattern p;

	pattern_init(&p, MB_PATTERN_SEQUENTIAL, 5, 0.2, 0.8, 1);
	for (unsigned round = 0; round < 3; round++)
		for (uint64_t i = 0; i < 5; i++)
			assert_int_equal(pattern_next(&p), i);
}

static void random_covers_the_set_uniformly(void **unused)
{
	enum { N = 1000, DRAWS = 40 * N };
	unsigned *hits = calloc(N, sizeof(*hits));
	unsigned min = DRAWS, max = 0;
	struct pattern p;

	assert_non_null(hits);
	pattern_init(&p, MB_PATTERN_RANDOM, N, 0.2, 0.8, 1);
	for (unsigned i = 0; i < DRAWS; i++) {
		uint64_t index = pattern_next(&p);

		assert_true(index < N);
		hits[index]++;
	}
	for (unsigned i = 0; i < N; i++) {
		min = hits[i] < min ? hits[i] : min;
		max = hits[i] > max ? hits[i] : max;
	}
	/* Every page written; mean 40, sd ~6.3: beyond ±4.5 sd would be a bug. */
	assert_true(min >= 12);
	assert_true(max <= 68);
	free(hits);
}

static void random_is_seeded(void **unused)
{
	struct pattern a, b, c;
	unsigned same_as_other_seed = 0;

	pattern_init(&a, MB_PATTERN_RANDOM, 1u << 20, 0, 0, 7);
	pattern_init(&b, MB_PATTERN_RANDOM, 1u << 20, 0, 0, 7);
	pattern_init(&c, MB_PATTERN_RANDOM, 1u << 20, 0, 0, 8);
	for (unsigned i = 0; i < 1000; i++) {
		uint64_t x = pattern_next(&a);

		assert_int_equal(x, pattern_next(&b));
		same_as_other_seed += x == pattern_next(&c);
	}
	assert_true(same_as_other_seed < 5);
}

/* hot = 0.2, hotw = 0.8: ~80 % of writes land in the first 20 % of the set,
 * and both parts are covered evenly inside. */
static void hotcold_distribution(void **unused)
{
	enum { N = 10000, HOT = 2000, DRAWS = 400000 };
	unsigned *hits = calloc(N, sizeof(*hits));
	uint64_t in_hot = 0;
	unsigned hot_untouched = 0, cold_untouched = 0;
	struct pattern p;
	double share;

	assert_non_null(hits);
	pattern_init(&p, MB_PATTERN_HOTCOLD, N, 0.2, 0.8, 3);
	for (unsigned i = 0; i < DRAWS; i++) {
		uint64_t index = pattern_next(&p);

		assert_true(index < N);
		in_hot += index < HOT;
		hits[index]++;
	}
	share = (double)in_hot / DRAWS;
	print_message("# hot share %.4f (want 0.8)\n", share);
	assert_true(share > 0.795 && share < 0.805);
	for (unsigned i = 0; i < N; i++) {
		if (!hits[i] && i < HOT)
			hot_untouched++;
		else if (!hits[i])
			cold_untouched++;
	}
	/* 160 writes per hot page and 10 per cold page on average. */
	assert_int_equal(hot_untouched, 0);
	assert_true(cold_untouched < 10);
	free(hits);
}

static double hot_share(double hot, double hotw, uint64_t npages, uint64_t *hot_pages)
{
	struct pattern p;
	uint64_t in_hot = 0;

	pattern_init(&p, MB_PATTERN_HOTCOLD, npages, hot, hotw, 1);
	*hot_pages = p.hot_pages;
	for (unsigned i = 0; i < 100000; i++) {
		uint64_t index = pattern_next(&p);

		assert_true(index < npages);
		in_hot += index < p.hot_pages;
	}
	return in_hot / 100000.0;
}

static void hotcold_edges(void **unused)
{
	uint64_t hot_pages;

	assert_true(hot_share(0.2, 1.0, 1000, &hot_pages) == 1.0);
	assert_int_equal(hot_pages, 200);
	assert_true(hot_share(0.2, 0.0, 1000, &hot_pages) == 0.0);
	/* An empty hot part sends everything to the cold part... */
	assert_true(hot_share(0.0, 0.8, 1000, &hot_pages) == 0.0);
	assert_int_equal(hot_pages, 0);
	/* ...and a hot part that is the whole set takes everything. */
	assert_true(hot_share(1.0, 0.3, 1000, &hot_pages) == 1.0);
	assert_int_equal(hot_pages, 1000);
	/* One page. */
	assert_true(hot_share(0.5, 0.5, 1, &hot_pages) >= 0.0);
}

/* The pacer driven by a fake clock with irregular steps (a scheduler that
 * oversleeps) must hit rate × elapsed exactly, with no drift. */
static void pacer_exact_over_time(void **unused)
{
	static const uint64_t rates[] = { 1, 999, 2000, 5000, 10000, 123457 };
	uint64_t seed = 11;

	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct pacer pacer;
		uint64_t now = 1000000, start = now, total = 0;

		pacer_reset(&pacer, rates[r], now);
		while (now - start < 20000000) {
			uint64_t owed = pacer_owed(&pacer, now);

			if (owed) {
				assert_true(owed <= PACER_BURST_PAGES);
				pacer_account(&pacer, owed);
				total += owed;
				now += 5; /* writing takes a little time */
				continue;
			}
			/* Sleep what the pacer asks, plus 0-3 ms of oversleep. */
			assert_true(pacer_wait_us(&pacer, now) <= PACER_MAX_SLEEP_US);
			now += pacer_wait_us(&pacer, now) + pattern_bounded(pattern_splitmix64(&seed), 3000);
		}
		/* Everything due is written by the last look at the clock. */
		uint64_t due = (uint64_t)((unsigned __int128)rates[r] * (now - start) / 1000000u);

		print_message("# rate %llu: wrote %llu, due %llu\n", (unsigned long long)rates[r],
			      (unsigned long long)total, (unsigned long long)due);
		assert_true(total <= due);
		assert_true(total + PACER_BURST_PAGES + rates[r] * 4 / 1000 + 1 >= due);
		assert_int_equal(pacer.forgiven, 0);
	}
}

static void pacer_waits_until_next_page(void **unused)
{
	struct pacer pacer;

	pacer_reset(&pacer, 1000, 0); /* one page per ms */
	assert_int_equal(pacer_owed(&pacer, 0), 0);
	assert_int_equal(pacer_wait_us(&pacer, 0), 1000);
	assert_int_equal(pacer_wait_us(&pacer, 400), 600);
	assert_int_equal(pacer_owed(&pacer, 1000), 1);
	pacer_account(&pacer, 1);
	assert_int_equal(pacer_owed(&pacer, 1999), 0);
	assert_int_equal(pacer_wait_us(&pacer, 1999), 1);

	/* A slow rate still sleeps at most ~1 ms at a time. */
	pacer_reset(&pacer, 1, 0);
	assert_int_equal(pacer_wait_us(&pacer, 0), PACER_MAX_SLEEP_US);

	/* Unpaced: always a full burst, never a wait. */
	pacer_reset(&pacer, 0, 0);
	assert_int_equal(pacer_owed(&pacer, 0), PACER_BURST_PAGES);
	assert_int_equal(pacer_wait_us(&pacer, 0), 0);
}

/* After a long pause (migration downtime) the debt is capped to
 * PACER_MAX_DEBT_US worth of pages, then pacing resumes from there. */
static void pacer_forgives_long_pauses(void **unused)
{
	struct pacer pacer;
	uint64_t now = 0, total = 0, owed;

	pacer_reset(&pacer, 10000, now);
	now += 3000000; /* 3 s paused: 30000 pages due */
	while ((owed = pacer_owed(&pacer, now)) > 0) {
		pacer_account(&pacer, owed);
		total += owed;
	}
	assert_int_equal(total, 10000ull * PACER_MAX_DEBT_US / 1000000u);
	assert_int_equal(pacer.forgiven, 30000 - total);
	/* Then it is exactly on rate again: one second in 1 ms steps. */
	total = 0;
	for (unsigned ms = 0; ms < 1000; ms++) {
		now += 1000;
		while ((owed = pacer_owed(&pacer, now)) > 0) {
			pacer_account(&pacer, owed);
			total += owed;
		}
	}
	assert_int_equal(total, 10000);
	assert_int_equal(pacer.forgiven, 30000 - 2500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sequential_wraps),
		cmocka_unit_test(random_covers_the_set_uniformly),
		cmocka_unit_test(random_is_seeded),
		cmocka_unit_test(hotcold_distribution),
		cmocka_unit_test(hotcold_edges),
		cmocka_unit_test(pacer_exact_over_time),
		cmocka_unit_test(pacer_waits_until_next_page),
		cmocka_unit_test(pacer_forgives_long_pauses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
