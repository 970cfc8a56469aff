/*
 * attn1 — one generated token's attention in one layer (sl_attention, n = 1), alone.
 *
 * SmolLM-1.7B's shapes: 32 query heads, 32 KV heads of 64 dimensions, an F16 cache for
 * 2048 positions in sl_huge_alloc, as sl-infer holds it.  For each position given, the
 * token at that position attends to the cache before it (storing its own key and value
 * first, as in a pass): R calls with the cache in this core's caches ("hot"), then R calls
 * each after every thread has read 64 MiB of other memory ("cold", as in a pass, where the weights
 * streamed since the last token have evicted it).  The two show what a change to the
 * kernels costs in arithmetic and what it costs waiting for memory.
 *
 * Prints one line per position:   attn1 <pos> <hot µs median> <cold µs median>
 * Usage: attn1 [-t threads] [-r R] pos...    (default: 1 thread, R = 200; positions 30 46
 * 62 94 126, whose 31..127 cache positions end 15 short of a whole vector of 16, and 63 and
 * 127, which end on one; SL_KERNELS picks the kernel set)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "sl_attn.h"
#include "sl_err.h"
#include "sl_map.h"
#include "sl_pool.h"
#include "sl_types.h"

enum { HEADS = 32, KV_HEADS = 32, DIM = 64, CTX = 2048, EVICT = 64 << 20 };

static float frand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((*s >> 40) & 0xffff) / 32768.f - 1.f;
}

/* Each thread reads 64 MiB of its own, so that the lines of the last call are gone from
 * every core's caches (as after a pass's products, which both threads stream) and the
 * pool's threads are awake, as they are in a pass. */
typedef struct {
	const uint64_t *buf;
	uint64_t sum[64];
} evict_job;

static void evict_task(void *arg, int task, int n_tasks)
{
	(void)n_tasks;
	evict_job *e = arg;
	const uint64_t *p = e->buf + (size_t)task * (EVICT / sizeof *p);
	uint64_t s = 0;
	for (size_t i = 0; i < EVICT / sizeof *p; i += 8)
		s += p[i];
	e->sum[task] = s;
}

int main(int argc, char **argv)
{
	int threads = 1, reps = 200, opt;
	while ((opt = getopt(argc, argv, "t:r:")) != -1) {
		if (opt == 't')
			threads = atoi(optarg);
		else if (opt == 'r')
			reps = atoi(optarg);
		else {
			fprintf(stderr, "usage: attn1 [-t threads] [-r R] pos...\n");
			return 2;
		}
	}
	if (threads < 1 || threads > 64 || reps < 1) {
		fprintf(stderr, "attn1: -t needs 1..64 threads and -r a positive count\n");
		return 2;
	}
	static const int default_pos[] = { 30, 46, 62, 63, 94, 126, 127 };
	enum { NDEF = sizeof default_pos / sizeof *default_pos };
	int npos = argc - optind;
	int *pos = malloc(sizeof *pos * (size_t)(npos ? npos : NDEF));
	if (!pos) {
		fprintf(stderr, "attn1: out of memory\n");
		return 1;
	}
	for (int i = 0; i < (npos ? npos : NDEF); i++) {
		pos[i] = npos ? atoi(argv[optind + i]) : default_pos[i];
		if (pos[i] < 0 || pos[i] >= CTX) {
			fprintf(stderr, "attn1: position %d is outside 0..%d\n", pos[i], CTX - 1);
			return 2;
		}
	}
	if (!npos)
		npos = NDEF;

	sl_kv_layout l = sl_kv_layout_of(SL_F16, KV_HEADS, DIM, CTX);
	size_t kvb = sl_kv_bytes(&l);
	void *k = sl_huge_alloc(kvb), *v = sl_huge_alloc(kvb);
	float *q = malloc(sizeof(float) * HEADS * DIM), *out = malloc(sizeof(float) * HEADS * DIM);
	float *kn = malloc(sizeof(float) * KV_HEADS * DIM), *vn = malloc(sizeof(float) * KV_HEADS * DIM);
	uint64_t *buf = malloc((size_t)EVICT * (size_t)threads);
	double *t_hot = malloc(sizeof(double) * (size_t)reps), *t_cold = malloc(sizeof(double) * (size_t)reps);
	sl_attn_scratch sc;
	if (!k || !v || !q || !out || !kn || !vn || !buf || !t_hot || !t_cold ||
	    sl_attn_scratch_init(&sc, HEADS, DIM, CTX, 1) != 0) {
		fprintf(stderr, "attn1: out of memory\n");
		return 1;
	}
	uint64_t s = 1;
	float key[DIM], val[DIM];
	for (int p = 0; p < CTX; p++)
		for (int h = 0; h < KV_HEADS; h++) {
			for (int d = 0; d < DIM; d++) {
				key[d] = frand(&s);
				val[d] = frand(&s);
			}
			sl_kv_put(&l, k, v, p, h, key, val);
		}
	for (int i = 0; i < HEADS * DIM; i++)
		q[i] = frand(&s);
	for (int i = 0; i < KV_HEADS * DIM; i++) {
		kn[i] = frand(&s);
		vn[i] = frand(&s);
	}
	memset(buf, 1, (size_t)EVICT * (size_t)threads);
	sl_pool *pool = threads > 1 ? sl_pool_new(threads) : NULL;
	if (threads > 1 && !pool) {
		fprintf(stderr, "attn1: %s\n", sl_error());
		return 1;
	}

	evict_job ev = { .buf = buf };
	for (int i = 0; i < npos; i++) {
		sl_attn a = { .n_heads = HEADS, .layout = l, .k = k, .v = v, .q = q, .out = out,
			      .n = 1, .pos = pos[i], .k_new = kn, .v_new = vn };
		sl_attention(pool, &a, &sc); /* warm-up */
		for (int r = 0; r < reps; r++) {
			double t0 = now();
			sl_attention(pool, &a, &sc);
			t_hot[r] = now() - t0;
		}
		for (int r = 0; r < reps; r++) {
			sl_pool_run(pool, threads, evict_task, &ev);
			double t0 = now();
			sl_attention(pool, &a, &sc);
			t_cold[r] = now() - t0;
		}
		printf("attn1 %d %.1f %.1f\n", pos[i], median(t_hot, reps) * 1e6, median(t_cold, reps) * 1e6);
	}
	sl_pool_free(pool);
	sl_attn_scratch_free(&sc);
	sl_huge_free(k, kvb);
	sl_huge_free(v, kvb);
	return out[0] != out[0]; /* 1 if the result is NaN */
}
