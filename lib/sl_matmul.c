/*
 * sl_matmul — the portable half of a matrix product: choosing the kernel set, quantizing
 * the activations once, cutting the rows into pool tasks and each task into tiles of rows ×
 * tokens for the set's micro-kernels (sl_kernels_impl.h).  No intrinsics here: a new SIMD
 * set brings only its micro-kernels, and the scalar reference set runs through the same
 * tiling.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sl_kernels.h"
#include "sl_kernels_impl.h"
#include "sl_types.h"

/*
 * Rows per pool task: a multiple of every tile height, small enough to balance threads.
 * Each Y element is computed the same way whatever the chunk, so this choice never
 * changes results.
 */
#define ROWS_PER_TASK 32

/*
 * For one token (generation) the product streams its weights from memory once, and the
 * threads stream fastest from a few large pieces each (two threads read far faster in
 * pieces of 512 rows or more than in 64-row pieces; bench/NOTES.md).  So the rows
 * are cut into 4 pieces per thread of decreasing size (piece i of n in proportion to
 * 2(n-i)-1: the first is 15 times the last), whole multiples of 64 rows: large pieces
 * first, small ones last so the threads finish together.  Piece `task` starts at row:
 */
static int piece_start(int rows, int n, int task)
{
	if (task >= n)
		return rows;
	double left = (double)(n - task) / n;
	return (int)((double)rows * (1.0 - left * left)) & ~63;
}
/* Tokens quantized per pool task. */
#define TOKS_PER_TASK 8

/* ==== dispatch ==== */

#if defined(__x86_64__) && defined(__clang__)
/* clang 14's __builtin_cpu_supports knows neither "f16c" nor "avxvnni" (make fuzz builds
 * with clang): ask cpuid.  avx2 is checked first, through the builtin, which also checks
 * that the OS saves the YMM registers. */
#include <cpuid.h>
static inline int cpuid_bit(unsigned leaf, unsigned sub, int reg, int bit)
{
	unsigned r[4] = { 0 };
	if (!__get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]))
		return 0;
	return (r[reg] >> bit) & 1;
}
#define CPU_F16C cpuid_bit(1, 0, 2, 29)      /* ecx bit 29 */
#define CPU_AVXVNNI cpuid_bit(7, 1, 0, 4)    /* leaf 7.1 eax bit 4 */
#else
#define CPU_F16C __builtin_cpu_supports("f16c")
#define CPU_AVXVNNI __builtin_cpu_supports("avxvnni")
#endif

const sl_kset *const *sl_kset_all(void)
{
	static const sl_kset *all[5];
	static _Atomic int done;
	if (!atomic_load_explicit(&done, memory_order_acquire)) {
		int n = 0;
#if defined(__wasm_simd128__) && !defined(SL_NO_SIMD)
		/* compiled in only for engines that validate SIMD128 (no run-time check) */
		all[n++] = &sl_kset_wasm;
#endif
#if defined(__x86_64__) && !defined(SL_NO_SIMD)
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
			all[n++] = &sl_kset_avx512;
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		    CPU_F16C) {
			if (CPU_AVXVNNI)
				all[n++] = &sl_kset_avx2_vnni;
			all[n++] = &sl_kset_avx2;
		}
#endif
		all[n] = &sl_kset_ref;
		/* threads racing here all write the same table */
		atomic_store_explicit(&done, 1, memory_order_release);
	}
	return all;
}

_Atomic size_t sl_prefetch_distance = SL_PREFETCH_DEFAULT;

long sl_kernels_prefetch_parse(const char *s)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	const unsigned long v = strtoul(s, &end, 10);
	return errno || *end || v > SL_PREFETCH_MAX ? -1 : (long)v;
}

static int prefetch_fixed;         /* by SL_PREFETCH_AHEAD: written before main only */
static _Atomic int prefetch_timed; /* by a tuner that finished, in any session's thread */

/* Before main, while there is one thread: the kernels read the global without a lock. */
__attribute__((constructor)) static void prefetch_from_env(void)
{
	const long v = sl_kernels_prefetch_parse(getenv("SL_PREFETCH_AHEAD"));
	if (v >= 0) {
		sl_prefetch_distance = (size_t)v;
		prefetch_fixed = 1;
	}
}

long sl_kernels_prefetch(void)
{
	return (long)sl_prefetch_distance;
}

static const size_t tune_distance[2] = { SL_PREFETCH_DEFAULT, 2048 };

static int tuning(const sl_prefetch_tuner *t)
{
	return !prefetch_fixed && t->n < 2 * SL_TUNE_ROUNDS && sl_kset_get()->asks_ahead;
}

/* Between passes: the pool's threads see it when the next pass hands them work. */
int sl_prefetch_tune_before_pass(const sl_prefetch_tuner *t)
{
	if (!tuning(t))
		return 0;
	sl_prefetch_distance = tune_distance[t->n % 2];
	return 1;
}

static double median_of_rounds(const double *v)
{
	double a[SL_TUNE_ROUNDS];
	memcpy(a, v, sizeof a);
	for (int i = 1; i < SL_TUNE_ROUNDS; i++) /* insertion sort */
		for (int j = i; j > 0 && a[j] < a[j - 1]; j--) {
			const double x = a[j];
			a[j] = a[j - 1];
			a[j - 1] = x;
		}
	return (a[SL_TUNE_ROUNDS / 2 - 1] + a[SL_TUNE_ROUNDS / 2]) / 2;
}

void sl_prefetch_tune_after_pass(sl_prefetch_tuner *t, double seconds)
{
	if (!tuning(t))
		return;
	t->s[t->n % 2][t->n / 2] = seconds;
	if (++t->n == 2 * SL_TUNE_ROUNDS) {
		sl_prefetch_distance = tune_distance[median_of_rounds(t->s[1]) < median_of_rounds(t->s[0])];
		prefetch_timed = 1;
	}
}

const char *sl_kernels_prefetch_how(void)
{
	return prefetch_fixed ? "SL_PREFETCH_AHEAD" : prefetch_timed ? "timed" : "default";
}

const sl_kset *sl_kset_get(void)
{
	static const sl_kset *_Atomic ks;
	if (!ks) {
		const sl_kset *const *all = sl_kset_all();
		const char *e = getenv("SL_KERNELS");
		const sl_kset *k = all[0];
		for (int i = 0; e && all[i]; i++)
			if (strcmp(e, all[i]->name) == 0)
				k = all[i];
		ks = k;
	}
	return ks;
}

void sl_f16_to_f32_rows(const sl_f16 *src, size_t src_stride, float *dst, size_t dst_stride,
			int rows, size_t n)
{
	void (*cvt)(const sl_f16 *, float *, size_t) = sl_kset_get()->f16_to_f32;
	if (src_stride == n && dst_stride == n && rows > 0) { /* one run */
		cvt(src, dst, (size_t)rows * n);
		return;
	}
	for (int r = 0; r < rows; r++)
		cvt(src + (size_t)r * src_stride, dst + (size_t)r * dst_stride, n);
}

void sl_f32_to_f16_row(const float *src, sl_f16 *dst, size_t n)
{
	sl_kset_get()->f32_to_f16(src, dst, n);
}

void sl_gemm_f32_nn(int m, int n, int k, const float *A, size_t lda, const float *B, size_t ldb,
		    float *C, size_t ldc)
{
	const sl_kset *ks = sl_kset_get();
	if (m > 0 && n > 0)
		(ks->gemm_nn ? ks->gemm_nn : sl_kset_ref.gemm_nn)(m, n, k, A, lda, B, ldb, C, ldc);
}

int sl_gemm_f16_nn(int m, int n, int k, const float *A, size_t lda, const sl_f16 *B, size_t ldb,
		   float *C, size_t ldc)
{
	const sl_kset *ks = sl_kset_get();
	if (!ks->gemm_f16_nn)
		return 0;
	if (m > 0 && n > 0)
		ks->gemm_f16_nn(m, n, k, A, lda, B, ldb, C, ldc);
	return 1;
}

void sl_softmax(float *row, int n, float scale)
{
	const sl_kset *ks = sl_kset_get();
	(ks->softmax ? ks->softmax : sl_kset_ref.softmax)(row, n, scale);
}

void sl_silu_mul(float *g, const float *u, size_t n)
{
	const sl_kset *ks = sl_kset_get();
	(ks->silu_mul ? ks->silu_mul : sl_kset_ref.silu_mul)(g, u, n);
}

const char *sl_kernels_name(void)
{
	return sl_kset_get()->name;
}

/* ==== sl_matmul: quantize X once, then row chunks in parallel ==== */

typedef struct {
	const sl_kset *ks;
	uint32_t type;
	const sl_mm_out *outs; /* the products, their rows one after another */
	int n_outs;
	size_t ws, xs;
	int rows, cols, n_tok; /* rows: of all the products */
	int chunk; /* rows per task; 0: pieces of decreasing size (piece_start) */
	int n_tasks;
	const float *X;
	const void *xq; /* quantized X, or X itself */
} mm_job;

static void xq_task(void *arg, int task, int n_tasks)
{
	const mm_job *j = arg;
	int t1 = (task + 1) * TOKS_PER_TASK < j->n_tok ? (task + 1) * TOKS_PER_TASK : j->n_tok;
	(void)n_tasks;
	for (int t = task * TOKS_PER_TASK; t < t1; t++)
		j->ks->xq(j->type, j->X + (size_t)t * j->cols, j->cols, (char *)j->xq + (size_t)t * j->xs);
}

/*
 * One task's rows (nr) and all tokens: r × t tiles over whole groups of t tokens, then
 * r × n tiles for the last n < t tokens, 1 × n tiles for the rows left over.  Tokens
 * outer, rows inner: a chunk's weights (ROWS_PER_TASK rows) stay in cache while the token
 * groups pass over them.  One token alone (generation) goes a row at a time, or two where
 * the set has a pair1 kernel (the rows sharing the activations' loads): the weights stream
 * from memory once (interleaving 2 or 4 rows without the sets' explicit requests ahead
 * measured several times slower; bench/NOTES.md).
 */
static void mm_tiles(const sl_ktiles *k, const char *W, size_t ws, int nr, int cols,
		     const char *xq, size_t xs, int nt, float *Y, size_t ldy)
{
	for (int t = 0; t < nt; t += k->t) {
		const int n = nt - t < k->t ? nt - t : k->t;
		int r = 0;
		if (nt > 1)
			for (; r + k->r <= nr; r += k->r)
				k->rn[n](W + r * ws, ws, cols, xq + t * xs, xs, Y + t * ldy + r, ldy);
		else if (k->pair1)
			for (; r + 2 <= nr; r += 2)
				k->pair1(W + r * ws, ws, cols, xq, xs, Y + r, ldy);
		for (; r < nr; r++)
			k->row[n](W + r * ws, ws, cols, xq + t * xs, xs, Y + t * ldy + r, ldy);
	}
}

/*
 * Bytes of packed rows on a thread's stack: SL_PACK_ROWS rows of 8192 columns of any packed
 * type (at most 10240 bytes a row).  Longer rows pack fewer at a time, and rows too long
 * for one go the tile way.
 */
#define PACK_BYTES (SL_PACK_ROWS * 10240)

/* The packed prompt path (sl_ktiles.gemm); 0 if the rows are too long for it. */
static __attribute__((noinline)) int mm_packed(const sl_ktiles *k, const char *W, size_t ws,
						int nr, int cols, const char *xq, size_t xs, int nt,
						float *Y, size_t ldy)
{
	_Alignas(64) char buf[PACK_BYTES];
	const size_t ps = k->packed_size(cols);
	int step = ps ? (int)(PACK_BYTES / ps) : 0;

	if (step < 1)
		return 0;
	if (step > SL_PACK_ROWS)
		step = SL_PACK_ROWS;
	for (int r = 0; r < nr; r += step) {
		const int n = nr - r < step ? nr - r : step;
		k->pack(W + (size_t)r * ws, ws, n, cols, buf);
		k->gemm(buf, n, cols, xq, xs, nt, Y + r, ldy);
	}
	return 1;
}

/* Rows r0..r0+nr-1 of one product (out), all tokens. */
static void mm_rows(const mm_job *j, const sl_mm_out *out, int r0, int nr)
{
	const sl_ktiles *k = &j->ks->tiles[sl_ktype(j->type)];
	const char *W = (const char *)out->W + (size_t)r0 * j->ws;

	if (k->gemm && j->n_tok > 1 &&
	    mm_packed(k, W, j->ws, nr, j->cols, j->xq, j->xs, j->n_tok, out->Y + r0, (size_t)out->rows))
		return;
	mm_tiles(k, W, j->ws, nr, j->cols, j->xq, j->xs, j->n_tok, out->Y + r0, (size_t)out->rows);
}

static void mm_task(void *arg, int task, int n_tasks)
{
	const mm_job *j = arg;
	int r0, r1;

	(void)n_tasks;
	if (j->chunk) {
		r0 = task * j->chunk;
		r1 = j->rows - r0 < j->chunk ? j->rows : r0 + j->chunk;
	} else {
		r0 = piece_start(j->rows, j->n_tasks, task);
		r1 = piece_start(j->rows, j->n_tasks, task + 1);
	}
	/* the task's rows of each product they fall in */
	for (int i = 0, base = 0; i < j->n_outs && r0 < r1; base += j->outs[i++].rows) {
		int end = base + j->outs[i].rows;
		if (r0 >= end)
			continue;
		int e = r1 < end ? r1 : end;
		mm_rows(j, &j->outs[i], r0 - base, e - r0);
		r0 = e;
	}
}

/*
 * Scratch for the quantized activations, one per calling thread, kept between calls: a
 * forward pass makes hundreds of products of the same few sizes.
 */
static _Thread_local void *xq_buf;
static _Thread_local size_t xq_cap;

/* Every Y of the products poisoned: a type or shape the caller should have refused. */
static void mm_poison(const sl_mm_out *outs, int n, int n_tok)
{
	for (int i = 0; i < n; i++)
		for (size_t e = 0; e < (size_t)n_tok * (size_t)(outs[i].rows > 0 ? outs[i].rows : 0); e++)
			outs[i].Y[e] = NAN;
}

void sl_matmul_n_kset(const sl_kset *ks, sl_pool *pool, uint32_t type, const sl_mm_out *outs,
		      int n, int cols, const float *X, int n_tok)
{
	size_t ws = sl_type_row_bytes(type, (uint64_t)cols), xs;
	int rows = 0;

	/* a type this set has no micro-kernels for runs on the reference set */
	if (sl_ktype(type) >= 0 && !ks->tiles[sl_ktype(type)].row[1])
		ks = &sl_kset_ref;
	xs = ks->xq_size(type, cols);
	for (int i = 0; i < n; i++)
		rows += outs[i].rows > 0 ? outs[i].rows : 0;
	mm_job j = {ks, type, outs, n, ws, xs, rows, cols, n_tok, 0, 0, X, X};

	if (rows <= 0 || n_tok <= 0)
		return;
	if (ws == 0 || xs == (size_t)-1 || sl_ktype(type) < 0) {
		/* an unsupported type or shape: the caller validated the model, so poison */
		mm_poison(outs, n, n_tok);
		return;
	}
	if (xs == 0) {
		j.xs = (size_t)cols * sizeof(float);
	} else {
		size_t need = xs * (size_t)n_tok;
		if (need > xq_cap) {
			free(xq_buf);
			xq_buf = aligned_alloc(64, need);
			xq_cap = xq_buf ? need : 0;
			if (!xq_buf) {
				mm_poison(outs, n, n_tok);
				return;
			}
		}
		j.xq = xq_buf;
		sl_pool_run(pool, (n_tok + TOKS_PER_TASK - 1) / TOKS_PER_TASK, xq_task, &j);
	}
	j.chunk = n_tok == 1 ? 0 : ROWS_PER_TASK;
	j.n_tasks = n_tok == 1 ? 4 * sl_pool_threads(pool) : (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
	sl_pool_run(pool, j.n_tasks, mm_task, &j);
}

void sl_matmul_kset(const sl_kset *ks, sl_pool *pool, uint32_t type, const void *W,
		    int rows, int cols, const float *X, int n_tok, float *Y)
{
	const sl_mm_out out = { W, rows, Y };
	sl_matmul_n_kset(ks, pool, type, &out, 1, cols, X, n_tok);
}

void sl_matmul(sl_pool *pool, uint32_t type, const void *W, int rows, int cols,
	       const float *X, int n_tok, float *Y)
{
	sl_matmul_kset(sl_kset_get(), pool, type, W, rows, cols, X, n_tok, Y);
}

void sl_matmul_n(sl_pool *pool, uint32_t type, const sl_mm_out *outs, int n, int cols,
		 const float *X, int n_tok)
{
	sl_matmul_n_kset(sl_kset_get(), pool, type, outs, n, cols, X, n_tok);
}
