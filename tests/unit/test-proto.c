#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "workloads/proto.h"

static void heartbeat_line(void **state)
{
	char buf[] = "HB seq=42 gt=123456 written=1000 ops=7 rate=500";
	struct mb_proto_line l;
	uint64_t v;

	assert_int_equal(mb_proto_parse(buf, &l), 0);
	assert_string_equal(l.type, "HB");
	assert_int_equal(l.nfields, 5);
	assert_int_equal(mb_proto_get_u64(&l, "seq", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(mb_proto_get_u64(&l, "rate", &v), 0);
	assert_int_equal(v, 500);
	assert_int_equal(mb_proto_get_u64(&l, "missing", &v), -1);
}

static void bad_lines(void **state)
{
	char empty[] = "   ";
	char neg[] = "HB seq=-1";
	struct mb_proto_line l;
	uint64_t v;

	assert_int_equal(mb_proto_parse(empty, &l), -1);
	assert_int_equal(mb_proto_parse(neg, &l), 0);
	assert_int_equal(mb_proto_get_u64(&l, "seq", &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heartbeat_line),
		cmocka_unit_test(bad_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
