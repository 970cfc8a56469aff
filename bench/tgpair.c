/*
 * tgpair — generation against the bandwidth bound, measured in pairs in one process.
 *
 * On a shared VM the memory bandwidth moves within a second (bench/NOTES.md), so a bound
 * measured by another program seconds before or after a generation run is a loose
 * yardstick.  Here each pair is one generated token (sl_forward of one id) and one plain
 * read of the model file's bytes, back to back (their order alternating), with the same
 * thread pool and the same pages: the file mapped again, so the page cache's huge pages
 * serve both.  The read is bench/bw's loop, asking 8 KiB ahead, split into as many tasks
 * as the one-token products are.  A pair's bound is the read's bytes/s ÷ the weight bytes
 * a token reads (sl_model_weight_bytes); its fraction is the token's rate ÷ that bound.
 *
 * Prints one line:  tgpair <threads> <pairs> <median fraction> <min> <max> <median tok/s>
 * <median bound tok/s>; with TGPAIR_EACH set, each pair's token and bound on stderr; with
 * TGPAIR_STEPS set, the share of the tokens' time each step of the forward pass took
 * (sl_state.times) on stderr.
 * The tokens are at positions 1..128 (tg128's), in turn if there are more pairs.
 * Usage: tgpair [-t threads] [-n pairs] model.gguf    (SL_KERNELS picks the kernel set)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "sl_err.h"
#include "sl_map.h"
#include "sl_model.h"
#include "sl_pool.h"
#include "sl_types.h"

#define CTX 129 /* positions: the warm-up token's and tg128's */

typedef struct {
	const uint64_t *p;
	size_t n;             /* words */
	uint64_t sums[1024];  /* one per task, so nothing is optimized away */
} read_job;

/* bench/bw's prefetching pass over task's share of the words */
static void read_task(void *arg, int task, int n_tasks)
{
	read_job *j = arg;
	size_t i0 = j->n * (size_t)task / (size_t)n_tasks, i1 = j->n * (size_t)(task + 1) / (size_t)n_tasks;
	const uint64_t *p = j->p;
	uint64_t a = 0, b = 0, c = 0, d = 0;
	for (size_t i = i0; i + 8 <= i1; i += 8) {
		__builtin_prefetch(p + i + 1024);
		a += p[i] + p[i + 4];
		b += p[i + 1] + p[i + 5];
		c += p[i + 2] + p[i + 6];
		d += p[i + 3] + p[i + 7];
	}
	j->sums[task % 1024] = a + b + c + d;
}

int main(int argc, char **argv)
{
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), pairs = 128, opt;
	while ((opt = getopt(argc, argv, "t:n:")) != -1) {
		if (opt == 't')
			threads = atoi(optarg);
		else if (opt == 'n')
			pairs = atoi(optarg);
		else
			goto usage;
	}
	if (optind != argc - 1 || threads < 1 || pairs < 1 || pairs > 1000) {
usage:
		fprintf(stderr, "usage: tgpair [-t threads] [-n pairs (1-1000)] model.gguf\n");
		return 2;
	}
	const char *path = argv[optind];
	sl_model *m = sl_model_open(path, 0);
	sl_map map;
	if (!m || sl_map_open(&map, path)) {
		fprintf(stderr, "tgpair: %s\n", sl_error());
		return 1;
	}
	/* tokens at positions 1..128 as in tg128, over again if there are more pairs (the cache
	 * keeps the earlier ones' keys: the same work at each position) */
	sl_state *s = sl_state_new(m, CTX, 1, SL_F16, 0);
	sl_pool *pool = sl_pool_new(threads);
	if (!s || !pool) {
		fprintf(stderr, "tgpair: %s\n", sl_error());
		return 1;
	}
	read_job rj = { (const uint64_t *)map.data, map.size / 8, { 0 } };
	const int read_tasks = 4 * threads; /* as sl_matmul splits a one-token product */
	const double wbytes = (double)sl_model_weight_bytes(m);
	double *frac = malloc(sizeof(double) * (size_t)pairs), *tok = malloc(sizeof(double) * (size_t)pairs),
	       *bound = malloc(sizeof(double) * (size_t)pairs);
	int32_t id = 1;
	if (!frac || !tok || !bound) {
		fprintf(stderr, "tgpair: out of memory\n");
		return 1;
	}

	/*
	 * Warm-up, 1 s of tokens and reads: the KV cache's first touch, and time for the VM to
	 * run both threads at speed (the first half second can run at one core's rate).
	 */
	for (double t_end = now() + 1.0; now() < t_end;) {
		if (!sl_forward(m, s, pool, &id, 1, 0, 0)) {
			fprintf(stderr, "tgpair: %s\n", sl_error());
			return 1;
		}
		sl_pool_run(pool, read_tasks, read_task, &rj);
	}
	sl_step_times steps = { { 0 } };
	if (getenv("TGPAIR_STEPS"))
		s->times = &steps;
	for (int i = 0; i < pairs; i++) {
		double t_tok = 0, t_read = 0;
		for (int k = 0; k < 2; k++) {
			double t0 = now();
			if ((k + i) % 2 == 0) {
				if (!sl_forward(m, s, pool, &id, 1, 1 + i % (CTX - 1), 0)) {
					fprintf(stderr, "tgpair: %s\n", sl_error());
					return 1;
				}
				t_tok = now() - t0;
			} else {
				sl_pool_run(pool, read_tasks, read_task, &rj);
				t_read = now() - t0;
			}
		}
		tok[i] = 1 / t_tok;
		bound[i] = (double)(rj.n * 8) / t_read / wbytes;
		frac[i] = tok[i] / bound[i];
		if (getenv("TGPAIR_EACH"))
			fprintf(stderr, "pair %d %s first: %.1f tok/s, bound %.1f\n", i, i % 2 ? "read" : "token", tok[i], bound[i]);
	}
	double mf = median(frac, pairs), lo = frac[0], hi = frac[pairs - 1]; /* median sorted it */
	printf("tgpair %d %d %.3f %.3f %.3f %.1f %.1f\n", threads, pairs, mf, lo, hi, median(tok, pairs),
	       median(bound, pairs));
	if (s->times) {
		double all = 0;
		for (int i = 0; i < SL_N_STEPS; i++)
			all += steps.s[i];
		fprintf(stderr, "tgpair steps:");
		for (int i = 0; i < SL_N_STEPS; i++)
			fprintf(stderr, " %s %.2f%%", sl_step_name(i), 100 * steps.s[i] / all);
		fputc('\n', stderr);
	}
	uint64_t sum = 0;
	for (int i = 0; i < 1024; i++)
		sum += rj.sums[i];
	if (sum == 42) /* almost never: the sums are used, so the reads are not optimized away */
		fprintf(stderr, "tgpair: (checksum 42)\n");
	free(frac);
	free(tok);
	free(bound);
	sl_pool_free(pool);
	sl_state_free(s);
	sl_map_close(&map);
	sl_model_close(m);
	return 0;
}
