/*
 * sl_stream — pinned tensors and resident layers in anonymous memory, the other layers read
 * in order into a ring of buffers by an I/O thread (sl_stream.h).
 *
 * The ring: slots cycle EMPTY → LOADING (the I/O thread reads into it, unlocked) → READY →
 * IN_USE (between acquire and release) → EMPTY.  The I/O thread fills free slots with the
 * streamed layers in cyclic order, so while one layer computes the next ones are on their
 * way.  If a caller asks for a layer out of that order (a forward pass that failed halfway),
 * the ring is emptied and restarted at the layer asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef SL_NO_THREADS
#include <pthread.h>
#endif

#include "sl_err.h"
#include "sl_map.h"
#include "sl_stream.h"
#include "sl_sys.h"

#define ALIGN 4096u            /* O_DIRECT: offsets, lengths and buffers in whole blocks */
#define GAP (64u << 10)        /* matrices closer than this in the file are read in one piece */
#define IO_THREADS 1           /* reads in flight: two at once were slower (bench/NOTES.md) */
#define HUGE (2u << 20)        /* a huge page */
#define CHUNK (4u << 20)       /* buffered reads: bytes per read, dropped from the cache after it */

typedef struct {
	int shard;               /* the file */
	uint64_t off, len;       /* its range, ALIGN-aligned */
	uint64_t need;           /* of which the bytes the matrices occupy must be in the file */
	uint64_t buf_off;        /* where it goes in the layer's buffer */
} piece;

typedef struct {
	int n_pieces;
	piece pc[SL_LM_COUNT];
	uint64_t mat_off[SL_LM_COUNT]; /* where each matrix's data is in the layer's buffer */
	uint64_t buf_bytes;      /* the layer's buffer */
	uint64_t mat_bytes;      /* of which the matrices */
	const uint8_t *res;      /* resident copy, or NULL if streamed */
	sl_layer view;           /* resident layers: their view */
} lplan;

enum { EMPTY, LOADING, READY, IN_USE, FAILED };

typedef struct {
	uint8_t *buf;
	int layer, state;
	sl_layer view;
} slot;

typedef struct {
	sl_provider p;
	int *fd, *dfd;           /* each shard's file, buffered and (where the file system allows) O_DIRECT */
	int n_files;
	int planned;
	int n_layers;
	lplan *L;
	/* pinned tensors */
	void **pins;
	size_t *pin_sizes;
	int n_pins;
	uint64_t pinned;
	/* resident layers */
	uint8_t *res_mem;
	uint64_t res_bytes;
	int n_resident;
	/* the ring */
	int ring;
	slot *slots;
	uint64_t slot_bytes;
	int *order, n_stream;    /* the streamed layers, ascending */
	int next_read, next_use; /* indices into order */
	char err[512];
	uint64_t read_bytes;
	double read_s, wait_s;
#ifndef SL_NO_THREADS
	pthread_t io[IO_THREADS];
	pthread_mutex_t mu, stat_mu;
	pthread_cond_t cv;
	int io_started, stop;
#endif
} stream;

/* Buffers of a megabyte and more in 2 MiB pages (they are read for every token); small ones
 * 4 KiB-aligned (for O_DIRECT) in ordinary pages, which a huge page would mostly waste. */
static void *buf_alloc(size_t n)
{
	if (n >= HUGE)
		return sl_huge_alloc(n);
	void *p = aligned_alloc(ALIGN, (n + ALIGN - 1) / ALIGN * ALIGN);
	if (p)
		memset(p, 0, n);
	return p;
}

static void buf_free(void *p, size_t n)
{
	if (n >= HUGE)
		sl_huge_free(p, n);
	else
		free(p);
}

static uint64_t align_down(uint64_t x) { return x & ~(uint64_t)(ALIGN - 1); }
static uint64_t align_up(uint64_t x) { return (x + ALIGN - 1) & ~(uint64_t)(ALIGN - 1); }

/* ==== reading ==== */

/*
 * n bytes at off into dst: O_DIRECT if it works, else buffered and dropped from the page
 * cache behind the read.  A range rounded out to whole blocks may run past the end of the
 * file, so a short read is fine once the first `need` bytes are in.  0; -1 with errno; -2 if
 * the file ends before `need` (it was truncated since its header was read).
 */
static int read_range(stream *s, int shard, uint8_t *dst, uint64_t off, uint64_t n, uint64_t need)
{
	uint64_t done = 0;
	int fd = s->dfd[shard] >= 0 ? s->dfd[shard] : s->fd[shard];

	while (done < n) {
		/* buffered reads go in small steps, each dropped at once, so that the page cache
		 * never holds more than a step of them */
		uint64_t want = fd == s->fd[shard] && n - done > CHUNK ? CHUNK : n - done;
		ssize_t r = pread(fd, dst + done, (size_t)want, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && fd == s->dfd[shard] && errno == EINVAL) {
			/* this file system refuses direct reads of this range: buffered from now on */
			close(s->dfd[shard]);
			s->dfd[shard] = -1;
			fd = s->fd[shard];
			continue;
		}
		if (r < 0)
			return -1;
		if (r == 0)
			return done < need ? -2 : 0;
		if (fd == s->fd[shard])
			posix_fadvise(fd, (off_t)(off + done), (off_t)r, POSIX_FADV_DONTNEED);
		done += (uint64_t)r;
	}
	return 0;
}

/* Count a read (the I/O threads and the planner both read). */
static void add_read(stream *s, uint64_t bytes, double secs)
{
#ifndef SL_NO_THREADS
	pthread_mutex_lock(&s->stat_mu);
#endif
	s->read_bytes += bytes;
	s->read_s += secs;
#ifndef SL_NO_THREADS
	pthread_mutex_unlock(&s->stat_mu);
#endif
}

static int read_layer(stream *s, int l, uint8_t *dst)
{
	const lplan *L = &s->L[l];
	double t0 = sl_time_now();

	for (int i = 0; i < L->n_pieces; i++) {
		const piece *p = &L->pc[i];
		int rc = read_range(s, p->shard, dst + p->buf_off, p->off, p->len, p->need);
		if (rc) {
			snprintf(s->err, sizeof s->err, "%s: reading layer %d: %s", s->p.shards[p->shard].name,
				 l, rc == -2 ? "unexpected end of file (truncated while in use?)" : strerror(errno));
			return -1;
		}
	}
	add_read(s, L->buf_bytes, sl_time_now() - t0);
	return 0;
}

/* The view of layer l with its matrices at buf. */
static void make_view(const stream *s, const sl_layer *tmpl, int l, const uint8_t *buf, sl_layer *v)
{
	*v = *tmpl;
	for (int i = 0; i < SL_LM_COUNT; i++)
		v->mat[i].data = buf + s->L[l].mat_off[i];
}

/* ==== the provider ==== */

static const void *stream_pin(sl_provider *pp, int shard, const sl_gguf_tensor *t)
{
	stream *s = (stream *)pp;
	uint64_t off = pp->shards[shard].data_offset + t->offset;
	void **pins = realloc(s->pins, (size_t)(s->n_pins + 1) * sizeof *pins);
	size_t *sizes = realloc(s->pin_sizes, (size_t)(s->n_pins + 1) * sizeof *sizes);
	void *buf;

	if (pins)
		s->pins = pins;
	if (sizes)
		s->pin_sizes = sizes;
	if (!pins || !sizes || !(buf = buf_alloc((size_t)t->nbytes)))
		return sl_seterr("out of memory (pinning %s)", t->name), NULL;
	s->pins[s->n_pins] = buf;
	s->pin_sizes[s->n_pins++] = (size_t)t->nbytes;
	s->pinned += t->nbytes;
	/* before sl_stream_plan no direct descriptor is open: buffered, dropped behind */
	int rc = read_range(s, shard, buf, off, t->nbytes, t->nbytes);
	if (rc)
		return sl_seterr("%s: reading %s: %s", pp->shards[shard].name, t->name,
				 rc == -2 ? "unexpected end of file" : strerror(errno)), NULL;
	return buf;
}

#ifndef SL_NO_THREADS
static void *io_main(void *arg)
{
	stream *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		slot *sl = NULL;
		for (int i = 0; i < s->ring && !sl; i++)
			if (s->slots[i].state == EMPTY)
				sl = &s->slots[i];
		if (!sl) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		int l = s->order[s->next_read];
		s->next_read = (s->next_read + 1) % s->n_stream;
		sl->layer = l;
		sl->state = LOADING;
		pthread_mutex_unlock(&s->mu);
		int rc = read_layer(s, l, sl->buf);
		pthread_mutex_lock(&s->mu);
		sl->state = rc ? FAILED : READY;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Restart the ring at order index k (the caller holds the lock). */
static void resync(stream *s, int k)
{
	for (;;) {
		int loading = 0;
		for (int i = 0; i < s->ring; i++)
			loading |= s->slots[i].state == LOADING;
		if (!loading)
			break;
		pthread_cond_wait(&s->cv, &s->mu);
	}
	for (int i = 0; i < s->ring; i++)
		if (s->slots[i].state != IN_USE)
			s->slots[i].state = EMPTY;
	s->next_read = s->next_use = k;
	pthread_cond_broadcast(&s->cv);
}

static int order_index(const stream *s, int l)
{
	for (int k = 0; k < s->n_stream; k++)
		if (s->order[k] == l)
			return k;
	return -1;
}
#endif

static const sl_layer *stream_acquire(sl_provider *pp, const sl_layer *tmpl, int l)
{
	stream *s = (stream *)pp;

	if (!s->planned)
		return sl_seterr("%s: streaming provider used before sl_stream_plan", pp->name), NULL;
	if (s->L[l].res)
		return &s->L[l].view;
#ifdef SL_NO_THREADS
	/* no I/O thread: read it now, into the one slot */
	if (read_layer(s, l, s->slots[0].buf))
		return sl_seterr("%s", s->err), NULL;
	make_view(s, tmpl, l, s->slots[0].buf, &s->slots[0].view);
	return &s->slots[0].view;
#else
	double t0 = sl_time_now();
	slot *got = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->order[s->next_use] != l)
		resync(s, order_index(s, l));
	while (!got) {
		for (int i = 0; i < s->ring && !got; i++)
			if (s->slots[i].layer == l && (s->slots[i].state == READY || s->slots[i].state == FAILED))
				got = &s->slots[i];
		if (!got)
			pthread_cond_wait(&s->cv, &s->mu);
	}
	if (got->state == FAILED) {
		got->state = EMPTY;
		resync(s, s->next_use);
		pthread_mutex_unlock(&s->mu);
		return sl_seterr("%s", s->err), NULL;
	}
	got->state = IN_USE;
	s->next_use = (s->next_use + 1) % s->n_stream;
	s->wait_s += sl_time_now() - t0;
	pthread_mutex_unlock(&s->mu);
	make_view(s, tmpl, l, got->buf, &got->view);
	return &got->view;
#endif
}

static void stream_release(sl_provider *pp, int l)
{
	stream *s = (stream *)pp;

	if (s->L[l].res)
		return;
#ifndef SL_NO_THREADS
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->ring; i++)
		if (s->slots[i].layer == l && s->slots[i].state == IN_USE) {
			s->slots[i].state = EMPTY;
			break;
		}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
#endif
}

static void stream_free(sl_provider *pp)
{
	stream *s = (stream *)pp;

#ifndef SL_NO_THREADS
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->io_started; i++)
		pthread_join(s->io[i], NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->stat_mu);
	pthread_cond_destroy(&s->cv);
#endif
	for (int i = 0; i < s->n_pins; i++)
		buf_free(s->pins[i], s->pin_sizes[i]);
	free(s->pins);
	free(s->pin_sizes);
	if (s->slots)
		for (int i = 0; i < s->ring; i++)
			buf_free(s->slots[i].buf, (size_t)s->slot_bytes);
	free(s->slots);
	if (s->res_mem)
		buf_free(s->res_mem, (size_t)s->res_bytes);
	free(s->L);
	free(s->order);
	for (int i = 0; i < s->n_files; i++) {
		if (s->fd[i] >= 0)
			close(s->fd[i]);
		if (s->dfd[i] >= 0)
			close(s->dfd[i]);
	}
	free(s->fd);
	free(s->dfd);
	for (int i = 0; i < pp->n_shards; i++)
		sl_gguf_close(&pp->shards[i]);
	free(pp->shards);
	free(pp->name);
	free(s);
}

sl_provider *sl_provider_stream_files(const char *const *paths, int n)
{
	stream *s = calloc(1, sizeof *s);

	if (!s)
		return sl_seterr("out of memory"), NULL;
#ifndef SL_NO_THREADS
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->stat_mu, NULL);
	pthread_cond_init(&s->cv, NULL);
#endif
	s->p.kind = "streamed";
	s->p.pin = stream_pin;
	s->p.acquire = stream_acquire;
	s->p.release = stream_release;
	s->p.free = stream_free;
	if (n < 1 || !(s->p.name = strdup(paths[0])) || !(s->p.shards = calloc((size_t)n, sizeof *s->p.shards)) ||
	    !(s->fd = malloc((size_t)n * sizeof *s->fd)) || !(s->dfd = malloc((size_t)n * sizeof *s->dfd))) {
		stream_free(&s->p);
		return sl_seterr(n < 1 ? "no model files" : "out of memory"), NULL;
	}
	for (int i = 0; i < n; i++) {
		s->fd[i] = s->dfd[i] = -1;
		s->n_files = i + 1;
		/* the header through a mapping (not faulted in: only the pages parsed are read) */
		if (sl_gguf_open(&s->p.shards[i], paths[i])) {
			stream_free(&s->p);
			return NULL;
		}
		s->p.n_shards = i + 1;
		s->p.file_bytes += s->p.shards[i].size;
		if ((s->fd[i] = open(paths[i], O_RDONLY | O_CLOEXEC)) < 0) {
			sl_seterr("%s: %s", paths[i], strerror(errno));
			stream_free(&s->p);
			return NULL;
		}
	}
	return &s->p;
}

sl_provider *sl_provider_stream(const char *path)
{
	return sl_provider_stream_files(&path, 1);
}

/* ==== the plan ==== */

static int by_offset(const void *a, const void *b)
{
	const piece *x = a, *y = b;
	if (x->shard != y->shard)
		return x->shard < y->shard ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Where layer l's matrices are in the file, merged into aligned pieces. */
static void plan_layer(const stream *s, const sl_layer *tmpl, lplan *L)
{
	piece raw[SL_LM_COUNT];
	int idx[SL_LM_COUNT];
	uint64_t end = 0, buf = 0;

	for (int i = 0; i < SL_LM_COUNT; i++) {
		const sl_weight *w = &tmpl->mat[i];
		raw[i].shard = w->shard;
		raw[i].off = s->p.shards[w->shard].data_offset + w->src->offset;
		raw[i].len = w->src->nbytes;
		raw[i].buf_off = (uint64_t)i; /* remember the matrix through the sort */
	}
	qsort(raw, SL_LM_COUNT, sizeof raw[0], by_offset);
	memset(L, 0, sizeof *L);
	for (int i = 0; i < SL_LM_COUNT; i++) {
		idx[i] = (int)raw[i].buf_off;
		L->mat_bytes += raw[i].len;
		if (L->n_pieces > 0 && raw[i].shard == L->pc[L->n_pieces - 1].shard && raw[i].off <= end + GAP) {
			piece *p = &L->pc[L->n_pieces - 1];
			uint64_t e = align_up(raw[i].off + raw[i].len);
			if (e > p->off + p->len) {
				buf += e - (p->off + p->len);
				p->len = e - p->off;
			}
			if (raw[i].off + raw[i].len - p->off > p->need)
				p->need = raw[i].off + raw[i].len - p->off;
		} else {
			piece *p = &L->pc[L->n_pieces++];
			p->shard = raw[i].shard;
			p->off = align_down(raw[i].off);
			p->len = align_up(raw[i].off + raw[i].len) - p->off;
			p->need = raw[i].off + raw[i].len - p->off;
			p->buf_off = buf;
			buf += p->len;
		}
		const piece *p = &L->pc[L->n_pieces - 1];
		L->mat_off[idx[i]] = p->buf_off + (raw[i].off - p->off);
		if (raw[i].off + raw[i].len > end)
			end = raw[i].off + raw[i].len;
	}
	L->buf_bytes = buf;
}

static int ensure_plans(stream *s, const sl_model *m)
{
	if (s->L)
		return 0;
	s->n_layers = m->cfg.n_layers;
	s->L = calloc((size_t)s->n_layers, sizeof *s->L);
	if (!s->L)
		return sl_seterr("out of memory");
	for (int l = 0; l < s->n_layers; l++)
		plan_layer(s, &m->layers[l], &s->L[l]);
	return 0;
}

static uint64_t max_layer_bytes(const stream *s)
{
	uint64_t n = 0;

	for (int l = 0; l < s->n_layers; l++)
		if (s->L[l].buf_bytes > n)
			n = s->L[l].buf_bytes;
	return n;
}

uint64_t sl_stream_min_budget(const sl_provider *pp, const sl_model *m, int ring, uint64_t other)
{
	stream *s = (stream *)pp;

	if (ensure_plans(s, m))
		return UINT64_MAX;
	return s->pinned + (uint64_t)ring * max_layer_bytes(s) + other;
}

int sl_stream_plan(sl_provider *pp, const sl_model *m, const sl_stream_opts *o)
{
	stream *s = (stream *)pp;
	uint64_t slot, avail, min;
	int ring = o->ring < 1 ? 1 : o->ring > 8 ? 8 : o->ring;

	if (s->planned)
		return sl_seterr("%s: already planned", pp->name);
	if (ensure_plans(s, m))
		return -1;
	slot = max_layer_bytes(s);
	min = sl_stream_min_budget(pp, m, ring, o->other);
	if (o->budget < min)
		return sl_seterr("%s: a budget of %.1f MiB is below the minimum of %.1f MiB for this model "
				 "and context (embeddings, head and norms %.1f MiB, %d layer buffer%s of "
				 "%.1f MiB, cache, activations and the program %.1f MiB)", pp->name,
				 o->budget / 1048576.0, (min + 104857) / 1048576.0, s->pinned / 1048576.0,
				 ring, ring > 1 ? "s" : "", slot / 1048576.0, o->other / 1048576.0);

	/* The first layers that fit stay; the rest stream.  If all fit, no ring is needed. */
	avail = o->budget - o->other - s->pinned;
	uint64_t all = 0;
	for (int l = 0; l < s->n_layers; l++)
		all += s->L[l].buf_bytes;
	if (all <= avail)
		s->n_resident = s->n_layers, ring = 0;
	else
		for (uint64_t used = (uint64_t)ring * slot; s->n_resident < s->n_layers &&
		     used + s->L[s->n_resident].buf_bytes <= avail; s->n_resident++)
			used += s->L[s->n_resident].buf_bytes;

	for (int i = 0; o->direct && i < s->n_files; i++)
		s->dfd[i] = open(pp->shards[i].name, O_RDONLY | O_CLOEXEC | O_DIRECT);
	for (int l = 0; l < s->n_resident; l++)
		s->res_bytes += s->L[l].buf_bytes;
	if (s->res_bytes && !(s->res_mem = buf_alloc((size_t)s->res_bytes)))
		return sl_seterr("out of memory (%.0f MiB of resident layers)", s->res_bytes / 1048576.0);
	for (uint64_t l = 0, at = 0; l < (uint64_t)s->n_resident; at += s->L[l].buf_bytes, l++) {
		if (read_layer(s, (int)l, s->res_mem + at))
			return sl_seterr("%s", s->err);
		s->L[l].res = s->res_mem + at;
		make_view(s, &m->layers[l], (int)l, s->L[l].res, &s->L[l].view);
	}
	s->read_bytes = 0; /* count the streamed layers only */
	s->read_s = 0;

	s->ring = ring;
	s->n_stream = s->n_layers - s->n_resident;
	if (s->n_stream > 0) {
		s->slot_bytes = slot;
		s->slots = calloc((size_t)ring, sizeof *s->slots);
		s->order = malloc((size_t)s->n_stream * sizeof *s->order);
		if (!s->slots || !s->order)
			return sl_seterr("out of memory");
		for (int i = 0; i < ring; i++) {
			s->slots[i].layer = -1;
			if (!(s->slots[i].buf = buf_alloc((size_t)slot)))
				return sl_seterr("out of memory (%d layer buffers of %.1f MiB)", ring,
						 slot / 1048576.0);
		}
		for (int k = 0; k < s->n_stream; k++)
			s->order[k] = s->n_resident + k;
	}
	/* the header was parsed through the mapping: give its pages back */
	for (int i = 0; i < s->n_files; i++) {
		const sl_map *map = &pp->shards[i].map;
		sl_map_drop(map->data, map->size);
		posix_fadvise(s->fd[i], 0, 0, POSIX_FADV_DONTNEED);
	}
	pp->resident_bytes = s->pinned + s->res_bytes + (uint64_t)ring * slot;
	s->planned = 1;
#ifndef SL_NO_THREADS
	for (int i = 0; s->n_stream > 0 && i < (ring < IO_THREADS ? ring : IO_THREADS); i++) {
		int e = pthread_create(&s->io[i], NULL, io_main, s);
		if (e)
			return sl_seterr("cannot start an I/O thread: %s", strerror(e));
		s->io_started = i + 1;
	}
#endif
	return 0;
}

int sl_is_stream(const sl_provider *p)
{
	return p->free == stream_free;
}

int sl_stream_get_stats(const sl_provider *pp, sl_stream_stats *st)
{
	const stream *s = (const stream *)pp;

	if (!sl_is_stream(pp))
		return -1;
	memset(st, 0, sizeof *st);
	st->n_resident = s->n_resident;
	st->n_streamed = s->n_stream;
	st->ring = s->ring;
	for (int i = 0; i < s->n_files; i++)
		st->direct |= s->dfd[i] >= 0;
	st->pinned_bytes = s->pinned;
	st->resident_bytes = s->res_bytes;
	st->ring_bytes = (uint64_t)s->ring * s->slot_bytes;
	for (int l = s->n_resident; l < s->n_layers; l++)
		st->pass_bytes += s->L[l].buf_bytes;
	st->read_bytes = s->read_bytes;
	st->read_s = s->read_s;
	st->wait_s = s->wait_s;
	return 0;
}
