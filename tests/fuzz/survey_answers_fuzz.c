/* Fuzz target for the public survey response: the surveys service's real
 * handlers on a store in a temporary directory, with one open survey (three
 * languages, a unit tree, scales 1-5 and 0-10) and one valid participation
 * code. The input is the rest of a JSON response body after
 * `{"code":"<the code>",`, so that every input reaches the language, unit
 * and answer validation rather than stopping at the code. Each call runs in
 * a transaction that is rolled back, so the code stays valid.
 *
 * Invariants (a broken one aborts): the status is one the contract lists for
 * this operation; a 201 stores exactly one response whose answers are each
 * a question's value within its scale or the "skipped" mark, and burns the
 * code; any other status stores nothing and burns nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codes.h"
#include "dispatch.h"
#include "err.h"
#include "json.h"
#include "outbox.h"
#include "participation.h"
#include "schema.h"
#include "survey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 65536

static const char SURVEY[] =
    "{\"org_id\":\"01J00000000000000000000000\",\"title\":\"Befragung\","
    "\"languages\":[\"de\",\"en\",\"sv\"],"
    "\"dimensions\":["
    "{\"key\":\"workload\",\"title\":{\"de\":\"A\",\"en\":\"W\",\"sv\":\"A\"},"
    "\"higher_is_better\":false},"
    "{\"key\":\"support\",\"title\":{\"de\":\"U\",\"en\":\"S\",\"sv\":\"S\"},"
    "\"higher_is_better\":true}],"
    "\"questions\":["
    "{\"key\":\"wl1\",\"dimension\":\"workload\",\"text\":{\"de\":\"a\",\"en\":\"a\",\"sv\":\"a\"},"
    "\"scale\":{\"min\":1,\"max\":5},\"reverse\":false},"
    "{\"key\":\"wl2\",\"dimension\":\"workload\",\"text\":{\"de\":\"b\",\"en\":\"b\",\"sv\":\"b\"},"
    "\"scale\":{\"min\":1,\"max\":5},\"reverse\":true},"
    "{\"key\":\"su1\",\"dimension\":\"support\",\"text\":{\"de\":\"c\",\"en\":\"c\",\"sv\":\"c\"},"
    "\"scale\":{\"min\":0,\"max\":10},\"reverse\":false}],"
    "\"units\":[{\"key\":\"A\",\"name\":\"Amt A\"},{\"key\":\"A1\",\"name\":\"Team A1\","
    "\"parent\":\"A\"},{\"key\":\"B\",\"name\":\"Amt B\"}],"
    "\"anonymity_threshold\":5}";
static const char CODES[] = "{\"count\":1,\"unit\":\"A\"}";

static const int scale_min[] = {1, 1, 0}, scale_max[] = {5, 5, 10};

static char dir[64];
static wh_store_t *store;
static wh_dispatcher_t disp;
static wh_reply_t rep;
static char survey_id[WH_ID_LEN + 1];
static char code[CODE_SHOWN_LEN + 1];
static char body[BODY_MAX + 128];
static int seq;

static void die(const char *what)
{
    fprintf(stderr, "survey_answers_fuzz: %s (status %d)\n", what, rep.status);
    abort();
}

static void noop(wh_ctx_t *c)
{
}

static const wh_handler_t own[] = {
    {WH_OP_SURVEYS_CREATE, survey_create},
    {WH_OP_SURVEYS_OPEN, survey_open},
    {WH_OP_SURVEYS_CODES, codes_create},
    {WH_OP_PUBLIC_RESPONSES_CREATE, public_response_create},
};
static wh_handler_t handlers[WH_OP_COUNT];

static int dispatch(int op, unsigned role, const char *json, size_t len)
{
    wh_buf_t msg, env;
    wh_json_error_t jerr;
    wh_buf_init(&msg);
    wh_buf_init(&env);
    if (json && wh_json_to_msgpack(json, len, &msg, &jerr) != 0) {
        wh_buf_close(&msg);
        return -1;
    }
    wh_param_t id = {"id", {survey_id, strlen(survey_id)}};
    char rid[32];
    snprintf(rid, sizeof rid, "req-%d", ++seq);
    static const char *const orgs[] = {"01J00000000000000000000000"};
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = op,
                              .id = rid,
                              .token_id = role == WH_ROLE_PUBLIC ? "" : "tok-admin",
                              .role = role == WH_ROLE_PUBLIC ? 0 : role,
                              .orgs = role == WH_ROLE_PUBLIC ? NULL : orgs,
                              .n_orgs = role == WH_ROLE_PUBLIC ? 0 : 1,
                              .deadline_ms = INT64_MAX / 2,
                              .params = &id,
                              .n_params = survey_id[0] ? 1 : 0,
                              .body = msg.data,
                              .body_len = msg.len,
                          });
    wh_request_t req;
    if (wh_request_decode(env.data, env.len, &req) != 0)
        die("own envelope does not decode");
    wh_dispatch(&disp, &req, &rep);
    wh_request_close(&req);
    wh_buf_close(&env);
    wh_buf_close(&msg);
    return rep.status;
}

static void reply_str(const char *key, char *out, size_t cap)
{
    wh_msg_t m;
    if (!rep.has_body || wh_msg_decode(rep.body.data, rep.body.len, &m) != 0)
        die("reply without a body");
    const msgpack_object *o = wh_msg_get(m.root, key);
    if (o && o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0)
        o = &o->via.array.ptr[0];
    if (!o || wh_msg_copy_str(o, out, cap) != 0)
        die(key);
    wh_msg_close(&m);
}

/* sql is a literal: the store keeps it prepared between calls. */
static int64_t count(const char *sql)
{
    sqlite3_stmt *st = wh_store_stmt(store, sql);
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        die(sql);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/wh-survey-fuzz-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    char path[128];
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(path, sizeof path, "%s/surveys.db", dir);
    if (wh_store_open(path, surveys_migrations, surveys_n_migrations, &store) != 0)
        die("store");
    if (wh_outbox_init_store(store) != 0)
        die("outbox");
    /* The fixture's own handlers; a stand-in for the service's others. */
    size_t n = 0;
    for (int op = 0; op < WH_OP_COUNT; op++) {
        if (wh_ops[op].service != WH_SVC_SURVEYS)
            continue;
        handlers[n] = (wh_handler_t){op, noop};
        for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
            if (own[i].op == op)
                handlers[n].fn = own[i].fn;
        n++;
    }
    if (wh_dispatcher_init(&disp, WH_SVC_SURVEYS, handlers, n, store, NULL) != 0)
        die("dispatcher");
    wh_reply_init(&rep);
    wh_store_begin(store);
    if (dispatch(WH_OP_SURVEYS_CREATE, WH_ROLE_ADMIN, SURVEY, sizeof SURVEY - 1) != 201)
        die("survey create");
    reply_str("id", survey_id, sizeof survey_id);
    if (dispatch(WH_OP_SURVEYS_OPEN, WH_ROLE_ADMIN, NULL, 0) != 200)
        die("survey open");
    int st = dispatch(WH_OP_SURVEYS_CODES, WH_ROLE_ADMIN, CODES, sizeof CODES - 1);
    if (st != 200 && st != 201)
        die("codes");
    reply_str("codes", code, sizeof code);
    if (wh_store_commit(store) != 0)
        die("commit");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        setup();
    if (size > BODY_MAX)
        return 0;
    int n = snprintf(body, sizeof body, "{\"code\":\"%s\",", code);
    memcpy(body + n, data, size);

    if (wh_store_begin(store) != 0)
        die("begin");
    int64_t codes_before = count("SELECT count(*) FROM survey_codes");
    int64_t responses_before = count("SELECT count(*) FROM survey_responses");
    int status = dispatch(WH_OP_PUBLIC_RESPONSES_CREATE, WH_ROLE_PUBLIC, body, (size_t)n + size);
    if (status >= 0) {
        int64_t codes = count("SELECT count(*) FROM survey_codes");
        int64_t responses = count("SELECT count(*) FROM survey_responses");
        switch (status) {
        case 201: {
            /* Every call is rolled back, so the new response is the only one. */
            if (codes != codes_before - 1 || responses_before != 0 || responses != 1)
                die("201 without exactly one response and one burned code");
            sqlite3_stmt *st = wh_store_stmt(store, "SELECT answers FROM survey_responses");
            if (!st || sqlite3_step(st) != SQLITE_ROW)
                die("stored response");
            const unsigned char *a = sqlite3_column_blob(st, 0);
            int len = sqlite3_column_bytes(st, 0);
            if (len != 3)
                die("answers not one byte per question");
            int answered = 0;
            for (int q = 0; q < 3; q++) {
                if (a[q] == DEF_SKIPPED)
                    continue;
                answered++;
                if (a[q] < scale_min[q] || a[q] > scale_max[q])
                    die("stored answer outside its scale");
            }
            if (answered == 0)
                die("stored a response with no answer");
            sqlite3_reset(st);
            break;
        }
        case 400:
        case 403:
        case 409:
        case 413:
        case 422:
            if (codes != codes_before || responses != responses_before)
                die("a refused response changed the store");
            break;
        default:
            die("status the contract does not list");
        }
    }
    if (wh_store_rollback(store) != 0)
        die("rollback");
    return 0;
}
