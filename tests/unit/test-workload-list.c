/* Host and guest agree on every workload of workloads/workload_list.h: the
 * kernel command line the host writes (runners/qemu_argv.c: mb_guest_append)
 * goes through the agent's own parser (workloads/agent/config.c) to the
 * loop, service and parameters the line of the list describes; every
 * parameter the list says the guest reads is one the agent knows; and the
 * scenario keys offer exactly the list's names. A new workload line is
 * checked here without a test of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "bench/scenario.h"
#include "runners/guest.h"
#include "workloads/agent/config.h"
#include "workloads/svc_proto.h"
#include "workloads/workload_list.h"

#define PAGE 4096u

/* The host's line for workload `w` and pattern `p`, through the agent. */
static void round_trip(int w, int p)
{
	const struct mb_workload_desc *d = mb_workload_desc(w);
	struct mb_guest g;
	struct mb_err err = { 0 };
	struct agent_config c;
	struct agent_config_error e = { 0 };
	char line[4096];
	struct in_addr addr;

	assert_non_null(d);
	mb_guest_defaults(&g);
	g.workload = (enum mb_workload)w;
	g.pattern = (enum mb_pattern)p;
	g.wss = 12 * 1024 * 1024 + 1; /* a partial page is a page */
	g.rate = 777;
	g.heartbeat_period_us = 2500;
	g.kv_size = 8 * 1024 * 1024;
	assert_int_equal(mb_guest_append(&g, line, sizeof(line), &err), 0);

	agent_config_defaults(&c, PAGE);
	if (agent_config_parse_cmdline(&c, line, &e)) {
		print_error("workload %s: the agent rejects '%s': %s\n", d->name, line, e.items[0].message);
		fail();
	}
	/* The loop: the workload's own, or the one it borrows (echo: dirty). */
	assert_string_equal(agent_workload_name(c.workload), d->loop);
	assert_true(mb_workload_is_loop(c.workload));
	assert_int_equal(c.wss_pages, (12 * 1024 * 1024) / PAGE + 1);
	assert_int_equal(c.rate_pages, 777);
	assert_int_equal(c.pattern, p);
	assert_string_equal(agent_pattern_name(c.pattern), mb_pattern_name(p));
	assert_int_equal(c.period_us, 2500);
	/* The service, its store and its address. */
	assert_string_equal(agent_svc_name(c.svc), d->svc);
	assert_int_equal(mb_workload_has_net(w), c.svc != AGENT_SVC_NONE);
	if (c.svc != AGENT_SVC_NONE) {
		assert_true(mb_workload_has_net(c.svc));
		assert_int_equal(inet_pton(AF_INET, MB_NET_GUEST_ADDR, &addr), 1);
		assert_int_equal(c.net_addr, ntohl(addr.s_addr));
		assert_int_equal(c.net_prefix, MB_NET_PREFIX);
		assert_int_equal(c.svc_port, MB_SVC_PORT);
	}
	if (mb_workload_reads(w, "kv_size"))
		assert_int_equal(c.kv_size, 8 * 1024 * 1024);
}

static void host_line_through_agent(void **unused)
{
	for (size_t w = 0; w < MB_WORKLOAD_COUNT; w++)
		for (size_t p = 0; p < MB_PATTERN_COUNT; p++)
			round_trip((int)w, (int)p);
}

/* Each parameter in a line's params column is one the agent parses (a bad
 * value is refused as a bad value, not as an unknown parameter), and the
 * counter is a field of the heartbeat record. */
static void params_are_agent_params(void **unused)
{
	for (size_t w = 0; w < MB_WORKLOAD_COUNT; w++) {
		const struct mb_workload_desc *d = &mb_workload_descs[w];
		char params[256], *save = NULL;

		assert_true(!strcmp(d->counter, "written") || !strcmp(d->counter, "ops"));
		assert_true(d->help && *d->help);
		snprintf(params, sizeof(params), "%s", d->params);
		for (char *name = strtok_r(params, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
			struct agent_config c;
			struct agent_config_error e = { 0 };
			char word[96];

			agent_config_defaults(&c, PAGE);
			assert_int_equal(agent_config_set(&c, name, "not-a-value!", &e), -1);
			snprintf(word, sizeof(word), "bad_value:migbench.%s", name);
			if (strcmp(e.items[0].word, word)) {
				print_error("workload %s: params names '%s', which the agent does not know (%s)\n",
					    d->name, name, e.items[0].word);
				fail();
			}
			assert_true(mb_workload_reads((int)w, name));
		}
		assert_false(mb_workload_reads((int)w, "rat"));
		assert_false(mb_workload_reads((int)w, "kv"));
		assert_false(mb_workload_reads((int)w, "ss"));
	}
}

/* migbench.workload= takes the loops and nothing else: a workload that runs
 * another's loop (echo, kv) is spelt as that loop plus migbench.svc=. */
static void agent_takes_loops_only(void **unused)
{
	for (size_t w = 0; w < MB_WORKLOAD_COUNT; w++) {
		struct agent_config c;
		struct agent_config_error e = { 0 };
		int rc;

		agent_config_defaults(&c, PAGE);
		rc = agent_config_set(&c, "workload", mb_workload_descs[w].name, &e);
		assert_int_equal(rc, mb_workload_is_loop((int)w) ? 0 : -1);
		if (rc == 0)
			assert_int_equal(c.workload, (int)w);
		/* Every loop a workload names exists as a workload of its own. */
		assert_true(mb_workload_is_loop(mb_workload_find(mb_workload_descs[w].loop)));
	}
}

/* The scenario keys offer the list's names, in its order. */
static void scenario_choices_are_the_list(void **unused)
{
	const struct mb_key *wk = mb_key_find("workload"), *pk = mb_key_find("pattern");
	size_t i;

	assert_non_null(wk);
	assert_non_null(pk);
	for (i = 0; wk->choices[i]; i++)
		assert_string_equal(wk->choices[i], mb_workload_name((int)i));
	assert_int_equal(i, MB_WORKLOAD_COUNT);
	for (i = 0; pk->choices[i]; i++)
		assert_string_equal(pk->choices[i], mb_pattern_name((int)i));
	assert_int_equal(i, MB_PATTERN_COUNT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_line_through_agent),
		cmocka_unit_test(params_are_agent_params),
		cmocka_unit_test(agent_takes_loops_only),
		cmocka_unit_test(scenario_choices_are_the_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
