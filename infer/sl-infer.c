/*
 * sl-infer — continue a token stream with a Llama model.
 *
 *     echo "Once upon a time" | sl-tok | sl-infer | sl-detok
 *
 * Reads prompt ids (sl-tokens(5)) to end of input, runs them through the model in batches,
 * then samples up to -n ids one at a time, writing and flushing each as soon as it is
 * chosen, so the pipeline streams.  Generation stops at an end-of-generation id (not
 * written), after -n ids, or when prompt and output fill the context.  This file is options
 * and token-stream I/O; the loop of generation is lib/sl_session.c.
 */
#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sl_budget.h"
#include "sl_cli.h"
#include "sl_kernels.h"
#include "sl_kld.h"
#include "sl_provider_chunk.h"
#include "sl_model.h"
#include "sl_session.h"
#include "sl_stream.h"
#include "sl_sys.h"
#include "sl_tokio.h"
#include "sl_types.h"

static const char usage[] =
	"usage: sl-infer [-qvV] [-m model] [-n count] [-c context] [-t threads] [--temp T]\n"
	"                [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S]\n"
	"                [--echo] [--ignore-eos] [--top N] [--probs file] [--logits file]\n"
	"                [--stats] [--kv-type f16|f32|q8_0] [--mem-limit size|auto]\n"
	"                [--profile low|mid|high|auto] [--score] [--kld-base file] [--kld file]\n"
	"                [--exact] [--no-mmap] [-b batch] [file]";

static const char help[] =
	"Continue a stream of token ids (from sl-tok) with a Llama model; write the new ids.\n"
	"\n"
	"  -m, --model FILE       GGUF model, llama.cpp split files or sl-chunk directory\n"
	       "                         (default: $SL_MODEL, else the embedded stories260K)\n"
	"  -n, --n-predict N      generate at most N ids (default 256)\n"
	"  -c, --ctx N            context size in ids, prompt included (default: the model's)\n"
	"  -t, --threads N        worker threads (default: all cores; output does not depend on it)\n"
	"      --temp T           temperature; 0 is greedy (default 1.0)\n"
	"      --top-k K          keep the K most likely ids (default 0: off)\n"
	"      --top-p P          keep the most likely ids up to probability P (default 0.9)\n"
	"      --min-p P          drop ids less likely than P times the most likely (default 0: off)\n"
	"      --repeat-penalty R penalize ids already in the context (default 1.0: off)\n"
	"      --seed S           random seed (default: from the clock)\n"
	"      --echo             write the prompt ids before the generated ones\n"
	"      --ignore-eos       do not stop at end-of-generation ids\n"
	"      --top N            for each generated id, the N most likely ids and their\n"
	"                         probabilities (softmax of the raw logits), on stderr\n"
	"      --probs FILE       write the --top lines to FILE instead (N defaults to 5)\n"
	"      --logits FILE      write the raw logits of every position (f32 little-endian,\n"
	"                         one row of vocab-size values per position)\n"
	"      --score            score the ids instead of continuing them: for each id after the\n"
	"                         first, 'id<TAB>ln p(id | the ids before)'; on stderr the mean\n"
	"                         negative log-likelihood and the perplexity (see sl-infer(1))\n"
	"      --kld-base FILE    with --score: write what a later --kld compares with (this model\n"
	"                         as the base: its most likely ids at every position, sl-kld(5))\n"
	"      --kld FILE         with --score: compare with the base that wrote FILE: KL\n"
	"                         divergence, same most likely id, perplexity against the base's\n"
	"      --kv-type T        KV cache precision: f16 (default), f32 or q8_0\n"
	"      --mem-limit SIZE   hold at most SIZE bytes (800M, 1.2G; M = MiB, MB = 10^6): the\n"
	"                         layers that do not fit are read again for every id; auto:\n"
	"                         the cgroup's limit, else MemAvailable (see MEMORY in sl-infer(1))\n"
	"      --profile P        low (600 MB), mid (800 MB), high (1200 MB): a budget with its\n"
	"                         threads, KV cache type and read-ahead; auto: from this machine\n"
	"      --exact            multiply with dequantized weights in double precision\n"
	"                         (slow; for testing against the reference)\n"
	"      --no-mmap          read the model into memory instead of mapping it\n"
	"                         (a copy; see NOTES in sl-infer(1))\n"
	"  -b, --batch N          prompt ids per forward pass (default 64)\n"
	"      --stats            load time, model in 2 MiB pages, time to first id, speeds\n"
	"                         and peak RSS on stderr\n"
	"  -q, --quiet            no warnings\n"
	"  -v, --verbose          describe the model and the run on stderr\n"
	"  -h, --help             this help\n"
	"  -V, --version          print the version\n"
	"\n"
	"Exit status: 0 success (also when the context fills up), 1 runtime failure, 2 usage.\n"
	"See sl-infer(1).\n";

enum {
	OPT_TEMP = 256, OPT_TOP_K, OPT_TOP_P, OPT_MIN_P, OPT_REPEAT, OPT_SEED, OPT_ECHO,
	OPT_IGNORE_EOS, OPT_TOP, OPT_PROBS, OPT_LOGITS, OPT_STATS, OPT_KV_TYPE, OPT_EXACT, OPT_NO_MMAP,
	OPT_MEM_LIMIT, OPT_PROFILE, OPT_SCORE, OPT_KLD_BASE, OPT_KLD,
};

static const struct option longopts[] = {
	{"model", required_argument, NULL, 'm'},
	{"n-predict", required_argument, NULL, 'n'},
	{"ctx", required_argument, NULL, 'c'},
	{"threads", required_argument, NULL, 't'},
	{"batch", required_argument, NULL, 'b'},
	{"temp", required_argument, NULL, OPT_TEMP},
	{"top-k", required_argument, NULL, OPT_TOP_K},
	{"top-p", required_argument, NULL, OPT_TOP_P},
	{"min-p", required_argument, NULL, OPT_MIN_P},
	{"repeat-penalty", required_argument, NULL, OPT_REPEAT},
	{"seed", required_argument, NULL, OPT_SEED},
	{"echo", no_argument, NULL, OPT_ECHO},
	{"ignore-eos", no_argument, NULL, OPT_IGNORE_EOS},
	{"top", required_argument, NULL, OPT_TOP},
	{"probs", required_argument, NULL, OPT_PROBS},
	{"logits", required_argument, NULL, OPT_LOGITS},
	{"kv-type", required_argument, NULL, OPT_KV_TYPE},
	{"exact", no_argument, NULL, OPT_EXACT},
	{"no-mmap", no_argument, NULL, OPT_NO_MMAP},
	{"mem-limit", required_argument, NULL, OPT_MEM_LIMIT},
	{"profile", required_argument, NULL, OPT_PROFILE},
	{"score", no_argument, NULL, OPT_SCORE},
	{"kld-base", required_argument, NULL, OPT_KLD_BASE},
	{"kld", required_argument, NULL, OPT_KLD},
	{"stats", no_argument, NULL, OPT_STATS},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

typedef struct {
	const char *model_path, *in_path, *probs_path, *logits_path;
	long long ctx, top;
	int have_seed, echo, stats, quiet, verbose, no_mmap, have_threads, have_kv, have_batch, score;
	const char *mem_limit, *profile, *kld_base, *kld;
	sl_session_params p;     /* what the options set of the session (n_cache, seed: later) */
} options;

static void parse_options(options *o, int argc, char **argv)
{
	int c;

	memset(o, 0, sizeof *o);
	o->p = sl_session_defaults();
	o->top = -1;
	opterr = 0; /* sl_bad_option says it, with our program name */
	while ((c = getopt_long(argc, argv, ":m:n:c:t:b:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model_path = optarg; break;
		case 'n': o->p.n_predict = sl_opt_int(usage, "-n", optarg, 0, 1LL << 31); break;
		case 'c': o->ctx = sl_opt_int(usage, "-c", optarg, 1, 1 << 24); break;
		case 't': o->have_threads = 1; o->p.threads = (int)sl_opt_int(usage, "-t", optarg, 0, 1024); break;
		case 'b': o->have_batch = 1; o->p.n_batch = (int)sl_opt_int(usage, "-b", optarg, 1, 4096); break;
		case OPT_TEMP: o->p.sp.temp = (float)sl_opt_double(usage, "--temp", optarg, 0, 1e6); break;
		case OPT_TOP_K: o->p.sp.top_k = (int)sl_opt_int(usage, "--top-k", optarg, 0, 1 << 30); break;
		case OPT_TOP_P: o->p.sp.top_p = (float)sl_opt_double(usage, "--top-p", optarg, 1e-9, 1); break;
		case OPT_MIN_P: o->p.sp.min_p = (float)sl_opt_double(usage, "--min-p", optarg, 0, 1); break;
		case OPT_REPEAT:
			o->p.sp.repeat_penalty = (float)sl_opt_double(usage, "--repeat-penalty", optarg, 1e-6, 1e6);
			break;
		case OPT_SEED:
			o->p.seed = (uint64_t)sl_opt_int(usage, "--seed", optarg, 0, INT64_MAX);
			o->have_seed = 1;
			break;
		case OPT_ECHO: o->echo = 1; break;
		case OPT_IGNORE_EOS: o->p.ignore_eos = 1; break;
		case OPT_TOP: o->top = sl_opt_int(usage, "--top", optarg, 1, 1 << 20); break;
		case OPT_PROBS: o->probs_path = optarg; break;
		case OPT_LOGITS: o->logits_path = optarg; break;
		case OPT_KV_TYPE:
			o->have_kv = 1;
			if (strcmp(optarg, "f16") == 0)
				o->p.kv_type = SL_F16;
			else if (strcmp(optarg, "f32") == 0)
				o->p.kv_type = SL_F32;
			else if (strcmp(optarg, "q8_0") == 0)
				o->p.kv_type = SL_Q8_0;
			else
				sl_usage_error(usage, "--kv-type: '%s' is not f16, f32 or q8_0", optarg);
			break;
		case OPT_MEM_LIMIT:
			if (strcmp(optarg, "auto") != 0 && sl_parse_size(optarg, &(uint64_t){0}))
				sl_usage_error(usage, "--mem-limit: '%s' is not a size (like 800M or 1.2G) or auto", optarg);
			o->mem_limit = optarg;
			break;
		case OPT_SCORE: o->score = 1; break;
		case OPT_KLD_BASE: o->kld_base = optarg; break;
		case OPT_KLD: o->kld = optarg; break;
		case OPT_PROFILE:
			if (strcmp(optarg, "auto") != 0 && !sl_profile_get(optarg))
				sl_usage_error(usage, "--profile: '%s' is not low, mid, high or auto", optarg);
			o->profile = optarg;
			break;
		case OPT_STATS: o->stats = 1; break;
		case OPT_EXACT: o->p.exact = 1; break;
		case OPT_NO_MMAP: o->no_mmap = 1; break;
		case 'q': o->quiet = 1; o->verbose = 0; break;
		case 'v': o->verbose = 1; o->quiet = 0; break;
		case 'h':
			printf("%s\n\n%s", usage, help);
			sl_close_stdout();
			exit(SL_EXIT_OK);
		case 'V': sl_version();
		default: sl_bad_option(usage, c, argv);
		}
	}
	if (argc - optind > 1)
		sl_usage_error(usage, "too many arguments");
	if (argc - optind == 1 && strcmp(argv[optind], "-") != 0)
		o->in_path = argv[optind];
	if (o->probs_path && o->top < 0)
		o->top = 5;
	if ((o->kld_base || o->kld) && !o->score)
		sl_usage_error(usage, "--kld-base and --kld go with --score");
	if (o->score && (o->top > 0 || o->logits_path || o->echo))
		sl_usage_error(usage, "--score does not go with --top, --probs, --logits or --echo");
}

/* ==== output helpers ==== */

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		sl_die("%s: %s", path, strerror(errno));
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

typedef struct {
	options o;
	sl_model *m;
	sl_session *ss;
	FILE *probs_fp, *logits_fp;
	const char *in_name;
	int32_t *prompt;
	size_t n_prompt;
	int n_ctx;
	int32_t *top_ids;        /* [top] */
	float *top_p;            /* [top] */
	double t_load;
	uint64_t budget;         /* --mem-limit / --profile: bytes, or 0 for none */
	const char *budget_from; /* what set it, for -v */
	int ring;
} run;

static void *xmalloc(size_t n)
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

/*
 * --mem-limit and --profile: the budget, and the profile's threads, KV cache type and
 * read-ahead where the options do not say.  A profile's own budget unless --mem-limit gives
 * one; auto is what sl_mem_available() finds, less 5% (at least 32 MiB) of headroom.
 */
static void choose_budget(run *r)
{
	options *o = &r->o;
	const char *src = NULL;
	uint64_t avail = 0;
	const sl_profile *pf = NULL;
	int want_auto = (o->mem_limit && !strcmp(o->mem_limit, "auto")) || (o->profile && !strcmp(o->profile, "auto"));

	r->ring = 2;
	if (!o->mem_limit && !o->profile)
		return;
	if (want_auto) {
		avail = sl_mem_available(&src);
		if (!avail)
			sl_die("auto: cannot tell how much memory this process may use (found %s)", src);
		avail -= avail / 20 > (32u << 20) ? avail / 20 : (32u << 20) < avail ? (32u << 20) : avail / 2;
	}
	if (o->profile)
		pf = strcmp(o->profile, "auto") ? sl_profile_get(o->profile) : sl_profile_for(avail);
	if (o->mem_limit && strcmp(o->mem_limit, "auto"))
		sl_parse_size(o->mem_limit, &r->budget), r->budget_from = "--mem-limit";
	else if (want_auto)
		r->budget = avail, r->budget_from = src;
	else
		r->budget = pf->budget, r->budget_from = "the profile";
	if (pf) {
		int cores = sl_cores();
		if (!o->have_threads)
			o->p.threads = pf->threads < cores ? pf->threads : cores;
		if (!o->have_kv)
			o->p.kv_type = pf->kv_type;
		r->ring = pf->ring;
	}
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
	r->ss = sl_session_new(r->m, p);
	if (!r->ss)
		sl_die_lib();
	if (r->budget) {
		/* what the process holds besides the weights, the same in every run: the state
		 * (counted whole, though not all of it is touched yet), the program (4 MiB), the
		 * model's metadata twice (the header's pages while parsing, and what was parsed),
		 * and 8 MiB for stacks and reads in flight */
		sl_stream_opts so = { r->budget, sl_session_get_info(r->ss).state_bytes + (4u << 20) +
				      2 * r->m->meta->data_offset + (8u << 20), r->ring, 1 };
		if (sl_stream_plan(r->m->prov, r->m, &so))
			sl_die_lib();
	}
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
	sl_warn("peak RSS %.1f MiB", sl_peak_rss() / 1048576.0);
	if (sl_stream_get_stats(r->m->prov, &st) == 0)
		sl_warn("memory: %.1f MiB resident (pinned %.1f, %d layers %.1f, buffers %.1f), %.1f MiB "
			"re-read per id; read %.1f MiB in %.1f ms (%.0f MB/s), waited %.1f ms",
			(st.pinned_bytes + st.resident_bytes + st.ring_bytes) / 1048576.0,
			st.pinned_bytes / 1048576.0, st.n_resident, st.resident_bytes / 1048576.0,
			st.ring_bytes / 1048576.0, st.pass_bytes / 1048576.0, st.read_bytes / 1048576.0,
			st.read_s * 1e3, st.read_s > 0 ? st.read_bytes / st.read_s / 1e6 : 0, st.wait_s * 1e3);
}

/* --score: every id's log-probability, in windows of the context; --kld-base / --kld. */
typedef struct {
	const run *r;
	double nll, base_nll, kld_sum;
	size_t n, same_top;
	sl_kld_writer *kw;
	sl_kld_reader *kr;
	double *kld;             /* [n] for the percentiles */
	size_t cap;
} score_sum;

static void on_score(void *ctx, size_t t, int32_t id, double lp, const float *row, int vocab)
{
	score_sum *ss = ctx;
	sl_kld_pos k;

	(void)t, (void)vocab;
	ss->nll -= lp;
	ss->n++;
	if (printf("%d\t%.6f\n", id, lp) < 0)
		sl_die("stdout: %s", strerror(errno));
	if (ss->kw && sl_kld_put(ss->kw, id, row))
		sl_die_lib();
	if (!ss->kr)
		return;
	int rc = sl_kld_next(ss->kr, id, row, &k);
	if (rc < 0)
		sl_die_lib();
	if (rc == 0)
		sl_die("%s: the base scored fewer ids than this text has (%zu)", ss->r->o.kld, ss->n);
	if (ss->n > ss->cap) {
		ss->cap = ss->cap ? 2 * ss->cap : 4096;
		if (!(ss->kld = realloc(ss->kld, ss->cap * sizeof *ss->kld)))
			sl_die("out of memory");
	}
	ss->kld[ss->n - 1] = k.kld;
	ss->kld_sum += k.kld;
	ss->same_top += (size_t)k.same_top;
	ss->base_nll -= k.base_lp;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void kld_summary(score_sum *ss)
{
	size_t n = ss->n;
	double ppl = exp(ss->nll / (double)n), base = exp(ss->base_nll / (double)n);

	if (!sl_kld_at_end(ss->kr))
		sl_die("%s: the base scored more ids than this text has (%zu)", ss->r->o.kld, n);
	qsort(ss->kld, n, sizeof *ss->kld, cmp_double);
#define PCT(p) ss->kld[(size_t)((p) * (double)(n - 1) + 0.5)]
	sl_warn("KL divergence from %s: mean %.6f, median %.6f, p90 %.6f, p99 %.6f, max %.6f; "
		"same most likely id %.2f%%; perplexity %.4f, base %.4f (%+.2f%%)", ss->r->o.kld,
		ss->kld_sum / (double)n, PCT(0.5), PCT(0.9), PCT(0.99), ss->kld[n - 1],
		100.0 * (double)ss->same_top / (double)n, ppl, base, 100.0 * (ppl / base - 1));
#undef PCT
}

static void score(run *r)
{
	score_sum ss = { .r = r };
	int vocab = r->m->cfg.n_vocab;

	if (r->o.kld_base && !(ss.kw = sl_kld_create(r->o.kld_base, vocab)))
		sl_die_lib();
	if (r->o.kld && !(ss.kr = sl_kld_open(r->o.kld, vocab)))
		sl_die_lib();
	if (sl_score_windows(r->ss, r->prompt, r->n_prompt, r->n_ctx, on_score, &ss))
		sl_die("%s: %s", r->in_name, sl_error());
	if (ss.kw && sl_kld_close(ss.kw))
		sl_die_lib();
	if (!r->o.quiet)
		sl_warn("scored %zu ids in windows of %d: mean NLL %.6f, perplexity %.4f", ss.n, r->n_ctx,
			ss.nll / (double)ss.n, exp(ss.nll / (double)ss.n));
	if (ss.kr)
		kld_summary(&ss);
	sl_kld_free(ss.kr);
	free(ss.kld);
}

/* ==== main ==== */

int main(int argc, char **argv)
{
	run r = {0};
	sl_stop why;

	sl_cli_init(argv[0]);
	parse_options(&r.o, argc, argv);
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
		return SL_EXIT_OK;
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
	free(r.prompt);
	free(r.top_ids);
	free(r.top_p);
	sl_session_free(r.ss);
	sl_model_close(r.m);
	return SL_EXIT_OK;
}
