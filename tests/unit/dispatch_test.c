/* services/runtime/dispatch.c with the agreements service's real organisation
 * handlers on a store in a temporary directory: the completeness check of
 * the handler table, Idempotency-Key replay (same bytes, one row; another
 * body is 422; key length; scope; expiry; secrets kept as a marker only),
 * savepoint rollback of a failed request between committed neighbours, the
 * reply-size limit, If-Match, tenant scoping, and the admin-only fields of
 * an organisation. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "dispatch.h"
#include "err.h"
#include "id.h"
#include "organizations.h"
#include "outbox.h"
#include "schema.h"

static char dir[64];
static wh_store_t *store;
static wh_dispatcher_t disp;
static wh_reply_t rep;

static const wh_handler_t org_handlers[] = {
    {WH_OP_ORGS_CREATE, org_create},
    {WH_OP_ORGS_LIST, org_list},
    {WH_OP_ORGS_GET, org_get},
    {WH_OP_ORGS_PATCH, org_patch},
};

static void noop(wh_ctx_t *c)
{
}

/* The organisation handlers and, for the service's other operations (which
 * these tests do not call), a stand-in: the dispatcher wants them all. */
static wh_handler_t handlers[WH_OP_COUNT];
static size_t n_handlers;

static void build_handlers(void)
{
    memcpy(handlers, org_handlers, sizeof org_handlers);
    n_handlers = sizeof org_handlers / sizeof org_handlers[0];
    for (int op = 0; op < WH_OP_COUNT; op++) {
        bool listed = false;
        for (size_t i = 0; i < n_handlers; i++)
            listed |= handlers[i].op == op;
        if (wh_ops[op].service == WH_SVC_AGREEMENTS && !listed)
            handlers[n_handlers++] = (wh_handler_t){op, noop};
    }
}

/* ---- helpers ------------------------------------------------------------ */

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/wh-dispatch-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/agreements.db", dir);
    CHECK_INT(wh_store_open(path, agreements_migrations, agreements_n_migrations, &store), 0);
    CHECK_INT(wh_outbox_init_store(store), 0);
    build_handlers();
    CHECK_INT(wh_dispatcher_init(&disp, WH_SVC_AGREEMENTS, handlers, n_handlers, store, NULL), 0);
    wh_reply_init(&rep);
}

static void teardown(void)
{
    wh_reply_close(&rep);
    wh_store_destroy(&store);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        CHECK_INT(unlink(p), 0);
    }
    closedir(d);
    CHECK_INT(rmdir(dir), 0);
}

static int64_t count(const char *sql)
{
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(wh_store_db(store), sql, -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int64_t n_orgs(void)
{
    return count("SELECT count(*) FROM organizations");
}

typedef struct call {
    int op;
    const char *token;
    unsigned role;
    const char *const *orgs;
    size_t n_orgs;
    const char *idem;
    const char *if_match;
    const char *id;     /* path parameter */
    const char *query;  /* "name=value" or NULL */
    const char *query2; /* a second one */
    const wh_buf_t *body;
} call_t;

static int request_seq;

/* Packs and decodes the envelope as gateway and service would, then runs
 * it through the dispatcher. In a transaction unless txn is false (the
 * caller holds one). */
static int dispatch_in(const call_t *c, bool txn)
{
    wh_param_t params[3];
    size_t np = 0;
    if (c->id)
        params[np++] = (wh_param_t){"id", {c->id, strlen(c->id)}};
    char qname[2][32];
    const char *qs[2] = {c->query, c->query2};
    for (int i = 0; i < 2; i++)
        if (qs[i]) {
            const char *eq = strchr(qs[i], '=');
            snprintf(qname[i], sizeof qname[i], "%.*s", (int)(eq - qs[i]), qs[i]);
            params[np++] = (wh_param_t){qname[i], {eq + 1, strlen(eq + 1)}};
        }
    char rid[32];
    snprintf(rid, sizeof rid, "req-%d", ++request_seq);
    wh_buf_t env;
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = c->op,
                              .id = rid,
                              .token_id = c->token ? c->token : "tok-admin",
                              .role = c->role ? c->role : WH_ROLE_ADMIN,
                              .orgs = c->orgs,
                              .n_orgs = c->n_orgs,
                              .deadline_ms = 5000 + request_seq,
                              .idempotency_key = c->idem,
                              .if_match = c->if_match,
                              .params = params,
                              .n_params = np,
                              .body = c->body ? c->body->data : NULL,
                              .body_len = c->body ? c->body->len : 0,
                          });
    wh_request_t req;
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    if (txn)
        CHECK_INT(wh_store_begin(store), 0);
    wh_dispatch(&disp, &req, &rep);
    if (txn)
        CHECK_INT(wh_store_commit(store), 0);
    wh_request_close(&req);
    wh_buf_close(&env);
    return rep.status;
}

static int dispatch(const call_t *c)
{
    return dispatch_in(c, true);
}

static wh_buf_t body;

static const wh_buf_t *org_body(const char *name, const char *kind, int employees)
{
    wh_buf_close(&body);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, 3);
    wh_msg_kv_str(&pk, "name", name);
    wh_msg_kv_str(&pk, "kind", kind);
    wh_msg_kv_int(&pk, "employees", employees);
    return &body;
}

/* A string field of the reply body (or of one of its items). */
static const char *reply_str(const char *key)
{
    static char out[256];
    wh_msg_t m;
    CHECK(rep.has_body);
    CHECK_INT(wh_msg_decode(rep.body.data, rep.body.len, &m), 0);
    const msgpack_object *o = wh_msg_get(m.root, key);
    if (wh_msg_is_nil(o))
        snprintf(out, sizeof out, "(nil)");
    else
        CHECK_INT(wh_msg_copy_str(o, out, sizeof out), 0);
    wh_msg_close(&m);
    return out;
}

static int64_t reply_int(const char *key)
{
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(rep.body.data, rep.body.len, &m), 0);
    int64_t v;
    CHECK(wh_msg_int(wh_msg_get(m.root, key), &v));
    wh_msg_close(&m);
    return v;
}

/* Item ids of a list reply, comma-separated, and its next_cursor. */
static const char *list_ids(char *cursor_out)
{
    static char out[1024];
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(rep.body.data, rep.body.len, &m), 0);
    const msgpack_object *items = wh_msg_get(m.root, "items");
    CHECK_INT(items->type, MSGPACK_OBJECT_ARRAY);
    size_t o = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < items->via.array.size; i++) {
        wh_str_t id = wh_msg_str(wh_msg_get(&items->via.array.ptr[i], "id"));
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%.*s", i ? "," : "", (int)id.n, id.p);
    }
    const msgpack_object *next = wh_msg_get(m.root, "next_cursor");
    CHECK(next != NULL);
    if (wh_msg_is_nil(next))
        strcpy(cursor_out, "(nil)");
    else
        CHECK_INT(wh_msg_copy_str(next, cursor_out, WH_ID_LEN + 1), 0);
    wh_msg_close(&m);
    return out;
}

/* Creates an organisation as admin and returns its id. */
static void create_org(const char *name, char id[WH_ID_LEN + 1])
{
    call_t c = {.op = WH_OP_ORGS_CREATE, .body = org_body(name, "employer", 10)};
    CHECK_INT(dispatch(&c), 201);
    snprintf(id, WH_ID_LEN + 1, "%s", reply_str("id"));
    CHECK(wh_id_valid(id, strlen(id)));
}

/* ---- completeness ------------------------------------------------------- */

static void test_completeness_check(void)
{
    wh_dispatcher_t d;
    size_t n = n_handlers;
    /* Missing one (an organisation handler, or another). */
    CHECK_INT(wh_dispatcher_init(&d, WH_SVC_AGREEMENTS, handlers + 1, n - 1, NULL, NULL),
              WH_EINVAL);
    CHECK_INT(wh_dispatcher_init(&d, WH_SVC_AGREEMENTS, handlers, n - 1, NULL, NULL), WH_EINVAL);
    /* Another service's operation, even with all of its own. */
    wh_handler_t extra[WH_OP_COUNT + 1];
    memcpy(extra, handlers, n * sizeof handlers[0]);
    extra[n] = (wh_handler_t){WH_OP_TOKENS_LIST, noop};
    CHECK_INT(wh_dispatcher_init(&d, WH_SVC_AGREEMENTS, extra, n + 1, NULL, NULL), WH_EINVAL);
    /* Listed twice. */
    extra[n] = (wh_handler_t){WH_OP_ORGS_GET, noop};
    CHECK_INT(wh_dispatcher_init(&d, WH_SVC_AGREEMENTS, extra, n + 1, NULL, NULL), WH_EINVAL);
    /* Out of range. */
    extra[n] = (wh_handler_t){WH_OP_COUNT, noop};
    CHECK_INT(wh_dispatcher_init(&d, WH_SVC_AGREEMENTS, extra, n + 1, NULL, NULL), WH_EINVAL);
    extra[n] = (wh_handler_t){-1, noop};
    CHECK_INT(wh_dispatcher_init(&d, WH_SVC_AGREEMENTS, extra, n + 1, NULL, NULL), WH_EINVAL);
    /* The right table for the wrong service. */
    CHECK_INT(wh_dispatcher_init(&d, WH_SVC_SURVEYS, handlers, n, NULL, NULL), WH_EINVAL);
    /* Exactly right. */
    CHECK_INT(wh_dispatcher_init(&d, WH_SVC_AGREEMENTS, handlers, n, NULL, NULL), 0);
    for (int op = 0; op < WH_OP_COUNT; op++)
        CHECK((d.table[op] != NULL) == (wh_ops[op].service == WH_SVC_AGREEMENTS));
    CHECK(d.table[WH_OP_ORGS_GET] == org_get);
    /* The store gets the idempotency table. */
    CHECK_INT(count("SELECT count(*) FROM sqlite_schema WHERE name = 'wh_idempotency'"), 1);
}

static void test_op_of_another_service(void)
{
    call_t c = {.op = WH_OP_TOKENS_LIST};
    CHECK_INT(dispatch(&c), 501);
    CHECK_STR(rep.type, "not-implemented");
    CHECK_STR(rep.detail, "TOKENS_LIST is not served here");
}

/* ---- idempotency -------------------------------------------------------- */

static void test_create_and_get(void)
{
    int64_t before = n_orgs();
    call_t c = {.op = WH_OP_ORGS_CREATE, .body = org_body("Bezirksamt Mitte", "employer", 1600)};
    CHECK_INT(dispatch(&c), 201);
    CHECK_INT(n_orgs(), before + 1);
    char id[WH_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", reply_str("id"));
    CHECK_STR(reply_str("name"), "Bezirksamt Mitte");
    CHECK_STR(reply_str("kind"), "employer");
    CHECK_INT(reply_int("employees"), 1600);
    CHECK_STR(reply_str("region"), "(nil)");
    char etag[80];
    snprintf(etag, sizeof etag, "\"%s.1\"", id);
    CHECK_STR(rep.etag, etag);
    call_t g = {.op = WH_OP_ORGS_GET, .id = id};
    CHECK_INT(dispatch(&g), 200);
    CHECK_STR(reply_str("id"), id);
    CHECK_STR(rep.etag, etag);
}

static void test_idempotent_replay(void)
{
    int64_t before = n_orgs();
    call_t c = {
        .op = WH_OP_ORGS_CREATE, .idem = "key-1", .body = org_body("AOK Nordost", "insurer", 5000)};
    CHECK_INT(dispatch(&c), 201);
    wh_buf_t first;
    wh_buf_init(&first);
    wh_buf_append(&first, rep.body.data, rep.body.len);
    char etag[80];
    snprintf(etag, sizeof etag, "%s", rep.etag);
    CHECK_INT(n_orgs(), before + 1);
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency"), 1);

    /* The repeat (another request id, another deadline) gets the very same
     * status, ETag and body bytes, and no second row. */
    for (int i = 0; i < 3; i++) {
        org_body("AOK Nordost", "insurer", 5000);
        CHECK_INT(dispatch(&c), 201);
        CHECK_INT(rep.body.len, first.len);
        CHECK(memcmp(rep.body.data, first.data, first.len) == 0);
        CHECK_STR(rep.etag, etag);
        CHECK_INT(n_orgs(), before + 1);
    }
    CHECK_INT(count("SELECT count(*) FROM wh_outbox WHERE type = 'organization.created'"),
              before + 1);

    /* Same key, another body: 422, nothing written. */
    c.body = org_body("AOK Nordost", "insurer", 5001);
    CHECK_INT(dispatch(&c), 422);
    CHECK_STR(rep.type, "idempotency-key-reused");
    CHECK_INT(n_orgs(), before + 1);

    /* Same key and body under another token: its own scope, a new row. */
    c.body = org_body("AOK Nordost", "insurer", 5000);
    c.token = "tok-other-admin";
    CHECK_INT(dispatch(&c), 201);
    CHECK(strcmp(reply_str("id"), "") != 0);
    CHECK(rep.body.len != first.len || memcmp(rep.body.data, first.data, first.len) != 0);
    CHECK_INT(n_orgs(), before + 2);

    /* Without a key, a repeat creates again. */
    c.token = NULL;
    c.idem = NULL;
    CHECK_INT(dispatch(&c), 201);
    CHECK_INT(dispatch(&c), 201);
    CHECK_INT(n_orgs(), before + 4);
    wh_buf_close(&first);
}

static void test_idempotency_key_length(void)
{
    int64_t before = n_orgs();
    char key[WH_IDEM_MAX_KEY + 2];
    memset(key, 'k', sizeof key);
    key[WH_IDEM_MAX_KEY + 1] = '\0';
    call_t c = {.op = WH_OP_ORGS_CREATE, .idem = key, .body = org_body("Lang", "employer", 1)};
    CHECK_INT(dispatch(&c), 422);
    CHECK_STR(rep.type, "validation");
    CHECK_INT(rep.n_errors, 1);
    CHECK_INT(n_orgs(), before);
    key[WH_IDEM_MAX_KEY] = '\0';
    CHECK_INT(dispatch(&c), 201);
    CHECK_INT(n_orgs(), before + 1);
    CHECK_INT(dispatch(&c), 201); /* replayed */
    CHECK_INT(n_orgs(), before + 1);
    c.idem = "";
    CHECK_INT(dispatch(&c), 422);
    CHECK_INT(n_orgs(), before + 1);
}

static void test_failed_request_not_recorded(void)
{
    /* An invalid body under a key is not remembered: the corrected request
     * with the same key is a different request and gets created. */
    int64_t before = n_orgs();
    call_t c = {.op = WH_OP_ORGS_CREATE, .idem = "key-fix", .body = org_body("", "robot", -1)};
    CHECK_INT(dispatch(&c), 422);
    CHECK_INT(rep.n_errors, 3);
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency WHERE key = 'key-fix'"), 0);
    c.body = org_body("Fixed", "employer", 1);
    CHECK_INT(dispatch(&c), 201);
    CHECK_INT(n_orgs(), before + 1);
    /* And the same invalid body again is still judged afresh: 422. */
    c.idem = "key-fix-2";
    c.body = org_body("", "robot", -1);
    CHECK_INT(dispatch(&c), 422);
    CHECK_INT(dispatch(&c), 422);
    CHECK_INT(n_orgs(), before + 1);
}

static void test_idempotency_expiry(void)
{
    CHECK_INT(setenv("WH_NOW", "2030-01-01T00:00:00Z", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    int64_t before = n_orgs();
    call_t c = {.op = WH_OP_ORGS_CREATE, .idem = "key-old", .body = org_body("Alt", "employer", 1)};
    CHECK_INT(dispatch(&c), 201);
    /* Within the day: kept. */
    CHECK_INT(setenv("WH_NOW", "2030-01-01T23:59:00Z", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    CHECK_INT(wh_store_begin(store), 0);
    wh_dispatcher_expire(&disp);
    CHECK_INT(wh_store_commit(store), 0);
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency WHERE key = 'key-old'"), 1);
    /* After WH_IDEM_TTL_MS: gone, and the key may be used afresh. */
    CHECK_INT(setenv("WH_NOW", "2030-01-02T00:00:01Z", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    CHECK_INT(wh_store_begin(store), 0);
    wh_dispatcher_expire(&disp);
    CHECK_INT(wh_store_commit(store), 0);
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency WHERE key = 'key-old'"), 0);
    c.body = org_body("Neu", "employer", 2);
    CHECK_INT(dispatch(&c), 201);
    CHECK_INT(n_orgs(), before + 2);
    CHECK_INT(unsetenv("WH_NOW"), 0);
}

/* ---- savepoints ---------------------------------------------------------- */

/* Writes through the real handler, then finds something wrong. */
static void create_then_fail(wh_ctx_t *c)
{
    org_create(c);
    CHECK_INT(c->rep->status, 201);
    wh_reply_field(c->rep, "/name", "rejected after writing");
}

static void test_failed_request_rolls_back(void)
{
    int64_t before = n_orgs();
    int64_t events = count("SELECT count(*) FROM wh_outbox");
    /* Three requests in one batch transaction, the middle one failing
     * after its writes: its savepoint goes, its neighbours commit. */
    CHECK_INT(wh_store_begin(store), 0);
    call_t ok = {.op = WH_OP_ORGS_CREATE, .body = org_body("Erste", "employer", 1)};
    CHECK_INT(dispatch_in(&ok, false), 201);
    disp.table[WH_OP_ORGS_CREATE] = create_then_fail;
    call_t bad = {
        .op = WH_OP_ORGS_CREATE, .idem = "key-sp", .body = org_body("Zweite", "employer", 2)};
    CHECK_INT(dispatch_in(&bad, false), 422);
    CHECK_STR(rep.detail, "1 invalid field");
    disp.table[WH_OP_ORGS_CREATE] = org_create;
    CHECK(wh_store_in_txn(store));
    call_t ok2 = {.op = WH_OP_ORGS_CREATE, .body = org_body("Dritte", "employer", 3)};
    CHECK_INT(dispatch_in(&ok2, false), 201);
    CHECK_INT(wh_store_commit(store), 0);
    CHECK_INT(n_orgs(), before + 2);
    CHECK_INT(count("SELECT count(*) FROM organizations WHERE name = 'Zweite'"), 0);
    CHECK_INT(count("SELECT count(*) FROM organizations WHERE name IN ('Erste', 'Dritte')"), 2);
    /* Its event and its idempotency record went with it. */
    CHECK_INT(count("SELECT count(*) FROM wh_outbox"), events + 2);
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency WHERE key = 'key-sp'"), 0);

    /* An invalid body: 422 listing each field, nothing written, and no
     * savepoint left open behind it. */
    CHECK_INT(wh_store_begin(store), 0);
    wh_buf_close(&body);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, 4);
    wh_msg_kv_int(&pk, "name", 5);
    wh_msg_kv_str(&pk, "kind", "robot");
    wh_msg_kv_int(&pk, "employees", -1);
    wh_msg_kv_str(&pk, "a/b", "x");
    call_t inv = {.op = WH_OP_ORGS_CREATE, .body = &body};
    CHECK_INT(dispatch_in(&inv, false), 422);
    CHECK_INT(rep.n_errors, 4);
    CHECK_STR(rep.detail, "4 invalid fields");
    CHECK_INT(wh_store_release(store), WH_ESTORE); /* no "req" savepoint remains */
    CHECK_INT(wh_store_commit(store), 0);
    CHECK_INT(n_orgs(), before + 2);
    wh_buf_t raw;
    wh_buf_init(&raw);
    wh_reply_pack(&rep, "x", &raw);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(raw.data, raw.len, &m), 0);
    const msgpack_object *errs = wh_msg_get(wh_msg_get(m.root, "error"), "errors");
    CHECK_INT(errs->via.array.size, 4);
    CHECK(wh_msg_str_eq(wh_msg_get(&errs->via.array.ptr[0], "pointer"), "/a~1b"));
    CHECK(wh_msg_str_eq(wh_msg_get(&errs->via.array.ptr[1], "pointer"), "/name"));
    CHECK(wh_msg_str_eq(wh_msg_get(&errs->via.array.ptr[2], "pointer"), "/kind"));
    CHECK(wh_msg_str_eq(wh_msg_get(&errs->via.array.ptr[3], "pointer"), "/employees"));
    wh_msg_close(&m);
    wh_buf_close(&raw);
}

static void test_handler_without_answer(void)
{
    int64_t before = n_orgs();
    disp.table[WH_OP_ORGS_CREATE] = noop;
    call_t c = {.op = WH_OP_ORGS_CREATE, .body = org_body("Nichts", "employer", 1)};
    CHECK_INT(dispatch(&c), 500);
    CHECK_STR(rep.type, "internal");
    disp.table[WH_OP_ORGS_CREATE] = org_create;
    CHECK_INT(n_orgs(), before);
}

/* ---- reply size ---------------------------------------------------------- */

/* Writes through the real handler, then answers more than a reply may carry. */
static void create_then_overflow(wh_ctx_t *c)
{
    org_create(c);
    CHECK_INT(c->rep->status, 201);
    size_t n = WH_REPLY_MAX_BODY_BYTES + 1;
    char *big = calloc(1, n);
    CHECK(big != NULL);
    wh_reply_raw(c->rep, 200, "text/plain", big, n);
    free(big);
}

static void test_reply_too_large(void)
{
    int64_t before = n_orgs();
    int64_t events = count("SELECT count(*) FROM wh_outbox");
    disp.table[WH_OP_ORGS_CREATE] = create_then_overflow;
    call_t c = {
        .op = WH_OP_ORGS_CREATE, .idem = "key-big", .body = org_body("Gross", "employer", 1)};
    CHECK_INT(dispatch(&c), 507);
    disp.table[WH_OP_ORGS_CREATE] = org_create;
    CHECK_STR(rep.type, "reply-too-large");
    CHECK(!rep.has_body);
    /* The problem fits in a message with room to spare. */
    wh_buf_t raw;
    wh_buf_init(&raw);
    wh_reply_pack(&rep, "x", &raw);
    CHECK(raw.len < 4096);
    wh_buf_close(&raw);
    /* Nothing it wrote stays: no organisation, no event, no record. */
    CHECK_INT(n_orgs(), before);
    CHECK_INT(count("SELECT count(*) FROM wh_outbox"), events);
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency WHERE key = 'key-big'"), 0);
    /* Exactly at the limit is still a reply: five binaries that fill it. */
    wh_reply_reset(&rep);
    char *edge = calloc(1, WH_MSG_MAX_STR);
    CHECK(edge != NULL);
    msgpack_packer *pk = wh_reply_ok(&rep, 200);
    msgpack_pack_array(pk, 5);
    for (int i = 0; i < 4; i++) {
        msgpack_pack_bin(pk, 1000000);
        msgpack_pack_bin_body(pk, edge, 1000000);
    }
    size_t last = WH_REPLY_MAX_BODY_BYTES - rep.body.len - 5; /* bin 32 header */
    CHECK(last > 65535 && last <= WH_MSG_MAX_STR);
    msgpack_pack_bin(pk, last);
    msgpack_pack_bin_body(pk, edge, last);
    free(edge);
    CHECK_INT((int64_t)rep.body.len, WH_REPLY_MAX_BODY_BYTES);
    CHECK(!wh_reply_check_size(&rep));
    CHECK_INT(rep.status, 200);
    wh_buf_init(&raw);
    wh_reply_pack(&rep, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &raw);
    CHECK(raw.len <= WH_MSG_MAX_BYTES);
    wh_buf_close(&raw);
}

/* Small in bytes, but more than the receiver's decoder takes: values. */
static void answer_many_values(wh_ctx_t *c)
{
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_array(pk, WH_MSG_MAX_ITEMS);
    for (int i = 0; i < WH_MSG_MAX_ITEMS; i++)
        msgpack_pack_nil(pk);
}

/* A text body (CSV, iCalendar) over the longest string the decoder takes. */
static void answer_long_text(wh_ctx_t *c)
{
    size_t n = WH_MSG_MAX_STR + 1;
    char *text = malloc(n);
    CHECK(text != NULL);
    memset(text, 'a', n);
    wh_reply_raw(c->rep, 200, "text/csv", text, n);
    free(text);
}

static void test_reply_undecodable(void)
{
    const char *orgs[] = {"01ARZ3NDEKTSV4RRFFQ69G5FAV"};
    call_t c = {.op = WH_OP_ORGS_LIST, .role = WH_ROLE_COORDINATOR, .orgs = orgs, .n_orgs = 1};
    disp.table[WH_OP_ORGS_LIST] = answer_many_values;
    CHECK_INT(dispatch(&c), 507);
    CHECK_STR(rep.type, "reply-too-large");
    disp.table[WH_OP_ORGS_LIST] = answer_long_text;
    CHECK_INT(dispatch(&c), 507);
    CHECK_STR(rep.type, "reply-too-large");
    disp.table[WH_OP_ORGS_LIST] = org_list;
    CHECK_INT(dispatch(&c), 200);
}

/* ---- secrets ------------------------------------------------------------- */

/* Creates, and says that the answer holds a secret shown once. */
static void create_with_secret(wh_ctx_t *c)
{
    org_create(c);
    CHECK_INT(c->rep->status, 201);
    wh_reply_secret(c->rep);
}

static void test_secret_never_stored(void)
{
    int64_t before = n_orgs();
    disp.table[WH_OP_ORGS_CREATE] = create_with_secret;
    call_t c = {
        .op = WH_OP_ORGS_CREATE, .idem = "key-secret", .body = org_body("Geheim", "employer", 1)};
    CHECK_INT(dispatch(&c), 201);
    CHECK(rep.has_body);
    /* A marker only: no body, no ETag. */
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency WHERE key = 'key-secret'"), 1);
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency WHERE key = 'key-secret'"
                    " AND body IS NULL AND etag IS NULL AND status = 0"),
              1);
    /* The repeat is told the secret was shown once, and creates nothing. */
    CHECK_INT(dispatch(&c), 409);
    CHECK_STR(rep.type, "secret-shown-once");
    CHECK(!rep.has_body);
    CHECK_INT(n_orgs(), before + 1);
    /* Another body under the same key is still 422. */
    c.body = org_body("Geheim", "employer", 2);
    CHECK_INT(dispatch(&c), 422);
    CHECK_STR(rep.type, "idempotency-key-reused");
    disp.table[WH_OP_ORGS_CREATE] = org_create;
    /* A reply without a secret is stored as before. */
    call_t o = {
        .op = WH_OP_ORGS_CREATE, .idem = "key-open", .body = org_body("Offen", "employer", 1)};
    CHECK_INT(dispatch(&o), 201);
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency WHERE key = 'key-open'"
                    " AND body IS NOT NULL AND status = 201"),
              1);
}

static void test_expired_record_not_replayed(void)
{
    /* Past WH_IDEM_TTL_MS a record is not replayed even before the sweep
     * has run, and the key starts afresh. */
    CHECK_INT(setenv("WH_NOW", "2031-01-01T00:00:00Z", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    int64_t before = n_orgs();
    disp.table[WH_OP_ORGS_CREATE] = create_with_secret;
    call_t c = {
        .op = WH_OP_ORGS_CREATE, .idem = "key-late", .body = org_body("Spaet", "employer", 1)};
    CHECK_INT(dispatch(&c), 201);
    CHECK_INT(dispatch(&c), 409);
    CHECK_INT(setenv("WH_NOW", "2031-01-02T00:00:01Z", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    CHECK_INT(dispatch(&c), 201);
    CHECK_INT(n_orgs(), before + 2);
    CHECK_INT(count("SELECT count(*) FROM wh_idempotency WHERE key = 'key-late'"), 1);
    CHECK_INT(dispatch(&c), 409);
    disp.table[WH_OP_ORGS_CREATE] = org_create;
    CHECK_INT(unsetenv("WH_NOW"), 0);
    CHECK_INT(wh_clock_init(), 0);
}

/* ---- organisation kind and size ---------------------------------------- */

static void test_org_kind_admin_only(void)
{
    char a[WH_ID_LEN + 1];
    create_org("Arbeitgeber K", a);
    const char *orgs_a[] = {a};
    wh_buf_close(&body);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, 1);
    wh_msg_kv_str(&pk, "kind", "insurer");
    unsigned roles[] = {WH_ROLE_COORDINATOR, WH_ROLE_CONSULTANT};
    for (int i = 0; i < 2; i++) {
        call_t p = {.op = WH_OP_ORGS_PATCH,
                    .token = "tok-staff",
                    .role = roles[i],
                    .orgs = orgs_a,
                    .n_orgs = 1,
                    .id = a,
                    .body = &body};
        CHECK_INT(dispatch(&p), 403);
        CHECK_STR(rep.type, "forbidden");
    }
    /* employees likewise; the current values sent back pass. */
    wh_buf_close(&body);
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, 1);
    wh_msg_kv_int(&pk, "employees", 99999);
    call_t p = {.op = WH_OP_ORGS_PATCH,
                .token = "tok-staff",
                .role = WH_ROLE_COORDINATOR,
                .orgs = orgs_a,
                .n_orgs = 1,
                .id = a,
                .body = &body};
    CHECK_INT(dispatch(&p), 403);
    wh_buf_close(&body);
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, 3);
    wh_msg_kv_str(&pk, "kind", "employer");
    wh_msg_kv_int(&pk, "employees", 10);
    wh_msg_kv_str(&pk, "name", "Arbeitgeber K neu");
    CHECK_INT(dispatch(&p), 200);
    CHECK_STR(reply_str("kind"), "employer");
    CHECK_STR(reply_str("name"), "Arbeitgeber K neu");
    /* The admin may. */
    wh_buf_close(&body);
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, 1);
    wh_msg_kv_str(&pk, "kind", "insurer");
    call_t pa = {.op = WH_OP_ORGS_PATCH, .id = a, .body = &body};
    CHECK_INT(dispatch(&pa), 200);
    CHECK_STR(reply_str("kind"), "insurer");
}

/* ---- If-Match ----------------------------------------------------------- */

static void test_if_match(void)
{
    char id[WH_ID_LEN + 1];
    create_org("Vorher", id);
    char v1[80], v2[80], patch_body_name[32];
    snprintf(v1, sizeof v1, "\"%s.1\"", id);
    snprintf(v2, sizeof v2, "\"%s.2\"", id);
    call_t p = {.op = WH_OP_ORGS_PATCH, .id = id};

    /* A stale or foreign ETag: 412, nothing changed. */
    char weak[96], later[96], bare[96];
    snprintf(weak, sizeof weak, "W/\"%s.1\"", id);
    snprintf(later, sizeof later, "\"%s.2\"", id);
    snprintf(bare, sizeof bare, "%s.1", id);
    const char *const mismatches[] = {"\"other.1\"", weak, later, bare, "", NULL};
    for (int i = 0; mismatches[i]; i++) {
        const char *im = mismatches[i];
        wh_buf_close(&body);
        msgpack_packer pk;
        wh_msg_writer_init(&pk, &body);
        msgpack_pack_map(&pk, 1);
        wh_msg_kv_str(&pk, "name", "Nie");
        p.if_match = im;
        p.body = &body;
        CHECK_INT(dispatch(&p), 412);
        CHECK_STR(rep.type, "precondition-failed");
        char want[160];
        snprintf(want, sizeof want, "the resource has changed; its current ETag is %s", v1);
        CHECK_STR(rep.detail, want);
    }
    call_t g = {.op = WH_OP_ORGS_GET, .id = id};
    CHECK_INT(dispatch(&g), 200);
    CHECK_STR(reply_str("name"), "Vorher");
    CHECK_STR(rep.etag, v1);

    /* The current ETag, alone or in a list, passes; so does "*". */
    const char *matches[] = {v1, NULL, NULL, NULL};
    char list[200], star[] = "*";
    snprintf(list, sizeof list, "\"nope\", %s ,\"x\"", v2);
    matches[1] = list;
    matches[2] = star;
    static const char *const names[] = {"Eins", "Zwei", "Drei"};
    for (int i = 0; matches[i]; i++) {
        snprintf(patch_body_name, sizeof patch_body_name, "%s", names[i]);
        wh_buf_close(&body);
        msgpack_packer pk;
        wh_msg_writer_init(&pk, &body);
        msgpack_pack_map(&pk, 1);
        wh_msg_kv_str(&pk, "name", patch_body_name);
        p.if_match = matches[i];
        p.body = &body;
        CHECK_INT(dispatch(&p), 200);
        CHECK_STR(reply_str("name"), names[i]);
        char want[80];
        snprintf(want, sizeof want, "\"%s.%d\"", id, i + 2);
        CHECK_STR(rep.etag, want);
    }
    /* Without If-Match the patch applies unconditionally. */
    p.if_match = NULL;
    CHECK_INT(dispatch(&p), 200);
    CHECK_INT(count("SELECT max(version) FROM organizations"), 5);
}

/* ---- tenant scoping ----------------------------------------------------- */

static void test_tenant_scoping(void)
{
    char a[WH_ID_LEN + 1], b[WH_ID_LEN + 1];
    create_org("Mandant A", a);
    create_org("Mandant B", b);
    const char *orgs_a[] = {a};
    call_t g = {.op = WH_OP_ORGS_GET,
                .token = "tok-coord",
                .role = WH_ROLE_COORDINATOR,
                .orgs = orgs_a,
                .n_orgs = 1,
                .id = a};
    CHECK_INT(dispatch(&g), 200);
    CHECK_STR(reply_str("name"), "Mandant A");
    /* B exists, but not for this token: 404 exactly as for a missing id. */
    g.id = b;
    CHECK_INT(dispatch(&g), 404);
    CHECK_STR(rep.type, "not-found");
    CHECK_STR(rep.detail, "no such organization");
    CHECK(!rep.has_body);
    g.id = "01ZZZZZZZZZZZZZZZZZZZZZZZZ";
    CHECK_INT(dispatch(&g), 404);
    CHECK_STR(rep.detail, "no such organization");
    /* Nor can it be changed. */
    wh_buf_close(&body);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &body);
    msgpack_pack_map(&pk, 1);
    wh_msg_kv_str(&pk, "name", "Uebernommen");
    call_t p = g;
    p.op = WH_OP_ORGS_PATCH;
    p.id = b;
    p.body = &body;
    CHECK_INT(dispatch(&p), 404);
    call_t ga = {.op = WH_OP_ORGS_GET, .id = b};
    CHECK_INT(dispatch(&ga), 200);
    CHECK_STR(reply_str("name"), "Mandant B");
    /* The list holds only A. */
    call_t l = g;
    l.op = WH_OP_ORGS_LIST;
    l.id = NULL;
    CHECK_INT(dispatch(&l), 200);
    char cursor[WH_ID_LEN + 1];
    CHECK_STR(list_ids(cursor), a);
    CHECK_STR(cursor, "(nil)");
    /* No organisations at all: an empty list. */
    l.n_orgs = 0;
    l.orgs = NULL;
    l.role = WH_ROLE_CONSULTANT;
    CHECK_INT(dispatch(&l), 200);
    CHECK_STR(list_ids(cursor), "");
    /* An admin sees both. */
    call_t la = {.op = WH_OP_ORGS_LIST};
    CHECK_INT(dispatch(&la), 200);
    const char *all = list_ids(cursor);
    CHECK(strstr(all, a) != NULL && strstr(all, b) != NULL);
}

static void test_list_pages(void)
{
    int64_t total = n_orgs();
    CHECK(total > 3);
    /* Walk every page of two: each id once, in order, ending with null. */
    call_t l = {.op = WH_OP_ORGS_LIST, .query = "limit=2"};
    char cursor[WH_ID_LEN + 1] = "", prev_last[WH_ID_LEN + 1] = "";
    int64_t seen = 0;
    for (int page = 0; page < 100; page++) {
        char q[64];
        if (cursor[0]) {
            snprintf(q, sizeof q, "cursor=%s", cursor);
            l.query2 = q;
        }
        CHECK_INT(dispatch(&l), 200);
        char next[WH_ID_LEN + 1];
        const char *ids = list_ids(next);
        int n = ids[0] ? 1 : 0;
        for (const char *p = ids; (p = strchr(p, ',')); p++)
            n++;
        CHECK(strcmp(ids, prev_last) > 0 || ids[0] == '\0');
        seen += n;
        if (strcmp(next, "(nil)") == 0)
            break;
        CHECK_INT(strlen(next), WH_ID_LEN);
        CHECK_STR(next, ids + strlen(ids) - WH_ID_LEN); /* the last item is the cursor */
        snprintf(prev_last, sizeof prev_last, "%s", next);
        snprintf(cursor, sizeof cursor, "%s", next);
        if (page == 0)
            CHECK_INT(n, 2);
    }
    CHECK_INT(seen, total);
    /* A bad limit or kind: 422 naming the parameter. */
    l.query2 = NULL;
    l.query = "limit=0";
    CHECK_INT(dispatch(&l), 422);
    l.query = "kind=robot";
    CHECK_INT(dispatch(&l), 422);
    l.query = "kind=insurer";
    CHECK_INT(dispatch(&l), 200);
}

int main(void)
{
    setup();
    TEST(test_completeness_check);
    TEST(test_op_of_another_service);
    TEST(test_create_and_get);
    TEST(test_idempotent_replay);
    TEST(test_idempotency_key_length);
    TEST(test_failed_request_not_recorded);
    TEST(test_idempotency_expiry);
    TEST(test_failed_request_rolls_back);
    TEST(test_handler_without_answer);
    TEST(test_reply_too_large);
    TEST(test_reply_undecodable);
    TEST(test_secret_never_stored);
    TEST(test_expired_record_not_replayed);
    TEST(test_org_kind_admin_only);
    TEST(test_if_match);
    TEST(test_tenant_scoping);
    TEST(test_list_pages);
    wh_buf_close(&body);
    teardown();
    return 0;
}
