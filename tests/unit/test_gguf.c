/*
 * test_gguf — the GGUF writer (lib/sl_gguf_write.c) against the reader (lib/sl_gguf.c),
 * through the sl_gguf.h API only.
 *
 *   1. Write every metadata type, arrays (numbers, strings, empty), tensors of several types,
 *      read them back and compare values, shapes, offsets and bytes.
 *   2. The layout llama.cpp requires: data packed in tensor-info order, each tensor padded
 *      to the alignment (32 by default, general.alignment when set), zero padding.
 *      Expected header bytes are counted by hand from FORMATS.md.
 *   3. The writer refuses bad keys, duplicates, ragged rows, long names, short or long data.
 *   4. The reader rejects corrupted variants of a good file.
 * Files go through TMPDIR and sl_gguf_open, the path the tools use; test_parse_memory checks
 * sl_gguf_parse over bytes already in memory (what a chunk loader or the browser has).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "check.h"
#include "sl_err.h"
#include "sl_gguf.h"
#include "sl_types.h"

/* Finish a writer into a malloc'ed buffer. */
static uint8_t *write_mem(sl_gguf_writer *w, const void *const *data, int n, size_t *size)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, size);
	int ok = f != NULL;

	ok = ok && sl_gguf_write_header(w, f) == 0;
	for (int i = 0; ok && i < n; i++)
		ok = sl_gguf_write_data(w, f, data[i], sl_gguf_tensor_nbytes(w, i)) == 0;
	ok = ok && sl_gguf_write_finish(w, f) == 0;
	if (f)
		fclose(f);
	CHECK_MSG(ok, "write failed: %s", sl_error());
	return (uint8_t *)buf;
}

/*
 * Parse bytes through a file, the way every tool opens models (sl_gguf_open): the file is
 * TMPDIR/NAME.  Returns sl_gguf_open's result.
 */
static char dir[256];

static int open_bytes(sl_gguf *g, const uint8_t *buf, size_t size, const char *name)
{
	char path[512];
	FILE *f;

	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/test_gguf.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(dir))
			return -1;
	}
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, size, f) != size || fclose(f) != 0)
		return -1;
	{
		int rc = sl_gguf_open(g, path);
		remove(path);
		return rc;
	}
}

/* ==== round trip ==== */

static float t0[64];               /* F32 [64] */
static sl_f16 t1[32 * 3];          /* F16 [32, 3] */
static sl_block_q8_0 t2[2 * 2];    /* Q8_0 [64, 2] */
static sl_block_q4_K t3[1];        /* Q4_K [256] */

static sl_gguf_writer *good_writer(uint32_t align)
{
	sl_gguf_writer *w = sl_gguf_writer_new();
	uint8_t u8 = 200, b = 1;
	int8_t i8 = -100;
	uint16_t u16 = 60000;
	int16_t i16 = -30000;
	int64_t i64 = -5000000000LL;
	double f64 = 3.141592653589793;
	int32_t ia[3] = {1, -2, 3};
	float fa[2] = {0.5f, -1.25f};
	const char *sa[3] = {"a", "", "h\xc3\xa9llo"};
	const char *sl[2] = {"xyz", "ab"};
	uint64_t lens[2] = {2, 1};
	uint64_t ne0[1] = {64}, ne1[2] = {32, 3}, ne2[2] = {64, 2}, ne3[1] = {256};

	CHECK(w != NULL);
	if (align)
		CHECK(sl_gguf_add_u32(w, "general.alignment", align) == 0);
	CHECK(sl_gguf_add_str(w, "general.architecture", "llama") == 0);
	CHECK(sl_gguf_add_scalar(w, "t.u8", SL_GGUF_U8, &u8) == 0);
	CHECK(sl_gguf_add_scalar(w, "t.i8", SL_GGUF_I8, &i8) == 0);
	CHECK(sl_gguf_add_scalar(w, "t.u16", SL_GGUF_U16, &u16) == 0);
	CHECK(sl_gguf_add_scalar(w, "t.i16", SL_GGUF_I16, &i16) == 0);
	CHECK(sl_gguf_add_u32(w, "t.u32", 4000000000u) == 0);
	CHECK(sl_gguf_add_i32(w, "t.i32", -2000000000) == 0);
	CHECK(sl_gguf_add_f32(w, "t.f32", 1e-5f) == 0);
	CHECK(sl_gguf_add_bool(w, "t.bool", 1) == 0);
	CHECK(sl_gguf_add_scalar(w, "t.bool2", SL_GGUF_BOOL, &b) == 0);
	CHECK(sl_gguf_add_u64(w, "t.u64", 0x123456789abcdef0ull) == 0);
	CHECK(sl_gguf_add_scalar(w, "t.i64", SL_GGUF_I64, &i64) == 0);
	CHECK(sl_gguf_add_scalar(w, "t.f64", SL_GGUF_F64, &f64) == 0);
	CHECK(sl_gguf_add_arr(w, "t.arr_i32", SL_GGUF_I32, 3, ia) == 0);
	CHECK(sl_gguf_add_arr(w, "t.arr_f32", SL_GGUF_F32, 2, fa) == 0);
	CHECK(sl_gguf_add_arr(w, "t.arr_empty", SL_GGUF_U8, 0, NULL) == 0);
	CHECK(sl_gguf_add_arr_str(w, "t.arr_str", 3, sa, NULL) == 0);
	CHECK(sl_gguf_add_arr_str(w, "t.arr_strlen", 2, sl, lens) == 0);
	CHECK(sl_gguf_add_tensor(w, "v.f32", 1, ne0, SL_F32) == 0);
	CHECK(sl_gguf_add_tensor(w, "m.f16", 2, ne1, SL_F16) == 1);
	CHECK(sl_gguf_add_tensor(w, "m.q8_0", 2, ne2, SL_Q8_0) == 2);
	CHECK(sl_gguf_add_tensor(w, "v.q4_k", 1, ne3, SL_Q4_K) == 3);
	CHECK(sl_gguf_tensor_nbytes(w, 0) == 256 && sl_gguf_tensor_nbytes(w, 1) == 192);
	CHECK(sl_gguf_tensor_nbytes(w, 2) == 136 && sl_gguf_tensor_nbytes(w, 3) == 144);
	return w;
}

static void test_round_trip(uint32_t align)
{
	const void *data[4] = {t0, t1, t2, t3};
	sl_gguf_writer *w;
	uint8_t *buf;
	size_t size;
	sl_gguf g;
	const sl_gguf_kv *kv;
	uint32_t u32;
	uint64_t u64;
	float f;
	int b;
	char *s = NULL;
	uint32_t A = align ? align : 32;

	for (int i = 0; i < 64; i++)
		t0[i] = (float)i - 31.5f;
	for (int i = 0; i < 96; i++)
		t1[i] = sl_f32_to_f16((float)i);
	memset(t2, 0x5A, sizeof t2);
	memset(t3, 0xA5, sizeof t3);

	w = good_writer(align);
	buf = write_mem(w, data, 4, &size);
	sl_gguf_writer_free(w);
	if (!buf)
		return;
	CHECK(open_bytes(&g, buf, size, "rt.gguf") == 0);
	CHECK_MSG(1, "%s", sl_error());
	CHECK(g.version == 3 && g.alignment == A);
	CHECK(g.n_kv == 18u + (align != 0) && g.n_tensors == 4);

	CHECK(sl_gguf_get_str(&g, "general.architecture", &s) == 1 && s && !strcmp(s, "llama"));
	free(s);
	kv = sl_gguf_find(&g, "t.u8");
	CHECK(kv && kv->type == SL_GGUF_U8 && kv->u == 200);
	kv = sl_gguf_find(&g, "t.i8");
	CHECK(kv && kv->type == SL_GGUF_I8 && kv->i == -100);
	kv = sl_gguf_find(&g, "t.u16");
	CHECK(kv && kv->type == SL_GGUF_U16 && kv->u == 60000);
	kv = sl_gguf_find(&g, "t.i16");
	CHECK(kv && kv->type == SL_GGUF_I16 && kv->i == -30000);
	CHECK(sl_gguf_get_u32(&g, "t.u32", &u32) == 1 && u32 == 4000000000u);
	kv = sl_gguf_find(&g, "t.i32");
	CHECK(kv && kv->type == SL_GGUF_I32 && kv->i == -2000000000);
	CHECK(sl_gguf_get_f32(&g, "t.f32", &f) == 1 && f == 1e-5f);
	CHECK(sl_gguf_get_bool(&g, "t.bool", &b) == 1 && b == 1);
	CHECK(sl_gguf_get_u64(&g, "t.u64", &u64) == 1 && u64 == 0x123456789abcdef0ull);
	kv = sl_gguf_find(&g, "t.i64");
	CHECK(kv && kv->type == SL_GGUF_I64 && kv->i == -5000000000LL);
	kv = sl_gguf_find(&g, "t.f64");
	CHECK(kv && kv->type == SL_GGUF_F64 && kv->f == 3.141592653589793);
	kv = sl_gguf_find(&g, "t.arr_i32");
	CHECK(kv && kv->type == SL_GGUF_ARRAY && kv->arr_type == SL_GGUF_I32 && kv->arr_n == 3);
	if (kv)
		CHECK(kv->arr_data[4] == 0xFE && kv->arr_data[5] == 0xFF && kv->arr_data[8] == 3);
	kv = sl_gguf_find(&g, "t.arr_f32");
	if (kv) {
		float v[2];
		memcpy(v, kv->arr_data, 8);
		CHECK(kv->arr_n == 2 && v[0] == 0.5f && v[1] == -1.25f);
	}
	kv = sl_gguf_find(&g, "t.arr_empty");
	CHECK(kv && kv->arr_type == SL_GGUF_U8 && kv->arr_n == 0);
	kv = sl_gguf_find(&g, "t.arr_str");
	CHECK(kv && kv->arr_type == SL_GGUF_STRING && kv->arr_n == 3);
	if (kv && kv->strs) {
		CHECK(kv->strs[0].len == 1 && kv->strs[0].ptr[0] == 'a');
		CHECK(kv->strs[1].len == 0);
		CHECK(kv->strs[2].len == 6 && !memcmp(kv->strs[2].ptr, "h\xc3\xa9llo", 6));
	}
	kv = sl_gguf_find(&g, "t.arr_strlen");
	if (kv && kv->strs)
		CHECK(kv->strs[0].len == 2 && !memcmp(kv->strs[0].ptr, "xy", 2) && kv->strs[1].len == 1 &&
		      kv->strs[1].ptr[0] == 'a');

	/* Packed in order, each rounded up to the alignment. */
	{
		static const uint64_t nb[4] = {256, 192, 136, 144};
		uint64_t off = 0;
		for (int i = 0; i < 4; i++) {
			const sl_gguf_tensor *t = &g.tensors[i];
			CHECK_MSG(t->offset == off, "tensor %d at %llu, want %llu", i, (unsigned long long)t->offset,
				  (unsigned long long)off);
			CHECK(t->nbytes == nb[i]);
			CHECK(memcmp(t->data, data[i], nb[i]) == 0);
			off += (nb[i] + A - 1) / A * A;
		}
		CHECK(g.data_offset % A == 0);
		CHECK_MSG(size == g.data_offset + off, "file %zu bytes, want %llu", size,
			  (unsigned long long)(g.data_offset + off));
		/* padding is zeros */
		for (uint64_t p = g.data_offset + 256; p < g.data_offset + ((256 + A - 1) / A * A); p++)
			CHECK(buf[p] == 0);
	}
	{
		const sl_gguf_tensor *t = sl_gguf_tensor_find(&g, "m.q8_0");
		CHECK(t && t->type == SL_Q8_0 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 2 && t->ne[2] == 1);
	}
	sl_gguf_close(&g);
	free(buf);
}

/* The header bytes of a minimal file, counted by hand from FORMATS.md. */
static void test_exact_bytes(void)
{
	sl_gguf_writer *w = sl_gguf_writer_new();
	uint64_t ne[1] = {2};
	float v[2] = {1.0f, 2.0f};
	const void *data[1] = {v};
	size_t size;
	uint8_t *buf;
	static const uint8_t head[] = {
		'G', 'G', 'U', 'F', 3, 0, 0, 0,          /* magic, version 3 */
		1, 0, 0, 0, 0, 0, 0, 0,                  /* 1 tensor */
		1, 0, 0, 0, 0, 0, 0, 0,                  /* 1 kv */
		3, 0, 0, 0, 0, 0, 0, 0, 'a', '.', 'b',   /* key "a.b" */
		4, 0, 0, 0, 7, 0, 0, 0,                  /* u32 7 */
		1, 0, 0, 0, 0, 0, 0, 0, 'x',             /* tensor "x" */
		1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,      /* 1 dim: 2 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,      /* F32, offset 0 */
	};                                           /* 76 bytes, padded to 96 */

	CHECK(sl_gguf_add_u32(w, "a.b", 7) == 0);
	CHECK(sl_gguf_add_tensor(w, "x", 1, ne, SL_F32) == 0);
	buf = write_mem(w, data, 1, &size);
	sl_gguf_writer_free(w);
	CHECK(sizeof head == 76);
	CHECK_MSG(size == 96 + 32, "size %zu", size);
	if (buf && size >= 128) {
		CHECK(memcmp(buf, head, sizeof head) == 0);
		for (int i = 76; i < 96; i++)
			CHECK(buf[i] == 0);
		CHECK(memcmp(buf + 96, v, 8) == 0);
		for (int i = 104; i < 128; i++)
			CHECK(buf[i] == 0);
	}
	free(buf);
}

/* ==== writer errors ==== */

static void test_writer_errors(void)
{
	sl_gguf_writer *w = sl_gguf_writer_new();
	uint64_t ne[2] = {33, 2}, ok[2] = {32, 1}, ne5[5] = {1, 1, 1, 1, 1};
	uint8_t two = 2;
	char long_name[80];
	FILE *f;
	char *buf = NULL;
	size_t size;
	float x[64] = {0};

	CHECK(sl_gguf_add_u32(w, "", 1) == -1);
	CHECK(sl_gguf_add_u32(w, "Bad.Key", 1) == -1);
	CHECK(strstr(sl_error(), "bad key") != NULL);
	CHECK(sl_gguf_add_u32(w, "a..b", 1) == -1);
	CHECK(sl_gguf_add_u32(w, "a.b.", 1) == -1);
	CHECK(sl_gguf_add_u32(w, "a.b", 1) == 0);
	CHECK(sl_gguf_add_u32(w, "a.b", 2) == -1);
	CHECK(strstr(sl_error(), "twice") != NULL);
	CHECK(sl_gguf_add_scalar(w, "a.bool", SL_GGUF_BOOL, &two) == -1);
	CHECK(sl_gguf_add_scalar(w, "a.str", SL_GGUF_STRING, "x") == -1);
	CHECK(sl_gguf_add_u32(w, "general.alignment", 24) == -1);
	CHECK(sl_gguf_add_tensor(w, "q", 2, ne, SL_Q8_0) == -1);
	CHECK(strstr(sl_error(), "q") != NULL);
	memset(long_name, 'n', sizeof long_name);
	long_name[64] = 0;
	CHECK(sl_gguf_add_tensor(w, long_name, 2, ok, SL_F32) == -1);
	long_name[63] = 0;
	CHECK(sl_gguf_add_tensor(w, long_name, 2, ok, SL_F32) == 0);
	CHECK(sl_gguf_add_tensor(w, long_name, 2, ok, SL_F32) == -1);
	CHECK(sl_gguf_add_tensor(w, "five", 5, ne5, SL_F32) == -1);
	CHECK(sl_gguf_add_tensor(w, "bad_type", 2, ok, 99) == -1);
	CHECK(sl_gguf_add_tensor(w, "t2", 2, ok, SL_F16) == 1);

	f = open_memstream(&buf, &size);
	CHECK(sl_gguf_write_data(w, f, x, 4) == -1);            /* before the header */
	CHECK(sl_gguf_write_header(w, f) == 0);
	CHECK(sl_gguf_add_u32(w, "late.key", 1) == -1);
	CHECK(sl_gguf_write_data(w, f, x, 129) == -1);          /* more than tensor 0 holds */
	CHECK(sl_gguf_write_data(w, f, x, 100) == 0);
	CHECK(sl_gguf_write_data(w, f, x, 28) == 0);            /* tensor 0 done in two calls */
	CHECK(sl_gguf_write_data(w, f, x, 10) == 0);
	CHECK(sl_gguf_write_finish(w, f) == -1);                /* tensor 1 is short */
	CHECK(strstr(sl_error(), "t2") != NULL);
	CHECK(sl_gguf_write_data(w, f, x, 54) == 0);
	CHECK(sl_gguf_write_data(w, f, x, 1) == -1);            /* nothing left */
	CHECK(sl_gguf_write_finish(w, f) == 0);
	fclose(f);
	free(buf);
	sl_gguf_writer_free(w);
}

/* ==== reader rejects corrupt files ==== */

static int parse_fails(const uint8_t *buf, size_t size, const char *what)
{
	sl_gguf g;
	int rc;

	rc = open_bytes(&g, buf, size, "bad.gguf");

	CHECK_MSG(rc == -1, "corrupt file accepted: %s", what);
	if (rc == -1)
		CHECK_MSG(strstr(sl_error(), "bad.gguf") != NULL, "%s: message without the file name: %s", what, sl_error());
	sl_gguf_close(&g);
	return rc == -1;
}

static void test_reader_rejects(void)
{
	sl_gguf_writer *w = sl_gguf_writer_new();
	uint64_t ne[2] = {32, 2};
	float v[64] = {0};
	const void *data[1] = {v};
	size_t size, tinfo;
	uint8_t *buf, *c;
	sl_gguf g;

	CHECK(sl_gguf_add_str(w, "general.architecture", "llama") == 0);
	CHECK(sl_gguf_add_bool(w, "a.flag", 1) == 0);
	CHECK(sl_gguf_add_tensor(w, "w", 2, ne, SL_F32) == 0);
	buf = write_mem(w, data, 1, &size);
	sl_gguf_writer_free(w);
	if (!buf)
		return;
	CHECK(open_bytes(&g, buf, size, "good.gguf") == 0);
	sl_gguf_close(&g);
	c = malloc(size);
	/* Byte map: 24 header; kv1: 8+20 key, 4 type, 8+5 "llama" = 45; kv2: 8+6, 4, 1 = 19;
	 * tensor info at 88: 8+1 name, 4 n_dims at 97, dims at 101, type at 117, offset at 121. */
	tinfo = 24 + 45 + 19;
	CHECK(buf[tinfo] == 1 && buf[tinfo + 8] == 'w');

#define MUTATE(stmt, what) do { memcpy(c, buf, size); stmt; parse_fails(c, size, what); } while (0)
	MUTATE(c[0] = 'X', "bad magic");
	MUTATE(c[4] = 4, "version 4");
	MUTATE(c[8] = 2, "2 tensors declared, 1 present");
	MUTATE(c[16] = 0xFF; c[17] = 0xFF; c[18] = 0xFF, "huge kv count");
	MUTATE(c[24] = 0xFF; c[29] = 0x7F, "key length past the end");
	MUTATE(c[24 + 28] = 13, "unknown value type");
	MUTATE(c[24 + 45 + 18] = 2, "bool value 2");
	MUTATE(c[tinfo + 9] = 5, "5 dimensions");
	MUTATE(c[tinfo + 29] = 77, "unknown tensor type");
	MUTATE(c[tinfo + 33] = 8, "offset not aligned");
	MUTATE(c[tinfo + 33] = 64, "tensor data past the end");
	MUTATE(c[tinfo + 13] = 33, "dims 33 x 2: data past the end");
	memcpy(c, buf, size);
	parse_fails(c, size - 1, "truncated data");
	parse_fails(c, 20, "truncated header");
	parse_fails(c, 3, "3 bytes");
#undef MUTATE
	free(c);
	free(buf);
}

/* sl_gguf_parse over a buffer: tensor data points into that buffer; close leaves it alone. */
static void test_parse_memory(void)
{
	const void *data[4] = {t0, t1, t2, t3};
	sl_gguf_writer *w = good_writer(0);
	size_t size = 0;
	uint8_t *buf = write_mem(w, data, 4, &size);
	sl_gguf g;

	CHECK(buf != NULL);
	CHECK_MSG(sl_gguf_parse(&g, buf, size, "mem") == 0, "%s", sl_error());
	CHECK(g.n_tensors == 4 && g.base == buf && g.size == size);
	for (uint64_t i = 0; i < g.n_tensors; i++) {
		const uint8_t *p = g.tensors[i].data;
		CHECK(p >= buf && p + g.tensors[i].nbytes <= buf + size);
		CHECK(memcmp(p, data[i], g.tensors[i].nbytes) == 0);
	}
	{
		char *str = NULL;
		CHECK(sl_gguf_get_str(&g, "t.u32", &str) == -1); /* messages name the buffer */
		CHECK_MSG(!strcmp(sl_error(), "mem: key t.u32 has type u32, expected string"), "%s", sl_error());
	}
	sl_gguf_close(&g);
	CHECK(sl_gguf_parse(&g, buf, size - 20, "mem") == -1); /* into the last tensor (padded 144 -> 160) */
	CHECK(strstr(sl_error(), "mem: tensor v.q4_k") != NULL);
	buf[0] = 'X';
	CHECK(sl_gguf_parse(&g, buf, size, "mem") == -1);
	CHECK(strcmp(sl_error(), "mem: bad magic (not a GGUF file)") == 0);
	free(buf);
	sl_gguf_writer_free(w);
}

/* The array getters: every integer width with its sign, floats, strings, and the errors. */
static void test_arrays(void)
{
	static const uint8_t u8[] = {0, 255};
	static const int8_t i8[] = {-128, 127};
	static const int16_t i16[] = {-32768, 2};
	static const uint32_t u32[] = {4000000000u};
	static const int32_t i32[] = {-7, 2147483647};
	static const uint64_t u64[] = {(uint64_t)1 << 62, (uint64_t)1 << 63};
	static const int64_t i64[] = {INT64_MIN};
	static const float f32[] = {0.5f, -3.25f};
	static const double f64[] = {1e-3};
	static const char *const strs[] = {"a", "", "b c"};
	static const uint8_t bools[] = {1};
	sl_gguf_writer *w = sl_gguf_writer_new();
	size_t size = 0;
	uint8_t *buf;
	sl_gguf g;
	int64_t v;
	uint64_t n;
	float f;
	sl_gguf_str str;

	CHECK(w && !sl_gguf_add_arr(w, "a.u8", SL_GGUF_U8, 2, u8) && !sl_gguf_add_arr(w, "a.i8", SL_GGUF_I8, 2, i8) &&
	      !sl_gguf_add_arr(w, "a.i16", SL_GGUF_I16, 2, i16) && !sl_gguf_add_arr(w, "a.u32", SL_GGUF_U32, 1, u32) &&
	      !sl_gguf_add_arr(w, "a.i32", SL_GGUF_I32, 2, i32) && !sl_gguf_add_arr(w, "a.u64", SL_GGUF_U64, 2, u64) &&
	      !sl_gguf_add_arr(w, "a.i64", SL_GGUF_I64, 1, i64) && !sl_gguf_add_arr(w, "a.f32", SL_GGUF_F32, 2, f32) &&
	      !sl_gguf_add_arr(w, "a.f64", SL_GGUF_F64, 1, f64) && !sl_gguf_add_arr_str(w, "a.str", 3, strs, NULL) &&
	      !sl_gguf_add_arr(w, "a.bool", SL_GGUF_BOOL, 1, bools) && !sl_gguf_add_arr(w, "a.empty", SL_GGUF_I32, 0, NULL) &&
	      !sl_gguf_add_u32(w, "s.u32", 5));
	buf = write_mem(w, NULL, 0, &size);
	CHECK_MSG(buf && sl_gguf_parse(&g, buf, size, "arr") == 0, "%s", sl_error());
	if (!buf) {
		sl_gguf_writer_free(w);
		return;
	}
	CHECK(sl_gguf_get_arr_n(&g, "a.str", &n) == 1 && n == 3);
	CHECK(sl_gguf_get_arr_n(&g, "a.empty", &n) == 1 && n == 0);
	CHECK(sl_gguf_get_arr_n(&g, "nope", &n) == 0);
	CHECK(sl_gguf_get_arr_n(&g, "s.u32", &n) == -1 && !strcmp(sl_error(), "arr: key s.u32 has type u32, expected an array"));
	CHECK(sl_gguf_get_arr_i64(&g, "a.u8", 1, &v) == 1 && v == 255);
	CHECK(sl_gguf_get_arr_i64(&g, "a.i8", 0, &v) == 1 && v == -128);
	CHECK(sl_gguf_get_arr_i64(&g, "a.i8", 1, &v) == 1 && v == 127);
	CHECK(sl_gguf_get_arr_i64(&g, "a.i16", 0, &v) == 1 && v == -32768);
	CHECK(sl_gguf_get_arr_i64(&g, "a.i16", 1, &v) == 1 && v == 2);
	CHECK(sl_gguf_get_arr_i64(&g, "a.u32", 0, &v) == 1 && v == 4000000000LL);
	CHECK(sl_gguf_get_arr_i64(&g, "a.i32", 0, &v) == 1 && v == -7);
	CHECK(sl_gguf_get_arr_i64(&g, "a.i32", 1, &v) == 1 && v == 2147483647);
	CHECK(sl_gguf_get_arr_i64(&g, "a.u64", 0, &v) == 1 && v == (int64_t)1 << 62);
	CHECK(sl_gguf_get_arr_i64(&g, "a.u64", 1, &v) == -1);
	CHECK_MSG(!strcmp(sl_error(), "arr: key a.u64: element 1 is too large (9223372036854775808)"), "%s", sl_error());
	CHECK(sl_gguf_get_arr_i64(&g, "a.i64", 0, &v) == 1 && v == INT64_MIN);
	CHECK(sl_gguf_get_arr_i64(&g, "a.i32", 2, &v) == -1);
	CHECK_MSG(!strcmp(sl_error(), "arr: key a.i32 has 2 elements, no element 2"), "%s", sl_error());
	CHECK(sl_gguf_get_arr_i64(&g, "a.empty", 0, &v) == -1);
	CHECK(sl_gguf_get_arr_i64(&g, "a.f32", 0, &v) == -1);
	CHECK_MSG(!strcmp(sl_error(), "arr: key a.f32 is an array of f32, expected an array of integers"), "%s", sl_error());
	CHECK(sl_gguf_get_arr_i64(&g, "a.bool", 0, &v) == -1);
	CHECK(sl_gguf_get_arr_i64(&g, "s.u32", 0, &v) == -1);
	CHECK(sl_gguf_get_arr_i64(&g, "nope", 0, &v) == 0);
	CHECK(sl_gguf_get_arr_f32(&g, "a.f32", 1, &f) == 1 && f == -3.25f);
	CHECK(sl_gguf_get_arr_f32(&g, "a.f64", 0, &f) == 1 && f == (float)1e-3);
	CHECK(sl_gguf_get_arr_f32(&g, "a.i32", 0, &f) == -1);
	CHECK(sl_gguf_get_arr_f32(&g, "nope", 0, &f) == 0);
	CHECK(sl_gguf_get_arr_str(&g, "a.str", 2, &str) == 1 && str.len == 3 && !memcmp(str.ptr, "b c", 3));
	CHECK(sl_gguf_get_arr_str(&g, "a.str", 1, &str) == 1 && str.len == 0);
	CHECK(sl_gguf_get_arr_str(&g, "a.str", 3, &str) == -1);
	CHECK(sl_gguf_get_arr_str(&g, "a.u8", 0, &str) == -1);
	CHECK_MSG(!strcmp(sl_error(), "arr: key a.u8 is an array of u8, expected an array of strings"), "%s", sl_error());
	{
		const sl_gguf_kv *kv = sl_gguf_find(&g, "a.i16");
		CHECK(kv && sl_gguf_kv_i64(&g, kv, 0, &v) == 0 && v == -32768);
		CHECK(kv && sl_gguf_kv_f32(&g, kv, 0, &f) == -1);
		CHECK(kv && sl_gguf_kv_str(&g, kv, 0, &str) == -1);
	}
	sl_gguf_close(&g);
	free(buf);
	sl_gguf_writer_free(w);
}

/* sl_gguf_add_kv copies every key as it was: a file rebuilt from what the reader gives back,
 * key by key and tensor by tensor, is the same bytes. */
static void test_copy_kv(void)
{
	const void *data[4] = {t0, t1, t2, t3};
	sl_gguf_writer *w = good_writer(0), *c = sl_gguf_writer_new();
	size_t size = 0, size2 = 0;
	uint8_t *buf = write_mem(w, data, 4, &size), *buf2;
	sl_gguf g;

	CHECK_MSG(buf && c && sl_gguf_parse(&g, buf, size, "copy") == 0, "%s", sl_error());
	if (!buf || !c)
		return;
	for (uint64_t i = 0; i < g.n_kv; i++)
		CHECK_MSG(sl_gguf_add_kv(c, &g.kv[i]) == 0, "%s: %s", g.kv[i].key, sl_error());
	for (uint64_t i = 0; i < g.n_tensors; i++)
		CHECK(sl_gguf_add_tensor(c, g.tensors[i].name, g.tensors[i].n_dims, g.tensors[i].ne, g.tensors[i].type) == (int)i);
	buf2 = write_mem(c, data, 4, &size2);
	CHECK(buf2 && size2 == size && !memcmp(buf, buf2, size));
	sl_gguf_close(&g);
	free(buf);
	free(buf2);
	sl_gguf_writer_free(w);
	sl_gguf_writer_free(c);
}

int main(void)
{
	test_copy_kv();
	test_arrays();
	test_parse_memory();
	test_round_trip(0);
	test_round_trip(64);
	test_exact_bytes();
	test_writer_errors();
	test_reader_rejects();
	if (dir[0])
		rmdir(dir);
	return CHECK_DONE();
}
