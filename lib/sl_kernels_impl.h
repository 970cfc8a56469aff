/*
 * sl_kernels_impl.h — internal to sl_kernels*.c (and test_kernels.c): the interface every
 * kernel set (ref, avx2, ...) implements, so that sl_kernels.c can dispatch in one spot and
 * the tests can run each set against the reference.
 *
 * How a matrix product runs (sl_matmul):
 *   1. the activations X (n_tok rows of floats) are quantized once per call to 8-bit blocks
 *      in a layout private to the kernel set (Q8_0-like blocks of 32 for Q4_0/Q8_0 weights,
 *      Q8_K-like blocks of 256 for the K-quants, as llama.cpp does; float types use X as is);
 *   2. the rows of W are cut into fixed chunks (tasks of the thread pool); each task walks
 *      its chunk and all tokens in tiles of rows × tokens (sl_matmul.c, portable), calling
 *      the set's micro-kernels, which hold a tile in registers so each weight block, once
 *      unpacked, serves several tokens and each activation block several rows.
 * A set's micro-kernels compute each Y element with the same sequence of operations
 * whatever the tile it falls in, so results depend neither on the threads nor on the
 * chunking.  A new SIMD set is one file: its activation layout, quantizer, micro-kernels
 * and its sl_kset table.
 */
#ifndef SL_KERNELS_IMPL_H
#define SL_KERNELS_IMPL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_kernels.h"
#include "sl_pool.h"
#include "sl_types.h"

/*
 * A micro-kernel: Y[t*ldy + r] = row r of W · token t for r < R, t < T, with R and T fixed
 * per function.  Rows are ws bytes apart; tokens xs bytes apart in xq (the set's quantized
 * layout, or rows of floats for float weights); cols values per row.
 */
typedef void (*sl_tile_fn)(const char *W, size_t ws, int cols, const char *xq, size_t xs,
			   float *Y, size_t ldy);

#define SL_TILE_MAX_T 8

/*
 * A one-token product streams its rows from memory once: the x86 sets' tiles ask for the
 * bytes sl_prefetch_distance past each block as they reach it, which the hardware
 * prefetcher alone does not keep up with.  The distance is memory latency times how fast
 * one core consumes: on an idle host a core alone on Q4_0 or Q8_0 outruns 4 KiB, so the
 * default is 8 KiB; on a host whose cores run the kernels at half speed, 2 KiB was faster
 * (bench/NOTES.md).  The environment's SL_PREFETCH_AHEAD fixes it, read once at load time
 * (sl_kernels_prefetch_parse) while there is one thread; otherwise a session's first
 * one-token passes choose it (sl_prefetch_tuner), between passes.  Atomic, as sessions in
 * other threads may be tuning it; any value gives the same results, so relaxed (on x86 a
 * plain load, once a group: it cost nothing measurable).
 */
#define SL_PREFETCH_DEFAULT 8192
#define SL_PREFETCH_MAX (1 << 20)
extern _Atomic size_t sl_prefetch_distance;

/*
 * In a tile of T tokens: if T is 1, ask for the n bytes sl_prefetch_distance past p, a
 * request every `step` bytes (64: one a cache line; fewer bytes between them ask for a
 * line more than once, bench/NOTES.md).
 */
static inline __attribute__((always_inline)) void sl_prefetch_ahead_by(const int T, const void *p,
								       size_t n, size_t step)
{
	if (T == 1) {
		const char *q = (const char *)p + atomic_load_explicit(&sl_prefetch_distance, memory_order_relaxed);
		for (size_t c = 0; c < n; c += step)
			__builtin_prefetch(q + c);
	}
}

static inline __attribute__((always_inline)) void sl_prefetch_ahead(const int T, const void *p,
								    size_t n)
{
	sl_prefetch_ahead_by(T, p, n, 64);
}

/* Rows a packed prompt product (sl_ktiles.gemm) takes at a time, at most. */
#define SL_PACK_ROWS 32

/*
 * A set's micro-kernels for one weight type: r × n and 1 × n tiles for n = 1..t tokens;
 * optionally a prompt path over packed rows.
 */
typedef struct {
	int r, t;                         /* the prompt tile: 1 <= r, 1 <= t <= SL_TILE_MAX_T */
	sl_tile_fn rn[SL_TILE_MAX_T + 1];  /* rn[n]: r rows × n tokens */
	sl_tile_fn row[SL_TILE_MAX_T + 1]; /* row[n]: 1 row × n tokens */
	/*
	 * The packed prompt path (NULL: none).  For two tokens or more, sl_matmul packs up to
	 * SL_PACK_ROWS rows at a time into a layout private to the set (packed_size(cols)
	 * bytes a row, on the thread's stack), then gemm multiplies the packed rows by all the
	 * tokens, with register and cache blocking of its own.  Repacking is paid once per
	 * rows × all tokens, and no second copy of the weights is ever made.  gemm must give
	 * each Y element bit for bit what row[1] gives.
	 */
	size_t (*packed_size)(int cols);
	void (*pack)(const char *W, size_t ws, int rows, int cols, char *dst);
	void (*gemm)(const char *P, int rows, int cols, const char *xq, size_t xs, int n,
		     float *Y, size_t ldy);
	/*
	 * Two rows × one token (NULL: one token goes a row at a time, row[1]), each row's
	 * result bit for bit row[1]'s: the rows share the activations' loads.
	 */
	sl_tile_fn pair1;
} sl_ktiles;

/* The weight types a set handles, as indices into its tile table. */
enum {
	SL_KT_F32, SL_KT_F16, SL_KT_BF16, SL_KT_Q4_0, SL_KT_Q8_0, SL_KT_Q4_K, SL_KT_Q6_K,
	SL_KT_Q3_K, SL_KT_Q2_K, SL_KT_N
};

static inline int sl_ktype(uint32_t type)
{
	switch (type) {
	case SL_F32: return SL_KT_F32;
	case SL_F16: return SL_KT_F16;
	case SL_BF16: return SL_KT_BF16;
	case SL_Q4_0: return SL_KT_Q4_0;
	case SL_Q8_0: return SL_KT_Q8_0;
	case SL_Q4_K: return SL_KT_Q4_K;
	case SL_Q6_K: return SL_KT_Q6_K;
	case SL_Q3_K: return SL_KT_Q3_K;
	case SL_Q2_K: return SL_KT_Q2_K;
	default: return -1;
	}
}

typedef struct {
	const char *name;
	int asks_ahead;          /* its one-token tiles ask for rows sl_prefetch_distance ahead */
	/*
	 * Bytes of one token's quantized activations for weights of `type` with `cols` columns
	 * (a multiple of 64); 0 means the set reads X as floats.  -1 cast to size_t: type not
	 * handled by this set.
	 */
	size_t (*xq_size)(uint32_t type, int cols);
	/* Quantize one token x[cols] into out (xq_size bytes, 64-byte aligned). */
	void (*xq)(uint32_t type, const float *x, int cols, void *out);
	/*
	 * Micro-kernels per weight type (SL_KT_*); the portable driver (sl_matmul.c) tiles with
	 * them.  A type a set leaves empty (and whose xq_size is -1) runs on the reference set.
	 */
	sl_ktiles tiles[SL_KT_N];
	/* Rows of half-precision values to float and back (the F16 KV cache). */
	void (*f16_to_f32)(const sl_f16 *src, float *dst, size_t n);
	void (*f32_to_f16)(const float *src, sl_f16 *dst, size_t n);
	/* The kernels below: NULL in a set takes the reference set's. */
	/* g[i] = SiLU(g[i])·u[i] (sl_silu_mul) */
	void (*silu_mul)(float *g, const float *u, size_t n);
	/* row[i] = softmax(row · scale)[i], i < n (sl_softmax) */
	void (*softmax)(float *row, int n, float scale);
	/* sl_gemm_f32_nn, from SL_GEMM_NN below */
	void (*gemm_nn)(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
			float *C, size_t ldc);
	/* sl_gemm_f16_nn, from SL_GEMM_NN_B (NULL: none, callers convert B to f32 first) */
	void (*gemm_f16_nn)(int m, int n, int k, const float *A, size_t lda, const sl_f16 *B,
			    size_t ldb, float *C, size_t ldc);
} sl_kset;

/*
 * Defining a set's micro-kernels from one inline tile function
 *   fn(const int R, const int T, const char *W, size_t ws, int cols, const char *xq,
 *      size_t xs, float *Y, size_t ldy)
 * (R, T constant in each instance, so its loops over them unroll into registers):
 * SL_TILE_FNS(name, fn, R, T) defines name_r1 .. name_r8 (R rows) and name_1x1 .. name_1x8;
 * SL_TILES(name, R, T) is the matching sl_ktiles initializer.
 */
#define SL_TILE_FN_(name, fn, R, T)                                                         \
	static void name(const char *W, size_t ws, int cols, const char *xq, size_t xs,    \
			 float *Y, size_t ldy)                                             \
	{                                                                                  \
		fn(R, T, W, ws, cols, xq, xs, Y, ldy);                                     \
	}
#define SL_TILE_FNS_R_(name, fn, R)                                                         \
	SL_TILE_FN_(name##1, fn, R, 1) SL_TILE_FN_(name##2, fn, R, 2)                     \
	SL_TILE_FN_(name##3, fn, R, 3) SL_TILE_FN_(name##4, fn, R, 4)                     \
	SL_TILE_FN_(name##5, fn, R, 5) SL_TILE_FN_(name##6, fn, R, 6)                     \
	SL_TILE_FN_(name##7, fn, R, 7) SL_TILE_FN_(name##8, fn, R, 8)
#define SL_TILE_FNS(name, fn, R, T)                                                         \
	_Static_assert((T) >= 1 && (T) <= SL_TILE_MAX_T && (R) >= 1, "tile out of range"); \
	SL_TILE_FNS_R_(name##_r, fn, R) SL_TILE_FNS_R_(name##_1x, fn, 1)
#define SL_TILES_P_(name, R, T, ...)                                                        \
	{R, T, {0, name##_r1, name##_r2, name##_r3, name##_r4, name##_r5, name##_r6,       \
		name##_r7, name##_r8},                                                     \
	 {0, name##_1x1, name##_1x2, name##_1x3, name##_1x4, name##_1x5, name##_1x6,       \
	  name##_1x7, name##_1x8}, __VA_ARGS__}
#define SL_TILES(name, R, T) SL_TILES_P_(name, R, T, 0, 0, 0, 0)
/* ... with the packed prompt path name##_packed_size, name##_pack, name##_gemm */
#define SL_TILES_PACKED(name, R, T)                                                         \
	SL_TILES_P_(name, R, T, name##_packed_size, name##_pack, name##_gemm, 0)
/* ... and two rows × one token, name##_pair1 */
#define SL_TILES_PACKED_PAIR(name, R, T)                                                    \
	SL_TILES_P_(name, R, T, name##_packed_size, name##_pack, name##_gemm, name##_pair1)

/*
 * sl_gemm_f32_nn for a set whose vectors are VB bytes, in GCC's vector extensions (so one
 * definition serves every set, compiled with the set's flags): tiles of 4 rows of C × 4
 * vectors, each element a chain c = c + a·b over k in order, and the columns past the last
 * whole vector as one vector whose lanes past n are zeros, each lane the same chain.  (As
 * scalar columns, each its own chain of k dependent adds, they took most of one token's
 * attention at a block's end: bench/NOTES.md.)  SL_GEMM_NN_B makes it with B of another
 * element type BT, converted exactly to float as it is read: LOADV(v, p) fills the float
 * vector *v from VB/4 elements at p, LOADP(v, p, nr) from the first nr < VB/4 of them,
 * zeros in the other lanes (sl_gemm_f16_nn: B in half precision).  SL_LOADP_COPY_ is a
 * LOADP for sets without masked loads.
 */
#define SL_LOADP_COPY_(v, p, nr, BT, L, LOADV)                                               \
	do {                                                                                   \
		BT t_[L] = { 0 };                                                              \
		for (int j_ = 0; j_ < (nr); j_++)                                              \
			t_[j_] = (p)[j_];                                                      \
		LOADV(v, t_);                                                                  \
	} while (0)
#define SL_GEMM_NN_TILE_(name, VB, BT, LOADV)                                                \
	static inline __attribute__((always_inline)) void name##_tile(                        \
		const int TN, const int NV, int kk, const float *A, size_t lda, const BT *B,    \
		size_t ldb, float *C, size_t ldc)                                              \
	{                                                                                      \
		typedef float v_ __attribute__((vector_size(VB)));                             \
		enum { L_ = (VB) / 4 };                                                        \
		v_ acc[4][4];                                                                  \
		for (int t = 0; t < TN; t++)                                                   \
			for (int jv = 0; jv < NV; jv++)                                        \
				acc[t][jv] = (v_){0};                                          \
		for (int k = 0; k < kk; k++) {                                                 \
			v_ b[4];                                                               \
			for (int jv = 0; jv < NV; jv++)                                        \
				LOADV(&b[jv], B + (size_t)k * ldb + jv * L_);                  \
			for (int t = 0; t < TN; t++) {                                         \
				const float a = A[(size_t)t * lda + k];                        \
				for (int jv = 0; jv < NV; jv++)                                \
					acc[t][jv] = acc[t][jv] + a * b[jv];                   \
			}                                                                      \
		}                                                                              \
		for (int t = 0; t < TN; t++)                                                   \
			for (int jv = 0; jv < NV; jv++)                                        \
				__builtin_memcpy(C + (size_t)t * ldc + jv * L_, &acc[t][jv], VB); \
	}
#define SL_GEMM_NN_B(name, VB, BT, LOADV, LOADP)                                             \
	SL_GEMM_NN_TILE_(name, VB, BT, LOADV)                                                  \
	/* TN rows of C by the nr < VB/4 columns at B (a vector with zeros past them) */       \
	static inline __attribute__((always_inline)) void name##_part(                        \
		const int TN, int nr, int kk, const float *A, size_t lda, const BT *B,          \
		size_t ldb, float *C, size_t ldc)                                              \
	{                                                                                      \
		typedef float v_ __attribute__((vector_size(VB)));                             \
		v_ acc[4];                                                                     \
		for (int t = 0; t < TN; t++)                                                   \
			acc[t] = (v_){0};                                                      \
		for (int k = 0; k < kk; k++) {                                                 \
			v_ b;                                                                  \
			LOADP(&b, B + (size_t)k * ldb, nr);                                    \
			for (int t = 0; t < TN; t++)                                           \
				acc[t] = acc[t] + A[(size_t)t * lda + k] * b;                  \
		}                                                                              \
		for (int t = 0; t < TN; t++)                                                   \
			__builtin_memcpy(C + (size_t)t * ldc, &acc[t], (size_t)nr * sizeof(float)); \
	}                                                                                      \
	/* TN rows of C (constant): tiles of four vectors a row, which keep even one row's     \
	 * chains independent, then single vectors, then the last columns as one */            \
	static inline __attribute__((always_inline)) void name##_rows(                        \
		const int TN, int n, int kk, const float *a, size_t lda, const BT *B,           \
		size_t ldb, float *c, size_t ldc)                                              \
	{                                                                                      \
		enum { L_ = (VB) / 4 };                                                        \
		int j0 = 0;                                                                    \
		for (; j0 + 4 * L_ <= n; j0 += 4 * L_)                                         \
			name##_tile(TN, 4, kk, a, lda, B + j0, ldb, c + j0, ldc);              \
		for (; j0 + L_ <= n; j0 += L_)                                                 \
			name##_tile(TN, 1, kk, a, lda, B + j0, ldb, c + j0, ldc);              \
		if (j0 < n)                                                                    \
			name##_part(TN, n - j0, kk, a, lda, B + j0, ldb, c + j0, ldc);         \
	}                                                                                      \
	static void name(int m, int n, int kk, const float *A, size_t lda, const BT *B,        \
			 size_t ldb, float *C, size_t ldc)                                     \
	{                                                                                      \
		for (int t0 = 0; t0 < m; t0 += 4) {                                            \
			const float *a = A + (size_t)t0 * lda;                                 \
			float *c = C + (size_t)t0 * ldc;                                       \
			switch (m - t0 < 4 ? m - t0 : 4) {                                     \
			case 1: name##_rows(1, n, kk, a, lda, B, ldb, c, ldc); break;          \
			case 2: name##_rows(2, n, kk, a, lda, B, ldb, c, ldc); break;          \
			case 3: name##_rows(3, n, kk, a, lda, B, ldb, c, ldc); break;          \
			default: name##_rows(4, n, kk, a, lda, B, ldb, c, ldc); break;         \
			}                                                                      \
		}                                                                              \
	}
#define SL_LOAD_F32_(v, p) __builtin_memcpy((v), (p), sizeof *(v))
#define SL_LOADP_F32_(v, p, nr) SL_LOADP_COPY_(v, p, nr, float, sizeof *(v) / sizeof(float), SL_LOAD_F32_)
#define SL_GEMM_NN(name, VB) SL_GEMM_NN_B(name, VB, float, SL_LOAD_F32_, SL_LOADP_F32_)

extern const sl_kset sl_kset_ref;
/* The SIMD sets; -DSL_NO_SIMD builds with the reference set alone (a portable build). */
#if defined(__x86_64__) && !defined(SL_NO_SIMD)
extern const sl_kset sl_kset_avx2;      /* AVX2 + FMA + F16C */
extern const sl_kset sl_kset_avx2_vnni; /* the same, with AVX-VNNI dot products */
extern const sl_kset sl_kset_avx512;    /* AVX-512 F/BW/VL + VNNI */
#endif
#if defined(__wasm_simd128__) && !defined(SL_NO_SIMD)
extern const sl_kset sl_kset_wasm;      /* WebAssembly SIMD128 (emcc -msimd128) */
#endif

/*
 * The sets this CPU can run, best first, ending with &sl_kset_ref and NULL; SL_KERNELS
 * names the one to use ("ref", "avx2", "avx2-vnni", "avx512", "wasm-simd128"), default the
 * best.
 */
const sl_kset *const *sl_kset_all(void);
const sl_kset *sl_kset_get(void);

/* sl_matmul with a given kernel set (for tests and benchmarks). */
void sl_matmul_kset(const sl_kset *ks, sl_pool *pool, uint32_t type, const void *W,
		    int rows, int cols, const float *X, int n_tok, float *Y);
void sl_matmul_n_kset(const sl_kset *ks, sl_pool *pool, uint32_t type, const sl_mm_out *outs,
		      int n, int cols, const float *X, int n_tok);

/*
 * The reference quantized activation layout (the spec the SIMD sets follow in value):
 *   Q8_0 (for Q4_0, Q8_0 weights):  int8 qs[cols], then float d[cols/32];  x ≈ d*qs
 *   Q8_K (for Q2_K..Q6_K weights):  int8 qs[cols], then float d[cols/256]
 * with d = max|x|/127 over the block and qs = x/d rounded to nearest even.
 */
void sl_quant_q8_ref(const float *x, int n, int blck, int8_t *qs, float *d);

#endif
