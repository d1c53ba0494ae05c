#include "config.h"
#include "bench/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mb_errf(struct mb_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (errnum && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
	err->errnum = errnum;
	return -1;
}

int mb_err_prefix(struct mb_err *err, const char *fmt, ...)
{
	char ctx[MB_ERR_MAX], old[MB_ERR_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", ctx, old);
	return -1;
}

void mb_err_clear(struct mb_err *err)
{
	if (err) {
		err->errnum = 0;
		err->msg[0] = '\0';
	}
}
