/*
 * bw — memory read bandwidth, the bound on generation speed: a token reads every weight
 * once, so tokens/s can never exceed bandwidth / model bytes.
 *
 * Reads a buffer much larger than the caches (1 GiB by default) with 1 thread and with
 * every online core, each thread summing its own contiguous slice, in 10 passes, every
 * other one asking for the bytes 8 KiB ahead (as the one-token kernels do).  The buffer
 * is in 2 MiB pages where the kernel allows it, as sl-infer holds a model (in 4 KiB pages
 * the loop reads less: bench/NOTES.md).
 * Prints one line per thread count:   bw <threads> <best GB/s> <mean GB/s>
 * (GB = 10^9 bytes): the fastest pass, and all 10 passes' bytes over their time — on a VM
 * whose bandwidth moves within a second the two differ, and a run of seconds sees the mean.
 * Usage: bw [MiB]
 */
#define _GNU_SOURCE /* MADV_HUGEPAGE */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

typedef struct {
	const uint64_t *p;
	size_t n;
	int ahead;     /* ask for the bytes 8 KiB ahead */
	uint64_t sum;
} slice;

static void *reader(void *v)
{
	slice *s = v;
	uint64_t a = 0, b = 0, c = 0, d = 0;
	for (size_t i = 0; i + 8 <= s->n; i += 8) {
		if (s->ahead)
			__builtin_prefetch(s->p + i + 1024);
		a += s->p[i] + s->p[i + 4];
		b += s->p[i + 1] + s->p[i + 5];
		c += s->p[i + 2] + s->p[i + 6];
		d += s->p[i + 3] + s->p[i + 7];
	}
	s->sum = a + b + c + d;
	return NULL;
}

/* GB/s of the fastest pass (*mean: of all of them) */
static double measure(const uint64_t *buf, size_t n, int nth, double *mean)
{
	pthread_t th[64];
	slice sl[64];
	double best = 1e30, total = 0;
	for (int pass = 0; pass < 10; pass++) {
		double t0 = now();
		for (int i = 0; i < nth; i++) {
			sl[i].p = buf + n / nth * i;
			sl[i].n = n / nth;
			sl[i].ahead = pass % 2;
			if (i > 0 && pthread_create(&th[i], NULL, reader, &sl[i]) != 0) {
				perror("bw: pthread_create");
				exit(1);
			}
		}
		reader(&sl[0]);
		for (int i = 1; i < nth; i++)
			pthread_join(th[i], NULL);
		double dt = now() - t0;
		total += dt;
		if (dt < best)
			best = dt;
	}
	*mean = (double)(n / nth * nth) * 8 * 10 / total * 1e-9;
	return (double)(n / nth * nth) * 8 / best * 1e-9;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 1024;
	size_t n = mib * 1024 * 1024 / 8;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t *buf = mmap(NULL, n * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		buf = NULL;
	else
		madvise(buf, n * 8, MADV_HUGEPAGE); /* advice: fine where THP is off */
	if (!buf) {
		fprintf(stderr, "bw: cannot allocate %zu MiB\n", mib);
		return 1;
	}
	memset(buf, 1, n * 8); /* fault every page in before timing */
	if (cores < 1)
		cores = 1;
	if (cores > 64)
		cores = 64;
	double mean, best = measure(buf, n, 1, &mean);
	printf("bw 1 %.2f %.2f\n", best, mean);
	if (cores > 1) {
		best = measure(buf, n, (int)cores, &mean);
		printf("bw %ld %.2f %.2f\n", cores, best, mean);
	}
	munmap(buf, n * 8);
	return 0;
}
