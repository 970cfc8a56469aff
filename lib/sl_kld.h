/*
 * sl_kld — how far one model's predictions are from another's: the base model's pass
 * writes, for every id it scores, its most likely next ids and their log-probabilities to a
 * file (sl-kld(5): zstd-compressed, a few hundred bytes per id, any text length); the pass of
 * the model under test reads them back one position at a time and compares with its own
 * logits.
 *
 * The KL divergence KL(base ‖ model) = Σ_v P(v) (ln P(v) − ln Q(v)) is taken over the base's
 * k most likely ids, with all the other ids as one more outcome (P_rest = 1 − Σ P over the k,
 * Q_rest likewise).  Merging outcomes never raises a KL divergence, so this is a lower bound of
 * the full one, and exact when the base puts all its mass on its top k.
 */
#ifndef SL_KLD_H
#define SL_KLD_H

#include <stdint.h>

#define SL_KLD_TOP 64            /* ids per position the base pass keeps (fewer if the vocabulary is smaller) */

typedef struct sl_kld_writer sl_kld_writer;

/* Create path for a base model of `vocab` ids.  NULL with sl_error "path: ...". */
sl_kld_writer *sl_kld_create(const char *path, int vocab);
/* One scored position: the id that came next and the raw logits that predicted it. */
int sl_kld_put(sl_kld_writer *w, int32_t id, const float *row);
/* Finish the file; -1 with sl_error if anything failed.  Frees w either way. */
int sl_kld_close(sl_kld_writer *w);

typedef struct {
	double kld;              /* KL(base ‖ model) at this position, nats */
	int same_top;            /* the model's most likely id is the base's */
	double base_lp, lp;      /* ln p(id) under the base and under the model */
} sl_kld_pos;

typedef struct sl_kld_reader sl_kld_reader;

/* Open a base file for comparing with a model of `vocab` ids.  NULL with sl_error. */
sl_kld_reader *sl_kld_open(const char *path, int vocab);
/*
 * Compare the next position of the base with this model's: the id scored (must be the
 * base's, or the texts differ) and the model's raw logits.  1 and *out, 0 at the end of the
 * base, -1 with sl_error (a different id, a corrupt or truncated file).
 */
int sl_kld_next(sl_kld_reader *r, int32_t id, const float *row, sl_kld_pos *out);
/* 1 if every position of the base has been read. */
int sl_kld_at_end(sl_kld_reader *r);
void sl_kld_free(sl_kld_reader *r);

/* KL over the base's top k ids plus the rest (the definition above) from the base's and the
 * model's log-probs of those ids; no rest when k is the whole vocabulary. */
double sl_kld_from_top(const float *base_lp, int k, const double *model_lp, int vocab);

#endif
