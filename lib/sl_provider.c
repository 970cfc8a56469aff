/*
 * sl_provider — the resident backends: every shard mapped, read, or given in memory
 * (sl_provider.h).  acquire() hands out views whose pointers were fixed the first time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_err.h"
#include "sl_model.h"
#include "sl_provider.h"

typedef struct {
	sl_provider p;
	sl_layer *views;         /* [n_views] filled on first acquire; rows.data NULL until then */
	int n_views;
} resident;

static const void *resident_pin(sl_provider *p, int shard, const sl_gguf_tensor *t)
{
	(void)p;
	(void)shard;
	return t->data;
}

static const sl_layer *resident_acquire(sl_provider *pp, const sl_layer *tmpl, int l)
{
	resident *r = (resident *)pp;

	if (l >= r->n_views) {
		sl_layer *v = realloc(r->views, (size_t)(l + 1) * sizeof *v);
		if (!v)
			return sl_seterr("out of memory"), NULL;
		memset(v + r->n_views, 0, (size_t)(l + 1 - r->n_views) * sizeof *v);
		r->views = v;
		r->n_views = l + 1;
	}
	sl_layer *v = &r->views[l];
	if (!v->mat[0].data) {
		*v = *tmpl;
		for (int i = 0; i < SL_LM_COUNT; i++)
			v->mat[i].data = v->mat[i].src->data;
	}
	return v;
}

static void resident_release(sl_provider *p, int l)
{
	(void)p;
	(void)l;
}

static void resident_free(sl_provider *pp)
{
	resident *r = (resident *)pp;

	for (int i = 0; i < pp->n_shards; i++)
		sl_gguf_close(&pp->shards[i]);
	free(pp->shards);
	free(pp->name);
	free(r->views);
	free(r);
}

static resident *resident_new(const char *kind, const char *name, int n)
{
	resident *r = calloc(1, sizeof *r);

	if (!r || n < 1 || !(r->p.shards = calloc((size_t)n, sizeof *r->p.shards)) ||
	    !(r->p.name = strdup(name))) {
		if (r)
			free(r->p.shards);
		free(r);
		if (n < 1)
			sl_seterr("%s: no shards", name);
		else
			sl_seterr("out of memory");
		return NULL;
	}
	r->p.kind = kind;
	r->p.pin = resident_pin;
	r->p.acquire = resident_acquire;
	r->p.release = resident_release;
	r->p.free = resident_free;
	return r;
}

sl_provider *sl_provider_files(const char *const *paths, int n, int read)
{
	resident *r;

	read = read || !SL_MAP_MAPS; /* without mmap every file is read */
	r = resident_new(read ? "read" : "mapped", n > 0 ? paths[0] : "model", n);

	if (!r)
		return NULL;
	for (int i = 0; i < n; i++) {
		sl_gguf *g = &r->p.shards[i];
		if ((read ? sl_gguf_open_read : sl_gguf_open)(g, paths[i])) {
			resident_free(&r->p);
			return NULL;
		}
		r->p.n_shards = i + 1;
		/* every weight is read for every token: fault them in now, in huge pages if possible */
		if (!read)
			sl_map_prefault(&g->map);
		r->p.file_bytes += g->size;
		r->p.resident_bytes += g->size;
		if (!read)
			r->p.huge_bytes += g->map.huge;
	}
	return &r->p;
}

sl_provider *sl_provider_file(const char *path, int read)
{
	return sl_provider_files(&path, 1, read);
}

sl_provider *sl_provider_memory(const void *const *bufs, const uint64_t *sizes, int n,
				const char *name)
{
	resident *r = resident_new("memory", name ? name : "<memory>", n);

	if (!r)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (sl_gguf_parse(&r->p.shards[i], bufs[i], sizes[i], r->p.name)) {
			resident_free(&r->p);
			return NULL;
		}
		r->p.n_shards = i + 1;
		r->p.file_bytes += sizes[i];
		r->p.resident_bytes += sizes[i];
	}
	return &r->p;
}

void sl_provider_free(sl_provider *p)
{
	if (p)
		p->free(p);
}

int sl_provider_find(const sl_provider *p, const char *name, const sl_gguf_tensor **t)
{
	for (int i = 0; i < p->n_shards; i++) {
		const sl_gguf_tensor *f = sl_gguf_tensor_find(&p->shards[i], name);
		if (f) {
			*t = f;
			return i;
		}
	}
	*t = NULL;
	return -1;
}

const char *sl_provider_describe(const sl_provider *p, char *buf, size_t n)
{
	if (strcmp(p->kind, "mapped") == 0)
		snprintf(buf, n, "%.1f MiB mapped, %.1f MiB in 2 MiB pages", p->file_bytes / 1048576.0,
			 p->huge_bytes / 1048576.0);
	else
		snprintf(buf, n, "%.1f MiB %s", p->file_bytes / 1048576.0, p->kind);
	return buf;
}
