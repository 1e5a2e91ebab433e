/* json-c's side of json_bench. It lives in its own translation unit because
 * json-c's and jansson's headers declare the same names (json_object,
 * json_object_get, json_object_iter_next) and cannot be included together. */
#ifndef WH_JSON_BENCH_JSONC_H
#define WH_JSON_BENCH_JSONC_H

#include <stddef.h>

#include "buf.h"

int jsonc_open(void);
void jsonc_close(void);
const char *jsonc_version(void);
/* Parses json[0..len) and appends msgpack to out under the rules of
 * wh_json_to_msgpack(), as far as json-c allows (it cannot see duplicate
 * keys). Returns 0 or a WH_E* code. */
int jsonc_convert(const char *json, size_t len, wh_buf_t *out);
/* Parses and frees the tree only. */
int jsonc_parse_only(const char *json, size_t len, wh_buf_t *out);

#endif
