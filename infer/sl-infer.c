/*
 * sl-infer — continue a token stream with a Llama model.
 *
 *     echo "Once upon a time" | sl-tok | sl-infer | sl-detok
 *
 * Reads prompt ids (sl-tokens(5)) to end of input, runs them through the model in batches,
 * then samples up to -n ids one at a time, writing and flushing each as soon as it is
 * chosen, so the pipeline streams.  Generation stops at an end-of-generation id (not
 * written), after -n ids, or when prompt and output fill the context.  This file loads and
 * reports; the options are options.c, the budget memory.c, --score score.c (infer.h), and the
 * loop of generation is lib/sl_session.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "infer.h"
#include "sl_cli.h"
#include "sl_kernels.h"
#include "sl_provider_chunk.h"
#include "sl_model.h"
#include "sl_session.h"
#include "sl_stream.h"
#include "sl_sys.h"
#include "sl_tokio.h"
#include "sl_types.h"

/* ==== output helpers ==== */

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		sl_die("%s: %s", path, strerror(errno));
	sl_out_remove_on_failure(path);
	return f;
}

static void close_out(FILE *f, const char *path)
{
	if (f && (fflush(f) != 0 || ferror(f) || fclose(f) != 0))
		sl_die("%s: %s", path, strerror(errno));
}

static void emit(int32_t id)
{
	if (sl_tokout(stdout, id, 1))
		sl_die_lib();
}

/* ==== the run ==== */

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		sl_die("out of memory");
	return p;
}

/* Every row of logits the session computes goes to --logits. */
static void on_logits(void *ctx, const float *rows, int n_rows, int vocab)
{
	run *r = ctx;

	if (fwrite(rows, sizeof(float) * (size_t)vocab, (size_t)n_rows, r->logits_fp) != (size_t)n_rows)
		sl_die("%s: %s", r->o.logits_path, strerror(errno));
}

/* Read all prompt ids; an empty prompt becomes BOS.  Returns the seconds spent waiting. */
static double read_prompt(run *r)
{
	FILE *fp = stdin;
	sl_tokin in;
	double t0 = sl_time_now();

	r->in_name = "<stdin>";
	if (r->o.in_path) {
		fp = fopen(r->o.in_path, "r");
		if (!fp)
			sl_die("%s: %s", r->o.in_path, strerror(errno));
		r->in_name = r->o.in_path;
	}
	sl_tokin_init(&in, fp, r->in_name);
	if (sl_tokin_read_all(&in, r->m->cfg.n_vocab, &r->prompt, &r->n_prompt))
		sl_die_lib();
	if (fp != stdin)
		fclose(fp);
	if (r->o.score && r->n_prompt < 2)
		sl_die("%s: --score needs at least 2 ids (it scores each id after the first)", r->in_name);
	if (r->n_prompt > (size_t)r->n_ctx && !r->o.score) /* --score: in windows */
		sl_die("%s: the prompt has %zu ids, more than the context (%d)", r->in_name, r->n_prompt,
		       r->n_ctx);
	return sl_time_now() - t0;
}

/* Map and check the model (or open it for streaming), read the prompt, make the session
 * (cache: prompt + N ids), and under a budget decide what stays in memory. */
static void load(run *r)
{
	options *o = &r->o;
	sl_session_params *p = &o->p;
	double t0 = sl_time_now(), waited;
	long long want;

	choose_budget(r);
	sl_cli_on_sigbus(o->model_path);
	r->m = r->budget ? sl_model_new(sl_provider_open_stream(o->model_path)) :
			   sl_model_open(o->model_path, o->no_mmap ? SL_MODEL_READ : 0);
	if (!r->m)
		sl_die_lib();
	if (o->ctx > r->m->cfg.n_ctx_train)
		sl_die("%s: context %lld is larger than the model's context length %d", o->model_path,
		       o->ctx, r->m->cfg.n_ctx_train);
	r->n_ctx = o->ctx ? (int)o->ctx : r->m->cfg.n_ctx_train;
	waited = read_prompt(r);
	if (o->logits_path)
		r->logits_fp = open_out(o->logits_path);
	if (o->probs_path)
		r->probs_fp = open_out(o->probs_path);

	want = (long long)r->n_prompt + (o->score ? 0 : p->n_predict);
	p->all_logits = o->score;
	p->n_ctx = r->n_ctx;
	p->n_cache = want < r->n_ctx ? (int)want : r->n_ctx;
	if (r->budget && !o->have_batch) /* each batch reads the streamed layers once */
		p->n_batch = r->n_prompt < 256 ? (r->n_prompt ? (int)r->n_prompt : 1) : 256;
	if (p->kv_type == SL_Q8_0 && r->m->cfg.head_dim % 32 && !o->have_kv)
		p->kv_type = SL_F16; /* the profile's q8_0 does not fit this model's heads */
	if (!o->have_seed)
		p->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	p->on_logits = r->logits_fp ? on_logits : NULL;
	p->ctx = r;
	p->step_times = o->stats;
	r->ss = sl_session_new(r->m, p);
	if (!r->ss)
		sl_die_lib();
	if (r->budget)
		plan_budget(r);
	if (o->top > 0) {
		if (o->top > r->m->cfg.n_vocab)
			o->top = r->m->cfg.n_vocab;
		r->top_ids = xmalloc((size_t)o->top * sizeof *r->top_ids);
		r->top_p = xmalloc((size_t)o->top * sizeof *r->top_p);
	}
	r->t_load = sl_time_now() - t0 - waited;
}

static void describe(const run *r)
{
	sl_session_info i = sl_session_get_info(r->ss);
	sl_stream_stats st;
	char what[256], how[80];

	sl_warn("%s: %s", r->o.model_path, sl_model_describe(r->m, what, sizeof what));
	sl_warn("model %s; %.1f MiB of weights read per generated id",
		sl_provider_describe(r->m->prov, how, sizeof how), sl_model_weight_bytes(r->m) / 1048576.0);
	sl_warn("%zu prompt ids, context %d (cache for %d, %s), %d threads, kernels %s, seed %llu",
		r->n_prompt, i.n_ctx, i.n_cache, r->o.p.kv_type == SL_F32 ? "f32" : "f16", i.threads,
		r->o.p.exact ? "exact" : sl_kernels_name(), (unsigned long long)i.seed);
	if (sl_stream_get_stats(r->m->prov, &st) == 0)
		sl_warn("memory budget %.1f MiB (from %s%s%s): %d of %d layers resident, %d streamed "
			"through %d buffers (%s reads), KV cache %s, batches of %d", r->budget / 1048576.0,
			r->budget_from, r->o.profile ? ", profile " : "", r->o.profile ? r->o.profile : "",
			st.n_resident, st.n_resident + st.n_streamed, st.n_streamed, st.ring,
			st.direct ? "direct" : "buffered", sl_type_get(r->o.p.kv_type)->name, r->o.p.n_batch);
}

static void write_top(run *r)
{
	FILE *f = r->probs_fp ? r->probs_fp : stderr;
	int n = sl_session_top(r->ss, (int)r->o.top, r->top_ids, r->top_p);

	fprintf(f, "%d\t", sl_session_get_info(r->ss).n_ids);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%d:%.6f", i ? " " : "", r->top_ids[i], (double)r->top_p[i]);
	fputc('\n', f);
}

/* Sample and write ids until the session stops; returns why. */
static sl_stop generate(run *r)
{
	sl_stop why;
	int32_t id;

	while ((why = sl_session_next(r->ss)) == SL_STOP_NONE) {
		if (r->o.top > 0)
			write_top(r);
		why = sl_session_sample(r->ss, &id);
		if (why != SL_STOP_NONE)
			break;
		emit(id);
	}
	if (why == SL_STOP_ERROR)
		sl_die_lib();
	return why;
}

/* "what, time by step: embed 0.0 ms (0.0%), ..., head 3.1 ms (1.4%)": every step, in order */
static void print_steps(const char *what, const sl_step_times *t)
{
	char line[1024];
	double all = 0;
	int n = 0;

	for (int i = 0; i < SL_N_STEPS; i++)
		all += t->s[i];
	if (all <= 0)
		return;
	for (int i = 0; i < SL_N_STEPS && n < (int)sizeof line; i++)
		n += snprintf(line + n, sizeof line - (size_t)n, "%s%s %.1f ms (%.1f%%)", i ? ", " : "",
			      sl_step_name(i), t->s[i] * 1e3, 100 * t->s[i] / all);
	sl_warn("%s, time by step: %s", what, line);
}

static void print_stats(const run *r)
{
	sl_session_info i = sl_session_get_info(r->ss);
	sl_stream_stats st;
	char how[80];

	sl_warn("load %.1f ms (model %s, state %.1f MiB)", r->t_load * 1e3,
		sl_provider_describe(r->m->prov, how, sizeof how), i.state_bytes / 1048576.0);
	sl_warn("prompt %zu ids in %.1f ms (%.1f ids/s)", r->n_prompt, i.feed_s * 1e3,
		i.feed_s > 0 ? r->n_prompt / i.feed_s : 0);
	if (i.first_s >= 0)
		sl_warn("first id after %.1f ms", i.first_s * 1e3);
	sl_warn("generated %lld ids in %.1f ms (%.1f ids/s)", i.n_generated, i.gen_s * 1e3,
		i.gen_s > 0 && i.n_generated > 0 ? i.n_generated / i.gen_s : 0);
	if (i.feed_steps)
		print_steps(r->o.score ? "scoring" : "prompt", i.feed_steps);
	if (i.gen_steps)
		print_steps("generation", i.gen_steps);
	sl_warn("one-id products asked for their weights %ld bytes ahead (%s)", sl_kernels_prefetch(),
		sl_kernels_prefetch_how());
	sl_warn("peak RSS %.1f MiB", sl_peak_rss() / 1048576.0);
	if (sl_stream_get_stats(r->m->prov, &st) == 0)
		sl_warn("memory: %.1f MiB resident (pinned %.1f, %d layers %.1f, buffers %.1f), %.1f MiB "
			"re-read per id; read %.1f MiB in %.1f ms (%.0f MB/s), waited %.1f ms",
			(st.pinned_bytes + st.resident_bytes + st.ring_bytes) / 1048576.0,
			st.pinned_bytes / 1048576.0, st.n_resident, st.resident_bytes / 1048576.0,
			st.ring_bytes / 1048576.0, st.pass_bytes / 1048576.0, st.read_bytes / 1048576.0,
			st.read_s * 1e3, st.read_s > 0 ? st.read_bytes / st.read_s / 1e6 : 0, st.wait_s * 1e3);
}

/* ==== main ==== */

int main(int argc, char **argv)
{
	run r = {0};
	sl_stop why;

	sl_cli_init(argv[0]);
	parse_options(&r.o, argc, argv);
	const char *ks = getenv("SL_KERNELS");
	if (ks && *ks && strcmp(ks, sl_kernels_name()) != 0 && !r.o.quiet)
		sl_warn("SL_KERNELS=%s: not a kernel set this CPU runs (avx512, avx2-vnni, avx2 or ref); "
			"using %s", ks, sl_kernels_name());
	const char *pf = getenv("SL_PREFETCH_AHEAD");
	if (pf && sl_kernels_prefetch_parse(pf) < 0 && !r.o.quiet)
		sl_warn("SL_PREFETCH_AHEAD=%s: not a number of bytes from 0 to 1048576; ignored", pf);
	if (!r.o.model_path)
		r.o.model_path = sl_default_model();
	load(&r);
	if (r.o.score) {
		if (r.o.verbose)
			describe(&r);
		score(&r);
		sl_close_stdout();
		if (r.o.stats)
			print_stats(&r);
		goto done;
	}
	if (sl_session_start(r.ss, r.prompt, (int)r.n_prompt))
		sl_die("%s: %s", r.in_name, sl_error());
	r.n_prompt = (size_t)sl_session_get_info(r.ss).n_ids; /* BOS, if it was empty */
	if (r.o.verbose)
		describe(&r);
	if (r.o.echo)
		for (size_t k = 0; k < r.n_prompt; k++)
			emit(sl_session_get_info(r.ss).ids[k]);
	why = generate(&r);
	if (why == SL_STOP_CONTEXT && !r.o.quiet)
		sl_warn("context full (%d ids): stopped after %lld of %lld ids", r.n_ctx,
			sl_session_get_info(r.ss).n_generated, r.o.p.n_predict);

	close_out(r.logits_fp, r.o.logits_path);
	close_out(r.probs_fp, r.o.probs_path);
	sl_close_stdout();
	if (r.o.stats)
		print_stats(&r);
done: /* freed, so that a leak checker sees only real leaks */
	free(r.prompt);
	free(r.top_ids);
	free(r.top_p);
	sl_session_free(r.ss);
	sl_model_close(r.m);
	return SL_EXIT_OK;
}
