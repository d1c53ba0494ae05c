/* Host commands and the records the agent writes, byte for byte as
 * workloads/proto.h specifies them, without threads or a channel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "workloads/agent/clock.h"
#include "workloads/agent/command.h"
#include "workloads/proto.h"

struct fixture {
	struct agent_state state;
	uint64_t period_us;
	char reply[MB_PROTO_LINE_MAX];
};

static int setup(void **state)
{
	static struct fixture f;
	struct agent_config config;

	agent_config_defaults(&config, 4096);
	config.wss_pages = 16;
	config.rate_pages = 300;
	if (state_init(&f.state, &config) || working_set_alloc(&f.state.ws, 16, 4096))
		return -1;
	working_set_stamp_all(&f.state.ws);
	f.state.have_working_set = true;
	f.period_us = config.period_us;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	working_set_free(&f->state.ws);
	close(f->state.heartbeat_wakeup_fd);
	return 0;
}

/* Runs one command; returns the reply ("" when deferred). */
static const char *run(struct fixture *f, const char *command)
{
	char line[MB_PROTO_LINE_MAX];
	size_t len;

	snprintf(line, sizeof(line), "%s", command);
	len = command_handle(&f->state, line, &f->period_us, f->reply, sizeof(f->reply));
	f->reply[len] = '\0';
	return f->reply;
}

static void ping(void **state)
{
	struct fixture *f = *state;
	unsigned long long gt;

	assert_int_equal(sscanf(run(f, "PING 12"), "PONG id=12 gt=%llu\n", &gt), 1);
	assert_true(gt > 0);
	assert_int_equal(f->reply[strlen(f->reply) - 1], '\n');
}

static void rate(void **state)
{
	struct fixture *f = *state;
	uint64_t epoch = atomic_load(&f->state.rate_epoch);

	assert_string_equal(run(f, "RATE 3 2500"), "RATE id=3 rate=2500\n");
	assert_int_equal(atomic_load(&f->state.target_rate), 2500);
	assert_int_equal(atomic_load(&f->state.rate_epoch), epoch + 1);
	assert_string_equal(run(f, "RATE 4 16MiB/s"), "RATE id=4 rate=4096\n");
	assert_string_equal(run(f, "RATE 5 -1"), "ERR id=5 msg=bad_rate\n");
	assert_string_equal(run(f, "RATE 6"), "ERR id=6 msg=bad_rate\n");
	assert_int_equal(atomic_load(&f->state.target_rate), 4096);
}

static void period(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f, "PERIOD 8 250ms"), "PERIOD id=8 period_us=250000\n");
	assert_int_equal(f->period_us, 250000);
	assert_string_equal(run(f, "PERIOD 9 50"), "ERR id=9 msg=bad_period\n");
	assert_int_equal(f->period_us, 250000);
}

static void stats_window(void **state)
{
	struct fixture *f = *state;
	char copy[MB_PROTO_LINE_MAX];
	struct mb_proto_line l;
	uint64_t seen = 0, rate, v;

	/* Before the workload opens a window, STATS reports an empty one. */
	assert_string_equal(run(f, "STATS 1"), "STATS id=1 since_us=0 written=0 achieved=0 rate=300\n");
	/* The workload opens a window 2 s ago and writes 1000 pages. */
	assert_true(state_take_rate_change(&f->state, &seen, 1, &rate));
	assert_int_equal(rate, 300);
	f->state.window.start_us = agent_now_us() - 2000000;
	atomic_fetch_add(&f->state.pages_written, 1000);
	run(f, "STATS 2");
	snprintf(copy, sizeof(copy), "%s", f->reply);
	copy[strcspn(copy, "\n")] = '\0';
	assert_int_equal(mb_proto_parse(copy, &l), 0);
	assert_string_equal(l.type, "STATS");
	assert_int_equal(mb_proto_get_u64(&l, "written", &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(mb_proto_get_u64(&l, "achieved", &v), 0);
	assert_true(v >= 495 && v <= 500);
	/* A new rate empties the window until the workload picks it up. */
	run(f, "RATE 3 10");
	assert_string_equal(run(f, "STATS 4"), "STATS id=4 since_us=0 written=0 achieved=0 rate=10\n");
}

static void verify_is_answered_by_the_workload(void **state)
{
	struct fixture *f = *state;
	struct verify_result result;
	uint64_t id;

	assert_string_equal(run(f, "VERIFY 21"), "");
	assert_string_equal(run(f, "VERIFY 22"), "ERR id=22 msg=verify_busy\n");
	assert_false(state_take_verify_answer(&f->state, &id, &result));
	f->state.ws.base[5 * 4096 + 4095] ^= 1; /* tail of page 5 */
	state_serve_verify(&f->state);
	assert_true(state_take_verify_answer(&f->state, &id, &result));
	assert_int_equal(id, 21);
	result.us = 0;
	record_verify(f->reply, sizeof(f->reply), id, &result);
	assert_string_equal(f->reply, "VERIFY id=21 checked=16 corrupted=1 first_bad=5 us=0\n");
	assert_string_equal(run(f, "VERIFY 23"), "");
}

static void bad_commands(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(run(f, "HB 1"), "ERR id=1 msg=unknown_command\n");
	assert_string_equal(run(f, "ping 2"), "ERR id=2 msg=unknown_command\n");
	assert_string_equal(run(f, "PING"), "ERR id=0 msg=bad_id\n");
	assert_string_equal(run(f, "PING seven"), "ERR id=0 msg=bad_id\n");
	assert_string_equal(run(f, "   "), "ERR id=0 msg=bad_line\n");
	assert_string_equal(run(f, "STATS id=5"), "STATS id=5 since_us=0 written=0 achieved=0 rate=300\n");
}

static void records(void **state)
{
	struct fixture *f = *state;

	f->state.boot_us = 1234567;
	record_hello(f->reply, sizeof(f->reply), 0, &f->state, 1000);
	assert_string_equal(f->reply, "HELLO v=1 workload=dirty wss_pages=16 page_size=4096 rate=300 "
				      "pattern=sequential period_us=1000 boot_us=1234567\n");
	/* The HELLO command: the same record, the boot's time, its id, and the
	 * period in force now. */
	f->period_us = 250;
	assert_string_equal(run(f, "HELLO 9"), "HELLO id=9 v=1 workload=dirty wss_pages=16 page_size=4096 "
					       "rate=300 pattern=sequential period_us=250 boot_us=1234567\n");
	record_heartbeat(f->reply, sizeof(f->reply), 7, 8, 9, 10, 11);
	assert_string_equal(f->reply, "HB seq=7 gt=8 written=9 ops=10 rate=11\n");
	record_err(f->reply, sizeof(f->reply), 0, "bad_value:migbench.rate");
	assert_string_equal(f->reply, "ERR id=0 msg=bad_value:migbench.rate\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ping, setup, teardown),
		cmocka_unit_test_setup_teardown(rate, setup, teardown),
		cmocka_unit_test_setup_teardown(period, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_window, setup, teardown),
		cmocka_unit_test_setup_teardown(verify_is_answered_by_the_workload, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(records, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
