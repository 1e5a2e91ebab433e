/* proto/envelope.c: pack -> decode round trips of every field, and each
 * required field missing or of the wrong type (WH_EPROTO), optional fields
 * of the wrong type, the organisation limit, and the tenant check. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "err.h"

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip_full(void)
{
    const char *orgs[] = {"01ORGA", "01ORGB"};
    wh_param_t params[] = {{"id", WH_STR("01ORGA")}, {"q", WH_STR("a b&c")}};
    wh_buf_t body;
    wh_buf_init(&body);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, 1);
    wh_msg_kv_str(&pk, "name", "Neuer Name");

    wh_buf_t env;
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = WH_OP_ORGS_PATCH,
                              .id = "req-0001",
                              .token_id = "tok-7",
                              .role = WH_ROLE_COORDINATOR,
                              .orgs = orgs,
                              .n_orgs = 2,
                              .deadline_ms = 9500,
                              .idempotency_key = "idem-1",
                              .if_match = "\"01ORGA.3\"",
                              .params = params,
                              .n_params = 2,
                              .body = body.data,
                              .body_len = body.len,
                          });
    CHECK(!wh_buf_failed(&env));
    wh_request_t req;
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    CHECK_INT(req.op, WH_OP_ORGS_PATCH);
    CHECK_STR(req.id, "req-0001");
    CHECK_STR(req.principal.token_id, "tok-7");
    CHECK_INT(req.principal.role, WH_ROLE_COORDINATOR);
    CHECK(req.principal.orgs != NULL);
    CHECK_INT(req.principal.orgs->via.array.size, 2);
    CHECK(wh_msg_str_eq(&req.principal.orgs->via.array.ptr[0], "01ORGA"));
    CHECK(wh_msg_str_eq(&req.principal.orgs->via.array.ptr[1], "01ORGB"));
    CHECK_INT(req.deadline_ms, 9500);
    CHECK(wh_str_eq(req.idempotency_key, "idem-1"));
    CHECK(wh_str_eq(req.if_match, "\"01ORGA.3\""));
    CHECK_INT(req.params->type, MSGPACK_OBJECT_MAP);
    CHECK_INT(req.params->via.map.size, 2);
    CHECK(wh_str_eq(wh_request_param(&req, "id"), "01ORGA"));
    CHECK(wh_str_eq(wh_request_param(&req, "q"), "a b&c"));
    CHECK(wh_request_param(&req, "missing").p == NULL);
    CHECK(req.body != NULL);
    CHECK_INT(req.body->type, MSGPACK_OBJECT_MAP);
    CHECK(wh_msg_str_eq(wh_msg_get(req.body, "name"), "Neuer Name"));
    wh_request_close(&req);
    wh_buf_close(&env);
    wh_buf_close(&body);
}

static void test_round_trip_minimal(void)
{
    wh_buf_t env;
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = WH_OP_OPENAPI_GET,
                              .id = "r",
                          });
    wh_request_t req;
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    CHECK_INT(req.op, WH_OP_OPENAPI_GET);
    CHECK_STR(req.id, "r");
    CHECK_STR(req.principal.token_id, "");
    CHECK_INT(req.principal.role, 0);
    CHECK_INT(req.principal.orgs->via.array.size, 0);
    CHECK_INT(req.deadline_ms, 0);
    CHECK(req.idempotency_key.p == NULL);
    CHECK(req.if_match.p == NULL);
    CHECK(req.params != NULL);
    CHECK_INT(req.params->type, MSGPACK_OBJECT_MAP);
    CHECK_INT(req.params->via.map.size, 0);
    CHECK(req.body == NULL);
    wh_request_close(&req);
    wh_buf_close(&env);
}

static void test_round_trip_every_op_and_role(void)
{
    static const unsigned roles[] = {WH_ROLE_ADMIN, WH_ROLE_COORDINATOR, WH_ROLE_CONSULTANT,
                                     WH_ROLE_OCC_HEALTH, WH_ROLE_INTEGRATION};
    for (int op = 0; op < WH_OP_COUNT; op++)
        for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
            wh_buf_t env;
            wh_buf_init(&env);
            wh_request_pack(&env, &(wh_request_out_t){
                                      .op = op,
                                      .id = "id",
                                      .token_id = "t",
                                      .role = roles[r],
                                      .deadline_ms = -1,
                                      .body = "\xc0",
                                      .body_len = 1,
                                  });
            wh_request_t req;
            CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
            CHECK_INT(req.op, op);
            CHECK_INT(req.principal.role, roles[r]);
            CHECK_INT(req.deadline_ms, -1);
            CHECK(req.body == NULL); /* a nil body is no body */
            wh_request_close(&req);
            wh_buf_close(&env);
        }
}

static void test_limits_of_strings(void)
{
    char id[WH_ENV_MAX_ID + 2], tok[WH_ENV_MAX_TOKEN_ID + 2];
    memset(id, 'i', sizeof id);
    memset(tok, 't', sizeof tok);
    for (int over = 0; over <= 1; over++) {
        id[WH_ENV_MAX_ID + over] = '\0';
        wh_buf_t env;
        wh_buf_init(&env);
        wh_request_pack(&env, &(wh_request_out_t){
                                  .op = WH_OP_ORGS_LIST,
                                  .id = id,
                                  .token_id = "t",
                              });
        wh_request_t req;
        CHECK_INT(wh_request_decode(env.data, env.len, &req), over ? WH_EPROTO : 0);
        if (!over) {
            CHECK_INT(strlen(req.id), WH_ENV_MAX_ID);
            wh_request_close(&req);
        }
        wh_buf_close(&env);
        id[WH_ENV_MAX_ID + over] = 'i';

        tok[WH_ENV_MAX_TOKEN_ID + over] = '\0';
        wh_buf_init(&env);
        wh_request_pack(&env, &(wh_request_out_t){
                                  .op = WH_OP_ORGS_LIST,
                                  .id = "r",
                                  .token_id = tok,
                              });
        CHECK_INT(wh_request_decode(env.data, env.len, &req), over ? WH_EPROTO : 0);
        if (!over) {
            CHECK_INT(strlen(req.principal.token_id), WH_ENV_MAX_TOKEN_ID);
            wh_request_close(&req);
        }
        wh_buf_close(&env);
        tok[WH_ENV_MAX_TOKEN_ID + over] = 't';
    }
}

static void test_orgs_limit(void)
{
    static char names[WH_ENV_MAX_ORGS + 1][16];
    const char *orgs[WH_ENV_MAX_ORGS + 1];
    for (int i = 0; i <= WH_ENV_MAX_ORGS; i++) {
        snprintf(names[i], sizeof names[i], "o%d", i);
        orgs[i] = names[i];
    }
    for (int over = 0; over <= 1; over++) {
        wh_buf_t env;
        wh_buf_init(&env);
        wh_request_pack(&env, &(wh_request_out_t){
                                  .op = WH_OP_ORGS_LIST,
                                  .id = "r",
                                  .token_id = "t",
                                  .role = WH_ROLE_CONSULTANT,
                                  .orgs = orgs,
                                  .n_orgs = (size_t)(WH_ENV_MAX_ORGS + over),
                              });
        wh_request_t req;
        CHECK_INT(wh_request_decode(env.data, env.len, &req), over ? WH_EPROTO : 0);
        if (!over) {
            CHECK_INT(req.principal.orgs->via.array.size, WH_ENV_MAX_ORGS);
            CHECK(wh_request_has_org(&req, WH_STR("o999")));
            CHECK(!wh_request_has_org(&req, WH_STR("o1000")));
            wh_request_close(&req);
        }
        wh_buf_close(&env);
    }
}

/* ---- hand-built envelopes ------------------------------------------------ */

/* Which field to leave out or replace, and with what. */
enum bad_val {
    BV_OMIT,
    BV_INT,
    BV_NIL,
    BV_STR,
    BV_ARRAY,
    BV_MAP,
    BV_FLOAT,
    BV_UINT_HUGE,
};

static void pack_bad(msgpack_packer *pk, enum bad_val b)
{
    switch (b) {
    case BV_INT:
        msgpack_pack_int(pk, 5);
        break;
    case BV_NIL:
        msgpack_pack_nil(pk);
        break;
    case BV_STR:
        wh_msg_pack_str(pk, "x");
        break;
    case BV_ARRAY:
        msgpack_pack_array(pk, 1);
        msgpack_pack_int(pk, 1);
        break;
    case BV_MAP:
        msgpack_pack_map(pk, 0);
        break;
    case BV_FLOAT:
        msgpack_pack_double(pk, 5.0);
        break;
    case BV_UINT_HUGE:
        msgpack_pack_uint64(pk, UINT64_MAX);
        break;
    case BV_OMIT:
        break;
    }
}

/* A valid envelope in which field (a dotted path: "principal.role") is
 * omitted or replaced by b. */
static int decode_with(const char *field, enum bad_val b)
{
    static const char *const top[] = {"v",           "id",     "op",   "principal",
                                      "deadline_ms", "params", "body", "idempotency_key",
                                      "if_match",    NULL};
    static const char *const prin[] = {"token_id", "role", "orgs", NULL};
    wh_buf_t env;
    wh_buf_init(&env);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &env);
    int n = 0;
    for (int i = 0; top[i]; i++)
        n += !(b == BV_OMIT && strcmp(field, top[i]) == 0);
    msgpack_pack_map(&pk, (size_t)n);
    for (int i = 0; top[i]; i++) {
        const char *k = top[i];
        if (strcmp(field, k) == 0) {
            if (b != BV_OMIT) {
                wh_msg_pack_str(&pk, k);
                pack_bad(&pk, b);
            }
            continue;
        }
        wh_msg_pack_str(&pk, k);
        if (strcmp(k, "v") == 0) {
            msgpack_pack_int(&pk, 1);
        } else if (strcmp(k, "id") == 0) {
            wh_msg_pack_str(&pk, "req");
        } else if (strcmp(k, "op") == 0) {
            wh_msg_pack_str(&pk, "ORGS_GET");
        } else if (strcmp(k, "principal") == 0) {
            int pn = 0;
            for (int j = 0; prin[j]; j++)
                pn += !(b == BV_OMIT && strncmp(field, "principal.", 10) == 0 &&
                        strcmp(field + 10, prin[j]) == 0);
            msgpack_pack_map(&pk, (size_t)pn);
            for (int j = 0; prin[j]; j++) {
                bool target =
                    strncmp(field, "principal.", 10) == 0 && strcmp(field + 10, prin[j]) == 0;
                if (target && b == BV_OMIT)
                    continue;
                wh_msg_pack_str(&pk, prin[j]);
                if (target)
                    pack_bad(&pk, b);
                else if (j == 0)
                    wh_msg_pack_str(&pk, "tok");
                else if (j == 1)
                    wh_msg_pack_str(&pk, "coordinator");
                else {
                    msgpack_pack_array(&pk, 1);
                    wh_msg_pack_str(&pk, "01ORG");
                }
            }
        } else if (strcmp(k, "deadline_ms") == 0) {
            msgpack_pack_int(&pk, 1000);
        } else if (strcmp(k, "params") == 0) {
            msgpack_pack_map(&pk, 1);
            wh_msg_kv_str(&pk, "id", "01ORG");
        } else if (strcmp(k, "body") == 0) {
            msgpack_pack_map(&pk, 0);
        } else {
            wh_msg_pack_str(&pk, "k");
        }
    }
    CHECK(!wh_buf_failed(&env));
    wh_request_t req;
    int rc = wh_request_decode(env.data, env.len, &req);
    if (rc == 0) {
        CHECK_INT(req.op, WH_OP_ORGS_GET);
        wh_request_close(&req);
    } else {
        CHECK(req.msg.root == NULL); /* released on failure */
    }
    wh_buf_close(&env);
    return rc;
}

static void test_hand_built_valid(void)
{
    CHECK_INT(decode_with("", BV_OMIT), 0);
}

static void test_required_fields(void)
{
    static const char *const required[] = {"v", "id", "op", "principal", "deadline_ms", NULL};
    for (int i = 0; required[i]; i++) {
        CHECK_INT(decode_with(required[i], BV_OMIT), WH_EPROTO);
        CHECK_INT(decode_with(required[i], BV_NIL), WH_EPROTO);
        CHECK_INT(decode_with(required[i], BV_ARRAY), WH_EPROTO);
    }
    CHECK_INT(decode_with("v", BV_STR), WH_EPROTO);
    CHECK_INT(decode_with("v", BV_INT), WH_EPROTO); /* version 5 */
    CHECK_INT(decode_with("v", BV_UINT_HUGE), WH_EPROTO);
    CHECK_INT(decode_with("id", BV_INT), WH_EPROTO);
    CHECK_INT(decode_with("op", BV_INT), WH_EPROTO);
    CHECK_INT(decode_with("op", BV_STR), WH_EPROTO); /* unknown name "x" */
    CHECK_INT(decode_with("principal", BV_STR), WH_EPROTO);
    CHECK_INT(decode_with("deadline_ms", BV_STR), WH_EPROTO);
    CHECK_INT(decode_with("deadline_ms", BV_UINT_HUGE), WH_EPROTO);
    CHECK_INT(decode_with("deadline_ms", BV_FLOAT), 0); /* 5.0 is an integer */
}

static void test_optional_fields(void)
{
    /* Absent or nil: fine. */
    static const char *const optional[] = {"params",
                                           "body",
                                           "idempotency_key",
                                           "if_match",
                                           "principal.token_id",
                                           "principal.role",
                                           "principal.orgs",
                                           NULL};
    for (int i = 0; optional[i]; i++)
        CHECK_INT(decode_with(optional[i], BV_OMIT), 0);
    CHECK_INT(decode_with("body", BV_NIL), 0);
    CHECK_INT(decode_with("body", BV_INT), 0); /* any value; handlers check its type */
    CHECK_INT(decode_with("params", BV_MAP), 0);
    CHECK_INT(decode_with("principal.token_id", BV_NIL), 0);
    CHECK_INT(decode_with("principal.role", BV_NIL), 0);
    CHECK_INT(decode_with("idempotency_key", BV_NIL), 0);
    CHECK_INT(decode_with("if_match", BV_NIL), 0);
    /* Present but of the wrong type: not silently read as absent (an
     * If-Match that vanished would skip the precondition). */
    CHECK_INT(decode_with("params", BV_INT), WH_EPROTO);
    CHECK_INT(decode_with("params", BV_ARRAY), WH_EPROTO);
    CHECK_INT(decode_with("params", BV_NIL), WH_EPROTO);
    CHECK_INT(decode_with("principal.token_id", BV_INT), WH_EPROTO);
    CHECK_INT(decode_with("principal.role", BV_INT), WH_EPROTO);
    CHECK_INT(decode_with("principal.role", BV_STR), WH_EPROTO); /* unknown role "x" */
    CHECK_INT(decode_with("principal.orgs", BV_INT), WH_EPROTO);
    CHECK_INT(decode_with("principal.orgs", BV_ARRAY), WH_EPROTO); /* [1]: not a string */
    CHECK_INT(decode_with("principal.orgs", BV_MAP), WH_EPROTO);
    CHECK_INT(decode_with("idempotency_key", BV_INT), WH_EPROTO);
    CHECK_INT(decode_with("idempotency_key", BV_ARRAY), WH_EPROTO);
    CHECK_INT(decode_with("if_match", BV_INT), WH_EPROTO);
    CHECK_INT(decode_with("if_match", BV_MAP), WH_EPROTO);
}

static void test_params_entries(void)
{
    /* Every params key and value must be a string. */
    static const char *const cases[] = {
        "\x81\xa1k\x01",      /* value int */
        "\x81\x01\xa1v",      /* key int */
        "\x81\xa1k\xc0",      /* value nil */
        "\x81\xa1k\x91\xa1v", /* value array */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wh_buf_t env;
        wh_buf_init(&env);
        msgpack_packer pk;
        wh_msg_writer_init(&pk, &env);
        msgpack_pack_map(&pk, 6);
        wh_msg_kv_int(&pk, "v", 1);
        wh_msg_kv_str(&pk, "id", "r");
        wh_msg_kv_str(&pk, "op", "ORGS_LIST");
        wh_msg_pack_str(&pk, "principal");
        msgpack_pack_map(&pk, 0);
        wh_msg_kv_int(&pk, "deadline_ms", 1);
        wh_msg_pack_str(&pk, "params");
        wh_buf_append(&env, cases[i], strlen(cases[i]));
        wh_request_t req;
        CHECK_INT(wh_request_decode(env.data, env.len, &req), WH_EPROTO);
        wh_buf_close(&env);
    }
}

static void test_not_an_envelope(void)
{
    wh_request_t req;
    CHECK_INT(wh_request_decode("", 0, &req), WH_EPROTO);
    CHECK_INT(wh_request_decode("\x90", 1, &req), WH_EPROTO);
    CHECK_INT(wh_request_decode("\x80", 1, &req), WH_EPROTO);
    CHECK_INT(wh_request_decode("\xa1x", 2, &req), WH_EPROTO);
    CHECK_INT(wh_request_decode("\xc1", 1, &req), WH_EPROTO);
    CHECK_INT(wh_request_decode("\xdf\xff\xff\xff\xff\x00\x00", 7, &req), WH_EPROTO);
    /* Limits from the bounds checker pass through as they are. */
    CHECK_INT(wh_request_decode("\xdb\xff\xff\xff\xff", 5, &req), WH_ELIMIT);
    /* Trailing bytes after a valid envelope. */
    wh_buf_t env;
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = WH_OP_ORGS_LIST,
                              .id = "r",
                              .token_id = "t",
                          });
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    wh_request_close(&req);
    wh_buf_putc(&env, 0);
    CHECK_INT(wh_request_decode(env.data, env.len, &req), WH_EPROTO);
    /* Every truncation. */
    for (size_t n = 0; n + 1 < env.len; n++)
        CHECK_INT(wh_request_decode(env.data, n, &req), WH_EPROTO);
    wh_buf_close(&env);
}

static void test_has_org(void)
{
    const char *orgs[] = {"01AAA", "01BBB"};
    wh_buf_t env;
    wh_request_t req;
    /* A coordinator sees only its organisations, compared whole. */
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = WH_OP_ORGS_GET,
                              .id = "r",
                              .token_id = "t",
                              .role = WH_ROLE_COORDINATOR,
                              .orgs = orgs,
                              .n_orgs = 2,
                          });
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    CHECK(wh_request_has_org(&req, WH_STR("01AAA")));
    CHECK(wh_request_has_org(&req, WH_STR("01BBB")));
    CHECK(!wh_request_has_org(&req, WH_STR("01CCC")));
    CHECK(!wh_request_has_org(&req, WH_STR("01AA")));
    CHECK(!wh_request_has_org(&req, WH_STR("01AAAA")));
    CHECK(!wh_request_has_org(&req, WH_STR("")));
    CHECK(!wh_request_has_org(&req, (wh_str_t){NULL, 0}));
    wh_request_close(&req);
    wh_buf_close(&env);

    /* An admin sees every organisation, listed or not. */
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = WH_OP_ORGS_GET,
                              .id = "r",
                              .token_id = "t",
                              .role = WH_ROLE_ADMIN,
                          });
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    CHECK(wh_request_has_org(&req, WH_STR("01CCC")));
    CHECK(wh_request_has_org(&req, WH_STR("anything")));
    wh_request_close(&req);
    wh_buf_close(&env);

    /* Public, and a principal without an orgs array: none. */
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = WH_OP_ORGS_GET,
                              .id = "r",
                              .orgs = orgs,
                              .n_orgs = 2,
                          });
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    CHECK(wh_request_has_org(&req, WH_STR("01AAA"))); /* the list is what counts */
    wh_request_close(&req);
    wh_buf_close(&env);
    static const char no_orgs[] = "\x85\xa1v\x01\xa2id\xa1r\xa2op\xa8ORGS_GET"
                                  "\xa9principal\x81\xa4role\xaa"
                                  "consultant"
                                  "\xab"
                                  "deadline_ms\x00";
    CHECK_INT(wh_request_decode(no_orgs, sizeof no_orgs - 1, &req), 0);
    CHECK_INT(req.principal.role, WH_ROLE_CONSULTANT);
    CHECK(req.principal.orgs == NULL);
    CHECK(!wh_request_has_org(&req, WH_STR("01AAA")));
    wh_request_close(&req);
}

int main(void)
{
    TEST(test_round_trip_full);
    TEST(test_round_trip_minimal);
    TEST(test_round_trip_every_op_and_role);
    TEST(test_limits_of_strings);
    TEST(test_orgs_limit);
    TEST(test_hand_built_valid);
    TEST(test_required_fields);
    TEST(test_optional_fields);
    TEST(test_params_entries);
    TEST(test_not_an_envelope);
    TEST(test_has_org);
    return 0;
}
