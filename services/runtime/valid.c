#include "valid.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "envelope.h"
#include "id.h"

bool wh_valid_init(wh_valid_t *v, wh_reply_t *rep, const msgpack_object *obj, const char *prefix)
{
    v->rep = rep;
    v->obj = obj;
    snprintf(v->prefix, sizeof v->prefix, "%s", prefix);
    if (!obj || obj->type != MSGPACK_OBJECT_MAP) {
        wh_reply_field(rep, prefix[0] ? prefix : "", "must be an object");
        v->obj = NULL;
        return false;
    }
    return true;
}

void wh_valid_pointer(const wh_valid_t *v, const char *key, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "%s/", v->prefix);
    for (const char *k = key; *k && o + 3 < cap; k++) {
        if (*k == '~') {
            out[o++] = '~';
            out[o++] = '0';
        } else if (*k == '/') {
            out[o++] = '~';
            out[o++] = '1';
        } else {
            out[o++] = *k;
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
}

void wh_valid_only(wh_valid_t *v, const char *const *known)
{
    if (!v->obj)
        return;
    for (uint32_t i = 0; i < v->obj->via.map.size; i++) {
        wh_str_t k = wh_msg_str(&v->obj->via.map.ptr[i].key);
        bool ok = false;
        for (const char *const *f = known; *f && !ok; f++)
            ok = wh_str_eq(k, *f);
        if (!ok) {
            char name[128], ptr[300];
            snprintf(name, sizeof name, "%.*s", (int)(k.n > 100 ? 100 : k.n), k.p ? k.p : "");
            wh_valid_pointer(v, name, ptr, sizeof ptr);
            wh_reply_field(v->rep, ptr, "unknown field");
        }
    }
}

/* Common presence handling: absent / null / present. */
static wh_v_result_t presence(wh_valid_t *v, const char *key, unsigned flags,
                              const msgpack_object **o)
{
    if (!v->obj)
        return WH_V_BAD;
    *o = wh_msg_get(v->obj, key);
    char ptr[300];
    if (!*o) {
        if (flags & WH_V_REQUIRED) {
            wh_valid_pointer(v, key, ptr, sizeof ptr);
            wh_reply_field(v->rep, ptr, "is required");
            return WH_V_BAD;
        }
        return WH_V_ABSENT;
    }
    if ((*o)->type == MSGPACK_OBJECT_NIL) {
        if (!(flags & WH_V_NULLABLE)) {
            wh_valid_pointer(v, key, ptr, sizeof ptr);
            wh_reply_field(v->rep, ptr, "must not be null");
            return WH_V_BAD;
        }
        return WH_V_NULL;
    }
    return WH_V_SET;
}

static wh_v_result_t bad(wh_valid_t *v, const char *key, const char *detail)
{
    char ptr[300];
    wh_valid_pointer(v, key, ptr, sizeof ptr);
    wh_reply_field(v->rep, ptr, "%s", detail);
    return WH_V_BAD;
}

/* Number of Unicode code points; input is valid UTF-8 (the gateway's JSON
 * parser guarantees it). */
static size_t utf8_len(wh_str_t s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

wh_v_result_t wh_valid_str(wh_valid_t *v, const char *key, unsigned flags, size_t min_len,
                           size_t max_len, wh_str_t *out)
{
    const msgpack_object *o;
    wh_v_result_t r = presence(v, key, flags, &o);
    if (r != WH_V_SET)
        return r;
    if (!wh_msg_is_str(o))
        return bad(v, key, "must be a string");
    wh_str_t s = wh_msg_str(o);
    size_t n = utf8_len(s);
    char d[96];
    if (n < min_len) {
        snprintf(d, sizeof d,
                 min_len == 1 ? "must not be empty" : "must be at least %zu characters", min_len);
        return bad(v, key, d);
    }
    if (n > max_len) {
        snprintf(d, sizeof d, "must be at most %zu characters", max_len);
        return bad(v, key, d);
    }
    /* Control characters are Unicode's Cc: C0, DEL, and C1 (U+0080..U+009F,
     * in UTF-8 0xC2 0x80..0x9F). A multi-line field may hold newlines and
     * tabs; a single-line one (a title, a name) nothing that breaks or
     * reorders a line where it is shown, in a mail subject or a list: no
     * C0 at all, no line or paragraph separator (U+2028, U+2029), no
     * bidirectional override or isolate (U+202A..U+202E, U+2066..U+2069). */
    bool multiline = flags & WH_V_MULTILINE;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        unsigned char next = i + 1 < s.n ? (unsigned char)s.p[i + 1] : 0;
        unsigned char third = i + 2 < s.n ? (unsigned char)s.p[i + 2] : 0;
        if ((ch < 0x20 && !(multiline && (ch == '\n' || ch == '\t'))) || ch == 0x7f ||
            (ch == 0xc2 && next >= 0x80 && next <= 0x9f))
            return bad(v, key,
                       multiline ? "must not contain control characters"
                                 : "must be one line without control characters");
        if (!multiline && ch == 0xe2 &&
            ((next == 0x80 && third >= 0xa8 && third <= 0xae) ||
             (next == 0x81 && third >= 0xa6 && third <= 0xa9)))
            return bad(v, key, "must be one line without line separators or direction controls");
    }
    *out = s;
    return WH_V_SET;
}

wh_v_result_t wh_valid_int(wh_valid_t *v, const char *key, unsigned flags, int64_t min, int64_t max,
                           int64_t *out)
{
    const msgpack_object *o;
    wh_v_result_t r = presence(v, key, flags, &o);
    if (r != WH_V_SET)
        return r;
    int64_t x;
    if (!wh_msg_int(o, &x))
        return bad(v, key, "must be an integer");
    if (x < min || x > max) {
        char d[96];
        snprintf(d, sizeof d, "must be between %" PRId64 " and %" PRId64, min, max);
        return bad(v, key, d);
    }
    *out = x;
    return WH_V_SET;
}

wh_v_result_t wh_valid_bool(wh_valid_t *v, const char *key, unsigned flags, bool *out)
{
    const msgpack_object *o;
    wh_v_result_t r = presence(v, key, flags, &o);
    if (r != WH_V_SET)
        return r;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return bad(v, key, "must be true or false");
    *out = o->via.boolean;
    return WH_V_SET;
}

/* "must be one of a, b, c" into d. */
static const char *one_of(const char *const *values, char *d, size_t cap)
{
    size_t n = (size_t)snprintf(d, cap, "must be one of");
    for (int i = 0; values[i] && n < cap; i++)
        n += (size_t)snprintf(d + n, cap - n, "%s %s", i ? "," : "", values[i]);
    return d;
}

wh_v_result_t wh_valid_enum(wh_valid_t *v, const char *key, unsigned flags,
                            const char *const *values, int *out)
{
    const msgpack_object *o;
    wh_v_result_t r = presence(v, key, flags, &o);
    if (r != WH_V_SET)
        return r;
    wh_str_t s = wh_msg_str(o);
    for (int i = 0; s.p && values[i]; i++)
        if (wh_str_eq(s, values[i])) {
            *out = i;
            return WH_V_SET;
        }
    char d[256];
    return bad(v, key, one_of(values, d, sizeof d));
}

wh_v_result_t wh_valid_date(wh_valid_t *v, const char *key, unsigned flags, int32_t *out)
{
    const msgpack_object *o;
    wh_v_result_t r = presence(v, key, flags, &o);
    if (r != WH_V_SET)
        return r;
    wh_str_t s = wh_msg_str(o);
    if (!s.p || wh_date_parse(s.p, s.n, out) != 0)
        return bad(v, key, "must be a date YYYY-MM-DD");
    return WH_V_SET;
}

wh_v_result_t wh_valid_instant(wh_valid_t *v, const char *key, unsigned flags, int64_t *out_ms)
{
    const msgpack_object *o;
    wh_v_result_t r = presence(v, key, flags, &o);
    if (r != WH_V_SET)
        return r;
    wh_str_t s = wh_msg_str(o);
    if (!s.p || wh_clock_parse_rfc3339(s.p, s.n, out_ms) != 0)
        return bad(v, key, "must be an RFC 3339 date-time");
    return WH_V_SET;
}

wh_v_result_t wh_valid_array(wh_valid_t *v, const char *key, unsigned flags, uint32_t max_items,
                             const msgpack_object **out)
{
    const msgpack_object *o;
    wh_v_result_t r = presence(v, key, flags, &o);
    if (r != WH_V_SET)
        return r;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return bad(v, key, "must be an array");
    if (o->via.array.size > max_items) {
        char d[96];
        snprintf(d, sizeof d, "must have at most %u items", max_items);
        return bad(v, key, d);
    }
    *out = o;
    return WH_V_SET;
}

bool wh_valid_page(const wh_request_t *req, wh_reply_t *rep, wh_page_t *page)
{
    page->limit = WH_PAGE_DEFAULT;
    page->cursor = wh_request_param(req, "cursor");
    bool ok = wh_param_int(req, rep, "limit", 1, WH_PAGE_MAX, &page->limit);
    if (page->cursor.p && !wh_id_valid(page->cursor.p, page->cursor.n)) {
        wh_reply_param(rep, "cursor", "is not a cursor from a previous page");
        ok = false;
    }
    return ok;
}

bool wh_param_int(const wh_request_t *req, wh_reply_t *rep, const char *name, int64_t min,
                  int64_t max, int64_t *out)
{
    wh_str_t s = wh_request_param(req, name);
    if (!s.p)
        return true;
    size_t width = 1;
    for (int64_t m = max; m >= 10; m /= 10)
        width++;
    bool digits = s.n > 0 && s.n <= width + 1 && max <= WH_PARAM_INT_MAX;
    int64_t x = 0;
    for (size_t i = 0; digits && i < s.n; i++) {
        digits = s.p[i] >= '0' && s.p[i] <= '9';
        x = x * 10 + (s.p[i] - '0');
    }
    if (!digits || x < min || x > max) {
        wh_reply_param(rep, name, "must be an integer from %lld to %lld", (long long)min,
                       (long long)max);
        return false;
    }
    *out = x;
    return true;
}

bool wh_param_enum(const wh_request_t *req, wh_reply_t *rep, const char *name,
                   const char *const *values, const char *detail, int *index)
{
    *index = -1;
    wh_str_t s = wh_request_param(req, name);
    if (!s.p)
        return true;
    for (int i = 0; values[i]; i++)
        if (wh_str_eq(s, values[i])) {
            *index = i;
            return true;
        }
    char d[256];
    wh_reply_param(rep, name, "%s", detail ? detail : one_of(values, d, sizeof d));
    return false;
}

bool wh_param_id(const wh_request_t *req, wh_reply_t *rep, const char *name, const char *detail,
                 wh_str_t *out)
{
    *out = wh_request_param(req, name);
    if (!out->p || wh_id_valid(out->p, out->n))
        return true;
    wh_reply_param(rep, name, "%s", detail);
    return false;
}

bool wh_valid_email(const char *s, size_t n)
{
    if (n < 3 || n > WH_MAX_EMAIL)
        return false;
    const char *at = memchr(s, '@', n);
    if (!at || at == s || at == s + n - 1 || memchr(at + 1, '@', (size_t)(s + n - at - 1)))
        return false;
    const char *dot = memchr(at + 1, '.', (size_t)(s + n - at - 1));
    if (!dot || dot == at + 1 || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f || strchr("<>\"(),;:\\[]", c))
            return false;
    }
    return true;
}
