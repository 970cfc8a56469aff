/*
 * bw — memory read bandwidth, the bound on generation speed: a token reads every weight
 * once, so tokens/s can never exceed bandwidth / model bytes.
 *
 * Reads a buffer much larger than the caches (1 GiB by default) with 1 thread and with
 * every online core, each thread summing its own contiguous slice; the best of 10 passes,
 * every other one asking for the bytes 4 KiB ahead (as the one-token kernels do).  The
 * buffer is in 2 MiB pages where the kernel allows it, as sl-infer holds a model (in 4 KiB
 * pages the loop reads less: bench/NOTES.md).
 * Prints one line per thread count:   bw <threads> <GB/s>   (GB = 10^9 bytes)
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

typedef struct {
	const uint64_t *p;
	size_t n;
	int ahead;     /* ask for the bytes 4 KiB ahead */
	uint64_t sum;
} slice;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *reader(void *v)
{
	slice *s = v;
	uint64_t a = 0, b = 0, c = 0, d = 0;
	for (size_t i = 0; i + 8 <= s->n; i += 8) {
		if (s->ahead)
			__builtin_prefetch(s->p + i + 512);
		a += s->p[i] + s->p[i + 4];
		b += s->p[i + 1] + s->p[i + 5];
		c += s->p[i + 2] + s->p[i + 6];
		d += s->p[i + 3] + s->p[i + 7];
	}
	s->sum = a + b + c + d;
	return NULL;
}

static double measure(const uint64_t *buf, size_t n, int nth)
{
	pthread_t th[64];
	slice sl[64];
	double best = 1e30;
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
		if (dt < best)
			best = dt;
	}
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
	printf("bw 1 %.2f\n", measure(buf, n, 1));
	if (cores > 1)
		printf("bw %ld %.2f\n", cores, measure(buf, n, (int)cores));
	munmap(buf, n * 8);
	return 0;
}
