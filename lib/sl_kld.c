/*
 * sl_kld — the base pass's file and the comparison with it (sl_kld.h, sl-kld(5)).
 *
 * The file is one zstd frame holding: "SLKLD\0\0\1", u32 vocab, u32 k, then per scored
 * position: i32 id (the id that came next), f32 ln p(id), and k pairs { i32 id, f32 ln p },
 * the base's k most likely ids, most likely first.  All little-endian.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "sl_err.h"
#include "sl_kld.h"
#include "sl_sample.h"

static const unsigned char magic[8] = { 'S', 'L', 'K', 'L', 'D', 0, 0, 1 };

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_f32(unsigned char *p, float f)
{
	uint32_t v;
	memcpy(&v, &f, 4);
	put_u32(p, v);
}

static float get_f32(const unsigned char *p)
{
	uint32_t v = get_u32(p);
	float f;
	memcpy(&f, &v, 4);
	return f;
}

double sl_kld_from_top(const float *base_lp, int k, const double *model_lp, int vocab)
{
	double kl = 0, p_top = 0, q_top = 0;

	for (int i = 0; i < k; i++) {
		double p = exp((double)base_lp[i]);
		p_top += p;
		q_top += exp(model_lp[i]);
		kl += p * ((double)base_lp[i] - model_lp[i]);
	}
	double p_rest = 1 - p_top, q_rest = 1 - q_top;
	if (k < vocab && p_rest > 1e-12) /* with every id kept there is no rest, only rounding */
		kl += p_rest * (log(p_rest) - log(q_rest > 1e-300 ? q_rest : 1e-300));
	return kl > 0 ? kl : 0; /* rounding can take an exact 0 just below */
}

/* ==== writer ==== */

struct sl_kld_writer {
	FILE *f;
	char *path;
	ZSTD_CCtx *z;
	int vocab, k, failed;
	int32_t *top;
	float *top_p;
	sl_sampler *smp;         /* for its top-n (its parameters and random numbers are not used) */
	unsigned char *rec, *out;
	size_t out_cap;
};

static int zwrite(sl_kld_writer *w, const void *src, size_t n, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { src, n, 0 };

	for (;;) {
		ZSTD_outBuffer o = { w->out, w->out_cap, 0 };
		size_t left = ZSTD_compressStream2(w->z, &o, &in, end);
		if (ZSTD_isError(left))
			return sl_seterr("%s: zstd: %s", w->path, ZSTD_getErrorName(left));
		if (o.pos && fwrite(w->out, 1, o.pos, w->f) != o.pos)
			return sl_seterr("%s: %s", w->path, strerror(errno));
		if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

sl_kld_writer *sl_kld_create(const char *path, int vocab)
{
	sl_kld_writer *w = calloc(1, sizeof *w);
	unsigned char head[16];

	if (!w)
		return sl_seterr("out of memory"), NULL;
	w->vocab = vocab;
	w->k = vocab < SL_KLD_TOP ? vocab : SL_KLD_TOP;
	w->out_cap = ZSTD_CStreamOutSize();
	w->path = strdup(path);
	w->z = ZSTD_createCCtx();
	w->top = malloc((size_t)w->k * sizeof *w->top);
	w->top_p = malloc((size_t)w->k * sizeof *w->top_p);
	w->smp = sl_sampler_new(vocab, &(sl_sample_params){ 1, 0, 1, 0, 1 }, 0);
	w->rec = malloc(8 + 8 * (size_t)w->k);
	w->out = malloc(w->out_cap);
	if (!w->path || !w->z || !w->top || !w->top_p || !w->smp || !w->rec || !w->out) {
		sl_seterr("out of memory");
		goto fail;
	}
	if (!(w->f = fopen(path, "wb"))) {
		sl_seterr("%s: %s", path, strerror(errno));
		goto fail;
	}
	ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, 3);
	memcpy(head, magic, 8);
	put_u32(head + 8, (uint32_t)vocab);
	put_u32(head + 12, (uint32_t)w->k);
	if (zwrite(w, head, sizeof head, ZSTD_e_continue))
		goto fail;
	return w;
fail:
	w->failed = 1;
	sl_kld_close(w);
	return NULL;
}

int sl_kld_put(sl_kld_writer *w, int32_t id, const float *row)
{
	double lse = sl_log_sum_exp(row, w->vocab);
	unsigned char *p = w->rec;

	sl_sampler_top_n(w->smp, row, w->k, w->top, w->top_p);
	put_u32(p, (uint32_t)id);
	put_f32(p + 4, (float)(row[id] - lse));
	p += 8;
	for (int i = 0; i < w->k; i++, p += 8) {
		put_u32(p, (uint32_t)w->top[i]);
		put_f32(p + 4, (float)(row[w->top[i]] - lse));
	}
	if (zwrite(w, w->rec, (size_t)(p - w->rec), ZSTD_e_continue)) {
		w->failed = 1;
		return -1;
	}
	return 0;
}

int sl_kld_close(sl_kld_writer *w)
{
	int rc = 0;

	if (!w)
		return 0;
	if (w->f && !w->failed && zwrite(w, NULL, 0, ZSTD_e_end))
		rc = -1;
	if (w->f && (fclose(w->f) != 0) && !w->failed && rc == 0)
		rc = sl_seterr("%s: %s", w->path, strerror(errno));
	if (w->failed)
		rc = -1;
	ZSTD_freeCCtx(w->z);
	free(w->path);
	free(w->top);
	free(w->top_p);
	sl_sampler_free(w->smp);
	free(w->rec);
	free(w->out);
	free(w);
	return rc;
}

/* ==== reader ==== */

struct sl_kld_reader {
	FILE *f;
	char *path;
	ZSTD_DCtx *z;
	int vocab, k;
	unsigned char *in;
	size_t in_cap;
	ZSTD_inBuffer zin;
	int eof;                 /* the file is read to its end */
	size_t frame_left;       /* the last ZSTD_decompressStream's hint: 0 at the end of the frame */
	unsigned char *rec;
	int32_t *ids;
	float *blp;
	double *mlp;
};

/*
 * Exactly n bytes of the decompressed stream into dst: 1, 0 at a clean end (no byte of a
 * record read, the frame complete), -1 with sl_error.
 */
static int zread(sl_kld_reader *r, unsigned char *dst, size_t n)
{
	ZSTD_outBuffer o = { dst, n, 0 };

	while (o.pos < n) {
		if (r->zin.pos == r->zin.size) {
			if (r->eof) {
				if (o.pos == 0 && r->frame_left == 0)
					return 0;
				return sl_seterr("%s: truncated", r->path);
			}
			r->zin.size = fread(r->in, 1, r->in_cap, r->f);
			r->zin.pos = 0;
			if (r->zin.size < r->in_cap) {
				if (ferror(r->f))
					return sl_seterr("%s: %s", r->path, strerror(errno));
				r->eof = 1;
			}
			continue;
		}
		size_t left = ZSTD_decompressStream(r->z, &o, &r->zin);
		if (ZSTD_isError(left))
			return sl_seterr("%s: not an sl-kld file (zstd: %s)", r->path, ZSTD_getErrorName(left));
		r->frame_left = left;
	}
	return 1;
}

sl_kld_reader *sl_kld_open(const char *path, int vocab)
{
	sl_kld_reader *r = calloc(1, sizeof *r);
	unsigned char head[16];
	int rc;

	if (!r)
		return sl_seterr("out of memory"), NULL;
	r->path = strdup(path);
	r->z = ZSTD_createDCtx();
	r->in_cap = ZSTD_DStreamInSize();
	r->in = malloc(r->in_cap);
	r->frame_left = 1;
	r->zin.src = r->in;
	if (!r->path || !r->z || !r->in) {
		sl_seterr("out of memory");
		goto fail;
	}
	if (!(r->f = fopen(path, "rb"))) {
		sl_seterr("%s: %s", path, strerror(errno));
		goto fail;
	}
	rc = zread(r, head, sizeof head);
	if (rc <= 0 || memcmp(head, magic, 8) != 0) {
		if (rc >= 0)
			sl_seterr("%s: not an sl-kld file (bad magic)", path);
		goto fail;
	}
	r->vocab = (int)get_u32(head + 8);
	r->k = (int)get_u32(head + 12);
	if (r->vocab != vocab) {
		sl_seterr("%s: written for a vocabulary of %d ids, this model has %d", path, r->vocab, vocab);
		goto fail;
	}
	if (r->k < 1 || r->k > vocab) {
		sl_seterr("%s: %d ids per position is out of range (1..%d)", path, r->k, vocab);
		goto fail;
	}
	r->rec = malloc(8 + 8 * (size_t)r->k);
	r->ids = malloc((size_t)r->k * sizeof *r->ids);
	r->blp = malloc((size_t)r->k * sizeof *r->blp);
	r->mlp = malloc((size_t)r->k * sizeof *r->mlp);
	if (!r->rec || !r->ids || !r->blp || !r->mlp) {
		sl_seterr("out of memory");
		goto fail;
	}
	return r;
fail:
	sl_kld_free(r);
	return NULL;
}

int sl_kld_next(sl_kld_reader *r, int32_t id, const float *row, sl_kld_pos *out)
{
	int rc = zread(r, r->rec, 8 + 8 * (size_t)r->k);
	const unsigned char *p = r->rec + 8;
	int32_t base_id;
	int best = 0;

	if (rc <= 0)
		return rc;
	base_id = (int32_t)get_u32(r->rec);
	if (base_id != id)
		return sl_seterr("%s: the base scored id %d here, this text has %d (not the same text)",
				 r->path, base_id, id);
	double lse = sl_log_sum_exp(row, r->vocab);
	for (int i = 0; i < r->k; i++, p += 8) {
		r->ids[i] = (int32_t)get_u32(p);
		r->blp[i] = get_f32(p + 4);
		if (r->ids[i] < 0 || r->ids[i] >= r->vocab || !(r->blp[i] <= 0))
			return sl_seterr("%s: corrupt record (id %d, log-prob %g)", r->path, r->ids[i],
					 (double)r->blp[i]);
		r->mlp[i] = (double)row[r->ids[i]] - lse;
	}
	for (int v = 1; v < r->vocab; v++)
		if (row[v] > row[best])
			best = v;
	out->kld = sl_kld_from_top(r->blp, r->k, r->mlp, r->vocab);
	out->same_top = best == r->ids[0];
	out->base_lp = get_f32(r->rec + 4);
	out->lp = (double)row[id] - lse;
	return 1;
}

int sl_kld_at_end(sl_kld_reader *r)
{
	unsigned char b;
	return zread(r, &b, 1) == 0;
}

void sl_kld_free(sl_kld_reader *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	ZSTD_freeDCtx(r->z);
	free(r->path);
	free(r->in);
	free(r->rec);
	free(r->ids);
	free(r->blp);
	free(r->mlp);
	free(r);
}
