/*
 * sl_err — one thread-local message, code and errno for lib/ failures (see sl_err.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sl_err.h"

static _Thread_local char errbuf[1024];
static _Thread_local int errcode, errnum_saved;

static int vset(int code, int errnum, const char *fmt, va_list ap)
{
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	errcode = code;
	errnum_saved = errnum;
	return -1;
}

int sl_vseterr(const char *fmt, va_list ap)
{
	return vset(SL_E_FORMAT, 0, fmt, ap);
}

int sl_seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(SL_E_FORMAT, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int sl_seterr_code(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int sl_seterr_sys(int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vset(errnum == ENOMEM ? SL_E_NOMEM : SL_E_IO, errnum, fmt, ap);
	va_end(ap);
	n = strlen(errbuf);
	snprintf(errbuf + n, sizeof errbuf - n, ": %s", strerror(errnum));
	return -1;
}

int sl_preferr(const char *fmt, ...)
{
	char old[sizeof errbuf], pre[512];
	va_list ap;

	memcpy(old, errbuf, sizeof old);
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	snprintf(errbuf, sizeof errbuf, "%s: %s", pre, old);
	return -1;
}

const char *sl_error(void)
{
	return errbuf;
}

int sl_errcode(void)
{
	return errcode;
}

int sl_errno(void)
{
	return errnum_saved;
}
