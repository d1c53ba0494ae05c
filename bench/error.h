/* Errors are passed up, not printed: each layer says who failed, what it was
 * doing and why (errno text), and the caller decides whether to report. */
#ifndef MB_ERROR_H
#define MB_ERROR_H

#include <stddef.h>

#define MB_ERR_MAX 1024

struct mb_err {
	int errnum;             /* errno of the root cause, 0 when none */
	char msg[MB_ERR_MAX];   /* "outer context: inner context: cause" */
};

/* Sets the message (printf-style); appends strerror(errnum) when errnum != 0.
 * Always returns -1 so callers can write `return mb_errf(...)`. */
int mb_errf(struct mb_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes context to an existing message ("context: old message").
 * Returns -1. */
int mb_err_prefix(struct mb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void mb_err_clear(struct mb_err *err);

#endif
