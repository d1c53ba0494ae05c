/* What the libFuzzer targets in tests/fuzz/ share. A target's own failure
 * (out of memory, a broken promise of the code under test) aborts with a
 * message naming the target, so libFuzzer saves the input as a crash. */
#ifndef MB_TESTS_FUZZ_H
#define MB_TESTS_FUZZ_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/error.h"

__attribute__((format(printf, 2, 3), noreturn))
static inline void fuzz_bug(const char *target, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz target %s: ", target);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* The input as a NUL-terminated string (cut at its first NUL byte, as a C
 * string reader would be). */
static inline char *fuzz_text(const char *target, const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		fuzz_bug(target, "no memory for a %zu-byte input", size);
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

/* An error the code under test reported must say what went wrong. */
static inline void fuzz_check_error(const char *target, const char *what, const struct mb_err *err)
{
	if (!memchr(err->msg, '\0', sizeof(err->msg)))
		fuzz_bug(target, "%s left an unterminated error message", what);
	if (!err->msg[0])
		fuzz_bug(target, "%s failed without an error message", what);
}

#endif
