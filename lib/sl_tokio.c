/*
 * sl_tokio — token stream reader and writer (sl_tokio.h, sl-tokens(5)).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_tokio.h"

void sl_tokin_init(sl_tokin *r, FILE *fp, const char *name)
{
	r->fp = fp;
	r->name = name;
	r->line = 1;
	r->col = 1;
	r->tok_line = r->tok_col = 0;
}

static int getc_pos(sl_tokin *r)
{
	int c = getc(r->fp);

	if (c == '\n') {
		r->line++;
		r->col = 1;
	} else if (c != EOF) {
		r->col++;
	}
	return c;
}

/* Printable copy of a bad token for the message: at most 32 bytes, control bytes escaped. */
static void show(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
		else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

int sl_tokin_next(sl_tokin *r, int32_t *id)
{
	char buf[40], shown[160];
	size_t n = 0, total = 0;
	int c, ok = 1;
	int64_t v = 0;

	do
		c = getc_pos(r);
	while (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f');
	if (c == EOF) {
		if (ferror(r->fp))
			return sl_seterr_sys(errno ? errno : EIO, "%s", r->name);
		return 0;
	}
	r->tok_line = r->line;
	r->tok_col = r->col - 1;
	for (; c != EOF && !isspace(c); c = getc_pos(r)) {
		if (n < sizeof buf - 1)
			buf[n++] = (char)c;
		total++;
		if (c < '0' || c > '9')
			ok = 0;
		else if (ok && (v = v * 10 + (c - '0')) > SL_TOKEN_MAX)
			ok = 0;
	}
	/* The white space that ended the token is consumed here; getc_pos already counted it
	 * (pushing a newline back would count its line twice). */
	buf[n] = '\0';
	if (!ok) {
		show(shown, sizeof shown, buf, n);
		if (total > n)
			return sl_seterr("%s:%llu:%llu: '%s...' is not a token id", r->name,
					 (unsigned long long)r->tok_line, (unsigned long long)r->tok_col, shown);
		if (v > SL_TOKEN_MAX && strspn(buf, "0123456789") == n)
			return sl_seterr("%s:%llu:%llu: '%s' is out of range", r->name,
					 (unsigned long long)r->tok_line, (unsigned long long)r->tok_col, shown);
		return sl_seterr("%s:%llu:%llu: '%s' is not a token id", r->name,
				 (unsigned long long)r->tok_line, (unsigned long long)r->tok_col, shown);
	}
	*id = (int32_t)v;
	return 1;
}

int sl_tokin_read_all(sl_tokin *r, int64_t vocab, int32_t **ids, size_t *n)
{
	size_t cap = 256, len = 0;
	int32_t *a = malloc(cap * sizeof *a), id;
	int rc;

	if (!a)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	while ((rc = sl_tokin_next(r, &id)) == 1) {
		if (vocab > 0 && id >= vocab) {
			free(a);
			return sl_seterr("%s:%llu:%llu: id %d >= vocab %lld", r->name,
					 (unsigned long long)r->tok_line, (unsigned long long)r->tok_col,
					 (int)id, (long long)vocab);
		}
		if (len == cap) {
			int32_t *b = realloc(a, 2 * cap * sizeof *a);
			if (!b) {
				free(a);
				return sl_seterr_code(SL_E_NOMEM, "out of memory");
			}
			a = b;
			cap *= 2;
		}
		a[len++] = id;
	}
	if (rc < 0) {
		free(a);
		return -1;
	}
	*ids = a;
	*n = len;
	return 0;
}

int sl_tokout(FILE *fp, int32_t id, int flush)
{
	/* Formatted by hand: fprintf was a quarter of sl-tok's time. */
	char b[16];
	int n = (int)sizeof b;
	uint32_t v = id < 0 ? 0u - (uint32_t)id : (uint32_t)id;

	b[--n] = '\n';
	do
		b[--n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if (id < 0)
		b[--n] = '-';
	if (fwrite(b + n, 1, sizeof b - (size_t)n, fp) != sizeof b - (size_t)n || (flush && fflush(fp) != 0))
		return sl_seterr_sys(errno ? errno : EIO, "stdout");
	return 0;
}
