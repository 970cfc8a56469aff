/*
 * fuzz_safetensors.c — safetensors (sl_safetensors).  An input starting with '{' is a
 * model.safetensors.index.json over two small shards written at start-up; anything else is
 * one safetensors file, parsed from memory, and every tensor of it converted to float.
 */
#include "fuzz.h"
#include "sl_safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A shard holding tensors NAME0 and NAME1 of 2 F32 values each. */
static void shard(const char *file, const char *a, const char *b)
{
	char hdr[256], buf[512];
	int n = snprintf(hdr, sizeof hdr,
			 "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
			 "\"%s\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]}}", a, b);
	uint64_t len = (uint64_t)n;
	memcpy(buf, &len, 8);
	memcpy(buf + 8, hdr, n);
	memset(buf + 8 + n, 0x3c, 12);
	if (!fuzz_write(file, buf, 8 + n + 12))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	sl_safetensors st;

	if (!init) {
		init = 1;
		shard("model-00001-of-00002.safetensors", "a.weight", "b.weight");
		shard("model-00002-of-00002.safetensors", "c.weight", "d.weight");
	}
	if (size && data[0] == '{') {
		if (!fuzz_write("model.safetensors.index.json", data, size))
			return 0;
		memset(&st, 0, sizeof st);
		sl_st_open(&st, fuzz_dir());
		sl_st_close(&st);
		return 0;
	}
	/* A copy, so that reading past the end is caught even where libFuzzer's buffer is not. */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	memset(&st, 0, sizeof st);
	if (sl_st_parse(&st, copy, size, "fuzz.safetensors") == 0) {
		float f[64];
		for (uint64_t i = 0; i < st.n_tensors; i++) {
			const sl_st_tensor *t = &st.tensors[i];
			sl_st_find(&st, t->name);
			for (uint64_t j = 0; j < t->n_elems && j < 4096; j += 64)
				sl_st_read_f32(t, j, t->n_elems - j < 64 ? t->n_elems - j : 64, f);
			sl_st_read_f32(t, t->n_elems, 1, f); /* past the end: an error */
		}
	}
	sl_st_close(&st);
	free(copy);
	return 0;
}
