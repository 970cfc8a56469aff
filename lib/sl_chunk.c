/*
 * sl_chunk — the chunk files of a chunk directory: plan, write, verify, read and join
 * (sl_manifest.h).
 *
 * Writing goes through a stdio stream of our own (fopencookie) that sums the GGUF bytes with
 * XXH3-128 as the GGUF writer emits them, compresses them with zstd when asked, and sums what
 * reaches the file, so each chunk is written once and never read back.  Reading streams the
 * file in 1 MiB pieces: summed, and decompressed straight into the caller's buffer.
 *
 * Byte-for-byte joins: sl_chunk_plan() accepts only a source whose layout the GGUF writer
 * reproduces (tensors packed in info order, zero padding, the header rebuilt from the raw
 * key/values equal to the source's), so sl_chunk_join() is the writer fed with the core
 * chunk's key/values and every tensor in the source order, cut to the source size (a source
 * may omit the last tensor's padding).  The join's sum is checked against the source's.
 *
 * -DSL_NO_ZSTD (the browser's build, which has no libzstd) reads and writes codec "none"
 * only: a zstd chunk is refused with a message saying so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#ifndef SL_NO_ZSTD
#include <zstd.h>
#endif

#include "sl_err.h"
#include "sl_manifest.h"
#include "sl_types.h"

#define IO_CHUNK (1u << 20)

/* ==== sums ==== */

static void digest(XXH3_state_t *s, sl_xxh128 *h)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(s));
	memcpy(h->b, c.digest, 16);
}

void sl_xxh128_of(const void *p, uint64_t n, sl_xxh128 *h)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(p, (size_t)n));
	memcpy(h->b, c.digest, 16);
}

static int same(const sl_xxh128 *a, const sl_xxh128 *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

/* "PATH: layers 0-4: " before a message about chunk c. */
static int chunk_err(const sl_manifest_chunk *c, const char *fmt, ...) SL_PRINTF(2, 3);

static int chunk_err(const sl_manifest_chunk *c, const char *fmt, ...)
{
	char msg[512], what[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return sl_seterr("%s: %s: %s", c->path, sl_manifest_what(c, what, sizeof what), msg);
}

static int sum_err(const sl_manifest_chunk *c, const char *of, const sl_xxh128 *got, const sl_xxh128 *want)
{
	char g[33], w[33];

	sl_xxh128_hex(got, g);
	sl_xxh128_hex(want, w);
	return chunk_err(c, "XXH3-128 of %s is %s, the manifest says %s (corrupt)", of, g, w);
}

/*
 * Give back the pages of [p, p+n) of a mapped source once read, so that cutting a model
 * costs the memory of one piece, not of the file (the page cache keeps them if it can).
 * Only whole pages, and never for a source in anonymous memory, where it would zero them.
 */
static void drop(const sl_map *m, const void *p, uint64_t n)
{
	if (m->data && !m->copied)
		sl_map_drop(p, n);
}

/* XXH3-128 of a whole mapped file, a piece at a time. */
static void sum_mapped(const sl_map *m, const uint8_t *base, uint64_t size, sl_xxh128 *h)
{
	XXH3_state_t *s = XXH3_createState();
	const uint64_t piece = 64u << 20;

	if (!s || XXH3_128bits_reset(s)) {
		XXH3_freeState(s);
		sl_xxh128_of(base, size, h);
		return;
	}
	for (uint64_t at = 0; at < size; at += piece) {
		uint64_t n = size - at < piece ? size - at : piece;
		XXH3_128bits_update(s, base + at, (size_t)n);
		drop(m, base + at, n);
	}
	digest(s, h);
	XXH3_freeState(s);
}

/* ==== planning ==== */

/* The layer of a block tensor "blk.N.xxx", or -1. */
static int block_of(const char *name)
{
	char *end;
	long n;

	if (strncmp(name, "blk.", 4) || name[4] < '0' || name[4] > '9')
		return -1;
	n = strtol(name + 4, &end, 10);
	return *end == '.' && n < 65536 ? (int)n : -1;
}

static uint64_t roundup(uint64_t n, uint32_t a)
{
	return (n + a - 1) / a * a;
}

/* A u32 model key "ARCH.suffix", 0 if absent; -1 if present with a bad type. */
static int arch_u32(const sl_gguf *g, const char *arch, const char *suffix, uint32_t *out)
{
	char key[128];

	*out = 0;
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	return sl_gguf_get_u32(g, key, out) < 0 ? -1 : 0;
}

static int add_kvs(sl_gguf_writer *w, const sl_gguf *g, int skip_split)
{
	for (uint64_t k = 0; k < g->n_kv; k++) {
		const sl_gguf_kv *kv = &g->kv[k];
		if (skip_split && strncmp(kv->key, "split.", 6) == 0)
			continue;
		if (sl_gguf_add_raw(w, kv->key, kv->type, kv->raw, kv->raw_len))
			return -1;
	}
	return 0;
}

/* The source's header as the writer would rebuild it equals the source's: the join can work. */
static int check_layout(const sl_gguf *src, const char *path)
{
	sl_gguf_writer *w;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	uint64_t at = 0, end = 0;
	int rc = -1;

	for (uint64_t k = 0; k < src->n_tensors; k++) {
		const sl_gguf_tensor *t = &src->tensors[k];
		if (t->offset != at)
			return sl_seterr("%s: tensor %s is at offset %llu, not %llu: not packed in order, so "
					 "sl-chunk could not rebuild the file byte for byte", path, t->name,
					 (unsigned long long)t->offset, (unsigned long long)at);
		end = src->data_offset + at + t->nbytes;
		at = roundup(at + t->nbytes, src->alignment);
		for (uint64_t b = end; b < src->data_offset + at && b < src->size; b++)
			if (src->base[b])
				return sl_seterr("%s: non-zero padding at byte %llu", path, (unsigned long long)b);
	}
	if (src->size < end || src->size > src->data_offset + at)
		return sl_seterr("%s: trailing data after the last tensor (the file is %llu bytes, the "
				 "tensors end at %llu)", path, (unsigned long long)src->size,
				 (unsigned long long)roundup(end, src->alignment));
	w = sl_gguf_writer_new(); /* only now: the checks above return without freeing it */
	if (!w || !(mem = open_memstream(&buf, &len)))
		goto out;
	if (sl_gguf_writer_set_version(w, src->version) == 0 && add_kvs(w, src, 0) == 0) {
		int ok = 1;
		for (uint64_t k = 0; k < src->n_tensors && ok; k++) {
			const sl_gguf_tensor *t = &src->tensors[k];
			ok = sl_gguf_add_tensor(w, t->name, t->n_dims, t->ne, t->type) >= 0;
		}
		rc = ok && sl_gguf_write_header(w, mem) == 0 ? 0 : -1;
	}
	fclose(mem);
	if (rc)
		sl_preferr("%s", path);
	else if (len != src->data_offset || memcmp(buf, src->base, len))
		rc = sl_seterr("%s: its header is not laid out as sl-chunk writes GGUF, so it could not be "
			       "rebuilt byte for byte", path);
out:
	if (!w)
		rc = -1;
	free(buf);
	sl_gguf_writer_free(w);
	return rc;
}

static int summarize(sl_manifest *m, const sl_gguf *src, const char *path)
{
	const sl_gguf_kv *toks = sl_gguf_find(src, "tokenizer.ggml.tokens");
	const char *slash = strrchr(path, '/');
	int r;

	if ((r = sl_gguf_get_str(src, "general.architecture", &m->arch)) <= 0)
		return r < 0 ? -1 : sl_seterr("%s: no general.architecture", path);
	if (sl_gguf_get_str(src, "general.name", &m->name) < 0)
		return -1;
	if (arch_u32(src, m->arch, "block_count", &m->n_layers) ||
	    arch_u32(src, m->arch, "embedding_length", &m->n_embd) ||
	    arch_u32(src, m->arch, "feed_forward_length", &m->n_ff) ||
	    arch_u32(src, m->arch, "attention.head_count", &m->n_head) ||
	    arch_u32(src, m->arch, "attention.head_count_kv", &m->n_head_kv) ||
	    arch_u32(src, m->arch, "vocab_size", &m->n_vocab) ||
	    arch_u32(src, m->arch, "context_length", &m->n_ctx))
		return -1;
	if (!m->n_vocab && toks && toks->type == SL_GGUF_ARRAY)
		m->n_vocab = (uint32_t)toks->arr_n;
	m->src_file = strdup(slash ? slash + 1 : path);
	if (!m->src_file)
		return sl_seterr("out of memory");
	m->src_size = src->size;
	sum_mapped(&src->map, src->base, src->size, &m->src_xxh3);
	m->src_version = src->version;
	m->src_align = src->alignment;
	m->src_n_kv = src->n_kv;
	m->src_n_tensors = src->n_tensors;
	m->src_data_offset = src->data_offset;
	for (uint64_t k = 0; k < src->n_tensors; k++) {
		const sl_gguf_tensor *t = &src->tensors[k];
		m->n_bytes += t->nbytes;
		m->n_params += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
		m->n_of_type[t->type]++;   /* the reader checked the type is known */
	}
	return 0;
}

/* Chunk c gets every source tensor whose layer is in [lo, hi) (lo = -1: the core's). */
static int fill_chunk(sl_manifest_chunk *c, const sl_gguf *src, int lo, int hi)
{
	c->t = calloc(src->n_tensors, sizeof *c->t);
	if (!c->t)
		return sl_seterr("out of memory");
	for (uint64_t k = 0; k < src->n_tensors; k++) {
		const sl_gguf_tensor *t = &src->tensors[k];
		int l = block_of(t->name);
		sl_manifest_tensor *mt;
		if (lo < 0 ? l >= 0 : l < lo || l >= hi)
			continue;
		mt = &c->t[c->n_t++];
		if (!(mt->name = strdup(t->name)))
			return sl_seterr("out of memory");
		mt->type = t->type;
		mt->n_dims = t->n_dims;
		memcpy(mt->ne, t->ne, sizeof mt->ne);
		mt->nbytes = t->nbytes;
		mt->src_index = k;
		mt->src_offset = t->offset;
	}
	return 0;
}

int sl_chunk_plan(sl_manifest *m, const sl_gguf *src, const char *src_path, const char *stem,
		  int layers_per_chunk, uint64_t max_size, int codec, int level)
{
	uint64_t *lbytes = NULL;
	int n_layers = 0, rc = -1, n_c = 1;

	memset(m, 0, sizeof *m);
	for (uint64_t k = 0; k < src->n_kv; k++)
		if (strncmp(src->kv[k].key, "split.", 6) == 0)
			return sl_seterr("%s: already a split shard (key %s): join the shards first", src_path,
					 src->kv[k].key);
	if (summarize(m, src, src_path))
		goto out;
	for (uint64_t k = 0; k < src->n_tensors; k++) {
		int l = block_of(src->tensors[k].name);
		if (l + 1 > n_layers)
			n_layers = l + 1;
	}
	if (n_layers == 0) {
		sl_seterr("%s: no transformer blocks (blk.N.* tensors)", src_path);
		goto out;
	}
	if (m->n_layers && m->n_layers != (uint32_t)n_layers) {
		sl_seterr("%s: %s.block_count is %u, the tensors hold %d blocks", src_path, m->arch,
			  m->n_layers, n_layers);
		goto out;
	}
	m->n_layers = (uint32_t)n_layers;
	if (check_layout(src, src_path))
		goto out;
	/* Bytes per layer, padded as in the shard, to pack layers under max_size. */
	lbytes = calloc((size_t)n_layers, sizeof *lbytes);
	if (!lbytes) {
		sl_seterr("out of memory");
		goto out;
	}
	for (uint64_t k = 0; k < src->n_tensors; k++) {
		int l = block_of(src->tensors[k].name);
		if (l >= 0)
			lbytes[l] += roundup(src->tensors[k].nbytes, src->alignment);
	}
	for (int l = 0; l < n_layers; l++)
		if (lbytes[l] == 0) {
			sl_seterr("%s: block %d has no tensors", src_path, l);
			goto out;
		}
	/* Group layers: first count the chunks (names carry the count), then fill them. */
	m->c = calloc((unsigned)n_layers + 1u, sizeof *m->c);
	if (!m->c) {
		sl_seterr("out of memory");
		goto out;
	}
	for (int l = 0; l < n_layers;) {
		int n = 0;
		uint64_t sz = 0;
		while (l + n < n_layers && (layers_per_chunk ? n < layers_per_chunk
				: n == 0 || sz + lbytes[l + n] <= max_size))
			sz += lbytes[l + n++];
		m->c[n_c].first_layer = l;
		m->c[n_c++].n_layers = n;
		l += n;
	}
	m->n_c = n_c;
	for (int i = 0; i < n_c; i++) {
		sl_manifest_chunk *c = &m->c[i];
		char name[4200];
		snprintf(name, sizeof name, "%s-%05d-of-%05d.gguf%s", stem, i + 1, n_c,
			 codec == SL_CODEC_ZSTD ? ".zst" : "");
		c->codec = codec;
		c->level = codec == SL_CODEC_ZSTD ? level : 0;
		if (!(c->file = strdup(name)) || !(c->path = strdup(name))) {
			sl_seterr("out of memory");
			goto out;
		}
		if (fill_chunk(c, src, i ? c->first_layer : -1, c->first_layer + c->n_layers))
			goto out;
	}
	rc = 0;
out:
	free(lbytes);
	if (rc)
		sl_manifest_free(m);
	return rc;
}

/* ==== writing: a stream that sums and compresses ==== */

typedef struct {
	FILE *dst;
	XXH3_state_t *raw, *stored;
#ifndef SL_NO_ZSTD
	ZSTD_CCtx *z;
#else
	void *z;            /* never set */
#endif
	uint8_t *zbuf;
	size_t zcap;
	uint64_t raw_n, stored_n;
	int err;            /* errno of the first failure, or -1 for a zstd error */
	size_t zerr;
} wstream;

static int put_stored(wstream *s, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, s->dst) != n) {
		s->err = errno ? errno : EIO;
		return -1;
	}
	XXH3_128bits_update(s->stored, p, n);
	s->stored_n += n;
	return 0;
}

#ifndef SL_NO_ZSTD
static int compress(wstream *s, const void *p, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;

	do {
		ZSTD_outBuffer out = { s->zbuf, s->zcap, 0 };
		left = ZSTD_compressStream2(s->z, &out, &in, mode);
		if (ZSTD_isError(left)) {
			s->err = -1;
			s->zerr = left;
			return -1;
		}
		if (put_stored(s, s->zbuf, out.pos))
			return -1;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}
#else
enum { ZSTD_e_continue, ZSTD_e_end };
static int compress(wstream *s, const void *p, size_t n, int mode)
{
	(void)p, (void)n, (void)mode;
	s->err = EINVAL;
	return -1;
}
#endif

static ssize_t ws_write(void *cookie, const char *p, size_t n)
{
	wstream *s = cookie;

	if (s->err)
		return 0;
	XXH3_128bits_update(s->raw, p, n);
	s->raw_n += n;
	if (s->z ? compress(s, p, n, ZSTD_e_continue) : put_stored(s, p, n))
		return 0;
	return (ssize_t)n;
}

static int ws_close(void *cookie)
{
	wstream *s = cookie;

	if (!s->err && s->z)
		compress(s, NULL, 0, ZSTD_e_end);
	return s->err ? EOF : 0;
}

static void ws_free(wstream *s)
{
	XXH3_freeState(s->raw);
	XXH3_freeState(s->stored);
#ifndef SL_NO_ZSTD
	ZSTD_freeCCtx(s->z);
#endif
	free(s->zbuf);
}

int sl_chunk_write(sl_manifest *m, int i, const sl_gguf *src, FILE *f)
{
	sl_manifest_chunk *c = &m->c[i];
	static const cookie_io_functions_t io = { NULL, ws_write, NULL, ws_close };
	sl_gguf_writer *w = sl_gguf_writer_new();
	wstream s = { .dst = f };
	FILE *out = NULL;
	uint16_t no = (uint16_t)i, count = (uint16_t)m->n_c;
	int32_t total = (int32_t)m->src_n_tensors;
	uint64_t at = 0, data_off;
	int rc = -1;

	if (!w)
		return -1;
	s.raw = XXH3_createState();
	s.stored = XXH3_createState();
	if (!s.raw || !s.stored || XXH3_128bits_reset(s.raw) || XXH3_128bits_reset(s.stored)) {
		sl_seterr("out of memory");
		goto out;
	}
	if (c->codec == SL_CODEC_ZSTD) {
#ifdef SL_NO_ZSTD
		sl_seterr("%s: this build has no zstd", c->path);
		goto out;
#else
		s.zcap = ZSTD_CStreamOutSize();
		if (!(s.z = ZSTD_createCCtx()) || !(s.zbuf = malloc(s.zcap)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(s.z, ZSTD_c_compressionLevel, c->level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(s.z, ZSTD_c_checksumFlag, 0))) {
			sl_seterr("zstd: cannot set up level %d", c->level);
			goto out;
		}
#endif
	}
	/* Shard 1 carries every model key; all carry the split keys, as gguf-split writes them. */
	if (i == 0 ? add_kvs(w, src, 0) :
	    src->alignment != SL_GGUF_DEFAULT_ALIGN ? sl_gguf_add_u32(w, "general.alignment", src->alignment) : 0)
		goto out;
	if (sl_gguf_add_scalar(w, "split.no", SL_GGUF_U16, &no) ||
	    sl_gguf_add_scalar(w, "split.count", SL_GGUF_U16, &count) ||
	    sl_gguf_add_scalar(w, "split.tensors.count", SL_GGUF_I32, &total))
		goto out;
	for (int j = 0; j < c->n_t; j++)
		if (sl_gguf_add_tensor(w, c->t[j].name, c->t[j].n_dims, c->t[j].ne, c->t[j].type) < 0)
			goto out;
	if (!(out = fopencookie(&s, "w", io)) || setvbuf(out, NULL, _IOFBF, IO_CHUNK)) {
		sl_seterr("%s: %s", c->path, strerror(errno));
		goto out;
	}
	if (sl_gguf_write_header(w, out) || fflush(out))
		goto werr;
	data_off = s.raw_n;
	for (int j = 0; j < c->n_t; j++) {
		const sl_gguf_tensor *t = &src->tensors[c->t[j].src_index];
		c->t[j].offset = data_off + at;
		at = roundup(at + t->nbytes, src->alignment);
		if (sl_gguf_write_data(w, out, t->data, t->nbytes))
			goto werr;
		drop(&src->map, t->data, t->nbytes);
	}
	if (sl_gguf_write_finish(w, out))
		goto werr;
	if (fclose(out) != 0) {
		out = NULL;
		goto werr;
	}
	out = NULL;
	c->size = s.raw_n;
	c->stored_size = s.stored_n;
	digest(s.raw, &c->xxh3);
	digest(s.stored, &c->stored_xxh3);
	rc = 0;
	goto out;
werr:
#ifndef SL_NO_ZSTD
	if (s.err == -1)
		sl_seterr("%s: zstd: %s", c->path, ZSTD_getErrorName(s.zerr));
	else
#endif
	if (s.err)
		sl_seterr("%s: %s", c->path, strerror(s.err));
	else
		sl_preferr("%s", c->path);
out:
	if (out)
		fclose(out);
	ws_free(&s);
	sl_gguf_writer_free(w);
	return rc;
}

/* ==== reading and verifying ==== */

/*
 * One pass over chunk i's file: sum the stored bytes, decompress (into dst, or a scratch
 * buffer when only verifying) and sum the GGUF bytes.  Checks size and both sums.
 */
static int pass(const sl_manifest *m, int i, uint8_t *dst)
{
	const sl_manifest_chunk *c = &m->c[i];
	XXH3_state_t *sh = XXH3_createState(), *rh = XXH3_createState();
#ifndef SL_NO_ZSTD
	ZSTD_DStream *ds = NULL;
#endif
	uint8_t *in = malloc(IO_CHUNK), *scratch = NULL;
	uint64_t got = 0, raw_n = 0;
	size_t zr = 1;
#ifndef SL_NO_ZSTD
	size_t zerr = 0;
#endif
	const char *zwhy = NULL;
	struct stat st;
	sl_xxh128 h;
	int fd = -1, rc = -1;

	if (!sh || !rh || !in || XXH3_128bits_reset(sh) || XXH3_128bits_reset(rh)) {
		sl_seterr("out of memory");
		goto out;
	}
#ifdef SL_NO_ZSTD
	if (c->codec == SL_CODEC_ZSTD) {
		chunk_err(c, "compressed with zstd, which this build cannot read");
		goto out;
	}
#else
	if (c->codec == SL_CODEC_ZSTD && (!(ds = ZSTD_createDStream()) ||
	    (!dst && !(scratch = malloc(IO_CHUNK))))) {
		sl_seterr("out of memory");
		goto out;
	}
#endif
	if ((fd = open(c->path, O_RDONLY)) < 0 || fstat(fd, &st)) {
		chunk_err(c, "%s", strerror(errno));
		goto out;
	}
	if ((uint64_t)st.st_size != c->stored_size) {
		chunk_err(c, "%llu bytes, the manifest says %llu (%s)", (unsigned long long)st.st_size,
			  (unsigned long long)c->stored_size,
			  (uint64_t)st.st_size < c->stored_size ? "truncated" : "too long");
		goto out;
	}
	while (got < c->stored_size) {
		size_t want = c->stored_size - got < IO_CHUNK ? (size_t)(c->stored_size - got) : IO_CHUNK;
		/* Uncompressed: straight into the caller's buffer. */
		uint8_t *p = c->codec == SL_CODEC_NONE && dst ? dst + got : in;
		ssize_t n = read(fd, p, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			chunk_err(c, "%s", n < 0 ? strerror(errno) : "shorter than it was a moment ago");
			goto out;
		}
		XXH3_128bits_update(sh, p, (size_t)n);
		got += (uint64_t)n;
		if (c->codec == SL_CODEC_NONE || zwhy)
			continue;
#ifndef SL_NO_ZSTD
		ZSTD_inBuffer ib = { p, (size_t)n, 0 };
		while (ib.pos < ib.size && !zwhy) {
			ZSTD_outBuffer ob = dst ? (ZSTD_outBuffer){ dst, c->size, raw_n }
						: (ZSTD_outBuffer){ scratch, IO_CHUNK, 0 };
			size_t in_was = ib.pos, out_was = ob.pos;
			if (zr == 0) {
				zwhy = "data after the end of the zstd frame";
				break;
			}
			zr = ZSTD_decompressStream(ds, &ob, &ib);
			if (ZSTD_isError(zr)) {
				zerr = zr;
				zwhy = "zstd";
				break;
			}
			if (dst) {
				/* No progress: only when the buffer is full and there is more to come. */
				raw_n = ob.pos;
				if (ib.pos == in_was && ob.pos == out_was)
					zwhy = "decompresses to more bytes than the manifest says";
			} else {
				XXH3_128bits_update(rh, scratch, ob.pos);
				raw_n += ob.pos;
			}
		}
#endif
	}
	digest(sh, &h);
	if (!same(&h, &c->stored_xxh3)) {
		sum_err(c, "the file", &h, &c->stored_xxh3);
		goto out;
	}
	if (c->codec == SL_CODEC_NONE) {
		rc = 0;
		goto out;
	}
	if (!zwhy && zr != 0)
		zwhy = "the zstd frame is cut short";
	if (zwhy) {
#ifndef SL_NO_ZSTD
		chunk_err(c, "%s%s%s", zwhy, zerr ? ": " : "", zerr ? ZSTD_getErrorName(zerr) : "");
#else
		chunk_err(c, "%s", zwhy);
#endif
		goto out;
	}
	if (raw_n != c->size) {
		chunk_err(c, "decompresses to %llu bytes, the manifest says %llu", (unsigned long long)raw_n,
			  (unsigned long long)c->size);
		goto out;
	}
	if (dst)
		sl_xxh128_of(dst, raw_n, &h);
	else
		digest(rh, &h);
	if (!same(&h, &c->xxh3)) {
		sum_err(c, "the decompressed chunk", &h, &c->xxh3);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	XXH3_freeState(sh);
	XXH3_freeState(rh);
#ifndef SL_NO_ZSTD
	ZSTD_freeDStream(ds);
#endif
	free(in);
	free(scratch);
	return rc;
}

int sl_chunk_check_size(const sl_manifest *m, int i, uint64_t n)
{
	const sl_manifest_chunk *c = &m->c[i];

	if (n != c->size)
		return chunk_err(c, "%llu bytes, the manifest says %llu (%s)", (unsigned long long)n,
				 (unsigned long long)c->size, n < c->size ? "truncated" : "too long");
	return 0;
}

int sl_chunk_check_sum(const sl_manifest *m, int i, const void *data, uint64_t n)
{
	const sl_manifest_chunk *c = &m->c[i];
	sl_xxh128 h;

	if (sl_chunk_check_size(m, i, n))
		return -1;
	sl_xxh128_of(data, n, &h);
	if (!same(&h, &c->xxh3))
		return sum_err(c, c->codec == SL_CODEC_NONE ? "the file" : "the decompressed chunk", &h, &c->xxh3);
	return 0;
}

int sl_chunk_check(const sl_manifest *m, int i, const sl_gguf *g)
{
	const sl_manifest_chunk *c = &m->c[i];
	uint32_t no, count, total;
	int r1, r2, r3;

	r1 = sl_gguf_get_u32(g, "split.no", &no);
	r2 = sl_gguf_get_u32(g, "split.count", &count);
	r3 = sl_gguf_get_u32(g, "split.tensors.count", &total);
	if (r1 < 0 || r2 < 0 || r3 < 0)
		return sl_preferr("%s", c->path);
	if (!r1 || !r2 || !r3 || no != (uint32_t)i || count != (uint32_t)m->n_c || total != m->src_n_tensors)
		return chunk_err(c, "its split keys do not say shard %d of %d with %llu tensors", i, m->n_c,
				 (unsigned long long)m->src_n_tensors);
	if (g->n_tensors != (uint64_t)c->n_t)
		return chunk_err(c, "%llu tensors, the manifest lists %d", (unsigned long long)g->n_tensors, c->n_t);
	for (int j = 0; j < c->n_t; j++) {
		const sl_manifest_tensor *mt = &c->t[j];
		const sl_gguf_tensor *t = sl_gguf_tensor_find(g, mt->name);
		if (!t)
			return chunk_err(c, "no tensor %s", mt->name);
		if (t->type != mt->type || t->n_dims != mt->n_dims || memcmp(t->ne, mt->ne, sizeof t->ne) ||
		    (uint64_t)((const uint8_t *)t->data - g->base) != mt->offset)
			return chunk_err(c, "tensor %s differs from the manifest (type, shape or offset)", mt->name);
	}
	return 0;
}

int sl_chunk_verify(const sl_manifest *m, int i)
{
	sl_gguf g;
	int rc;

	if (pass(m, i, NULL))
		return -1;
	if (m->c[i].codec != SL_CODEC_NONE)
		return 0;
	if (sl_gguf_open(&g, m->c[i].path))
		return -1;
	rc = sl_chunk_check(m, i, &g);
	sl_gguf_close(&g);
	return rc;
}

int sl_chunk_read(const sl_manifest *m, int i, void *buf)
{
	return pass(m, i, buf);
}

/* Open chunk i as a GGUF, its sum checked: mapped if uncompressed, else read into *buf. */
static int open_chunk(const sl_manifest *m, int i, sl_gguf *g, void **buf)
{
	const sl_manifest_chunk *c = &m->c[i];
	sl_xxh128 h;

	*buf = NULL;
	memset(g, 0, sizeof *g);
	if (c->codec == SL_CODEC_NONE) {
		if (sl_map_open(&g->map, c->path)) {
			chunk_err(c, "%s", strerror(errno));
			return -1;
		}
		if (g->map.size != c->size) {
			chunk_err(c, "%llu bytes, the manifest says %llu (%s)", (unsigned long long)g->map.size,
				  (unsigned long long)c->size, g->map.size < c->size ? "truncated" : "too long");
			sl_map_close(&g->map);
			return -1;
		}
		sum_mapped(&g->map, g->map.data, g->map.size, &h);
		sl_map_close(&g->map);
		if (!same(&h, &c->xxh3))
			return sum_err(c, "the file", &h, &c->xxh3);
		/* Mapped again by the reader; the sum was of the same file a moment ago. */
		if (sl_gguf_open(g, c->path))
			return -1;
	} else {
		if (!(*buf = malloc(c->size ? c->size : 1)))
			return chunk_err(c, "out of memory (%llu bytes)", (unsigned long long)c->size);
		if (sl_chunk_read(m, i, *buf) || sl_gguf_parse(g, *buf, c->size, c->path)) {
			free(*buf);
			*buf = NULL;
			return -1;
		}
	}
	if (sl_chunk_check(m, i, g)) {
		sl_gguf_close(g);
		free(*buf);
		*buf = NULL;
		return -1;
	}
	return 0;
}

int sl_chunk_open_core(const char *path, sl_gguf *g, void **buf)
{
	sl_manifest m;
	int rc;

	if (sl_manifest_read(&m, path))
		return -1;
	rc = open_chunk(&m, 0, g, buf);
	sl_manifest_free(&m);
	return rc;
}

/* ==== joining ==== */

typedef struct {
	int i;                /* which chunk is open, -1 none */
	sl_gguf g;
	void *buf;
} slot;

static void release(slot *s)
{
	if (s->i >= 0) {
		sl_gguf_close(&s->g);
		free(s->buf);
		s->i = -1;
	}
}

static int use(const sl_manifest *m, slot *s, int i)
{
	if (s->i == i)
		return 0;
	release(s);
	if (open_chunk(m, i, &s->g, &s->buf))
		return -1;
	s->i = i;
	return 0;
}

int sl_chunk_join(const sl_manifest *m, FILE *f)
{
	typedef struct { int c, t; } loc;
	loc *by = calloc(m->src_n_tensors ? m->src_n_tensors : 1, sizeof *by);
	sl_gguf_writer *w = sl_gguf_writer_new();
	slot core = { .i = -1 }, layer = { .i = -1 };
	uint8_t *rb = malloc(IO_CHUNK);
	XXH3_state_t *hs = XXH3_createState();
	uint64_t pos = 0;
	sl_xxh128 h;
	int rc = -1;

	if (!by || !w || !rb || !hs || XXH3_128bits_reset(hs)) {
		sl_seterr("out of memory");
		goto out;
	}
	for (int i = 0; i < m->n_c; i++)
		for (int j = 0; j < m->c[i].n_t; j++)
			by[m->c[i].t[j].src_index] = (loc){ i, j };
	if (use(m, &core, 0) || sl_gguf_writer_set_version(w, m->src_version) || add_kvs(w, &core.g, 1))
		goto out;
	if (core.g.n_kv - 3 != m->src_n_kv) {
		sl_seterr("%s: %llu keys besides split.*, source.kv_count is %llu", m->c[0].path,
			  (unsigned long long)(core.g.n_kv - 3), (unsigned long long)m->src_n_kv);
		goto out;
	}
	for (uint64_t k = 0; k < m->src_n_tensors; k++) {
		const sl_manifest_tensor *t = &m->c[by[k].c].t[by[k].t];
		if (sl_gguf_add_tensor(w, t->name, t->n_dims, t->ne, t->type) < 0)
			goto out;
	}
	if (sl_gguf_write_header(w, f))
		goto out;
	for (uint64_t k = 0; k < m->src_n_tensors; k++) {
		const sl_manifest_tensor *t = &m->c[by[k].c].t[by[k].t];
		slot *s = by[k].c == 0 ? &core : &layer;
		if (by[k].c && use(m, s, by[k].c))
			goto out;
		if (sl_gguf_write_data(w, f, s->g.base + t->offset, t->nbytes))
			goto out;
		drop(&s->g.map, s->g.base + t->offset, t->nbytes);
	}
	if (sl_gguf_write_finish(w, f))
		goto out;
	/* Cut the last tensor's padding if the source had none, then sum what is on disk. */
	if (ftruncate(fileno(f), (off_t)m->src_size)) {
		sl_seterr("%s", strerror(errno));
		goto out;
	}
	while (pos < m->src_size) {
		ssize_t n = pread(fileno(f), rb, IO_CHUNK, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sl_seterr("reading back: %s", n ? strerror(errno) : "file shrank");
			goto out;
		}
		XXH3_128bits_update(hs, rb, (size_t)n);
		pos += (uint64_t)n;
	}
	digest(hs, &h);
	if (!same(&h, &m->src_xxh3)) {
		sl_seterr("the joined file's XXH3-128 differs from the source's in %s", m->path);
		goto out;
	}
	rc = 0;
out:
	release(&core);
	release(&layer);
	free(by);
	free(rb);
	XXH3_freeState(hs);
	sl_gguf_writer_free(w);
	return rc;
}
