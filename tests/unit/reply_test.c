/* services/runtime/reply.c: bodies, ETags, problems, field errors gathered into one
 * 422 (with the listing capped at WH_REPLY_MAX_ERRORS), and the reply
 * envelope decoded back field by field. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "err.h"
#include "reply.h"

/* The reply envelope of r, decoded; close with wh_msg_close. */
static void packed(const wh_reply_t *r, const char *id, wh_buf_t *raw, wh_msg_t *m)
{
    wh_buf_init(raw);
    wh_reply_pack(r, id, raw);
    CHECK(!wh_buf_failed(raw));
    CHECK_INT(wh_msg_decode(raw->data, raw->len, m), 0);
    CHECK_INT(m->root->type, MSGPACK_OBJECT_MAP);
}

static int64_t int_at(const msgpack_object *map, const char *key)
{
    int64_t v;
    CHECK(wh_msg_int(wh_msg_get(map, key), &v));
    return v;
}

static const char *str_at(const msgpack_object *map, const char *key)
{
    static char out[4][600];
    static int next;
    char *o = out[next++ % 4];
    CHECK_INT(wh_msg_copy_str(wh_msg_get(map, key), o, sizeof out[0]), 0);
    return o;
}

static void test_ok_with_body(void)
{
    wh_reply_t r;
    wh_reply_init(&r);
    CHECK_INT(r.status, 0);
    CHECK(!r.has_body);
    CHECK(!wh_reply_failed(&r));
    msgpack_packer *pk = wh_reply_ok(&r, 201);
    msgpack_pack_map(pk, 2);
    wh_msg_kv_str(pk, "name", "Bezirksamt Mitte");
    wh_msg_kv_int(pk, "employees", 1600);
    wh_reply_etag(&r, "\"%s.%d\"", "01ABC", 3);
    CHECK_STR(r.etag, "\"01ABC.3\"");
    CHECK_INT(r.status, 201);
    CHECK(r.has_body);
    CHECK(!wh_reply_failed(&r));

    wh_buf_t raw;
    wh_msg_t m;
    packed(&r, "req-1", &raw, &m);
    CHECK_INT(m.root->via.map.size, 5);
    CHECK_INT(int_at(m.root, "v"), WH_PROTO_VERSION);
    CHECK_STR(str_at(m.root, "id"), "req-1");
    CHECK_INT(int_at(m.root, "status"), 201);
    CHECK_STR(str_at(m.root, "etag"), "\"01ABC.3\"");
    const msgpack_object *body = wh_msg_get(m.root, "body");
    CHECK(body != NULL);
    CHECK_INT(body->via.map.size, 2);
    CHECK_STR(str_at(body, "name"), "Bezirksamt Mitte");
    CHECK_INT(int_at(body, "employees"), 1600);
    CHECK(wh_msg_get(m.root, "error") == NULL);
    CHECK(wh_msg_get(m.root, "retry_after") == NULL);
    wh_msg_close(&m);
    wh_buf_close(&raw);

    /* A second wh_reply_ok discards the first body. */
    pk = wh_reply_ok(&r, 200);
    msgpack_pack_int(pk, 7);
    packed(&r, "req-1", &raw, &m);
    CHECK_INT(int_at(m.root, "status"), 200);
    CHECK_INT(int_at(m.root, "body"), 7);
    wh_msg_close(&m);
    wh_buf_close(&raw);
    wh_reply_close(&r);
}

static void test_empty(void)
{
    wh_reply_t r;
    wh_reply_init(&r);
    msgpack_pack_int(wh_reply_ok(&r, 200), 1);
    wh_reply_empty(&r, 204);
    CHECK_INT(r.status, 204);
    CHECK(!r.has_body);
    wh_buf_t raw;
    wh_msg_t m;
    packed(&r, "x", &raw, &m);
    CHECK_INT(m.root->via.map.size, 3);
    CHECK_INT(int_at(m.root, "status"), 204);
    CHECK(wh_msg_get(m.root, "body") == NULL);
    CHECK(wh_msg_get(m.root, "etag") == NULL);
    wh_msg_close(&m);
    wh_buf_close(&raw);
    wh_reply_close(&r);
}

static void test_problem(void)
{
    wh_reply_t r;
    wh_reply_init(&r);
    msgpack_pack_int(wh_reply_ok(&r, 200), 1);
    wh_reply_problem(&r, 404, "not-found", "no such %s", "organization");
    CHECK_INT(r.status, 404);
    CHECK(!r.has_body);
    CHECK_INT(r.body.len, 0);
    CHECK(wh_reply_failed(&r));
    CHECK_STR(r.type, "not-found");
    CHECK_STR(r.title, "Not Found");
    CHECK_STR(r.detail, "no such organization");
    wh_buf_t raw;
    wh_msg_t m;
    packed(&r, "req-2", &raw, &m);
    CHECK_INT(m.root->via.map.size, 4);
    CHECK_INT(int_at(m.root, "status"), 404);
    CHECK(wh_msg_get(m.root, "body") == NULL);
    const msgpack_object *e = wh_msg_get(m.root, "error");
    CHECK(e != NULL);
    CHECK_INT(e->via.map.size, 3);
    CHECK_STR(str_at(e, "type"), "not-found");
    CHECK_STR(str_at(e, "title"), "Not Found");
    CHECK_STR(str_at(e, "detail"), "no such organization");
    CHECK(wh_msg_get(e, "errors") == NULL);
    wh_msg_close(&m);
    wh_buf_close(&raw);

    /* 503 with Retry-After. */
    wh_reply_reset(&r);
    wh_reply_problem(&r, 503, "unavailable", "later");
    r.retry_after_s = 5;
    packed(&r, "req-3", &raw, &m);
    CHECK_INT(m.root->via.map.size, 5);
    CHECK_INT(int_at(m.root, "retry_after"), 5);
    CHECK_STR(str_at(wh_msg_get(m.root, "error"), "title"), "Service Unavailable");
    wh_msg_close(&m);
    wh_buf_close(&raw);

    /* A detail longer than the field is cut, never overrun. */
    wh_reply_reset(&r);
    char longer[1000];
    memset(longer, 'd', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    wh_reply_problem(&r, 409, "conflict", "%s", longer);
    CHECK_INT(strlen(r.detail), sizeof r.detail - 1);
    /* A status without a name of its own gets its class's (RFC 9110). */
    wh_reply_reset(&r);
    r.status = 418;
    packed(&r, "req-4", &raw, &m);
    e = wh_msg_get(m.root, "error");
    CHECK_STR(str_at(e, "type"), "about:blank");
    CHECK_STR(str_at(e, "title"), "Client Error");
    CHECK_STR(str_at(e, "detail"), "");
    wh_msg_close(&m);
    wh_buf_close(&raw);
    wh_reply_close(&r);
}

static void test_field_errors_become_one_422(void)
{
    wh_reply_t r;
    wh_reply_init(&r);
    CHECK(!wh_reply_invalid(&r)); /* nothing collected: nothing happens */
    CHECK_INT(r.status, 0);
    wh_reply_field(&r, "/name", "is required");
    CHECK(wh_reply_failed(&r)); /* already failed before invalid() */
    CHECK_INT(r.status, 0);
    wh_reply_param(&r, "limit", "must be at most %d", 500);
    wh_reply_field(&r, "/contacts/2/email", "must be an e-mail address");
    CHECK_INT(r.n_errors, 3);
    CHECK(wh_reply_invalid(&r));
    CHECK_INT(r.status, 422);
    CHECK_STR(r.type, "validation");
    CHECK_STR(r.title, "Unprocessable Content");
    CHECK_STR(r.detail, "3 invalid fields");
    /* Calling it again changes nothing. */
    CHECK(wh_reply_invalid(&r));
    CHECK_STR(r.detail, "3 invalid fields");

    wh_buf_t raw;
    wh_msg_t m;
    packed(&r, "req-5", &raw, &m);
    CHECK_INT(int_at(m.root, "status"), 422);
    const msgpack_object *e = wh_msg_get(m.root, "error");
    CHECK_INT(e->via.map.size, 4);
    CHECK_STR(str_at(e, "type"), "validation");
    CHECK_STR(str_at(e, "detail"), "3 invalid fields");
    const msgpack_object *errs = wh_msg_get(e, "errors");
    CHECK_INT(errs->type, MSGPACK_OBJECT_ARRAY);
    CHECK_INT(errs->via.array.size, 3);
    const msgpack_object *e0 = &errs->via.array.ptr[0], *e1 = &errs->via.array.ptr[1],
                         *e2 = &errs->via.array.ptr[2];
    CHECK_INT(e0->via.map.size, 2);
    CHECK_STR(str_at(e0, "pointer"), "/name");
    CHECK_STR(str_at(e0, "detail"), "is required");
    CHECK(wh_msg_get(e1, "pointer") == NULL);
    CHECK_STR(str_at(e1, "parameter"), "limit");
    CHECK_STR(str_at(e1, "detail"), "must be at most 500");
    CHECK_STR(str_at(e2, "pointer"), "/contacts/2/email");
    wh_msg_close(&m);
    wh_buf_close(&raw);

    /* One error: singular. */
    wh_reply_reset(&r);
    CHECK_INT(r.n_errors, 0);
    CHECK_INT(r.status, 0);
    wh_reply_field(&r, "", "must be an object");
    CHECK(wh_reply_invalid(&r));
    CHECK_STR(r.detail, "1 invalid field");
    packed(&r, "req-6", &raw, &m);
    errs = wh_msg_get(wh_msg_get(m.root, "error"), "errors");
    CHECK_INT(errs->via.array.size, 1);
    CHECK_STR(str_at(&errs->via.array.ptr[0], "pointer"), "");
    wh_msg_close(&m);
    wh_buf_close(&raw);
    wh_reply_close(&r);
}

static void test_max_errors(void)
{
    for (int n = WH_REPLY_MAX_ERRORS - 1; n <= WH_REPLY_MAX_ERRORS + 2; n++) {
        wh_reply_t r;
        wh_reply_init(&r);
        for (int i = 0; i < n; i++) {
            char ptr[32];
            snprintf(ptr, sizeof ptr, "/items/%d", i);
            wh_reply_field(&r, ptr, "bad item %d", i);
        }
        CHECK_INT(r.n_errors, n);
        CHECK(wh_reply_invalid(&r));
        char want[64];
        snprintf(want, sizeof want, "%d invalid fields%s", n,
                 n > WH_REPLY_MAX_ERRORS ? " (first ones listed)" : "");
        CHECK_STR(r.detail, want);
        wh_buf_t raw;
        wh_msg_t m;
        packed(&r, "req-7", &raw, &m);
        const msgpack_object *errs = wh_msg_get(wh_msg_get(m.root, "error"), "errors");
        int listed = n > WH_REPLY_MAX_ERRORS ? WH_REPLY_MAX_ERRORS : n;
        CHECK_INT(errs->via.array.size, listed);
        /* The listed ones are the first ones, in order. */
        for (int i = 0; i < listed; i++) {
            char ptr[32], det[32];
            snprintf(ptr, sizeof ptr, "/items/%d", i);
            snprintf(det, sizeof det, "bad item %d", i);
            CHECK_STR(str_at(&errs->via.array.ptr[i], "pointer"), ptr);
            CHECK_STR(str_at(&errs->via.array.ptr[i], "detail"), det);
        }
        wh_msg_close(&m);
        wh_buf_close(&raw);
        wh_reply_close(&r);
    }
}

static void test_long_error_detail(void)
{
    wh_reply_t r;
    wh_reply_init(&r);
    char longer[400];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    wh_reply_field(&r, "/a", "%s", longer);
    wh_reply_invalid(&r);
    wh_buf_t raw;
    wh_msg_t m;
    packed(&r, "req-8", &raw, &m);
    const msgpack_object *errs = wh_msg_get(wh_msg_get(m.root, "error"), "errors");
    CHECK_INT(strlen(str_at(&errs->via.array.ptr[0], "detail")), 255);
    wh_msg_close(&m);
    wh_buf_close(&raw);
    wh_reply_close(&r);
}

static void test_reset_reuses(void)
{
    wh_reply_t r;
    wh_reply_init(&r);
    wh_reply_field(&r, "/x", "bad");
    wh_reply_invalid(&r);
    wh_reply_etag(&r, "\"e\"");
    r.retry_after_s = 3;
    wh_reply_reset(&r);
    CHECK_INT(r.status, 0);
    CHECK_INT(r.n_errors, 0);
    CHECK_INT(r.retry_after_s, 0);
    CHECK_STR(r.etag, "");
    CHECK_STR(r.type, "");
    CHECK_STR(r.detail, "");
    CHECK_INT(r.errors.len, 0);
    CHECK(!wh_reply_failed(&r));
    msgpack_pack_true(wh_reply_ok(&r, 200));
    wh_buf_t raw;
    wh_msg_t m;
    packed(&r, "req-9", &raw, &m);
    CHECK_INT(m.root->via.map.size, 4);
    CHECK_INT(wh_msg_get(m.root, "body")->type, MSGPACK_OBJECT_BOOLEAN);
    wh_msg_close(&m);
    wh_buf_close(&raw);
    wh_reply_close(&r);
}

static void test_status_text(void)
{
    CHECK_STR(wh_status_text(200), "OK");
    CHECK_STR(wh_status_text(201), "Created");
    CHECK_STR(wh_status_text(204), "No Content");
    CHECK_STR(wh_status_text(404), "Not Found");
    CHECK_STR(wh_status_text(412), "Precondition Failed");
    CHECK_STR(wh_status_text(422), "Unprocessable Content");
    CHECK_STR(wh_status_text(504), "Gateway Timeout");
    CHECK_STR(wh_status_text(418), "Client Error");
    CHECK_STR(wh_status_text(0), "Unknown");
}

/* The ETag of a versioned row, written without printf: the same bytes as
 * snprintf's "\"%s.%lld\"", cut the same way when it does not fit. */
static void test_etag_version(void)
{
    static const int64_t versions[] = {0, 1, 9, 10, 12345, -7, INT64_MAX, INT64_MIN};
    const char *ids[] = {"", "01HZX3K9Q8W7V6T5R4P3N2M1AB", "org"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        for (size_t j = 0; j < sizeof versions / sizeof versions[0]; j++)
            for (size_t cap = 1; cap <= 48; cap++) {
                char got[48], want[48];
                memset(got, 'x', sizeof got);
                int n = snprintf(want, cap, "\"%s.%lld\"", ids[i], (long long)versions[j]);
                size_t len = wh_etag_version(got, cap, ids[i], strlen(ids[i]), versions[j]);
                CHECK_STR(got, want);
                CHECK_INT(len, (size_t)n < cap ? (size_t)n : cap - 1);
            }
    /* Only id_len bytes of the id. */
    char got[80];
    CHECK_INT(wh_etag_version(got, sizeof got, "01ABCDEF", 5, 42), 10);
    CHECK_STR(got, "\"01ABC.42\"");
}

int main(void)
{
    TEST(test_ok_with_body);
    TEST(test_empty);
    TEST(test_problem);
    TEST(test_field_errors_become_one_422);
    TEST(test_max_errors);
    TEST(test_long_error_detail);
    TEST(test_reset_reuses);
    TEST(test_status_text);
    TEST(test_etag_version);
    return 0;
}
