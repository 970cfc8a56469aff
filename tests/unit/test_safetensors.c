/*
 * test_safetensors — lib/sl_safetensors.c: parsing, validation and conversion.
 *
 * Files are built here byte by byte from the safetensors format: u64 header
 * length, JSON header, data.  Expected values are exact: F16 1.5 is 0x3E00, BF16 -2 is 0xC000.
 * Every validation rule gets a file that breaks only it, and the message is checked exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sl_err.h"
#include "sl_safetensors.h"

static uint8_t file[4096];

/* header JSON + data → file; returns the size */
static size_t build(const char *json, const void *data, size_t n)
{
	size_t h = strlen(json);

	for (int i = 0; i < 8; i++)
		file[i] = (uint8_t)((uint64_t)h >> 8 * i);
	memcpy(file + 8, json, h);
	if (n)
		memcpy(file + 8 + h, data, n);
	return 8 + h + n;
}

static void expect_err(const char *json, size_t datalen, const char *msg)
{
	static uint8_t zeros[512];
	sl_safetensors st;
	size_t n = build(json, zeros, datalen);
	int rc = sl_st_parse(&st, file, n, "t.safetensors");

	CHECK_MSG(rc == -1, "accepted: %s", json);
	if (rc == -1)
		CHECK_MSG(strcmp(sl_error(), msg) == 0, "\n got: %s\nwant: %s", sl_error(), msg);
	sl_st_close(&st);
}

static void test_good(void)
{
	/* a: F32 [2] = {1, -0.5}; b: F16 [1, 2] = {1.5, 65504}; c: BF16 [] = -2 (a scalar) */
	static const uint8_t data[] = {
		0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xBF,
		0x00, 0x3E, 0xFF, 0x7B,
		0x00, 0xC0,
	};
	const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
			   "\"c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[12,14]},"
			   "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
			   "\"b\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[8,12]}}  ";
	sl_safetensors st;
	const sl_st_tensor *t;
	float v[2];
	size_t n = build(json, data, sizeof data);

	CHECK(sl_st_parse(&st, file, n, "good.safetensors") == 0);
	CHECK(st.n_tensors == 3);
	/* sorted by data offset, whatever the JSON order */
	CHECK(!strcmp(st.tensors[0].name, "a") && !strcmp(st.tensors[2].name, "c"));
	t = sl_st_find(&st, "a");
	CHECK(t && t->dtype == SL_ST_F32 && t->n_dims == 1 && t->shape[0] == 2 && t->nbytes == 8);
	CHECK(t && sl_st_read_f32(t, 0, 2, v) == 0 && v[0] == 1.0f && v[1] == -0.5f);
	t = sl_st_find(&st, "b");
	CHECK(t && t->n_dims == 2 && t->shape[0] == 1 && t->shape[1] == 2 && t->n_elems == 2);
	CHECK(t && sl_st_read_f32(t, 0, 2, v) == 0 && v[0] == 1.5f && v[1] == 65504.0f);
	CHECK(t && sl_st_read_f32(t, 1, 1, v) == 0 && v[0] == 65504.0f);
	CHECK(t && sl_st_read_f32(t, 1, 2, v) == -1);
	t = sl_st_find(&st, "c");
	CHECK(t && t->n_dims == 0 && t->n_elems == 1 && sl_st_read_f32(t, 0, 1, v) == 0 && v[0] == -2.0f);
	CHECK(sl_st_find(&st, "d") == NULL);
	CHECK(!strcmp(sl_st_dtype_name(SL_ST_BF16), "BF16") && sl_st_dtype_size(SL_ST_I64) == 8);
	sl_st_close(&st);

	/* Other dtypes parse but do not convert. */
	n = build("{\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", data, 8);
	CHECK(sl_st_parse(&st, file, n, "i.safetensors") == 0);
	CHECK(sl_st_read_f32(&st.tensors[0], 0, 1, v) == -1);
	CHECK(!strcmp(sl_error(), "i: dtype I64 is not supported (F32, F16, BF16)"));
	sl_st_close(&st);
}

static void test_bad(void)
{
	sl_safetensors st;

	CHECK(sl_st_parse(&st, file, 5, "t.safetensors") == -1);
	CHECK(!strcmp(sl_error(), "t.safetensors: truncated: 5 bytes, too short for a safetensors header"));
	sl_st_close(&st);
	memset(file, 0, 16);
	file[0] = 100;
	CHECK(sl_st_parse(&st, file, 16, "t.safetensors") == -1);
	CHECK(!strcmp(sl_error(), "t.safetensors: header length 100 is past the end of the file (16 bytes)"));
	sl_st_close(&st);

	expect_err("[1, 2]", 0, "t.safetensors: not a safetensors file (header does not start with '{')");
	expect_err("{\"a\":", 0, "t.safetensors: header is not a valid JSON object");
	expect_err("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
		   "t.safetensors: tensor a: unknown dtype F33");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
		   "t.safetensors: tensor a: needs dtype, shape and data_offsets");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
		   "t.safetensors: tensor a: bad shape");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
		   "t.safetensors: tensor a: data_offsets must be two integers");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
		   "t.safetensors: tensor a: data_offsets [4, 0] end before they begin");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
		   "t.safetensors: tensor a: shape needs 8 bytes of F32 but data_offsets give 4");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
		   "t.safetensors: tensor a: data_offsets end 8 is past the end of the data (4 bytes; truncated?)");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
		   "t.safetensors: tensor b overlaps tensor a");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
		   "t.safetensors: 4 unused bytes before tensor b (data_offsets must be contiguous)");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6,
		   "t.safetensors: 2 bytes after the last tensor (data_offsets must cover the file)");
	expect_err("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		   "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
		   "t.safetensors: tensor a appears twice");
	expect_err("{\"__metadata__\":3}", 0, "t.safetensors: __metadata__ is not an object");
}

/* ==== sets on disk ==== */

static char dir[256];

static void put(const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	CHECK(f && fwrite(p, 1, n, f) == n);
	if (f)
		fclose(f);
}

static void test_sharded(void)
{
	static const float one = 1.0f, two = 2.0f;
	sl_safetensors st;
	char path[512], want[600];
	size_t n;
	float v;
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof dir, "%s/test_st.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	CHECK(mkdtemp(dir) != NULL);

	/* A directory with neither file */
	CHECK(sl_st_open(&st, dir) == -1);
	snprintf(want, sizeof want, "%s: no model.safetensors or model.safetensors.index.json", dir);
	CHECK(!strcmp(sl_error(), want));
	sl_st_close(&st);

	n = build("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", &one, 4);
	put("model-00001-of-00002.safetensors", file, n);
	n = build("{\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", &two, 4);
	put("model-00002-of-00002.safetensors", file, n);
#define INDEX(s) put("model.safetensors.index.json", s, strlen(s))
	INDEX("{\"metadata\":{\"total_size\":8},\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\","
	      "\"y\":\"model-00002-of-00002.safetensors\"}}");
	CHECK(sl_st_open(&st, dir) == 0);
	CHECK(st.n_files == 2 && st.n_tensors == 2);
	CHECK(sl_st_find(&st, "y") && sl_st_read_f32(sl_st_find(&st, "y"), 0, 1, &v) == 0 && v == 2.0f);
	CHECK(sl_st_find(&st, "x") && sl_st_find(&st, "x")->file == 0);
	sl_st_release(&st, sl_st_find(&st, "x"));
	sl_st_close(&st);

	/* the index names a shard for y that does not hold it */
	INDEX("{\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\",\"y\":\"model-00001-of-00002.safetensors\"}}");
	snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
	CHECK(sl_st_open(&st, path) == -1);
	snprintf(want, sizeof want, "%s: tensor y is missing from model-00001-of-00002.safetensors", path);
	CHECK_MSG(!strcmp(sl_error(), want), "%s", sl_error());
	sl_st_close(&st);

	/* a shard that does not exist */
	INDEX("{\"weight_map\":{\"x\":\"model-00009-of-00009.safetensors\"}}");
	CHECK(sl_st_open(&st, dir) == -1);
	snprintf(want, sizeof want, "%s/model-00009-of-00009.safetensors: No such file or directory", dir);
	CHECK_MSG(!strcmp(sl_error(), want), "%s", sl_error());
	sl_st_close(&st);

	/* no weight_map; a path outside the directory */
	INDEX("{\"metadata\":{}}");
	CHECK(sl_st_open(&st, dir) == -1);
	snprintf(want, sizeof want, "%s: not a safetensors index (no weight_map object)", path);
	CHECK(!strcmp(sl_error(), want));
	sl_st_close(&st);
	INDEX("{\"weight_map\":{\"x\":\"../x.safetensors\"}}");
	CHECK(sl_st_open(&st, dir) == -1);
	CHECK(strstr(sl_error(), "is not a file name in the same directory") != NULL);
	sl_st_close(&st);

	/* the same tensor in two shards */
	n = build("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", &two, 4);
	put("model-00002-of-00002.safetensors", file, n);
	INDEX("{\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\",\"y\":\"model-00002-of-00002.safetensors\"}}");
	CHECK(sl_st_open(&st, dir) == -1);
	snprintf(want, sizeof want, "%s/model-00002-of-00002.safetensors: tensor x appears twice", dir);
	CHECK_MSG(!strcmp(sl_error(), want), "%s", sl_error());
	sl_st_close(&st);
#undef INDEX

	/* clean up */
	{
		static const char *const names[] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
						    "model.safetensors.index.json"};
		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			remove(path);
		}
		rmdir(dir);
	}
}

int main(void)
{
	test_good();
	test_bad();
	test_sharded();
	return CHECK_DONE();
}
