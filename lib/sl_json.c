/*
 * sl_json — read and parse the JSON files of an HF model directory (sl_json.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sl_err.h"
#include "sl_json.h"
#include "sl_map.h"

char *sl_path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (!p) {
		sl_seterr_code(SL_E_NOMEM, "out of memory");
		return NULL;
	}
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

int sl_json_load(const char *path, int optional, cJSON **root)
{
	struct stat st;
	sl_map m;

	*root = NULL;
	if (optional && stat(path, &st) != 0)
		return 0;
	if (sl_map_open(&m, path) != 0)
		return -1;
	*root = cJSON_ParseWithLength((const char *)m.data, (size_t)m.size);
	sl_map_close(&m);
	if (!*root)
		return sl_seterr("%s: not valid JSON", path);
	if (!cJSON_IsObject(*root)) {
		cJSON_Delete(*root);
		*root = NULL;
		return sl_seterr("%s: not a JSON object", path);
	}
	return 0;
}
