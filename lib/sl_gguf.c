/*
 * sl_gguf — the GGUF v3 reader (the writer is sl_gguf_write.c).  See sl_gguf.h.
 *
 * Parsing is one pass over a bounds-checked cursor: header, key/values, tensor infos, then
 * the data section, whose placement is checked tensor by tensor (aligned, inside the file,
 * no two tensors overlapping).  After sl_gguf_open() returns 0, every pointer it hands out
 * is safe to read for the length it states.
 */
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_gguf.h"
#include "sl_types.h"

#define MAX_KEY_LEN 65535
#define MAX_NAME_LEN 63   /* llama.cpp's GGML_MAX_NAME - 1 */
#define MAX_DEPTH 4       /* nested arrays */

static const char *const vtype_names[SL_GGUF_VTYPE_COUNT] = {
	"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

/* Size of a fixed-size value type, 0 for string/array/unknown. */
static unsigned vtype_size(uint32_t t)
{
	static const unsigned sz[SL_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

	return t < SL_GGUF_VTYPE_COUNT ? sz[t] : 0;
}

const char *sl_gguf_vtype_name(uint32_t type)
{
	return type < SL_GGUF_VTYPE_COUNT ? vtype_names[type] : "unknown";
}

static int rd_str(sl_rd *r, sl_gguf_str *s, uint64_t max, const char *what)
{
	const uint8_t *p;
	uint64_t len;

	if (sl_rd_u64(r, &len, what))
		return -1;
	if (len > max)
		return sl_seterr("%s: %s at byte %llu is %llu bytes long (limit %llu)", r->name, what,
				 (unsigned long long)(r->pos - 8), (unsigned long long)len,
				 (unsigned long long)max);
	if (sl_rd_bytes(r, len, &p, what))
		return -1;
	s->ptr = (const char *)p;
	s->len = len;
	return 0;
}

static char *dup_str(sl_gguf_str s)
{
	char *c = malloc(s.len + 1);

	if (c) {
		memcpy(c, s.ptr, s.len);
		c[s.len] = '\0';
	}
	return c;
}

/* Decode a fixed-size scalar at p into the kv's widened fields. */
static void widen(sl_gguf_kv *kv, uint32_t t, const uint8_t *p)
{
	uint64_t u = 0;
	unsigned n = vtype_size(t);

	for (unsigned i = n; i-- > 0;)
		u = u << 8 | p[i];
	switch (t) {
	case SL_GGUF_I8: kv->i = (int8_t)u; break;
	case SL_GGUF_I16: kv->i = (int16_t)u; break;
	case SL_GGUF_I32: kv->i = (int32_t)u; break;
	case SL_GGUF_I64: kv->i = (int64_t)u; break;
	case SL_GGUF_F32: { float f; uint32_t b = (uint32_t)u; memcpy(&f, &b, 4); kv->f = f; return; }
	case SL_GGUF_F64: memcpy(&kv->f, &u, 8); return;
	default: kv->u = u; kv->i = u > INT64_MAX ? INT64_MAX : (int64_t)u; return;
	}
	kv->u = kv->i >= 0 ? (uint64_t)kv->i : 0;
}

/* Skip over (and validate) one array's elements; depth limits nesting. */
static int skip_array(sl_rd *r, int depth, const char *key)
{
	uint32_t et;
	uint64_t n;
	const uint8_t *p;

	if (depth > MAX_DEPTH)
		return sl_seterr("%s: key %s: arrays nested too deeply", r->name, key);
	if (sl_rd_u32(r, &et, "array type") || sl_rd_u64(r, &n, "array length"))
		return -1;
	if (et >= SL_GGUF_VTYPE_COUNT)
		return sl_seterr("%s: key %s: bad array element type %u", r->name, key, et);
	if (vtype_size(et)) {
		uint64_t bytes;
		if (sl_mul_u64(n, vtype_size(et), &bytes) || sl_rd_bytes(r, bytes, &p, "array"))
			return sl_seterr("%s: key %s: array of %llu %s runs past the end of the file",
					 r->name, key, (unsigned long long)n, vtype_names[et]);
		if (et == SL_GGUF_BOOL) {
			for (uint64_t i = 0; i < n; i++)
				if (p[i] > 1)
					return sl_seterr("%s: key %s: bool array element %llu is %u (not 0 or 1)",
							 r->name, key, (unsigned long long)i, p[i]);
		}
		return 0;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (et == SL_GGUF_STRING) {
			sl_gguf_str s;
			if (rd_str(r, &s, r->size, "string"))
				return -1;
		} else if (skip_array(r, depth + 1, key)) {
			return -1;
		}
	}
	return 0;
}

static int parse_kv(sl_rd *r, sl_gguf_kv *kv)
{
	sl_gguf_str key;
	const uint8_t *p;

	if (rd_str(r, &key, MAX_KEY_LEN, "key"))
		return -1;
	if (key.len == 0 || memchr(key.ptr, '\0', key.len))
		return sl_seterr("%s: empty or malformed key at byte %llu", r->name,
				 (unsigned long long)(r->pos - key.len));
	kv->key = dup_str(key);
	if (!kv->key)
		return sl_seterr("out of memory");
	if (sl_rd_u32(r, &kv->type, "value type"))
		return -1;
	if (kv->type >= SL_GGUF_VTYPE_COUNT)
		return sl_seterr("%s: key %s: unknown value type %u", r->name, kv->key, kv->type);
	if (kv->type == SL_GGUF_STRING)
		return rd_str(r, &kv->s, r->size, kv->key);
	if (kv->type != SL_GGUF_ARRAY) {
		if (sl_rd_bytes(r, vtype_size(kv->type), &p, kv->key))
			return -1;
		if (kv->type == SL_GGUF_BOOL && p[0] > 1)
			return sl_seterr("%s: key %s: bool value is %u (not 0 or 1)", r->name, kv->key, p[0]);
		widen(kv, kv->type, p);
		return 0;
	}
	/* Array: remember where the elements start, validate by skipping, then index strings. */
	uint64_t start = r->pos;
	if (skip_array(r, 0, kv->key))
		return -1;
	kv->arr_type = (uint32_t)r->base[start] | (uint32_t)r->base[start + 1] << 8 |
		       (uint32_t)r->base[start + 2] << 16 | (uint32_t)r->base[start + 3] << 24;
	kv->arr_n = 0;
	for (int b = 7; b >= 0; b--)
		kv->arr_n = kv->arr_n << 8 | r->base[start + 4 + b];
	kv->arr_data = r->base + start + 12;
	if (kv->arr_type == SL_GGUF_STRING) {
		sl_rd sub;
		sl_rd_init(&sub, r->base, r->pos, r->name);
		sub.pos = start + 12;
		kv->strs = malloc((kv->arr_n ? kv->arr_n : 1) * sizeof *kv->strs);
		if (!kv->strs)
			return sl_seterr("out of memory");
		for (uint64_t i = 0; i < kv->arr_n; i++)
			if (rd_str(&sub, &kv->strs[i], sub.size, "string"))
				return -1; /* cannot happen: validated above */
	}
	return 0;
}

static int parse_tensor_info(sl_rd *r, sl_gguf_tensor *t)
{
	sl_gguf_str name;
	const sl_type_info *ti;

	if (rd_str(r, &name, r->size, "tensor name"))
		return -1;
	t->name = dup_str(name);
	if (!t->name)
		return sl_seterr("out of memory");
	if (name.len == 0 || name.len > MAX_NAME_LEN || memchr(name.ptr, '\0', name.len))
		return sl_seterr("%s: tensor name '%.80s' is empty, malformed or longer than %d bytes",
				 r->name, t->name, MAX_NAME_LEN);
	if (sl_rd_u32(r, &t->n_dims, "tensor dims"))
		return -1;
	if (t->n_dims == 0 || t->n_dims > SL_GGUF_MAX_DIMS)
		return sl_seterr("%s: tensor %s has %u dimensions (1 to %d allowed)", r->name, t->name,
				 t->n_dims, SL_GGUF_MAX_DIMS);
	for (int d = 0; d < SL_GGUF_MAX_DIMS; d++)
		t->ne[d] = 1;
	for (uint32_t d = 0; d < t->n_dims; d++) {
		if (sl_rd_u64(r, &t->ne[d], "tensor shape"))
			return -1;
		if (t->ne[d] == 0 || t->ne[d] > ((uint64_t)1 << 40))
			return sl_seterr("%s: tensor %s: dimension %u is %llu", r->name, t->name, d,
					 (unsigned long long)t->ne[d]);
	}
	if (sl_rd_u32(r, &t->type, "tensor type") || sl_rd_u64(r, &t->offset, "tensor offset"))
		return -1;
	ti = sl_type_get(t->type);
	if (!ti)
		return sl_seterr("%s: tensor %s: unknown type %u", r->name, t->name, t->type);
	t->nbytes = sl_type_nbytes(t->type, t->ne, t->n_dims);
	if (t->nbytes == 0)
		return sl_preferr("%s: tensor %s", r->name, t->name);
	return 0;
}

static int cmp_offset(const void *a, const void *b)
{
	const sl_gguf_tensor *x = *(const sl_gguf_tensor *const *)a, *y = *(const sl_gguf_tensor *const *)b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(const sl_gguf_tensor *const *)a)->name, (*(const sl_gguf_tensor *const *)b)->name);
}

static int place_tensors(sl_gguf *g, const char *name)
{
	uint64_t data_size = g->size - g->data_offset;
	sl_gguf_tensor **order;
	int rc = 0;

	for (uint64_t i = 0; i < g->n_tensors; i++) {
		sl_gguf_tensor *t = &g->tensors[i];
		uint64_t end;
		if (t->offset % g->alignment)
			return sl_seterr("%s: tensor %s: offset %llu is not a multiple of the alignment %u",
					 name, t->name, (unsigned long long)t->offset, g->alignment);
		if (sl_add_u64(t->offset, t->nbytes, &end) || end > data_size)
			return sl_seterr("%s: tensor %s: data [%llu, +%llu) runs past the end of the file "
					 "(truncated?)", name, t->name, (unsigned long long)t->offset,
					 (unsigned long long)t->nbytes);
		t->data = g->base + g->data_offset + t->offset;
	}
	if (g->n_tensors < 2)
		return 0;
	order = malloc(g->n_tensors * sizeof *order);
	if (!order)
		return sl_seterr("out of memory");
	for (uint64_t i = 0; i < g->n_tensors; i++)
		order[i] = &g->tensors[i];
	qsort(order, g->n_tensors, sizeof *order, cmp_offset);
	for (uint64_t i = 1; i < g->n_tensors && rc == 0; i++) {
		if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset)
			rc = sl_seterr("%s: tensors %s and %s overlap", name, order[i - 1]->name, order[i]->name);
	}
	/* Duplicate names: sort the same pointers by name and compare neighbours. */
	qsort(order, g->n_tensors, sizeof *order, cmp_name);
	for (uint64_t i = 1; i < g->n_tensors && rc == 0; i++) {
		if (strcmp(order[i - 1]->name, order[i]->name) == 0)
			rc = sl_seterr("%s: tensor %s appears twice", name, order[i]->name);
	}
	free(order);
	return rc;
}

static int parse(sl_gguf *g, const void *data, uint64_t size, const char *name)
{
	sl_rd r;
	uint32_t magic;
	int got;

	g->base = data;
	g->size = size;
	g->name = strdup(name);
	if (!g->name)
		return sl_seterr("out of memory");
	sl_rd_init(&r, data, size, name);
	if (size < 4 || sl_rd_u32(&r, &magic, "magic"))
		return sl_seterr("%s: too short to be a GGUF file (%llu bytes)", name, (unsigned long long)size);
	if (magic != SL_GGUF_MAGIC)
		return sl_seterr("%s: bad magic (not a GGUF file)", name);
	if (sl_rd_u32(&r, &g->version, "version"))
		return -1;
	if (g->version != 2 && g->version != 3)
		return sl_seterr("%s: GGUF version %u is not supported (only 2 and 3)", name, g->version);
	if (sl_rd_u64(&r, &g->n_tensors, "tensor count") || sl_rd_u64(&r, &g->n_kv, "key count"))
		return -1;
	/* Each kv takes at least 8+1+4+1 bytes and each tensor info at least 8+1+4+8+4+8 bytes. */
	if (g->n_kv > size / 14 || g->n_tensors > size / 33)
		return sl_seterr("%s: header claims %llu keys and %llu tensors, more than the file can hold",
				 name, (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors);
	g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
	g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
	if (!g->kv || !g->tensors)
		return sl_seterr("out of memory");
	for (uint64_t i = 0; i < g->n_kv; i++) {
		uint64_t at = r.pos;
		if (parse_kv(&r, &g->kv[i]))
			return -1;
		/* The value follows the key's length, its bytes and the u32 type. */
		at += 12 + strlen(g->kv[i].key);
		g->kv[i].raw = r.base + at;
		g->kv[i].raw_len = r.pos - at;
		for (uint64_t j = 0; j < i; j++)
			if (strcmp(g->kv[j].key, g->kv[i].key) == 0)
				return sl_seterr("%s: key %s appears twice", name, g->kv[i].key);
	}
	g->alignment = SL_GGUF_DEFAULT_ALIGN;
	got = sl_gguf_get_u32(g, "general.alignment", &g->alignment);
	if (got < 0)
		return -1;
	if (g->alignment == 0 || (g->alignment & (g->alignment - 1)) || g->alignment > (1u << 24))
		return sl_seterr("%s: general.alignment %u is not a power of two", name, g->alignment);
	for (uint64_t i = 0; i < g->n_tensors; i++)
		if (parse_tensor_info(&r, &g->tensors[i]))
			return -1;
	g->data_offset = (r.pos + g->alignment - 1) / g->alignment * g->alignment;
	if (g->data_offset > size) {
		if (g->n_tensors == 0)
			g->data_offset = size;
		else
			return sl_seterr("%s: truncated before the tensor data", name);
	}
	return place_tensors(g, name);
}

int sl_gguf_parse(sl_gguf *g, const void *data, uint64_t size, const char *name)
{
	memset(g, 0, sizeof *g);
	if (parse(g, data, size, name)) {
		sl_gguf_close(g);
		return -1;
	}
	return 0;
}

static int open_with(sl_gguf *g, const char *path, int (*load)(sl_map *, const char *))
{
	memset(g, 0, sizeof *g);
	if (load(&g->map, path))
		return -1;
	if (parse(g, g->map.data, g->map.size, path)) {
		sl_gguf_close(g);
		return -1;
	}
	return 0;
}

int sl_gguf_open(sl_gguf *g, const char *path)
{
	return open_with(g, path, sl_map_open);
}

int sl_gguf_open_read(sl_gguf *g, const char *path)
{
	return open_with(g, path, sl_map_read);
}

void sl_gguf_close(sl_gguf *g)
{
	if (g->kv) {
		for (uint64_t i = 0; i < g->n_kv; i++) {
			free(g->kv[i].key);
			free(g->kv[i].strs);
		}
	}
	if (g->tensors)
		for (uint64_t i = 0; i < g->n_tensors; i++)
			free(g->tensors[i].name);
	free(g->kv);
	free(g->tensors);
	if (g->map.path)
		sl_map_close(&g->map);
	free(g->name);
	memset(g, 0, sizeof *g);
}

const sl_gguf_kv *sl_gguf_find(const sl_gguf *g, const char *key)
{
	for (uint64_t i = 0; i < g->n_kv; i++)
		if (g->kv[i].key && strcmp(g->kv[i].key, key) == 0)
			return &g->kv[i];
	return NULL;
}

const sl_gguf_tensor *sl_gguf_tensor_find(const sl_gguf *g, const char *name)
{
	for (uint64_t i = 0; i < g->n_tensors; i++)
		if (g->tensors[i].name && strcmp(g->tensors[i].name, name) == 0)
			return &g->tensors[i];
	return NULL;
}

static const char *gname(const sl_gguf *g)
{
	return g->name ? g->name : "<gguf>";
}

static int is_int(uint32_t t)
{
	return t <= SL_GGUF_I32 || t == SL_GGUF_U64 || t == SL_GGUF_I64;
}

static int wrong(const sl_gguf *g, const sl_gguf_kv *kv, const char *want)
{
	return sl_seterr("%s: key %s has type %s, expected %s", gname(g), kv->key,
			 sl_gguf_vtype_name(kv->type), want);
}

int sl_gguf_get_u64(const sl_gguf *g, const char *key, uint64_t *out)
{
	const sl_gguf_kv *kv = sl_gguf_find(g, key);

	if (!kv)
		return 0;
	if (!is_int(kv->type))
		return wrong(g, kv, "an integer");
	if ((kv->type == SL_GGUF_I8 || kv->type == SL_GGUF_I16 || kv->type == SL_GGUF_I32 ||
	     kv->type == SL_GGUF_I64) && kv->i < 0)
		return sl_seterr("%s: key %s is negative (%lld)", gname(g), key, (long long)kv->i);
	*out = kv->u;
	return 1;
}

int sl_gguf_get_u32(const sl_gguf *g, const char *key, uint32_t *out)
{
	uint64_t v;
	int rc = sl_gguf_get_u64(g, key, &v);

	if (rc <= 0)
		return rc;
	if (v > UINT32_MAX)
		return sl_seterr("%s: key %s is too large (%llu)", gname(g), key, (unsigned long long)v);
	*out = (uint32_t)v;
	return 1;
}

int sl_gguf_get_f32(const sl_gguf *g, const char *key, float *out)
{
	const sl_gguf_kv *kv = sl_gguf_find(g, key);

	if (!kv)
		return 0;
	if (kv->type != SL_GGUF_F32 && kv->type != SL_GGUF_F64)
		return wrong(g, kv, "f32");
	*out = (float)kv->f;
	return 1;
}

int sl_gguf_get_bool(const sl_gguf *g, const char *key, int *out)
{
	const sl_gguf_kv *kv = sl_gguf_find(g, key);

	if (!kv)
		return 0;
	if (kv->type != SL_GGUF_BOOL)
		return wrong(g, kv, "bool");
	*out = kv->u != 0;
	return 1;
}

int sl_gguf_get_str(const sl_gguf *g, const char *key, char **out)
{
	const sl_gguf_kv *kv = sl_gguf_find(g, key);

	if (!kv)
		return 0;
	if (kv->type != SL_GGUF_STRING)
		return wrong(g, kv, "string");
	*out = dup_str(kv->s);
	if (!*out)
		return sl_seterr("out of memory");
	return 1;
}

/* ==== arrays ==== */

static int is_signed(uint32_t t)
{
	return t == SL_GGUF_I8 || t == SL_GGUF_I16 || t == SL_GGUF_I32 || t == SL_GGUF_I64;
}

/* kv is an array whose element type passes ok() and i is inside it; else -1 with a message. */
static int arr_check(const sl_gguf *g, const sl_gguf_kv *kv, uint64_t i, int ok, const char *want)
{
	if (kv->type != SL_GGUF_ARRAY)
		return wrong(g, kv, want);
	if (!ok)
		return sl_seterr("%s: key %s is an array of %s, expected %s", gname(g), kv->key,
				 sl_gguf_vtype_name(kv->arr_type), want);
	if (i >= kv->arr_n)
		return sl_seterr("%s: key %s has %llu elements, no element %llu", gname(g), kv->key,
				 (unsigned long long)kv->arr_n, (unsigned long long)i);
	return 0;
}

int sl_gguf_kv_i64(const sl_gguf *g, const sl_gguf_kv *kv, uint64_t i, int64_t *out)
{
	unsigned size;
	const uint8_t *p;
	uint64_t u = 0;

	if (arr_check(g, kv, i, kv->type == SL_GGUF_ARRAY && is_int(kv->arr_type), "an array of integers"))
		return -1;
	size = vtype_size(kv->arr_type);
	p = kv->arr_data + i * size;
	for (unsigned b = size; b-- > 0;)
		u = u << 8 | p[b];
	if (is_signed(kv->arr_type)) {
		unsigned shift = 64 - 8 * size;
		*out = (int64_t)(u << shift) >> shift; /* sign-extend */
	} else if (u > INT64_MAX) {
		return sl_seterr("%s: key %s: element %llu is too large (%llu)", gname(g), kv->key,
				 (unsigned long long)i, (unsigned long long)u);
	} else {
		*out = (int64_t)u;
	}
	return 0;
}

int sl_gguf_kv_f32(const sl_gguf *g, const sl_gguf_kv *kv, uint64_t i, float *out)
{
	if (arr_check(g, kv, i, kv->type == SL_GGUF_ARRAY &&
		      (kv->arr_type == SL_GGUF_F32 || kv->arr_type == SL_GGUF_F64), "an array of floats"))
		return -1;
	if (kv->arr_type == SL_GGUF_F32) {
		memcpy(out, kv->arr_data + 4 * i, 4);
	} else {
		double d;
		memcpy(&d, kv->arr_data + 8 * i, 8);
		*out = (float)d;
	}
	return 0;
}

int sl_gguf_kv_str(const sl_gguf *g, const sl_gguf_kv *kv, uint64_t i, sl_gguf_str *out)
{
	if (arr_check(g, kv, i, kv->type == SL_GGUF_ARRAY && kv->arr_type == SL_GGUF_STRING, "an array of strings"))
		return -1;
	*out = kv->strs[i];
	return 0;
}

int sl_gguf_get_arr_n(const sl_gguf *g, const char *key, uint64_t *n)
{
	const sl_gguf_kv *kv = sl_gguf_find(g, key);

	if (!kv)
		return 0;
	if (kv->type != SL_GGUF_ARRAY)
		return wrong(g, kv, "an array");
	*n = kv->arr_n;
	return 1;
}

int sl_gguf_get_arr_i64(const sl_gguf *g, const char *key, uint64_t i, int64_t *out)
{
	const sl_gguf_kv *kv = sl_gguf_find(g, key);

	return kv ? (sl_gguf_kv_i64(g, kv, i, out) ? -1 : 1) : 0;
}

int sl_gguf_get_arr_f32(const sl_gguf *g, const char *key, uint64_t i, float *out)
{
	const sl_gguf_kv *kv = sl_gguf_find(g, key);

	return kv ? (sl_gguf_kv_f32(g, kv, i, out) ? -1 : 1) : 0;
}

int sl_gguf_get_arr_str(const sl_gguf *g, const char *key, uint64_t i, sl_gguf_str *out)
{
	const sl_gguf_kv *kv = sl_gguf_find(g, key);

	return kv ? (sl_gguf_kv_str(g, kv, i, out) ? -1 : 1) : 0;
}
