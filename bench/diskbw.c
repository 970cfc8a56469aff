/*
 * diskbw — how fast storage delivers a file the way sl's streaming provider reads it:
 * O_DIRECT preads of 32 MiB into a 2 MiB-aligned buffer, front to back, and buffered
 * preads of 4 MiB each dropped from the page cache after it.  The caller drops the page
 * cache first (bench/memlimit.sh does).
 *
 *     diskbw FILE   ->   "direct MB/s" and "buffered MB/s" lines
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static double pass(const char *path, int direct, size_t step)
{
	int fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	struct stat st;
	void *buf;
	double t0;
	off_t off = 0;

	if (fd < 0 || fstat(fd, &st) || posix_memalign(&buf, 2 << 20, step))
		return -1;
	t0 = now();
	for (;;) {
		ssize_t r = pread(fd, buf, step, off);
		if (r <= 0)
			break;
		if (!direct)
			posix_fadvise(fd, off, r, POSIX_FADV_DONTNEED);
		off += r;
	}
	double mbs = off / (now() - t0) / 1e6;
	free(buf);
	close(fd);
	return mbs;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: diskbw FILE\n");
		return 2;
	}
	printf("direct %.0f\n", pass(argv[1], 1, 32 << 20));
	if (system("sync; echo 1 > /proc/sys/vm/drop_caches 2>/dev/null") != 0)
		fprintf(stderr, "diskbw: could not drop the page cache\n");
	printf("buffered %.0f\n", pass(argv[1], 0, 4 << 20));
	return 0;
}
