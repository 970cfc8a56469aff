/*
 * sl_safetensors — validating reader of safetensors files and sharded sets (sl_safetensors.h).
 *
 * A file is: u64 N, N bytes of JSON (name → {dtype, shape, data_offsets}), then the data buffer.
 * Nothing in the JSON is trusted: each tensor's byte range is checked against its shape and
 * dtype, and the ranges, sorted by start, must tile the buffer exactly.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sl_err.h"
#include "sl_json.h"
#include "sl_safetensors.h"
#include "sl_types.h"

#define ST_MAX_HEADER (100u << 20)   /* the format's own limit on the JSON header */

static const struct {
	const char *name;
	unsigned size;
} dtypes[SL_ST_DTYPE_COUNT] = {
	[SL_ST_BOOL] = {"BOOL", 1}, [SL_ST_U8] = {"U8", 1}, [SL_ST_I8] = {"I8", 1},
	[SL_ST_F8_E5M2] = {"F8_E5M2", 1}, [SL_ST_F8_E4M3] = {"F8_E4M3", 1},
	[SL_ST_I16] = {"I16", 2}, [SL_ST_U16] = {"U16", 2}, [SL_ST_F16] = {"F16", 2},
	[SL_ST_BF16] = {"BF16", 2}, [SL_ST_I32] = {"I32", 4}, [SL_ST_U32] = {"U32", 4},
	[SL_ST_F32] = {"F32", 4}, [SL_ST_F64] = {"F64", 8}, [SL_ST_I64] = {"I64", 8},
	[SL_ST_U64] = {"U64", 8},
};

const char *sl_st_dtype_name(int dtype)
{
	return dtype >= 0 && dtype < SL_ST_DTYPE_COUNT ? dtypes[dtype].name : "?";
}

unsigned sl_st_dtype_size(int dtype)
{
	return dtype >= 0 && dtype < SL_ST_DTYPE_COUNT ? dtypes[dtype].size : 0;
}

static int dtype_from_name(const char *s)
{
	for (int i = 0; i < SL_ST_DTYPE_COUNT; i++)
		if (strcmp(s, dtypes[i].name) == 0)
			return i;
	return -1;
}

/* A JSON number that is an exact non-negative integer below 2^53 (doubles are exact there). */
static int json_u64(const cJSON *j, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(j))
		return -1;
	d = j->valuedouble;
	if (!(d >= 0 && d < 9007199254740992.0) || d != (double)(uint64_t)d)
		return -1;
	*out = (uint64_t)d;
	return 0;
}

/* ==== one file ==== */

static int cmp_begin(const void *a, const void *b)
{
	const sl_st_tensor *x = a, *y = b;

	return x->data < y->data ? -1 : x->data > y->data;
}

static int add_tensor(sl_safetensors *st, sl_st_tensor *t)
{
	sl_st_tensor *p = realloc(st->tensors, (st->n_tensors + 1) * sizeof *p);

	if (!p)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	st->tensors = p;
	st->tensors[st->n_tensors++] = *t;
	return 0;
}

/* Parse the header of file `fi` (already in st->files[fi]) and append its tensors. */
static int parse_file(sl_safetensors *st, int fi)
{
	const uint8_t *data = st->files[fi].data;
	uint64_t size = st->files[fi].size, hlen = 0, bufsize, first_new = st->n_tensors;
	const char *name = st->files[fi].path;
	const uint8_t *buf;
	cJSON *root, *it;
	int rc = -1;

	if (size < 8)
		return sl_seterr("%s: truncated: %llu bytes, too short for a safetensors header",
				 name, (unsigned long long)size);
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | data[i];
	if (hlen > size - 8)
		return sl_seterr("%s: header length %llu is past the end of the file (%llu bytes)",
				 name, (unsigned long long)hlen, (unsigned long long)size);
	if (hlen > ST_MAX_HEADER)
		return sl_seterr("%s: header length %llu exceeds the 100 MB limit",
				 name, (unsigned long long)hlen);
	if (hlen < 2 || data[8] != '{')
		return sl_seterr("%s: not a safetensors file (header does not start with '{')", name);
	buf = data + 8 + hlen;
	bufsize = size - 8 - hlen;
	root = cJSON_ParseWithLength((const char *)data + 8, (size_t)hlen);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return sl_seterr("%s: header is not a valid JSON object", name);
	}
	cJSON_ArrayForEach(it, root) {
		sl_st_tensor t;
		cJSON *dt, *shape, *offs, *d;
		uint64_t b, e, n = 1, want;

		if (!it->string)
			goto out;
		if (strcmp(it->string, "__metadata__") == 0) {
			if (!cJSON_IsObject(it)) {
				sl_seterr("%s: __metadata__ is not an object", name);
				goto out;
			}
			continue;
		}
		memset(&t, 0, sizeof t);
		if (sl_st_find(st, it->string)) {
			sl_seterr("%s: tensor %s appears twice", name, it->string);
			goto out;
		}
		dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
		shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
		offs = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
		if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs)) {
			sl_seterr("%s: tensor %s: needs dtype, shape and data_offsets", name, it->string);
			goto out;
		}
		t.dtype = dtype_from_name(dt->valuestring);
		if (t.dtype < 0) {
			sl_seterr("%s: tensor %s: unknown dtype %s", name, it->string, dt->valuestring);
			goto out;
		}
		if (cJSON_GetArraySize(shape) > SL_ST_MAX_DIMS) {
			sl_seterr("%s: tensor %s: more than %d dimensions", name, it->string, SL_ST_MAX_DIMS);
			goto out;
		}
		cJSON_ArrayForEach(d, shape) {
			uint64_t v;
			if (json_u64(d, &v) != 0 || sl_mul_u64(n, v, &n) != 0) {
				sl_seterr("%s: tensor %s: bad shape", name, it->string);
				goto out;
			}
			t.shape[t.n_dims++] = v;
		}
		if (cJSON_GetArraySize(offs) != 2 || json_u64(offs->child, &b) != 0 ||
		    json_u64(offs->child->next, &e) != 0) {
			sl_seterr("%s: tensor %s: data_offsets must be two integers", name, it->string);
			goto out;
		}
		if (e < b) {
			sl_seterr("%s: tensor %s: data_offsets [%llu, %llu] end before they begin", name,
				  it->string, (unsigned long long)b, (unsigned long long)e);
			goto out;
		}
		if (sl_mul_u64(n, dtypes[t.dtype].size, &want) != 0 || e - b != want) {
			sl_seterr("%s: tensor %s: shape needs %llu bytes of %s but data_offsets give %llu",
				  name, it->string, (unsigned long long)(n * dtypes[t.dtype].size),
				  dtypes[t.dtype].name, (unsigned long long)(e - b));
			goto out;
		}
		if (e > bufsize) {
			sl_seterr("%s: tensor %s: data_offsets end %llu is past the end of the data (%llu bytes; truncated?)",
				  name, it->string, (unsigned long long)e, (unsigned long long)bufsize);
			goto out;
		}
		t.name = strdup(it->string);
		if (!t.name) {
			sl_seterr_code(SL_E_NOMEM, "out of memory");
			goto out;
		}
		t.n_elems = n;
		t.nbytes = e - b;
		t.data = buf + b;
		t.file = fi;
		if (add_tensor(st, &t) != 0) {
			free(t.name);
			goto out;
		}
	}
	/* The ranges must tile [0, bufsize): sorted by start, each begins where the last ended. */
	{
		uint64_t n = st->n_tensors - first_new, at = 0;
		sl_st_tensor *ts = n ? st->tensors + first_new : NULL; /* none: tensors may be NULL */

		if (n)
			qsort(ts, n, sizeof *ts, cmp_begin);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t b = (uint64_t)(ts[i].data - buf);
			if (b < at) {
				sl_seterr("%s: tensor %s overlaps tensor %s", name, ts[i].name, ts[i - 1].name);
				goto out;
			}
			if (b > at) {
				sl_seterr("%s: %llu unused bytes before tensor %s (data_offsets must be contiguous)",
					  name, (unsigned long long)(b - at), ts[i].name);
				goto out;
			}
			at = b + ts[i].nbytes;
		}
		if (at != bufsize) {
			sl_seterr("%s: %llu bytes after the last tensor (data_offsets must cover the file)",
				  name, (unsigned long long)(bufsize - at));
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ==== sets ==== */

static int add_file(sl_safetensors *st, const char *path)
{
	sl_map *p = realloc(st->files, (st->n_files + 1) * sizeof *p);

	if (!p)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	st->files = p;
	if (sl_map_open(&st->files[st->n_files], path) != 0)
		return -1;
	st->n_files++;
	return parse_file(st, st->n_files - 1);
}

static int open_index(sl_safetensors *st, const char *index)
{
	char *dir = NULL, *slash;
	cJSON *root = NULL, *wm, *it;
	int rc = -1;

	if (sl_json_load(index, 0, &root) != 0)
		return -1;
	dir = strdup(index);
	if (!dir) {
		sl_seterr_code(SL_E_NOMEM, "out of memory");
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
	if (!cJSON_IsObject(wm)) {
		sl_seterr("%s: not a safetensors index (no weight_map object)", index);
		goto out;
	}
	cJSON_ArrayForEach(it, wm) {
		int have = 0;
		if (!cJSON_IsString(it) || strchr(it->valuestring, '/') || !it->valuestring[0]) {
			sl_seterr("%s: weight_map[%s] is not a file name in the same directory", index, it->string);
			goto out;
		}
		for (int i = 0; i < st->n_files && !have; i++) {
			const char *p = strrchr(st->files[i].path, '/');
			have = strcmp(p ? p + 1 : st->files[i].path, it->valuestring) == 0;
		}
		if (!have) {
			char *p = sl_path_join(dir, it->valuestring);
			if (!p) {
				sl_seterr_code(SL_E_NOMEM, "out of memory");
				goto out;
			}
			rc = add_file(st, p);
			free(p);
			if (rc != 0)
				goto out;
			rc = -1;
		}
	}
	/* Every name the index promises must be in the shard it names. */
	cJSON_ArrayForEach(it, wm) {
		const sl_st_tensor *t = sl_st_find(st, it->string);
		const char *p = t ? strrchr(st->files[t->file].path, '/') : NULL;
		if (!t) {
			sl_seterr("%s: tensor %s is missing from %s", index, it->string, it->valuestring);
			goto out;
		}
		p = p ? p + 1 : st->files[t->file].path;
		if (strcmp(p, it->valuestring) != 0) {
			sl_seterr("%s: tensor %s is in %s, not in %s", index, it->string, p, it->valuestring);
			goto out;
		}
	}
	if ((uint64_t)cJSON_GetArraySize(wm) != st->n_tensors) {
		sl_seterr("%s: the shards hold %llu tensors but weight_map lists %d", index,
			  (unsigned long long)st->n_tensors, cJSON_GetArraySize(wm));
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	free(dir);
	return rc;
}

int sl_st_open(sl_safetensors *st, const char *path)
{
	struct stat sb;
	size_t n = strlen(path);
	int rc;

	memset(st, 0, sizeof *st);
	if (stat(path, &sb) != 0)
		return sl_seterr_sys(errno, "%s", path);
	if (S_ISDIR(sb.st_mode)) {
		char *p = sl_path_join(path, "model.safetensors.index.json");
		if (!p)
			return sl_seterr_code(SL_E_NOMEM, "out of memory");
		if (access(p, F_OK) == 0) {
			rc = open_index(st, p);
		} else {
			free(p);
			p = sl_path_join(path, "model.safetensors");
			if (!p)
				return sl_seterr_code(SL_E_NOMEM, "out of memory");
			if (access(p, F_OK) != 0)
				rc = sl_seterr("%s: no model.safetensors or model.safetensors.index.json", path);
			else
				rc = add_file(st, p);
		}
		free(p);
		return rc;
	}
	if (n >= 5 && strcmp(path + n - 5, ".json") == 0)
		return open_index(st, path);
	return add_file(st, path);
}

int sl_st_parse(sl_safetensors *st, const void *data, uint64_t size, const char *name)
{
	memset(st, 0, sizeof *st);
	st->borrowed = 1;
	st->files = calloc(1, sizeof *st->files);
	if (!st->files)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	st->n_files = 1;
	st->files[0].data = data;
	st->files[0].size = size;
	st->files[0].path = strdup(name);
	if (!st->files[0].path)
		return sl_seterr_code(SL_E_NOMEM, "out of memory");
	return parse_file(st, 0);
}

void sl_st_close(sl_safetensors *st)
{
	for (uint64_t i = 0; i < st->n_tensors; i++)
		free(st->tensors[i].name);
	for (int i = 0; i < st->n_files; i++) {
		if (st->borrowed)
			free(st->files[i].path);
		else
			sl_map_close(&st->files[i]);
	}
	free(st->tensors);
	free(st->files);
	memset(st, 0, sizeof *st);
}

const sl_st_tensor *sl_st_find(const sl_safetensors *st, const char *name)
{
	for (uint64_t i = 0; i < st->n_tensors; i++)
		if (strcmp(st->tensors[i].name, name) == 0)
			return &st->tensors[i];
	return NULL;
}

/* ==== reading ==== */

int sl_st_read_f32(const sl_st_tensor *t, uint64_t first, uint64_t n, float *dst)
{
	const uint8_t *p;

	if (first > t->n_elems || n > t->n_elems - first)
		return sl_seterr("%s: read of elements [%llu, +%llu) past the end", t->name,
				 (unsigned long long)first, (unsigned long long)n);
	switch (t->dtype) {
	case SL_ST_F32:
		memcpy(dst, t->data + first * 4, n * 4);   /* little-endian host assumed, as everywhere */
		return 0;
	case SL_ST_F16:
		p = t->data + first * 2;
		for (uint64_t i = 0; i < n; i++)
			dst[i] = sl_f16_to_f32((sl_f16)(p[2 * i] | p[2 * i + 1] << 8));
		return 0;
	case SL_ST_BF16:
		p = t->data + first * 2;
		for (uint64_t i = 0; i < n; i++)
			dst[i] = sl_bf16_to_f32((sl_bf16)(p[2 * i] | p[2 * i + 1] << 8));
		return 0;
	default:
		return sl_seterr("%s: dtype %s is not supported (F32, F16, BF16)", t->name,
				 sl_st_dtype_name(t->dtype));
	}
}

void sl_st_release(const sl_safetensors *st, const sl_st_tensor *t)
{
	if (!st->borrowed)
		sl_map_drop(t->data, t->nbytes);
}
