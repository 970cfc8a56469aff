/*
 * pppair — a long prompt's speed against a short one's, measured in pairs in one process.
 *
 * sl-infer runs a prompt in batches of 128 ids, so pp512 is four batches at positions 0,
 * 128, 256 and 384, and pp128 the first of them: the two differ only in attention's depth
 * (and likewise for longer prompts, -p).
 * Measured by separate runs seconds apart, their ratio moves by ±15% on a shared VM whose
 * speed drifts between spells (bench/NOTES.md).  Here each of the four batches of a round
 * is paired with a batch at position 0 run right before or after it (the order alternating),
 * in the same process with the same pool.  The batch at 0 writes the same keys and values
 * the round's first batch wrote, so the cache the deeper batches read stays the same.  A
 * round's ratio is the long prompt's rate ÷ pp128's: the pairs' time at position 0 ÷ their
 * time at depth.
 *
 * Prints one line:  pppair <threads> <rounds> <median ratio> <min> <max> <median pp128
 * tok/s> <median long prompt tok/s> <prompt ids>.  The ids are pseudo-random below 40000
 * (and the vocabulary's size), as bench/common.sh's are, though not the same ones.
 * Usage: pppair [-t threads] [-n rounds] [-p prompt ids: 256..8192, a multiple of 128]
 *        model.gguf    (SL_KERNELS picks the kernel set)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "sl_err.h"
#include "sl_model.h"
#include "sl_pool.h"
#include "sl_types.h"

#define BATCH 128     /* sl_session's default batch */
#define MAX_IDS 8192

/* seconds for batch b of the prompt (its ids, at its positions) */
static double batch(const sl_model *m, sl_state *s, sl_pool *pool, const int32_t *ids, int b)
{
	double t0 = now();
	if (!sl_forward(m, s, pool, ids + b * BATCH, BATCH, b * BATCH, 0)) {
		fprintf(stderr, "pppair: %s\n", sl_error());
		exit(1);
	}
	return now() - t0;
}

int main(int argc, char **argv)
{
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), rounds = 5, n_ids = 512, opt;
	while ((opt = getopt(argc, argv, "t:n:p:")) != -1) {
		if (opt == 't')
			threads = atoi(optarg);
		else if (opt == 'n')
			rounds = atoi(optarg);
		else if (opt == 'p')
			n_ids = atoi(optarg);
		else
			goto usage;
	}
	if (optind != argc - 1 || threads < 1 || rounds < 1 || rounds > 1000 || n_ids < 2 * BATCH ||
	    n_ids > MAX_IDS || n_ids % BATCH) {
usage:
		fprintf(stderr, "usage: pppair [-t threads] [-n rounds (1-1000)] [-p prompt ids "
				"(256-8192, a multiple of 128)] model.gguf\n");
		return 2;
	}
	const int depths = n_ids / BATCH;
	const char *path = argv[optind];
	sl_model *m = sl_model_open(path, 0);
	sl_state *s = m ? sl_state_new(m, n_ids, BATCH, SL_F16, 0) : NULL;
	sl_pool *pool = sl_pool_new(threads);
	double *ratio = malloc(sizeof(double) * (size_t)rounds), *pp128 = malloc(sizeof(double) * (size_t)rounds),
	       *pplong = malloc(sizeof(double) * (size_t)rounds);
	static int32_t ids[MAX_IDS];
	if (!m || !s || !pool) {
		fprintf(stderr, "pppair: %s: %s\n", path, sl_error());
		return 1;
	}
	if (!ratio || !pp128 || !pplong) {
		fprintf(stderr, "pppair: out of memory\n");
		return 1;
	}
	/* pseudo-random ids below 40000 (inside SmolLM's vocabulary), and below a smaller one's */
	srand(1);
	for (int i = 0; i < n_ids; i++)
		ids[i] = (int32_t)((double)rand() / ((double)RAND_MAX + 1) * 40000) % m->cfg.n_vocab;

	/* warm-up: the KV cache's first touch, and the weights' pages */
	for (int b = 0; b < depths; b++)
		batch(m, s, pool, ids, b);
	for (int r = 0; r < rounds; r++) {
		double at0 = 0, deep = 0;
		for (int b = 0; b < depths; b++) {
			if ((r + b) % 2 == 0) {
				deep += batch(m, s, pool, ids, b);
				at0 += batch(m, s, pool, ids, 0);
			} else {
				at0 += batch(m, s, pool, ids, 0);
				deep += batch(m, s, pool, ids, b);
			}
		}
		pp128[r] = n_ids / at0;
		pplong[r] = n_ids / deep;
		ratio[r] = at0 / deep;
	}
	double mr = median(ratio, rounds), lo = ratio[0], hi = ratio[rounds - 1]; /* median sorted it */
	printf("pppair %d %d %.3f %.3f %.3f %.1f %.1f %d\n", threads, rounds, mr, lo, hi,
	       median(pp128, rounds), median(pplong, rounds), n_ids);
	free(ratio);
	free(pp128);
	free(pplong);
	sl_pool_free(pool);
	sl_state_free(s);
	sl_model_close(m);
	return 0;
}
