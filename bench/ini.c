#include "config.h"
#include "bench/ini.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* A comment starts at '#' or ';' at the start of the line or after
 * whitespace, so `rate=16M  # modest` loses its remark while a value such as
 * `a#b` keeps its '#'. */
static void strip_comment(char *s)
{
	for (char *p = s; *p; p++) {
		if ((*p == '#' || *p == ';') && (p == s || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

static int read_header(char *s, unsigned line, const struct mb_ini_handler *handler,
		       void *ctx, struct mb_err *err)
{
	char *close = strchr(s, ']'), *rest, *name;

	if (!close)
		return mb_errf(err, 0, "section header '%s' lacks the closing ']'", s);
	*close = '\0';
	name = trim(s + 1);
	rest = trim(close + 1);
	if (*rest)
		return mb_errf(err, 0, "unexpected '%s' after section header '[%s]'", rest, name);
	if (!*name)
		return mb_errf(err, 0, "empty section name '[]'");
	return handler->section(ctx, name, line, err);
}

static int read_pair(char *s, unsigned line, const struct mb_ini_handler *handler,
		     void *ctx, struct mb_err *err)
{
	char *eq = strchr(s, '='), *key, *value;

	if (!eq)
		return mb_errf(err, 0, "'%s' is not key=value (missing '=')", s);
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (!*key)
		return mb_errf(err, 0, "missing key before '=%s'", value);
	return handler->pair(ctx, key, value, line, err);
}

/* One line, without its '\n'; modified in place. */
static int read_line(char *buf, const char *name, unsigned line,
		     const struct mb_ini_handler *handler, void *ctx, struct mb_err *err)
{
	char *s;
	int rc;

	/* Editors on some systems start UTF-8 files with a byte-order mark. */
	if (line == 1 && !strncmp(buf, "\xEF\xBB\xBF", 3))
		buf += 3;
	strip_comment(buf);
	s = trim(buf);
	if (!*s)
		return 0;
	rc = *s == '[' ? read_header(s, line, handler, ctx, err)
		       : read_pair(s, line, handler, ctx, err);
	if (rc)
		return mb_err_prefix(err, "%s:%u", name, line);
	return 0;
}

int mb_ini_read_file(const char *path, const struct mb_ini_handler *handler,
		     void *ctx, struct mb_err *err)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	unsigned line = 0;
	int rc = 0;

	if (!f)
		return mb_errf(err, errno, "cannot open '%s'", path);
	while (getline(&buf, &cap, f) >= 0) {
		buf[strcspn(buf, "\n")] = '\0';
		rc = read_line(buf, path, ++line, handler, ctx, err);
		if (rc)
			break;
	}
	if (!rc && ferror(f))
		rc = mb_errf(err, errno, "cannot read '%s'", path);
	free(buf);
	fclose(f);
	return rc;
}

int mb_ini_read_string(const char *name, const char *text,
		       const struct mb_ini_handler *handler, void *ctx,
		       struct mb_err *err)
{
	unsigned line = 0;

	while (*text) {
		size_t len = strcspn(text, "\n");
		char *buf = strndup(text, len);
		int rc;

		if (!buf)
			return mb_errf(err, ENOMEM, "%s: reading", name);
		rc = read_line(buf, name, ++line, handler, ctx, err);
		free(buf);
		if (rc)
			return rc;
		text += len;
		if (*text == '\n')
			text++;
	}
	return 0;
}
