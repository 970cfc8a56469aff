/*
 * sl_json — the JSON files of a Hugging Face model directory (config.json, tokenizer.json,
 * tokenizer_config.json, generation_config.json, model.safetensors.index.json), read whole
 * and parsed with cJSON.  Shared by the tokenizer, the safetensors reader and sl_hf.
 */
#ifndef SL_JSON_H
#define SL_JSON_H

#include <cjson/cJSON.h>

/* "dir/name" in a malloc'ed string (caller frees); NULL with sl_error on out of memory. */
char *sl_path_join(const char *dir, const char *name);

/*
 * Parse the JSON file at path into *root (caller cJSON_Delete()s it).  Returns 0, or -1 with
 * sl_error "path: strerror" / "path: not valid JSON" / "path: not a JSON object".  With
 * optional set, a file that does not exist is not an error: 0 with *root NULL.
 */
int sl_json_load(const char *path, int optional, cJSON **root);

#endif
