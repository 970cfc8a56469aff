/*
 * sl_provider_chunk — a model from a chunk directory or from llama.cpp split files
 * (sl_provider_chunk.h).
 *
 * A chunk directory's shards are its chunks, in manifest order (the core first, as the model
 * expects its keys in shard 0).  Uncompressed chunks are mapped at open (headers parsed and
 * compared with the manifest, no weight read) and summed on first use; compressed ones get a
 * header made from the manifest at open, and their bytes on first use, decompressed into
 * memory and checked.  Layer views are handed out as the resident backends do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_manifest.h"
#include "sl_model.h"
#include "sl_provider_chunk.h"
#include "sl_stream.h"

/* ==== chunk directories ==== */

typedef struct {
	sl_provider p;
	sl_manifest man;
	int read;
	uint8_t **buf;           /* [n_c] the chunk's bytes in memory, or NULL (mapped, or not yet) */
	uint8_t *ok;             /* [n_c] 1 once its bytes are in place and checked */
	sl_layer *views;         /* [n_layers], filled on first acquire */
} chunked;

static int in_memory(const chunked *ch, int i)
{
	return ch->read || ch->man.c[i].codec != SL_CODEC_NONE;
}

/* A header for a chunk not read yet, from the manifest: tensors with no data, their offsets
 * from the start of the file. */
static int synth(const sl_manifest_chunk *c, sl_gguf *g)
{
	g->name = strdup(c->path);
	g->tensors = calloc((size_t)c->n_t, sizeof *g->tensors);
	if (!g->name || !g->tensors)
		return sl_seterr("out of memory");
	g->version = SL_GGUF_VERSION;
	g->alignment = SL_GGUF_DEFAULT_ALIGN;
	g->size = c->size;
	g->n_tensors = (uint64_t)c->n_t;
	for (int j = 0; j < c->n_t; j++) {
		sl_gguf_tensor *t = &g->tensors[j];
		if (!(t->name = strdup(c->t[j].name)))
			return sl_seterr("out of memory");
		t->n_dims = c->t[j].n_dims;
		memcpy(t->ne, c->t[j].ne, sizeof t->ne);
		t->type = c->t[j].type;
		t->offset = c->t[j].offset;
		t->nbytes = c->t[j].nbytes;
	}
	return 0;
}

/* Read (and decompress) chunk i into memory, checked; point its shard's tensors into it. */
static int load(chunked *ch, int i)
{
	const sl_manifest_chunk *c = &ch->man.c[i];
	sl_gguf *g = &ch->p.shards[i], real;

	if (!(ch->buf[i] = sl_huge_alloc((size_t)c->size)))
		return sl_seterr("%s: out of memory (%llu bytes)", c->path, (unsigned long long)c->size);
	if (sl_chunk_read(&ch->man, i, ch->buf[i]))
		return -1;
	if (i == 0) /* the core: its keys are needed, so it is parsed for real */
		return sl_gguf_parse(g, ch->buf[i], c->size, c->path) ? -1 : sl_chunk_check(&ch->man, i, g);
	if (sl_gguf_parse(&real, ch->buf[i], c->size, c->path))
		return -1;
	if (sl_chunk_check(&ch->man, i, &real)) {
		sl_gguf_close(&real);
		return -1;
	}
	sl_gguf_close(&real);
	for (int j = 0; j < c->n_t; j++)
		g->tensors[j].data = ch->buf[i] + c->t[j].offset;
	return 0;
}

/* Chunk i's bytes in place and checked, the first time they are needed. */
static int ensure(chunked *ch, int i)
{
	sl_gguf *g = &ch->p.shards[i];

	if (ch->ok[i])
		return 0;
	if (in_memory(ch, i)) {
		if (load(ch, i))
			return -1;
		ch->p.resident_bytes += ch->man.c[i].size;
	} else {
		/* every weight is read for every token: fault them in, in huge pages if possible */
		sl_map_prefault(&g->map);
		ch->p.huge_bytes += g->map.huge;
		if (sl_chunk_check_sum(&ch->man, i, g->base, g->size))
			return -1;
	}
	ch->ok[i] = 1;
	return 0;
}

static const void *chunked_pin(sl_provider *pp, int shard, const sl_gguf_tensor *t)
{
	chunked *ch = (chunked *)pp;

	/* A mapped layer chunk is checked when its layer is acquired, before any use of it. */
	if (in_memory(ch, shard) && ensure(ch, shard))
		return NULL;
	return t->data;
}

static const sl_layer *chunked_acquire(sl_provider *pp, const sl_layer *tmpl, int l)
{
	chunked *ch = (chunked *)pp;
	sl_layer *v;

	if (l < 0 || (uint32_t)l >= ch->man.n_layers)
		return sl_seterr("%s: no layer %d", pp->name, l), NULL;
	v = &ch->views[l];
	if (v->mat[0].data)
		return v;
	for (int i = 0; i < SL_LM_COUNT; i++)
		if (ensure(ch, tmpl->mat[i].shard))
			return NULL;
	*v = *tmpl;
	for (int i = 0; i < SL_LM_COUNT; i++)
		v->mat[i].data = v->mat[i].src->data;
	return v;
}

static void chunked_release(sl_provider *p, int l)
{
	(void)p;
	(void)l;
}

static void chunked_free(sl_provider *pp)
{
	chunked *ch = (chunked *)pp;

	for (int i = 0; i < pp->n_shards; i++) {
		sl_gguf_close(&pp->shards[i]);
		if (ch->buf && ch->buf[i])
			sl_huge_free(ch->buf[i], (size_t)ch->man.c[i].size);
	}
	free(pp->shards);
	free(pp->name);
	free(ch->buf);
	free(ch->ok);
	free(ch->views);
	sl_manifest_free(&ch->man);
	free(ch);
}

sl_provider *sl_provider_chunks(const char *path, int read)
{
	chunked *ch = calloc(1, sizeof *ch);
	int n;

	if (!ch)
		return sl_seterr("out of memory"), NULL;
	if (sl_manifest_read(&ch->man, path)) {
		free(ch);
		return NULL;
	}
	n = ch->man.n_c;
	ch->read = read;
	ch->p.kind = "chunks";
	ch->p.pin = chunked_pin;
	ch->p.acquire = chunked_acquire;
	ch->p.release = chunked_release;
	ch->p.free = chunked_free;
	ch->p.name = strdup(ch->man.dir);
	ch->p.shards = calloc((size_t)n, sizeof *ch->p.shards);
	ch->buf = calloc((size_t)n, sizeof *ch->buf);
	ch->ok = calloc((size_t)n, 1);
	ch->views = calloc(ch->man.n_layers, sizeof *ch->views);
	if (!ch->p.name || !ch->p.shards || !ch->buf || !ch->ok || !ch->views) {
		sl_seterr("out of memory");
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		const sl_manifest_chunk *c = &ch->man.c[i];
		ch->p.n_shards = i + 1;
		ch->p.file_bytes += c->size;
		if (in_memory(ch, i)) {
			if (i == 0 ? ensure(ch, 0) : synth(c, &ch->p.shards[i]))
				goto fail;
			continue;
		}
		if (sl_gguf_open(&ch->p.shards[i], c->path)) {
			/* "path: what is wrong" becomes "path: layers 2-3: what is wrong" */
			char what[64], *msg = strdup(sl_error());
			size_t plen = strlen(c->path);
			if (msg && strncmp(msg, c->path, plen) == 0 && msg[plen] == ':')
				sl_seterr("%s: %s:%s", c->path, sl_manifest_what(c, what, sizeof what), msg + plen + 1);
			free(msg);
			goto fail;
		}
		ch->p.resident_bytes += c->size;
		if (sl_chunk_check_size(&ch->man, i, ch->p.shards[i].size) ||
		    sl_chunk_check(&ch->man, i, &ch->p.shards[i]))
			goto fail;
	}
	/* The core (embeddings, head, keys) is used from the start: check it now. */
	if (ensure(ch, 0))
		goto fail;
	return &ch->p;
fail:
	chunked_free(&ch->p);
	return NULL;
}

/* ==== chunks handed over in memory as they arrive ==== */

/* A pinned tensor of a layer chunk: a copy, filled when its chunk is put (a budget may drop
 * the chunk's bytes later). */
typedef struct {
	int shard;
	const sl_gguf_tensor *t;
	void *copy;
} given_pin;

typedef struct {
	sl_provider p;
	sl_manifest man;
	uint8_t **buf;           /* [n_c] the chunk's bytes, or NULL */
	void (**free_fn)(void *);
	given_pin *pins;
	int n_pins, cap_pins;
	sl_layer *views;         /* [n_layers] */
} given;

static const void *given_pin_fn(sl_provider *pp, int shard, const sl_gguf_tensor *t)
{
	given *g = (given *)pp;
	given_pin *pin;

	if (shard == 0)
		return t->data;
	for (int i = 0; i < g->n_pins; i++)
		if (g->pins[i].t == t)
			return g->pins[i].copy;
	if (g->n_pins == g->cap_pins) {
		int cap = g->cap_pins ? 2 * g->cap_pins : 64;
		given_pin *np = realloc(g->pins, (size_t)cap * sizeof *np);
		if (!np)
			return sl_seterr("out of memory"), NULL;
		g->pins = np;
		g->cap_pins = cap;
	}
	pin = &g->pins[g->n_pins];
	if (!(pin->copy = calloc(1, t->nbytes ? (size_t)t->nbytes : 1)))
		return sl_seterr("out of memory"), NULL;
	pin->shard = shard;
	pin->t = t;
	g->n_pins++;
	if (g->buf[shard])
		memcpy(pin->copy, g->buf[shard] + t->offset, (size_t)t->nbytes);
	return pin->copy;
}

static const sl_layer *given_acquire(sl_provider *pp, const sl_layer *tmpl, int l)
{
	given *g = (given *)pp;
	sl_layer *v;
	char what[64];

	if (l < 0 || (uint32_t)l >= g->man.n_layers)
		return sl_seterr("%s: no layer %d", pp->name, l), NULL;
	for (int i = 0; i < SL_LM_COUNT; i++) {
		int k = tmpl->mat[i].shard;
		if (!g->buf[k])
			return sl_seterr_code(SL_E_PENDING, "%s: %s: not here yet", g->man.c[k].path,
					      sl_manifest_what(&g->man.c[k], what, sizeof what)), NULL;
	}
	v = &g->views[l];
	*v = *tmpl;
	for (int i = 0; i < SL_LM_COUNT; i++) {
		int k = tmpl->mat[i].shard;
		/* shard 0 was parsed for real; the others' offsets are from the start of the file */
		v->mat[i].data = k == 0 ? v->mat[i].src->data : g->buf[k] + v->mat[i].src->offset;
	}
	return v;
}

static void given_release(sl_provider *p, int l)
{
	(void)p;
	(void)l;
}

static void drop_bytes(given *g, int k)
{
	if (g->buf[k]) {
		g->free_fn[k](g->buf[k]);
		g->buf[k] = NULL;
		g->p.resident_bytes -= g->man.c[k].size;
	}
}

static void given_free(sl_provider *pp)
{
	given *g = (given *)pp;

	for (int i = 0; i < pp->n_shards; i++)
		sl_gguf_close(&pp->shards[i]);
	for (int i = 0; g->buf && i < g->man.n_c; i++)
		drop_bytes(g, i);
	for (int i = 0; i < g->n_pins; i++)
		free(g->pins[i].copy);
	free(g->pins);
	free(pp->shards);
	free(pp->name);
	free(g->buf);
	free(g->free_fn);
	free(g->views);
	sl_manifest_free(&g->man);
	free(g);
}

sl_provider *sl_provider_given(const char *manifest, size_t len, const char *path)
{
	given *g = calloc(1, sizeof *g);
	int n;

	if (!g)
		return sl_seterr("out of memory"), NULL;
	if (sl_manifest_parse(&g->man, manifest, len, path)) {
		free(g);
		return NULL;
	}
	n = g->man.n_c;
	g->p.kind = "given";
	g->p.pin = given_pin_fn;
	g->p.acquire = given_acquire;
	g->p.release = given_release;
	g->p.free = given_free;
	g->p.name = strdup(g->man.dir);
	g->p.shards = calloc((size_t)n, sizeof *g->p.shards);
	g->buf = calloc((size_t)n, sizeof *g->buf);
	g->free_fn = calloc((size_t)n, sizeof *g->free_fn);
	g->views = calloc(g->man.n_layers, sizeof *g->views);
	if (!g->p.name || !g->p.shards || !g->buf || !g->free_fn || !g->views) {
		sl_seterr("out of memory");
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		g->p.n_shards = i + 1;
		g->p.file_bytes += g->man.c[i].size;
		if (i > 0 && synth(&g->man.c[i], &g->p.shards[i]))
			goto fail;
	}
	return &g->p;
fail:
	given_free(&g->p);
	return NULL;
}

const sl_manifest *sl_provider_given_manifest(const sl_provider *p)
{
	return &((const given *)p)->man;
}

int sl_provider_given_has(const sl_provider *p, int k)
{
	const given *g = (const given *)p;

	return k >= 0 && k < g->man.n_c && g->buf[k] != NULL;
}

int sl_provider_given_put(sl_provider *p, int k, void *buf, uint64_t n, void (*free_fn)(void *))
{
	given *g = (given *)p;
	sl_gguf real;

	if (k < 0 || k >= g->man.n_c) {
		free_fn(buf);
		return sl_seterr("%s: no chunk %d", g->man.path, k);
	}
	if (g->buf[k]) {
		free_fn(buf);
		return sl_seterr("%s: put twice", g->man.c[k].path);
	}
	/* size, sum, then the header against the manifest: nothing unchecked is used */
	if (sl_chunk_check_size(&g->man, k, n) || sl_chunk_check_sum(&g->man, k, buf, n))
		goto fail;
	if (k == 0) {
		if (sl_gguf_parse(&g->p.shards[0], buf, n, g->man.c[0].path))
			goto fail;
		if (sl_chunk_check(&g->man, 0, &g->p.shards[0])) {
			sl_gguf_close(&g->p.shards[0]);
			memset(&g->p.shards[0], 0, sizeof g->p.shards[0]);
			goto fail;
		}
	} else {
		if (sl_gguf_parse(&real, buf, n, g->man.c[k].path))
			goto fail;
		int bad = sl_chunk_check(&g->man, k, &real);
		sl_gguf_close(&real);
		if (bad)
			goto fail;
	}
	g->buf[k] = buf;
	g->free_fn[k] = free_fn;
	g->p.resident_bytes += n;
	for (int i = 0; i < g->n_pins; i++)
		if (g->pins[i].shard == k)
			memcpy(g->pins[i].copy, g->buf[k] + g->pins[i].t->offset, (size_t)g->pins[i].t->nbytes);
	return 0;
fail:
	free_fn(buf);
	return -1;
}

int sl_provider_given_drop(sl_provider *p, int k)
{
	given *g = (given *)p;

	if (k <= 0 || k >= g->man.n_c || !g->buf[k])
		return 0;
	drop_bytes(g, k);
	return 1;
}

/* ==== llama.cpp split files ==== */

/* K and N of a name ending in "-0000K-of-0000N.gguf" (the prefix is len - 20 bytes); 0 if not. */
static int split_name(const char *path, int *k, int *n)
{
	size_t len = strlen(path);
	const char *s;
	char tail[8];

	if (len < 21)
		return 0;
	s = path + len - 20;
	if (sscanf(s, "-%5d-of-%5d%7s", k, n, tail) != 3 || strcmp(tail, ".gguf") ||
	    s[6] != '-' || s[9] != '-' || *k < 1 || *k > *n)
		return 0;
	for (int i = 1; i < 6; i++)
		if (s[i] < '0' || s[i] > '9' || s[i + 9] < '0' || s[i + 9] > '9')
			return 0;
	return 1;
}

/* The n names of the split files path belongs to (PREFIX-0000K-of-0000N.gguf), or NULL. */
static char **split_paths(const char *path, int n)
{
	size_t len = strlen(path);
	char **paths = calloc((size_t)n + 1, sizeof *paths);

	for (int i = 0; paths && i < n; i++) {
		if (!(paths[i] = malloc(len + 1))) {
			for (int j = 0; j < i; j++)
				free(paths[j]);
			free(paths);
			return NULL;
		}
		snprintf(paths[i], len + 1, "%.*s-%05d-of-%05d.gguf", (int)(len - 20), path, i + 1, n);
	}
	return paths;
}

/* Each of the n opened files carries split.no i, split.count n, and the tensors add up to
 * split.tensors.count.  0, or -1 with sl_error. */
static int check_split(const sl_provider *p, char *const *paths, int n)
{
	uint32_t v, total = 0;
	uint64_t sum = 0;

	for (int i = 0; i < n; i++) {
		const sl_gguf *g = &p->shards[i];
		int a = sl_gguf_get_u32(g, "split.no", &v);
		if (a < 0)
			return -1;
		if (a == 0 && n == 1)
			return 0; /* a lone file that only looks like a split */
		if (a == 0)
			return sl_seterr("%s: no split.no key (not a split file)", paths[i]);
		if (v != (uint32_t)i)
			return sl_seterr("%s: split.no is %u, expected %d", paths[i], v, i);
		if (sl_gguf_get_u32(g, "split.count", &v) != 1 || v != (uint32_t)n)
			return sl_seterr("%s: split.count is missing or not %d", paths[i], n);
		if (i == 0 && sl_gguf_get_u32(g, "split.tensors.count", &total) != 1)
			return sl_seterr("%s: split.tensors.count is missing", paths[i]);
		sum += g->n_tensors;
	}
	if (n > 1 && sum != total)
		return sl_seterr("%s: the %d files hold %llu tensors, split.tensors.count says %u", paths[0],
				 n, (unsigned long long)sum, total);
	return 0;
}

/* The split files of path, opened by open_files (mapped, read or streamed) and checked. */
static sl_provider *open_split(const char *path, sl_provider *(*open_files)(const char *const *, int, int),
			       int read)
{
	int k, n;
	char **paths;
	sl_provider *p;

	if (!split_name(path, &k, &n))
		return sl_seterr("%s: not a split file name (PREFIX-0000K-of-0000N.gguf)", path), NULL;
	if (!(paths = split_paths(path, n)))
		return sl_seterr("out of memory"), NULL;
	p = open_files((const char *const *)paths, n, read);
	if (p && check_split(p, paths, n)) {
		sl_provider_free(p);
		p = NULL;
	}
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return p;
}

sl_provider *sl_provider_split(const char *path, int read)
{
	return open_split(path, sl_provider_files, read);
}

static sl_provider *stream_files(const char *const *paths, int n, int read)
{
	(void)read;
	return sl_provider_stream_files(paths, n);
}

sl_provider *sl_provider_open_stream(const char *path)
{
	int k, n;
	sl_manifest man;
	sl_provider *p = NULL;

	if (split_name(path, &k, &n))
		return open_split(path, stream_files, 0);
	if (!sl_manifest_is(path))
		return sl_provider_stream(path);
	if (sl_manifest_read(&man, path))
		return NULL;
	/* the layers are read again and again by offset: whole files, checked once, here */
	const char **files = calloc((size_t)man.n_c, sizeof *files);
	if (!files) {
		sl_seterr("out of memory");
		goto out;
	}
	for (int i = 0; i < man.n_c; i++) {
		char what[64];
		files[i] = man.c[i].path;
		if (man.c[i].codec != SL_CODEC_NONE) {
			sl_seterr("%s: %s: compressed; a memory budget reads layers again by offset, which "
				  "needs uncompressed chunks (sl-chunk without --zstd)", man.c[i].path,
				  sl_manifest_what(&man.c[i], what, sizeof what));
			goto out;
		}
		if (sl_chunk_verify(&man, i))
			goto out;
	}
	p = sl_provider_stream_files(files, man.n_c);
out:
	free(files);
	sl_manifest_free(&man);
	return p;
}

sl_provider *sl_provider_open(const char *path, int read)
{
	int k, n;

	if (sl_manifest_is(path))
		return sl_provider_chunks(path, read);
	if (split_name(path, &k, &n))
		return sl_provider_split(path, read);
	return sl_provider_file(path, read);
}
