/*
 * sl_web — the C API the page's Worker (web/worker.js) calls: lib/ for JavaScript.
 *
 * One model and one generation at a time (a Worker holds one).  Strings are UTF-8 and
 * NUL-terminated; buffers live in the wasm heap.  A function that fails returns -1 and
 * slw_error() says why, naming the chunk ("stories260K-00002-of-00003.gguf: layer 1:
 * XXH3-128 of the file is ..., the manifest says ... (corrupt)").
 *
 * The Worker's sequence:
 *
 *     slw_open(manifest, len, threads)      parse and check manifest.json
 *     p = slw_alloc(n); copy chunk bytes to p; slw_put(k, p, n)     any order, as they arrive;
 *                                            the core chunk (k = 0) first, before slw_begin
 *     slw_begin(prompt, n_predict, temp, top_k, top_p, seed)
 *     loop: r = slw_run()
 *         SLW_TOKEN  slw_text() is the new text (may be "" while a character is incomplete)
 *         SLW_WAIT   the chunk slw_wait_chunk() is needed: slw_put it, then slw_run again
 *         SLW_DONE   the generation ended (n_predict ids, end of text, or context full)
 *         SLW_ERROR  slw_error()
 *
 * Progressive loading: a prompt runs through layer L as soon as the chunk holding L has been
 * put; slw_run returns SLW_WAIT at the first layer whose chunk is missing, and continues from
 * that layer when called again.  A memory budget is the Worker's: it may slw_drop a layer
 * chunk it holds (the others keep their bytes), and put it again when slw_run asks for it.
 */
#ifndef SL_WEB_H
#define SL_WEB_H

#include <stddef.h>
#include <stdint.h>

enum { SLW_ERROR = -1, SLW_TOKEN = 0, SLW_WAIT = 1, SLW_DONE = 2 };

/* The last error, "" if none. */
const char *slw_error(void);

/* What this build is, as JSON: {"version","kernels","simd","threads_max"}. */
const char *slw_build_info(void);

/* Heap memory for a chunk's bytes (JS copies into it, then hands it to slw_put). */
void *slw_alloc(size_t n);
void slw_free(void *p);

/* Parse and check a manifest (sl-manifest(5)); name is for messages (its URL).  threads: the
 * pool size (1 in the one-thread build).  Closes any model open before.  Returns the number of
 * chunks, or -1. */
int slw_open(const char *manifest, size_t len, const char *name, int threads);

/* Chunk k as the manifest describes it: file name, layers [first, first + n), size in bytes. */
const char *slw_chunk_file(int k);
int slw_chunk_first_layer(int k);
int slw_chunk_n_layers(int k);
double slw_chunk_size(int k);

/*
 * Hand over chunk k's bytes (from slw_alloc; owned by sl_web from now on, freed on failure
 * too).  Checked before use: its size and XXH3-128 against the manifest, and its GGUF header
 * against the manifest's tensors.  Putting the core chunk (k = 0) makes the model and the
 * tokenizer.  0, or -1 (nothing kept).
 */
int slw_put(int k, void *buf, size_t n);

/* Free layer chunk k's bytes (a budget); 1 if it was held, 0 if not.  The core stays. */
int slw_drop(int k);

/* 1 if chunk k's bytes are held. */
int slw_has(int k);

/* Bytes held: chunks, and the session's state (KV cache, activations). */
double slw_bytes_held(void);

/* Tokenize and start a generation (the session is made anew: n_predict ids at most, the
 * context sized to prompt + n_predict).  temp 0: greedy.  top_k 0 / top_p 1: off.  0 or -1. */
int slw_begin(const char *prompt, int n_predict, float temp, int top_k, float top_p, double seed);

/* One step (see above): SLW_TOKEN, SLW_WAIT, SLW_DONE or SLW_ERROR. */
int slw_run(void);

/* After SLW_TOKEN: the id and the text it adds (valid until the next slw_run). */
int slw_token(void);
const char *slw_text(void);

/* After SLW_WAIT: the chunk needed. */
int slw_wait_chunk(void);

/* After SLW_DONE: the text still held back (an incomplete UTF-8 sequence at the end), "" mostly. */
const char *slw_tail(void);

/* Timings and counts of the generation, as JSON: {"prompt_ids","generated","prompt_s",
 * "first_s","gen_s","threads","kernels","state_bytes"}. */
const char *slw_stats(void);

/* Free everything (model, session, chunks). */
void slw_close(void);

#endif
