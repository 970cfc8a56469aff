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

#endif
