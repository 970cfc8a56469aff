/*
 * sl_map — read-only mappings and the bounds-checked cursor (sl_map.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_err.h"
#include "sl_map.h"

int sl_map_open(sl_map *m, const char *path)
{
	struct stat st;
	int fd;
	void *p = NULL;

	memset(m, 0, sizeof *m);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sl_seterr("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return sl_seterr("%s: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return sl_seterr("%s: is a directory", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return sl_seterr("%s: not a regular file (models must be seekable files)", path);
	}
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			close(fd);
			return sl_seterr("%s: mmap: %s", path, strerror(e));
		}
	}
	close(fd);
	m->data = p;
	m->size = (uint64_t)st.st_size;
	m->path = strdup(path);
	if (!m->path) {
		sl_map_close(m);
		return sl_seterr("out of memory");
	}
	return 0;
}

#define HUGE_PAGE ((uint64_t)2 << 20)

int sl_map_read(sl_map *m, const char *path)
{
	struct stat st;
	uint64_t len, got = 0;
	uint8_t *raw, *buf;
	int fd;

	memset(m, 0, sizeof *m);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sl_seterr("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return sl_seterr("%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return sl_seterr(S_ISDIR(st.st_mode) ? "%s: is a directory" : "%s: not a regular file", path);
	}
	m->path = strdup(path);
	if (!m->path) {
		close(fd);
		return sl_seterr("out of memory");
	}
	m->size = (uint64_t)st.st_size;
	if (m->size == 0) {
		close(fd);
		return 0;
	}
	/* Over-allocate by one huge page, then trim both ends to a 2 MiB-aligned range. */
	len = (m->size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	raw = mmap(NULL, (size_t)(len + HUGE_PAGE), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		close(fd);
		sl_map_close(m);
		return sl_seterr("%s: cannot allocate %llu bytes to read it into: %s", path,
				 (unsigned long long)m->size, strerror(errno));
	}
	buf = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (buf > raw)
		munmap(raw, (size_t)(buf - raw));
	if (raw + len + HUGE_PAGE > buf + len)
		munmap(buf + len, (size_t)(raw + len + HUGE_PAGE - (buf + len)));
	madvise(buf, (size_t)len, MADV_HUGEPAGE); /* advice only: fine if THP is off */
	m->data = buf;
	m->copied = len;
	while (got < m->size) {
		ssize_t r = pread(fd, buf + got, (size_t)(m->size - got > (1u << 30) ? (1u << 30) : m->size - got),
				  (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : 0;
			close(fd);
			sl_map_close(m);
			return sl_seterr("%s: read: %s", path, e ? strerror(e) : "file shrank while reading");
		}
		got += (uint64_t)r;
	}
	close(fd);
	mprotect(buf, (size_t)len, PROT_READ); /* weights are read-only, as when mapped */
	return 0;
}

void sl_map_close(sl_map *m)
{
	if (m->data)
		munmap((void *)m->data, (size_t)(m->copied ? m->copied : m->size));
	free(m->path);
	memset(m, 0, sizeof *m);
}

void sl_rd_init(sl_rd *r, const void *base, uint64_t size, const char *name)
{
	r->base = base;
	r->size = size;
	r->pos = 0;
	r->name = name;
}

int sl_rd_bytes(sl_rd *r, uint64_t n, const uint8_t **out, const char *what)
{
	if (n > r->size - r->pos)
		return sl_seterr("%s: truncated at byte %llu (reading %s: %llu bytes past the end)", r->name,
				 (unsigned long long)r->pos, what,
				 (unsigned long long)(n - (r->size - r->pos)));
	*out = r->base + r->pos;
	r->pos += n;
	return 0;
}

/* Little-endian loads: the file format is little-endian whatever the host. */
static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int sl_rd_u8(sl_rd *r, uint8_t *v, const char *what)
{
	const uint8_t *p = NULL;

	if (sl_rd_bytes(r, 1, &p, what))
		return -1;
	*v = p[0];
	return 0;
}

int sl_rd_u16(sl_rd *r, uint16_t *v, const char *what)
{
	const uint8_t *p = NULL;

	if (sl_rd_bytes(r, 2, &p, what))
		return -1;
	*v = (uint16_t)le(p, 2);
	return 0;
}

int sl_rd_u32(sl_rd *r, uint32_t *v, const char *what)
{
	const uint8_t *p = NULL;

	if (sl_rd_bytes(r, 4, &p, what))
		return -1;
	*v = (uint32_t)le(p, 4);
	return 0;
}

int sl_rd_u64(sl_rd *r, uint64_t *v, const char *what)
{
	const uint8_t *p = NULL;

	if (sl_rd_bytes(r, 8, &p, what))
		return -1;
	*v = le(p, 8);
	return 0;
}

int sl_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	if (a > UINT64_MAX - b)
		return -1;
	*out = a + b;
	return 0;
}

int sl_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	if (a != 0 && b > UINT64_MAX / a)
		return -1;
	*out = a * b;
	return 0;
}
