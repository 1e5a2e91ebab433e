/* services/runtime/valid.c: every checker with a field absent, null, set and bad
 * (with and without WH_V_REQUIRED / WH_V_NULLABLE), the exact pointer and
 * detail of each reported error, unknown fields with RFC 6901 escaping,
 * string lengths in code points, control characters, and the page
 * parameters of list requests. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "err.h"
#include "valid.h"

/* ---- helpers ------------------------------------------------------------ */

static wh_buf_t body_buf;
static wh_msg_t body_msg;
static wh_reply_t rep;
static wh_valid_t v;

/* Starts a test with the body built by fill() (one msgpack value). */
static void start(void (*fill)(msgpack_packer *pk))
{
    wh_buf_init(&body_buf);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &body_buf);
    fill(&pk);
    CHECK_INT(wh_msg_decode(body_buf.data, body_buf.len, &body_msg), 0);
    wh_reply_init(&rep);
}

static void finish(void)
{
    wh_reply_close(&rep);
    wh_msg_close(&body_msg);
    wh_buf_close(&body_buf);
}

/* Decodes the collected errors and checks error i's pointer and detail. */
static void check_error(int i, const char *pointer, const char *detail)
{
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    int listed = rep.n_errors > WH_REPLY_MAX_ERRORS ? WH_REPLY_MAX_ERRORS : rep.n_errors;
    msgpack_pack_array(&pk, (size_t)listed);
    wh_buf_append(&b, rep.errors.data, rep.errors.len);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    CHECK(i < (int)m.root->via.array.size);
    const msgpack_object *e = &m.root->via.array.ptr[i];
    char got[400];
    CHECK_INT(wh_msg_copy_str(wh_msg_get(e, "pointer"), got, sizeof got), 0);
    CHECK_STR(got, pointer);
    CHECK_INT(wh_msg_copy_str(wh_msg_get(e, "detail"), got, sizeof got), 0);
    CHECK_STR(got, detail);
    wh_msg_close(&m);
    wh_buf_close(&b);
}

static void fill_sample(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 16);
    wh_msg_kv_str(pk, "name", "Bezirksamt Mitte");
    wh_msg_kv_nil(pk, "nothing");
    wh_msg_kv_int(pk, "count", 42);
    wh_msg_kv_str(pk, "text", "42");
    wh_msg_kv_bool(pk, "flag", true);
    wh_msg_kv_str(pk, "kind", "insurer");
    wh_msg_kv_str(pk, "day", "2024-02-29");
    wh_msg_kv_str(pk, "bad_day", "2023-02-29");
    wh_msg_kv_str(pk, "at", "2025-01-01T01:00:00+01:00");
    wh_msg_kv_str(pk, "bad_at", "2025-01-01");
    wh_msg_pack_str(pk, "list");
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, 1);
    msgpack_pack_int(pk, 2);
    msgpack_pack_int(pk, 3);
    wh_msg_pack_str(pk, "obj");
    msgpack_pack_map(pk, 0);
    wh_msg_pack_str(pk, "float");
    msgpack_pack_double(pk, 2.5);
    wh_msg_pack_str(pk, "whole");
    msgpack_pack_double(pk, 7.0);
    wh_msg_kv_int(pk, "negative", -5);
    wh_msg_kv_str(pk, "empty", "");
}

/* ---- init, only, pointers ----------------------------------------------- */

static void fill_int(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 1);
}

static void test_init_requires_map(void)
{
    start(fill_int);
    CHECK(!wh_valid_init(&v, &rep, body_msg.root, ""));
    CHECK_INT(rep.n_errors, 1);
    check_error(0, "", "must be an object");
    /* Later checks on v report nothing more. */
    wh_str_t s;
    CHECK_INT(wh_valid_str(&v, "name", WH_V_REQUIRED, 1, 10, &s), WH_V_BAD);
    CHECK_INT(rep.n_errors, 1);
    wh_valid_only(&v, (const char *const[]){NULL});
    CHECK_INT(rep.n_errors, 1);
    finish();

    start(fill_int);
    CHECK(!wh_valid_init(&v, &rep, NULL, "/support"));
    check_error(0, "/support", "must be an object");
    CHECK(!wh_valid_init(&v, &rep, body_msg.root, "/contacts/0"));
    check_error(1, "/contacts/0", "must be an object");
    finish();
}

static void fill_unknown(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 6);
    wh_msg_kv_int(pk, "name", 1);
    wh_msg_kv_int(pk, "a/b", 1);
    wh_msg_kv_int(pk, "x~y", 1);
    wh_msg_kv_int(pk, "~/~1", 1);
    wh_msg_kv_int(pk, "kind", 1);
    msgpack_pack_int(pk, 5); /* a key that is not a string */
    msgpack_pack_int(pk, 1);
}

static void test_only_lists_unknown_fields(void)
{
    static const char *const known[] = {"name", "kind", NULL};
    start(fill_unknown);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    wh_valid_only(&v, known);
    CHECK_INT(rep.n_errors, 4);
    check_error(0, "/a~1b", "unknown field");
    check_error(1, "/x~0y", "unknown field");
    check_error(2, "/~0~1~01", "unknown field");
    check_error(3, "/", "unknown field");
    finish();

    /* Under a prefix. */
    start(fill_unknown);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, "/support"));
    wh_valid_only(&v, known);
    check_error(0, "/support/a~1b", "unknown field");
    finish();

    /* Everything known: nothing reported. */
    static const char *const all[] = {"name", "a/b", "x~y", "~/~1", "kind", "", NULL};
    start(fill_unknown);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    wh_valid_only(&v, all);
    CHECK_INT(rep.n_errors, 1); /* only the non-string key */
    finish();
}

static void test_pointer(void)
{
    wh_valid_t pv;
    wh_reply_t r;
    wh_reply_init(&r);
    static const msgpack_object empty = {.type = MSGPACK_OBJECT_MAP};
    CHECK(wh_valid_init(&pv, &r, &empty, ""));
    char out[64];
    wh_valid_pointer(&pv, "a/b", out, sizeof out);
    CHECK_STR(out, "/a~1b");
    wh_valid_pointer(&pv, "~", out, sizeof out);
    CHECK_STR(out, "/~0");
    wh_valid_pointer(&pv, "", out, sizeof out);
    CHECK_STR(out, "/");
    wh_valid_pointer(&pv, "plain", out, sizeof out);
    CHECK_STR(out, "/plain");
    /* Never beyond cap, always terminated. */
    wh_valid_pointer(&pv, "abcdefghij", out, 8);
    CHECK_STR(out, "/abcd");
    wh_valid_pointer(&pv, "//////", out, 8);
    CHECK_STR(out, "/~1~1");
    CHECK(wh_valid_init(&pv, &r, &empty, "/items/3"));
    wh_valid_pointer(&pv, "e/f", out, sizeof out);
    CHECK_STR(out, "/items/3/e~1f");
    wh_valid_pointer(&pv, "x", out, 5);
    CHECK_STR(out, "/ite");
    wh_reply_close(&r);
}

/* ---- each checker ------------------------------------------------------- */

static void test_str(void)
{
    start(fill_sample);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    wh_str_t s = {NULL, 0};
    CHECK_INT(wh_valid_str(&v, "name", WH_V_REQUIRED, 1, 200, &s), WH_V_SET);
    CHECK(wh_str_eq(s, "Bezirksamt Mitte"));
    s = (wh_str_t){"untouched", 9};
    CHECK_INT(wh_valid_str(&v, "absent", 0, 1, 10, &s), WH_V_ABSENT);
    CHECK(wh_str_eq(s, "untouched"));
    CHECK_INT(wh_valid_str(&v, "nothing", WH_V_NULLABLE, 1, 10, &s), WH_V_NULL);
    CHECK(wh_str_eq(s, "untouched"));
    CHECK_INT(rep.n_errors, 0);
    CHECK_INT(wh_valid_str(&v, "absent", WH_V_REQUIRED, 1, 10, &s), WH_V_BAD);
    CHECK_INT(wh_valid_str(&v, "nothing", 0, 1, 10, &s), WH_V_BAD);
    CHECK_INT(wh_valid_str(&v, "count", 0, 1, 10, &s), WH_V_BAD);
    CHECK_INT(wh_valid_str(&v, "empty", 0, 1, 10, &s), WH_V_BAD);
    CHECK_INT(wh_valid_str(&v, "text", 0, 3, 10, &s), WH_V_BAD);
    CHECK_INT(wh_valid_str(&v, "name", 0, 1, 15, &s), WH_V_BAD);
    CHECK(wh_str_eq(s, "untouched"));
    CHECK_INT(wh_valid_str(&v, "name", 0, 16, 16, &s), WH_V_SET);
    CHECK_INT(wh_valid_str(&v, "empty", 0, 0, 10, &s), WH_V_SET);
    CHECK_INT(s.n, 0);
    CHECK_INT(rep.n_errors, 6);
    check_error(0, "/absent", "is required");
    check_error(1, "/nothing", "must not be null");
    check_error(2, "/count", "must be a string");
    check_error(3, "/empty", "must not be empty");
    check_error(4, "/text", "must be at least 3 characters");
    check_error(5, "/name", "must be at most 15 characters");
    finish();
}

static void fill_texts(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 11);
    wh_msg_kv_str(pk, "koeln", "K\xc3\xb6ln");             /* 4 code points, 5 bytes */
    wh_msg_kv_str(pk, "euro", "\xe2\x82\xac\xe2\x82\xac"); /* 2 code points, 6 bytes */
    wh_msg_kv_str(pk, "emoji", "\xf0\x9f\x98\x80");        /* 1 code point, 4 bytes */
    wh_msg_kv_str(pk, "lines", "one\ntwo\tthree");         /* newline and tab are fine */
    wh_msg_kv_strn(pk, "nul", "a\0b", 3);
    wh_msg_kv_str(pk, "bell", "ring\x07");
    wh_msg_kv_str(pk, "cr", "a\rb");
    wh_msg_kv_str(pk, "esc", "\x1b[31mred");
    wh_msg_kv_str(pk, "del", "a\x7f");
    wh_msg_kv_str(pk, "c1", "a\xc2\x85z");   /* U+0085 NEXT LINE */
    wh_msg_kv_str(pk, "nbsp", "a\xc2\xa0z"); /* U+00A0: not a control */
}

static void test_str_code_points_and_controls(void)
{
    start(fill_texts);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    wh_str_t s;
    /* Lengths count code points, not bytes. */
    CHECK_INT(wh_valid_str(&v, "koeln", 0, 4, 4, &s), WH_V_SET);
    CHECK_INT(s.n, 5);
    CHECK_INT(wh_valid_str(&v, "euro", 0, 2, 2, &s), WH_V_SET);
    CHECK_INT(s.n, 6);
    CHECK_INT(wh_valid_str(&v, "emoji", 0, 1, 1, &s), WH_V_SET);
    CHECK_INT(wh_valid_str(&v, "lines", WH_V_MULTILINE, 1, 100, &s), WH_V_SET);
    CHECK_INT(wh_valid_str(&v, "nbsp", 0, 1, 100, &s), WH_V_SET);
    CHECK_INT(rep.n_errors, 0);
    CHECK_INT(wh_valid_str(&v, "koeln", 0, 1, 3, &s), WH_V_BAD);
    CHECK_INT(wh_valid_str(&v, "euro", 0, 3, 10, &s), WH_V_BAD);
    check_error(0, "/koeln", "must be at most 3 characters");
    check_error(1, "/euro", "must be at least 3 characters");
    /* Control characters: C0 (but newline and tab in a multi-line field),
     * DEL and C1. */
    static const char *const ctl[] = {"nul", "bell", "cr", "esc", "del", "c1", NULL};
    for (int i = 0; ctl[i]; i++) {
        CHECK_INT(wh_valid_str(&v, ctl[i], WH_V_MULTILINE, 0, 100, &s), WH_V_BAD);
        char ptr[16];
        snprintf(ptr, sizeof ptr, "/%s", ctl[i]);
        check_error(2 + i, ptr, "must not contain control characters");
    }
    CHECK_INT(rep.n_errors, 8);
    finish();
}

static void fill_lines(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 12);
    wh_msg_kv_str(pk, "lf", "Vertrag\nBitte Passwort senden");
    wh_msg_kv_str(pk, "tab", "a\tb");
    wh_msg_kv_str(pk, "crlf", "a\r\nb");
    wh_msg_kv_str(pk, "ls", "a\xe2\x80\xa8z");      /* U+2028 LINE SEPARATOR */
    wh_msg_kv_str(pk, "ps", "a\xe2\x80\xa9z");      /* U+2029 PARAGRAPH SEPARATOR */
    wh_msg_kv_str(pk, "rlo", "a\xe2\x80\xaez");     /* U+202E RIGHT-TO-LEFT OVERRIDE */
    wh_msg_kv_str(pk, "lri", "a\xe2\x81\xa6z");     /* U+2066 LEFT-TO-RIGHT ISOLATE */
    wh_msg_kv_str(pk, "pdi", "a\xe2\x81\xa9z");     /* U+2069 POP DIRECTIONAL ISOLATE */
    wh_msg_kv_str(pk, "nel", "a\xc2\x85z");         /* U+0085 NEXT LINE */
    wh_msg_kv_str(pk, "dash", "a\xe2\x80\x93z");    /* U+2013 EN DASH: fine */
    wh_msg_kv_str(pk, "permille", "1\xe2\x80\xb0"); /* U+2030: fine */
    wh_msg_kv_str(pk, "wj", "a\xe2\x81\xa0z");      /* U+2060 WORD JOINER: fine */
}

/* Single-line fields (the default): nothing that breaks or reorders a line. */
static void test_str_single_line(void)
{
    start(fill_lines);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    wh_str_t s;
    static const char *const fine[] = {"dash", "permille", "wj", NULL};
    for (int i = 0; fine[i]; i++)
        CHECK_INT(wh_valid_str(&v, fine[i], 0, 1, 100, &s), WH_V_SET);
    CHECK_INT(wh_valid_str(&v, "lf", WH_V_MULTILINE, 1, 100, &s), WH_V_SET);
    CHECK_INT(wh_valid_str(&v, "tab", WH_V_MULTILINE, 1, 100, &s), WH_V_SET);
    CHECK_INT(wh_valid_str(&v, "ls", WH_V_MULTILINE, 1, 100, &s), WH_V_SET);
    CHECK_INT(rep.n_errors, 0);
    static const char *const bad[] = {"lf", "tab", "crlf", "nel", NULL};
    int n = 0;
    for (int i = 0; bad[i]; i++, n++) {
        CHECK_INT(wh_valid_str(&v, bad[i], WH_V_REQUIRED, 1, 100, &s), WH_V_BAD);
        char ptr[16];
        snprintf(ptr, sizeof ptr, "/%s", bad[i]);
        check_error(n, ptr, "must be one line without control characters");
    }
    static const char *const seps[] = {"ls", "ps", "rlo", "lri", "pdi", NULL};
    for (int i = 0; seps[i]; i++, n++) {
        CHECK_INT(wh_valid_str(&v, seps[i], 0, 1, 100, &s), WH_V_BAD);
        char ptr[16];
        snprintf(ptr, sizeof ptr, "/%s", seps[i]);
        check_error(n, ptr, "must be one line without line separators or direction controls");
    }
    CHECK_INT(wh_valid_str(&v, "crlf", WH_V_MULTILINE, 1, 100, &s), WH_V_BAD); /* CR: never */
    CHECK_INT(rep.n_errors, n + 1);
    finish();
}

static void test_int(void)
{
    start(fill_sample);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    int64_t x = -1;
    CHECK_INT(wh_valid_int(&v, "count", WH_V_REQUIRED, 0, 100, &x), WH_V_SET);
    CHECK_INT(x, 42);
    CHECK_INT(wh_valid_int(&v, "count", 0, 42, 42, &x), WH_V_SET);
    CHECK_INT(wh_valid_int(&v, "whole", 0, 0, 10, &x), WH_V_SET);
    CHECK_INT(x, 7);
    CHECK_INT(wh_valid_int(&v, "negative", 0, -5, 0, &x), WH_V_SET);
    CHECK_INT(x, -5);
    x = 99;
    CHECK_INT(wh_valid_int(&v, "absent", 0, 0, 1, &x), WH_V_ABSENT);
    CHECK_INT(wh_valid_int(&v, "nothing", WH_V_NULLABLE, 0, 1, &x), WH_V_NULL);
    CHECK_INT(x, 99);
    CHECK_INT(rep.n_errors, 0);
    CHECK_INT(wh_valid_int(&v, "absent", WH_V_REQUIRED, 0, 1, &x), WH_V_BAD);
    CHECK_INT(wh_valid_int(&v, "nothing", 0, 0, 1, &x), WH_V_BAD);
    CHECK_INT(wh_valid_int(&v, "text", 0, 0, 100, &x), WH_V_BAD);
    CHECK_INT(wh_valid_int(&v, "float", 0, 0, 100, &x), WH_V_BAD);
    CHECK_INT(wh_valid_int(&v, "count", 0, 43, 100, &x), WH_V_BAD);
    CHECK_INT(wh_valid_int(&v, "count", 0, 0, 41, &x), WH_V_BAD);
    CHECK_INT(wh_valid_int(&v, "negative", 0, 0, 10, &x), WH_V_BAD);
    CHECK_INT(x, 99);
    check_error(0, "/absent", "is required");
    check_error(1, "/nothing", "must not be null");
    check_error(2, "/text", "must be an integer");
    check_error(3, "/float", "must be an integer");
    check_error(4, "/count", "must be between 43 and 100");
    check_error(5, "/count", "must be between 0 and 41");
    check_error(6, "/negative", "must be between 0 and 10");
    finish();
}

static void test_bool(void)
{
    start(fill_sample);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    bool b = false;
    CHECK_INT(wh_valid_bool(&v, "flag", WH_V_REQUIRED, &b), WH_V_SET);
    CHECK(b);
    CHECK_INT(wh_valid_bool(&v, "absent", 0, &b), WH_V_ABSENT);
    CHECK_INT(wh_valid_bool(&v, "nothing", WH_V_NULLABLE, &b), WH_V_NULL);
    CHECK_INT(wh_valid_bool(&v, "absent", WH_V_REQUIRED, &b), WH_V_BAD);
    CHECK_INT(wh_valid_bool(&v, "nothing", 0, &b), WH_V_BAD);
    CHECK_INT(wh_valid_bool(&v, "count", 0, &b), WH_V_BAD);
    CHECK_INT(wh_valid_bool(&v, "text", 0, &b), WH_V_BAD);
    CHECK_INT(rep.n_errors, 4);
    check_error(2, "/count", "must be true or false");
    check_error(3, "/text", "must be true or false");
    finish();
}

static void test_enum(void)
{
    static const char *const kinds[] = {"employer", "insurer", NULL};
    start(fill_sample);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    int k = -1;
    CHECK_INT(wh_valid_enum(&v, "kind", WH_V_REQUIRED, kinds, &k), WH_V_SET);
    CHECK_INT(k, 1);
    k = -1;
    CHECK_INT(wh_valid_enum(&v, "absent", 0, kinds, &k), WH_V_ABSENT);
    CHECK_INT(wh_valid_enum(&v, "nothing", WH_V_NULLABLE, kinds, &k), WH_V_NULL);
    CHECK_INT(k, -1);
    CHECK_INT(wh_valid_enum(&v, "absent", WH_V_REQUIRED, kinds, &k), WH_V_BAD);
    CHECK_INT(wh_valid_enum(&v, "nothing", 0, kinds, &k), WH_V_BAD);
    CHECK_INT(wh_valid_enum(&v, "name", 0, kinds, &k), WH_V_BAD);
    CHECK_INT(wh_valid_enum(&v, "count", 0, kinds, &k), WH_V_BAD);
    CHECK_INT(wh_valid_enum(&v, "empty", 0, kinds, &k), WH_V_BAD);
    CHECK_INT(k, -1);
    CHECK_INT(rep.n_errors, 5);
    check_error(2, "/name", "must be one of employer, insurer");
    check_error(3, "/count", "must be one of employer, insurer");
    check_error(4, "/empty", "must be one of employer, insurer");
    /* A list longer than the detail buffer is cut, not overrun. */
    static const char *const many[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                       "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                                       "ccccccccccccccccccccccccccccccccccccccccccccccccc",
                                       "ddddddddddddddddddddddddddddddddddddddddddddddddd",
                                       "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
                                       "fffffffffffffffffffffffffffffffffffffffffffffffff",
                                       NULL};
    CHECK_INT(wh_valid_enum(&v, "kind", 0, many, &k), WH_V_BAD);
    CHECK_INT(rep.n_errors, 6);
    finish();
}

static void test_date_and_instant(void)
{
    start(fill_sample);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    int32_t d = 0;
    CHECK_INT(wh_valid_date(&v, "day", WH_V_REQUIRED, &d), WH_V_SET);
    CHECK_INT(d, 19782);
    CHECK_INT(wh_valid_date(&v, "absent", 0, &d), WH_V_ABSENT);
    CHECK_INT(wh_valid_date(&v, "nothing", WH_V_NULLABLE, &d), WH_V_NULL);
    CHECK_INT(wh_valid_date(&v, "bad_day", 0, &d), WH_V_BAD);
    CHECK_INT(wh_valid_date(&v, "count", 0, &d), WH_V_BAD);
    CHECK_INT(wh_valid_date(&v, "at", 0, &d), WH_V_BAD);
    CHECK_INT(d, 19782);
    int64_t ms = 0;
    CHECK_INT(wh_valid_instant(&v, "at", WH_V_REQUIRED, &ms), WH_V_SET);
    CHECK_INT(ms, 1735689600000LL);
    CHECK_INT(wh_valid_instant(&v, "absent", 0, &ms), WH_V_ABSENT);
    CHECK_INT(wh_valid_instant(&v, "nothing", WH_V_NULLABLE, &ms), WH_V_NULL);
    CHECK_INT(wh_valid_instant(&v, "bad_at", 0, &ms), WH_V_BAD);
    CHECK_INT(wh_valid_instant(&v, "flag", 0, &ms), WH_V_BAD);
    CHECK_INT(wh_valid_instant(&v, "absent", WH_V_REQUIRED, &ms), WH_V_BAD);
    CHECK_INT(ms, 1735689600000LL);
    CHECK_INT(rep.n_errors, 6);
    check_error(0, "/bad_day", "must be a date YYYY-MM-DD");
    check_error(1, "/count", "must be a date YYYY-MM-DD");
    check_error(2, "/at", "must be a date YYYY-MM-DD");
    check_error(3, "/bad_at", "must be an RFC 3339 date-time");
    check_error(4, "/flag", "must be an RFC 3339 date-time");
    check_error(5, "/absent", "is required");
    finish();
}

static void test_array(void)
{
    start(fill_sample);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, ""));
    const msgpack_object *a = NULL;
    CHECK_INT(wh_valid_array(&v, "list", WH_V_REQUIRED, 3, &a), WH_V_SET);
    CHECK(a != NULL);
    CHECK_INT(a->via.array.size, 3);
    a = NULL;
    CHECK_INT(wh_valid_array(&v, "absent", 0, 3, &a), WH_V_ABSENT);
    CHECK_INT(wh_valid_array(&v, "nothing", WH_V_NULLABLE, 3, &a), WH_V_NULL);
    CHECK(a == NULL);
    CHECK_INT(wh_valid_array(&v, "list", 0, 2, &a), WH_V_BAD);
    CHECK_INT(wh_valid_array(&v, "obj", 0, 2, &a), WH_V_BAD);
    CHECK_INT(wh_valid_array(&v, "name", 0, 2, &a), WH_V_BAD);
    CHECK_INT(wh_valid_array(&v, "nothing", 0, 2, &a), WH_V_BAD);
    CHECK(a == NULL);
    CHECK_INT(rep.n_errors, 4);
    check_error(0, "/list", "must have at most 2 items");
    check_error(1, "/obj", "must be an array");
    check_error(2, "/name", "must be an array");
    check_error(3, "/nothing", "must not be null");
    finish();
}

static void test_errors_under_prefix(void)
{
    start(fill_sample);
    CHECK(wh_valid_init(&v, &rep, body_msg.root, "/contacts/1"));
    wh_str_t s;
    CHECK_INT(wh_valid_str(&v, "a/b", WH_V_REQUIRED, 1, 5, &s), WH_V_BAD);
    check_error(0, "/contacts/1/a~1b", "is required");
    finish();
}

/* ---- wh_valid_page ------------------------------------------------------ */

static wh_buf_t env_buf;
static wh_request_t req;

static void page_request(const char *limit, const char *cursor)
{
    wh_param_t params[2];
    size_t n = 0;
    if (limit)
        params[n++] = (wh_param_t){"limit", {limit, strlen(limit)}};
    if (cursor)
        params[n++] = (wh_param_t){"cursor", {cursor, strlen(cursor)}};
    wh_buf_init(&env_buf);
    wh_request_pack(&env_buf, &(wh_request_out_t){
                                  .op = WH_OP_ORGS_LIST,
                                  .id = "r1",
                                  .token_id = "tok",
                                  .role = WH_ROLE_ADMIN,
                                  .deadline_ms = 1000,
                                  .params = params,
                                  .n_params = n,
                              });
    CHECK_INT(wh_request_decode(env_buf.data, env_buf.len, &req), 0);
    wh_reply_init(&rep);
}

static void page_done(void)
{
    wh_reply_close(&rep);
    wh_request_close(&req);
    wh_buf_close(&env_buf);
}

static void check_param_error(int i, const char *name, const char *detail)
{
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    msgpack_pack_array(&pk, (size_t)rep.n_errors);
    wh_buf_append(&b, rep.errors.data, rep.errors.len);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    const msgpack_object *e = &m.root->via.array.ptr[i];
    char got[200];
    CHECK_INT(wh_msg_copy_str(wh_msg_get(e, "parameter"), got, sizeof got), 0);
    CHECK_STR(got, name);
    CHECK_INT(wh_msg_copy_str(wh_msg_get(e, "detail"), got, sizeof got), 0);
    CHECK_STR(got, detail);
    wh_msg_close(&m);
    wh_buf_close(&b);
}

/* Runs wh_valid_page on ?limit=limit; returns the limit, or -1 on error. */
static int64_t page_limit(const char *limit)
{
    page_request(limit, NULL);
    wh_page_t page;
    bool ok = wh_valid_page(&req, &rep, &page);
    int64_t r = ok ? page.limit : -1;
    if (ok) {
        CHECK_INT(rep.n_errors, 0);
    } else {
        CHECK_INT(rep.n_errors, 1);
        check_param_error(0, "limit", "must be an integer from 1 to 500");
    }
    page_done();
    return r;
}

static void test_page_limit(void)
{
    CHECK_INT(page_limit(NULL), WH_PAGE_DEFAULT);
    CHECK_INT(page_limit("1"), 1);
    CHECK_INT(page_limit("50"), 50);
    CHECK_INT(page_limit("500"), 500);
    CHECK_INT(page_limit("0500"), 500);
    CHECK_INT(page_limit("0"), -1);
    CHECK_INT(page_limit("501"), -1);
    CHECK_INT(page_limit("abc"), -1);
    CHECK_INT(page_limit(""), -1);
    CHECK_INT(page_limit("-1"), -1);
    CHECK_INT(page_limit("+5"), -1);
    CHECK_INT(page_limit("5 "), -1);
    CHECK_INT(page_limit("1e2"), -1);
    CHECK_INT(page_limit("10000"), -1);
    CHECK_INT(page_limit("99999999999999999999"), -1);
}

static void test_page_cursor(void)
{
    wh_page_t page;
    page_request(NULL, NULL);
    CHECK(wh_valid_page(&req, &rep, &page));
    CHECK(page.cursor.p == NULL);
    page_done();

    page_request("10", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    CHECK(wh_valid_page(&req, &rep, &page));
    CHECK_INT(page.limit, 10);
    CHECK(wh_str_eq(page.cursor, "01ARZ3NDEKTSV4RRFFQ69G5FAV"));
    page_done();

    static const char *const bad[] = {"",
                                      "x",
                                      "01arz3ndektsv4rrffq69g5fav",
                                      "01ARZ3NDEKTSV4RRFFQ69G5FA",
                                      "01ARZ3NDEKTSV4RRFFQ69G5FAVV",
                                      "' OR 1=1 --",
                                      NULL};
    for (int i = 0; bad[i]; i++) {
        page_request(NULL, bad[i]);
        CHECK(!wh_valid_page(&req, &rep, &page));
        CHECK_INT(rep.n_errors, 1);
        check_param_error(0, "cursor", "is not a cursor from a previous page");
        page_done();
    }

    /* Both bad: both reported. */
    page_request("0", "nope");
    CHECK(!wh_valid_page(&req, &rep, &page));
    CHECK_INT(rep.n_errors, 2);
    check_param_error(0, "limit", "must be an integer from 1 to 500");
    check_param_error(1, "cursor", "is not a cursor from a previous page");
    CHECK(wh_reply_invalid(&rep));
    CHECK_INT(rep.status, 422);
    page_done();
}

int main(void)
{
    TEST(test_init_requires_map);
    TEST(test_only_lists_unknown_fields);
    TEST(test_pointer);
    TEST(test_str);
    TEST(test_str_code_points_and_controls);
    TEST(test_str_single_line);
    TEST(test_int);
    TEST(test_bool);
    TEST(test_enum);
    TEST(test_date_and_instant);
    TEST(test_array);
    TEST(test_errors_under_prefix);
    TEST(test_page_limit);
    TEST(test_page_cursor);
    return 0;
}
