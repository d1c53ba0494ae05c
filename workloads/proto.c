#include "workloads/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mb_proto_parse(char *buf, struct mb_proto_line *line)
{
	char *save = NULL, *tok;

	memset(line, 0, sizeof(*line));
	tok = strtok_r(buf, " \t\r", &save);
	if (!tok)
		return -1;
	line->type = tok;
	while ((tok = strtok_r(NULL, " \t\r", &save))) {
		char *eq = strchr(tok, '=');

		if (line->nfields == MB_PROTO_MAX_FIELDS)
			return -1;
		if (eq) {
			*eq = '\0';
			line->fields[line->nfields].value = eq + 1;
		} else {
			line->fields[line->nfields].value = "";
		}
		line->fields[line->nfields++].key = tok;
	}
	return 0;
}

const char *mb_proto_get(const struct mb_proto_line *line, const char *key)
{
	for (size_t i = 0; i < line->nfields; i++)
		if (!strcmp(line->fields[i].key, key))
			return line->fields[i].value;
	return NULL;
}

int mb_proto_get_u64(const struct mb_proto_line *line, const char *key, uint64_t *out)
{
	const char *v = mb_proto_get(line, key);
	char *end;
	unsigned long long n;

	if (!v || !*v || *v == '-')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end)
		return -1;
	*out = n;
	return 0;
}
