/* The guest's network services as pure functions of a datagram: the kv
 * store's GET and PUT (its initial values, a PUT seen by a later GET, bad
 * keys and lengths), echo, and junk that gets no answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "workloads/agent/config.h"
#include "workloads/agent/svc.h"
#include "workloads/svc_proto.h"

static unsigned char reply[MB_SVC_MAX_DATAGRAM];

static size_t request(unsigned char *buf, uint8_t op, uint64_t seq, uint64_t key, uint64_t version)
{
	struct mb_svc_header h = { .magic = MB_SVC_MAGIC, .op = op, .seq = seq, .key = key, .version = version };

	if (op == MB_SVC_OP_PUT) {
		h.value_len = MB_SVC_VALUE_SIZE;
		mb_svc_fill_value(buf + MB_SVC_HEADER_SIZE, key, version);
	}
	mb_svc_put_header(buf, &h);
	return MB_SVC_HEADER_SIZE + h.value_len;
}

static void kv_get_and_put(void **unused)
{
	unsigned char buf[MB_SVC_MAX_DATAGRAM];
	struct svc_kv kv;
	struct mb_svc_header h;
	uint64_t key, version;
	size_t len;

	assert_int_equal(svc_kv_init(&kv, 64 * 1024), 0);
	assert_int_equal(kv.nslots, 64);

	/* a fresh store: every key holds its own value, version 0 */
	len = svc_kv_handle(&kv, buf, request(buf, MB_SVC_OP_GET, 7, 42, 0), reply);
	assert_int_equal(len, MB_SVC_HEADER_SIZE + MB_SVC_VALUE_SIZE);
	assert_int_equal(mb_svc_get_header(reply, len, &h), 0);
	assert_int_equal(h.seq, 7);
	assert_int_equal(h.status, MB_SVC_OK);
	assert_int_equal(h.version, 0);
	mb_svc_value_id(reply + MB_SVC_HEADER_SIZE, &key, &version);
	assert_int_equal(key, 42);
	assert_int_equal(version, 0);

	/* a PUT is acknowledged with its version and seen by the next GET */
	len = svc_kv_handle(&kv, buf, request(buf, MB_SVC_OP_PUT, 8, 42, 9), reply);
	assert_int_equal(len, MB_SVC_HEADER_SIZE);
	assert_int_equal(mb_svc_get_header(reply, len, &h), 0);
	assert_int_equal(h.status, MB_SVC_OK);
	assert_int_equal(h.version, 9);
	len = svc_kv_handle(&kv, buf, request(buf, MB_SVC_OP_GET, 9, 42, 0), reply);
	assert_int_equal(mb_svc_get_header(reply, len, &h), 0);
	assert_int_equal(h.version, 9);
	mb_svc_value_id(reply + MB_SVC_HEADER_SIZE, &key, &version);
	assert_int_equal(key, 42);
	assert_int_equal(version, 9);
	/* the neighbour is untouched */
	len = svc_kv_handle(&kv, buf, request(buf, MB_SVC_OP_GET, 10, 43, 0), reply);
	mb_svc_value_id(reply + MB_SVC_HEADER_SIZE, &key, &version);
	assert_int_equal(key, 43);
	assert_int_equal(version, 0);
	svc_kv_free(&kv);
}

static void kv_refusals(void **unused)
{
	unsigned char buf[MB_SVC_MAX_DATAGRAM];
	struct svc_kv kv;
	struct mb_svc_header h;
	size_t len;

	assert_int_equal(svc_kv_init(&kv, 4 * 1024), 0);
	/* key beyond the store */
	len = svc_kv_handle(&kv, buf, request(buf, MB_SVC_OP_GET, 1, 4, 0), reply);
	assert_int_equal(mb_svc_get_header(reply, len, &h), 0);
	assert_int_equal(h.status, MB_SVC_NO_SUCH_KEY);
	assert_int_equal(len, MB_SVC_HEADER_SIZE);
	/* a PUT whose value names another key */
	request(buf, MB_SVC_OP_PUT, 2, 1, 5);
	mb_svc_fill_value(buf + MB_SVC_HEADER_SIZE, 2, 5);
	len = svc_kv_handle(&kv, buf, MB_SVC_HEADER_SIZE + MB_SVC_VALUE_SIZE, reply);
	assert_int_equal(mb_svc_get_header(reply, len, &h), 0);
	assert_int_equal(h.status, MB_SVC_BAD_REQUEST);
	/* a short PUT */
	len = svc_kv_handle(&kv, buf, request(buf, MB_SVC_OP_PUT, 3, 1, 5) - 1, reply);
	assert_int_equal(mb_svc_get_header(reply, len, &h), 0);
	assert_int_equal(h.status, MB_SVC_BAD_REQUEST);
	/* an unknown operation */
	len = svc_kv_handle(&kv, buf, request(buf, 99, 4, 1, 0), reply);
	assert_int_equal(mb_svc_get_header(reply, len, &h), 0);
	assert_int_equal(h.status, MB_SVC_BAD_REQUEST);
	/* not ours at all: no answer */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(svc_kv_handle(&kv, buf, 100, reply), 0);
	assert_int_equal(svc_kv_handle(&kv, buf, 3, reply), 0);
	svc_kv_free(&kv);
	assert_int_equal(svc_kv_init(&kv, 100), -1); /* not one slot */
}

static void echo(void **unused)
{
	unsigned char buf[MB_SVC_MAX_DATAGRAM];
	struct mb_svc_header h = { .magic = MB_SVC_MAGIC, .op = MB_SVC_OP_ECHO, .seq = 77,
				   .value_len = MB_SVC_ECHO_PAYLOAD };
	size_t len = MB_SVC_HEADER_SIZE + MB_SVC_ECHO_PAYLOAD;

	mb_svc_put_header(buf, &h);
	memset(buf + MB_SVC_HEADER_SIZE, 0x3c, MB_SVC_ECHO_PAYLOAD);
	assert_int_equal(svc_echo_handle(buf, len, reply), len);
	assert_memory_equal(reply, buf, len);
	/* echo has no store */
	len = request(buf, MB_SVC_OP_GET, 78, 1, 0);
	assert_int_equal(svc_echo_handle(buf, len, reply), MB_SVC_HEADER_SIZE);
	assert_int_equal(mb_svc_get_header(reply, MB_SVC_HEADER_SIZE, &h), 0);
	assert_int_equal(h.status, MB_SVC_BAD_REQUEST);
	assert_int_equal(h.seq, 78);
}

static void header_is_little_endian(void **unused)
{
	unsigned char buf[MB_SVC_HEADER_SIZE];
	struct mb_svc_header h = { .magic = MB_SVC_MAGIC, .op = 2, .seq = 0x0102030405060708ull };

	mb_svc_put_header(buf, &h);
	assert_memory_equal(buf, "MBSV", 4);
	assert_int_equal(buf[8], 0x08);
	assert_int_equal(buf[15], 0x01);
}

/* migbench.svc, kv_size, net, port: defaults, values and refusals. */
static void config_parameters(void **unused)
{
	struct agent_config c;
	struct agent_config_error e = { 0 };
	char *good[] = { "migbench.svc=kv", "migbench.kv_size=8M", "migbench.net=10.1.2.3/16", "migbench.port=9000" };
	char *bad[] = { "migbench.svc=memcached", "migbench.kv_size=100", "migbench.net=10.1.2.3",
			"migbench.net=10.1.2.300/24", "migbench.port=70000" };

	agent_config_defaults(&c, 4096);
	assert_int_equal(c.svc, AGENT_SVC_NONE);
	assert_int_equal(c.kv_size, 64u << 20);
	assert_int_equal(c.net_addr, 0x0a4d0002u); /* 10.77.0.2 */
	assert_int_equal(c.net_prefix, MB_NET_PREFIX);
	assert_int_equal(c.svc_port, MB_SVC_PORT);
	assert_int_equal(agent_config_parse_words(&c, 4, good, &e), 0);
	assert_int_equal(c.svc, MB_WORKLOAD_KV);
	assert_int_equal(c.kv_size, 8u << 20);
	assert_int_equal(c.net_addr, 0x0a010203u);
	assert_int_equal(c.net_prefix, 16);
	assert_int_equal(c.svc_port, 9000);
	assert_string_equal(agent_svc_name(c.svc), "kv");
	assert_int_equal(agent_config_parse_words(&c, 5, bad, &e), 5);
	assert_string_equal(e.items[0].word, "bad_value:migbench.svc");
	/* nothing changed */
	assert_int_equal(c.svc, MB_WORKLOAD_KV);
	assert_int_equal(c.net_prefix, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kv_get_and_put),
		cmocka_unit_test(kv_refusals),
		cmocka_unit_test(echo),
		cmocka_unit_test(header_is_little_endian),
		cmocka_unit_test(config_parameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
