/*
 * test_chunk — sl_manifest.h: sums, the manifest written and read back, chunks planned,
 * written, verified, read and joined (a tiny GGUF built with the writer, in a temp directory).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sl_err.h"
#include "sl_gguf.h"
#include "sl_manifest.h"
#include "sl_types.h"

/* A 3-block "llama" GGUF in memory: token_embd, blk.N.{attn_norm,ffn_up}, output_norm. */
static char *tiny_gguf(size_t *len)
{
	sl_gguf_writer *w = sl_gguf_writer_new();
	uint64_t emb[2] = { 32, 8 }, vec[1] = { 32 }, up[2] = { 32, 64 };
	char *buf = NULL, name[32];
	FILE *f = open_memstream(&buf, len);
	int ok = w && f;

	ok = ok && !sl_gguf_add_str(w, "general.architecture", "llama") &&
	     !sl_gguf_add_u32(w, "llama.block_count", 3) && !sl_gguf_add_u32(w, "llama.embedding_length", 32) &&
	     sl_gguf_add_tensor(w, "token_embd.weight", 2, emb, SL_F32) >= 0;
	for (int l = 0; ok && l < 3; l++) {
		snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
		ok = sl_gguf_add_tensor(w, name, 1, vec, SL_F32) >= 0;
		snprintf(name, sizeof name, "blk.%d.ffn_up.weight", l);
		ok = ok && sl_gguf_add_tensor(w, name, 2, up, SL_Q8_0) >= 0;
	}
	ok = ok && sl_gguf_add_tensor(w, "output_norm.weight", 1, vec, SL_F32) >= 0 &&
	     !sl_gguf_write_header(w, f);
	for (int i = 0; ok && i < 8; i++) {
		uint64_t n = sl_gguf_tensor_nbytes(w, i);
		uint8_t *d = malloc(n);
		for (uint64_t j = 0; d && j < n; j++)
			d[j] = (uint8_t)(j * 7 + i); /* any bytes: nothing here decodes them */
		if (i == 2 || i == 4 || i == 6) /* q8_0 scales: keep them finite f16s */
			for (uint64_t j = 0; d && j < n; j += 34)
				d[j + 1] = 0x3c;
		ok = d && !sl_gguf_write_data(w, f, d, n);
		free(d);
	}
	ok = ok && !sl_gguf_write_finish(w, f);
	sl_gguf_writer_free(w);
	fclose(f);
	if (!ok) {
		fprintf(stderr, "tiny_gguf: %s\n", sl_error());
		free(buf);
		return NULL;
	}
	return buf;
}

static void roundtrip(const char *root, const char *src_path, int codec)
{
	sl_gguf src;
	sl_manifest m, r;
	char dir[512], path[600], joined[600];
	FILE *f;

	CHECK(sl_gguf_open(&src, src_path) == 0);
	snprintf(dir, sizeof dir, "%s/%s", root, codec ? "z" : "plain");
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(sl_chunk_plan(&m, &src, src_path, "t", 2, 0, codec, 5) == 0);
	CHECK(m.n_c == 3 && m.n_layers == 3);
	CHECK(m.c[0].n_layers == 0 && m.c[0].n_t == 2);
	CHECK(m.c[1].first_layer == 0 && m.c[1].n_layers == 2 && m.c[1].n_t == 4);
	CHECK(m.c[2].first_layer == 2 && m.c[2].n_layers == 1 && m.c[2].n_t == 2);
	CHECK(strcmp(m.c[2].file, codec ? "t-00003-of-00003.gguf.zst" : "t-00003-of-00003.gguf") == 0);
	for (int i = 0; i < m.n_c; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, m.c[i].file);
		f = fopen(path, "wb");
		CHECK(f && sl_chunk_write(&m, i, &src, f) == 0);
		fclose(f);
		CHECK(codec ? m.c[i].stored_size != m.c[i].size : m.c[i].stored_size == m.c[i].size);
	}
	snprintf(path, sizeof path, "%s/manifest.json", dir);
	f = fopen(path, "w");
	CHECK(f && sl_manifest_write(&m, f) == 0);
	fclose(f);
	CHECK(sl_manifest_is(dir) && sl_manifest_is(path) && !sl_manifest_is(src_path));

	/* Read back: every field as written. */
	CHECK_MSG(sl_manifest_read(&r, dir) == 0, "%s", sl_error());
	CHECK(r.n_c == m.n_c && r.src_size == src.size && r.src_n_tensors == 8 && r.src_n_kv == 3);
	CHECK(memcmp(&r.src_xxh3, &m.src_xxh3, sizeof r.src_xxh3) == 0);
	for (int i = 0; i < r.n_c && i < m.n_c; i++) {
		CHECK(r.c[i].size == m.c[i].size && r.c[i].stored_size == m.c[i].stored_size);
		CHECK(memcmp(&r.c[i].xxh3, &m.c[i].xxh3, 16) == 0 && r.c[i].codec == codec);
		CHECK(r.c[i].n_t == m.c[i].n_t);
		for (int j = 0; j < r.c[i].n_t && j < m.c[i].n_t; j++)
			CHECK(strcmp(r.c[i].t[j].name, m.c[i].t[j].name) == 0 &&
			      r.c[i].t[j].offset == m.c[i].t[j].offset && r.c[i].t[j].type == m.c[i].t[j].type &&
			      r.c[i].t[j].src_index == m.c[i].t[j].src_index);
		CHECK_MSG(sl_chunk_verify(&r, i) == 0, "%s", sl_error());
		uint8_t *buf = malloc(r.c[i].size);
		CHECK(buf && sl_chunk_read(&r, i, buf) == 0);
		CHECK(buf && sl_chunk_check_sum(&r, i, buf, r.c[i].size) == 0);
		free(buf);
	}
	snprintf(joined, sizeof joined, "%s/joined.gguf", dir);
	f = fopen(joined, "w+b");
	CHECK_MSG(f && sl_chunk_join(&r, f) == 0, "%s", sl_error());
	if (f) {
		long n = (fseek(f, 0, SEEK_END), ftell(f));
		char *b = malloc((size_t)n);
		rewind(f);
		CHECK(n == (long)src.size && b && fread(b, 1, (size_t)n, f) == (size_t)n &&
		      memcmp(b, src.base, (size_t)n) == 0);
		free(b);
		fclose(f);
	}
	/* A chunk cut short is named with its layers. */
	snprintf(path, sizeof path, "%s/%s", dir, r.c[2].file);
	CHECK(truncate(path, (off_t)r.c[2].stored_size - 1) == 0);
	CHECK(sl_chunk_verify(&r, 2) == -1);
	CHECK_MSG(strstr(sl_error(), ": layer 2: ") && strstr(sl_error(), "(truncated)"), "%s", sl_error());
	sl_manifest_free(&r);
	sl_manifest_free(&m);
	sl_gguf_close(&src);
}

int main(void)
{
	sl_xxh128 h, p;
	char hex[33], root[] = "/tmp/test_chunk.XXXXXX", src_path[64], cmd[128];
	size_t len;
	char *g = tiny_gguf(&len);
	FILE *f;

	/* XXH3-128 of no bytes, as xxh128sum prints it (xxHash's own test vector). */
	sl_xxh128_of("", 0, &h);
	sl_xxh128_hex(&h, hex);
	CHECK_MSG(strcmp(hex, "99aa06d3014798d86001c324468d497f") == 0, "%s", hex);
	CHECK(sl_xxh128_parse(hex, &p) == 0 && memcmp(&p, &h, sizeof p) == 0);
	CHECK(sl_xxh128_parse("99AA06D3014798D86001C324468D497F", &p) == -1);
	CHECK(sl_xxh128_parse("99aa", &p) == -1);

	CHECK(g != NULL && mkdtemp(root) != NULL);
	snprintf(src_path, sizeof src_path, "%s/t.gguf", root);
	f = fopen(src_path, "wb");
	CHECK(f && g && fwrite(g, 1, len, f) == len);
	fclose(f);
	free(g);
	roundtrip(root, src_path, SL_CODEC_NONE);
	roundtrip(root, src_path, SL_CODEC_ZSTD);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
	return CHECK_DONE();
}
