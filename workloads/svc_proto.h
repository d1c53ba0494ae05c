/* The wire format of the guest's network services (workload=echo, kv) and
 * the addresses of the per-run virtual network, shared by the guest agent
 * (workloads/agent/svc_*.c) and the host's client (probes/netclient.c).
 *
 * One UDP datagram per request and per reply: a fixed 32-byte header in
 * little-endian order, then `value_len` bytes of value.
 *
 *   ECHO  request: header + any payload      reply: the datagram unchanged
 *   GET   request: header (key)              reply: header (version of the
 *                                            slot) + MB_SVC_VALUE_SIZE bytes
 *   PUT   request: header (key, version) +   reply: header (version stored),
 *                  MB_SVC_VALUE_SIZE bytes   no value
 *
 * `seq` is the client's request number, echoed in the reply, so the client
 * matches replies to requests whatever their order. The kv store holds
 * kv_size / MB_SVC_VALUE_SIZE slots; key k lives in slot k. A value starts
 * with its key and version (two little-endian u64), so a client can tell a
 * GET that returned another key's value or a version older than one a PUT
 * already acknowledged (a write lost in migration). */
#ifndef MB_SVC_PROTO_H
#define MB_SVC_PROTO_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MB_SVC_MAGIC 0x5653424du      /* "MBSV" as little-endian bytes */
#define MB_SVC_PORT 7777
#define MB_SVC_VALUE_SIZE 1024u
#define MB_SVC_ECHO_PAYLOAD 64u       /* what the client sends to echo */
#define MB_SVC_MAX_DATAGRAM 2048u

/* The per-run network (runners/netns.c builds it, the agent joins it). */
#define MB_NET_HOST_ADDR "10.77.0.1"
#define MB_NET_GUEST_ADDR "10.77.0.2"
#define MB_NET_PREFIX 24
#define MB_NET_GUEST_MAC "52:54:00:77:00:02"

enum mb_svc_op {
	MB_SVC_OP_ECHO = 1,
	MB_SVC_OP_GET = 2,
	MB_SVC_OP_PUT = 3,
};

enum mb_svc_status {
	MB_SVC_OK = 0,
	MB_SVC_BAD_REQUEST = 1,   /* short, wrong op for this service, bad length */
	MB_SVC_NO_SUCH_KEY = 2,   /* key >= number of slots */
};

struct mb_svc_header {
	uint32_t magic;
	uint8_t op;
	uint8_t status;
	uint16_t value_len;
	uint64_t seq;
	uint64_t key;
	uint64_t version;
};

#define MB_SVC_HEADER_SIZE 32u
_Static_assert(sizeof(struct mb_svc_header) == MB_SVC_HEADER_SIZE, "no padding in the header");

/* Header <-> bytes (explicit little-endian, whatever the host). */
static inline void mb_svc_put_header(unsigned char *buf, const struct mb_svc_header *h)
{
	struct mb_svc_header le = {
		.magic = htole32(h->magic),
		.op = h->op,
		.status = h->status,
		.value_len = htole16(h->value_len),
		.seq = htole64(h->seq),
		.key = htole64(h->key),
		.version = htole64(h->version),
	};

	memcpy(buf, &le, sizeof(le));
}

/* Returns 0, or -1 when `len` is short or the magic is wrong. */
static inline int mb_svc_get_header(const unsigned char *buf, size_t len, struct mb_svc_header *h)
{
	struct mb_svc_header le;

	if (len < MB_SVC_HEADER_SIZE)
		return -1;
	memcpy(&le, buf, sizeof(le));
	*h = (struct mb_svc_header){
		.magic = le32toh(le.magic),
		.op = le.op,
		.status = le.status,
		.value_len = le16toh(le.value_len),
		.seq = le64toh(le.seq),
		.key = le64toh(le.key),
		.version = le64toh(le.version),
	};
	return h->magic == MB_SVC_MAGIC ? 0 : -1;
}

/* The value a client PUTs and the store starts with: key and version, then
 * a byte pattern of both (never all zero, so migration sends real pages). */
static inline void mb_svc_fill_value(unsigned char *value, uint64_t key, uint64_t version)
{
	uint64_t k = htole64(key), v = htole64(version);
	unsigned char b = (unsigned char)(0x5a ^ key ^ (version << 3)) | 1;

	memcpy(value, &k, 8);
	memcpy(value + 8, &v, 8);
	memset(value + 16, b, MB_SVC_VALUE_SIZE - 16);
}

/* The key and version a value says it holds. */
static inline void mb_svc_value_id(const unsigned char *value, uint64_t *key, uint64_t *version)
{
	uint64_t k, v;

	memcpy(&k, value, 8);
	memcpy(&v, value + 8, 8);
	*key = le64toh(k);
	*version = le64toh(v);
}

#endif
