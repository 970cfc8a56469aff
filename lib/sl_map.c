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

void sl_map_close(sl_map *m)
{
	if (m->data)
		munmap((void *)m->data, (size_t)m->size);
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
