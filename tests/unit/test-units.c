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

/* Link speeds: bytes/s with binary suffixes, or bits/s with decimal ones. */
static void bandwidths(void **state)
{
	uint64_t v = 0;

	assert_int_equal(mb_parse_bandwidth("64M", &v), 0);
	assert_true(v == 64ull << 20);
	assert_int_equal(mb_parse_bandwidth("64M/s", &v), 0);
	assert_true(v == 64ull << 20);
	assert_int_equal(mb_parse_bandwidth("100Mbit", &v), 0);
	assert_true(v == 12500000);
	assert_int_equal(mb_parse_bandwidth("10Gbit/s", &v), 0);
	assert_true(v == 1250000000);
	assert_int_equal(mb_parse_bandwidth("1.5gbps", &v), 0);
	assert_true(v == 187500000);
	assert_int_equal(mb_parse_bandwidth("800kbit", &v), 0);
	assert_true(v == 100000);
	assert_int_equal(mb_parse_bandwidth("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(mb_parse_bandwidth("-5M", &v), -1);
	assert_int_equal(mb_parse_bandwidth("-100Mbit", &v), -1);
	assert_int_equal(mb_parse_bandwidth("100Mbits", &v), -1);
	assert_int_equal(mb_parse_bandwidth("100Xbit", &v), -1);
	assert_int_equal(mb_parse_bandwidth("fast", &v), -1);
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

static void sizes_printed(void **state)
{
	char buf[32];

	mb_format_size(64ULL << 20, buf, sizeof(buf));
	assert_string_equal(buf, "64M");
	mb_format_size(1536, buf, sizeof(buf));
	assert_string_equal(buf, "1536");
	mb_format_size(3ULL << 10, buf, sizeof(buf));
	assert_string_equal(buf, "3K");
	mb_format_size(1ULL << 40, buf, sizeof(buf));
	assert_string_equal(buf, "1T");
	mb_format_size(0, buf, sizeof(buf));
	assert_string_equal(buf, "0");
}

/* The cpuset_* keys' lists: checked before a run (scenario_keys.c) and
 * applied in it (probes/topology.c) by this one parser. */
static void cpu_lists(void **state)
{
	static const struct { const char *text, *folded; } good[] = {
		{ "0-1+4", "0-1+4" }, { "3", "3" }, { " 2 - 3 + 0 ", "0+2-3" },
		{ "1+0+2", "0-2" }, { "1023", "1023" }, { "5-5", "5" },
	};
	static const struct { const char *text, *why; } bad[] = {
		{ "", "no CPU in it" },
		{ "  ", "no CPU in it" },
		{ "core:0", "'c' where a CPU number should be" },
		{ "0,1", "',' where '+' or the end should be (join CPUs and ranges with '+', e.g. 0-1+4)" },
		{ "0-", "'0-' ends where a CPU number should be" },
		{ "-3", "'-' where a CPU number should be" },
		{ "1+", "'1+' ends where a CPU number should be" },
		{ "0++1", "'+' where a CPU number should be" },
		{ "3-1", "the range 3-1 runs backwards" },
		{ "1024", "CPU numbers go up to 1023" },
		{ "99999999999999999999999", "CPU numbers go up to 1023" },
		{ "1 2", "'2' where '+' or the end should be (join CPUs and ranges with '+', e.g. 0-1+4)" },
	};
	struct mb_cpu_list l;
	char why[160], out[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (mb_parse_cpu_list(good[i].text, &l, why, sizeof(why)))
			fail_msg("'%s': %s", good[i].text, why);
		mb_format_cpu_list(&l, out, sizeof(out));
		assert_string_equal(out, good[i].folded);
	}
	assert_int_equal(mb_parse_cpu_list("0-1023", &l, why, sizeof(why)), 0);
	assert_true(mb_cpu_list_has(&l, 0) && mb_cpu_list_has(&l, 1023));
	assert_false(mb_cpu_list_has(&l, 1024));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (!mb_parse_cpu_list(bad[i].text, &l, why, sizeof(why)))
			fail_msg("'%s': accepted", bad[i].text);
		assert_string_equal(why, bad[i].why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(durations),
		cmocka_unit_test(rates),
		cmocka_unit_test(bandwidths),
		cmocka_unit_test(fractions),
		cmocka_unit_test(sizes_printed),
		cmocka_unit_test(cpu_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
