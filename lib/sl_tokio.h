/*
 * sl_tokio — the token stream, sl-tokens(5): decimal token ids separated by white space.
 *
 * Every tool between sl-tok and sl-detok speaks it.  Writers put one id per line and may
 * flush after each (so pipelines stream); readers accept any white space and reject anything
 * else with file:line:column and the offending text.
 */
#ifndef SL_TOKIO_H
#define SL_TOKIO_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
	FILE *fp;
	const char *name;     /* for messages: a path or "<stdin>" */
	uint64_t line, col;   /* position of the next byte, 1-based */
	uint64_t tok_line, tok_col; /* where the last id returned started */
} sl_tokin;

/* Largest id the reader accepts (ids are non-negative and fit in int32). */
#define SL_TOKEN_MAX 2147483647

void sl_tokin_init(sl_tokin *r, FILE *fp, const char *name);

/*
 * Read the next id.  Returns 1 and sets *id, 0 at end of input, -1 on error with
 * sl_error() = "name:line:col: 'text' is not a token id" (or a read error).
 */
int sl_tokin_next(sl_tokin *r, int32_t *id);

/*
 * Read all ids to EOF into a malloc'ed array (*ids, *n; caller frees).  If vocab > 0,
 * ids >= vocab are an error "name:line:col: id 99999 >= vocab 512".  Returns 0 or -1.
 */
int sl_tokin_read_all(sl_tokin *r, int64_t vocab, int32_t **ids, size_t *n);

/* Write one id and a newline; flush if asked.  Returns 0 or -1 (sl_error: "stdout: ..."). */
int sl_tokout(FILE *fp, int32_t id, int flush);

#endif
