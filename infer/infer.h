/*
 * infer.h — what the files of sl-infer share: the options and the run.
 *
 *   sl-infer.c   load the model, read the prompt, generate, report
 *   options.c    the usage, --help and the option parser
 *   memory.c     --mem-limit and --profile: the budget and what it sets
 *   score.c      --score, --kld-base, --kld
 */
#ifndef SL_INFER_H
#define SL_INFER_H

#include <stdint.h>
#include <stdio.h>

#include "sl_model.h"
#include "sl_session.h"

typedef struct {
	const char *model_path, *in_path, *probs_path, *logits_path;
	long long ctx, top;
	int have_seed, echo, stats, quiet, verbose, no_mmap, have_threads, have_kv, have_batch, score;
	const char *mem_limit, *profile, *kld_base, *kld;
	sl_session_params p;     /* what the options set of the session (n_cache, seed: later) */
} options;

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

void parse_options(options *o, int argc, char **argv);
void choose_budget(run *r);
void plan_budget(run *r);
void score(run *r);
void *xmalloc(size_t n);

#endif
