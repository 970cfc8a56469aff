/*
 * sl_provider_chunk — providers (sl_provider.h) for a model in several files: a chunk
 * directory of sl-chunk(1), and llama.cpp's split files (model-00001-of-00003.gguf).
 *
 * The chunked backend maps each uncompressed chunk as a shard and checks its XXH3-128 sum
 * against the manifest the first time its bytes are used: the core chunk at open, a layer
 * chunk at the first acquire of one of its layers.  A compressed chunk (or, with read = 1,
 * any chunk) is read and decompressed into memory the first time a tensor of it is needed,
 * and checked on the way (sl_chunk_read); the model pins every layer's norms at open, so in
 * practice that happens at open.  A corrupt chunk fails the open or the forward pass with
 * "DIR/FILE: layers 2-3: XXH3-128 of the file is ..., the manifest says ... (corrupt)": never
 * a wrong result.
 */
#ifndef SL_PROVIDER_CHUNK_H
#define SL_PROVIDER_CHUNK_H

#include <stddef.h>

#include "sl_manifest.h"
#include "sl_provider.h"

/* The chunk directory at path (DIR or DIR/manifest.json).  NULL with sl_error. */
sl_provider *sl_provider_chunks(const char *path, int read);

/* llama.cpp split files, from the path of any of them (PREFIX-0000K-of-0000N.gguf): all N
 * opened, each checked to carry split.no K-1, split.count N, and the tensors to add up to
 * split.tensors.count.  NULL with sl_error. */
sl_provider *sl_provider_split(const char *path, int read);

/* Whatever path names: a chunk directory, split files, or one GGUF file (sl_provider_file). */
sl_provider *sl_provider_open(const char *path, int read);

/* The same for a memory budget (sl_provider_stream_files, sl_stream.h): a chunk directory's
 * chunks are all checked against the manifest first (they are then read again by offset,
 * so they must be uncompressed). */
sl_provider *sl_provider_open_stream(const char *path);

/*
 * A chunked model whose chunks are handed over in memory as they arrive, in any order (what
 * a page fetching them has).  The manifest's text is parsed and checked (path: its URL, for
 * messages); layer chunks get headers made from it, so sl_model_new() can run once the core
 * chunk (0) is put.  put hands over chunk k's bytes, with the function that frees them
 * (called at once on failure): checked before use, its size and XXH3-128 and its GGUF header
 * against the manifest.  drop frees a layer chunk's bytes (a budget); the core stays.
 * Acquiring a layer whose chunk is not held fails with code SL_E_PENDING (sl_err.h), "URL:
 * layer 3: not here yet"; a layer chunk's pinned tensors (its norms) are copies, filled when
 * it is put, so pins never point into bytes that can be dropped.
 */
sl_provider *sl_provider_given(const char *manifest, size_t len, const char *path);
int sl_provider_given_put(sl_provider *p, int k, void *buf, uint64_t n, void (*free_fn)(void *));
int sl_provider_given_drop(sl_provider *p, int k);     /* 1 if it was held */
int sl_provider_given_has(const sl_provider *p, int k);
const sl_manifest *sl_provider_given_manifest(const sl_provider *p);

#endif
