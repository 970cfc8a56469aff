/*
 * sl_stream — a provider for a model under a memory budget (sl_provider.h).
 *
 * Generation reads the layers in the same order for every token, which is the access
 * pattern that defeats an LRU cache (the page cache under a cgroup limit): whatever was
 * evicted is needed soonest.  This provider knows the order instead.  The pinned tensors
 * (token embedding, head, norms) and as many whole layers as fit in the budget are read once
 * into anonymous memory, which is never evicted; the other layers are read again for every
 * pass, in order, into a ring of buffers, by an I/O thread that reads ahead while the layers
 * before compute.  Reads bypass the page cache (O_DIRECT where the file system allows it,
 * else read() followed by POSIX_FADV_DONTNEED), so the process holds what it counted and
 * nothing more.  Each pass over the model then reads (model bytes − resident bytes) from
 * storage, and the ids are those of the mapped model, bit for bit.
 *
 *     p = sl_provider_stream(path);      // headers only
 *     m = sl_model_new(p);               // pins what every token needs
 *     ... make the session (its state is part of the budget) ...
 *     sl_stream_plan(p, m, &opts);       // decide what stays, read it, start the I/O thread
 */
#ifndef SL_STREAM_H
#define SL_STREAM_H

#include <stdint.h>

#include "sl_model.h"
#include "sl_provider.h"

/* Open a GGUF file for streaming: headers parsed, no weight read yet.  NULL with sl_error. */
sl_provider *sl_provider_stream(const char *path);
/* The same over several files, shard 0 (the model's keys) first: split files, chunks. */
sl_provider *sl_provider_stream_files(const char *const *paths, int n);

typedef struct {
	uint64_t budget;         /* bytes the process may hold in all */
	uint64_t other;          /* of those, held by everything but the weights (state, overhead) */
	int ring;                /* buffers for streamed layers (1..8); 2 overlaps reading and computing */
	int direct;              /* 1: O_DIRECT when the file system allows it; 0: read + DONTNEED */
} sl_stream_opts;

/*
 * Keep the pinned tensors and as many whole layers as fit in budget − other resident,
 * stream the rest through opts->ring buffers.  -1 with sl_error when the budget is below the
 * minimum (pinned + ring + other), saying what the minimum is and what it is made of, or
 * when the weights cannot be read.
 */
int sl_stream_plan(sl_provider *p, const sl_model *m, const sl_stream_opts *opts);

/* The smallest budget sl_stream_plan accepts with `ring` buffers and `other` bytes. */
uint64_t sl_stream_min_budget(const sl_provider *p, const sl_model *m, int ring, uint64_t other);

typedef struct {
	int n_resident, n_streamed, ring, direct;
	uint64_t pinned_bytes;   /* embeddings, head, norms */
	uint64_t resident_bytes; /* the resident layers */
	uint64_t ring_bytes;     /* the ring buffers */
	uint64_t pass_bytes;     /* read from storage for each pass over the layers */
	uint64_t read_bytes;     /* read so far (streamed layers only) */
	double read_s;           /* the I/O thread's time in reads */
	double wait_s;           /* compute threads' time waiting for a layer to arrive */
} sl_stream_stats;

/* 0, or -1 if p is not a streaming provider. */
int sl_stream_get_stats(const sl_provider *p, sl_stream_stats *st);

/* 1 if p is a streaming provider. */
int sl_is_stream(const sl_provider *p);

#endif
