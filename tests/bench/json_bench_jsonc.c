#include "json_bench_jsonc.h"

#include <string.h>

/* <json-c/json.h>, not "json.h": the latter is common/json.h. */
#include <json-c/json.h>
#include <msgpack.h>

#include "err.h"
#include "json.h"

struct jc_ctx {
    msgpack_packer pk;
    size_t items;
};

static int buf_write(void *data, const char *p, size_t n)
{
    wh_buf_append(data, p, n);
    return wh_buf_failed(data) ? -1 : 0;
}

static int jc_pack(struct jc_ctx *c, struct json_object *v, int depth)
{
    int rc;
    if (++c->items > WH_JSON_MAX_ITEMS)
        return WH_ELIMIT;
    switch (json_object_get_type(v)) {
    case json_type_null:
        msgpack_pack_nil(&c->pk);
        return 0;
    case json_type_boolean:
        if (json_object_get_boolean(v))
            msgpack_pack_true(&c->pk);
        else
            msgpack_pack_false(&c->pk);
        return 0;
    case json_type_int:
        msgpack_pack_int64(&c->pk, json_object_get_int64(v));
        return 0;
    case json_type_double:
        msgpack_pack_double(&c->pk, json_object_get_double(v));
        return 0;
    case json_type_string: {
        size_t n = (size_t)json_object_get_string_len(v);
        if (n > WH_JSON_MAX_STRING_BYTES)
            return WH_ELIMIT;
        msgpack_pack_str_with_body(&c->pk, json_object_get_string(v), n);
        return 0;
    }
    case json_type_array: {
        if (depth + 1 > WH_JSON_MAX_DEPTH)
            return WH_ELIMIT;
        size_t n = json_object_array_length(v);
        msgpack_pack_array(&c->pk, n);
        for (size_t i = 0; i < n; i++)
            if ((rc = jc_pack(c, json_object_array_get_idx(v, i), depth + 1)) != 0)
                return rc;
        return 0;
    }
    case json_type_object: {
        if (depth + 1 > WH_JSON_MAX_DEPTH)
            return WH_ELIMIT;
        msgpack_pack_map(&c->pk, (size_t)json_object_object_length(v));
        json_object_object_foreach(v, key, val)
        {
            size_t n = strlen(key);
            if (n > WH_JSON_MAX_STRING_BYTES)
                return WH_ELIMIT;
            msgpack_pack_str_with_body(&c->pk, key, n);
            if ((rc = jc_pack(c, val, depth + 1)) != 0)
                return rc;
        }
        return 0;
    }
    }
    return WH_EJSON;
}

/* One tokener reused across calls, json-c's cheapest way to parse. */
static json_tokener *tok;

static struct json_object *jc_parse(const char *json, size_t len)
{
    json_tokener_reset(tok);
    struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

int jsonc_convert(const char *json, size_t len, wh_buf_t *out)
{
    struct json_object *root = jc_parse(json, len);
    if (!root)
        return WH_EJSON;
    struct jc_ctx c = {.items = 0};
    msgpack_packer_init(&c.pk, out, buf_write);
    int rc = jc_pack(&c, root, 0);
    json_object_put(root);
    if (rc == 0 && wh_buf_failed(out))
        rc = WH_ENOMEM;
    return rc;
}

int jsonc_parse_only(const char *json, size_t len, wh_buf_t *out)
{
    struct json_object *root = jc_parse(json, len);
    int rc = root ? 0 : WH_EJSON;
    json_object_put(root);
    return rc;
}

int jsonc_open(void)
{
    /* json-c counts depth as we do: "[]" is 1, and 32 is its default too. */
    tok = json_tokener_new_ex(WH_JSON_MAX_DEPTH);
    if (!tok)
        return WH_ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    return 0;
}

void jsonc_close(void)
{
    json_tokener_free(tok);
    tok = NULL;
}

const char *jsonc_version(void)
{
    return json_c_version();
}
