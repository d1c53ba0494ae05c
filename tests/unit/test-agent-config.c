/* The agent's migbench.* parameter parsing: defaults, every key, and the
 * rejection of bad values and unknown keys (the agent must idle and say
 * why rather than run something nobody asked for). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "workloads/agent/config.h"

#define PAGE 4096u

static void defaults(void **unused)
{
	struct agent_config c;

	agent_config_defaults(&c, PAGE);
	assert_int_equal(c.workload, MB_WORKLOAD_DIRTY);
	assert_int_equal(c.wss_pages, (64u << 20) / PAGE);
	assert_int_equal(c.rate_pages, 0);
	assert_int_equal(c.pattern, MB_PATTERN_SEQUENTIAL);
	assert_true(c.hot == 0.2);
	assert_true(c.hotw == 0.8);
	assert_int_equal(c.period_us, 1000);
	assert_int_equal(c.seed, 1);
}

static void kernel_cmdline(void **unused)
{
	struct agent_config c;
	struct agent_config_error e = { 0 };

	agent_config_defaults(&c, PAGE);
	assert_int_equal(agent_config_parse_cmdline(&c,
		"BOOT_IMAGE=/vmlinuz console=ttyS0 quiet migbench.workload=compute migbench.wss=16M "
		"migbench.rate=16M migbench.pattern=hotcold migbench.hot=10% migbench.hotw=0.9 "
		"migbench.period=5ms migbench.seed=0x2a panic=-1\n", &e), 0);
	assert_int_equal(e.count, 0);
	assert_int_equal(c.workload, MB_WORKLOAD_COMPUTE);
	assert_int_equal(c.wss_pages, 4096);
	assert_int_equal(c.rate_pages, 4096); /* 16 MiB/s in 4 KiB pages */
	assert_int_equal(c.pattern, MB_PATTERN_HOTCOLD);
	assert_true(c.hot > 0.0999 && c.hot < 0.1001);
	assert_true(c.hotw == 0.9);
	assert_int_equal(c.period_us, 5000);
	assert_int_equal(c.seed, 42);
}

static void plain_numbers(void **unused)
{
	struct agent_config c;
	struct agent_config_error e = { 0 };
	char *words[] = { "migbench.rate=2500", "migbench.period=250", "migbench.wss=5000" };

	agent_config_defaults(&c, PAGE);
	assert_int_equal(agent_config_parse_words(&c, 3, words, &e), 0);
	assert_int_equal(c.rate_pages, 2500);  /* plain number = pages/s */
	assert_int_equal(c.period_us, 250);    /* plain number = µs */
	assert_int_equal(c.wss_pages, 2);      /* a partial page is a page */
}

static void quoted_value_and_last_wins(void **unused)
{
	struct agent_config c;
	struct agent_config_error e = { 0 };

	agent_config_defaults(&c, PAGE);
	assert_int_equal(agent_config_parse_cmdline(&c, "migbench.rate=1 \"migbench.pattern=random\" migbench.rate=7",
						    &e), 0);
	assert_int_equal(c.pattern, MB_PATTERN_RANDOM);
	assert_int_equal(c.rate_pages, 7);
}

/* Each bad word is rejected alone, leaves the default in place and yields
 * a message naming the parameter plus an ERR word without spaces. */
static void bad_values(void **unused)
{
	static const struct {
		const char *word;
		const char *err_word;
	} cases[] = {
		{ "migbench.rate=fast", "bad_value:migbench.rate" },
		{ "migbench.rate=-5", "bad_value:migbench.rate" },
		{ "migbench.wss=0", "bad_value:migbench.wss" },
		{ "migbench.wss=12Q", "bad_value:migbench.wss" },
		{ "migbench.wss=64T", "bad_value:migbench.wss" },
		{ "migbench.workload=stress", "bad_value:migbench.workload" },
		{ "migbench.pattern=zipf", "bad_value:migbench.pattern" },
		{ "migbench.hot=1.5", "bad_value:migbench.hot" },
		{ "migbench.hotw=-0.1", "bad_value:migbench.hotw" },
		{ "migbench.period=0", "bad_value:migbench.period" },
		{ "migbench.period=2min", "bad_value:migbench.period" },
		{ "migbench.period=10parsecs", "bad_value:migbench.period" },
		{ "migbench.seed=abc", "bad_value:migbench.seed" },
		{ "migbench.seed=-1", "bad_value:migbench.seed" },
		{ "migbench.rate", "bad_value:migbench.rate" },
		{ "migbench.speed=9", "unknown_param:migbench.speed" },
		{ "migbench.=9", "unknown_param:migbench." },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct agent_config c, d;
		struct agent_config_error e = { 0 };
		char *word = (char *)cases[i].word;

		agent_config_defaults(&c, PAGE);
		d = c;
		print_message("# %s\n", cases[i].word);
		assert_int_equal(agent_config_parse_words(&c, 1, &word, &e), 1);
		assert_int_equal(e.count, 1);
		assert_memory_equal(&c, &d, sizeof(c));
		assert_string_equal(e.items[0].word, cases[i].err_word);
		assert_null(strchr(e.items[0].word, ' '));
		assert_non_null(strstr(e.items[0].message, "migbench."));
	}
}

static void every_error_reported(void **unused)
{
	struct agent_config c;
	struct agent_config_error e = { 0 };
	char cmdline[1024] = "";

	agent_config_defaults(&c, PAGE);
	assert_int_equal(agent_config_parse_cmdline(&c, "migbench.foo=1 migbench.rate=500 migbench.hot=2", &e), 2);
	assert_string_equal(e.items[0].word, "unknown_param:migbench.foo");
	assert_string_equal(e.items[1].word, "bad_value:migbench.hot");
	assert_int_equal(c.rate_pages, 500); /* good parameters still apply */

	/* Past the table's size they are still counted. */
	memset(&e, 0, sizeof(e));
	for (int i = 0; i < AGENT_CONFIG_MAX_ERRORS + 3; i++)
		strcat(cmdline, "migbench.rate=x ");
	assert_int_equal(agent_config_parse_cmdline(&c, cmdline, &e), AGENT_CONFIG_MAX_ERRORS + 3);
	assert_int_equal(e.count, AGENT_CONFIG_MAX_ERRORS + 3);
}

static void names(void **unused)
{
	assert_string_equal(agent_workload_name(MB_WORKLOAD_IDLE), "idle");
	assert_string_equal(agent_pattern_name(MB_PATTERN_HOTCOLD), "hotcold");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(kernel_cmdline),
		cmocka_unit_test(plain_numbers),
		cmocka_unit_test(quoted_value_and_last_wins),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(every_error_reported),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
