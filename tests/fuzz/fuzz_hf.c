/*
 * fuzz_hf.c — an HF directory's config.json (sl_hf): the input is config.json, beside
 * stories260K's tokenizer and weights; when the directory opens, its tensor list is built
 * and checked against the weights.
 */
#include "fuzz.h"
#include "sl_hf.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	sl_hf m;

	if (!init) {
		init = 1;
		if (fuzz_link("models/stories260K-hf/tokenizer.json", "tokenizer.json") ||
		    fuzz_link("models/stories260K-hf/tokenizer_config.json", "tokenizer_config.json") ||
		    fuzz_link("models/stories260K-hf/model.safetensors", "model.safetensors"))
			abort();
	}
	/* The first line of an input may be a generation_config.json ("#gen " + JSON). */
	const uint8_t *cfg = data;
	size_t n = size;
	remove(fuzz_path("generation_config.json"));
	if (size > 5 && memcmp(data, "#gen ", 5) == 0) {
		const uint8_t *nl = memchr(data, '\n', size);
		if (nl) {
			fuzz_write("generation_config.json", data + 5, (size_t)(nl - data) - 5);
			cfg = nl + 1;
			n = size - (size_t)(cfg - data);
		}
	}
	if (!fuzz_write("config.json", cfg, n))
		return 0;
	memset(&m, 0, sizeof m);
	if (sl_hf_open(&m, fuzz_dir()) == 0) {
		sl_hf_tensor *t = NULL;
		int k = sl_hf_tensors(&m, &t);
		float row[4096];
		for (int i = 0; i < k; i++)
			if (t[i].ne[0] <= 4096)
				sl_hf_read_row(&t[i], t[i].n_dims > 1 ? t[i].ne[1] - 1 : 0, row);
		free(t);
	}
	sl_hf_close(&m);
	return 0;
}
