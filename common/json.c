#include "json.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"

/* The public struct mirrors jansson's so that its messages fit unshortened. */
_Static_assert(sizeof(((wh_json_error_t *)0)->text) == JSON_ERROR_TEXT_LENGTH,
               "error text must hold a jansson message");

static void set_error(wh_json_error_t *err, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_error(wh_json_error_t *err, int line, int column, const char *fmt, ...)
{
    va_list ap;
    err->line = line;
    err->column = column;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
}

/* Undoes a failed conversion. The caller's buffer was healthy on entry (both
 * entry points check), so clearing the sticky failure flag restores it. */
static void rewind_buf(wh_buf_t *b, size_t mark)
{
    b->len = mark;
    b->failed = false;
    if (b->data)
        b->data[mark] = '\0';
}

/* ---- JSON -> msgpack ---------------------------------------------------- */

struct to_ctx {
    msgpack_packer pk;
    size_t items;
    wh_json_error_t *err;
};

/* msgpack_packer's sink. wh_buf_t failure is sticky, so the packer's return
 * values need not be checked one by one: the caller looks at the buffer once
 * at the end. */
static int buf_write(void *data, const char *p, size_t n)
{
    wh_buf_t *b = data;
    wh_buf_append(b, p, n);
    return wh_buf_failed(b) ? -1 : 0;
}

static int string_limit(struct to_ctx *c, const char *what, size_t n)
{
    if (n <= WH_JSON_MAX_STRING_BYTES)
        return 0;
    set_error(c->err, 0, 0, "%s longer than %d bytes", what, WH_JSON_MAX_STRING_BYTES);
    return WH_ELIMIT;
}

/* depth is the number of containers around v. Recursion is bounded by
 * WH_JSON_MAX_DEPTH because the check happens before descending. */
static int pack_value(struct to_ctx *c, json_t *v, int depth)
{
    int rc;

    if (++c->items > WH_JSON_MAX_ITEMS) {
        set_error(c->err, 0, 0, "more than %d values in the document", WH_JSON_MAX_ITEMS);
        return WH_ELIMIT;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (depth + 1 > WH_JSON_MAX_DEPTH) {
            set_error(c->err, 0, 0, "nesting deeper than %d levels", WH_JSON_MAX_DEPTH);
            return WH_ELIMIT;
        }
        if (json_is_array(v)) {
            size_t n = json_array_size(v);
            msgpack_pack_array(&c->pk, n);
            for (size_t i = 0; i < n; i++)
                if ((rc = pack_value(c, json_array_get(v, i), depth + 1)) != 0)
                    return rc;
        } else {
            /* jansson keeps insertion order, which makes the conversion
             * deterministic and the round trip exact. */
            msgpack_pack_map(&c->pk, json_object_size(v));
            for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
                size_t klen = json_object_iter_key_len(it);
                if ((rc = string_limit(c, "object key", klen)) != 0)
                    return rc;
                msgpack_pack_str(&c->pk, klen);
                msgpack_pack_str_body(&c->pk, json_object_iter_key(it), klen);
                if ((rc = pack_value(c, json_object_iter_value(it), depth + 1)) != 0)
                    return rc;
            }
        }
        return 0;
    case JSON_STRING: {
        size_t n = json_string_length(v);
        if ((rc = string_limit(c, "string", n)) != 0)
            return rc;
        msgpack_pack_str(&c->pk, n);
        msgpack_pack_str_body(&c->pk, json_string_value(v), n);
        return 0;
    }
    case JSON_INTEGER:
        /* msgpack-c picks the smallest encoding, unsigned for values >= 0. */
        msgpack_pack_int64(&c->pk, (int64_t)json_integer_value(v));
        return 0;
    case JSON_REAL:
        msgpack_pack_double(&c->pk, json_real_value(v));
        return 0;
    case JSON_TRUE:
        msgpack_pack_true(&c->pk);
        return 0;
    case JSON_FALSE:
        msgpack_pack_false(&c->pk);
        return 0;
    case JSON_NULL:
        msgpack_pack_nil(&c->pk);
        return 0;
    }
    set_error(c->err, 0, 0, "unknown JSON type");
    return WH_EJSON;
}

static int parse_error(const json_error_t *je, wh_json_error_t *err)
{
    switch (json_error_code(je)) {
    case json_error_out_of_memory:
        set_error(err, 0, 0, "out of memory");
        return WH_ENOMEM;
    case json_error_stack_overflow:
        /* jansson stops at its own, much deeper limit; report ours, which
         * the document crosses too. */
        set_error(err, je->line, je->column, "nesting deeper than %d levels", WH_JSON_MAX_DEPTH);
        return WH_ELIMIT;
    case json_error_numeric_overflow:
        /* Valid JSON, but rounding it to fit would change the client's
         * value; "too big integer" or "real number overflow". */
        set_error(err, je->line, je->column, "%s", je->text);
        return WH_ELIMIT;
    default:
        /* jansson reports column 0 when it stops before the first character
         * of a line (empty input); 0 means "no position" here. */
        set_error(err, je->line, je->column > 0 ? je->column : 1, "%s", je->text);
        return WH_EJSON;
    }
}

int wh_json_to_msgpack_jansson(const char *json, size_t len, wh_buf_t *out, wh_json_error_t *err)
{
    wh_json_error_t scratch;
    json_error_t je;
    struct to_ctx c;
    size_t mark = out->len;
    int rc;

    if (!err)
        err = &scratch;
    set_error(err, 0, 0, "%s", "");
    if (wh_buf_failed(out)) {
        set_error(err, 0, 0, "out of memory");
        return WH_ENOMEM;
    }
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!root)
        return parse_error(&je, err);

    c.items = 0;
    c.err = err;
    msgpack_packer_init(&c.pk, out, buf_write);
    rc = pack_value(&c, root, 0);
    json_decref(root);
    if (rc == 0 && wh_buf_failed(out)) {
        set_error(err, 0, 0, "out of memory");
        rc = WH_ENOMEM;
    }
    if (rc != 0)
        rewind_buf(out, mark);
    return rc;
}

/* ---- msgpack -> JSON ---------------------------------------------------- */

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF. Services may put any bytes in a str; letting invalid ones through
 * would make the reply invalid JSON. */
/* The length of the UTF-8 sequence at s (avail bytes there), or 0 when it
 * is not a valid one. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the 2nd byte */
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (avail - 1 < need)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    return need + 1;
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* ---- JSON -> msgpack in one pass ----------------------------------------- */

/* The bodies clients send are small objects of short strings and small
 * integers; parsing them straight into msgpack saves building and freeing
 * a jansson tree. This parser only ever succeeds on documents jansson
 * accepts, with the same bytes out; on anything else (an error, a \u
 * escape, a long number, a limit, an object of many keys) it gives up and
 * the caller runs jansson, which also words every error. */

#define FAST_MAX_KEYS 64 /* keys of one object checked for duplicates here */

struct fast {
    const unsigned char *p, *end;
    wh_buf_t *out;
    msgpack_packer pk;
    size_t items;
};

static void fast_ws(struct fast *f)
{
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
        f->p++;
}

/* The string at f->p (its opening quote) into out as a msgpack str; sets
 * *body to where its bytes start in out. */
static int fast_string(struct fast *f, size_t *body, size_t *len)
{
    const unsigned char *q = f->p + 1;
    size_t n = 0;
    bool escapes = false;
    for (;;) {
        if (q >= f->end)
            return -1;
        unsigned char c = *q;
        if (c == '"')
            break;
        if (c == '\\') {
            if (q + 1 >= f->end || !strchr("\"\\/bfnrt", q[1]) || q[1] == '\0')
                return -1;
            escapes = true;
            q += 2;
            n++;
        } else if (c < 0x20) {
            return -1;
        } else if (c < 0x80) {
            q++;
            n++;
        } else {
            size_t k = utf8_seq(q, (size_t)(f->end - q));
            if (k == 0)
                return -1;
            q += k;
            n += k;
        }
    }
    if (n > WH_JSON_MAX_STRING_BYTES)
        return -1;
    msgpack_pack_str(&f->pk, n);
    if (wh_buf_reserve(f->out, n) != 0)
        return -1;
    *body = f->out->len;
    *len = n;
    const unsigned char *s = f->p + 1;
    char *o = f->out->data + f->out->len;
    if (!escapes) {
        memcpy(o, s, n);
    } else {
        for (; s < q; s++) {
            if (*s != '\\') {
                *o++ = (char)*s;
                continue;
            }
            s++;
            *o++ = *s == 'b'   ? '\b'
                   : *s == 'f' ? '\f'
                   : *s == 'n' ? '\n'
                   : *s == 'r' ? '\r'
                   : *s == 't' ? '\t'
                               : (char)*s;
        }
    }
    f->out->len += n;
    f->out->data[f->out->len] = '\0';
    f->p = q + 1;
    return 0;
}

static bool digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int fast_number(struct fast *f)
{
    const unsigned char *s = f->p, *q = s;
    if (q < f->end && *q == '-')
        q++;
    if (q >= f->end || !digit(*q))
        return -1;
    if (*q == '0')
        q++;
    else
        while (q < f->end && digit(*q))
            q++;
    bool real = false;
    if (q < f->end && *q == '.') {
        real = true;
        q++;
        if (q >= f->end || !digit(*q))
            return -1;
        while (q < f->end && digit(*q))
            q++;
    }
    if (q < f->end && (*q == 'e' || *q == 'E')) {
        real = true;
        q++;
        if (q < f->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= f->end || !digit(*q))
            return -1;
        while (q < f->end && digit(*q))
            q++;
    }
    size_t n = (size_t)(q - s);
    if (!real) {
        bool neg = *s == '-';
        if (n - neg > 18) /* might not fit an int64: jansson decides */
            return -1;
        int64_t v = 0;
        for (const unsigned char *d = s + neg; d < q; d++)
            v = v * 10 + (*d - '0');
        msgpack_pack_int64(&f->pk, neg ? -v : v);
    } else {
        char tmp[64];
        if (n >= sizeof tmp)
            return -1;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        errno = 0;
        double d = strtod(tmp, NULL);
        if (errno != 0 || !isfinite(d))
            return -1;
        msgpack_pack_double(&f->pk, d);
    }
    f->p = q;
    return 0;
}

static int fast_literal(struct fast *f, const char *word, size_t n)
{
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
        return -1;
    f->p += n;
    return 0;
}

/* Writes the header of a container of n elements at off, where one byte
 * was kept for it, moving the elements when the header needs more. */
static int fast_header(struct fast *f, size_t off, uint32_t n, bool map)
{
    /* The placeholder byte at off was not written if the buffer failed. */
    if (wh_buf_failed(f->out))
        return -1;
    if (n < 16) {
        f->out->data[off] = (char)((map ? 0x80 : 0x90) | n);
        return 0;
    }
    size_t extra = n < 65536 ? 2 : 4;
    if (wh_buf_reserve(f->out, extra) != 0)
        return -1;
    char *d = f->out->data;
    memmove(d + off + 1 + extra, d + off + 1, f->out->len - off - 1);
    f->out->len += extra;
    d[f->out->len] = '\0';
    unsigned char *h = (unsigned char *)d + off;
    if (extra == 2) {
        h[0] = map ? 0xde : 0xdc;
        h[1] = (unsigned char)(n >> 8);
        h[2] = (unsigned char)n;
    } else {
        h[0] = map ? 0xdf : 0xdd;
        h[1] = (unsigned char)(n >> 24);
        h[2] = (unsigned char)(n >> 16);
        h[3] = (unsigned char)(n >> 8);
        h[4] = (unsigned char)n;
    }
    return 0;
}

static int fast_value(struct fast *f, int depth);

/* An object's key n (at f->p) and the colon after it; keys[0..n) are the
 * object's earlier keys, as offsets into out and lengths. */
static int fast_key(struct fast *f, size_t (*keys)[2], uint32_t n)
{
    if (n == FAST_MAX_KEYS || f->p >= f->end || *f->p != '"' ||
        fast_string(f, &keys[n][0], &keys[n][1]) != 0)
        return -1;
    /* Duplicate keys are refused; jansson words it. Offsets, not pointers:
     * the buffer may move as it grows. */
    for (uint32_t i = 0; i < n; i++)
        if (keys[i][1] == keys[n][1] &&
            memcmp(f->out->data + keys[i][0], f->out->data + keys[n][0], keys[n][1]) == 0)
            return -1;
    fast_ws(f);
    if (f->p >= f->end || *f->p != ':')
        return -1;
    f->p++;
    fast_ws(f);
    return 0;
}

/* The array or object at f->p. */
static int fast_container(struct fast *f, int depth, bool map)
{
    const char close = map ? '}' : ']';
    size_t keys[FAST_MAX_KEYS][2];
    size_t off = f->out->len;
    wh_buf_putc(f->out, 0);
    f->p++;
    fast_ws(f);
    uint32_t n = 0;
    if (f->p < f->end && *f->p == close) {
        f->p++;
        return fast_header(f, off, 0, map);
    }
    for (;;) {
        if ((map && fast_key(f, keys, n) != 0) || fast_value(f, depth + 1) != 0)
            return -1;
        n++;
        fast_ws(f);
        if (f->p >= f->end)
            return -1;
        if (*f->p == close)
            break;
        if (*f->p != ',')
            return -1;
        f->p++;
        fast_ws(f);
    }
    f->p++;
    return fast_header(f, off, n, map);
}

/* depth is the number of containers around the value. */
static int fast_value(struct fast *f, int depth)
{
    if (f->p >= f->end || ++f->items > WH_JSON_MAX_ITEMS)
        return -1;
    switch (*f->p) {
    case '{':
    case '[':
        if (depth + 1 > WH_JSON_MAX_DEPTH)
            return -1;
        return fast_container(f, depth, *f->p == '{');
    case '"': {
        size_t at, n;
        return fast_string(f, &at, &n);
    }
    case 't':
        return fast_literal(f, "true", 4) == 0 ? msgpack_pack_true(&f->pk), 0 : -1;
    case 'f':
        return fast_literal(f, "false", 5) == 0 ? msgpack_pack_false(&f->pk), 0 : -1;
    case 'n':
        return fast_literal(f, "null", 4) == 0 ? msgpack_pack_nil(&f->pk), 0 : -1;
    default:
        return fast_number(f);
    }
}

int wh_json_to_msgpack_fast(const char *json, size_t len, wh_buf_t *out)
{
    size_t mark = out->len;
    if (wh_buf_failed(out))
        return WH_ENOMEM;
    struct fast f = {
        .p = (const unsigned char *)json, .end = (const unsigned char *)json + len, .out = out};
    msgpack_packer_init(&f.pk, out, buf_write);
    fast_ws(&f);
    int rc = fast_value(&f, 0);
    fast_ws(&f);
    if (rc == 0 && f.p == f.end && !wh_buf_failed(out))
        return 0;
    rewind_buf(out, mark);
    return WH_EAGAIN;
}

int wh_json_to_msgpack(const char *json, size_t len, wh_buf_t *out, wh_json_error_t *err)
{
    if (wh_json_to_msgpack_fast(json, len, out) == 0) {
        if (err)
            set_error(err, 0, 0, "%s", "");
        return 0;
    }
    return wh_json_to_msgpack_jansson(json, len, out, err);
}

static void put_uint(wh_buf_t *b, uint64_t v, bool negative)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (negative)
        *--p = '-';
    wh_buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_int(wh_buf_t *b, int64_t v)
{
    /* Negating in unsigned arithmetic is defined for INT64_MIN too. */
    if (v < 0)
        put_uint(b, (uint64_t)0 - (uint64_t)v, true);
    else
        put_uint(b, (uint64_t)v, false);
}

/* Prints the shortest text that strtod (strtof for float32) reads back as v.
 * A normal double whose shortest form has up to DBL_DIG (15) digits is the
 * nearest 15-digit decimal to it, and "%.15g" drops the trailing zeros; so
 * trying 15, 16 and 17 digits in turn finds the shortest (6..9 for floats,
 * FLT_DIG being 6). Subnormals have fewer significant bits, so for them the
 * search starts at one digit. */
static void put_float(wh_buf_t *b, double v, bool single)
{
    char tmp[40];
    int first = single ? FLT_DIG : DBL_DIG, last = single ? 9 : 17;

    if (!isfinite(v)) {
        wh_buf_puts(b, "null");
        return;
    }
    if (v != 0 && fabs(v) < (single ? FLT_MIN : DBL_MIN))
        first = 1;
    for (int prec = first;; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (prec == last)
            break;
        if (single ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            break;
    }
    /* Without a point or exponent the value would read back as an integer
     * and change type on the next conversion. LC_NUMERIC is "C" in our
     * processes; should a caller change it, a one-byte decimal comma is
     * mapped back to '.'. */
    bool fractional = false;
    for (char *p = tmp; *p; p++) {
        if (*p == 'e') {
            fractional = true;
        } else if (!(*p >= '0' && *p <= '9') && *p != '-' && *p != '+') {
            *p = '.';
            fractional = true;
        }
    }
    wh_buf_puts(b, tmp);
    if (!fractional)
        wh_buf_puts(b, ".0");
}

static void put_base64(wh_buf_t *b, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (wh_buf_reserve(b, (n + 2) / 3 * 4 + 2) != 0)
        return;
    char *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[w >> 18];
        *o++ = tab[(w >> 12) & 63];
        *o++ = tab[(w >> 6) & 63];
        *o++ = tab[w & 63];
    }
    if (n - i == 1) {
        uint32_t w = (uint32_t)p[i] << 16;
        *o++ = tab[w >> 18];
        *o++ = tab[(w >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = tab[w >> 18];
        *o++ = tab[(w >> 12) & 63];
        *o++ = tab[(w >> 6) & 63];
        *o++ = '=';
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
}

static int put_str(wh_buf_t *b, const msgpack_object_str *s)
{
    if (!utf8_valid((const unsigned char *)s->ptr, s->size))
        return WH_EPROTO;
    wh_buf_json_str(b, s->ptr, s->size);
    return 0;
}

/* depth counts the containers around o, as in pack_value(). */
static int render(const msgpack_object *o, wh_buf_t *b, int depth)
{
    int rc;

    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        wh_buf_puts(b, "null");
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        wh_buf_puts(b, o->via.boolean ? "true" : "false");
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        put_uint(b, o->via.u64, false);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        put_int(b, o->via.i64);
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
        put_float(b, o->via.f64, true);
        return 0;
    case MSGPACK_OBJECT_FLOAT64:
        put_float(b, o->via.f64, false);
        return 0;
    case MSGPACK_OBJECT_STR:
        return put_str(b, &o->via.str);
    case MSGPACK_OBJECT_BIN:
        put_base64(b, (const unsigned char *)o->via.bin.ptr, o->via.bin.size);
        return 0;
    case MSGPACK_OBJECT_ARRAY:
        if (depth + 1 > WH_JSON_MAX_DEPTH)
            return WH_ELIMIT;
        wh_buf_putc(b, '[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                wh_buf_putc(b, ',');
            if ((rc = render(&o->via.array.ptr[i], b, depth + 1)) != 0)
                return rc;
        }
        wh_buf_putc(b, ']');
        return 0;
    case MSGPACK_OBJECT_MAP:
        if (depth + 1 > WH_JSON_MAX_DEPTH)
            return WH_ELIMIT;
        wh_buf_putc(b, '{');
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return WH_EPROTO;
            if (i)
                wh_buf_putc(b, ',');
            if ((rc = put_str(b, &kv->key.via.str)) != 0)
                return rc;
            wh_buf_putc(b, ':');
            if ((rc = render(&kv->val, b, depth + 1)) != 0)
                return rc;
        }
        wh_buf_putc(b, '}');
        return 0;
    case MSGPACK_OBJECT_EXT:
        return WH_EPROTO;
    }
    return WH_EPROTO;
}

int wh_json_from_msgpack(const msgpack_object *o, wh_buf_t *out)
{
    size_t mark = out->len;

    if (wh_buf_failed(out))
        return WH_ENOMEM;
    int rc = render(o, out, 0);
    if (rc == 0 && wh_buf_failed(out))
        rc = WH_ENOMEM;
    if (rc != 0)
        rewind_buf(out, mark);
    return rc;
}
