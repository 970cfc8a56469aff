/*
 * sl-quant — convert a Hugging Face Llama model (safetensors) or a GGUF file into one
 * self-contained GGUF v3 model file, quantized, that llama.cpp and sl-infer both load.
 *
 * The first tool of the pipeline: HF dir ──► sl-quant ──► model.gguf ──► sl-infer.
 * Input tensors are read from the mapping one row at a time, converted to float, permuted
 * (HF q_proj/k_proj rows to llama.cpp's RoPE layout, see sl_hf.h), quantized (sl_quant.h) and
 * streamed into the writer (sl_gguf.h); each input tensor's pages are dropped once written, so
 * memory stays flat whatever the model size.  The output is a temporary file renamed on
 * success (sl_out_open), so a failure never leaves a partial model behind.
 *
 * --info describes a model (GGUF or HF) instead; --stats reports each tensor's quantization error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sl_cli.h"
#include "sl_gguf.h"
#include "sl_hf.h"
#include "sl_pool.h"
#include "sl_quant.h"
#include "sl_types.h"

static const char usage[] =
	"usage: sl-quant [-qv] [--stats] [-j threads] [-t type] [-o out] model\n"
	"       sl-quant --info model";

/* ==== recipes ==== */

/*
 * A recipe is the -t name: a base type for every 2-D weight, a general.file_type value
 * (llama.cpp's llama_ftype numbering) and, for q4_k_m, the mixed rule of llama.cpp's Q4_K_M.
 */
typedef struct {
	const char *name;
	uint32_t type;
	uint32_t ftype;
	int mixed;
} recipe;

static const recipe recipes[] = {
	{"f32", SL_F32, 0, 0},
	{"f16", SL_F16, 1, 0},
	{"bf16", SL_BF16, 32, 0},
	{"q8_0", SL_Q8_0, 7, 0},
	{"q4_0", SL_Q4_0, 2, 0},
	{"q4_k", SL_Q4_K, 14, 0},   /* llama.cpp has no "pure Q4_K" ftype; Q4_K_S is nearest */
	{"q6_k", SL_Q6_K, 18, 0},
	{"q4_k_m", SL_Q4_K, 15, 1},
};

static const char *ftype_name(uint32_t ft)
{
	for (size_t i = 0; i < sizeof recipes / sizeof recipes[0]; i++)
		if (recipes[i].ftype == ft)
			return recipes[i].name;
	return "?";
}

static const char *type_name(uint32_t t)
{
	const sl_type_info *ti = sl_type_get(t);

	return ti ? ti->name : "?";
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between. */
static int use_more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* ==== the tensors to write ==== */

typedef struct {
	char name[64];
	uint32_t n_dims;
	uint64_t ne[SL_GGUF_MAX_DIMS];
	uint64_t rows;                /* ne[1]·ne[2]·ne[3] */
	const sl_hf_tensor *hf;       /* HF input */
	const sl_gguf_tensor *gt;     /* GGUF input */
	uint32_t type;                /* output type */
} job;

static struct {
	int quiet, verbose, stats;
	int threads;                  /* -j: 0 for every core */
	const char *in, *out;
	const recipe *rc;
	/* input: exactly one of these is open */
	int is_hf;
	sl_hf hf;
	sl_gguf g;
	sl_hf_tensor *hft;
	int n_layer;
	int tied;
	job *jobs;
	int n_jobs;
} S;

static int layer_of(const char *name)
{
	return strncmp(name, "blk.", 4) == 0 ? atoi(name + 4) : -1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/*
 * The output type of a tensor: 1-D stays F32; q4_k_m raises the sensitive tensors to Q6_K;
 * a row that is not a whole number of blocks falls back as llama.cpp does (K-quants to a
 * 32-block type, here Q8_0 since sl has no Q5_0; then F16).
 */
static uint32_t choose_type(const job *j)
{
	uint32_t t = S.rc->type;
	const sl_type_info *ti;
	int l = layer_of(j->name);

	if (j->n_dims < 2)
		return SL_F32;
	if (S.rc->mixed) {
		if (!strcmp(j->name, "output.weight") || (S.tied && !strcmp(j->name, "token_embd.weight")))
			t = SL_Q6_K;
		else if ((ends_with(j->name, ".attn_v.weight") || ends_with(j->name, ".ffn_down.weight")) &&
			 l >= 0 && use_more_bits(l, S.n_layer))
			t = SL_Q6_K;
	}
	ti = sl_type_get(t);
	if (j->ne[0] % ti->blck) {
		uint32_t f = (t == SL_Q4_K || t == SL_Q6_K) && j->ne[0] % SL_QK8_0 == 0 ? SL_Q8_0 : SL_F16;
		if (!S.quiet)
			sl_warn("%s: rows of %llu are not a multiple of the %s block (%u): using %s",
				j->name, (unsigned long long)j->ne[0], ti->name, ti->blck, type_name(f));
		t = f;
	}
	return t;
}

static int collect_hf(void)
{
	int n = sl_hf_tensors(&S.hf, &S.hft);

	if (n < 0)
		return -1;
	S.jobs = calloc((size_t)n, sizeof *S.jobs);
	if (!S.jobs)
		return sl_seterr("out of memory");
	for (int i = 0; i < n; i++) {
		job *j = &S.jobs[i];
		snprintf(j->name, sizeof j->name, "%s", S.hft[i].name);
		j->n_dims = S.hft[i].n_dims;
		j->ne[0] = S.hft[i].ne[0];
		j->ne[1] = S.hft[i].ne[1];
		j->ne[2] = j->ne[3] = 1;
		j->rows = j->ne[1];
		j->hf = &S.hft[i];
	}
	S.n_jobs = n;
	S.n_layer = (int)S.hf.n_layer;
	S.tied = S.hf.tied;
	return 0;
}

static void print_shape(char *buf, size_t n, uint32_t nd, const uint64_t *ne);

/* One tensor a GGUF llama model needs: present, 1-D [a] or 2-D {a, b} (ggml order). */
static int need_tensor(const char *name, uint64_t a, uint64_t b)
{
	const sl_gguf_tensor *t = sl_gguf_tensor_find(&S.g, name);

	if (!t)
		return sl_seterr("%s: missing tensor %s", S.in, name);
	if (b ? (t->n_dims != 2 || t->ne[0] != a || t->ne[1] != b) : (t->n_dims != 1 || t->ne[0] != a)) {
		char got[96], want[64];
		print_shape(got, sizeof got, t->n_dims, t->ne);
		if (b)
			snprintf(want, sizeof want, "%llu x %llu", (unsigned long long)a, (unsigned long long)b);
		else
			snprintf(want, sizeof want, "%llu", (unsigned long long)a);
		return sl_seterr("%s: tensor %s has shape %s, expected %s", S.in, name, got, want);
	}
	return 0;
}

/* The same checks as for an HF directory (sl_hf_tensors), from the llama.* keys. */
static int check_gguf_tensors(void)
{
	static const char *const keys[] = {
		"llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
	};
	uint32_t v[3], kv_heads, nv;
	const sl_gguf_tensor *emb = sl_gguf_tensor_find(&S.g, "token_embd.weight");
	char n[64];

	for (int i = 0; i < 3; i++)
		if (sl_gguf_get_u32(&S.g, keys[i], &v[i]) != 1 || v[i] == 0)
			return sl_seterr("%s: missing %s", S.in, keys[i]);
	if (sl_gguf_get_u32(&S.g, "llama.attention.head_count_kv", &kv_heads) != 1)
		kv_heads = v[2];
	if (v[0] % v[2] || kv_heads == 0 || v[2] % kv_heads)
		return sl_seterr("%s: %u heads and %u key/value heads do not divide embedding_length %u",
				 S.in, v[2], kv_heads, v[0]);
	if (!emb)
		return sl_seterr("%s: missing tensor token_embd.weight", S.in);
	nv = (uint32_t)emb->ne[1];
	uint64_t E = v[0], F = v[1], KV = (uint64_t)kv_heads * (v[0] / v[2]);
	if (need_tensor("token_embd.weight", E, nv) || need_tensor("output_norm.weight", E, 0) ||
	    (!S.tied && need_tensor("output.weight", E, nv)))
		return -1;
	for (int l = 0; l < S.n_layer; l++) {
		static const struct {
			const char *name;
			int a, b;               /* 1 E, 2 KV, 3 F; b 0 for 1-D */
		} L[] = {
			{"attn_norm", 1, 0}, {"attn_q", 1, 1}, {"attn_k", 1, 2}, {"attn_v", 1, 2},
			{"attn_output", 1, 1}, {"ffn_norm", 1, 0}, {"ffn_gate", 1, 3}, {"ffn_up", 1, 3},
			{"ffn_down", 3, 1},
		};
		const uint64_t dim[4] = {0, E, KV, F};
		for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
			snprintf(n, sizeof n, "blk.%d.%s.weight", l, L[i].name);
			if (need_tensor(n, dim[L[i].a], dim[L[i].b]))
				return -1;
		}
	}
	return 0;
}

static int collect_gguf(void)
{
	char *arch = NULL;
	uint32_t nl = 0;
	int r = sl_gguf_get_str(&S.g, "general.architecture", &arch);

	if (r < 0)
		return -1;
	if (r == 0 || strcmp(arch, "llama") != 0) {
		sl_seterr("%s: unsupported architecture %s (only llama)", S.in, r ? arch : "(none)");
		free(arch);
		return -1;
	}
	free(arch);
	if (sl_gguf_get_u32(&S.g, "llama.block_count", &nl) != 1)
		return sl_seterr("%s: missing llama.block_count", S.in);
	if (sl_gguf_find(&S.g, "split.count"))
		return sl_seterr("%s: split GGUF input is not supported (merge the shards first)", S.in);
	S.n_layer = (int)nl;
	S.tied = !sl_gguf_tensor_find(&S.g, "output.weight");
	if (check_gguf_tensors())
		return -1;
	S.jobs = calloc(S.g.n_tensors ? S.g.n_tensors : 1, sizeof *S.jobs);
	if (!S.jobs)
		return sl_seterr("out of memory");
	for (uint64_t i = 0; i < S.g.n_tensors; i++) {
		const sl_gguf_tensor *t = &S.g.tensors[i];
		job *j = &S.jobs[i];
		if (t->type != SL_F32 && t->type != SL_F16 && t->type != SL_BF16)
			return sl_seterr("%s: tensor %s has type %s: re-quantize from f32, f16 or bf16",
					 S.in, t->name, type_name(t->type));
		snprintf(j->name, sizeof j->name, "%s", t->name);
		j->n_dims = t->n_dims;
		memcpy(j->ne, t->ne, sizeof j->ne);
		j->rows = t->ne[1] * t->ne[2] * t->ne[3];
		j->gt = t;
	}
	S.n_jobs = (int)S.g.n_tensors;
	return 0;
}

/* ==== metadata ==== */

/* Copy one key/value of the input GGUF as it was (same type). */
static int copy_kv(sl_gguf_writer *w, const sl_gguf_kv *kv)
{
	uint8_t b[8];

	switch (kv->type) {
	case SL_GGUF_STRING: {
		char *s = malloc(kv->s.len + 1);
		int rc;
		if (!s)
			return sl_seterr("out of memory");
		memcpy(s, kv->s.ptr, kv->s.len);
		s[kv->s.len] = 0;
		rc = sl_gguf_add_str(w, kv->key, s);
		free(s);
		return rc;
	}
	case SL_GGUF_ARRAY:
		if (kv->arr_type == SL_GGUF_STRING) {
			const char **p = malloc((kv->arr_n + 1) * sizeof *p);
			uint64_t *len = malloc((kv->arr_n + 1) * sizeof *len);
			int rc;
			if (!p || !len) {
				free(p);
				free(len);
				return sl_seterr("out of memory");
			}
			for (uint64_t i = 0; i < kv->arr_n; i++) {
				p[i] = kv->strs[i].ptr;
				len[i] = kv->strs[i].len;
			}
			rc = sl_gguf_add_arr_str(w, kv->key, kv->arr_n, p, len);
			free(p);
			free(len);
			return rc;
		}
		if (kv->arr_type == SL_GGUF_ARRAY) {
			if (!S.quiet)
				sl_warn("%s: key %s: nested arrays are not copied", S.in, kv->key);
			return 0;
		}
		return sl_gguf_add_arr(w, kv->key, kv->arr_type, kv->arr_n, kv->arr_data);
	case SL_GGUF_F32: {
		float f = (float)kv->f;
		return sl_gguf_add_scalar(w, kv->key, kv->type, &f);
	}
	case SL_GGUF_F64:
		return sl_gguf_add_scalar(w, kv->key, kv->type, &kv->f);
	default: {
		/* integers and bool: signed types come from i, unsigned from u; bytes little-endian */
		int sgn = kv->type == SL_GGUF_I8 || kv->type == SL_GGUF_I16 || kv->type == SL_GGUF_I32 ||
			  kv->type == SL_GGUF_I64;
		uint64_t v = sgn ? (uint64_t)kv->i : kv->u;
		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(v >> 8 * i);
		return sl_gguf_add_scalar(w, kv->key, kv->type, b);
	}
	}
}

static int add_meta(sl_gguf_writer *w)
{
	int quantized = 0;

	for (int i = 0; i < S.n_jobs; i++)
		if (S.jobs[i].type != SL_F32 && S.jobs[i].type != SL_F16 && S.jobs[i].type != SL_BF16)
			quantized = 1;
	if (S.is_hf) {
		if (sl_gguf_add_str(w, "general.architecture", "llama") ||
		    sl_gguf_add_str(w, "general.name", S.hf.name) || sl_hf_add_meta(&S.hf, w))
			return -1;
	} else {
		for (uint64_t i = 0; i < S.g.n_kv; i++) {
			const char *k = S.g.kv[i].key;
			if (!strcmp(k, "general.file_type") || !strcmp(k, "general.quantization_version") ||
			    !strcmp(k, "general.alignment"))
				continue;
			if (copy_kv(w, &S.g.kv[i]))
				return -1;
		}
		if (!sl_gguf_find(&S.g, "sl.eog_token_ids")) {
			/* A foreign GGUF: generation ends at its eos (sl-infer reads sl.eog_token_ids). */
			uint32_t eos;
			if (sl_gguf_get_u32(&S.g, "tokenizer.ggml.eos_token_id", &eos) == 1) {
				int32_t e = (int32_t)eos;
				if (sl_gguf_add_arr(w, "sl.eog_token_ids", SL_GGUF_I32, 1, &e))
					return -1;
			}
		}
	}
	if (sl_gguf_add_u32(w, "general.file_type", S.rc->ftype))
		return -1;
	if (quantized && sl_gguf_add_u32(w, "general.quantization_version", 2))
		return -1;
	return 0;
}

/* ==== streaming ==== */

static int read_row(const job *j, uint64_t r, float *dst)
{
	if (j->hf)
		return sl_hf_read_row(j->hf, r, dst);
	{
		size_t rb = sl_type_row_bytes(j->gt->type, j->ne[0]);
		return sl_dequant_row(j->gt->type, (const uint8_t *)j->gt->data + r * rb, dst, j->ne[0]);
	}
}

/* Drop a finished input tensor's pages (whole pages only: neighbours may share an edge page). */
static void release(const job *j)
{
	const uint8_t *p;
	uint64_t n;
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t b, e;

	if (j->hf) {
		sl_st_release(&S.hf.st, j->hf->src);
		return;
	}
	p = j->gt->data;
	n = j->gt->nbytes;
	if (pg <= 0)
		return;
	b = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
	e = ((uintptr_t)p + n) & ~((uintptr_t)pg - 1);
	if (e > b)
		madvise((void *)b, e - b, MADV_DONTNEED);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *default_out(void)
{
	size_t n = strlen(S.in) + strlen(S.rc->name) + 32;
	char *p = malloc(n);
	char *base;

	if (!p)
		sl_die("out of memory");
	if (S.is_hf) {
		base = strdup(S.in);
		if (!base)
			sl_die("out of memory");
		for (size_t k = strlen(base); k > 1 && base[k - 1] == '/'; k--)
			base[k - 1] = 0;
		snprintf(p, n, "%s/model-%s.gguf", base, S.rc->name);
	} else {
		base = strdup(S.in);
		if (!base)
			sl_die("out of memory");
		if (ends_with(base, ".gguf"))
			base[strlen(base) - 5] = 0;
		snprintf(p, n, "%s-%s.gguf", base, S.rc->name);
	}
	free(base);
	return p;
}

/*
 * Rows are independent, so a batch of rows is quantized by the pool's threads into one output
 * buffer, then written in order: the bytes never depend on the thread count.
 */
#define BATCH_BYTES (4u << 20)      /* output bytes per batch */

typedef struct {
	const job *j;
	uint64_t r0, n;               /* rows of this batch */
	size_t rb;                    /* output bytes per row */
	uint8_t *out;                 /* [n][rb] */
	float *scratch;               /* per task: [2][ne0] */
	sl_qstats *st;                /* per task */
	int *failed;                  /* per task: 0, or 1 with msg */
	char (*msg)[256];
} batch;

static void batch_task(void *arg, int task, int n_tasks)
{
	batch *b = arg;
	const job *j = b->j;
	uint64_t lo = b->n * (uint64_t)task / (uint64_t)n_tasks, hi = b->n * (uint64_t)(task + 1) / (uint64_t)n_tasks;
	float *row = b->scratch + (size_t)task * 2 * j->ne[0], *deq = row + j->ne[0];

	for (uint64_t k = lo; k < hi && !b->failed[task]; k++) {
		uint8_t *q = b->out + k * b->rb;
		if (read_row(j, b->r0 + k, row) || !sl_quant_row(j->type, row, q, j->ne[0]) ||
		    (S.stats && sl_dequant_row(j->type, q, deq, j->ne[0]))) {
			b->failed[task] = 1;
			snprintf(b->msg[task], sizeof b->msg[task], "%s", sl_error());
			break;
		}
		if (S.stats)
			sl_qstats_add(&b->st[task], row, deq, j->ne[0]);
	}
}

static void quantize(void)
{
	sl_gguf_writer *w = sl_gguf_writer_new();
	uint64_t max_ne0 = 0, total_bytes = 0, total_params = 0, total_work = 0, done_work = 0, max_rb = 0;
	int progress = !S.quiet && isatty(2);
	double last = 0;
	sl_qstats all = {0};
	sl_pool *pool = NULL;
	int nt;
	batch b;
	FILE *f;

	if (!w)
		sl_die_lib();
	for (int i = 0; i < S.n_jobs; i++) {
		job *j = &S.jobs[i];
		j->type = choose_type(j);
		if (j->ne[0] > max_ne0)
			max_ne0 = j->ne[0];
		if (sl_type_row_bytes(j->type, j->ne[0]) > max_rb)
			max_rb = sl_type_row_bytes(j->type, j->ne[0]);
		total_work += j->ne[0] * j->rows;
	}
	if (add_meta(w))
		sl_die("%s: %s", S.out, sl_error());
	for (int i = 0; i < S.n_jobs; i++) {
		const job *j = &S.jobs[i];
		if (sl_gguf_add_tensor(w, j->name, j->n_dims, j->ne, j->type) < 0)
			sl_die("%s: %s", S.out, sl_error());
	}
	if (S.threads != 1) {
		pool = sl_pool_new(S.threads);
		if (!pool)
			sl_die_lib();
	}
	nt = sl_pool_threads(pool);
	memset(&b, 0, sizeof b);
	b.out = malloc(max_rb > BATCH_BYTES ? max_rb : BATCH_BYTES);
	b.scratch = malloc((size_t)nt * 2 * max_ne0 * sizeof *b.scratch);
	b.st = calloc((size_t)nt, sizeof *b.st);
	b.failed = calloc((size_t)nt, sizeof *b.failed);
	b.msg = calloc((size_t)nt, sizeof *b.msg);
	if (!b.out || !b.scratch || !b.st || !b.failed || !b.msg)
		sl_die("out of memory");

	f = sl_out_open(S.out);
	if (sl_gguf_write_header(w, f))
		sl_die("%s: %s", S.out, sl_error());
	if (S.stats)
		fprintf(stderr, "%-28s %-6s %12s %12s %10s\n", "tensor", "type", "rmse", "max_abs_err", "rel_err");
	for (int i = 0; i < S.n_jobs; i++) {
		const job *j = &S.jobs[i];
		sl_qstats st = {0};
		uint64_t nb = 0, per;

		b.j = j;
		b.rb = sl_type_row_bytes(j->type, j->ne[0]);
		per = BATCH_BYTES / b.rb ? BATCH_BYTES / b.rb : 1;
		memset(b.st, 0, (size_t)nt * sizeof *b.st);
		for (b.r0 = 0; b.r0 < j->rows; b.r0 += b.n) {
			b.n = j->rows - b.r0 < per ? j->rows - b.r0 : per;
			/* as many tasks as threads, but never an empty one */
			sl_pool_run(pool, b.n < (uint64_t)nt ? (int)b.n : nt, batch_task, &b);
			for (int k = 0; k < nt; k++)
				if (b.failed[k])
					sl_die("%s: %s", j->hf ? S.in : j->name, b.msg[k]);
			if (sl_gguf_write_data(w, f, b.out, b.n * b.rb))
				sl_die("%s: %s", S.out, sl_error());
			nb += b.n * b.rb;
			done_work += j->ne[0] * b.n;
			if (progress && now() - last > 0.2) {
				last = now();
				fprintf(stderr, "\rsl-quant: %3d%%  %d/%d  %-28s", (int)(100.0 * done_work / total_work),
					i + 1, S.n_jobs, j->name);
			}
		}
		for (int k = 0; k < nt; k++) {
			st.n += b.st[k].n;
			st.sum_sq_err += b.st[k].sum_sq_err;
			st.sum_sq_ref += b.st[k].sum_sq_ref;
			if (b.st[k].max_abs_err > st.max_abs_err)
				st.max_abs_err = b.st[k].max_abs_err;
		}
		release(j);
		total_bytes += nb;
		total_params += j->ne[0] * j->rows;
		if (S.verbose) {
			if (progress)
				fputs("\r\033[K", stderr);
			fprintf(stderr, "sl-quant: %-28s %6llu x %-6llu -> %-5s %10llu bytes\n", j->name,
				(unsigned long long)j->ne[0], (unsigned long long)j->rows, type_name(j->type),
				(unsigned long long)nb);
		}
		if (S.stats) {
			if (progress)
				fputs("\r\033[K", stderr);
			fprintf(stderr, "%-28s %-6s %12.4g %12.4g %9.4f%%\n", j->name, type_name(j->type),
				sl_qstats_rmse(&st), st.max_abs_err, 100.0 * sl_qstats_rel(&st));
			if (j->n_dims < 2)
				continue;      /* the total is over the weight matrices: norms stay exact */
			all.n += st.n;
			all.sum_sq_err += st.sum_sq_err;
			all.sum_sq_ref += st.sum_sq_ref;
			if (st.max_abs_err > all.max_abs_err)
				all.max_abs_err = st.max_abs_err;
		}
	}
	if (progress)
		fputs("\r\033[K", stderr);
	if (sl_gguf_write_finish(w, f))
		sl_die("%s: %s", S.out, sl_error());
	sl_out_commit();
	if (S.stats)
		fprintf(stderr, "%-28s %-6s %12.4g %12.4g %9.4f%%\n", "(all)", S.rc->name, sl_qstats_rmse(&all),
			all.max_abs_err, 100.0 * sl_qstats_rel(&all));
	if (!S.quiet)
		fprintf(stderr, "sl-quant: %s: %s, %d tensors, %llu parameters, %.1f MiB of weights, %.2f bits per weight\n",
			S.out, S.rc->name, S.n_jobs, (unsigned long long)total_params, total_bytes / 1048576.0,
			total_params ? 8.0 * total_bytes / total_params : 0.0);
	sl_pool_free(pool);
	free(b.out);
	free(b.scratch);
	free(b.st);
	free(b.failed);
	free(b.msg);
	sl_gguf_writer_free(w);
}

/* ==== --info ==== */

static void print_shape(char *buf, size_t n, uint32_t nd, const uint64_t *ne)
{
	size_t k = 0;

	buf[0] = 0;
	for (uint32_t d = 0; d < nd && k < n; d++)
		k += (size_t)snprintf(buf + k, n - k, "%s%llu", d ? " x " : "", (unsigned long long)ne[d]);
}

static void info_row(const char *name, const char *shape, const char *type, uint64_t bytes, uint64_t params,
		     uint64_t *tb, uint64_t *tp)
{
	printf("%-32s %-16s %-6s %12llu %7.3f\n", name, shape, type, (unsigned long long)bytes,
	       params ? 8.0 * bytes / params : 0.0);
	*tb += bytes;
	*tp += params;
}

static void info_hf(void)
{
	const sl_hf *m = &S.hf;
	const sl_hf_tok *t = &m->tok;
	uint64_t tb = 0, tp = 0;
	char shape[64];

	printf("file:          %s (Hugging Face directory, %d safetensors file%s)\n", S.in, m->st.n_files,
	       m->st.n_files == 1 ? "" : "s");
	printf("architecture:  llama\nname:          %s\n", m->name);
	printf("context:       %u\nembedding:     %u\nlayers:        %u\nffn:           %u\n", m->n_ctx, m->n_embd,
	       m->n_layer, m->n_ff);
	printf("heads:         %u (key/value heads %u, head dim %u)\n", m->n_head, m->n_head_kv, m->head_dim);
	printf("rope:          freq_base %g\nrms eps:       %g\nvocab:         %u\ntied output:   %s\n",
	       m->rope_theta, m->rms_eps, m->n_vocab, m->tied ? "yes" : "no");
	printf("tokenizer:     %s%s%s, %u tokens, %u merges, bos %d, eos %d, unk %d, pad %d, add_bos %s\n",
	       t->model, t->pre ? " pre " : "", t->pre ? t->pre : "", t->n_tokens, t->n_merges, t->bos, t->eos,
	       t->unk, t->pad, t->add_bos > 0 ? "yes" : "no");
	printf("chat template: %s\n", t->chat_template ? "yes" : "none");
	printf("eog ids:      ");
	for (int i = 0; i < m->n_eog; i++)
		printf(" %d", m->eog[i]);
	printf("\n\n%-32s %-16s %-6s %12s %7s\n", "tensor", "shape", "dtype", "bytes", "bpw");
	for (uint64_t i = 0; i < m->st.n_tensors; i++) {
		const sl_st_tensor *s = &m->st.tensors[i];
		size_t k = 0;
		shape[0] = 0;
		for (uint32_t d = 0; d < s->n_dims && k < sizeof shape; d++)
			k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%llu", d ? " x " : "",
					      (unsigned long long)s->shape[d]);
		info_row(s->name, shape, sl_st_dtype_name(s->dtype), s->nbytes, s->n_elems, &tb, &tp);
	}
	printf("total: %llu tensors, %llu parameters, %llu bytes, %.3f bits per weight\n",
	       (unsigned long long)m->st.n_tensors, (unsigned long long)tp, (unsigned long long)tb,
	       tp ? 8.0 * tb / tp : 0.0);
}

static void info_gguf(void)
{
	const sl_gguf *g = &S.g;
	static const struct {
		const char *label, *key;
	} hp[] = {
		{"context:", "llama.context_length"}, {"embedding:", "llama.embedding_length"},
		{"layers:", "llama.block_count"}, {"ffn:", "llama.feed_forward_length"},
		{"heads:", "llama.attention.head_count"}, {"kv heads:", "llama.attention.head_count_kv"},
		{"rope dims:", "llama.rope.dimension_count"}, {"vocab:", "llama.vocab_size"},
	};
	const sl_gguf_kv *kv;
	uint64_t tb = 0, tp = 0;
	char shape[64], *s = NULL;
	uint32_t u;
	float fv;

	printf("file:          %s (GGUF v%u, %llu bytes, alignment %u)\n", S.in, g->version,
	       (unsigned long long)g->map.size, g->alignment);
	printf("architecture:  %s\n", sl_gguf_get_str(g, "general.architecture", &s) == 1 ? s : "?");
	free(s);
	s = NULL;
	printf("name:          %s\n", sl_gguf_get_str(g, "general.name", &s) == 1 ? s : "-");
	free(s);
	s = NULL;
	if (sl_gguf_get_u32(g, "general.file_type", &u) == 1)
		printf("file type:     %u (%s)\n", u, ftype_name(u));
	for (size_t i = 0; i < sizeof hp / sizeof hp[0]; i++)
		if (sl_gguf_get_u32(g, hp[i].key, &u) == 1)
			printf("%-14s %u\n", hp[i].label, u);
	if (sl_gguf_get_f32(g, "llama.rope.freq_base", &fv) == 1)
		printf("rope:          freq_base %g\n", fv);
	if (sl_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &fv) == 1)
		printf("rms eps:       %g\n", fv);
	printf("tied output:   %s\n", sl_gguf_tensor_find(g, "output.weight") ? "no" : "yes");
	printf("tokenizer:     %s", sl_gguf_get_str(g, "tokenizer.ggml.model", &s) == 1 ? s : "none");
	free(s);
	s = NULL;
	if (sl_gguf_get_str(g, "tokenizer.ggml.pre", &s) == 1)
		printf(" pre %s", s);
	free(s);
	kv = sl_gguf_find(g, "tokenizer.ggml.tokens");
	printf(", %llu tokens", kv && kv->type == SL_GGUF_ARRAY ? (unsigned long long)kv->arr_n : 0ULL);
	kv = sl_gguf_find(g, "tokenizer.ggml.merges");
	printf(", %llu merges", kv && kv->type == SL_GGUF_ARRAY ? (unsigned long long)kv->arr_n : 0ULL);
	{
		static const char *const ids[][2] = {{"bos", "tokenizer.ggml.bos_token_id"},
			{"eos", "tokenizer.ggml.eos_token_id"}, {"unk", "tokenizer.ggml.unknown_token_id"},
			{"pad", "tokenizer.ggml.padding_token_id"}};
		int b = 0;
		for (size_t i = 0; i < 4; i++) {
			if (sl_gguf_get_u32(g, ids[i][1], &u) == 1)
				printf(", %s %u", ids[i][0], u);
			else
				printf(", %s -", ids[i][0]);
		}
		if (sl_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == 1)
			printf(", add_bos %s", b ? "yes" : "no");
	}
	kv = sl_gguf_find(g, "tokenizer.chat_template");
	printf("\nchat template: %s\n", kv ? "yes" : "none");
	kv = sl_gguf_find(g, "sl.eog_token_ids");
	printf("eog ids:      ");
	if (kv && kv->type == SL_GGUF_ARRAY && kv->arr_type == SL_GGUF_I32)
		for (uint64_t i = 0; i < kv->arr_n; i++) {
			const uint8_t *p = kv->arr_data + 4 * i;
			printf(" %d", (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24));
		}
	else
		printf(" (none)");
	printf("\n\n%-32s %-16s %-6s %12s %7s\n", "tensor", "shape", "type", "bytes", "bpw");
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const sl_gguf_tensor *t = &g->tensors[i];
		print_shape(shape, sizeof shape, t->n_dims, t->ne);
		info_row(t->name, shape, type_name(t->type), t->nbytes, t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3],
			 &tb, &tp);
	}
	printf("total: %llu tensors, %llu parameters, %llu bytes, %.3f bits per weight\n",
	       (unsigned long long)g->n_tensors, (unsigned long long)tp, (unsigned long long)tb,
	       tp ? 8.0 * tb / tp : 0.0);
}

static void usage_help(void)
{
	printf("%s\n\n"
	       "Convert a Hugging Face Llama model (directory with config.json, tokenizer.json and\n"
	       "safetensors, single or sharded) or an F32/F16/BF16 GGUF file into one GGUF v3 file.\n\n"
	       "  -t, --type TYPE   f32, f16, bf16, q8_0 (default), q4_0, q4_k, q6_k, or q4_k_m:\n"
	       "                    Q4_K with output/token_embd, and attn_v and ffn_down of the\n"
	       "                    \"more bits\" layers, in Q6_K (llama.cpp's Q4_K_M)\n"
	       "  -o, --output OUT  output file (default: DIR/model-TYPE.gguf, or NAME-TYPE.gguf\n"
	       "                    beside a GGUF input)\n"
	       "      --info        describe MODEL (GGUF or HF directory) on stdout and exit\n"
	       "      --stats       print each tensor's quantization error on stderr\n"
	       "  -j, --threads N   quantize with N threads (default: every core; same output)\n"
	       "  -q, --quiet       no messages but errors\n"
	       "  -v, --verbose     one line per tensor written\n"
	       "  -h, --help        this help\n"
	       "  -V, --version     print the version\n", usage);
	sl_close_stdout();
	exit(0);
}

/* ==== main ==== */

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"type", required_argument, NULL, 't'}, {"output", required_argument, NULL, 'o'},
		{"threads", required_argument, NULL, 'j'},
		{"info", no_argument, NULL, 'I'}, {"stats", no_argument, NULL, 'S'},
		{"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
	};
	const char *tname = "q8_0";
	int c, info = 0;
	struct stat sb;

	sl_cli_init(argv[0]);
	opterr = 0; /* sl_bad_option says it, with our program name */
	while ((c = getopt_long(argc, argv, ":t:o:j:qvhV", lopts, NULL)) != -1) {
		switch (c) {
		case 't': tname = optarg; break;
		case 'o': S.out = optarg; break;
		case 'j': S.threads = (int)sl_opt_int(usage, "-j", optarg, 0, 1024); break;
		case 'I': info = 1; break;
		case 'S': S.stats = 1; break;
		case 'q': S.quiet = 1; S.verbose = 0; break;
		case 'v': S.verbose = 1; S.quiet = 0; break;
		case 'h': usage_help(); break;
		case 'V': sl_version(); break;
		default: sl_bad_option(usage, c, argv);
		}
	}
	if (optind != argc - 1)
		sl_usage_error(usage, optind < argc ? "one model at a time" : "no model given");
	S.in = argv[optind];
	for (size_t i = 0; i < sizeof recipes / sizeof recipes[0]; i++)
		if (!strcmp(recipes[i].name, tname))
			S.rc = &recipes[i];
	if (!S.rc)
		sl_usage_error(usage, "unknown type '%s' (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q4_k_m)", tname);
	if (info && (S.out || S.stats))
		sl_usage_error(usage, "--info takes no -o or --stats");

	if (stat(S.in, &sb) != 0)
		sl_die("%s: %s", S.in, strerror(errno));
	S.is_hf = S_ISDIR(sb.st_mode);
	if (S.is_hf) {
		if (!sl_hf_is_dir(S.in))
			sl_die("%s: not a Hugging Face model directory (no config.json)", S.in);
		if (sl_hf_open(&S.hf, S.in))
			sl_die_lib();
	} else if (sl_gguf_open(&S.g, S.in)) {
		sl_die_lib();
	}
	if (info) {
		if (S.is_hf)
			info_hf();
		else
			info_gguf();
		sl_close_stdout();
		return 0;
	}
	if (S.is_hf ? collect_hf() : collect_gguf())
		sl_die_lib();
	if (!S.out)
		S.out = default_out();
	{
		struct stat so;
		if (stat(S.out, &so) == 0 && so.st_dev == sb.st_dev && so.st_ino == sb.st_ino)
			sl_die("%s: output would overwrite the input", S.out);
	}
	quantize();
	if (S.is_hf)
		sl_hf_close(&S.hf);
	else
		sl_gguf_close(&S.g);
	free(S.hft);
	free(S.jobs);
	return 0;
}
