/*
 * test_model — sl_model: loading and validation messages, and properties of the forward
 * pass that hold whatever the weights (its numbers are checked against the float64 HF
 * reference in tests/bats/sl-infer.bats through tests/ref/llama_ref.py):
 *
 *   - a batch of n tokens gives the same logits as the n tokens one at a time;
 *   - the logits do not depend on the number of threads (bit for bit);
 *   - the f16 KV cache stays close to the f32 one;
 *   - with every layer's weights zero, the blocks add nothing, so the logits are
 *     E · (g ⊙ e_t / rms(e_t)): computed here independently.
 *
 * Models are written with the GGUF writer into $TMPDIR, from a seeded RNG.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sl_err.h"
#include "sl_gguf.h"
#include "sl_model.h"
#include "sl_pool.h"
#include "sl_sample.h"
#include "sl_session.h"
#include "sl_stream.h"
#include "sl_sys.h"
#include "sl_types.h"

typedef struct {
	int vocab, dim, layers, heads, kv_heads, ffn, ctx;
	int tied, zero_layers;
	const char *arch;
	const char *drop;          /* tensor to leave out */
	const char *bad_shape;     /* tensor whose rows get one extra */
	const char *q4_1;          /* tensor stored as q4_1 (unsupported) */
	int vocab_key;             /* llama.vocab_size to write (0: none) */
	int eog;                   /* sl.eog_token_ids = {eog} if >= 0 */
} spec;

static spec base_spec(void)
{
	spec s = { .vocab = 40, .dim = 32, .layers = 2, .heads = 4, .kv_heads = 2, .ffn = 48,
		   .ctx = 64, .arch = "llama", .eog = 1 };
	return s;
}

static char path[256];

typedef struct {
	char name[64];
	uint64_t ne[2];
	int nd, zero;
} tdesc;

/* A tensor of ggml dims {a, b} ({a} when b is 0); zero: all weights 0. */
static void add(tdesc *t, int *nt, const char *name, uint64_t a, uint64_t b, int zero)
{
	snprintf(t[*nt].name, sizeof t[*nt].name, "%s", name);
	t[*nt].ne[0] = a;
	t[*nt].ne[1] = b;
	t[*nt].nd = b ? 2 : 1;
	t[*nt].zero = zero;
	(*nt)++;
}

/* Write a model to f; returns 0 or -1. */
static int write_model_to(const spec *s, FILE *f)
{
	sl_gguf_writer *w = sl_gguf_writer_new();
	sl_rng r;
	int hd = s->dim / (s->heads ? s->heads : 1);
	tdesc t[64];
	int nt = 0;

	if (!w || !f)
		return -1;
	sl_gguf_add_str(w, "general.architecture", s->arch);
	sl_gguf_add_u32(w, "llama.context_length", (uint32_t)s->ctx);
	sl_gguf_add_u32(w, "llama.embedding_length", (uint32_t)s->dim);
	sl_gguf_add_u32(w, "llama.block_count", (uint32_t)s->layers);
	sl_gguf_add_u32(w, "llama.feed_forward_length", (uint32_t)s->ffn);
	sl_gguf_add_u32(w, "llama.attention.head_count", (uint32_t)s->heads);
	sl_gguf_add_u32(w, "llama.attention.head_count_kv", (uint32_t)s->kv_heads);
	sl_gguf_add_f32(w, "llama.rope.freq_base", 10000.0f);
	sl_gguf_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	if (s->vocab_key)
		sl_gguf_add_u32(w, "llama.vocab_size", (uint32_t)s->vocab_key);
	sl_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
	if (s->eog >= 0) {
		int32_t e = s->eog;
		sl_gguf_add_arr(w, "sl.eog_token_ids", SL_GGUF_I32, 1, &e);
	}
	add(t, &nt, "token_embd.weight", s->dim, s->vocab, 0);
	add(t, &nt, "output_norm.weight", s->dim, 0, 0);
	if (!s->tied)
		add(t, &nt, "output.weight", s->dim, s->vocab, 0);
	for (int l = 0; l < s->layers; l++) {
		static const char *const nm[9] = { "attn_norm", "attn_q", "attn_k", "attn_v",
			"attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down" };
		const uint64_t ne[9][2] = {
			{ s->dim, 0 }, { s->dim, hd * s->heads }, { s->dim, hd * s->kv_heads },
			{ s->dim, hd * s->kv_heads }, { hd * s->heads, s->dim }, { s->dim, 0 },
			{ s->dim, s->ffn }, { s->dim, s->ffn }, { s->ffn, s->dim } };
		for (int k = 0; k < 9; k++) {
			char n[64];
			snprintf(n, sizeof n, "blk.%d.%s.weight", l, nm[k]);
			add(t, &nt, n, ne[k][0], ne[k][1], s->zero_layers && ne[k][1]);
		}
	}
	for (int i = 0; i < nt; i++) {
		uint32_t type = s->q4_1 && !strcmp(t[i].name, s->q4_1) ? SL_Q4_1 : SL_F32;
		if (s->drop && !strcmp(t[i].name, s->drop))
			continue;
		if (s->bad_shape && !strcmp(t[i].name, s->bad_shape))
			t[i].ne[t[i].nd - 1]++;
		if (sl_gguf_add_tensor(w, t[i].name, (uint32_t)t[i].nd, t[i].ne, type) < 0)
			return -1;
	}
	if (sl_gguf_write_header(w, f))
		return -1;
	sl_rng_seed(&r, 77);
	for (int i = 0; i < nt; i++) {
		if (s->drop && !strcmp(t[i].name, s->drop))
			continue;
		uint64_t n = t[i].ne[0] * (t[i].nd == 2 ? t[i].ne[1] : 1);
		if (s->q4_1 && !strcmp(t[i].name, s->q4_1)) {
			uint8_t *z = calloc(n / 32, 20);
			sl_gguf_write_data(w, f, z, n / 32 * 20);
			free(z);
			continue;
		}
		float *v = malloc(n * sizeof *v);
		for (uint64_t k = 0; k < n; k++) {
			double u = sl_rng_uniform(&r) - 0.5;
			/* norms near 1, matrices ~ U(-0.5, 0.5)·(scale for unit-ish outputs) */
			v[k] = t[i].nd == 1 ? (float)(1 + 0.4 * u) :
			       t[i].zero ? 0.0f : (float)(u * 2.0 / sqrt((double)t[i].ne[0]) * 1.7);
		}
		sl_gguf_write_data(w, f, v, n * sizeof *v);
		free(v);
	}
	if (sl_gguf_write_finish(w, f))
		return -1;
	sl_gguf_writer_free(w);
	return 0;
}

/* Write a model to `path`. */
static int write_model(const spec *s)
{
	FILE *f = fopen(path, "wb");

	if (!f || write_model_to(s, f)) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

/* Open a model that must fail with exactly "path: want". */
static void expect_error(const spec *s, const char *want)
{
	char full[512];
	sl_model *m;

	CHECK(write_model(s) == 0);
	m = sl_model_open(path, 0);
	snprintf(full, sizeof full, "%s: %s", path, want);
	CHECK_MSG(m == NULL && strcmp(sl_error(), full) == 0, "got '%s', want '%s'",
		  m ? "(opened)" : sl_error(), full);
	sl_model_close(m);
}

static void test_errors(void)
{
	spec s;

	s = base_spec(); s.drop = "blk.1.ffn_up.weight";
	expect_error(&s, "missing tensor blk.1.ffn_up.weight");
	s = base_spec(); s.bad_shape = "blk.0.attn_k.weight";
	expect_error(&s, "tensor blk.0.attn_k.weight has shape [32, 17, 1, 1], expected [32, 16]");
	s = base_spec(); s.q4_1 = "blk.0.ffn_gate.weight";
	expect_error(&s, "tensor blk.0.ffn_gate.weight has type q4_1, which sl does not support "
		     "(f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q3_k, q2_k)");
	s = base_spec(); s.kv_heads = 3; s.heads = 4;
	expect_error(&s, "head_count 4 is not a multiple of head_count_kv 3");
	s = base_spec(); s.heads = 5; s.kv_heads = 5;
	expect_error(&s, "embedding_length 32 is not a multiple of head_count 5");
	s = base_spec(); s.arch = "gpt2";
	expect_error(&s, "architecture 'gpt2' is not supported (only llama)");
	s = base_spec(); s.vocab_key = 41;
	expect_error(&s, "llama.vocab_size 41 differs from token_embd.weight's 40 rows");
	s = base_spec(); s.eog = 40;
	expect_error(&s, "sl.eog_token_ids: id 40 is not in the vocabulary (40)");
	s = base_spec(); s.ctx = 0;
	expect_error(&s, "llama.context_length = 0 is out of range (1..16777216)");
}

static double max_abs(const float *a, size_t n)
{
	double m = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs(a[i]) > m)
			m = fabs(a[i]);
	return m;
}

static double max_diff(const float *a, const float *b, size_t n)
{
	double m = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs(a[i] - b[i]) > m || a[i] != a[i] || b[i] != b[i])
			m = fabs(a[i] - b[i]) > m ? fabs(a[i] - b[i]) : INFINITY;
	return m;
}

enum { NT = 20 };
static const int32_t toks[NT] = {1, 5, 9, 33, 2, 7, 7, 7, 39, 0, 12, 13, 14, 30, 31, 4, 8, 16, 1, 3};

/* Logits of toks in batches of `batch` (all rows), threads, kv type. */
static float *run(sl_model *m, int batch, int threads, uint32_t kv)
{
	sl_state *s = sl_state_new(m, NT, batch, kv, 1);
	sl_pool *pool = threads ? sl_pool_new(threads) : NULL;
	int V = m->cfg.n_vocab;
	float *out = malloc((size_t)NT * V * sizeof *out);

	for (int i = 0; i < NT; i += batch) {
		int n = NT - i < batch ? NT - i : batch;
		const float *l = sl_forward(m, s, pool, toks + i, n, i, 1);
		CHECK(l != NULL);
		if (l)
			memcpy(out + (size_t)i * V, l, (size_t)n * V * sizeof *out);
	}
	sl_pool_free(pool);
	sl_state_free(s);
	return out;
}

static void test_forward(int tied)
{
	spec sp = base_spec();
	sl_model *m;

	sp.tied = tied;
	CHECK(write_model(&sp) == 0);
	m = sl_model_open(path, 0);
	CHECK_MSG(m != NULL, "%s", sl_error());
	if (!m)
		return;
	CHECK(m->cfg.n_vocab == 40 && m->cfg.dim == 32 && m->cfg.n_layers == 2 && m->cfg.head_dim == 8);
	CHECK(m->cfg.n_heads == 4 && m->cfg.n_kv_heads == 2 && m->cfg.hidden_dim == 48);
	CHECK(m->cfg.n_ctx_train == 64 && m->cfg.bos == 1 && m->cfg.n_eog == 1 && m->cfg.eog[0] == 1);
	CHECK(m->cfg.tied == tied && (m->output.data == m->tok_embd.data) == tied);

	size_t n = (size_t)NT * m->cfg.n_vocab;
	float *one = run(m, 1, 1, SL_F32), *batch = run(m, NT, 1, SL_F32), *odd = run(m, 7, 2, SL_F32);
	float *thr = run(m, 7, 1, SL_F32), *none = run(m, 7, 0, SL_F32), *f16 = run(m, 7, 2, SL_F16);
	double scale = max_abs(one, n);

	CHECK_MSG(scale > 1, "logits are not trivially small (%g)", scale);
	CHECK_MSG(max_diff(one, batch, n) <= 1e-5 * scale, "batch of 20 vs one by one: %g",
		  max_diff(one, batch, n));
	CHECK_MSG(max_diff(one, odd, n) <= 1e-5 * scale, "batches of 7 vs one by one: %g",
		  max_diff(one, odd, n));
	CHECK_MSG(memcmp(odd, thr, n * sizeof *odd) == 0, "1 vs 2 threads differ");
	CHECK_MSG(memcmp(odd, none, n * sizeof *odd) == 0, "no pool vs 2 threads differ");
	CHECK_MSG(max_diff(odd, f16, n) <= 5e-3 * scale, "f16 KV cache: %g", max_diff(odd, f16, n));

	/* Out-of-range calls fail instead of touching memory. */
	sl_state *s = sl_state_new(m, 4, 4, SL_F16, 0);
	int32_t bad = 40, ok[5] = {1, 2, 3, 4, 5};
	CHECK(sl_forward(m, s, NULL, ok, 5, 0, 0) == NULL);
	CHECK(sl_forward(m, s, NULL, ok, 2, 3, 0) == NULL);
	CHECK(sl_forward(m, s, NULL, &bad, 1, 0, 0) == NULL);
	CHECK(sl_forward(m, s, NULL, ok, 4, 0, 0) != NULL);
	CHECK(sl_state_new(m, 65, 4, SL_F16, 0) == NULL);
	CHECK(sl_forward(m, s, NULL, ok, 2, 0, 1) == NULL); /* no room for 2 rows of logits */
	sl_state_free(s);

	free(one); free(batch); free(odd); free(thr); free(none); free(f16);
	sl_model_close(m);
}

/* sum of a step-time table */
static double steps_sum(const sl_step_times *t)
{
	double all = 0;
	for (int i = 0; i < SL_N_STEPS; i++)
		all += t->s[i];
	return all;
}

/*
 * sl_state.times: every step of a pass adds its time (none is left out or counted twice:
 * together they are the pass's time, within the clock reads between them), and keeping
 * them changes no logit.  Then the session's two tables, one for feeding, one for
 * generating.
 */
static void test_step_times(void)
{
	spec sp = base_spec();
	sl_model *m;
	const char *seen[SL_N_STEPS];

	for (int i = 0; i < SL_N_STEPS; i++) {
		seen[i] = sl_step_name(i);
		CHECK_MSG(seen[i] && *seen[i], "step %d has no name", i);
		for (int k = 0; seen[i] && k < i; k++)
			CHECK_MSG(!seen[k] || strcmp(seen[k], seen[i]) != 0, "steps %d and %d are both %s", k, i, seen[i]);
	}
	CHECK(sl_step_name(-1) == NULL && sl_step_name(SL_N_STEPS) == NULL);

	CHECK(write_model(&sp) == 0);
	m = sl_model_open(path, 0);
	CHECK_MSG(m != NULL, "%s", sl_error());
	if (!m)
		return;
	int V = m->cfg.n_vocab;
	sl_state *plain = sl_state_new(m, NT, 5, SL_F16, 0), *timed = sl_state_new(m, NT, 5, SL_F16, 0);
	sl_pool *pool = sl_pool_new(2);
	sl_step_times t = { { 0 } };
	CHECK(plain && timed && pool);
	if (!plain || !timed || !pool)
		goto done;
	timed->times = &t;
	for (int pos = 0, n = 5; pos + n <= NT; pos += n, n = 1) { /* a batch, then one at a time */
		const float *a = sl_forward(m, plain, pool, toks + pos, n, pos, 0);
		float want[64];
		CHECK(a != NULL && V <= 64);
		if (!a || V > 64)
			break;
		memcpy(want, a, (size_t)V * sizeof *want);
		/* The steps cover most of a pass: in one of a few tries, since a pass of this
		 * model takes ~100 µs and the thread can lose the core for longer, between steps
		 * (a pass again at the same positions gives the same cache and result). */
		double steps = 0, wall = 0;
		int covered = 0, over = 0;
		for (int attempt = 0; attempt < 5 && !covered; attempt++) {
			double before = steps_sum(&t), t0 = sl_time_now();
			const float *b = sl_forward(m, timed, pool, toks + pos, n, pos, 0);
			wall = sl_time_now() - t0;
			steps = steps_sum(&t) - before;
			CHECK(b != NULL && memcmp(want, b, (size_t)V * sizeof *b) == 0);
			over += steps > wall;
			covered = steps > 0.5 * wall;
		}
		CHECK_MSG(over == 0 && covered, "the steps took %g s of a pass of %g s", steps, wall);
	}
	for (int i = 0; i < SL_N_STEPS; i++)
		CHECK_MSG(t.s[i] > 0, "step %s took no time", sl_step_name(i));

	/* a session keeps two tables when asked, none otherwise */
	sl_session_params p = sl_session_defaults();
	p.n_ctx = 16;
	p.threads = 2;
	p.seed = 1;
	sl_session *plain_s = sl_session_new(m, &p);
	p.step_times = 1;
	sl_session *ss = sl_session_new(m, &p);
	CHECK(plain_s && ss);
	if (plain_s && ss) {
		int32_t id;
		CHECK(sl_session_feed(plain_s, toks, 3) == 0);
		CHECK(sl_session_get_info(plain_s).feed_steps == NULL && sl_session_get_info(plain_s).gen_steps == NULL);
		CHECK(sl_session_feed(ss, toks, 3) == 0);
		sl_session_info i = sl_session_get_info(ss);
		CHECK(i.feed_steps && i.gen_steps);
		if (i.feed_steps && i.gen_steps) {
			double fed = steps_sum(i.feed_steps);
			CHECK(fed > 0 && steps_sum(i.gen_steps) == 0);
			CHECK(sl_session_step(ss, &id) == SL_STOP_NONE); /* the fed ids' logits: no pass */
			CHECK(sl_session_step(ss, &id) == SL_STOP_NONE); /* runs the sampled id */
			CHECK(steps_sum(i.feed_steps) == fed && steps_sum(i.gen_steps) > 0);
		}
	}
	sl_session_free(plain_s);
	sl_session_free(ss);
done:
	sl_pool_free(pool);
	sl_state_free(plain);
	sl_state_free(timed);
	sl_model_close(m);
}

/*
 * A provider that holds one layer at a time: acquire copies the layer's matrices from the
 * inner (mapped) provider into one slot, release poisons the slot.  If sl_forward read a
 * layer outside acquire/release, or the wrong layer, the logits would change.
 */
typedef struct {
	sl_provider p;
	sl_provider *inner;
	sl_layer view;
	unsigned char *slot;
	size_t slot_size;
	int held, acquires, releases, bad_order;
} one_slot;

static const void *slot_pin(sl_provider *pp, int shard, const sl_gguf_tensor *t)
{
	one_slot *o = (one_slot *)pp;
	return o->inner->pin(o->inner, shard, t);
}

static const sl_layer *slot_acquire(sl_provider *pp, const sl_layer *tmpl, int l)
{
	one_slot *o = (one_slot *)pp;
	size_t off = 0;

	if (o->held >= 0)
		o->bad_order++;
	o->view = *tmpl;
	for (int i = 0; i < SL_LM_COUNT; i++) {
		size_t n = (size_t)tmpl->mat[i].rows * tmpl->mat[i].row_bytes;
		if (off + n > o->slot_size)
			return sl_seterr("slot too small"), NULL;
		memcpy(o->slot + off, tmpl->mat[i].src->data, n);
		o->view.mat[i].data = o->slot + off;
		off += n;
	}
	o->held = l;
	o->acquires++;
	return &o->view;
}

static void slot_release(sl_provider *pp, int l)
{
	one_slot *o = (one_slot *)pp;

	if (o->held != l)
		o->bad_order++;
	memset(o->slot, 0xff, o->slot_size); /* f32 NaN: any later read shows */
	o->held = -1;
	o->releases++;
}

static void slot_free(sl_provider *pp)
{
	(void)pp; /* the test frees it: it reads the counters after sl_model_close */
}

/* The same logits from the file mapped, from a buffer in memory (no file), and one layer at a time. */
static void test_providers(void)
{
	spec sp = base_spec();
	char *buf = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);

	CHECK(write_model(&sp) == 0);
	CHECK(mf && write_model_to(&sp, mf) == 0 && fclose(mf) == 0);
	sl_model *mapped = sl_model_open(path, 0);
	const void *bufs[1] = { buf };
	uint64_t sizes[1] = { len };
	sl_model *mem = sl_model_new(sl_provider_memory(bufs, sizes, 1, "test-buffer"));
	CHECK_MSG(mapped && mem, "%s", sl_error());
	if (!mapped || !mem)
		goto out;
	CHECK(strcmp(mapped->prov->kind, SL_MAP_MAPS ? "mapped" : "read") == 0 &&
	      strcmp(mem->prov->kind, "memory") == 0);
	/* weights are used where they are, not copied */
	CHECK((const char *)mem->tok_embd.data > buf && (const char *)mem->tok_embd.data < buf + len);

	size_t n = (size_t)NT * mapped->cfg.n_vocab;
	float *a = run(mapped, 7, 2, SL_F32), *b = run(mem, 7, 2, SL_F32);
	CHECK_MSG(memcmp(a, b, n * sizeof *a) == 0, "memory buffer vs mapped file: logits differ");

	one_slot o = { .p = *mapped->prov, .held = -1 };
	o.inner = sl_provider_file(path, 0);
	o.p.pin = slot_pin;
	o.p.acquire = slot_acquire;
	o.p.release = slot_release;
	o.p.free = slot_free;
	o.p.kind = "one-slot";
	o.p.shards = o.inner->shards;
	o.slot_size = 1 << 16;
	o.slot = malloc(o.slot_size);
	sl_model *slot = sl_model_new(&o.p);
	CHECK_MSG(slot != NULL, "%s", sl_error());
	if (slot) {
		float *c = run(slot, 7, 2, SL_F32);
		CHECK_MSG(memcmp(a, c, n * sizeof *a) == 0, "one layer at a time: logits differ");
		/* 3 forward calls (20 ids in batches of 7), 2 layers each */
		CHECK_MSG(o.acquires == 6 && o.releases == 6 && o.bad_order == 0,
			  "acquires %d releases %d out of order %d", o.acquires, o.releases, o.bad_order);
		free(c);
		sl_model_close(slot);
	}
	sl_provider_free(o.inner);
	free(o.slot);
	free(a);
	free(b);
out:
	sl_model_close(mapped);
	sl_model_close(mem);
	free(buf);
}

/* Bytes of layer l's matrices. */
static uint64_t layer_bytes(const sl_model *m, int l)
{
	uint64_t n = 0;

	for (int i = 0; i < SL_LM_COUNT; i++)
		n += (uint64_t)m->layers[l].mat[i].rows * m->layers[l].mat[i].row_bytes;
	return n;
}

/*
 * The streaming provider: the logits of the mapped file at every budget, from the minimum
 * (every layer streamed through two buffers) to two layers resident to all of them; the
 * refusal below the minimum; a layer asked for out of order still comes right.
 */
static void test_stream(void)
{
	spec sp = base_spec();
	sp.layers = 6;
	sp.dim = 64;
	sp.heads = 4;
	sp.ffn = 96;
	CHECK(write_model(&sp) == 0);
	sl_model *mapped = sl_model_open(path, 0);
	CHECK_MSG(mapped != NULL, "%s", sl_error());
	if (!mapped)
		return;
	size_t n = (size_t)NT * mapped->cfg.n_vocab;
	float *want = run(mapped, 7, 2, SL_F32);
	uint64_t lb = layer_bytes(mapped, 0);

	for (int extra = -1; extra <= 7; extra++) {
		sl_model *m = sl_model_new(sl_provider_stream(path));
		CHECK_MSG(m != NULL, "%s", sl_error());
		if (!m)
			continue;
		uint64_t min = sl_stream_min_budget(m->prov, m, 2, 1000);
		/* the buffers round each layer out to whole 4 KiB blocks */
		uint64_t slot = (min - 1000 - 0) / 2, budget;
		sl_stream_opts o = { 0, 1000, 2, extra % 2 };
		(void)lb;
		if (extra < 0) {
			o.budget = min - 1;
			CHECK(sl_stream_plan(m->prov, m, &o) == -1);
			CHECK_MSG(strstr(sl_error(), "is below the minimum of") != NULL, "%s", sl_error());
			sl_model_close(m);
			continue;
		}
		sl_stream_stats st;
		budget = min + (uint64_t)extra * slot;
		o.budget = budget;
		CHECK_MSG(sl_stream_plan(m->prov, m, &o) == 0, "%s", sl_error());
		CHECK(sl_stream_get_stats(m->prov, &st) == 0);
		/* at min + 4 layers, the two buffers and four layers are room for all six */
		int want_res = extra >= 4 ? 6 : extra;
		CHECK_MSG(st.n_resident == want_res && st.n_streamed == 6 - want_res,
			  "budget min + %d layers: %d resident, %d streamed", extra, st.n_resident, st.n_streamed);
		CHECK(st.pinned_bytes + st.resident_bytes + st.ring_bytes + 1000 <= budget);
		float *got = run(m, 7, 2, SL_F32);
		CHECK_MSG(memcmp(want, got, n * sizeof *got) == 0, "budget min + %d layers: logits differ", extra);
		CHECK(sl_stream_get_stats(m->prov, &st) == 0);
		/* 3 passes (20 ids in batches of 7), each reading every streamed layer once, and
		 * the I/O thread may have read the next pass's first layers ahead */
		CHECK_MSG(st.read_bytes >= 3 * st.pass_bytes && st.read_bytes <= 3 * st.pass_bytes + st.ring_bytes,
			  "read %llu, pass %llu", (unsigned long long)st.read_bytes, (unsigned long long)st.pass_bytes);
		if (extra == 2) {
			/* out of order: each layer still holds its own weights */
			static const int ls[] = { 4, 5, 3, 0, 5, 2 };
			for (int k = 0; k < 6; k++) {
				int l = ls[k];
				const sl_layer *v = m->prov->acquire(m->prov, &m->layers[l], l);
				const sl_layer *r = mapped->prov->acquire(mapped->prov, &mapped->layers[l], l);
				CHECK(v && r);
				for (int i = 0; v && r && i < SL_LM_COUNT; i++)
					CHECK_MSG(memcmp(v->mat[i].data, r->mat[i].data,
							 (size_t)r->mat[i].rows * r->mat[i].row_bytes) == 0,
						  "layer %d matrix %d", l, i);
				m->prov->release(m->prov, l);
				mapped->prov->release(mapped->prov, l);
			}
		}
		free(got);
		sl_model_close(m);
	}
	free(want);
	sl_model_close(mapped);
}

/* Zero blocks: logits[t] = E · (g ⊙ e / sqrt(mean(e²) + eps)) with g the final norm. */
static void test_zero_layers(void)
{
	spec sp = base_spec();
	sl_model *m;

	sp.zero_layers = 1;
	sp.tied = 1;
	CHECK(write_model(&sp) == 0);
	m = sl_model_open(path, 0);
	CHECK(m != NULL);
	if (!m)
		return;
	float *got = run(m, 5, 1, SL_F16);
	const float *E = m->tok_embd.data, *g = m->out_norm.data; /* f32 in this file */
	int V = m->cfg.n_vocab, D = m->cfg.dim;
	double worst = 0;
	for (int t = 0; t < NT; t++) {
		const float *e = E + (size_t)toks[t] * D;
		double ss = 0;
		for (int i = 0; i < D; i++)
			ss += (double)e[i] * e[i];
		double r = 1 / sqrt(ss / D + 1e-5);
		for (int v = 0; v < V; v++) {
			double want = 0;
			for (int i = 0; i < D; i++)
				want += (double)E[(size_t)v * D + i] * g[i] * e[i] * r;
			double d = fabs(want - got[(size_t)t * V + v]);
			if (d > worst)
				worst = d;
		}
	}
	CHECK_MSG(worst < 1e-4, "zero blocks: max error %g", worst);
	free(got);
	sl_model_close(m);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(path, sizeof path, "%s/test_model.%d.gguf", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	test_errors();
	test_forward(0);
	test_forward(1);
	test_zero_layers();
	test_step_times();
	test_providers();
	test_stream();
	unlink(path);
	return CHECK_DONE();
}
