/*
 * sl_err — how lib/ reports failure.
 *
 * lib/ never prints and never exits.  A function that fails returns -1 (or NULL) after
 * recording one message with sl_seterr(); the tool then prints it with the program name
 * (see sl_cli.h).  Messages name the file and what is wrong, without the program prefix:
 *     "m.gguf: bad magic (not a GGUF file)"
 * The buffer is thread-local, so worker threads cannot garble each other's message.
 */
#ifndef SL_ERR_H
#define SL_ERR_H

#include <stdarg.h>

#if defined(__GNUC__)
#define SL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SL_PRINTF(a, b)
#endif

/* Record a message (printf format).  Always returns -1, so `return sl_seterr(...)` reads well. */
int sl_seterr(const char *fmt, ...) SL_PRINTF(1, 2);
int sl_vseterr(const char *fmt, va_list ap);

/* Prefix the current message with "prefix: " (e.g. a file name added by an outer caller). */
int sl_preferr(const char *fmt, ...) SL_PRINTF(1, 2);

/* The last message recorded in this thread ("" if none). */
const char *sl_error(void);

#endif
