/* proto/envelope.c's reply envelope and proto/problem.c: pack -> decode
 * round trips of every field, the problem in msgpack and in JSON, every
 * truncation of a valid envelope refused, the status range, the listed
 * errors bounded at WH_PROBLEM_MAX_ERRORS, and optional header fields that
 * could not become headers read as absent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "err.h"
#include "problem.h"

static bool str_is(wh_str_t s, const char *want)
{
    return s.p && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

/* n field errors as the runtime gathers them: maps back to back. */
static void field_errors(wh_buf_t *out, int n)
{
    msgpack_packer pk;
    wh_msg_writer_init(&pk, out);
    for (int i = 0; i < n; i++) {
        char ptr[16];
        snprintf(ptr, sizeof ptr, "/a/%d", i);
        msgpack_pack_map(&pk, 2);
        wh_msg_kv_str(&pk, "pointer", ptr);
        wh_msg_kv_str(&pk, "detail", "is wrong");
    }
}

static void test_body_round_trip(void)
{
    wh_buf_t body, env;
    wh_buf_init(&body);
    wh_buf_init(&env);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, 1);
    wh_msg_kv_int(&pk, "n", 7);
    wh_reply_env_pack(&env, &(wh_reply_out_t){.id = "req-1",
                                              .status = 201,
                                              .etag = "\"x.3\"",
                                              .retry_after_s = 0,
                                              .body = body.data,
                                              .body_len = body.len});
    wh_reply_in_t r;
    CHECK_INT(wh_reply_env_decode(env.data, env.len, &r), 0);
    CHECK_INT(r.status, 201);
    CHECK(str_is(r.id, "req-1"));
    CHECK(str_is(r.etag, "\"x.3\""));
    CHECK_INT(r.retry_after_s, 0);
    CHECK(r.content_type.p == NULL);
    CHECK(r.body && r.body->type == MSGPACK_OBJECT_MAP);
    int64_t n;
    CHECK(wh_msg_int(wh_msg_get(r.body, "n"), &n));
    CHECK_INT(n, 7);
    CHECK(r.errors == NULL && r.problem.type.p == NULL);
    wh_reply_env_close(&r);
    wh_buf_close(&body);
    wh_buf_close(&env);
}

static void test_raw_body_round_trip(void)
{
    wh_buf_t body, env;
    wh_buf_init(&body);
    wh_buf_init(&env);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_bin(&pk, 5);
    msgpack_pack_bin_body(&pk, "a;b\r\n", 5);
    wh_reply_env_pack(&env, &(wh_reply_out_t){.id = "r",
                                              .status = 200,
                                              .content_type = "text/csv; charset=utf-8",
                                              .body = body.data,
                                              .body_len = body.len});
    wh_reply_in_t r;
    CHECK_INT(wh_reply_env_decode(env.data, env.len, &r), 0);
    CHECK(str_is(r.content_type, "text/csv; charset=utf-8"));
    CHECK(r.body && r.body->type == MSGPACK_OBJECT_BIN && r.body->via.bin.size == 5);
    wh_reply_env_close(&r);
    /* No body, no content type: it goes with the body only. */
    wh_buf_reset(&env);
    wh_reply_env_pack(&env, &(wh_reply_out_t){.id = "r", .status = 204, .content_type = "x/y"});
    CHECK_INT(wh_reply_env_decode(env.data, env.len, &r), 0);
    CHECK_INT(r.status, 204);
    CHECK(r.body == NULL && r.content_type.p == NULL);
    wh_reply_env_close(&r);
    wh_buf_close(&body);
    wh_buf_close(&env);
}

static void test_problem_round_trip(void)
{
    wh_buf_t errs, env, json;
    wh_buf_init(&errs);
    wh_buf_init(&env);
    wh_buf_init(&json);
    field_errors(&errs, 2);
    /* A problem wins over a body: a status of 400 or more carries none. */
    wh_reply_env_pack(&env, &(wh_reply_out_t){.id = "r",
                                              .status = 422,
                                              .retry_after_s = 3,
                                              .body = "\xc0",
                                              .body_len = 1,
                                              .problem = {.type = WH_STR("validation"),
                                                          .detail = WH_STR("2 invalid fields")},
                                              .errors = errs.data,
                                              .errors_len = errs.len,
                                              .n_errors = 2});
    wh_reply_in_t r;
    CHECK_INT(wh_reply_env_decode(env.data, env.len, &r), 0);
    CHECK_INT(r.status, 422);
    CHECK_INT(r.retry_after_s, 3);
    CHECK(r.body == NULL);
    CHECK(str_is(r.problem.type, "validation"));
    CHECK(str_is(r.problem.title, "Unprocessable Content"));
    CHECK(str_is(r.problem.detail, "2 invalid fields"));
    CHECK(r.errors && r.errors->via.array.size == 2);
    CHECK_INT(wh_problem_json(&json, &r.problem, r.errors), 0);
    wh_buf_putc(&json, '\0');
    CHECK_STR(json.data, "{\"type\":\"/problems/validation\",\"title\":\"Unprocessable Content\","
                         "\"status\":422,\"detail\":\"2 invalid fields\",\"errors\":["
                         "{\"pointer\":\"/a/0\",\"detail\":\"is wrong\"},"
                         "{\"pointer\":\"/a/1\",\"detail\":\"is wrong\"}]}");
    wh_reply_env_close(&r);
    wh_buf_close(&errs);
    wh_buf_close(&env);
    wh_buf_close(&json);
}

/* What a problem without type, title or detail says, in both forms. */
static void test_problem_defaults(void)
{
    wh_buf_t env, json;
    wh_buf_init(&env);
    wh_buf_init(&json);
    wh_reply_env_pack(&env, &(wh_reply_out_t){.id = "", .status = 503});
    wh_reply_in_t r;
    CHECK_INT(wh_reply_env_decode(env.data, env.len, &r), 0);
    CHECK(str_is(r.problem.type, "about:blank"));
    CHECK(str_is(r.problem.title, "Service Unavailable"));
    CHECK(str_is(r.problem.detail, ""));
    CHECK(r.errors == NULL);
    wh_reply_env_close(&r);
    CHECK_INT(wh_problem_json(&json, &(wh_problem_t){.status = 404}, NULL), 0);
    wh_buf_putc(&json, '\0');
    CHECK_STR(json.data, "{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404,"
                         "\"detail\":\"\",\"errors\":[]}");
    /* A type that is a URI already is kept; a detail is escaped. */
    wh_buf_reset(&json);
    CHECK_INT(wh_problem_json(&json,
                              &(wh_problem_t){.status = 409,
                                              .type = WH_STR("urn:x:conflict"),
                                              .title = WH_STR("Busy"),
                                              .detail = WH_STR("a \"b\"\n")},
                              NULL),
              0);
    wh_buf_putc(&json, '\0');
    CHECK_STR(json.data, "{\"type\":\"urn:x:conflict\",\"title\":\"Busy\",\"status\":409,"
                         "\"detail\":\"a \\\"b\\\"\\n\",\"errors\":[]}");
    wh_buf_close(&env);
    wh_buf_close(&json);
}

/* Every proper prefix of a valid envelope is refused, without reading past
 * it (each prefix is its own allocation, for the sanitizer builds). */
static void test_truncated(void)
{
    wh_buf_t errs, env;
    wh_buf_init(&errs);
    wh_buf_init(&env);
    field_errors(&errs, 3);
    wh_reply_env_pack(&env, &(wh_reply_out_t){.id = "req-9",
                                              .status = 409,
                                              .etag = "\"e\"",
                                              .problem = {.type = WH_STR("conflict"),
                                                          .detail = WH_STR("changed meanwhile")},
                                              .errors = errs.data,
                                              .errors_len = errs.len,
                                              .n_errors = 3});
    for (size_t n = 0; n < env.len; n++) {
        char *copy = malloc(n ? n : 1);
        CHECK(copy != NULL);
        memcpy(copy, env.data, n);
        wh_reply_in_t r;
        CHECK(wh_reply_env_decode(copy, n, &r) != 0);
        free(copy);
    }
    wh_reply_in_t r;
    CHECK_INT(wh_reply_env_decode(env.data, env.len, &r), 0);
    wh_reply_env_close(&r);
    wh_buf_close(&errs);
    wh_buf_close(&env);
}

static int decode_status(int64_t status, bool with)
{
    wh_buf_t env;
    wh_buf_init(&env);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &env);
    msgpack_pack_map(&pk, with ? 2 : 1);
    wh_msg_kv_str(&pk, "id", "r");
    if (with)
        wh_msg_kv_int(&pk, "status", status);
    wh_reply_in_t r;
    int rc = wh_reply_env_decode(env.data, env.len, &r);
    if (rc == 0) {
        CHECK_INT(r.status, status);
        wh_reply_env_close(&r);
    }
    wh_buf_close(&env);
    return rc;
}

static void test_status(void)
{
    CHECK_INT(decode_status(100, true), 0);
    CHECK_INT(decode_status(599, true), 0);
    CHECK_INT(decode_status(99, true), WH_EPROTO);
    CHECK_INT(decode_status(600, true), WH_EPROTO);
    CHECK_INT(decode_status(-200, true), WH_EPROTO);
    CHECK_INT(decode_status(0, false), WH_EPROTO);
    /* Not a map at all. */
    wh_reply_in_t r;
    CHECK_INT(wh_reply_env_decode("\x93\x01\x02\x03", 4, &r), WH_EPROTO);
    CHECK_INT(wh_reply_env_decode("", 0, &r), WH_EPROTO);
}

static int decode_with_errors(size_t n)
{
    wh_buf_t errs, env;
    wh_buf_init(&errs);
    wh_buf_init(&env);
    field_errors(&errs, (int)n);
    wh_reply_env_pack(
        &env,
        &(wh_reply_out_t){
            .id = "r", .status = 422, .errors = errs.data, .errors_len = errs.len, .n_errors = n});
    wh_reply_in_t r;
    int rc = wh_reply_env_decode(env.data, env.len, &r);
    if (rc == 0) {
        CHECK(r.errors && r.errors->via.array.size == n);
        wh_reply_env_close(&r);
    }
    wh_buf_close(&errs);
    wh_buf_close(&env);
    return rc;
}

static void test_error_count_limit(void)
{
    CHECK_INT(decode_with_errors(1), 0);
    CHECK_INT(decode_with_errors(WH_PROBLEM_MAX_ERRORS), 0);
    CHECK_INT(decode_with_errors(WH_PROBLEM_MAX_ERRORS + 1), WH_ELIMIT);
    CHECK_INT(decode_with_errors(10 * WH_PROBLEM_MAX_ERRORS), WH_ELIMIT);
}

/* Header fields that could not be sent as headers read as absent. */
static void test_header_fields(void)
{
    char etag[WH_ENV_MAX_ETAG + 2];
    memset(etag, 'e', sizeof etag - 1);
    etag[sizeof etag - 1] = '\0';
    wh_buf_t env;
    wh_buf_init(&env);
    wh_reply_env_pack(&env, &(wh_reply_out_t){.id = "r",
                                              .status = 200,
                                              .etag = etag,
                                              .content_type = "text/plain\r\nX-Evil: 1",
                                              .body = "\xa1x",
                                              .body_len = 2});
    wh_reply_in_t r;
    CHECK_INT(wh_reply_env_decode(env.data, env.len, &r), 0);
    CHECK(r.etag.p == NULL);
    CHECK(r.content_type.p == NULL);
    CHECK(r.body != NULL);
    wh_reply_env_close(&r);
    /* One byte shorter, the ETag is kept. */
    etag[WH_ENV_MAX_ETAG] = '\0';
    wh_buf_reset(&env);
    wh_reply_env_pack(&env, &(wh_reply_out_t){.id = "r", .status = 304, .etag = etag});
    CHECK_INT(wh_reply_env_decode(env.data, env.len, &r), 0);
    CHECK_INT(r.etag.n, WH_ENV_MAX_ETAG);
    wh_reply_env_close(&r);
    wh_buf_close(&env);
}

int main(void)
{
    TEST(test_body_round_trip);
    TEST(test_raw_body_round_trip);
    TEST(test_problem_round_trip);
    TEST(test_problem_defaults);
    TEST(test_truncated);
    TEST(test_status);
    TEST(test_error_count_limit);
    TEST(test_header_fields);
    return 0;
}
