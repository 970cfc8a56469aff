/*
 * sl_gguf_write — the writer half of sl_gguf.h: builds a GGUF v3 file as llama.cpp expects it.
 *
 * Metadata is serialized into a memory buffer as it is added (it is small: the largest part is
 * the vocabulary), tensor infos are collected, and sl_gguf_write_header() emits both with the
 * tensor offsets already known, because each tensor's size follows from its type and shape.
 * Tensor data then streams in, one tensor after another in declaration order, each padded with
 * zeros to the alignment: llama.cpp insists that tensor i starts at Σ_{j<i} roundup(nbytes_j,
 * ALIGN), so the writer never leaves gaps and never reorders.  Nothing here seeks, so the output
 * can be any FILE (sl-quant uses an atomic temporary file, cli/sl_cli.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_gguf.h"
#include "sl_types.h"

#define GGUF_MAX_NAME 63      /* llama.cpp's GGML_MAX_NAME - 1 */

typedef struct {
	char *name;
	uint32_t n_dims;
	uint64_t ne[SL_GGUF_MAX_DIMS];
	uint32_t type;
	uint64_t nbytes;
	uint64_t offset;
} wtensor;

struct sl_gguf_writer {
	uint8_t *meta;            /* serialized key/value pairs */
	size_t meta_len, meta_cap;
	uint64_t n_kv;
	char **keys;              /* to refuse duplicates */
	wtensor *t;
	int n_t;
	uint32_t align;
	uint32_t version;
	/* streaming state */
	int header_done;
	int cur;                  /* tensor being written */
	uint64_t cur_done;        /* bytes of it written so far */
};

static const uint8_t zeros[64];

/* ==== metadata buffer ==== */

static int put(sl_gguf_writer *w, const void *p, size_t n)
{
	if (w->meta_len + n > w->meta_cap) {
		size_t cap = w->meta_cap ? w->meta_cap : 4096;
		uint8_t *m;
		while (cap < w->meta_len + n)
			cap *= 2;
		m = realloc(w->meta, cap);
		if (!m)
			return sl_seterr("out of memory");
		w->meta = m;
		w->meta_cap = cap;
	}
	memcpy(w->meta + w->meta_len, p, n);
	w->meta_len += n;
	return 0;
}

static int put_u32(sl_gguf_writer *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	return put(w, b, 4);
}

static int put_u64(sl_gguf_writer *w, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> 8 * i);
	return put(w, b, 8);
}

static int put_str(sl_gguf_writer *w, const char *s, uint64_t n)
{
	if (put_u64(w, n) != 0)
		return -1;
	return n ? put(w, s, (size_t)n) : 0;
}

/* Size of a fixed-size value type; 0 for string/array/unknown. */
static unsigned vsize(uint32_t type)
{
	static const unsigned sz[SL_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

	return type < SL_GGUF_VTYPE_COUNT ? sz[type] : 0;
}

/* Keys are ASCII lower_snake segments joined by dots (ggml's gguf.md); refuse anything else. */
static int begin_kv(sl_gguf_writer *w, const char *key, uint32_t type)
{
	size_t n = key ? strlen(key) : 0;
	char **k;

	if (w->header_done)
		return sl_seterr("gguf writer: key %s added after the header was written", key ? key : "");
	if (n == 0 || n >= 65536 || key[0] == '.' || key[n - 1] == '.' || strstr(key, ".."))
		return sl_seterr("gguf writer: bad key \"%s\"", key ? key : "");
	for (size_t i = 0; i < n; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') ||
		      key[i] == '_' || key[i] == '.'))
			return sl_seterr("gguf writer: bad key \"%s\" (lower_snake segments joined by dots)", key);
	for (uint64_t i = 0; i < w->n_kv; i++)
		if (strcmp(w->keys[i], key) == 0)
			return sl_seterr("gguf writer: key %s added twice", key);
	k = realloc(w->keys, (w->n_kv + 1) * sizeof *k);
	if (!k)
		return sl_seterr("out of memory");
	w->keys = k;
	k[w->n_kv] = strdup(key);
	if (!k[w->n_kv])
		return sl_seterr("out of memory");
	w->n_kv++;
	if (put_str(w, key, n) != 0 || put_u32(w, type) != 0)
		return -1;
	return 0;
}

sl_gguf_writer *sl_gguf_writer_new(void)
{
	sl_gguf_writer *w = calloc(1, sizeof *w);

	if (!w) {
		sl_seterr("out of memory");
		return NULL;
	}
	w->align = SL_GGUF_DEFAULT_ALIGN;
	w->version = SL_GGUF_VERSION;
	return w;
}

void sl_gguf_writer_free(sl_gguf_writer *w)
{
	if (!w)
		return;
	for (uint64_t i = 0; i < w->n_kv; i++)
		free(w->keys[i]);
	for (int i = 0; i < w->n_t; i++)
		free(w->t[i].name);
	free(w->keys);
	free(w->t);
	free(w->meta);
	free(w);
}

int sl_gguf_add_scalar(sl_gguf_writer *w, const char *key, uint32_t type, const void *val)
{
	unsigned n = vsize(type);

	if (n == 0)
		return sl_seterr("gguf writer: key %s: type %u is not a scalar", key, type);
	if (type == SL_GGUF_BOOL && *(const uint8_t *)val > 1)
		return sl_seterr("gguf writer: key %s: bool must be 0 or 1", key);
	if (strcmp(key, "general.alignment") == 0) {
		uint32_t a;
		if (type != SL_GGUF_U32)
			return sl_seterr("gguf writer: general.alignment must be u32");
		memcpy(&a, val, 4);
		if (a < 8 || (a & (a - 1)) || a > 4096)
			return sl_seterr("gguf writer: general.alignment %u is not a power of two in 8..4096", a);
		if (w->n_t)
			return sl_seterr("gguf writer: general.alignment must be set before the tensors");
		w->align = a;
	}
	if (begin_kv(w, key, type) != 0)
		return -1;
	return put(w, val, n);      /* values are held little-endian already */
}

int sl_gguf_add_u32(sl_gguf_writer *w, const char *key, uint32_t v)
{
	return sl_gguf_add_scalar(w, key, SL_GGUF_U32, &v);
}

int sl_gguf_add_i32(sl_gguf_writer *w, const char *key, int32_t v)
{
	return sl_gguf_add_scalar(w, key, SL_GGUF_I32, &v);
}

int sl_gguf_add_u64(sl_gguf_writer *w, const char *key, uint64_t v)
{
	return sl_gguf_add_scalar(w, key, SL_GGUF_U64, &v);
}

int sl_gguf_add_f32(sl_gguf_writer *w, const char *key, float v)
{
	return sl_gguf_add_scalar(w, key, SL_GGUF_F32, &v);
}

int sl_gguf_add_bool(sl_gguf_writer *w, const char *key, int v)
{
	uint8_t b = v != 0;

	return sl_gguf_add_scalar(w, key, SL_GGUF_BOOL, &b);
}

int sl_gguf_add_str(sl_gguf_writer *w, const char *key, const char *s)
{
	if (!s)
		return sl_seterr("gguf writer: key %s: NULL string", key);
	if (begin_kv(w, key, SL_GGUF_STRING) != 0)
		return -1;
	return put_str(w, s, strlen(s));
}

int sl_gguf_add_arr(sl_gguf_writer *w, const char *key, uint32_t elem_type, uint64_t n, const void *data)
{
	unsigned es = vsize(elem_type);

	if (es == 0)
		return sl_seterr("gguf writer: key %s: array element type %u is not a fixed-size scalar", key, elem_type);
	if (n > (SIZE_MAX >> 4) / es)
		return sl_seterr("gguf writer: key %s: array too large", key);
	if (elem_type == SL_GGUF_BOOL)
		for (uint64_t i = 0; i < n; i++)
			if (((const uint8_t *)data)[i] > 1)
				return sl_seterr("gguf writer: key %s: bool must be 0 or 1", key);
	if (begin_kv(w, key, SL_GGUF_ARRAY) != 0 || put_u32(w, elem_type) != 0 || put_u64(w, n) != 0)
		return -1;
	return n ? put(w, data, (size_t)(n * es)) : 0;
}

int sl_gguf_add_arr_str(sl_gguf_writer *w, const char *key, uint64_t n, const char *const *s, const uint64_t *lens)
{
	if (begin_kv(w, key, SL_GGUF_ARRAY) != 0 || put_u32(w, SL_GGUF_STRING) != 0 || put_u64(w, n) != 0)
		return -1;
	for (uint64_t i = 0; i < n; i++)
		if (put_str(w, s[i], lens ? lens[i] : strlen(s[i])) != 0)
			return -1;
	return 0;
}

/* The value of a key read from another GGUF, as it was (same type, same bytes). */
int sl_gguf_add_kv(sl_gguf_writer *w, const sl_gguf_kv *kv)
{
	uint8_t b[8];

	switch (kv->type) {
	case SL_GGUF_STRING:
		if (begin_kv(w, kv->key, SL_GGUF_STRING) != 0)
			return -1;
		return put_str(w, kv->s.ptr, kv->s.len);
	case SL_GGUF_ARRAY:
		if (kv->arr_type == SL_GGUF_ARRAY)
			return 1;      /* the reader keeps only the raw bytes of nested arrays */
		if (kv->arr_type != SL_GGUF_STRING)
			return sl_gguf_add_arr(w, kv->key, kv->arr_type, kv->arr_n, kv->arr_data);
		if (begin_kv(w, kv->key, SL_GGUF_ARRAY) != 0 || put_u32(w, SL_GGUF_STRING) != 0 ||
		    put_u64(w, kv->arr_n) != 0)
			return -1;
		for (uint64_t i = 0; i < kv->arr_n; i++)
			if (put_str(w, kv->strs[i].ptr, kv->strs[i].len) != 0)
				return -1;
		return 0;
	case SL_GGUF_F32: {
		float f = (float)kv->f;
		return sl_gguf_add_scalar(w, kv->key, kv->type, &f);
	}
	case SL_GGUF_F64:
		return sl_gguf_add_scalar(w, kv->key, kv->type, &kv->f);
	default: {
		/* integers and bool, widened by the reader: signed from i, unsigned from u */
		int sgn = kv->type == SL_GGUF_I8 || kv->type == SL_GGUF_I16 || kv->type == SL_GGUF_I32 ||
			  kv->type == SL_GGUF_I64;
		uint64_t v = sgn ? (uint64_t)kv->i : kv->u;
		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(v >> 8 * i);
		return sl_gguf_add_scalar(w, kv->key, kv->type, b);
	}
	}
}

int sl_gguf_add_raw(sl_gguf_writer *w, const char *key, uint32_t type, const void *val, uint64_t n)
{
	if (type != SL_GGUF_STRING && type != SL_GGUF_ARRAY) {
		if (n != vsize(type))
			return sl_seterr("gguf writer: key %s: %llu bytes for a %u-byte value", key,
					 (unsigned long long)n, vsize(type));
		return sl_gguf_add_scalar(w, key, type, val);
	}
	if (n > SIZE_MAX >> 4)
		return sl_seterr("gguf writer: key %s: value too large", key);
	if (begin_kv(w, key, type) != 0)
		return -1;
	return put(w, val, (size_t)n);
}

int sl_gguf_writer_set_version(sl_gguf_writer *w, uint32_t version)
{
	if (version != 2 && version != 3)
		return sl_seterr("gguf writer: version %u (only 2 and 3)", version);
	w->version = version;
	return 0;
}

/* ==== tensors ==== */

int sl_gguf_add_tensor(sl_gguf_writer *w, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type)
{
	size_t len = name ? strlen(name) : 0;
	wtensor t, *p;

	if (w->header_done)
		return sl_seterr("gguf writer: tensor %s added after the header was written", name ? name : "");
	if (len == 0 || len > GGUF_MAX_NAME)
		return sl_seterr("gguf writer: tensor name \"%s\" must be 1 to %d bytes", name ? name : "", GGUF_MAX_NAME);
	for (int i = 0; i < w->n_t; i++)
		if (strcmp(w->t[i].name, name) == 0)
			return sl_seterr("gguf writer: tensor %s added twice", name);
	if (n_dims < 1 || n_dims > SL_GGUF_MAX_DIMS)
		return sl_seterr("gguf writer: tensor %s: %u dimensions (1 to %d)", name, n_dims, SL_GGUF_MAX_DIMS);
	memset(&t, 0, sizeof t);
	for (uint32_t i = 0; i < SL_GGUF_MAX_DIMS; i++)
		t.ne[i] = i < n_dims ? ne[i] : 1;
	t.n_dims = n_dims;
	t.type = type;
	t.nbytes = sl_type_nbytes(type, t.ne, n_dims);
	if (t.nbytes == 0) {
		if (!sl_type_get(type))
			return sl_seterr("gguf writer: tensor %s: unknown type %u", name, type);
		return sl_preferr("gguf writer: tensor %s", name);
	}
	if (w->n_t) {
		const wtensor *q = &w->t[w->n_t - 1];
		t.offset = q->offset + (q->nbytes + w->align - 1) / w->align * w->align;
	}
	p = realloc(w->t, (w->n_t + 1) * sizeof *p);
	if (!p)
		return sl_seterr("out of memory");
	w->t = p;
	t.name = strdup(name);
	if (!t.name)
		return sl_seterr("out of memory");
	w->t[w->n_t] = t;
	return w->n_t++;
}

uint64_t sl_gguf_tensor_nbytes(const sl_gguf_writer *w, int idx)
{
	return idx >= 0 && idx < w->n_t ? w->t[idx].nbytes : 0;
}

/* ==== output ==== */

static int fwrite_all(FILE *f, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, f) != n)
		return sl_seterr("write: %s", errno ? strerror(errno) : "I/O error");
	return 0;
}

static int pad(FILE *f, uint64_t pos, uint32_t align)
{
	uint64_t n = (align - pos % align) % align;

	return fwrite_all(f, zeros, (size_t)n);
}

int sl_gguf_write_header(sl_gguf_writer *w, FILE *f)
{
	uint8_t *kv = w->meta;
	size_t kv_len = w->meta_len;
	uint64_t pos;
	int rc = -1;

	if (w->header_done)
		return sl_seterr("gguf writer: header written twice");
	/* Reuse the metadata buffer for the tensor infos, after the KVs. */
	w->meta = NULL;
	w->meta_len = w->meta_cap = 0;
	if (put_u32(w, SL_GGUF_MAGIC) || put_u32(w, w->version) || put_u64(w, (uint64_t)w->n_t) ||
	    put_u64(w, w->n_kv) || put(w, kv, kv_len))
		goto out;
	for (int i = 0; i < w->n_t; i++) {
		const wtensor *t = &w->t[i];
		if (put_str(w, t->name, strlen(t->name)) || put_u32(w, t->n_dims))
			goto out;
		for (uint32_t d = 0; d < t->n_dims; d++)
			if (put_u64(w, t->ne[d]))
				goto out;
		if (put_u32(w, t->type) || put_u64(w, t->offset))
			goto out;
	}
	pos = w->meta_len;
	if (fwrite_all(f, w->meta, w->meta_len) || pad(f, pos, w->align))
		goto out;
	w->header_done = 1;
	w->cur = 0;
	w->cur_done = 0;
	rc = 0;
out:
	free(kv);
	free(w->meta);
	w->meta = NULL;
	w->meta_len = w->meta_cap = 0;
	return rc;
}

int sl_gguf_write_data(sl_gguf_writer *w, FILE *f, const void *data, uint64_t n)
{
	wtensor *t;

	if (!w->header_done)
		return sl_seterr("gguf writer: tensor data before the header");
	if (w->cur >= w->n_t)
		return sl_seterr("gguf writer: more tensor data than the %d tensors declared", w->n_t);
	t = &w->t[w->cur];
	if (n > t->nbytes - w->cur_done)
		return sl_seterr("gguf writer: tensor %s: %llu bytes given, %llu expected", t->name,
				 (unsigned long long)(w->cur_done + n), (unsigned long long)t->nbytes);
	if (fwrite_all(f, data, (size_t)n) != 0)
		return -1;
	w->cur_done += n;
	if (w->cur_done == t->nbytes) {
		/* The last tensor is padded too, as ggml's writer does. */
		if (pad(f, t->nbytes, w->align) != 0)
			return -1;
		w->cur++;
		w->cur_done = 0;
	}
	return 0;
}

int sl_gguf_write_finish(sl_gguf_writer *w, FILE *f)
{
	if (!w->header_done)
		return sl_seterr("gguf writer: finished before the header was written");
	/* A zero-byte tensor never triggers the advance in write_data. */
	while (w->cur < w->n_t && w->t[w->cur].nbytes == 0)
		w->cur++;
	if (w->cur < w->n_t)
		return sl_seterr("gguf writer: tensor %s: %llu of %llu bytes written", w->t[w->cur].name,
				 (unsigned long long)w->cur_done, (unsigned long long)w->t[w->cur].nbytes);
	if (fflush(f) != 0 || ferror(f))
		return sl_seterr("write: %s", errno ? strerror(errno) : "I/O error");
	return 0;
}
