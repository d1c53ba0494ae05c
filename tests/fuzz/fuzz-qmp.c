/* libFuzzer target: the QMP reply handling (runners/qmp.c), which reads
 * whatever the QEMU binary of a scenario (`qemu=` may be any build) writes.
 *
 * The input is a QMP stream as the reader thread receives it: lines of JSON
 * (greeting, replies, events), delivered in reads of a size taken from the
 * first byte, so the reassembly of lines split across reads is fuzzed too.
 * It reaches the same code the reader thread runs: handle_lines sorts each
 * message into greeting, reply (to commands with ids 1 and 2 waiting) or
 * event; afterwards the replies go through interpret_reply and the
 * migration helpers that read them, the greeting through parse_version, and
 * the events through the event log's wait, match and JSON paths.
 *
 * Those functions are static: the reader thread is their only caller, and
 * connecting a socket and a thread for every input would make the fuzzer
 * slow and its coverage depend on scheduling. So this file includes qmp.c
 * and builds a connection without socket or thread; qmp.o from the library
 * is then never linked in (this file defines all its symbols). */
#include "runners/qmp.c"

#include "bench/metrics.h"
#include "tests/fuzz/fuzz.h"

#define TARGET "qmp"

static struct mb_qmp *fake_connection(void)
{
	struct mb_qmp *c = calloc(1, sizeof(*c));
	struct mb_err err = { 0 };

	if (!c || !(c->socket_path = strdup("fuzz.qmp")))
		fuzz_bug(TARGET, "no memory for a connection");
	c->fd = -1;
	c->next_id = 3;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->write_lock, NULL);
	pthread_cond_init(&c->changed, NULL);
	if (mb_qmp_event_log_new(c->socket_path, &c->events, &err) != 0)
		fuzz_bug(TARGET, "mb_qmp_event_log_new: %s", err.msg);
	return c;
}

/* What the callers of mb_qmp_execute do with a reply's "return" value. */
static void use_reply(const char *command, json_t *reply)
{
	struct mb_err err = { 0 };
	json_t *ret = NULL, *metrics;

	if (interpret_reply(command, reply, &ret, &err) != 0) {
		fuzz_check_error(TARGET, "interpret_reply", &err);
		return;
	}
	metrics = json_object();
	if (!metrics)
		fuzz_bug(TARGET, "no memory for a metrics object");
	mb_metrics_pages(ret, metrics);     /* a final query-migrate */
	if (json_is_object(ret)) {
		static const char *const wanted_text = "{\"postcopy-ram\": true, \"events\": true}";
		json_t *wanted = json_loads(wanted_text, 0, NULL);

		if (!wanted)
			fuzz_bug(TARGET, "cannot parse its own JSON %s", wanted_text);
		if (mb_qmp_require_names(ret, wanted, "migration capability", &err) != 0)
			fuzz_check_error(TARGET, "mb_qmp_require_names", &err);
		json_decref(wanted);
	}
	json_decref(metrics);
	json_decref(ret);
}

static void use_events(struct mb_qmp *c)
{
	struct mb_qmp_event_list list = { 0 };
	struct mb_qmp_event ev = { 0 };
	struct mb_err err = { 0 };
	json_t *match = json_pack("{s:s}", "status", "completed"), *json;
	char *text;

	if (!match)
		fuzz_bug(TARGET, "no memory for an event filter");
	/* the connection is closed: a wait must answer at once */
	if (mb_qmp_wait_event(c, "MIGRATION", match, 0, &ev, &err) == 0)
		mb_qmp_event_release(&ev);
	else
		fuzz_check_error(TARGET, "mb_qmp_wait_event", &err);
	if (mb_qmp_copy_events(c, &list, &err) != 0)
		fuzz_bug(TARGET, "mb_qmp_copy_events: %s", err.msg);
	mb_qmp_event_list_free(&list);
	mb_qmp_take_events(c, &list);
	for (size_t i = 0; i < list.count; i++)
		mb_qmp_event_matches(&list.items[i], "MIGRATION", match);
	json = mb_qmp_event_list_to_json(&list);
	if (!json)
		fuzz_bug(TARGET, "mb_qmp_event_list_to_json returned NULL for %zu events", list.count);
	text = json_dumps(json, JSON_COMPACT);
	if (!text)
		fuzz_bug(TARGET, "json_dumps of %zu events failed", list.count);
	free(text);
	json_decref(json);
	json_decref(match);
	mb_qmp_event_list_free(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mb_qmp *c = fake_connection();
	struct pending_reply first = { .id = 1 }, second = { .id = 2, .next = &first };
	size_t chunk = size ? 1 + data[0] % 128 : 1, len = 0, fed = 0;
	char *buf = malloc(size + 1);
	struct mb_err err = { 0 };
	int rc = 0;

	if (!buf)
		fuzz_bug(TARGET, "no memory for a %zu-byte input", size);
	c->pending = &second;
	while (rc == 0 && fed < size) {
		size_t n = size - fed < chunk ? size - fed : chunk;

		memcpy(buf + len, data + fed, n);
		len += n;
		fed += n;
		rc = handle_lines(c, buf, &len, 1, 1, &err);
		if (len > size)
			fuzz_bug(TARGET, "handle_lines kept %zu bytes of a %zu-byte input", len, size);
	}
	pthread_mutex_lock(&c->lock);
	if (rc != 0) {
		fuzz_check_error(TARGET, "handle_lines", &err);
		mark_closed_locked(c, err.errnum, "QMP connection to %s: %s", c->socket_path, err.msg);
	} else {
		mark_closed_locked(c, 0, "QMP connection to %s closed (QEMU exited?)", c->socket_path);
	}
	c->pending = NULL;
	pthread_mutex_unlock(&c->lock);

	if (c->greeting)
		parse_version(json_object_get(json_object_get(c->greeting, "QMP"), "version"), &c->version);
	use_reply("query-migrate", first.reply);
	use_reply("query-migrate-capabilities", second.reply);
	json_decref(first.reply);
	json_decref(second.reply);
	use_events(c);
	free(buf);
	mb_qmp_close(c);
	return 0;
}
