/* common/json.c: exact bytes in both directions, parse errors with their
 * positions, every limit accepted at its value and refused one past it, and
 * documents that must come back unchanged from a round trip. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "check.h"
#include "err.h"
#include "json.h"

/* ---- helpers ------------------------------------------------------------ */

static char hexbuf[4096];

static const char *hex(const char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    CHECK(n * 2 < sizeof hexbuf);
    for (size_t i = 0; i < n; i++) {
        hexbuf[2 * i] = digits[(unsigned char)p[i] >> 4];
        hexbuf[2 * i + 1] = digits[(unsigned char)p[i] & 15];
    }
    hexbuf[2 * n] = '\0';
    return hexbuf;
}

/* Converts json and returns its msgpack encoding in hex; fails the test when
 * the conversion does. */
static const char *to_hex(const char *json)
{
    wh_buf_t b;
    wh_json_error_t err;
    wh_buf_init(&b);
    int rc = wh_json_to_msgpack(json, strlen(json), &b, &err);
    if (rc != 0)
        fprintf(stderr, "converting %s: %d %s\n", json, rc, err.text);
    CHECK_INT(rc, 0);
    const char *h = hex(b.data, b.len);
    wh_buf_close(&b);
    return h;
}

/* Converts json expecting failure; returns the code and fills err. Checks
 * that the output buffer was left exactly as it was. */
static int to_fail(const char *json, size_t len, wh_json_error_t *err)
{
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_puts(&b, "keep");
    int rc = wh_json_to_msgpack(json, len, &b, err);
    CHECK(rc != 0);
    CHECK_INT(b.len, 4);
    CHECK_STR(b.data, "keep");
    CHECK(!wh_buf_failed(&b));
    wh_buf_close(&b);
    return rc;
}

static char rendered[4096];

/* Unpacks msgpack bytes (our own, so trusted) and renders them as JSON into
 * rendered[]; returns the rendering's code. */
static int render_bytes(const char *p, size_t n)
{
    msgpack_unpacked u;
    size_t off = 0;
    wh_buf_t b;

    msgpack_unpacked_init(&u);
    CHECK_INT(msgpack_unpack_next(&u, p, n, &off), MSGPACK_UNPACK_SUCCESS);
    CHECK_INT(off, n);
    wh_buf_init(&b);
    wh_buf_puts(&b, "keep");
    int rc = wh_json_from_msgpack(&u.data, &b);
    if (rc == 0) {
        CHECK(b.len - 4 < sizeof rendered);
        memcpy(rendered, b.data + 4, b.len - 4 + 1);
    } else {
        CHECK_STR(b.data, "keep");
        rendered[0] = '\0';
    }
    CHECK(memcmp(b.data, "keep", 4) == 0);
    wh_buf_close(&b);
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* JSON -> msgpack -> JSON. */
static const char *round_trip(const char *json)
{
    wh_buf_t mp;
    wh_buf_init(&mp);
    CHECK_INT(wh_json_to_msgpack(json, strlen(json), &mp, NULL), 0);
    CHECK_INT(render_bytes(mp.data, mp.len), 0);
    wh_buf_close(&mp);
    return rendered;
}

static int mp_write(void *data, const char *p, size_t n)
{
    wh_buf_append(data, p, n);
    return 0;
}

/* Nested arrays "[[...[0]...]]" (depth levels) or objects {"a":{"a":...0}}. */
static void nested(wh_buf_t *b, int depth, bool objects)
{
    for (int i = 0; i < depth; i++)
        wh_buf_puts(b, objects ? "{\"a\":" : "[");
    wh_buf_putc(b, '0');
    for (int i = 0; i < depth; i++)
        wh_buf_putc(b, objects ? '}' : ']');
}

static int convert_buf(const wh_buf_t *in, wh_buf_t *out, wh_json_error_t *err)
{
    return wh_json_to_msgpack(in->data, in->len, out, err);
}

/* ---- JSON -> msgpack ---------------------------------------------------- */

static void test_integers(void)
{
    CHECK_STR(to_hex("0"), "00");
    CHECK_STR(to_hex("-0"), "00");
    CHECK_STR(to_hex("127"), "7f");
    CHECK_STR(to_hex("128"), "cc80");
    CHECK_STR(to_hex("255"), "ccff");
    CHECK_STR(to_hex("256"), "cd0100");
    CHECK_STR(to_hex("65536"), "ce00010000");
    CHECK_STR(to_hex("4294967296"), "cf0000000100000000");
    CHECK_STR(to_hex("9223372036854775807"), "cf7fffffffffffffff");
    CHECK_STR(to_hex("-1"), "ff");
    CHECK_STR(to_hex("-32"), "e0");
    CHECK_STR(to_hex("-33"), "d0df");
    CHECK_STR(to_hex("-128"), "d080");
    CHECK_STR(to_hex("-129"), "d1ff7f");
    CHECK_STR(to_hex("-32769"), "d2ffff7fff");
    CHECK_STR(to_hex("-2147483649"), "d3ffffffff7fffffff");
    CHECK_STR(to_hex("-9223372036854775808"), "d38000000000000000");
}

static void test_integer_range(void)
{
    wh_json_error_t err;
    /* Refused, not rounded: a client's id or amount must not change. */
    CHECK_INT(to_fail("9223372036854775808", 19, &err), WH_ELIMIT);
    CHECK_STR(err.text, "too big integer near '9223372036854775808'");
    CHECK_INT(err.line, 1);
    CHECK_INT(err.column, 19);
    CHECK_INT(to_fail("[18446744073709551615]", 22, &err), WH_ELIMIT);
    CHECK_INT(to_fail("-9223372036854775809", 20, &err), WH_ELIMIT);
    CHECK_STR(err.text, "too big negative integer near '-9223372036854775809'");
    CHECK_INT(to_fail("{\"x\":1e400}", 11, &err), WH_ELIMIT);
    CHECK_STR(err.text, "real number overflow near '1e400'");
    CHECK_INT(to_fail("-1e309", 6, &err), WH_ELIMIT);
}

static void test_floats(void)
{
    CHECK_STR(to_hex("1.5"), "cb3ff8000000000000");
    CHECK_STR(to_hex("1.0"), "cb3ff0000000000000");
    CHECK_STR(to_hex("1e2"), "cb4059000000000000");
    CHECK_STR(to_hex("-0.0"), "cb8000000000000000");
    CHECK_STR(to_hex("0.1"), "cb3fb999999999999a");
    CHECK_STR(to_hex("5e-324"), "cb0000000000000001");
    CHECK_STR(to_hex("1.7976931348623157e308"), "cb7fefffffffffffff");
    /* Underflow rounds to zero as strtod does. */
    CHECK_STR(to_hex("1e-400"), "cb0000000000000000");
}

static void test_scalars_and_strings(void)
{
    CHECK_STR(to_hex("true"), "c3");
    CHECK_STR(to_hex("false"), "c2");
    CHECK_STR(to_hex(" null "), "c0");
    CHECK_STR(to_hex("\"\""), "a0");
    CHECK_STR(to_hex("\"a\\\"\\\\\\/\\n\""), "a561225c2f0a");
}

static void test_unicode(void)
{
    /* Escapes are decoded to UTF-8; raw UTF-8 passes unchanged. */
    CHECK_STR(to_hex("\"\\u00e4\""), "a2c3a4");
    CHECK_STR(to_hex("\"\xc3\xa4\""), "a2c3a4");
    CHECK_STR(to_hex("\"\\u20AC\""), "a3e282ac");
    CHECK_STR(to_hex("\"\\ud83d\\ude00\""), "a4f09f9880");
    CHECK_STR(to_hex("\"\xf0\x9f\x98\x80\""), "a4f09f9880");
    CHECK_STR(to_hex("{\"\\u00fc\":1}"), "81a2c3bc01");
}

static void test_string_encodings(void)
{
    wh_buf_t in, out;
    wh_buf_init(&in);
    wh_buf_init(&out);
    /* 31 bytes is the longest fixstr, 32 needs str8, 256 str16. */
    size_t sizes[] = {31, 32, 255, 256};
    const char *heads[] = {"bf", "d920", "d9ff", "da0100"};
    for (int i = 0; i < 4; i++) {
        wh_buf_reset(&in);
        wh_buf_reset(&out);
        wh_buf_putc(&in, '"');
        for (size_t k = 0; k < sizes[i]; k++)
            wh_buf_putc(&in, 'x');
        wh_buf_putc(&in, '"');
        CHECK_INT(convert_buf(&in, &out, NULL), 0);
        size_t hl = strlen(heads[i]) / 2;
        CHECK_INT(out.len, hl + sizes[i]);
        CHECK_STR(hex(out.data, hl), heads[i]);
    }
    wh_buf_close(&in);
    wh_buf_close(&out);
}

static void test_nested(void)
{
    CHECK_STR(to_hex("{\"a\":[1,{\"b\":null}],\"c\":{}}"), "82a161920181a162c0a16380");
    CHECK_STR(to_hex("[[],[[]],{}]"), "9390919080");
    /* Key order is the document's, not sorted or hashed. */
    CHECK_STR(to_hex("{\"z\":1,\"a\":2,\"m\":3}"), "83a17a01a16102a16d03");
    /* The same key at different levels is not a duplicate. */
    CHECK_STR(to_hex("{\"a\":{\"a\":1}}"), "81a16181a16101");
}

static void test_malformed(void)
{
    static const struct {
        const char *json;
        int line, column;
        const char *text;
    } cases[] = {
        {"", 1, 1, "unexpected token near end of file"},
        {"{", 1, 1, "string or '}' expected near end of file"},
        {"[1,]", 1, 4, "unexpected token near ']'"},
        {"[1 2]", 1, 4, "']' expected near '2'"},
        {"{\"a\" 1}", 1, 6, "':' expected near '1'"},
        {"[1]x", 1, 4, "end of file expected near 'x'"},
        {"[1,\n 2,\n x]", 3, 2, "invalid token near 'x'"},
        /* Columns count characters, not bytes. */
        {"{\"a\":\n\"\xc3\xa4\xc3\xa4\" x}", 2, 6, "'}' expected near 'x'"},
        {"'a'", 1, 1, "invalid token near '''"},
        {"01", 1, 1, "invalid token near '0'"},
        {"1.", 1, 2, "invalid token near '1.'"},
        {"NaN", 1, 3, "invalid token near 'NaN'"},
        {"[\"a\tb\"]", 1, 3, "control character 0x9 near '\"a'"},
        {"\"\\ud800\"", 1, 8, "invalid Unicode '\\uD800' near '\"\\ud800\"'"},
        {"\"\xff\"", 1, 1, "unable to decode byte 0xff near '\"'"},
        {"\"\xc0\x80\"", 1, 1, "unable to decode byte 0xc0 near '\"'"},
        {"\xef\xbb\xbf[]", 1, 1, "invalid token near '\xef\xbb\xbf'"},
        {"\"\\u0000\"", 1, 8, "\\u0000 is not allowed without JSON_ALLOW_NUL near '\"\\u0000\"'"},
        {"{\"a\\u0000\":1}", 1, 10, "NUL byte in object key not supported near '\"a\\u0000\"'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wh_json_error_t err;
        int rc = to_fail(cases[i].json, strlen(cases[i].json), &err);
        if (rc != WH_EJSON || strcmp(err.text, cases[i].text) != 0 || err.line != cases[i].line ||
            err.column != cases[i].column)
            fprintf(stderr, "case %zu: %s\n", i, cases[i].json);
        CHECK_INT(rc, WH_EJSON);
        CHECK_STR(err.text, cases[i].text);
        CHECK_INT(err.line, cases[i].line);
        CHECK_INT(err.column, cases[i].column);
    }

    /* A NUL byte inside the text ends nothing early: it is an error. */
    wh_json_error_t err;
    CHECK_INT(to_fail("[1,\0]", 5, &err), WH_EJSON);
    CHECK_INT(to_fail("{}\0", 3, &err), WH_EJSON);
    /* err may be NULL. */
    wh_buf_t b;
    wh_buf_init(&b);
    CHECK_INT(wh_json_to_msgpack("[", 1, &b, NULL), WH_EJSON);
    CHECK_INT(b.len, 0);
    wh_buf_close(&b);
}

static void test_duplicate_key(void)
{
    wh_json_error_t err;
    CHECK_INT(to_fail("{\"a\":1,\"a\":2}", 13, &err), WH_EJSON);
    CHECK_STR(err.text, "duplicate object key near '\"a\"'");
    CHECK_INT(err.line, 1);
    CHECK_INT(err.column, 10);
    CHECK_INT(to_fail("[{\"b\":{\"x\":1,\"y\":2,\"x\":3}}]", 27, &err), WH_EJSON);
    CHECK_STR(err.text, "duplicate object key near '\"x\"'");
    /* Escaped and raw spellings of one key are the same key. */
    CHECK_INT(to_fail("{\"\\u0061\":1,\"a\":2}", 18, &err), WH_EJSON);
}

/* ---- limits --------------------------------------------------------------- */

static void test_depth_limit(void)
{
    wh_buf_t in, out;
    wh_json_error_t err;
    wh_buf_init(&in);
    wh_buf_init(&out);
    for (int objects = 0; objects <= 1; objects++) {
        wh_buf_reset(&in);
        wh_buf_reset(&out);
        nested(&in, WH_JSON_MAX_DEPTH, objects);
        CHECK_INT(convert_buf(&in, &out, &err), 0);
        /* The msgpack-c unpacker takes this depth, and one more level for
         * the envelope around a body. */
        msgpack_unpacked u;
        size_t off = 0;
        msgpack_unpacked_init(&u);
        CHECK_INT(msgpack_unpack_next(&u, out.data, out.len, &off), MSGPACK_UNPACK_SUCCESS);
        msgpack_unpacked_destroy(&u);

        wh_buf_reset(&in);
        wh_buf_reset(&out);
        nested(&in, WH_JSON_MAX_DEPTH + 1, objects);
        CHECK_INT(convert_buf(&in, &out, &err), WH_ELIMIT);
        CHECK_STR(err.text, "nesting deeper than 31 levels");
        CHECK_INT(err.line, 0);
        CHECK_INT(out.len, 0);
    }
    /* Past jansson's own limit the same error comes back. */
    wh_buf_reset(&in);
    nested(&in, 5000, false);
    CHECK_INT(convert_buf(&in, &out, &err), WH_ELIMIT);
    CHECK_STR(err.text, "nesting deeper than 31 levels");
    /* Depth counts containers only: a scalar at the deepest level is fine,
     * an empty container there is not. */
    char brackets[2 * (WH_JSON_MAX_DEPTH + 1)];
    for (int d = WH_JSON_MAX_DEPTH; d <= WH_JSON_MAX_DEPTH + 1; d++) {
        memset(brackets, '[', (size_t)d);
        memset(brackets + d, ']', (size_t)d);
        CHECK_INT(wh_json_to_msgpack(brackets, 2 * (size_t)d, &out, &err),
                  d == WH_JSON_MAX_DEPTH ? 0 : WH_ELIMIT);
    }
    wh_buf_close(&in);
    wh_buf_close(&out);
}

static void test_items_limit(void)
{
    wh_buf_t in, out;
    wh_json_error_t err;
    wh_buf_init(&in);
    wh_buf_init(&out);

    /* The array itself is one value. */
    for (int extra = 0; extra <= 1; extra++) {
        wh_buf_reset(&in);
        wh_buf_reset(&out);
        wh_buf_putc(&in, '[');
        for (int i = 0; i < WH_JSON_MAX_ITEMS - 1 + extra; i++)
            wh_buf_puts(&in, i ? ",0" : "0");
        wh_buf_putc(&in, ']');
        int rc = convert_buf(&in, &out, &err);
        if (!extra) {
            CHECK_INT(rc, 0);
            CHECK_STR(hex(out.data, 5), "dd0001869f"); /* array32 header */
        } else {
            CHECK_INT(rc, WH_ELIMIT);
            CHECK_STR(err.text, "more than 100000 values in the document");
            CHECK_INT(out.len, 0);
        }
    }

    /* Keys are not values: an object of n members holds n + 1. */
    for (int extra = 0; extra <= 1; extra++) {
        wh_buf_reset(&in);
        wh_buf_reset(&out);
        wh_buf_putc(&in, '{');
        for (int i = 0; i < WH_JSON_MAX_ITEMS - 1 + extra; i++)
            wh_buf_printf(&in, "%s\"%d\":null", i ? "," : "", i);
        wh_buf_putc(&in, '}');
        CHECK_INT(convert_buf(&in, &out, &err), extra ? WH_ELIMIT : 0);
    }
    wh_buf_close(&in);
    wh_buf_close(&out);
}

static void test_string_limit(void)
{
    wh_buf_t in, out;
    wh_json_error_t err;
    wh_buf_init(&in);
    wh_buf_init(&out);

    for (int key = 0; key <= 1; key++) {
        for (int extra = 0; extra <= 1; extra++) {
            wh_buf_reset(&in);
            wh_buf_reset(&out);
            wh_buf_puts(&in, key ? "{\"" : "[\"");
            for (int i = 0; i < WH_JSON_MAX_STRING_BYTES + extra; i++)
                wh_buf_putc(&in, 'x');
            wh_buf_puts(&in, key ? "\":1}" : "\"]");
            int rc = convert_buf(&in, &out, &err);
            if (!extra) {
                CHECK_INT(rc, 0);
                /* array or map of 1, then str32 with the length */
                CHECK_STR(hex(out.data, 6), key ? "81db00040000" : "91db00040000");
            } else {
                CHECK_INT(rc, WH_ELIMIT);
                CHECK_STR(err.text, key ? "object key longer than 262144 bytes"
                                        : "string longer than 262144 bytes");
            }
        }
    }

    /* The limit is on decoded UTF-8 bytes: 131072 "\u00e4" escapes are 786432
     * bytes of JSON but exactly 262144 bytes of string. */
    for (int extra = 0; extra <= 1; extra++) {
        wh_buf_reset(&in);
        wh_buf_reset(&out);
        wh_buf_putc(&in, '"');
        for (int i = 0; i < WH_JSON_MAX_STRING_BYTES / 2; i++)
            wh_buf_puts(&in, "\\u00e4");
        if (extra)
            wh_buf_putc(&in, 'x');
        wh_buf_putc(&in, '"');
        CHECK_INT(convert_buf(&in, &out, &err), extra ? WH_ELIMIT : 0);
    }
    wh_buf_close(&in);
    wh_buf_close(&out);
}

static void test_appends(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_puts(&b, "x");
    CHECK_INT(wh_json_to_msgpack("[1]", 3, &b, NULL), 0);
    CHECK_STR(hex(b.data, b.len), "789101");
    wh_buf_close(&b);
}

/* ---- msgpack -> JSON ------------------------------------------------------ */

static wh_buf_t packed;
static msgpack_packer pk;

static void pack_begin(void)
{
    wh_buf_reset(&packed);
    msgpack_packer_init(&pk, &packed, mp_write);
}

static int pack_render(void)
{
    return render_bytes(packed.data, packed.len);
}

/* Packs with the calls in expr, then renders what they packed. */
#define RENDER(expr) (pack_begin(), (expr), pack_render())

static void test_render_scalars(void)
{
    CHECK_INT(RENDER(msgpack_pack_nil(&pk)), 0);
    CHECK_STR(rendered, "null");
    CHECK_INT(RENDER(msgpack_pack_true(&pk)), 0);
    CHECK_STR(rendered, "true");
    CHECK_INT(RENDER(msgpack_pack_false(&pk)), 0);
    CHECK_STR(rendered, "false");
    CHECK_INT(RENDER(msgpack_pack_uint64(&pk, UINT64_MAX)), 0);
    CHECK_STR(rendered, "18446744073709551615");
    CHECK_INT(RENDER(msgpack_pack_int64(&pk, INT64_MIN)), 0);
    CHECK_STR(rendered, "-9223372036854775808");
    CHECK_INT(RENDER(msgpack_pack_int8(&pk, -1)), 0);
    CHECK_STR(rendered, "-1");
    CHECK_INT(RENDER(msgpack_pack_uint8(&pk, 0)), 0);
    CHECK_STR(rendered, "0");
}

static void test_render_floats(void)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.1, "0.1"},
        {1.0, "1.0"},
        {100.0, "100.0"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {1.5, "1.5"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e16, "1e+16"},
        {123456789012345.0, "123456789012345.0"},
        {1e21, "1e+21"},
        {1e-7, "1e-07"},
        {5e-324, "5e-324"},
        {-2.5e-320, "-2.5e-320"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {1.0 / 3.0, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(RENDER(msgpack_pack_double(&pk, cases[i].v)), 0);
        CHECK_STR(rendered, cases[i].text);
        /* And it reads back as the same float64. */
        wh_buf_t mp;
        wh_buf_init(&mp);
        CHECK_INT(wh_json_to_msgpack(rendered, strlen(rendered), &mp, NULL), 0);
        double back;
        CHECK_INT(mp.len, 9);
        CHECK_INT((unsigned char)mp.data[0], 0xcb);
        uint64_t bits = 0;
        for (int k = 1; k < 9; k++)
            bits = bits << 8 | (unsigned char)mp.data[k];
        memcpy(&back, &bits, sizeof back);
        CHECK(memcmp(&back, &cases[i].v, sizeof back) == 0);
        wh_buf_close(&mp);
    }
    CHECK_INT(RENDER(msgpack_pack_double(&pk, NAN)), 0);
    CHECK_STR(rendered, "null");
    CHECK_INT(RENDER(msgpack_pack_double(&pk, INFINITY)), 0);
    CHECK_STR(rendered, "null");
    CHECK_INT(RENDER(msgpack_pack_double(&pk, -INFINITY)), 0);
    CHECK_STR(rendered, "null");
    /* float32 gets the shortest text for a float, not for its widened
     * double (0.100000001490116...). */
    CHECK_INT(RENDER(msgpack_pack_float(&pk, 0.1f)), 0);
    CHECK_STR(rendered, "0.1");
    CHECK_INT(RENDER(msgpack_pack_float(&pk, 16777216.0f)), 0);
    CHECK_STR(rendered, "16777216.0");
    CHECK_INT(RENDER(msgpack_pack_float(&pk, 3.4028235e38f)), 0);
    CHECK_STR(rendered, "3.4028235e+38");
    CHECK_INT(RENDER(msgpack_pack_float(&pk, 1e-45f)), 0);
    CHECK_STR(rendered, "1e-45");
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Every finite double, rendered and parsed again, is the same double, sign
 * of zero included; every float32 rendered reads back through strtof. Fixed
 * pseudo-random bit patterns cover both signs, normals and a few hundred
 * subnormals. */
static void test_float_bits_round_trip(void)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    wh_buf_t text, mp;
    wh_buf_init(&text);
    wh_buf_init(&mp);
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = xorshift(&x);
        if (i % 64 == 0)
            bits &= 0x800fffffffffffffu; /* force a subnormal now and then */
        double d;
        memcpy(&d, &bits, sizeof d);
        if (isfinite(d)) {
            msgpack_object o = {.type = MSGPACK_OBJECT_FLOAT64, .via.f64 = d};
            wh_buf_reset(&text);
            wh_buf_reset(&mp);
            CHECK_INT(wh_json_from_msgpack(&o, &text), 0);
            CHECK_INT(wh_json_to_msgpack(text.data, text.len, &mp, NULL), 0);
            CHECK_INT(mp.len, 9);
            uint64_t back = 0;
            for (int k = 1; k < 9; k++)
                back = back << 8 | (unsigned char)mp.data[k];
            if (back != bits)
                fprintf(stderr, "%016llx rendered as %s\n", (unsigned long long)bits, text.data);
            CHECK(back == bits);
        }

        uint32_t fbits = (uint32_t)(bits >> 32);
        float f;
        memcpy(&f, &fbits, sizeof f);
        if (isfinite(f)) {
            msgpack_object o = {.type = MSGPACK_OBJECT_FLOAT32, .via.f64 = f};
            wh_buf_reset(&text);
            CHECK_INT(wh_json_from_msgpack(&o, &text), 0);
            float g = strtof(text.data, NULL);
            CHECK(memcmp(&f, &g, sizeof f) == 0);
            CHECK(strpbrk(text.data, ".e") != NULL);
        }
    }
    wh_buf_close(&text);
    wh_buf_close(&mp);
}

static void test_render_strings(void)
{
    CHECK_INT(
        RENDER((msgpack_pack_str(&pk, 9), msgpack_pack_str_body(&pk, "a\"\\\n\t\x01\x7f/\xc3", 9))),
        WH_EPROTO);
    CHECK_INT(RENDER((msgpack_pack_str(&pk, 10),
                      msgpack_pack_str_body(&pk, "a\"\\\n\t\x01\x7f/\xc3\xa4", 10))),
              0);
    CHECK_STR(rendered, "\"a\\\"\\\\\\n\\t\\u0001\\u007f/\xc3\xa4\"");
    CHECK_INT(RENDER((msgpack_pack_str(&pk, 3), msgpack_pack_str_body(&pk, "a\0b", 3))), 0);
    CHECK_STR(rendered, "\"a\\u0000b\"");
    CHECK_INT(RENDER(msgpack_pack_str(&pk, 0)), 0);
    CHECK_STR(rendered, "\"\"");

    /* Invalid UTF-8 would make the whole reply invalid JSON. */
    static const char *bad[] = {
        "\xff",             /* never valid */
        "\xc3",             /* truncated */
        "\xc0\x80",         /* overlong NUL */
        "\xe0\x80\x80",     /* overlong */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf0\x9f\x98",     /* truncated */
        "a\x80",            /* stray continuation byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i]);
        CHECK_INT(RENDER((msgpack_pack_str(&pk, n), msgpack_pack_str_body(&pk, bad[i], n))),
                  WH_EPROTO);
    }
    /* The edges of each valid range. */
    static const char *good[] = {"\xc2\x80",     "\xe0\xa0\x80",     "\xed\x9f\xbf",
                                 "\xee\x80\x80", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t n = strlen(good[i]);
        CHECK_INT(RENDER((msgpack_pack_str(&pk, n), msgpack_pack_str_body(&pk, good[i], n))), 0);
    }
}

static void test_render_bin_ext(void)
{
    CHECK_INT(RENDER((msgpack_pack_bin(&pk, 4), msgpack_pack_bin_body(&pk, "\0\1\2\xff", 4))), 0);
    CHECK_STR(rendered, "\"AAEC/w==\"");
    CHECK_INT(RENDER((msgpack_pack_bin(&pk, 5), msgpack_pack_bin_body(&pk, "\xfb\xff\xbf\0\1", 5))),
              0);
    CHECK_STR(rendered, "\"+/+/AAE=\"");
    CHECK_INT(RENDER((msgpack_pack_bin(&pk, 6), msgpack_pack_bin_body(&pk, "foobar", 6))), 0);
    CHECK_STR(rendered, "\"Zm9vYmFy\"");
    CHECK_INT(RENDER(msgpack_pack_bin(&pk, 0)), 0);
    CHECK_STR(rendered, "\"\"");
    CHECK_INT(RENDER((msgpack_pack_ext(&pk, 1, 1), msgpack_pack_ext_body(&pk, "x", 1))), WH_EPROTO);
    CHECK_INT(RENDER((msgpack_pack_array(&pk, 2), msgpack_pack_nil(&pk),
                      msgpack_pack_ext(&pk, 1, 1), msgpack_pack_ext_body(&pk, "x", 1))),
              WH_EPROTO);
}

static void test_render_maps(void)
{
    CHECK_INT(RENDER((msgpack_pack_map(&pk, 2), msgpack_pack_str_with_body(&pk, "b", 1),
                      msgpack_pack_array(&pk, 0), msgpack_pack_str_with_body(&pk, "a", 1),
                      msgpack_pack_map(&pk, 0))),
              0);
    CHECK_STR(rendered, "{\"b\":[],\"a\":{}}");
    /* Keys must be strings: JSON has no other kind. */
    CHECK_INT(RENDER((msgpack_pack_map(&pk, 1), msgpack_pack_int(&pk, 1), msgpack_pack_nil(&pk))),
              WH_EPROTO);
    CHECK_INT(RENDER((msgpack_pack_map(&pk, 2), msgpack_pack_str_with_body(&pk, "a", 1),
                      msgpack_pack_nil(&pk), msgpack_pack_bin_with_body(&pk, "b", 1),
                      msgpack_pack_nil(&pk))),
              WH_EPROTO);
    CHECK_INT(RENDER((msgpack_pack_map(&pk, 1), msgpack_pack_str_with_body(&pk, "\xff", 1),
                      msgpack_pack_nil(&pk))),
              WH_EPROTO);
}

static void test_render_depth(void)
{
    /* The unpacker cannot produce a tree deeper than 32, so build it. */
    msgpack_object chain[WH_JSON_MAX_DEPTH + 2];
    wh_buf_t b;
    wh_buf_init(&b);
    for (int depth = WH_JSON_MAX_DEPTH; depth <= WH_JSON_MAX_DEPTH + 1; depth++) {
        for (int i = 0; i < depth; i++) {
            chain[i].type = MSGPACK_OBJECT_ARRAY;
            chain[i].via.array.size = 1;
            chain[i].via.array.ptr = &chain[i + 1];
        }
        chain[depth].type = MSGPACK_OBJECT_NIL;
        wh_buf_reset(&b);
        int rc = wh_json_from_msgpack(&chain[0], &b);
        if (depth == WH_JSON_MAX_DEPTH) {
            CHECK_INT(rc, 0);
            CHECK_INT(b.len, 2 * WH_JSON_MAX_DEPTH + 4);
            CHECK(memcmp(b.data + WH_JSON_MAX_DEPTH, "null", 4) == 0);
        } else {
            CHECK_INT(rc, WH_ELIMIT);
            CHECK_INT(b.len, 0);
        }
    }
    wh_buf_close(&b);
}

/* ---- both ways -------------------------------------------------------------- */

static void test_round_trip(void)
{
    /* Documents already in the compact form the renderer produces. */
    static const char *docs[] = {
        "{}",
        "[]",
        "null",
        "0",
        "-9223372036854775808",
        "9223372036854775807",
        "\"\"",
        "\"\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80 \\\"q\\\" \\\\ \\n\\r\\t\\u0001\\u001f\"",
        "[true,false,null,1,-1,0.5,-0.0,1e+300,2.5e-300,0.30000000000000004]",
        "{\"org\":\"org_7\",\"title\":\"Kooperationsvereinbarung BGF 2025\",\"parties\":["
        "{\"org\":\"org_7\",\"role\":\"employer\"},{\"org\":\"ins_2\",\"role\":\"insurer\"}],"
        "\"budget_eur\":12500.5,\"employees\":340,\"measures\":[{\"kind\":\"stress\","
        "\"sessions\":[1,2,3]},{\"kind\":\"back\",\"sessions\":[]}],\"notes\":null,"
        "\"signed\":false}",
        "{\"z\":1,\"a\":{\"a\":{\"a\":[[[[]]]]}},\"\":\"\"}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        CHECK_STR(round_trip(docs[i]), docs[i]);

    /* Other spellings come back in the compact form. */
    CHECK_STR(round_trip(" { \"a\" : [ 1 , 2.50, 1E2, 1e-2 ] ,\n\t\"b\":\"\\u00e4\\/\\b\\f\" } "),
              "{\"a\":[1,2.5,100.0,0.01],\"b\":\"\xc3\xa4/\\u0008\\u000c\"}");
}

/* ---- the one-pass parser against jansson ---------------------------------- */

/* Runs both ways; returns the one-pass parser's code and checks that what it
 * accepts jansson accepts with the same bytes, and that a hand-over leaves
 * the buffer as it was. */
static int fast_vs_jansson(const char *json, size_t len)
{
    wh_buf_t fast, slow;
    wh_buf_init(&fast);
    wh_buf_init(&slow);
    wh_buf_puts(&fast, "keep");
    wh_buf_puts(&slow, "keep");
    int frc = wh_json_to_msgpack_fast(json, len, &fast);
    int src = wh_json_to_msgpack_jansson(json, len, &slow, NULL);
    if (frc == 0) {
        CHECK_INT(src, 0);
        CHECK_INT(fast.len, slow.len);
        CHECK(memcmp(fast.data, slow.data, fast.len) == 0);
    } else {
        CHECK_INT(frc, WH_EAGAIN);
        CHECK_INT(fast.len, 4);
        CHECK_STR(fast.data, "keep");
    }
    wh_buf_close(&fast);
    wh_buf_close(&slow);
    return frc;
}

#define FAST(json) fast_vs_jansson(json, strlen(json))

static void test_fast_path(void)
{
    /* What clients send: handled in one pass, byte for byte as jansson. */
    static const char *handled[] = {
        "{\"org_id\":\"01JD0000000000000000000000\",\"external_id\":\"e-1\",\"instrument\":"
        "\"phq9\",\"subject\":\"s-1\",\"unit\":\"U1\",\"taken_at\":\"2025-03-01T08:00:00Z\","
        "\"language\":\"de\",\"answers\":[2,2,2,2,2,0,0,0,0]}",
        " { \"a\" : [ 1 , -2 , 3.5 , -0 , 0 , 1e3 , 2E-2 , -1.25e+2 ] ,\n\t\"b\":{\"c\":null},\r"
        "\"d\":true,\"e\":false,\"f\":\"\",\"g\":[],\"h\":{}} ",
        "\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"",
        "\"\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"",
        "123456789012345678",
        "-123456789012345678",
        "[127,128,255,256,65535,65536,4294967295,4294967296,-32,-33,-128,-129,-32768,-32769]",
        "0.1",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", /* 31 deep */
    };
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) {
        if (FAST(handled[i]) != 0)
            fprintf(stderr, "not handled in one pass: %s\n", handled[i]);
        CHECK_INT(FAST(handled[i]), 0);
    }
    /* Containers past the one-byte header: the elements move to make room. */
    static const size_t sizes[] = {15, 16, 65535, 65536};
    wh_buf_t doc;
    wh_buf_init(&doc);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        wh_buf_reset(&doc);
        wh_buf_puts(&doc, "{\"k\":[");
        for (size_t k = 0; k < sizes[i]; k++)
            wh_buf_puts(&doc, k ? ",1" : "1");
        wh_buf_puts(&doc, "],\"m\":{");
        for (size_t k = 0; k < 16 && k < sizes[i]; k++)
            wh_buf_printf(&doc, "%s\"k%zu\":%zu", k ? "," : "", k, k);
        wh_buf_puts(&doc, "}}");
        CHECK_INT(fast_vs_jansson(doc.data, doc.len), 0);
    }
    wh_buf_close(&doc);

    /* Handed over to jansson, which gives the answer or the error. */
    static const char *handed[] = {
        "\"\\u00e4\"",         /* \u escapes */
        "{\"a\":1,\"a\":2}",   /* duplicate key */
        "1234567890123456789", /* might not fit an int64 */
        "1e400",               /* overflows a double */
        "",                    /* empty */
        "[1,]",                /* malformed */
        "[1] x",               /* trailing text */
        "01",                  /* leading zero */
        "\"a\x01\"",           /* control character */
        "\"\xc0\x80\"",        /* overlong UTF-8 */
        "\"\xed\xa0\x80\"",    /* surrogate */
        "tru",                 /* truncated literal */
        "\"abc",               /* unterminated string */
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", /* 32 deep */
    };
    for (size_t i = 0; i < sizeof handed / sizeof handed[0]; i++) {
        if (FAST(handed[i]) != WH_EAGAIN)
            fprintf(stderr, "handled in one pass: %s\n", handed[i]);
        CHECK_INT(FAST(handed[i]), WH_EAGAIN);
    }
    /* An object of more keys than the one-pass parser checks. */
    wh_buf_init(&doc);
    wh_buf_putc(&doc, '{');
    for (int k = 0; k < 65; k++)
        wh_buf_printf(&doc, "%s\"k%d\":%d", k ? "," : "", k, k);
    wh_buf_putc(&doc, '}');
    CHECK_INT(fast_vs_jansson(doc.data, doc.len), WH_EAGAIN);
    wh_buf_close(&doc);
    /* The errors are still jansson's, with their positions. */
    wh_json_error_t err;
    CHECK_INT(to_fail("{\"a\":1,\"a\":2}", 13, &err), WH_EJSON);
    CHECK(strstr(err.text, "duplicate") != NULL);
    CHECK_STR(to_hex("\"\\u00e4\""), "a2c3a4");
}

int main(void)
{
    TEST(test_integers);
    TEST(test_integer_range);
    TEST(test_floats);
    TEST(test_scalars_and_strings);
    TEST(test_unicode);
    TEST(test_string_encodings);
    TEST(test_nested);
    TEST(test_malformed);
    TEST(test_duplicate_key);
    TEST(test_depth_limit);
    TEST(test_items_limit);
    TEST(test_string_limit);
    TEST(test_appends);
    TEST(test_render_scalars);
    TEST(test_render_floats);
    TEST(test_float_bits_round_trip);
    TEST(test_render_strings);
    TEST(test_render_bin_ext);
    TEST(test_render_maps);
    TEST(test_render_depth);
    TEST(test_round_trip);
    TEST(test_fast_path);
    wh_buf_close(&packed);
    fprintf(stderr, "json_test: ok\n");
    return 0;
}
