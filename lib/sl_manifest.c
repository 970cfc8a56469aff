/*
 * sl_manifest — manifest.json of a chunk directory, read with full validation and written
 * (sl_manifest.h, sl-manifest(5)).
 *
 * The reader trusts nothing: each field must be present with the right JSON type and range,
 * and the chunks must agree with each other and with the source layout, because loaders
 * (sl_chunk.c, sl-tok, sl-infer) index files and buffers with these numbers.  Every message
 * names the manifest and the field: "DIR/manifest.json: chunks[2].size: missing".
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sl_err.h"
#include "sl_json.h"
#include "sl_manifest.h"
#include "sl_types.h"

#define MAX_EXACT 9007199254740992.0 /* 2^53: JSON numbers are doubles, exact up to here */
#define MAX_LAYERS 65536

/* ==== small helpers ==== */

void sl_xxh128_hex(const sl_xxh128 *h, char out[33])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		out[2 * i] = hx[h->b[i] >> 4];
		out[2 * i + 1] = hx[h->b[i] & 15];
	}
	out[32] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sl_xxh128_parse(const char *hex, sl_xxh128 *h)
{
	if (strlen(hex) != 32)
		return -1;
	for (int i = 0; i < 16; i++) {
		int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);
		if (a < 0 || b < 0)
			return -1;
		h->b[i] = (uint8_t)(a << 4 | b);
	}
	return 0;
}

const char *sl_manifest_what(const sl_manifest_chunk *c, char *buf, size_t n)
{
	if (c->n_layers == 0)
		snprintf(buf, n, "core");
	else if (c->n_layers == 1)
		snprintf(buf, n, "layer %d", c->first_layer);
	else
		snprintf(buf, n, "layers %d-%d", c->first_layer, c->first_layer + c->n_layers - 1);
	return buf;
}

int sl_manifest_is(const char *path)
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	char *p;
	int r;

	if (stat(path, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return strcmp(slash ? slash + 1 : path, SL_MANIFEST_NAME) == 0;
	p = sl_path_join(path, SL_MANIFEST_NAME);
	r = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return r;
}

void sl_manifest_free(sl_manifest *m)
{
	for (int i = 0; m->c && i < m->n_c; i++) {
		sl_manifest_chunk *c = &m->c[i];
		for (int j = 0; c->t && j < c->n_t; j++)
			free(c->t[j].name);
		free(c->t);
		free(c->file);
		free(c->path);
	}
	free(m->c);
	free(m->path);
	free(m->dir);
	free(m->arch);
	free(m->name);
	free(m->src_file);
	memset(m, 0, sizeof *m);
}

/* ==== reading ==== */

/* Where in the document we are, for messages: "chunks[2].tensors[0]". */
typedef struct {
	const char *file;
	char at[128];
} ctx;

static int bad(const ctx *x, const char *key, const char *fmt, ...) SL_PRINTF(3, 4);

static int bad(const ctx *x, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return sl_seterr("%s: %s%s%s: %s", x->file, x->at, x->at[0] && key ? "." : "", key ? key : "", msg);
}

static const cJSON *field(const ctx *x, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		bad(x, key, "missing");
	return v;
}

static int get_u64(const ctx *x, const cJSON *o, const char *key, uint64_t max, uint64_t *out)
{
	const cJSON *v = field(x, o, key);
	double d;

	if (!v)
		return -1;
	if (!cJSON_IsNumber(v))
		return bad(x, key, "not a number");
	d = v->valuedouble;
	if (!(d >= 0 && d <= MAX_EXACT) || d != (double)(uint64_t)d || (uint64_t)d > max) /* range before the cast */
		return bad(x, key, "%.17g is not an integer in [0, %llu]", d, (unsigned long long)max);
	*out = (uint64_t)d;
	return 0;
}

static int get_u32(const ctx *x, const cJSON *o, const char *key, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (get_u64(x, o, key, max, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A string field as a malloc'ed copy (optional: absent gives NULL and 0). */
static int get_str(const ctx *x, const cJSON *o, const char *key, int optional, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!v && optional)
		return 0;
	if (!v)
		return bad(x, key, "missing");
	if (!cJSON_IsString(v) || !v->valuestring)
		return bad(x, key, "not a string");
	*out = strdup(v->valuestring);
	if (!*out)
		return sl_seterr("out of memory");
	return 0;
}

static int get_sum(const ctx *x, const cJSON *o, const char *key, sl_xxh128 *h)
{
	const cJSON *v = field(x, o, key);

	if (!v)
		return -1;
	if (!cJSON_IsString(v) || sl_xxh128_parse(v->valuestring, h))
		return bad(x, key, "not an XXH3-128 sum (32 lowercase hex digits)");
	return 0;
}

static const cJSON *get_obj(const ctx *x, const cJSON *o, const char *key)
{
	const cJSON *v = field(x, o, key);

	if (v && !cJSON_IsObject(v)) {
		bad(x, key, "not an object");
		return NULL;
	}
	return v;
}

static const cJSON *get_arr(const ctx *x, const cJSON *o, const char *key)
{
	const cJSON *v = field(x, o, key);

	if (v && !cJSON_IsArray(v)) {
		bad(x, key, "not an array");
		return NULL;
	}
	return v;
}

static int read_model(sl_manifest *m, const ctx *top, const cJSON *root)
{
	ctx x = *top;
	const cJSON *o = get_obj(&x, root, "model"), *v;

	if (!o)
		return -1;
	snprintf(x.at, sizeof x.at, "model");
	if (get_str(&x, o, "architecture", 0, &m->arch) || get_str(&x, o, "name", 1, &m->name) ||
	    get_u32(&x, o, "block_count", MAX_LAYERS, &m->n_layers) ||
	    get_u32(&x, o, "embedding_length", UINT32_MAX, &m->n_embd) ||
	    get_u32(&x, o, "feed_forward_length", UINT32_MAX, &m->n_ff) ||
	    get_u32(&x, o, "head_count", UINT32_MAX, &m->n_head) ||
	    get_u32(&x, o, "head_count_kv", UINT32_MAX, &m->n_head_kv) ||
	    get_u32(&x, o, "vocab_size", UINT32_MAX, &m->n_vocab) ||
	    get_u32(&x, o, "context_length", UINT32_MAX, &m->n_ctx) ||
	    get_u64(&x, o, "parameters", UINT64_MAX, &m->n_params) ||
	    get_u64(&x, o, "bytes", UINT64_MAX, &m->n_bytes))
		return -1;
	if (m->n_layers == 0)
		return bad(&x, "block_count", "0 (a model has at least one block)");
	if (!(o = get_obj(&x, o, "types")))
		return -1;
	snprintf(x.at, sizeof x.at, "model.types");
	cJSON_ArrayForEach(v, o) {
		int ty = sl_type_from_name(v->string);
		if (ty < 0 || !sl_type_get((uint32_t)ty))
			return bad(&x, v->string, "not a known type");
		if (get_u64(&x, o, v->string, UINT64_MAX, &m->n_of_type[ty]))
			return -1;
	}
	return 0;
}

static int read_source(sl_manifest *m, const ctx *top, const cJSON *root)
{
	ctx x = *top;
	const cJSON *o = get_obj(&x, root, "source");

	if (!o)
		return -1;
	snprintf(x.at, sizeof x.at, "source");
	if (get_str(&x, o, "file", 0, &m->src_file) || get_u64(&x, o, "size", UINT64_MAX, &m->src_size) ||
	    get_sum(&x, o, "xxh3", &m->src_xxh3) || get_u32(&x, o, "version", 3, &m->src_version) ||
	    get_u32(&x, o, "alignment", 1u << 24, &m->src_align) ||
	    get_u64(&x, o, "kv_count", UINT64_MAX, &m->src_n_kv) ||
	    get_u64(&x, o, "tensor_count", 1u << 24, &m->src_n_tensors) ||
	    get_u64(&x, o, "data_offset", m->src_size, &m->src_data_offset))
		return -1;
	if (m->src_version < 2)
		return bad(&x, "version", "%u (GGUF 2 or 3)", m->src_version);
	if (m->src_align == 0 || (m->src_align & (m->src_align - 1)))
		return bad(&x, "alignment", "%u is not a power of two", m->src_align);
	if (m->src_data_offset % m->src_align)
		return bad(&x, "data_offset", "%llu is not a multiple of the alignment",
			   (unsigned long long)m->src_data_offset);
	return 0;
}

/* A chunk file name: a plain name in the directory, nothing that walks out of it. */
static int plain_name(const char *s)
{
	return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && strlen(s) < 256;
}

/* The layer of a block tensor "blk.N.xxx", or -1 for any other name. */
static int block_of(const char *name)
{
	char *end;
	long n;

	if (strncmp(name, "blk.", 4) || name[4] < '0' || name[4] > '9')
		return -1;
	n = strtol(name + 4, &end, 10);
	return *end == '.' && n < MAX_LAYERS ? (int)n : -1;
}

static int read_tensor(const sl_manifest *m, const sl_manifest_chunk *c, ctx *x, const cJSON *o,
		       sl_manifest_tensor *t)
{
	const cJSON *shape;
	char *type = NULL;
	int ty, n = 0, layer;
	const cJSON *d;

	if (!cJSON_IsObject(o))
		return bad(x, NULL, "not an object");
	if (get_str(x, o, "name", 0, &t->name))
		return -1;
	if (!t->name[0] || strlen(t->name) > 63)
		return bad(x, "name", "'%.80s' is empty or longer than 63 bytes", t->name);
	if (get_str(x, o, "type", 0, &type))
		return -1;
	ty = sl_type_from_name(type);
	if (ty < 0 || !sl_type_get((uint32_t)ty)) {
		bad(x, "type", "'%.40s' is not a known type", type);
		free(type);
		return -1;
	}
	free(type);
	t->type = (uint32_t)ty;
	if (!(shape = get_arr(x, o, "shape")))
		return -1;
	cJSON_ArrayForEach(d, shape) {
		double v = cJSON_IsNumber(d) ? d->valuedouble : -1;
		if (n == SL_GGUF_MAX_DIMS)
			return bad(x, "shape", "more than %d dimensions", SL_GGUF_MAX_DIMS);
		if (v < 1 || v > (double)((uint64_t)1 << 40) || v != (double)(uint64_t)v)
			return bad(x, "shape", "dimension %d is not an integer in [1, 2^40]", n);
		t->ne[n++] = (uint64_t)v;
	}
	if (n == 0)
		return bad(x, "shape", "empty");
	t->n_dims = (uint32_t)n;
	for (; n < SL_GGUF_MAX_DIMS; n++)
		t->ne[n] = 1;
	if (get_u64(x, o, "offset", c->size, &t->offset) || get_u64(x, o, "bytes", c->size, &t->nbytes) ||
	    get_u64(x, o, "source_index", m->src_n_tensors ? m->src_n_tensors - 1 : 0, &t->src_index) ||
	    get_u64(x, o, "source_offset", m->src_size, &t->src_offset))
		return -1;
	if (t->nbytes != sl_type_nbytes(t->type, t->ne, t->n_dims))
		return bad(x, "bytes", "%llu, but a %s tensor of that shape has %llu",
			   (unsigned long long)t->nbytes, sl_type_get(t->type)->name,
			   (unsigned long long)sl_type_nbytes(t->type, t->ne, t->n_dims));
	if (t->offset + t->nbytes > c->size)
		return bad(x, "offset", "data [%llu, +%llu) runs past the chunk's %llu bytes",
			   (unsigned long long)t->offset, (unsigned long long)t->nbytes, (unsigned long long)c->size);
	if (m->src_data_offset + t->src_offset + t->nbytes > m->src_size)
		return bad(x, "source_offset", "data runs past the source's %llu bytes", (unsigned long long)m->src_size);
	layer = block_of(t->name);
	if (c->n_layers == 0 && layer >= 0)
		return bad(x, "name", "block tensor %s in the core chunk", t->name);
	if (c->n_layers > 0 && (layer < c->first_layer || layer >= c->first_layer + c->n_layers))
		return bad(x, "name", "%s is not a tensor of this chunk's layers", t->name);
	return 0;
}

static int read_chunk(sl_manifest *m, int i, const ctx *top, const cJSON *o, int *next_layer)
{
	sl_manifest_chunk *c = &m->c[i];
	ctx x = *top;
	const cJSON *layers, *tensors, *e;
	char *codec = NULL;
	int n = 0;

	snprintf(x.at, sizeof x.at, "chunks[%d]", i);
	if (!cJSON_IsObject(o))
		return bad(&x, NULL, "not an object");
	if (get_str(&x, o, "file", 0, &c->file))
		return -1;
	if (!plain_name(c->file))
		return bad(&x, "file", "'%.80s' is not a plain file name", c->file);
	for (int j = 0; j < i; j++)
		if (strcmp(m->c[j].file, c->file) == 0)
			return bad(&x, "file", "%s is also chunks[%d]", c->file, j);
	c->path = sl_path_join(m->dir, c->file);
	if (!c->path)
		return -1;
	if (!(layers = get_arr(&x, o, "layers")))
		return -1;
	cJSON_ArrayForEach(e, layers) {
		if (!cJSON_IsNumber(e) || e->valuedouble != *next_layer)
			return bad(&x, "layers", "expected layer %d next (chunks hold consecutive layers, in order)",
				   *next_layer);
		if (n++ == 0)
			c->first_layer = *next_layer;
		++*next_layer;
	}
	c->n_layers = n;
	if (i == 0 && n != 0)
		return bad(&x, "layers", "the first chunk is the core chunk and holds no layers");
	if (i > 0 && n == 0)
		return bad(&x, "layers", "empty (only the first chunk, the core, holds no layers)");
	if (*next_layer > (int)m->n_layers)
		return bad(&x, "layers", "layer %d, but the model has %u", *next_layer - 1, m->n_layers);
	if (get_str(&x, o, "codec", 0, &codec))
		return -1;
	if (strcmp(codec, "none") == 0) {
		c->codec = SL_CODEC_NONE;
	} else if (strcmp(codec, "zstd") == 0) {
		c->codec = SL_CODEC_ZSTD;
	} else {
		bad(&x, "codec", "'%.40s' (none or zstd)", codec);
		free(codec);
		return -1;
	}
	free(codec);
	if (c->codec == SL_CODEC_ZSTD) {
		uint32_t lv;
		if (get_u32(&x, o, "level", 22, &lv))
			return -1;
		c->level = (int)lv;
	}
	if (get_u64(&x, o, "size", UINT64_MAX, &c->size) || get_sum(&x, o, "xxh3", &c->xxh3) ||
	    get_u64(&x, o, "stored_size", UINT64_MAX, &c->stored_size) ||
	    get_sum(&x, o, "stored_xxh3", &c->stored_xxh3))
		return -1;
	if (c->codec == SL_CODEC_NONE &&
	    (c->stored_size != c->size || memcmp(&c->stored_xxh3, &c->xxh3, sizeof c->xxh3)))
		return bad(&x, "stored_size", "an uncompressed chunk is stored as it is: size and sum must match");
	if (!(tensors = get_arr(&x, o, "tensors")))
		return -1;
	c->n_t = cJSON_GetArraySize(tensors);
	if (c->n_t == 0)
		return bad(&x, "tensors", "empty");
	c->t = calloc((size_t)c->n_t, sizeof *c->t);
	if (!c->t)
		return sl_seterr("out of memory");
	n = 0;
	cJSON_ArrayForEach(e, tensors) {
		snprintf(x.at, sizeof x.at, "chunks[%d].tensors[%d]", i, n);
		if (read_tensor(m, c, &x, e, &c->t[n++]))
			return -1;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(const sl_manifest_tensor *const *)a)->name, (*(const sl_manifest_tensor *const *)b)->name);
}

/* Across chunks: each source tensor exactly once, with the source offsets packed as they were. */
static int check_source(const sl_manifest *m, const ctx *x)
{
	const sl_manifest_tensor **by = calloc(m->src_n_tensors ? m->src_n_tensors : 1, sizeof *by);
	uint64_t n = 0, at = 0, params = 0, bytes = 0, of_type[SL_TYPE_COUNT] = { 0 };
	int rc = 0;

	if (!by)
		return sl_seterr("out of memory");
	for (int i = 0; i < m->n_c && rc == 0; i++)
		for (int j = 0; j < m->c[i].n_t && rc == 0; j++) {
			const sl_manifest_tensor *t = &m->c[i].t[j];
			if (by[t->src_index])
				rc = sl_seterr("%s: chunks[%d].tensors[%d]: source_index %llu is also %s's",
					       x->file, i, j, (unsigned long long)t->src_index, by[t->src_index]->name);
			by[t->src_index] = t;
			n++;
		}
	if (rc == 0 && n != m->src_n_tensors)
		rc = sl_seterr("%s: the chunks hold %llu tensors, source.tensor_count is %llu", x->file,
			       (unsigned long long)n, (unsigned long long)m->src_n_tensors);
	for (uint64_t k = 0; k < n && rc == 0; k++) {
		if (by[k]->src_offset != at)
			rc = sl_seterr("%s: tensor %s: source_offset %llu, expected %llu (tensors packed in order)",
				       x->file, by[k]->name, (unsigned long long)by[k]->src_offset,
				       (unsigned long long)at);
		at += (by[k]->nbytes + m->src_align - 1) / m->src_align * m->src_align;
		bytes += by[k]->nbytes;
		params += by[k]->ne[0] * by[k]->ne[1] * by[k]->ne[2] * by[k]->ne[3];
		of_type[by[k]->type]++;
	}
	for (int ty = 0; ty < SL_TYPE_COUNT && rc == 0; ty++)
		if (of_type[ty] != m->n_of_type[ty])
			rc = sl_seterr("%s: model.types says %llu %s tensors, the chunks hold %llu", x->file,
				       (unsigned long long)m->n_of_type[ty], sl_type_get((uint32_t)ty)->name,
				       (unsigned long long)of_type[ty]);
	/* Names too: loaders find tensors by name in whichever chunk has them. */
	if (rc == 0)
		qsort(by, n, sizeof *by, cmp_name);
	for (uint64_t k = 1; k < n && rc == 0; k++)
		if (strcmp(by[k - 1]->name, by[k]->name) == 0)
			rc = sl_seterr("%s: tensor %s is in two chunks", x->file, by[k]->name);
	if (rc == 0 && (bytes != m->n_bytes || params != m->n_params))
		rc = sl_seterr("%s: model.bytes and model.parameters are %llu and %llu, the tensors add up to %llu and %llu",
			       x->file, (unsigned long long)m->n_bytes, (unsigned long long)m->n_params,
			       (unsigned long long)bytes, (unsigned long long)params);
	free(by);
	return rc;
}

static int read_doc(sl_manifest *m, const char *text)
{
	ctx x = { m->path, "" };
	cJSON *root = cJSON_Parse(text);
	const cJSON *v, *chunks, *e;
	char *fmt = NULL;
	uint32_t ver;
	int rc = -1, i = 0, next_layer = 0;

	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		return sl_seterr("%s: not valid JSON (at byte %ld)", m->path, at ? (long)(at - text) : 0L);
	}
	if (!cJSON_IsObject(root)) {
		sl_seterr("%s: not a JSON object", m->path);
		goto out;
	}
	if (get_str(&x, root, "format", 0, &fmt))
		goto out;
	if (strcmp(fmt, SL_MANIFEST_FORMAT)) {
		bad(&x, "format", "'%.40s', expected '%s'", fmt, SL_MANIFEST_FORMAT);
		goto out;
	}
	if (!(v = field(&x, root, "version")) || get_u32(&x, root, "version", UINT32_MAX, &ver))
		goto out;
	if (ver != SL_MANIFEST_VERSION) {
		bad(&x, "version", "%u is not supported (this is version %d)", ver, SL_MANIFEST_VERSION);
		goto out;
	}
	m->version = (int)ver;
	if (read_model(m, &x, root) || read_source(m, &x, root))
		goto out;
	if (!(chunks = get_arr(&x, root, "chunks")))
		goto out;
	m->n_c = cJSON_GetArraySize(chunks);
	if (m->n_c < 2) {
		bad(&x, "chunks", "%d chunks (a core chunk and at least one layer chunk)", m->n_c);
		goto out;
	}
	m->c = calloc((size_t)m->n_c, sizeof *m->c);
	if (!m->c) {
		sl_seterr("out of memory");
		goto out;
	}
	cJSON_ArrayForEach(e, chunks)
		if (read_chunk(m, i++, &x, e, &next_layer))
			goto out;
	if (next_layer != (int)m->n_layers) {
		bad(&x, "chunks", "the chunks hold layers 0-%d, the model has %u", next_layer - 1, m->n_layers);
		goto out;
	}
	rc = check_source(m, &x);
out:
	free(fmt);
	cJSON_Delete(root);
	return rc;
}

/* m->path = path, m->dir = path up to its last '/' ("." if none). */
static int set_paths(sl_manifest *m, const char *path)
{
	char *slash;

	m->path = strdup(path);
	m->dir = strdup(path);
	if (!m->dir || !m->path)
		return sl_seterr("out of memory");
	if ((slash = strrchr(m->dir, '/')))
		*slash = '\0';
	else
		strcpy(m->dir, ".");
	return 0;
}

static int parse_text(sl_manifest *m, const char *text, size_t n)
{
	char *t;
	int rc;

	if (memchr(text, '\0', n))
		return sl_seterr("%s: not valid JSON (NUL byte)", m->path);
	if (!(t = malloc(n + 1)))
		return sl_seterr("out of memory");
	memcpy(t, text, n);
	t[n] = '\0';
	rc = read_doc(m, t);
	free(t);
	return rc;
}

int sl_manifest_parse(sl_manifest *m, const char *text, size_t len, const char *path)
{
	memset(m, 0, sizeof *m);
	if (set_paths(m, path) || parse_text(m, text, len)) {
		sl_manifest_free(m);
		return -1;
	}
	return 0;
}

int sl_manifest_read(sl_manifest *m, const char *path)
{
	struct stat st;
	char *text = NULL;
	FILE *f;
	long n;
	int rc = -1;

	memset(m, 0, sizeof *m);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		m->dir = strdup(path);
		m->path = sl_path_join(path, SL_MANIFEST_NAME);
		if (!m->dir || !m->path) {
			sl_seterr("out of memory");
			goto out;
		}
	} else if (set_paths(m, path)) {
		goto out;
	}
	if (!(f = fopen(m->path, "rb"))) {
		sl_seterr("%s: %s", m->path, strerror(errno));
		goto out;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		sl_seterr("%s: %s", m->path, strerror(errno));
		fclose(f);
		goto out;
	}
	if (n > 64L << 20) {
		sl_seterr("%s: %ld bytes, too large for a manifest", m->path, n);
		fclose(f);
		goto out;
	}
	text = malloc((size_t)n + 1);
	if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) {
		sl_seterr("%s: %s", m->path, text ? "read error" : "out of memory");
		fclose(f);
		goto out;
	}
	fclose(f);
	rc = parse_text(m, text, (size_t)n);
out:
	free(text);
	if (rc)
		sl_manifest_free(m);
	return rc;
}

/* ==== writing ==== */

static cJSON *num(cJSON *o, const char *key, uint64_t v)
{
	return cJSON_AddNumberToObject(o, key, (double)v);
}

static cJSON *sum(cJSON *o, const char *key, const sl_xxh128 *h)
{
	char hex[33];

	sl_xxh128_hex(h, hex);
	return cJSON_AddStringToObject(o, key, hex);
}

static int build_chunk(cJSON *arr, const sl_manifest_chunk *c)
{
	cJSON *o = cJSON_CreateObject(), *layers, *tensors;
	int ok;

	if (!o || !cJSON_AddItemToArray(arr, o))
		return -1;
	ok = cJSON_AddStringToObject(o, "file", c->file) && (layers = cJSON_AddArrayToObject(o, "layers"));
	for (int l = 0; ok && l < c->n_layers; l++)
		ok = cJSON_AddItemToArray(layers, cJSON_CreateNumber(c->first_layer + l));
	ok = ok && cJSON_AddStringToObject(o, "codec", c->codec == SL_CODEC_ZSTD ? "zstd" : "none");
	if (ok && c->codec == SL_CODEC_ZSTD)
		ok = num(o, "level", (uint64_t)c->level) != NULL;
	ok = ok && num(o, "size", c->size) && sum(o, "xxh3", &c->xxh3) &&
	     num(o, "stored_size", c->stored_size) && sum(o, "stored_xxh3", &c->stored_xxh3) &&
	     (tensors = cJSON_AddArrayToObject(o, "tensors"));
	for (int j = 0; ok && j < c->n_t; j++) {
		const sl_manifest_tensor *t = &c->t[j];
		cJSON *to = cJSON_CreateObject(), *shape;
		ok = to && cJSON_AddItemToArray(tensors, to) && cJSON_AddStringToObject(to, "name", t->name) &&
		     cJSON_AddStringToObject(to, "type", sl_type_get(t->type)->name) &&
		     (shape = cJSON_AddArrayToObject(to, "shape"));
		for (uint32_t d = 0; ok && d < t->n_dims; d++)
			ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->ne[d]));
		ok = ok && num(to, "offset", t->offset) && num(to, "bytes", t->nbytes) &&
		     num(to, "source_index", t->src_index) && num(to, "source_offset", t->src_offset);
	}
	return ok ? 0 : -1;
}

static cJSON *build(const sl_manifest *m)
{
	cJSON *root = cJSON_CreateObject(), *mo, *so, *to, *chunks;
	int ok;

	ok = root && cJSON_AddStringToObject(root, "format", SL_MANIFEST_FORMAT) &&
	     num(root, "version", SL_MANIFEST_VERSION) && (mo = cJSON_AddObjectToObject(root, "model")) &&
	     cJSON_AddStringToObject(mo, "architecture", m->arch) &&
	     (!m->name || cJSON_AddStringToObject(mo, "name", m->name)) &&
	     num(mo, "block_count", m->n_layers) && num(mo, "embedding_length", m->n_embd) &&
	     num(mo, "feed_forward_length", m->n_ff) && num(mo, "head_count", m->n_head) &&
	     num(mo, "head_count_kv", m->n_head_kv) && num(mo, "vocab_size", m->n_vocab) &&
	     num(mo, "context_length", m->n_ctx) && num(mo, "parameters", m->n_params) &&
	     num(mo, "bytes", m->n_bytes) && (to = cJSON_AddObjectToObject(mo, "types")) &&
	     (so = cJSON_AddObjectToObject(root, "source")) &&
	     cJSON_AddStringToObject(so, "file", m->src_file) && num(so, "size", m->src_size) &&
	     sum(so, "xxh3", &m->src_xxh3) && num(so, "version", m->src_version) &&
	     num(so, "alignment", m->src_align) && num(so, "kv_count", m->src_n_kv) &&
	     num(so, "tensor_count", m->src_n_tensors) && num(so, "data_offset", m->src_data_offset) &&
	     (chunks = cJSON_AddArrayToObject(root, "chunks"));
	for (int ty = 0; ok && ty < SL_TYPE_COUNT; ty++)
		if (m->n_of_type[ty])
			ok = num(to, sl_type_get((uint32_t)ty)->name, m->n_of_type[ty]) != NULL;
	for (int i = 0; ok && i < m->n_c; i++)
		ok = build_chunk(chunks, &m->c[i]) == 0;
	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int sl_manifest_write(const sl_manifest *m, FILE *f)
{
	cJSON *root = build(m);
	char *text = root ? cJSON_Print(root) : NULL;
	int rc = 0;

	cJSON_Delete(root);
	if (!text)
		return sl_seterr("out of memory");
	if (fputs(text, f) == EOF || fputc('\n', f) == EOF)
		rc = sl_seterr("write: %s", strerror(errno));
	free(text);
	return rc;
}
