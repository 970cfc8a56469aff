/*
 * sl_provider — where a model's weights come from.
 *
 * A model is a set of GGUF shards (one file, llama.cpp split files, the chunks of a chunk
 * directory, or buffers a browser fetched).  The shards' headers (keys and tensor infos) are
 * always parsed; the weights are reached only through the provider, so that a model need not
 * be in memory all at once:
 *
 *   pin(shard, tensor)   a tensor the model keeps for its whole life (token embedding, head,
 *                        norms): a pointer valid until the provider is freed;
 *   acquire(layer)       the layer's matrices, readable until release(layer): sl_forward
 *                        acquires each layer just before its block and releases it after;
 *   release(layer).
 *
 * The backends here keep every shard resident, so acquire only hands out pointers fixed at
 * open: a mapped file (2 MiB pages, faulted in at open: sl_map_prefault), a file read into
 * memory, or memory buffers the caller owns.  Backends that hold only part of a model (a
 * memory budget streaming layers in order, chunks loaded and checked on first use) implement
 * the same four functions.
 */
#ifndef SL_PROVIDER_H
#define SL_PROVIDER_H

#include <stdint.h>

#include "sl_gguf.h"

typedef struct sl_layer sl_layer;   /* sl_model.h */
typedef struct sl_provider sl_provider;

struct sl_provider {
	const char *kind;        /* "mapped", "read", "memory", ... for -v and --stats */
	char *name;              /* for messages: the path or the name the caller gave */
	int n_shards;
	sl_gguf *shards;         /* parsed headers; shards[0] holds the model's keys */
	/* What is held, for -v and --stats: bytes of the shards, bytes resident (mapped or
	 * copied), and of those in 2 MiB pages (mapped backend, after prefault). */
	uint64_t file_bytes, resident_bytes, huge_bytes;

	const void *(*pin)(sl_provider *p, int shard, const sl_gguf_tensor *t);
	/*
	 * Make layer l's matrices readable and return its view: `tmpl` (the model's layer,
	 * types, shapes and where each matrix lives) with every mat[i].data set.  NULL with
	 * sl_error if the weights cannot be had (a read failed, a chunk is corrupt).
	 */
	const sl_layer *(*acquire)(sl_provider *p, const sl_layer *tmpl, int l);
	void (*release)(sl_provider *p, int l);
	void (*free)(sl_provider *p);
};

/* A GGUF file mapped (default) or, with read = 1, read into anonymous memory (--no-mmap).
 * NULL with sl_error "path: ...". */
sl_provider *sl_provider_file(const char *path, int read);

/* Several files, shard 0 first (llama.cpp split files, chunks): each mapped or read. */
sl_provider *sl_provider_files(const char *const *paths, int n, int read);

/* GGUF shards in memory, bufs[i] of sizes[i] bytes, shard 0 first: not copied, and must
 * outlive the provider (what a browser has; what tests build without a file).  name is for
 * messages. */
sl_provider *sl_provider_memory(const void *const *bufs, const uint64_t *sizes, int n,
				const char *name);

void sl_provider_free(sl_provider *p);

/* "N MiB mapped, M MiB in 2 MiB pages", "N MiB read", ... (for -v and --stats).  Returns buf. */
const char *sl_provider_describe(const sl_provider *p, char *buf, size_t n);

/* The shard that holds tensor `name` and the tensor, or -1 if no shard has it. */
int sl_provider_find(const sl_provider *p, const char *name, const sl_gguf_tensor **t);

#endif
