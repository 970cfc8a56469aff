/*
 * sl_kernels — matrix products with weights in any supported type (first cut: dequantize
 * each row to float, then dot products; the quantized kernels replace this).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sl_kernels.h"
#include "sl_types.h"

#define ROWS_PER_TASK 16

void sl_matmul_ref(uint32_t type, const void *W, int rows, int cols,
		   const float *X, int n_tok, float *Y)
{
	size_t rb = sl_type_row_bytes(type, (uint64_t)cols);
	float *w = malloc((size_t)cols * sizeof(float));

	for (int r = 0; r < rows; r++) {
		int ok = w && rb && sl_dequant_row(type, (const char *)W + (size_t)r * rb, w, (uint64_t)cols) == 0;
		for (int t = 0; t < n_tok; t++) {
			double s = 0;
			for (int k = 0; k < cols; k++)
				s += (double)w[k] * X[(size_t)t * cols + k];
			Y[(size_t)t * rows + r] = ok ? (float)s : NAN;
		}
	}
	free(w);
}

typedef struct {
	uint32_t type;
	const void *W;
	size_t rb;
	int rows, cols, n_tok;
	const float *X;
	float *Y;
} mm_job;

static void mm_task(void *arg, int task, int n_tasks)
{
	const mm_job *j = arg;
	int r0 = task * ROWS_PER_TASK, r1 = r0 + ROWS_PER_TASK;
	float *w = malloc((size_t)j->cols * sizeof(float));
	(void)n_tasks;
	if (r1 > j->rows)
		r1 = j->rows;
	for (int r = r0; r < r1; r++) {
		int ok = w && sl_dequant_row(j->type, (const char *)j->W + (size_t)r * j->rb, w, (uint64_t)j->cols) == 0;
		for (int t = 0; t < j->n_tok; t++) {
			const float *x = j->X + (size_t)t * j->cols;
			float s = 0;
			for (int k = 0; k < j->cols; k++)
				s += w[k] * x[k];
			j->Y[(size_t)t * j->rows + r] = ok ? s : NAN;
		}
	}
	free(w);
}

void sl_matmul(sl_pool *pool, uint32_t type, const void *W, int rows, int cols,
	       const float *X, int n_tok, float *Y)
{
	mm_job j = {type, W, sl_type_row_bytes(type, (uint64_t)cols), rows, cols, n_tok, X, Y};
	sl_pool_run(pool, (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, mm_task, &j);
}

const char *sl_kernels_name(void)
{
	return "ref";
}
