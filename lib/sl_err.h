/*
 * sl_err — how lib/ reports failure.
 *
 * lib/ never prints and never exits.  A function that fails returns -1 (or NULL) after
 * recording one message and one code; the tool then prints the message with the program
 * name (cli/sl_cli.h).  Messages name the file and what is wrong, without the program prefix:
 *     "m.gguf: bad magic (not a GGUF file)"
 * Callers that must tell failures apart test the code, never the message: messages are for
 * people and may change.  The state is thread-local, so worker threads cannot garble each
 * other's message.
 */
#ifndef SL_ERR_H
#define SL_ERR_H

#include <stdarg.h>

#if defined(__GNUC__)
#define SL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SL_PRINTF(a, b)
#endif

/* What kind of failure the last message describes (sl_errcode). */
enum {
	SL_E_NONE = 0,     /* nothing recorded yet */
	SL_E_FORMAT,       /* the input is not what it should be (sl_seterr's code) */
	SL_E_IO,           /* a system call failed; sl_errno() says which errno */
	SL_E_NOMEM,        /* out of memory */
	SL_E_RANGE,        /* a number or size outside what sl (or the machine) can handle */
	SL_E_UNSUPPORTED,  /* valid, but not something sl implements (a dtype, an architecture) */
	SL_E_PENDING,      /* not yet: weights still arriving (a chunk a page has not fetched);
			      the same call succeeds once they are there (sl_session_next) */
};

/* Record a message (printf format) with code SL_E_FORMAT.  Always returns -1, so
 * `return sl_seterr(...)` reads well. */
int sl_seterr(const char *fmt, ...) SL_PRINTF(1, 2);
int sl_vseterr(const char *fmt, va_list ap);

/* The same with an explicit code. */
int sl_seterr_code(int code, const char *fmt, ...) SL_PRINTF(2, 3);

/*
 * A failed system call: records "<message>: strerror(errnum)" with code SL_E_NOMEM for
 * ENOMEM and SL_E_IO otherwise, and keeps errnum for sl_errno().  Returns -1.
 */
int sl_seterr_sys(int errnum, const char *fmt, ...) SL_PRINTF(2, 3);

/* Prefix the current message with "prefix: " (e.g. a file name added by an outer caller);
 * the code stays. */
int sl_preferr(const char *fmt, ...) SL_PRINTF(1, 2);

/* The last message recorded in this thread ("" if none), its code, and for SL_E_IO (or
 * SL_E_NOMEM from sl_seterr_sys) the errno value, else 0. */
const char *sl_error(void);
int sl_errcode(void);
int sl_errno(void);

#endif
