/* A small INI reader: `[section]` headers, `key=value` pairs, `#`/`;`
 * comments (whole-line, or after whitespace at the end of a line) and blank
 * lines. It knows nothing about what the sections and keys mean: it hands
 * each one to a callback, so the scenario parser owns the meaning and this
 * file owns only the syntax. */
#ifndef MB_INI_H
#define MB_INI_H

#include "bench/error.h"

/* A scenario file is text a person writes: anything longer is some other
 * file given by mistake (`migbench run /dev/zero` once read until memory ran
 * out). Both limits are far above any real scenario. */
#define MB_INI_FILE_MAX (1 << 20)       /* bytes */
#define MB_INI_LINE_MAX 16384           /* bytes, without the '\n' */

struct mb_ini_handler {
	/* A `[name]` header; `name` is trimmed and never empty. */
	int (*section)(void *ctx, const char *name, unsigned line, struct mb_err *err);
	/* A `key=value` line; both trimmed, `key` never empty, `value` may be. */
	int (*pair)(void *ctx, const char *key, const char *value, unsigned line,
		    struct mb_err *err);
};

/* Reads the file at `path`, calling the handler for each header and pair in
 * order. Syntax errors and errors from callbacks (which return -1 and fill
 * `err` with e.g. "key 'x': ...") come back as "path:line: message". A file
 * over MB_INI_FILE_MAX, a line over MB_INI_LINE_MAX or a NUL byte is refused
 * before any callback runs, naming the line where it is.
 * Returns 0 or -1. */
int mb_ini_read_file(const char *path, const struct mb_ini_handler *handler,
		     void *ctx, struct mb_err *err);

/* The whole file as a string (malloc'ed into *text), with the same limits
 * and NUL check: for keeping the very bytes that were parsed. */
int mb_ini_load(const char *path, char **text, struct mb_err *err);

/* The same for text in memory; `name` stands in for the file name in
 * messages. */
int mb_ini_read_string(const char *name, const char *text,
		       const struct mb_ini_handler *handler, void *ctx,
		       struct mb_err *err);

#endif
