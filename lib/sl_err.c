/*
 * sl_err — one thread-local message buffer for lib/ failures (see sl_err.h).
 */
#include <stdio.h>
#include <string.h>

#include "sl_err.h"

static _Thread_local char errbuf[1024];

int sl_vseterr(const char *fmt, va_list ap)
{
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	return -1;
}

int sl_seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_vseterr(fmt, ap);
	va_end(ap);
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
