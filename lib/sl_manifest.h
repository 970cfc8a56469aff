/*
 * sl_manifest — a model cut into chunks by sl-chunk(1): DIR/manifest.json (sl-manifest(5))
 * and the chunk files it lists.
 *
 * A chunk is one GGUF file in llama.cpp's gguf-split layout (../shared/FORMATS.md): the core
 * chunk (shard 1) holds every metadata key, the tokenizer, token_embd, output_norm and output;
 * each layer chunk holds whole transformer blocks.  With zstd a chunk file is that GGUF file
 * compressed as one zstd frame (no longer a valid shard).  The manifest records, per chunk,
 * the sizes and XXH3-128 sums of the stored file and of the GGUF bytes, the layers and the
 * tensors it holds, and the source file's layout, so that sl_chunk_join() rebuilds the source
 * byte for byte.
 *
 * sl_manifest.c reads, validates and writes the JSON; sl_chunk.c plans, writes, verifies,
 * reads (decompressing into the caller's buffer) and joins the chunk files.
 */
#ifndef SL_MANIFEST_H
#define SL_MANIFEST_H

#include <stdint.h>
#include <stdio.h>

#include "sl_gguf.h"
#include "sl_types.h"

#define SL_MANIFEST_NAME "manifest.json"
#define SL_MANIFEST_FORMAT "sl-chunk"
#define SL_MANIFEST_VERSION 1

enum { SL_CODEC_NONE = 0, SL_CODEC_ZSTD = 1 };

typedef struct {
	uint8_t b[16];        /* XXH3-128 in canonical (big-endian) order, as xxh128sum prints it */
} sl_xxh128;

typedef struct {
	char *name;
	uint32_t type;        /* enum sl_type */
	uint32_t n_dims;
	uint64_t ne[SL_GGUF_MAX_DIMS];
	uint64_t offset;      /* file offset of its data in the (uncompressed) chunk */
	uint64_t nbytes;
	uint64_t src_index;   /* its place among the source file's tensor infos */
	uint64_t src_offset;  /* its offset in the source file's data section */
} sl_manifest_tensor;

typedef struct {
	char *file;           /* name in the directory */
	char *path;           /* dir/file, for opening and for messages */
	int first_layer;      /* the blocks it holds: [first_layer, first_layer + n_layers) */
	int n_layers;         /* 0: the core chunk */
	int codec, level;     /* SL_CODEC_*; the zstd level it was written with */
	uint64_t size;        /* bytes of the GGUF shard */
	uint64_t stored_size; /* bytes of the file (== size without a codec) */
	sl_xxh128 xxh3;       /* of the GGUF shard's bytes */
	sl_xxh128 stored_xxh3;/* of the file's bytes */
	sl_manifest_tensor *t;
	int n_t;
} sl_manifest_chunk;

typedef struct {
	char *path;           /* DIR/manifest.json */
	char *dir;
	int version;
	/* The model, for people and for planning memory (not needed to load it). */
	char *arch, *name;    /* name may be NULL */
	uint32_t n_layers, n_embd, n_ff, n_head, n_head_kv, n_vocab, n_ctx;
	uint64_t n_params;    /* weights, summed over tensors */
	uint64_t n_bytes;     /* tensor data bytes */
	uint64_t n_of_type[SL_TYPE_COUNT]; /* tensors of each type (model.types) */
	/* The source file, to rebuild it (sl_chunk_join). */
	char *src_file;
	uint64_t src_size;
	sl_xxh128 src_xxh3;
	uint32_t src_version, src_align;
	uint64_t src_n_kv, src_n_tensors, src_data_offset;
	sl_manifest_chunk *c; /* c[0] is the core chunk, then the layer chunks in layer order */
	int n_c;
} sl_manifest;

/* ==== the JSON file (sl_manifest.c) ==== */

/* 1 if path names a chunk directory (a directory holding manifest.json) or a file named
 * manifest.json; 0 otherwise.  Never fails: a path that cannot be examined is not one. */
int sl_manifest_is(const char *path);

/*
 * Read and validate DIR/manifest.json (path is DIR or the manifest itself): every field is
 * checked for presence, type and range, and the chunks against each other (layers cover
 * 0..n_layers-1 once, in order; tensor counts and offsets add up).  Chunk files are not
 * opened.  Returns 0, or -1 with sl_error "DIR/manifest.json: what is wrong" (m freed).
 */
int sl_manifest_read(sl_manifest *m, const char *path);
/* The same for a manifest's text in memory (a page fetched it); path is where it came from
 * (its URL: messages name it, and chunk paths are made beside it). */
int sl_manifest_parse(sl_manifest *m, const char *text, size_t len, const char *path);
/* Write m as JSON to f.  Returns 0, or -1 with sl_error. */
int sl_manifest_write(const sl_manifest *m, FILE *f);
void sl_manifest_free(sl_manifest *m);

/* "core", "layer 3" or "layers 0-4", in buf; returns buf. */
const char *sl_manifest_what(const sl_manifest_chunk *c, char *buf, size_t n);

/* Hex form (32 lowercase digits + NUL) of a sum, and back (0, or -1 if malformed). */
void sl_xxh128_hex(const sl_xxh128 *h, char out[33]);
int sl_xxh128_parse(const char *hex, sl_xxh128 *h);

/* ==== the chunk files (sl_chunk.c) ==== */

/* XXH3-128 of n bytes. */
void sl_xxh128_of(const void *p, uint64_t n, sl_xxh128 *h);

/*
 * Plan the chunks of the source GGUF src (opened by the caller, kept open until the chunks
 * are written): the core chunk, then layer chunks of layers_per_chunk blocks each, or, with
 * layers_per_chunk 0, as many whole blocks as fit max_size bytes (at least one).  file_stem
 * names the chunks (STEM-0000N-of-0000M.gguf, + ".zst" with zstd).  Refuses a source that is
 * already a split shard, has no blocks, or is not in the packed layout that could be rebuilt
 * byte for byte.  Fills m (sizes and sums are filled by sl_chunk_write).  Returns 0, or -1
 * with sl_error naming src_path.
 */
int sl_chunk_plan(sl_manifest *m, const sl_gguf *src, const char *src_path, const char *file_stem,
		  int layers_per_chunk, uint64_t max_size, int codec, int level);

/* Write chunk i of m from src into f (a new file), compressed if the chunk says so, and set
 * the chunk's sizes and sums.  Returns 0, or -1 with sl_error. */
int sl_chunk_write(sl_manifest *m, int i, const sl_gguf *src, FILE *f);

/*
 * Check chunk i on disk: its stored size and sum, and with a codec the size and sum of what it
 * decompresses to; an uncompressed chunk is also parsed as GGUF and its tensors compared with
 * the manifest.  Reads the file once, in a stream.  Returns 0, or -1 with sl_error
 * "DIR/FILE: layers 0-4: what is wrong".
 */
int sl_chunk_verify(const sl_manifest *m, int i);

/*
 * Read chunk i into buf (c->size bytes, the caller's), decompressing zstd in a stream straight
 * into it, and check both sums.  Returns 0, or -1 with sl_error as sl_chunk_verify.
 */
int sl_chunk_read(const sl_manifest *m, int i, void *buf);

/* Check that chunk i's GGUF bytes are n bytes long.  Returns 0, or -1 with sl_error. */
int sl_chunk_check_size(const sl_manifest *m, int i, uint64_t n);

/* Check n bytes in memory (chunk i's GGUF bytes) against the chunk's size and sum.  Returns 0,
 * or -1 with sl_error as sl_chunk_verify. */
int sl_chunk_check_sum(const sl_manifest *m, int i, const void *data, uint64_t n);

/* Check that a parsed chunk holds what the manifest says (split keys, tensor names, types,
 * shapes and offsets).  Returns 0, or -1 with sl_error naming the chunk. */
int sl_chunk_check(const sl_manifest *m, int i, const sl_gguf *g);

/*
 * Open the core chunk of the chunk directory at path (DIR or DIR/manifest.json) as a GGUF,
 * checked against its sum: mapped when uncompressed, else decompressed into memory that *buf
 * then owns (the caller frees it after sl_gguf_close(g)).  For tools that need only the
 * metadata and tokenizer.  Returns 0, or -1 with sl_error.
 */
int sl_chunk_open_core(const char *path, sl_gguf *g, void **buf);

/* Write the source file rebuilt from the chunks to f (a new file), and check its size and sum
 * against the manifest's.  Returns 0, or -1 with sl_error. */
int sl_chunk_join(const sl_manifest *m, FILE *f);

#endif
