/*
 * sl_types — the tensor element types of GGUF (ggml's numbering), their block layouts, and
 * conversion of rows back to float.
 *
 * A "row" is a run of values along dims[0], the contiguous axis; quantized types store it as
 * blocks of BLCK values.  Layouts follow ggml exactly so files interoperate with llama.cpp
 * (see ../shared/FORMATS.md).  Quantizers live in sl_quant.c, dot products in sl_kernels.c.
 */
#ifndef SL_TYPES_H
#define SL_TYPES_H

#include <stddef.h>
#include <stdint.h>

enum sl_type {
	SL_F32 = 0, SL_F16 = 1, SL_Q4_0 = 2, SL_Q4_1 = 3, SL_Q5_0 = 6, SL_Q5_1 = 7,
	SL_Q8_0 = 8, SL_Q8_1 = 9, SL_Q2_K = 10, SL_Q3_K = 11, SL_Q4_K = 12, SL_Q5_K = 13,
	SL_Q6_K = 14, SL_Q8_K = 15, SL_I8 = 24, SL_I16 = 25, SL_I32 = 26, SL_I64 = 27,
	SL_F64 = 28, SL_BF16 = 30,
	SL_TYPE_COUNT = 40
};

typedef uint16_t sl_f16;  /* IEEE binary16 bits */
typedef uint16_t sl_bf16; /* upper half of a binary32 */

#define SL_QK8_0 32
#define SL_QK4_0 32
#define SL_QK_K 256

/* Q8_0: x = d * qs[i] */
typedef struct {
	sl_f16 d;
	int8_t qs[SL_QK8_0];
} sl_block_q8_0;
_Static_assert(sizeof(sl_block_q8_0) == 34, "Q8_0 block is 34 bytes");

/* Q4_0: value j = low nibble of qs[j], value j+16 = high nibble; x = (q - 8) * d */
typedef struct {
	sl_f16 d;
	uint8_t qs[SL_QK4_0 / 2];
} sl_block_q4_0;
_Static_assert(sizeof(sl_block_q4_0) == 18, "Q4_0 block is 18 bytes");

/* Q4_K: 8 sub-blocks of 32 with 6-bit scales/mins packed in sc[12]; x = d*s*q - dmin*m */
typedef struct {
	sl_f16 d;
	sl_f16 dmin;
	uint8_t scales[12];
	uint8_t qs[SL_QK_K / 2];
} sl_block_q4_K;
_Static_assert(sizeof(sl_block_q4_K) == 144, "Q4_K block is 144 bytes");

/*
 * The 6-bit scales and mins of a Q4_K block's 8 sub-blocks, unpacked from its scales[12]
 * (FORMATS.md) — the one decoder of this packing: dequantization, quantization and every
 * kernel set use it.  sl_q4_K_scales4 gives them four to a uint32 (byte i of out[k], from
 * the low end, is value 4k+i): scales 0-3, scales 4-7, mins 0-3, mins 4-7, so that SIMD
 * kernels can move them into a register without a trip through memory (byte stores read
 * back as one wide load stall the store forwarding).  sl_q4_K_scales: out[j] = scale of
 * sub-block j, out[8 + j] = its min.  Inline: kernels call it once per block.
 */
static inline void sl_q4_K_scales4(const uint8_t *sc, uint32_t out[4])
{
	uint32_t a = sc[0] | (uint32_t)sc[1] << 8 | (uint32_t)sc[2] << 16 | (uint32_t)sc[3] << 24;
	uint32_t b = sc[4] | (uint32_t)sc[5] << 8 | (uint32_t)sc[6] << 16 | (uint32_t)sc[7] << 24;
	uint32_t c = sc[8] | (uint32_t)sc[9] << 8 | (uint32_t)sc[10] << 16 | (uint32_t)sc[11] << 24;
	const uint32_t k6 = 0x3f3f3f3f, k4 = 0x0f0f0f0f, k2 = 0x03030303;
	out[0] = a & k6;                                    /* low 6 bits of bytes 0-3 */
	out[1] = (c & k4) | (((a >> 6) & k2) << 4);         /* low nibbles 8-11, top bits of 0-3 */
	out[2] = b & k6;                                    /* low 6 bits of bytes 4-7 */
	out[3] = ((c >> 4) & k4) | (((b >> 6) & k2) << 4);  /* high nibbles 8-11, top bits of 4-7 */
}

static inline void sl_q4_K_scales(const uint8_t *sc, uint8_t out[16])
{
	uint32_t u[4];
	sl_q4_K_scales4(sc, u);
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)(u[i / 4] >> 8 * (i % 4));
}

/* Q6_K: 6-bit quants split into ql (low 4) and qh (high 2), 16 int8 scales; x = d*sc*(q-32) */
typedef struct {
	uint8_t ql[SL_QK_K / 2];
	uint8_t qh[SL_QK_K / 4];
	int8_t scales[SL_QK_K / 16];
	sl_f16 d;
} sl_block_q6_K;
_Static_assert(sizeof(sl_block_q6_K) == 210, "Q6_K block is 210 bytes");

/*
 * Q3_K: 16 sub-blocks of 16 with signed 6-bit scales (stored + 32) packed in scales[12];
 * 3-bit quants as 2 low bits in qs and the high bit in hmask.  Value v (0..255): h = v/128,
 * j = v%128/32, l = v%32; low bits (qs[32h+l] >> 2j) & 3, high bit (hmask[l] >> (4h+j)) & 1;
 * x = d·s_{v/16}·(q − 4 if the high bit is clear, else q).  Scale s (0..15): low 4 bits are
 * scales[s] & 15 (s < 8) or scales[s−8] >> 4, high 2 bits (scales[8 + s%4] >> 2·(s/4)) & 3.
 */
typedef struct {
	uint8_t hmask[SL_QK_K / 8];
	uint8_t qs[SL_QK_K / 4];
	uint8_t scales[12];
	sl_f16 d;
} sl_block_q3_K;
_Static_assert(sizeof(sl_block_q3_K) == 110, "Q3_K block is 110 bytes");

/*
 * The 16 signed scales (−32..31) of a Q3_K block, unpacked from its scales[12] — the one
 * decoder of this packing (dequantization, quantization, every kernel set).  Four at a
 * time through uint32s: bytes 0-3 and 4-7 give the low nibbles (scales 0-7) and high ones
 * (8-15), bytes 8-11 the top two bits at shifts 0, 2, 4, 6 for scales 0-3, 4-7, 8-11, 12-15.
 * sl_q3_K_scales4 leaves them stored (+32, 0..63), byte i of out[k] = scale 4k+i, for SIMD
 * kernels to move into a register without a trip through memory (as sl_q4_K_scales4).
 */
static inline void sl_q3_K_scales4(const uint8_t *sc, uint32_t out[4])
{
	uint32_t a = sc[0] | (uint32_t)sc[1] << 8 | (uint32_t)sc[2] << 16 | (uint32_t)sc[3] << 24;
	uint32_t b = sc[4] | (uint32_t)sc[5] << 8 | (uint32_t)sc[6] << 16 | (uint32_t)sc[7] << 24;
	uint32_t c = sc[8] | (uint32_t)sc[9] << 8 | (uint32_t)sc[10] << 16 | (uint32_t)sc[11] << 24;
	const uint32_t k4 = 0x0f0f0f0f, k2 = 0x03030303;
	out[0] = (a & k4) | (c & k2) << 4;
	out[1] = (b & k4) | ((c >> 2) & k2) << 4;
	out[2] = ((a >> 4) & k4) | ((c >> 4) & k2) << 4;
	out[3] = ((b >> 4) & k4) | ((c >> 6) & k2) << 4;
}

static inline void sl_q3_K_scales(const uint8_t *sc, int8_t out[16])
{
	uint32_t u[4];
	sl_q3_K_scales4(sc, u);
	for (int i = 0; i < 16; i++)
		out[i] = (int8_t)((int)((u[i / 4] >> 8 * (i % 4)) & 63) - 32);
}

/*
 * Q2_K: 16 sub-blocks of 16, each with a 4-bit scale (low nibble of scales[s]) and 4-bit min
 * (high nibble); 2-bit quants in qs with the bit order of Q3_K's low bits;
 * x = d·sc·q − dmin·m.
 */
typedef struct {
	uint8_t scales[SL_QK_K / 16];
	uint8_t qs[SL_QK_K / 4];
	sl_f16 d;
	sl_f16 dmin;
} sl_block_q2_K;
_Static_assert(sizeof(sl_block_q2_K) == 84, "Q2_K block is 84 bytes");

/* Q8_K: the activation format for K-quant dot products (never stored in files by us). */
typedef struct {
	float d;
	int8_t qs[SL_QK_K];
	int16_t bsums[SL_QK_K / 16]; /* sums of each group of 16 qs */
} sl_block_q8_K;
_Static_assert(sizeof(sl_block_q8_K) == 292, "Q8_K block is 292 bytes");

typedef struct {
	const char *name;   /* "q4_0", as sl-quant -t spells it; NULL for unknown ids */
	uint32_t blck;      /* values per block (1 for plain types) */
	uint32_t bytes;     /* bytes per block */
	int supported;      /* 1 if sl can read (dequantize) it */
} sl_type_info;

/* Info for a type id; NULL if the id is unknown to ggml. */
const sl_type_info *sl_type_get(uint32_t type);
/* Type id from its name ("q8_0", case-insensitive), or -1. */
int sl_type_from_name(const char *name);

/*
 * Bytes of a row of n values: n must be a multiple of the block size.  Returns 0 and sets
 * sl_error if it is not (or the type is unknown).
 */
size_t sl_type_row_bytes(uint32_t type, uint64_t n);

/*
 * Bytes of a tensor with ne[0..n_dims-1]; 0 with sl_error on a ragged row, an unknown
 * type or overflow past 2^62.
 */
uint64_t sl_type_nbytes(uint32_t type, const uint64_t *ne, uint32_t n_dims);

/* Half-precision conversions (round to nearest even; NaN kept NaN). */
float sl_f16_to_f32(sl_f16 h);
sl_f16 sl_f32_to_f16(float f);
float sl_bf16_to_f32(sl_bf16 h);
sl_bf16 sl_f32_to_bf16(float f);

/*
 * Reference dequantization: n values of `type` at src into dst (n a multiple of the block).
 * Returns 0, or -1 for a type it cannot read.  The plain spec of every layout.
 */
int sl_dequant_row(uint32_t type, const void *src, float *dst, uint64_t n);


#endif
