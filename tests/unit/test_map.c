/*
 * test_map — sl_map: mapping and reading whole files, and sl_map_prefault, which may drop
 * a file's cached pages and fault them in again: the bytes seen must never change.
 *
 * Whether the kernel gives 2 MiB pages depends on the machine (kernel, file system, THP
 * setting), so that is reported, not required; what is required is that m->huge is
 * consistent (whole 2 MiB pages, within the file) and that the contents stay the file's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sl_err.h"
#include "sl_map.h"

#define MIB ((uint64_t)1 << 20)

/*
 * What sl_map_open gives: a mapping at a 2 MiB boundary, or in a build without mmap
 * (-DSL_NO_MMAP, make portable-check) a copy in malloc'ed memory.
 */
#ifdef SL_NO_MMAP
#define OPEN_ALIGN 8
#define OPEN_COPIES 1
#else
#define OPEN_ALIGN (2 * MIB)
#define OPEN_COPIES 0
#endif

static char dir[] = "/tmp/test_map.XXXXXX";

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 2654435761u >> 13);
}

/* Write n pattern bytes (seeded) to dir/name and sync; returns the path (static buffer). */
static const char *write_file(const char *name, uint64_t n, unsigned seed)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return NULL;
	for (uint64_t i = 0; i < n; i++)
		putc(pattern(i + seed), f);
	/* on disk, as sl-quant leaves its output: clean pages can be dropped, dirty ones not */
	fflush(f);
	fsync(fileno(f));
	fclose(f);
	return path;
}

static int same_as_pattern(const sl_map *m, uint64_t n, unsigned seed)
{
	if (m->size != n)
		return 0;
	for (uint64_t i = 0; i < n; i++)
		if (m->data[i] != pattern(i + seed))
			return 0;
	return 1;
}

static void test_errors(void)
{
	sl_map m;
	char path[300];

	snprintf(path, sizeof path, "%s/missing", dir);
	CHECK(sl_map_open(&m, path) == -1);
	CHECK(strstr(sl_error(), "missing") && strstr(sl_error(), strerror(ENOENT)));
	CHECK(sl_errcode() == SL_E_IO && sl_errno() == ENOENT);
	CHECK(sl_map_read(&m, path) == -1 && sl_errcode() == SL_E_IO && sl_errno() == ENOENT);
	CHECK(sl_map_open(&m, dir) == -1);
	CHECK(strstr(sl_error(), "is a directory") != NULL);
	CHECK(sl_map_read(&m, dir) == -1);
	CHECK(sl_map_open(&m, "/dev/null") == -1);
	CHECK(strstr(sl_error(), "not a regular file") != NULL);

	const char *p = write_file("empty", 0, 0);
	CHECK(sl_map_open(&m, p) == 0 && m.size == 0 && m.data == NULL);
	sl_map_prefault(&m); /* nothing to do, nothing to crash on */
	CHECK(m.huge == 0);
	sl_map_close(&m);
}

static void test_contents(void)
{
	const uint64_t sizes[] = {1, 4095, 4096, 2 * MIB + 1, 5 * MIB + 12345};
	sl_map m;

	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		uint64_t n = sizes[k];
		const char *p = write_file("f", n, (unsigned)k);

		CHECK(sl_map_open(&m, p) == 0);
		CHECK_MSG(same_as_pattern(&m, n, (unsigned)k), "mapped %llu bytes", (unsigned long long)n);
		CHECK((uintptr_t)m.data % OPEN_ALIGN == 0); /* huge pages need the alignment */
		CHECK(OPEN_COPIES ? m.copied >= n : m.copied == 0);
		sl_map_prefault(&m);
		CHECK_MSG(same_as_pattern(&m, n, (unsigned)k), "after prefault, %llu bytes", (unsigned long long)n);
		CHECK(m.huge % (2 * MIB) == 0 && m.huge <= n);
		CHECK(!OPEN_COPIES || m.huge == 0);
		sl_map_drop(m.data, n); /* the pages come back from the file when read again */
		CHECK_MSG(same_as_pattern(&m, n, (unsigned)k), "after sl_map_drop, %llu bytes", (unsigned long long)n);
		sl_map_close(&m);

		CHECK(sl_map_read(&m, p) == 0);
		CHECK_MSG(same_as_pattern(&m, n, (unsigned)k), "read %llu bytes", (unsigned long long)n);
		CHECK((uintptr_t)m.data % OPEN_ALIGN == 0 && m.copied >= n);
		sl_map_prefault(&m); /* a copy: nothing to do */
		CHECK(m.huge == 0);
		sl_map_close(&m);
	}
}

/*
 * A file just written sits in the page cache in small pages, which is the case in which
 * prefault drops and re-reads it.  Twice: the second open finds whatever the first left.
 */
static void test_prefault_rereads(void)
{
	const uint64_t n = 9 * MIB + 777;
	const char *p = write_file("big", n, 7);
	sl_map a, b;

	CHECK(sl_map_open(&a, p) == 0);
	sl_map_prefault(&a);
	CHECK(same_as_pattern(&a, n, 7));
	CHECK(sl_map_open(&b, p) == 0);
	sl_map_prefault(&b);
	CHECK(same_as_pattern(&b, n, 7));
	CHECK(same_as_pattern(&a, n, 7)); /* a second mapping's prefault leaves the first intact */
	CHECK(b.huge % (2 * MIB) == 0 && b.huge <= n);
	fprintf(stderr, "test_map: %llu of %llu bytes in 2 MiB pages after a fresh write (%s)\n",
		(unsigned long long)a.huge, (unsigned long long)n,
		a.huge ? "the kernel maps this file system's files in huge pages" : "not on this machine");
	uint64_t huge = a.huge;
	sl_map_close(&a);
	sl_map_close(&b);
	if (huge != 8 * MIB)
		return;

	/*
	 * This machine gives huge pages: then a cache that mixes them with small ones (here the
	 * third 2 MiB chunk dropped and read back with read(2)) must be repaired whole.
	 */
	int fd = open(p, O_RDONLY);
	char buf[4096];
	CHECK(fd >= 0 && posix_fadvise(fd, 4 * MIB, 2 * MIB, POSIX_FADV_DONTNEED) == 0);
	int short_reads = 0;
	for (uint64_t off = 4 * MIB; off < 6 * MIB; off += sizeof buf)
		short_reads += pread(fd, buf, sizeof buf, (off_t)off) != (ssize_t)sizeof buf;
	CHECK(short_reads == 0);
	close(fd);
	CHECK(sl_map_open(&a, p) == 0);
	sl_map_prefault(&a);
	CHECK_MSG(a.huge == 8 * MIB, "%llu bytes in 2 MiB pages after a mixed cache", (unsigned long long)a.huge);
	CHECK(same_as_pattern(&a, n, 7));
	sl_map_close(&a);
}

/* The path now names another file: prefault must not drop or read the new one for it. */
static void test_prefault_replaced(void)
{
	const uint64_t n = 6 * MIB + 5;
	char old[300], other[300];
	sl_map m;

	snprintf(old, sizeof old, "%s", write_file("orig", n, 3));
	snprintf(other, sizeof other, "%s", write_file("other", n, 4));
	CHECK(sl_map_open(&m, old) == 0);
	CHECK(rename(other, old) == 0);
	sl_map_prefault(&m);
	CHECK(same_as_pattern(&m, n, 3)); /* still the file that was mapped */
	sl_map_close(&m);
	CHECK(sl_map_open(&m, old) == 0 && same_as_pattern(&m, n, 4));
	sl_map_close(&m);
}

/* sl_huge_alloc: zeroed, writable, any size (the KV cache); calloc without mmap. */
static void test_huge_alloc(void)
{
	const size_t sizes[] = {1, 4096, 2 * MIB + 3};

	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		uint8_t *p = sl_huge_alloc(sizes[k]);
		int zero = p != NULL;
		CHECK(p != NULL);
		if (!p)
			continue;
		for (size_t i = 0; i < sizes[k]; i++)
			zero &= p[i] == 0;
		CHECK_MSG(zero, "%zu bytes not zeroed", sizes[k]);
		memset(p, 0xab, sizes[k]);
		CHECK(p[sizes[k] - 1] == 0xab);
		sl_huge_free(p, sizes[k]);
	}
	sl_huge_free(NULL, 10);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir)) {
		perror("test_map: mkdtemp");
		return 1;
	}
	test_errors();
	test_contents();
	test_huge_alloc();
	test_prefault_rereads();
	test_prefault_replaced();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_map: could not remove %s\n", dir);
	return CHECK_DONE();
}
