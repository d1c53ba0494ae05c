/* The heartbeat channel's wire protocol, shared by the guest agent and the
 * host's heartbeat reader.
 *
 * One record per line, ASCII, '\n'-terminated: a type word, then
 * space-separated key=value pairs. Text rather than binary so a person can
 * read a channel with `socat` and so a record lost in a migration can never
 * desynchronise the reader: the next '\n' re-frames the stream.
 *
 * Guest -> host:
 *   HELLO v=1 workload=dirty wss_pages=N page_size=4096 rate=N pattern=P period_us=N boot_us=N
 *   HELLO id=N v=1 ...                              (the same, answering HELLO)
 *   HB seq=N gt=US written=N ops=N rate=N          (every period)
 *   PONG id=N gt=US
 *   RATE id=N rate=N                                (acknowledges a change)
 *   PERIOD id=N period_us=N
 *   VERIFY id=N checked=N corrupted=N first_bad=N us=N
 *   STATS id=N since_us=N written=N achieved=N rate=N
 *   ERR id=N msg=WORD_WITHOUT_SPACES
 *
 * Host -> guest (one command per line):
 *   PING id | RATE id value | PERIOD id us | VERIFY id | STATS id | HELLO id
 * `RATE` takes the same syntax as the migbench.rate= kernel parameter.
 * `STATS` reports what the dirtying achieved since the last RATE change.
 * `HELLO` repeats the boot's HELLO (boot_us unchanged): a guest restored
 * from a post-boot snapshot sent its own before the snapshot was taken.
 */
#ifndef MB_PROTO_H
#define MB_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define MB_PROTO_VERSION 1
#define MB_PROTO_LINE_MAX 512
#define MB_PROTO_PORT_NAME "org.migbench.heartbeat"
#define MB_PROTO_MAX_FIELDS 16

struct mb_proto_field {
	const char *key;
	const char *value;
};

struct mb_proto_line {
	const char *type;
	size_t nfields;
	struct mb_proto_field fields[MB_PROTO_MAX_FIELDS];
};

/* Splits `buf` (modified in place, no trailing '\n') into a type and fields.
 * Returns 0, or -1 for an empty or over-long line. */
int mb_proto_parse(char *buf, struct mb_proto_line *line);

/* Looks up a field; returns NULL when absent. */
const char *mb_proto_get(const struct mb_proto_line *line, const char *key);

/* Looks up an unsigned integer field; returns 0, or -1 when absent/invalid. */
int mb_proto_get_u64(const struct mb_proto_line *line, const char *key, uint64_t *out);

#endif
