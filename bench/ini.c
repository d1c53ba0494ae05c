#include "config.h"
#include "bench/ini.h"
#include "bench/units.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
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

/* Checks the limits on `text` (its first `n` bytes; `more` when the file
 * goes on past them) before anything is parsed, so that a file that is not a
 * scenario gets one plain message instead of a parse error in its middle. */
static int check_limits(const char *name, const char *text, size_t n, bool more,
			struct mb_err *err)
{
	unsigned line = 1;
	char limit[32];

	for (size_t at = 0; at < n; line++) {
		const char *nl = memchr(text + at, '\n', n - at);
		size_t len = (nl ? (size_t)(nl - text) : n) - at;

		if (len > MB_INI_LINE_MAX)
			return mb_errf(err, 0, "%s:%u: line longer than %d bytes: not a scenario file",
				       name, line, MB_INI_LINE_MAX);
		if (memchr(text + at, '\0', len))
			return mb_errf(err, 0, "%s:%u: NUL byte: not a text file", name, line);
		if (!nl)
			break;
		at += len + 1;
	}
	if (more) {
		mb_format_size(MB_INI_FILE_MAX, limit, sizeof(limit));
		return mb_errf(err, 0, "%s:%u: the file goes on past %s, more than a scenario "
			       "file may hold", name, line, limit);
	}
	return 0;
}

/* `text` is NUL-terminated and holds no other NUL. */
static int read_lines(const char *name, const char *text, const struct mb_ini_handler *handler,
		      void *ctx, struct mb_err *err)
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

int mb_ini_load(const char *path, char **out, struct mb_err *err)
{
	FILE *f = fopen(path, "r");
	char *text;
	size_t n;
	int rc;

	*out = NULL;
	if (!f)
		return mb_errf(err, errno, "cannot open '%s'", path);
	/* One byte more than the limit tells a file at the limit from a longer one. */
	text = malloc(MB_INI_FILE_MAX + 2);
	if (!text) {
		fclose(f);
		return mb_errf(err, ENOMEM, "reading '%s'", path);
	}
	n = fread(text, 1, MB_INI_FILE_MAX + 1, f);
	if (ferror(f)) {
		rc = mb_errf(err, errno, "cannot read '%s'", path);
	} else {
		text[n] = '\0';
		rc = check_limits(path, text, n > MB_INI_FILE_MAX ? MB_INI_FILE_MAX : n,
				  n > MB_INI_FILE_MAX, err);
	}
	fclose(f);
	if (rc)
		free(text);
	else
		*out = text;
	return rc;
}

int mb_ini_read_file(const char *path, const struct mb_ini_handler *handler,
		     void *ctx, struct mb_err *err)
{
	char *text;
	int rc;

	if (mb_ini_load(path, &text, err))
		return -1;
	rc = read_lines(path, text, handler, ctx, err);
	free(text);
	return rc;
}

int mb_ini_read_string(const char *name, const char *text,
		       const struct mb_ini_handler *handler, void *ctx,
		       struct mb_err *err)
{
	size_t n = strnlen(text, MB_INI_FILE_MAX + 1);

	if (check_limits(name, text, n > MB_INI_FILE_MAX ? MB_INI_FILE_MAX : n,
			 n > MB_INI_FILE_MAX, err))
		return -1;
	return read_lines(name, text, handler, ctx, err);
}
