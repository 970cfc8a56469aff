/*
 * kpeak — the peak speed of sl's matrix kernels on cache-resident data: how many weights
 * per second a product consumes when memory is not the limit.
 *
 * For each weight type, a matrix whose share per thread fits in L2 is multiplied
 *   - by one token (matrix × vector, the generation path): weights/s and weight bytes/s;
 *   - by 64 tokens (matrix × matrix, the prompt path): multiply-adds/s, reported as
 *     "weights/s" per token so it compares with the generation figure.
 * "kernels <name>" first, then one line per measurement on stdout:
 *   kpeak <type> <threads> <tg|pp> <Gweights/s> <GB/s of weights>
 * Usage: kpeak [threads [type...]]   (default: 1 and the number of online cores, all types)
 * SL_KERNELS=name measures another kernel set than the best (sl_kernels.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "sl_kernels.h"
#include "sl_types.h"

/*
 * Best seconds per call over repeated runs of about 1 s in total: on a shared VM a core can
 * be taken away for a few hundred ms, and the best call is the one with both cores.
 */
static double time_matmul(sl_pool *pool, uint32_t type, const void *W, int rows, int cols,
			  const float *X, int nt, float *Y)
{
	double best = 1e30, t_end = now() + 1.0;
	sl_matmul(pool, type, W, rows, cols, X, nt, Y); /* warm up */
	do {
		double t0 = now();
		sl_matmul(pool, type, W, rows, cols, X, nt, Y);
		double dt = now() - t0;
		if (dt < best)
			best = dt;
	} while (now() < t_end);
	return best;
}

static void run(sl_pool *pool, uint32_t type)
{
	const int cols = 2048, nt = 64;
	size_t rb = sl_type_row_bytes(type, cols);
	/* 256 KiB of weights per thread: each thread's share stays in its L2 */
	int rows = (int)(256 * 1024 * (size_t)sl_pool_threads(pool) / rb);
	/* whole 64-row pool tasks, as many per thread: an uneven split understates the peak */
	int unit = 64 * sl_pool_threads(pool);
	rows = rows < unit ? unit : rows / unit * unit;
	unsigned char *W = malloc(rb * rows);
	float *X = malloc(sizeof(float) * cols * nt), *Y = malloc(sizeof(float) * rows * nt);
	srand(1);
	for (size_t i = 0; i < rb * rows; i++)
		W[i] = (unsigned char)rand();
	/*
	 * Float weights: values in [-0.5, 0.5], as a model has (random bytes would make f32
	 * subnormals, which the FPU handles slowly).  Quantized blocks stay random bytes: their
	 * f16 scales become normal floats (or inf/NaN, at full speed).
	 */
	for (size_t i = 0; i < (size_t)rows * cols && (type == SL_F32 || type == SL_F16 || type == SL_BF16); i++) {
		float v = (float)rand() / RAND_MAX - 0.5f;
		if (type == SL_F32)
			((float *)W)[i] = v;
		else if (type == SL_F16)
			((sl_f16 *)W)[i] = sl_f32_to_f16(v);
		else
			((sl_bf16 *)W)[i] = sl_f32_to_bf16(v);
	}
	for (int i = 0; i < cols * nt; i++)
		X[i] = (float)rand() / RAND_MAX - 0.5f;

	double w = (double)rows * cols;
	double tg = time_matmul(pool, type, W, rows, cols, X, 1, Y);
	printf("kpeak %s %d tg %.2f %.2f\n", sl_type_get(type)->name, sl_pool_threads(pool),
	       w / tg * 1e-9, rb * rows / tg * 1e-9);
	double pp = time_matmul(pool, type, W, rows, cols, X, nt, Y);
	printf("kpeak %s %d pp %.2f %.2f\n", sl_type_get(type)->name, sl_pool_threads(pool),
	       w * nt / pp * 1e-9, rb * rows * nt / pp * 1e-9);
	fflush(stdout);
	free(W), free(X), free(Y);
}

int main(int argc, char **argv)
{
	static const uint32_t types[] = {SL_Q4_0, SL_Q8_0, SL_Q4_K, SL_Q6_K, SL_F16, SL_BF16, SL_F32};
	int nth[2] = {1, 0}, n = 2;

	if (argc > 1) {
		nth[0] = atoi(argv[1]);
		n = 1;
	}
	for (int a = 2; a < argc; a++)
		if (sl_type_from_name(argv[a]) < 0) {
			fprintf(stderr, "kpeak: %s: not a type name\n", argv[a]);
			return 2;
		}
	printf("kernels %s\n", sl_kernels_name());
	for (int i = 0; i < n; i++) {
		sl_pool *pool = sl_pool_new(nth[i]);
		if (!pool)
			return 1;
		if (i == 1 && sl_pool_threads(pool) == 1) {
			sl_pool_free(pool);
			break;
		}
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			int want = argc <= 2;
			for (int a = 2; a < argc; a++)
				want |= sl_type_from_name(argv[a]) == (int)types[t];
			if (want)
				run(pool, types[t]);
		}
		sl_pool_free(pool);
	}
	return 0;
}
