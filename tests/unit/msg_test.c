/* common/msg.c: the bounds checker in front of msgpack-c and the accessors.
 *
 * The hostile-header tests come first and watch the process's peak RSS:
 * msgpack-c 4.0 allocates for a container's declared count before it looks
 * at the bytes, so a checker that let one through would show up here as a
 * jump of gigabytes (and under AddressSanitizer as an allocation-size
 * error) rather than as a wrong return code alone. Every named limit is
 * accepted at its value and refused one past it. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "check.h"
#include "err.h"
#include "msg.h"

/* ---- helpers ------------------------------------------------------------ */

static long max_rss_kb(void)
{
    struct rusage ru;
    CHECK_INT(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

static void put(wh_buf_t *b, const char *bytes, size_t n)
{
    wh_buf_append(b, bytes, n);
    CHECK(!wh_buf_failed(b));
}

static void put_u8(wh_buf_t *b, unsigned v)
{
    char c = (char)v;
    put(b, &c, 1);
}

static void put_be32(wh_buf_t *b, uint32_t v)
{
    char c[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    put(b, c, 4);
}

/* Both entry points must agree: check's verdict, and decode's. */
static int verdict(const char *data, size_t len)
{
    int rc = wh_msg_check(data, len);
    wh_msg_t m;
    int drc = wh_msg_decode(data, len, &m);
    CHECK_INT(drc, rc);
    if (drc == 0) {
        CHECK(m.root != NULL);
        wh_msg_close(&m);
        CHECK(m.root == NULL);
    } else {
        CHECK(m.root == NULL);
        wh_msg_close(&m); /* harmless after a failed decode */
    }
    return rc;
}

#define V(lit) verdict((lit), sizeof(lit) - 1)

/* ---- hostile headers ---------------------------------------------------- */

static void test_array32_huge_count(void)
{
    long before = max_rss_kb();
    /* Besides the largest count, ones that an allocator would grant (and
     * that AddressSanitizer's shadow memory would make visible in RSS). */
    static const uint32_t claims[] = {0xffffffff, 0x7fffffff, 0x0fffffff, 0x00ffffff, 0x000fffff};
    char msg[32];
    for (size_t c = 0; c < sizeof claims / sizeof claims[0]; c++)
        for (size_t len = 5; len <= 17; len++) {
            memset(msg, 0, sizeof msg); /* the tail: fixint 0s */
            msg[0] = (char)0xdd;
            for (int k = 0; k < 4; k++)
                msg[1 + k] = (char)(claims[c] >> (24 - 8 * k));
            for (int round = 0; round < 20; round++)
                CHECK_INT(verdict(msg, len), WH_EPROTO);
        }
    /* Counts just over what remains, at each header width. */
    CHECK_INT(V("\x9f\x01\x02"), WH_EPROTO);
    CHECK_INT(V("\xdc\x00\x03\x01\x02"), WH_EPROTO);
    CHECK_INT(V("\xdd\x00\x00\x00\x03\x01\x02"), WH_EPROTO);
    /* And just at it: accepted. */
    CHECK_INT(V("\xdc\x00\x02\x01\x02"), 0);
    CHECK_INT(V("\xdd\x00\x00\x00\x02\x01\x02"), 0);
    /* Nested: the inner claim is checked against the bytes left. */
    CHECK_INT(V("\x91\xdd\xff\xff\xff\xff\x00\x00\x00\x00"), WH_EPROTO);
    CHECK_INT(V("\x81\xa1k\xdd\xff\xff\xff\xff\x00"), WH_EPROTO);
    CHECK_INT(V("\x92\x00\xdd\x7f\xff\xff\xff\x00"), WH_EPROTO);
    long after = max_rss_kb();
    CHECK(after - before < 10 * 1024);
}

static void test_map32_huge_count(void)
{
    long before = max_rss_kb();
    /* Besides the largest count, ones that an allocator would grant (and
     * that AddressSanitizer's shadow memory would make visible in RSS). */
    static const uint32_t claims[] = {0xffffffff, 0x7fffffff, 0x0fffffff, 0x00ffffff, 0x000fffff};
    char msg[32];
    for (size_t c = 0; c < sizeof claims / sizeof claims[0]; c++)
        for (size_t len = 5; len <= 17; len++) {
            memset(msg, 0, sizeof msg);
            msg[0] = (char)0xdf;
            for (int k = 0; k < 4; k++)
                msg[1 + k] = (char)(claims[c] >> (24 - 8 * k));
            for (int round = 0; round < 20; round++)
                CHECK_INT(verdict(msg, len), WH_EPROTO);
        }
    /* A map of n pairs needs 2n values: n = remaining/2 + 1 is refused. */
    CHECK_INT(V("\x82\x01\x02\x03"), WH_EPROTO);
    CHECK_INT(V("\xde\x00\x02\x01\x02\x03"), WH_EPROTO);
    CHECK_INT(V("\xdf\x00\x00\x00\x02\x01\x02\x03"), WH_EPROTO);
    CHECK_INT(V("\xdf\x80\x00\x00\x00\x01\x02"), WH_EPROTO);
    CHECK_INT(V("\xde\x00\x02\x01\x02\x03\x04"), 0);
    CHECK_INT(V("\xdf\x00\x00\x00\x02\x01\x02\x03\x04"), 0);
    long after = max_rss_kb();
    CHECK(after - before < 10 * 1024);
}

static void test_str_bin_length_beyond_buffer(void)
{
    /* str32 and bin32 claiming more than remains: refused before any read
     * past the end (AddressSanitizer watches the exact-size copies). */
    CHECK_INT(V("\xdb\x00\x00\x00\x10"
                "abc"),
              WH_EPROTO);
    CHECK_INT(V("\xdb\x00\x00\x00\x04"
                "abc"),
              WH_EPROTO);
    CHECK_INT(V("\xdb\x00\x00\x00\x03"
                "abc"),
              0);
    CHECK_INT(V("\xc6\x00\x00\x00\x04"
                "abc"),
              WH_EPROTO);
    CHECK_INT(V("\xc6\x00\x00\x00\x03"
                "abc"),
              0);
    CHECK_INT(V("\xda\x00\x04"
                "abc"),
              WH_EPROTO);
    CHECK_INT(V("\xc5\x00\x04"
                "abc"),
              WH_EPROTO);
    CHECK_INT(V("\xd9\x04"
                "abc"),
              WH_EPROTO);
    CHECK_INT(V("\xc4\x04"
                "abc"),
              WH_EPROTO);
    CHECK_INT(V("\xa4"
                "abc"),
              WH_EPROTO);
    CHECK_INT(V("\xa3"
                "abc"),
              0);
    /* A length header that is itself cut off. */
    CHECK_INT(V("\xdb\x00\x00\x00"), WH_EPROTO);
    CHECK_INT(V("\xda\x00"), WH_EPROTO);
    CHECK_INT(V("\xd9"), WH_EPROTO);
    CHECK_INT(V("\xc6\x00\x00"), WH_EPROTO);
    CHECK_INT(V("\xdd\x00\x00\x00"), WH_EPROTO);
    CHECK_INT(V("\xdf\x00"), WH_EPROTO);
    CHECK_INT(V("\xdc"), WH_EPROTO);
    /* A declared length over WH_MSG_MAX_STR is a limit, whatever remains. */
    CHECK_INT(V("\xdb\xff\xff\xff\xff"
                "abc"),
              WH_ELIMIT);
    CHECK_INT(V("\xc6\xff\xff\xff\xff"), WH_ELIMIT);
}

static void test_reserved_and_ext_rejected(void)
{
    CHECK_INT(V("\xc1"), WH_EPROTO);
    CHECK_INT(V("\x91\xc1"), WH_EPROTO);
    CHECK_INT(V("\x81\xc1\x00"), WH_EPROTO);
    /* Every extension form, well-formed, is refused. */
    CHECK_INT(V("\xd4\x01\x00"), WH_EPROTO);                             /* fixext 1 */
    CHECK_INT(V("\xd5\x01\x00\x00"), WH_EPROTO);                         /* fixext 2 */
    CHECK_INT(V("\xd6\x01\x00\x00\x00\x00"), WH_EPROTO);                 /* fixext 4 */
    CHECK_INT(V("\xd7\xff\x00\x00\x00\x00\x00\x00\x00\x00"), WH_EPROTO); /* timestamp */
    CHECK_INT(V("\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
              WH_EPROTO);                                    /* fixext 16 */
    CHECK_INT(V("\xc7\x01\x01\x00"), WH_EPROTO);             /* ext 8 */
    CHECK_INT(V("\xc8\x00\x01\x01\x00"), WH_EPROTO);         /* ext 16 */
    CHECK_INT(V("\xc9\x00\x00\x00\x01\x01\x00"), WH_EPROTO); /* ext 32 */
    CHECK_INT(V("\x92\x01\xd4\x01\x00"), WH_EPROTO);
    /* And a hostile ext 32 length goes nowhere. */
    CHECK_INT(V("\xc9\xff\xff\xff\xff\x01"), WH_EPROTO);
}

static void test_trailing_bytes_rejected(void)
{
    CHECK_INT(V("\x01\x02"), WH_EPROTO);
    CHECK_INT(V("\xc0\xc0"), WH_EPROTO);
    CHECK_INT(V("\x80\x00"), WH_EPROTO);
    CHECK_INT(V("\x81\xa1k\x01\x00"), WH_EPROTO);
    CHECK_INT(V("\xa1x\x00"), WH_EPROTO);
    CHECK_INT(V("\x90\x90"), WH_EPROTO);
    CHECK_INT(verdict("", 0), WH_EPROTO);
    CHECK_INT(verdict("\x00", 1), 0);
}

/* ---- every type, exact widths ------------------------------------------- */

static void test_scalar_widths(void)
{
    CHECK_INT(V("\x00"), 0);
    CHECK_INT(V("\x7f"), 0);
    CHECK_INT(V("\xe0"), 0);
    CHECK_INT(V("\xff"), 0);
    CHECK_INT(V("\xc0"), 0);
    CHECK_INT(V("\xc2"), 0);
    CHECK_INT(V("\xc3"), 0);
    static const struct {
        unsigned char tag;
        size_t width;
    } fixed[] = {{0xcc, 1}, {0xcd, 2}, {0xce, 4}, {0xcf, 8}, {0xd0, 1},
                 {0xd1, 2}, {0xd2, 4}, {0xd3, 8}, {0xca, 4}, {0xcb, 8}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        char msg[16];
        memset(msg, 0x11, sizeof msg);
        msg[0] = (char)fixed[i].tag;
        CHECK_INT(verdict(msg, 1 + fixed[i].width), 0);
        CHECK_INT(verdict(msg, fixed[i].width), WH_EPROTO);     /* one short */
        CHECK_INT(verdict(msg, 2 + fixed[i].width), WH_EPROTO); /* one over */
    }
    CHECK_INT(V("\xa0"), 0);
    CHECK_INT(V("\xd9\x00"), 0);
    CHECK_INT(V("\xda\x00\x00"), 0);
    CHECK_INT(V("\xdb\x00\x00\x00\x00"), 0);
    CHECK_INT(V("\xc4\x00"), 0);
    CHECK_INT(V("\x90"), 0);
    CHECK_INT(V("\xdc\x00\x00"), 0);
    CHECK_INT(V("\xdd\x00\x00\x00\x00"), 0);
    CHECK_INT(V("\x80"), 0);
    CHECK_INT(V("\xde\x00\x00"), 0);
    CHECK_INT(V("\xdf\x00\x00\x00\x00"), 0);
}

/* A message with one of everything, built with the module's writer. */
static void sample(wh_buf_t *b)
{
    msgpack_packer pk;
    wh_msg_writer_init(&pk, b);
    msgpack_pack_map(&pk, 12);
    wh_msg_kv_str(&pk, "str", "K\xc3\xb6ln");
    wh_msg_kv_int(&pk, "pos", 300);
    wh_msg_kv_int(&pk, "neg", -70000);
    wh_msg_kv_int(&pk, "big", INT64_MAX);
    wh_msg_kv_bool(&pk, "yes", true);
    wh_msg_kv_nil(&pk, "none");
    wh_msg_pack_str(&pk, "f64");
    msgpack_pack_double(&pk, 2.5);
    wh_msg_pack_str(&pk, "f32");
    msgpack_pack_float(&pk, 4.0f);
    wh_msg_pack_str(&pk, "bin");
    msgpack_pack_bin(&pk, 3);
    msgpack_pack_bin_body(&pk, "\x00\x01\x02", 3);
    wh_msg_pack_str(&pk, "arr");
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, 1);
    wh_msg_pack_str(&pk, "two");
    msgpack_pack_array(&pk, 0);
    wh_msg_pack_str(&pk, "map");
    msgpack_pack_map(&pk, 1);
    wh_msg_kv_int(&pk, "inner", -1);
    wh_msg_pack_str(&pk, "u64");
    msgpack_pack_uint64(&pk, UINT64_MAX);
    CHECK(!wh_buf_failed(b));
}

static void test_every_prefix_truncated(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    sample(&b);
    CHECK_INT(verdict(b.data, b.len), 0);
    CHECK(b.len > 90);
    for (size_t n = 0; n < b.len; n++) {
        /* An exact-size copy, so that a read past n is an ASan error. */
        char *p = malloc(n ? n : 1);
        CHECK(p != NULL);
        memcpy(p, b.data, n);
        int rc = verdict(p, n);
        if (rc != WH_EPROTO) {
            fprintf(stderr, "prefix of %zu bytes: %d\n", n, rc);
            CHECK(0);
        }
        free(p);
    }
    wh_buf_close(&b);
}

/* ---- limits ------------------------------------------------------------- */

/* count nested one-element arrays around a fixint; innermost empty when
 * empty_inside (so count containers, the last with no children). */
static int nested(int count, bool empty_inside, bool maps)
{
    wh_buf_t b;
    wh_buf_init(&b);
    for (int i = 0; i < count - (empty_inside ? 1 : 0); i++) {
        if (maps)
            put(&b, "\x81\xa1k", 3);
        else
            put_u8(&b, 0x91);
    }
    if (empty_inside)
        put_u8(&b, maps ? 0x80 : 0x90);
    else
        put_u8(&b, 0x07);
    int rc = verdict(b.data, b.len);
    if (rc == 0 && !empty_inside) {
        wh_msg_t m;
        CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
        const msgpack_object *o = m.root;
        for (int i = 0; i < count; i++) {
            if (maps) {
                CHECK_INT(o->type, MSGPACK_OBJECT_MAP);
                o = wh_msg_get(o, "k");
            } else {
                CHECK_INT(o->type, MSGPACK_OBJECT_ARRAY);
                CHECK_INT(o->via.array.size, 1);
                o = &o->via.array.ptr[0];
            }
        }
        int64_t v;
        CHECK(wh_msg_int(o, &v));
        CHECK_INT(v, 7);
        wh_msg_close(&m);
    }
    wh_buf_close(&b);
    return rc;
}

static void test_depth_limit(void)
{
    CHECK_INT(WH_MSG_MAX_DEPTH, 32);
    CHECK_INT(nested(1, false, false), 0);
    CHECK_INT(nested(WH_MSG_MAX_DEPTH, false, false), 0);
    CHECK_INT(nested(WH_MSG_MAX_DEPTH + 1, false, false), WH_ELIMIT);
    CHECK_INT(nested(WH_MSG_MAX_DEPTH, false, true), 0);
    CHECK_INT(nested(WH_MSG_MAX_DEPTH + 1, false, true), WH_ELIMIT);
    /* An empty container is a level too: msgpack-c's own stack (32 deep)
     * counts it, so the checker must, or decode fails where check passed. */
    CHECK_INT(nested(WH_MSG_MAX_DEPTH, true, false), 0);
    CHECK_INT(nested(WH_MSG_MAX_DEPTH + 1, true, false), WH_ELIMIT);
    CHECK_INT(nested(WH_MSG_MAX_DEPTH, true, true), 0);
    CHECK_INT(nested(WH_MSG_MAX_DEPTH + 1, true, true), WH_ELIMIT);
    CHECK_INT(nested(1000, false, false), WH_ELIMIT);
    /* Depth is nesting, not the number of containers: many siblings at
     * one level are fine. */
    wh_buf_t b;
    wh_buf_init(&b);
    put(&b, "\xdc\x00\x64", 3);
    for (int i = 0; i < 100; i++)
        put(&b, "\x91\x91\x90", 3);
    CHECK_INT(verdict(b.data, b.len), 0);
    wh_buf_close(&b);
}

/* An array32 of n fixints: n + 1 values with the array itself. */
static int array_of(uint32_t n)
{
    wh_buf_t b;
    wh_buf_init(&b);
    put_u8(&b, 0xdd);
    put_be32(&b, n);
    for (uint32_t i = 0; i < n; i++)
        put_u8(&b, i & 0x7f);
    int rc = verdict(b.data, b.len);
    if (rc == 0) {
        wh_msg_t m;
        CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
        CHECK_INT(m.root->via.array.size, n);
        CHECK_INT(m.root->via.array.ptr[n - 1].via.u64, (n - 1) & 0x7f);
        wh_msg_close(&m);
    }
    wh_buf_close(&b);
    return rc;
}

static void test_items_limit(void)
{
    CHECK_INT(array_of(WH_MSG_MAX_ITEMS - 1), 0);
    CHECK_INT(array_of(WH_MSG_MAX_ITEMS), WH_ELIMIT);
    /* Map keys and values count separately: a map of n pairs is 2n + 1. */
    wh_buf_t b;
    wh_buf_init(&b);
    uint32_t pairs = (WH_MSG_MAX_ITEMS - 1) / 2;
    put_u8(&b, 0xdf);
    put_be32(&b, pairs);
    for (uint32_t i = 0; i < pairs; i++)
        put(&b, "\x01\x02", 2);
    CHECK_INT(verdict(b.data, b.len), 0);
    wh_buf_reset(&b);
    put_u8(&b, 0xdf);
    put_be32(&b, pairs + 1);
    for (uint32_t i = 0; i < pairs + 1; i++)
        put(&b, "\x01\x02", 2);
    CHECK_INT(verdict(b.data, b.len), WH_ELIMIT);
    wh_buf_close(&b);
}

static int str_of(unsigned tag, uint32_t n)
{
    wh_buf_t b;
    wh_buf_init(&b);
    put_u8(&b, tag);
    put_be32(&b, n);
    CHECK_INT(wh_buf_reserve(&b, n), 0);
    memset(b.data + b.len, 'a', n);
    b.len += n;
    int rc = verdict(b.data, b.len);
    if (rc == 0) {
        wh_msg_t m;
        CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
        CHECK_INT(m.root->type, tag == 0xdb ? MSGPACK_OBJECT_STR : MSGPACK_OBJECT_BIN);
        CHECK_INT(m.root->via.str.size, n);
        wh_msg_close(&m);
    }
    wh_buf_close(&b);
    return rc;
}

static void test_str_limit(void)
{
    CHECK_INT(str_of(0xdb, WH_MSG_MAX_STR), 0);
    CHECK_INT(str_of(0xdb, WH_MSG_MAX_STR + 1), WH_ELIMIT);
    CHECK_INT(str_of(0xc6, WH_MSG_MAX_STR), 0);
    CHECK_INT(str_of(0xc6, WH_MSG_MAX_STR + 1), WH_ELIMIT);
}

static void test_bytes_limit(void)
{
    /* A fixarray of four bin32 values totalling exactly WH_MSG_MAX_BYTES,
     * then the same with one more byte. */
    for (int extra = 0; extra <= 1; extra++) {
        wh_buf_t b;
        wh_buf_init(&b);
        put_u8(&b, 0x94);
        size_t last = WH_MSG_MAX_BYTES - 1 - 4 * 5 - 3 * (size_t)WH_MSG_MAX_STR + (size_t)extra;
        for (int i = 0; i < 4; i++) {
            uint32_t n = i < 3 ? WH_MSG_MAX_STR : (uint32_t)last;
            put_u8(&b, 0xc6);
            put_be32(&b, n);
            CHECK_INT(wh_buf_reserve(&b, n), 0);
            memset(b.data + b.len, i, n);
            b.len += n;
        }
        CHECK_INT(b.len, WH_MSG_MAX_BYTES + (size_t)extra);
        CHECK_INT(verdict(b.data, b.len), extra ? WH_ELIMIT : 0);
        wh_buf_close(&b);
    }
}

/* ---- accessors ---------------------------------------------------------- */

static void test_get_and_strings(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    sample(&b);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    const msgpack_object *r = m.root;
    CHECK_INT(r->type, MSGPACK_OBJECT_MAP);
    CHECK_INT(r->via.map.size, 12);

    CHECK(wh_msg_is_str(wh_msg_get(r, "str")));
    CHECK(wh_msg_str_eq(wh_msg_get(r, "str"), "K\xc3\xb6ln"));
    CHECK(!wh_msg_str_eq(wh_msg_get(r, "str"), "K\xc3\xb6l"));
    CHECK(!wh_msg_str_eq(wh_msg_get(r, "str"), "K\xc3\xb6lnx"));
    wh_str_t s = wh_msg_str(wh_msg_get(r, "str"));
    CHECK_INT(s.n, 5);
    CHECK(memcmp(s.p, "K\xc3\xb6ln", 5) == 0);
    /* Keys are matched whole. */
    CHECK(wh_msg_get(r, "st") == NULL);
    CHECK(wh_msg_get(r, "strx") == NULL);
    CHECK(wh_msg_get(r, "") == NULL);
    CHECK(wh_msg_get(r, "STR") == NULL);
    /* Not a map, or no object. */
    CHECK(wh_msg_get(wh_msg_get(r, "arr"), "two") == NULL);
    CHECK(wh_msg_get(NULL, "x") == NULL);
    CHECK(wh_msg_get(wh_msg_get(r, "map"), "inner") != NULL);

    CHECK(wh_msg_is_nil(wh_msg_get(r, "none")));
    CHECK(!wh_msg_is_nil(wh_msg_get(r, "str")));
    CHECK(!wh_msg_is_nil(NULL));
    CHECK(!wh_msg_is_str(NULL));
    CHECK(!wh_msg_is_str(wh_msg_get(r, "pos")));
    /* bin is not a string. */
    CHECK(!wh_msg_is_str(wh_msg_get(r, "bin")));
    s = wh_msg_str(wh_msg_get(r, "bin"));
    CHECK(s.p == NULL && s.n == 0);
    s = wh_msg_str(NULL);
    CHECK(s.p == NULL && s.n == 0);
    CHECK(!wh_msg_str_eq(NULL, ""));
    CHECK(!wh_msg_str_eq(wh_msg_get(r, "none"), ""));

    CHECK(wh_str_eq(WH_STR("abc"), "abc"));
    CHECK(!wh_str_eq(WH_STR("abc"), "ab"));
    CHECK(wh_str_eq(WH_STR(""), ""));
    CHECK(!wh_str_eq((wh_str_t){NULL, 0}, ""));
    wh_msg_close(&m);
    wh_buf_close(&b);

    /* A key that is not a string is skipped, not matched by its bytes. */
    CHECK_INT(wh_msg_decode("\x82\xc4\x01k\x01\xa1k\x02", 8, &m), 0);
    int64_t v;
    CHECK(wh_msg_int(wh_msg_get(m.root, "k"), &v));
    CHECK_INT(v, 2);
    wh_msg_close(&m);
    /* With duplicate keys the first wins. */
    CHECK_INT(wh_msg_decode("\x82\xa1k\x01\xa1k\x02", 7, &m), 0);
    CHECK(wh_msg_int(wh_msg_get(m.root, "k"), &v));
    CHECK_INT(v, 1);
    wh_msg_close(&m);
}

static bool int_of(const char *bytes, size_t n, int64_t *out)
{
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(bytes, n, &m), 0);
    bool ok = wh_msg_int(m.root, out);
    wh_msg_close(&m);
    return ok;
}

#define INT_OF(lit, out) int_of((lit), sizeof(lit) - 1, (out))

static void test_int(void)
{
    int64_t v = 99;
    CHECK(INT_OF("\x05", &v) && v == 5);
    CHECK(INT_OF("\xff", &v) && v == -1);
    CHECK(INT_OF("\xcc\xff", &v) && v == 255);
    CHECK(INT_OF("\xd0\x80", &v) && v == -128);
    CHECK(INT_OF("\xcd\x01\x2c", &v) && v == 300);
    CHECK(INT_OF("\xd2\xff\xfe\xee\x90", &v) && v == -70000);
    CHECK(INT_OF("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", &v) && v == INT64_MAX);
    CHECK(INT_OF("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", &v) && v == INT64_MIN);
    /* uint64 past INT64_MAX: false, and *out untouched. */
    v = 99;
    CHECK(!INT_OF("\xcf\x80\x00\x00\x00\x00\x00\x00\x00", &v));
    CHECK(!INT_OF("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", &v));
    CHECK_INT(v, 99);
    /* Integral floats count; others do not. */
    CHECK(INT_OF("\xcb\x40\x08\x00\x00\x00\x00\x00\x00", &v) && v == 3);           /* 3.0 */
    CHECK(INT_OF("\xcb\xc0\x59\x00\x00\x00\x00\x00\x00", &v) && v == -100);        /* -100.0 */
    CHECK(INT_OF("\xca\x40\x00\x00\x00", &v) && v == 2);                           /* 2.0f */
    CHECK(INT_OF("\xcb\x00\x00\x00\x00\x00\x00\x00\x00", &v) && v == 0);           /* 0.0 */
    CHECK(INT_OF("\xcb\x80\x00\x00\x00\x00\x00\x00\x00", &v) && v == 0);           /* -0.0 */
    CHECK(INT_OF("\xcb\x43\x40\x00\x00\x00\x00\x00\x00", &v) && v == (1LL << 53)); /* 2^53 */
    v = 99;
    CHECK(!INT_OF("\xcb\x40\x04\x00\x00\x00\x00\x00\x00", &v)); /* 2.5 */
    CHECK(!INT_OF("\xca\x3f\x00\x00\x00", &v));                 /* 0.5f */
    CHECK(!INT_OF("\xcb\x43\x50\x00\x00\x00\x00\x00\x00", &v)); /* 2^54 */
    CHECK(!INT_OF("\xcb\x43\xe0\x00\x00\x00\x00\x00\x00", &v)); /* 2^63 */
    CHECK(!INT_OF("\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00", &v)); /* inf */
    CHECK(!INT_OF("\xcb\xff\xf0\x00\x00\x00\x00\x00\x00", &v)); /* -inf */
    CHECK(!INT_OF("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00", &v)); /* NaN */
    CHECK_INT(v, 99);
    /* Other types. */
    CHECK(!INT_OF("\xa1"
                  "1",
                  &v));
    CHECK(!INT_OF("\xc0", &v));
    CHECK(!INT_OF("\xc3", &v));
    CHECK(!INT_OF("\x90", &v));
    CHECK(!wh_msg_int(NULL, &v));
    CHECK_INT(v, 99);
}

static void test_copy_str(void)
{
    wh_msg_t m;
    CHECK_INT(wh_msg_decode("\x93\xa5hello\xa0\x05", 9, &m), 0);
    const msgpack_object *hello = &m.root->via.array.ptr[0];
    const msgpack_object *empty = &m.root->via.array.ptr[1];
    const msgpack_object *five = &m.root->via.array.ptr[2];
    char out[8];
    memset(out, '#', sizeof out);
    CHECK_INT(wh_msg_copy_str(hello, out, 6), 0); /* five bytes and the NUL */
    CHECK_STR(out, "hello");
    memset(out, '#', sizeof out);
    CHECK_INT(wh_msg_copy_str(hello, out, 5), WH_ELIMIT);
    CHECK_INT(out[0], '#'); /* nothing written */
    CHECK_INT(wh_msg_copy_str(hello, out, 0), WH_ELIMIT);
    CHECK_INT(wh_msg_copy_str(empty, out, 1), 0);
    CHECK_STR(out, "");
    CHECK_INT(wh_msg_copy_str(empty, out, 0), WH_ELIMIT);
    CHECK_INT(wh_msg_copy_str(five, out, sizeof out), WH_ETYPE);
    CHECK_INT(wh_msg_copy_str(NULL, out, sizeof out), WH_ETYPE);
    wh_msg_close(&m);
}

/* ---- writer ------------------------------------------------------------- */

static void test_writer_bytes(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    wh_msg_kv_str(&pk, "a", "xy");
    wh_msg_kv_str(&pk, "n", NULL);
    wh_msg_kv_strn(&pk, "s", "abcdef", 2);
    wh_msg_kv_strn(&pk, "z", NULL, 5);
    wh_msg_kv_int(&pk, "i", -1);
    wh_msg_kv_int(&pk, "j", 1000);
    wh_msg_kv_bool(&pk, "t", true);
    wh_msg_kv_bool(&pk, "f", false);
    wh_msg_kv_nil(&pk, "u");
    wh_msg_pack_wstr(&pk, (wh_str_t){NULL, 3});
    wh_msg_pack_wstr(&pk, WH_STR("q"));
    wh_msg_pack_str(&pk, NULL);
    static const char want[] = "\xa1"
                               "a"
                               "\xa2"
                               "xy"
                               "\xa1"
                               "n"
                               "\xc0"
                               "\xa1"
                               "s"
                               "\xa2"
                               "ab"
                               "\xa1"
                               "z"
                               "\xc0"
                               "\xa1"
                               "i"
                               "\xff"
                               "\xa1"
                               "j"
                               "\xcd\x03\xe8"
                               "\xa1"
                               "t"
                               "\xc3"
                               "\xa1"
                               "f"
                               "\xc2"
                               "\xa1"
                               "u"
                               "\xc0"
                               "\xc0"
                               "\xa1"
                               "q"
                               "\xc0";
    CHECK_INT(b.len, sizeof want - 1);
    CHECK(memcmp(b.data, want, b.len) == 0);
    wh_buf_close(&b);
}

static void test_pack_obj_round_trip(void)
{
    wh_buf_t a, b;
    wh_buf_init(&a);
    wh_buf_init(&b);
    sample(&a);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(a.data, a.len, &m), 0);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    wh_msg_pack_obj(&pk, m.root);
    CHECK_INT(b.len, a.len);
    CHECK(memcmp(a.data, b.data, a.len) == 0);
    wh_msg_close(&m);
    /* The decoded values, one by one. */
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    int64_t v;
    CHECK(wh_msg_int(wh_msg_get(m.root, "pos"), &v) && v == 300);
    CHECK(wh_msg_int(wh_msg_get(m.root, "neg"), &v) && v == -70000);
    CHECK(wh_msg_int(wh_msg_get(m.root, "big"), &v) && v == INT64_MAX);
    CHECK(!wh_msg_int(wh_msg_get(m.root, "u64"), &v));
    CHECK(!wh_msg_int(wh_msg_get(m.root, "f64"), &v));
    CHECK(wh_msg_int(wh_msg_get(m.root, "f32"), &v) && v == 4);
    CHECK_INT(wh_msg_get(m.root, "yes")->type, MSGPACK_OBJECT_BOOLEAN);
    CHECK(wh_msg_get(m.root, "yes")->via.boolean);
    const msgpack_object *arr = wh_msg_get(m.root, "arr");
    CHECK_INT(arr->via.array.size, 3);
    CHECK(wh_msg_str_eq(&arr->via.array.ptr[1], "two"));
    CHECK_INT(arr->via.array.ptr[2].via.array.size, 0);
    CHECK(wh_msg_int(wh_msg_get(wh_msg_get(m.root, "map"), "inner"), &v) && v == -1);
    wh_msg_close(&m);
    wh_buf_close(&a);
    wh_buf_close(&b);
}

/* A comma-separated list packs as an array of its parts; "" is none. */
static void test_pack_csv(void)
{
    wh_buf_t b = {0};
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    wh_msg_pack_csv(&pk, "");
    wh_msg_pack_csv(&pk, "a");
    wh_msg_pack_csv(&pk, "ab,c,d");
    static const char want[] = "\x90"
                               "\x91\xa1"
                               "a"
                               "\x93\xa2"
                               "ab"
                               "\xa1"
                               "c"
                               "\xa1"
                               "d";
    CHECK_INT(b.len, sizeof want - 1);
    CHECK(memcmp(b.data, want, b.len) == 0);
    wh_buf_close(&b);
}

/* One pass finds what a lookup per key finds: present, missing, the first
 * of a repeated key, non-string keys passed over, and nothing in a
 * non-map. */
static void test_get_many(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    msgpack_pack_map(&pk, 4);
    wh_msg_pack_str(&pk, "a");
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 7); /* a non-string key */
    msgpack_pack_int(&pk, 2);
    wh_msg_pack_str(&pk, "b");
    msgpack_pack_int(&pk, 3);
    wh_msg_pack_str(&pk, "a");
    msgpack_pack_int(&pk, 4);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    const wh_str_t keys[] = {WH_STR("b"), WH_STR("a"), WH_STR("c"), WH_STR("ab")};
    const msgpack_object *out[4];
    wh_msg_get_many(m.root, keys, 4, out);
    for (int i = 0; i < 4; i++) {
        char k[3] = {0};
        memcpy(k, keys[i].p, keys[i].n);
        CHECK(out[i] == wh_msg_get(m.root, k));
    }
    CHECK_INT(out[0]->via.i64, 3);
    CHECK_INT(out[1]->via.i64, 1);
    CHECK(out[2] == NULL && out[3] == NULL);
    wh_msg_get_many(out[0], keys, 2, out);
    CHECK(out[0] == NULL && out[1] == NULL);
    wh_msg_get_many(NULL, keys, 1, out);
    CHECK(out[0] == NULL);
    wh_msg_close(&m);
    wh_buf_close(&b);
}

/* Decoding takes zones kept per thread: more messages alive at once than
 * zones kept, each closed in any order, all stay intact; a zeroed wh_msg_t
 * closes without touching a kept zone; a large message gets its own. */
static void test_zones_kept(void)
{
    enum { N = WH_MSG_ZONES_KEPT + 3 };
    wh_buf_t b[N];
    wh_msg_t m[N];
    for (int i = 0; i < N; i++) {
        wh_buf_init(&b[i]);
        msgpack_packer pk;
        wh_msg_writer_init(&pk, &b[i]);
        msgpack_pack_map(&pk, 1);
        wh_msg_pack_str(&pk, "n");
        msgpack_pack_int(&pk, i);
        CHECK_INT(wh_msg_decode(b[i].data, b[i].len, &m[i]), 0);
    }
    wh_msg_t zeroed = {0};
    wh_msg_close(&zeroed);
    for (int i = 0; i < N; i += 2)
        wh_msg_close(&m[i]);
    for (int i = 1; i < N; i += 2)
        CHECK_INT(wh_msg_get(m[i].root, "n")->via.i64, i);
    wh_msg_t again;
    CHECK_INT(wh_msg_decode(b[0].data, b[0].len, &again), 0);
    CHECK_INT(wh_msg_get(again.root, "n")->via.i64, 0);
    for (int i = 1; i < N; i += 2) {
        CHECK_INT(wh_msg_get(m[i].root, "n")->via.i64, i);
        wh_msg_close(&m[i]);
    }
    wh_msg_close(&again);
    /* A message past WH_MSG_ZONE_KEEP_BYTES. */
    wh_buf_t big;
    wh_buf_init(&big);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &big);
    msgpack_pack_array(&pk, 20000);
    for (int i = 0; i < 20000; i++)
        wh_msg_pack_str(&pk, "abcd");
    CHECK(big.len > WH_MSG_ZONE_KEEP_BYTES);
    wh_msg_t bm;
    CHECK_INT(wh_msg_decode(big.data, big.len, &bm), 0);
    CHECK_INT(bm.slot, 0);
    CHECK_INT(bm.root->via.array.size, 20000);
    wh_msg_close(&bm);
    wh_buf_close(&big);
    for (int i = 0; i < N; i++)
        wh_buf_close(&b[i]);
}

int main(void)
{
    /* Hostile headers first, while the peak RSS is still low. */
    TEST(test_array32_huge_count);
    TEST(test_map32_huge_count);
    TEST(test_str_bin_length_beyond_buffer);
    TEST(test_reserved_and_ext_rejected);
    TEST(test_trailing_bytes_rejected);
    TEST(test_scalar_widths);
    TEST(test_every_prefix_truncated);
    TEST(test_depth_limit);
    TEST(test_items_limit);
    TEST(test_str_limit);
    TEST(test_bytes_limit);
    TEST(test_get_and_strings);
    TEST(test_int);
    TEST(test_copy_str);
    TEST(test_writer_bytes);
    TEST(test_pack_obj_round_trip);
    TEST(test_pack_csv);
    TEST(test_zones_kept);
    TEST(test_get_many);
    return 0;
}
