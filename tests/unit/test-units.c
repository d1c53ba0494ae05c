#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/units.h"

static void sizes(void **state)
{
	uint64_t v;

	assert_int_equal(mb_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(mb_parse_size("256M", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(mb_parse_size("1G", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(mb_parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(mb_parse_size("1.5K", &v), 0);
	assert_int_equal(v, 1536);
	assert_int_equal(mb_parse_size("-1M", &v), -1);
	assert_int_equal(mb_parse_size("12Q", &v), -1);
	assert_int_equal(mb_parse_size("", &v), -1);
	assert_int_equal(mb_parse_size("0.3", &v), -1);
}

static void durations(void **state)
{
	uint64_t v;

	assert_int_equal(mb_parse_duration_us("300", 1000, &v), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(mb_parse_duration_us("300ms", 1000000, &v), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(mb_parse_duration_us("2min", 1000, &v), 0);
	assert_int_equal(v, 120000000);
	assert_int_equal(mb_parse_duration_us("1.5s", 1000, &v), 0);
	assert_int_equal(v, 1500000);
	assert_int_equal(mb_parse_duration_us("5 parsecs", 1000, &v), -1);
	assert_int_equal(mb_parse_duration_us("-5", 1000, &v), -1);
}

static void rates(void **state)
{
	uint64_t v;

	assert_int_equal(mb_parse_rate_pages("1000", 4096, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(mb_parse_rate_pages("16M", 4096, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(mb_parse_rate_pages("16MiB/s", 4096, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(mb_parse_rate_pages("0", 4096, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(mb_parse_rate_pages("fast", 4096, &v), -1);
}

static void fractions(void **state)
{
	double f;

	assert_int_equal(mb_parse_fraction("0.2", &f), 0);
	assert_true(f > 0.1999 && f < 0.2001);
	assert_int_equal(mb_parse_fraction("80%", &f), 0);
	assert_true(f > 0.7999 && f < 0.8001);
	assert_int_equal(mb_parse_fraction("1.2", &f), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(durations),
		cmocka_unit_test(rates),
		cmocka_unit_test(fractions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
