#include "workloads/agent/command.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "workloads/agent/clock.h"
#include "workloads/proto.h"

int record_hello(char *buf, size_t len, uint64_t id, struct agent_state *state, uint64_t period_us)
{
	const struct agent_config *config = &state->config;
	char id_field[32] = "";

	if (id)
		snprintf(id_field, sizeof(id_field), " id=%" PRIu64, id);
	return snprintf(buf, len,
			"HELLO%s v=%d workload=%s wss_pages=%" PRIu64 " page_size=%" PRIu64 " rate=%" PRIu64
			" pattern=%s period_us=%" PRIu64 " boot_us=%" PRIu64 "\n",
			id_field, MB_PROTO_VERSION, agent_workload_name(config->workload),
			state->have_working_set ? state->ws.npages : 0, config->page_size,
			atomic_load(&state->target_rate), agent_pattern_name(config->pattern),
			period_us, state->boot_us);
}

int record_heartbeat(char *buf, size_t len, uint64_t seq, uint64_t guest_us, uint64_t written,
		     uint64_t ops, uint64_t rate)
{
	return snprintf(buf, len, "HB seq=%" PRIu64 " gt=%" PRIu64 " written=%" PRIu64 " ops=%" PRIu64
			" rate=%" PRIu64 "\n", seq, guest_us, written, ops, rate);
}

int record_verify(char *buf, size_t len, uint64_t id, const struct verify_result *result)
{
	return snprintf(buf, len, "VERIFY id=%" PRIu64 " checked=%" PRIu64 " corrupted=%" PRIu64
			" first_bad=%" PRIu64 " us=%" PRIu64 "\n", id, result->checked, result->corrupted,
			result->first_bad, result->us);
}

int record_err(char *buf, size_t len, uint64_t id, const char *word)
{
	return snprintf(buf, len, "ERR id=%" PRIu64 " msg=%s\n", id, word);
}

/* Commands are positional ("RATE 7 16M"): the parser stores a bare word as
 * a key with an empty value. "id=7" is accepted too, for hand-typed tests. */
static const char *argument(const struct mb_proto_line *line, size_t position)
{
	const struct mb_proto_field *field;

	if (position >= line->nfields)
		return NULL;
	field = &line->fields[position];
	return *field->value ? field->value : field->key;
}

static int parse_id(const struct mb_proto_line *line, uint64_t *id)
{
	struct mb_proto_line one = { .type = line->type, .nfields = 1 };

	if (line->nfields == 0)
		return -1;
	one.fields[0] = (struct mb_proto_field){ .key = "id", .value = argument(line, 0) };
	return mb_proto_get_u64(&one, "id", id);
}

static size_t fitted(int n, size_t len)
{
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

size_t command_handle(struct agent_state *state, char *text, uint64_t *period_us, char *reply,
		      size_t len)
{
	struct mb_proto_line line;
	struct stats_report stats;
	const char *value;
	uint64_t id, n;

	if (mb_proto_parse(text, &line))
		return fitted(record_err(reply, len, 0, "bad_line"), len);
	if (strcmp(line.type, "PING") && strcmp(line.type, "RATE") && strcmp(line.type, "PERIOD") &&
	    strcmp(line.type, "VERIFY") && strcmp(line.type, "STATS") && strcmp(line.type, "HELLO"))
		return fitted(record_err(reply, len, parse_id(&line, &id) ? 0 : id, "unknown_command"), len);
	if (parse_id(&line, &id))
		return fitted(record_err(reply, len, 0, "bad_id"), len);

	if (!strcmp(line.type, "PING"))
		return fitted(snprintf(reply, len, "PONG id=%" PRIu64 " gt=%" PRIu64 "\n", id, agent_now_us()),
			      len);

	if (!strcmp(line.type, "HELLO"))
		return fitted(record_hello(reply, len, id, state, *period_us), len);

	if (!strcmp(line.type, "RATE")) {
		value = argument(&line, 1);
		if (!value || agent_parse_rate(value, state->config.page_size, &n))
			return fitted(record_err(reply, len, id, "bad_rate"), len);
		state_request_rate(state, n);
		return fitted(snprintf(reply, len, "RATE id=%" PRIu64 " rate=%" PRIu64 "\n", id, n), len);
	}

	if (!strcmp(line.type, "PERIOD")) {
		value = argument(&line, 1);
		if (!value || agent_parse_period(value, &n))
			return fitted(record_err(reply, len, id, "bad_period"), len);
		*period_us = n;
		return fitted(snprintf(reply, len, "PERIOD id=%" PRIu64 " period_us=%" PRIu64 "\n", id, n), len);
	}

	if (!strcmp(line.type, "VERIFY")) {
		if (!state->have_working_set)
			return fitted(record_err(reply, len, id, "no_working_set"), len);
		if (state_request_verify(state, id))
			return fitted(record_err(reply, len, id, "verify_busy"), len);
		return 0;
	}

	/* STATS */
	state_stats(state, agent_now_us(), &stats);
	return fitted(snprintf(reply, len, "STATS id=%" PRIu64 " since_us=%" PRIu64 " written=%" PRIu64
			       " achieved=%" PRIu64 " rate=%" PRIu64 "\n", id, stats.since_us, stats.written,
			       stats.achieved, stats.rate), len);
}
