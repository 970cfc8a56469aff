/*
 * wasmk — the speed of each kernel set in sl_kset_all() on the products a model makes, for
 * comparing the wasm SIMD128 set with the reference under node (bench/wasm-kernels.sh; it
 * builds natively too).  Weights are random blocks with finite scales; sizes are SmolLM-
 * 1.7B's (2048×2048 attention, 8192×2048 FFN: the latter does not fit in cache, so its one-
 * token figure is also a memory figure).  One line per measurement on stdout:
 *   wasmk <set> <type> <rows>x<cols> <tokens> <threads> <G weights/s>
 * (weights/s counts each weight once per token: rows·cols·tokens / seconds).
 * Usage: wasmk [threads [seconds [type...]]]   (default 1 thread, 0.5 s per figure, best
 * call, the four types); SL_KERNELS=name measures that set alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_kernels.h"
#include "sl_kernels_impl.h"
#include "sl_types.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* random bytes, then the block scales set to small normal halves */
static void fill(uint32_t type, uint8_t *w, int rows, int cols)
{
	size_t rb = sl_type_row_bytes(type, (uint64_t)cols);
	const sl_type_info *ti = sl_type_get(type);
	for (size_t i = 0; i < rb * rows; i++)
		w[i] = (uint8_t)rnd();
	size_t nb = rb * rows / ti->bytes;
	for (size_t b = 0; b < nb; b++) {
		uint8_t *blk = w + b * ti->bytes;
		sl_f16 d = sl_f32_to_f16(0.001f + (float)(rnd() % 1000) * 1e-5f);
		switch (type) {
		case SL_Q4_0: case SL_Q8_0: memcpy(blk, &d, 2); break;
		case SL_Q4_K: memcpy(blk, &d, 2), memcpy(blk + 2, &d, 2); break;
		case SL_Q6_K: memcpy(blk + 208, &d, 2); break;
		}
	}
}

int main(int argc, char **argv)
{
	static const uint32_t types[] = {SL_Q4_0, SL_Q8_0, SL_Q4_K, SL_Q6_K};
	static const int shapes[][2] = {{2048, 2048}, {8192, 2048}};
	static const int toks[] = {1, 32};
	int nth = argc > 1 ? atoi(argv[1]) : 1;
	double secs = argc > 2 ? atof(argv[2]) : 0.5;
	sl_pool *pool = sl_pool_new(nth);
	const sl_kset *const *all = sl_kset_all();
	const char *only = getenv("SL_KERNELS");

	if (!pool)
		return 1;
	for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++)
		for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
			uint32_t type = types[ti];
			int want = argc <= 3;
			for (int a = 3; a < argc; a++)
				want |= sl_type_from_name(argv[a]) == (int)type;
			if (!want)
				continue;
			int rows = shapes[si][0], cols = shapes[si][1];
			size_t rb = sl_type_row_bytes(type, (uint64_t)cols);
			uint8_t *W = malloc(rb * rows);
			float *X = malloc(sizeof(float) * cols * 32), *Y = malloc(sizeof(float) * rows * 32);
			if (!W || !X || !Y)
				return 1;
			fill(type, W, rows, cols);
			for (int i = 0; i < cols * 32; i++)
				X[i] = (float)(rnd() % 2001) / 1000.f - 1.f;
			for (size_t k = 0; k < sizeof(toks) / sizeof(toks[0]); k++)
				for (int s = 0; all[s]; s++) {
					int nt = toks[k];
					if (only && strcmp(only, all[s]->name) != 0)
						continue;
					double best = 1e30, end;
					sl_matmul_kset(all[s], pool, type, W, rows, cols, X, nt, Y);
					end = now() + secs;
					do {
						double t0 = now();
						sl_matmul_kset(all[s], pool, type, W, rows, cols, X, nt, Y);
						double dt = now() - t0;
						best = dt < best ? dt : best;
					} while (now() < end);
					printf("wasmk %s %s %dx%d %d %d %.2f\n", all[s]->name, sl_type_get(type)->name,
					       rows, cols, nt, sl_pool_threads(pool),
					       (double)rows * cols * nt / best * 1e-9);
					fflush(stdout);
				}
			free(W), free(X), free(Y);
		}
	sl_pool_free(pool);
	return 0;
}
