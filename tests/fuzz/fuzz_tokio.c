/* fuzz_tokio.c — the token stream reader (sl_tokio): the input is a token stream. */
#include "fuzz.h"
#include "sl_tokio.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f;
	sl_tokin r;
	int32_t *ids = NULL, id;
	size_t n = 0;

	if (size == 0)
		return 0;
	/* Whole stream, with a vocabulary bound from the first byte (0: none). */
	if (!(f = fmemopen((void *)data, size, "rb")))
		return 0;
	sl_tokin_init(&r, f, "<fuzz>");
	if (sl_tokin_read_all(&r, data[0] % 4 ? (int64_t)data[0] * 1000 : 0, &ids, &n) == 0)
		free(ids);
	fclose(f);
	/* Id by id. */
	if (!(f = fmemopen((void *)data, size, "rb")))
		return 0;
	sl_tokin_init(&r, f, "<fuzz>");
	while (sl_tokin_next(&r, &id) == 1)
		;
	fclose(f);
	return 0;
}
