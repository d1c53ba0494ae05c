/* libFuzzer target: the heartbeat channel's decoder (workloads/proto.c), which
 * reads what the guest writes. A guest is untrusted input.
 *
 * The input is a channel stream: each '\n'-terminated line is decoded as the
 * host's heartbeat reader (probes/heartbeat.c) decodes it: cut to
 * MB_PROTO_LINE_MAX, split by mb_proto_parse, and its fields read with
 * mb_proto_get/mb_proto_get_u64 under the names the reader uses, and as a
 * command reply through mb_hb_reply_u64. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/heartbeat.h"
#include "workloads/proto.h"
#include "tests/fuzz/fuzz.h"

#define TARGET "heartbeat"

/* Every field name the host reads from a guest record. */
static const char *const keys[] = {
	"seq", "gt", "written", "ops", "rate", "v", "wss_pages", "page_size",
	"period_us", "boot_us", "workload", "pattern", "id", "checked", "corrupted",
	"first_bad", "us", "since_us", "achieved", "msg",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void decode_line(const char *line)
{
	char copy[MB_PROTO_LINE_MAX];
	struct mb_proto_line l;
	struct mb_hb_reply reply = { 0 };
	struct mb_err err = { 0 };

	snprintf(copy, sizeof(copy), "%s", line);
	if (mb_proto_parse(copy, &l) == 0) {
		if (!l.type || !l.type[0])
			fuzz_bug(TARGET, "mb_proto_parse accepted '%s' with an empty type", line);
		if (l.nfields > MB_PROTO_MAX_FIELDS)
			fuzz_bug(TARGET, "mb_proto_parse returned %zu fields, more than %d", l.nfields,
				 MB_PROTO_MAX_FIELDS);
		for (size_t i = 0; i < l.nfields; i++) {
			/* every field must point into the copy, NUL-terminated inside it */
			if (!l.fields[i].key || !l.fields[i].value ||
			    l.fields[i].key < copy || l.fields[i].key >= copy + sizeof(copy))
				fuzz_bug(TARGET, "field %zu of '%s' points outside the line", i, line);
		}
		for (size_t k = 0; k < NKEYS; k++) {
			const char *v = mb_proto_get(&l, keys[k]);
			uint64_t n;

			if (mb_proto_get_u64(&l, keys[k], &n) == 0 && (!v || !*v || *v == '-'))
				fuzz_bug(TARGET, "mb_proto_get_u64(%s) accepted '%s'", keys[k], v ? v : "(absent)");
		}
	}
	/* as a reply to a command: its id, as mb_hb_command reads it (one key
	 * per line: the decoding is the same for every key, above) */
	snprintf(reply.text, sizeof(reply.text), "%s", line);
	{
		uint64_t n;

		if (mb_hb_reply_u64(&reply, "id", &n, &err) != 0)
			fuzz_check_error(TARGET, "mb_hb_reply_u64", &err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(TARGET, data, size);
	char *line = text, *nl;

	/* The reader frames by '\n' over raw bytes; a NUL inside a line ends
	 * the C string it hands the decoder, as here. */
	while ((nl = memchr(line, '\n', (size_t)(text + size - line)))) {
		*nl = '\0';
		decode_line(line);
		line = nl + 1;
	}
	if (line < text + size)
		decode_line(line);
	free(text);
	return 0;
}
