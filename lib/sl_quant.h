/*
 * sl_quant — reference quantizers: one row of floats into the GGUF block layouts of
 * sl_types.h, and the error statistics sl-quant --stats reports.
 *
 * These are the specification, in plain scalar C.  Q8_0 and Q4_0 reproduce ggml's
 * quantize_row_q8_0_ref / quantize_row_q4_0_ref bit for bit (tests/unit/test_quant.c checks
 * against blocks written by llama.cpp's llama-quantize).  Q4_K and Q6_K follow ggml's reference
 * algorithms (make_qkx2_quants: a weighted least-squares search for scale and min per sub-block
 * of 32; make_qx_quants: a search over 19 candidate scales per sub-block of 16), then quantize
 * the sub-block scales themselves to 6 or 8 bits against one f16 super-block scale.  Q3_K and
 * Q2_K are ggml's quantize_row_q3_K_ref / quantize_row_q2_K_ref, what llama-quantize writes
 * without an importance matrix: Q3_K fits a signed scale per sub-block of 16 (make_q3_quants:
 * coordinate descent on levels −4..3, weights x²) and stores it in 6 bits; Q2_K fits scale and
 * min per sub-block of 16 on levels 0..3 (make_qkx2_quants, weights |x|, absolute error) and
 * stores both in 4 bits.
 * Dequantization is sl_dequant_row() in sl_types.h.
 */
#ifndef SL_QUANT_H
#define SL_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "sl_types.h"

/* Each quantizes n values (a multiple of the block size) of x into blocks at y. */
void sl_quant_row_q8_0(const float *x, sl_block_q8_0 *y, uint64_t n);
void sl_quant_row_q4_0(const float *x, sl_block_q4_0 *y, uint64_t n);
void sl_quant_row_q4_K(const float *x, sl_block_q4_K *y, uint64_t n);
void sl_quant_row_q6_K(const float *x, sl_block_q6_K *y, uint64_t n);
void sl_quant_row_q3_K(const float *x, sl_block_q3_K *y, uint64_t n);
void sl_quant_row_q2_K(const float *x, sl_block_q2_K *y, uint64_t n);
void sl_quant_row_f16(const float *x, sl_f16 *y, uint64_t n);
void sl_quant_row_bf16(const float *x, sl_bf16 *y, uint64_t n);

/* 1 if sl_quant_row can write `type`. */
int sl_quant_supported(uint32_t type);

/*
 * Quantize a row of n values into dst (sl_type_row_bytes(type, n) bytes).  Returns the byte
 * count, or 0 with sl_error for a type it cannot write or a ragged row.
 */
size_t sl_quant_row(uint32_t type, const float *x, void *dst, uint64_t n);

/* Error of a quantized tensor against its source, accumulated row by row. */
typedef struct {
	uint64_t n;
	double sum_sq_err;   /* Σ (q − x)² */
	double sum_sq_ref;   /* Σ x² */
	double max_abs_err;  /* max |q − x| */
} sl_qstats;

void sl_qstats_add(sl_qstats *s, const float *ref, const float *got, uint64_t n);
double sl_qstats_rmse(const sl_qstats *s);
/* RMSE relative to the RMS of the source (0 for an all-zero source). */
double sl_qstats_rel(const sl_qstats *s);

#endif
