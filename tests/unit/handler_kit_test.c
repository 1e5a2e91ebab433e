/* The handler toolkit of services/runtime on a store in a temporary
 * directory: query-parameter checks (valid.c), a list that binds cursor,
 * limit and scope and keeps the ids of its page (list.c), column helpers
 * (store.c) and the event builder (outbox.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tmpdir.h"
#include "clock.h"
#include "dispatch.h"
#include "err.h"
#include "list.h"
#include "log.h"
#include "outbox.h"

static char dir[64];
static wh_store_t *store;

static const char *const migrations[] = {
    "CREATE TABLE t(id TEXT PRIMARY KEY, org TEXT, state TEXT, n INTEGER, at_ms INTEGER)"};
static const char SQL_LIST[] = "SELECT id, org, state, n, at_ms FROM t"
                               " WHERE (?1 IS NULL OR id > ?1)"
                               "   AND (?3 IS NULL OR org IN (SELECT value FROM json_each(?3)))"
                               "   AND (?4 IS NULL OR state = ?4)"
                               " ORDER BY id LIMIT ?2";
static const char SQL_INSERT[] = "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_ROW[] = "SELECT id, org, state, n, at_ms FROM t WHERE id = ?1";

/* ---- a request with query parameters and a principal --------------------- */

static wh_request_t req;
static wh_buf_t req_bytes;
static wh_msg_t req_msg;

/* params: "name=value" strings, NULL-terminated; orgs NULL for an admin. */
static void request(const char *const *params, const char *const *orgs)
{
    if (req_msg.root)
        wh_msg_close(&req_msg);
    wh_buf_close(&req_bytes);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &req_bytes);
    msgpack_pack_map(&pk, 2);
    wh_msg_pack_str(&pk, "params");
    size_t np = 0, no = 0;
    while (params[np])
        np++;
    while (orgs && orgs[no])
        no++;
    msgpack_pack_map(&pk, np);
    for (size_t i = 0; i < np; i++) {
        const char *eq = strchr(params[i], '=');
        wh_msg_pack_strn(&pk, params[i], (size_t)(eq - params[i]));
        wh_msg_pack_str(&pk, eq + 1);
    }
    wh_msg_pack_str(&pk, "orgs");
    msgpack_pack_array(&pk, no);
    for (size_t i = 0; i < no; i++)
        wh_msg_pack_str(&pk, orgs[i]);
    CHECK_INT(wh_msg_decode(req_bytes.data, req_bytes.len, &req_msg), 0);
    memset(&req, 0, sizeof req);
    req.params = wh_msg_get(req_msg.root, "params");
    req.principal.orgs = wh_msg_get(req_msg.root, "orgs");
    req.principal.role = orgs ? WH_ROLE_COORDINATOR : WH_ROLE_ADMIN;
}

static const char *const none[] = {NULL};

/* True if the reply's listed errors mention text. */
static bool errors_say(const wh_reply_t *rep, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= rep->errors.len; i++)
        if (memcmp(rep->errors.data + i, text, n) == 0)
            return true;
    return false;
}

/* ---- query parameters ------------------------------------------------------ */

static const char *const states[] = {"open", "closed", NULL};

static void test_param_enum(void)
{
    wh_reply_t rep;
    wh_reply_init(&rep);
    int i = 7;
    request(none, NULL);
    CHECK(wh_param_enum(&req, &rep, "state", states, NULL, &i));
    CHECK_INT(i, -1);
    CHECK(wh_param_value(states, i) == NULL);
    request((const char *const[]){"state=closed", NULL}, NULL);
    CHECK(wh_param_enum(&req, &rep, "state", states, NULL, &i));
    CHECK_INT(i, 1);
    CHECK_STR(wh_param_value(states, i), "closed");
    CHECK_INT(rep.n_errors, 0);
    /* A prefix, a longer word, another case and the empty text are not values. */
    static const char *const bad[] = {"state=clos", "state=closedx", "state=Open", "state="};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        request((const char *const[]){bad[k], NULL}, NULL);
        CHECK(!wh_param_enum(&req, &rep, "state", states, NULL, &i));
        CHECK_INT(i, -1);
    }
    CHECK_INT(rep.n_errors, 4);
    CHECK(wh_reply_invalid(&rep));
    CHECK_INT(rep.status, 422);
    CHECK(errors_say(&rep, "must be one of open, closed"));
    wh_reply_close(&rep);
    /* The caller's own detail. */
    wh_reply_init(&rep);
    request((const char *const[]){"state=x", NULL}, NULL);
    CHECK(!wh_param_enum(&req, &rep, "state", states, "must be open or closed", &i));
    CHECK(errors_say(&rep, "must be open or closed"));
    wh_reply_close(&rep);
}

static void test_param_id(void)
{
    wh_reply_t rep;
    wh_reply_init(&rep);
    wh_str_t id;
    request(none, NULL);
    CHECK(wh_param_id(&req, &rep, "org_id", "is not an organisation id", &id));
    CHECK(id.p == NULL);
    request((const char *const[]){"org_id=01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL}, NULL);
    CHECK(wh_param_id(&req, &rep, "org_id", "is not an organisation id", &id));
    CHECK_INT(id.n, WH_ID_LEN);
    CHECK_INT(rep.n_errors, 0);
    /* One character short, one too many, a letter outside the alphabet. */
    static const char *const bad[] = {"org_id=01ARZ3NDEKTSV4RRFFQ69G5FA",
                                      "org_id=01ARZ3NDEKTSV4RRFFQ69G5FAVV",
                                      "org_id=01ARZ3NDEKTSV4RRFFQ69G5FAU"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        request((const char *const[]){bad[k], NULL}, NULL);
        CHECK(!wh_param_id(&req, &rep, "org_id", "is not an organisation id", &id));
    }
    CHECK_INT(rep.n_errors, 3);
    wh_reply_close(&rep);
}

/* The bounds crossed on both sides, and what is not a plain decimal. */
static void test_param_int(void)
{
    wh_reply_t rep;
    wh_reply_init(&rep);
    int64_t x = 42;
    request(none, NULL);
    CHECK(wh_param_int(&req, &rep, "days", 0, 3660, &x));
    CHECK_INT(x, 42); /* absent: untouched */
    static const struct {
        const char *q;
        int64_t want; /* -1: refused */
    } cases[] = {
        {"days=0", 0},    {"days=3660", 3660}, {"days=03660", 3660},
        {"days=7", 7},    {"days=3661", -1},   {"days=-1", -1},
        {"days=+5", -1},  {"days=", -1},       {"days=003660", -1},
        {"days=1e3", -1}, {"days=5 ", -1},     {"days=99999999999999999999999", -1},
    };
    int refused = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        request((const char *const[]){cases[i].q, NULL}, NULL);
        x = -7;
        bool ok = wh_param_int(&req, &rep, "days", 0, 3660, &x);
        CHECK_INT(ok, cases[i].want >= 0);
        CHECK_INT(x, cases[i].want >= 0 ? cases[i].want : -7);
        refused += !ok;
    }
    CHECK_INT(rep.n_errors, refused);
    CHECK(errors_say(&rep, "must be an integer from 0 to 3660"));
    /* min is a bound too. */
    request((const char *const[]){"limit=0", NULL}, NULL);
    CHECK(!wh_param_int(&req, &rep, "limit", 1, 500, &x));
    /* A max beyond WH_PARAM_INT_MAX refuses everything rather than overflow. */
    request((const char *const[]){"n=1", NULL}, NULL);
    CHECK(!wh_param_int(&req, &rep, "n", 0, WH_PARAM_INT_MAX * 10, &x));
    wh_reply_close(&rep);
}

/* ---- the list helper -------------------------------------------------------- */

static void insert(const char *id, const char *org, const char *state, int n, int64_t at_ms)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_INSERT);
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_text(st, 2, org);
    wh_stmt_bind_text(st, 3, state);
    if (n >= 0)
        sqlite3_bind_int(st, 4, n);
    if (at_ms >= 0)
        sqlite3_bind_int64(st, 5, at_ms);
    CHECK_INT(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
}

static char ids[8][WH_ID_LEN + 1];

static void fill(void)
{
    for (int i = 0; i < 8; i++) {
        snprintf(ids[i], sizeof ids[i], "01ARZ3NDEKTSV4RRFFQ69G5FA%c", 'A' + i);
        insert(ids[i], i % 2 ? "org-b" : "org-a", i < 6 ? "open" : "closed", i, 1000 * i);
    }
}

/* Runs a list with the given query as a handler would and decodes the page:
 * returns its item count, the cursor into cursor ("" for none), the kept
 * ids into kept. */
static int list(const char *const *params, const char *const *orgs, size_t budget, char *cursor,
                char *kept, int64_t *n_kept)
{
    request(params, orgs);
    wh_reply_t rep;
    wh_reply_init(&rep);
    wh_list_t l;
    int state;
    bool ok = wh_list_start(&l, &req, &rep);
    ok = wh_param_enum(&req, &rep, "state", states, NULL, &state) && ok;
    if (!ok) {
        CHECK(wh_reply_invalid(&rep));
        wh_reply_close(&rep);
        return -1;
    }
    l.budget = budget;
    wh_list_keep_ids(&l);
    wh_ctx_t c = {.store = store, .req = &req, .rep = &rep};
    sqlite3_stmt *st = wh_list_query(&l, &c, SQL_LIST);
    wh_stmt_bind_text(st, 4, wh_param_value(states, state));
    msgpack_packer *pk;
    while ((pk = wh_list_next(&l, st, 0))) {
        msgpack_pack_map(pk, 1);
        wh_stmt_kv_text(pk, "id", st, 0);
    }
    /* The statement was reset: it binds and runs again at once. */
    CHECK(!sqlite3_stmt_busy(st));
    const char *k = wh_list_ids(&l, n_kept);
    CHECK(k);
    snprintf(kept, 256, "%s", k);
    wh_list_finish(&l, &rep);
    CHECK_INT(rep.status, 200);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(rep.body.data, rep.body.len, &m), 0);
    const msgpack_object *items = wh_msg_get(m.root, "items");
    wh_str_t next = wh_msg_str(wh_msg_get(m.root, "next_cursor"));
    snprintf(cursor, WH_ID_LEN + 1, "%.*s", (int)next.n, next.p ? next.p : "");
    int n = (int)items->via.array.size;
    /* The kept ids are exactly the items. */
    CHECK_INT(*n_kept, n);
    for (int i = 0; i < n; i++) {
        wh_str_t id = wh_msg_str(wh_msg_get(&items->via.array.ptr[i], "id"));
        CHECK(strncmp(kept + i * (WH_ID_LEN + 1), id.p, WH_ID_LEN) == 0);
    }
    wh_msg_close(&m);
    wh_reply_close(&rep);
    return n;
}

static void test_list_pages(void)
{
    char cursor[WH_ID_LEN + 1], kept[256];
    int64_t n;
    /* limit=3: pages of 3, 3, 2; the cursor is the last id of a full page. */
    CHECK_INT(
        list((const char *const[]){"limit=3", NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n), 3);
    CHECK_STR(cursor, ids[2]);
    CHECK_INT(strlen(kept), 3 * WH_ID_LEN + 2);
    char q[64];
    snprintf(q, sizeof q, "cursor=%s", cursor);
    CHECK_INT(
        list((const char *const[]){"limit=3", q, NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n),
        3);
    CHECK_STR(cursor, ids[5]);
    snprintf(q, sizeof q, "cursor=%s", cursor);
    CHECK_INT(
        list((const char *const[]){"limit=3", q, NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n),
        2);
    CHECK_STR(cursor, "");
    /* Exactly limit rows left: no next page. */
    CHECK_INT(
        list((const char *const[]){"limit=8", NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n), 8);
    CHECK_STR(cursor, "");
    /* The filter binds from ?4. */
    CHECK_INT(list((const char *const[]){"state=closed", NULL}, NULL, WH_LIST_MAX_BYTES, cursor,
                   kept, &n),
              2);
    /* Nothing at all: no ids, an empty list. */
    snprintf(q, sizeof q, "cursor=%s", ids[7]);
    CHECK_INT(list((const char *const[]){q, NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n), 0);
    CHECK_STR(kept, "");
}

static void test_list_scope(void)
{
    char cursor[WH_ID_LEN + 1], kept[256];
    int64_t n;
    /* Admin: every organisation; others: theirs only, none for none. */
    CHECK_INT(list(none, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n), 8);
    CHECK_INT(list(none, (const char *const[]){"org-b", NULL}, WH_LIST_MAX_BYTES, cursor, kept, &n),
              4);
    CHECK(strstr(kept, ids[1]) && !strstr(kept, ids[0]));
    CHECK_INT(list(none, none, WH_LIST_MAX_BYTES, cursor, kept, &n), 0);
}

/* The page limits: 1 to WH_PAGE_MAX, a cursor that is an id. */
static void test_list_limits(void)
{
    char cursor[WH_ID_LEN + 1], kept[256], q[32];
    int64_t n;
    CHECK_INT(
        list((const char *const[]){"limit=1", NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n), 1);
    snprintf(q, sizeof q, "limit=%d", WH_PAGE_MAX);
    CHECK_INT(list((const char *const[]){q, NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n), 8);
    snprintf(q, sizeof q, "limit=%d", WH_PAGE_MAX + 1);
    CHECK_INT(list((const char *const[]){q, NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n), -1);
    CHECK_INT(
        list((const char *const[]){"limit=0", NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n),
        -1);
    CHECK_INT(
        list((const char *const[]){"cursor=nope", NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n),
        -1);
    CHECK_INT(
        list((const char *const[]){"state=gone", NULL}, NULL, WH_LIST_MAX_BYTES, cursor, kept, &n),
        -1);
}

/* Over the byte budget the last row goes back to the next page, and out of
 * the kept ids with it. */
static void test_list_budget_ids(void)
{
    char cursor[WH_ID_LEN + 1], kept[256];
    int64_t n;
    /* A row packs to 1 + 3 + 27 = 31 bytes: 70 holds two, the third crosses. */
    CHECK_INT(list(none, NULL, 70, cursor, kept, &n), 2);
    CHECK_STR(cursor, ids[1]);
    CHECK_INT(n, 2);
    CHECK_INT(strlen(kept), 2 * WH_ID_LEN + 1);
    /* A single row over the budget stays (a page always makes progress). */
    CHECK_INT(list(none, NULL, 10, cursor, kept, &n), 1);
    CHECK_STR(cursor, ids[0]);
    CHECK_STR(kept, ids[0]);
}

/* ---- column helpers ---------------------------------------------------------- */

static void test_columns(void)
{
    insert("01ARZ3NDEKTSV4RRFFQ69G5FB0", "org-a", NULL, -1, -1);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ROW);
    wh_stmt_bind_text(st, 1, "01ARZ3NDEKTSV4RRFFQ69G5FB0");
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    char out[6];
    memset(out, 'x', sizeof out);
    wh_stmt_col_copy(st, 1, out, sizeof out);
    CHECK_STR(out, "org-a");
    wh_stmt_col_copy(st, 1, out, 4); /* cut to cap - 1 */
    CHECK_STR(out, "org");
    wh_stmt_col_copy(st, 2, out, sizeof out); /* NULL */
    CHECK_STR(out, "");
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    msgpack_pack_map(&pk, 5);
    wh_stmt_kv_text(&pk, "org", st, 1);
    wh_stmt_kv_text(&pk, "state", st, 2);
    wh_stmt_kv_int(&pk, "n", st, 3);
    wh_stmt_kv_instant(&pk, "at", st, 4);
    wh_stmt_kv_instant(&pk, "id_as_ms", st, 3);
    sqlite3_reset(st);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    CHECK(wh_msg_str_eq(wh_msg_get(m.root, "org"), "org-a"));
    CHECK_INT(wh_msg_get(m.root, "state")->type, MSGPACK_OBJECT_NIL);
    CHECK_INT(wh_msg_get(m.root, "n")->type, MSGPACK_OBJECT_NIL);
    CHECK_INT(wh_msg_get(m.root, "at")->type, MSGPACK_OBJECT_NIL);
    wh_msg_close(&m);
    wh_buf_close(&b);

    st = wh_store_stmt(store, SQL_ROW);
    wh_stmt_bind_text(st, 1, ids[3]);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    wh_buf_init(&b);
    wh_msg_writer_init(&pk, &b);
    msgpack_pack_map(&pk, 2);
    wh_stmt_kv_int(&pk, "n", st, 3);
    wh_stmt_kv_instant(&pk, "at", st, 4);
    sqlite3_reset(st);
    CHECK_INT(wh_msg_decode(b.data, b.len, &m), 0);
    CHECK_INT(wh_msg_get(m.root, "n")->via.u64, 3);
    wh_str_t at = wh_msg_str(wh_msg_get(m.root, "at"));
    CHECK(at.n > 19 && strncmp(at.p, "1970-01-01T00:00:03", 19) == 0);
    wh_msg_close(&m);
    wh_buf_close(&b);
}

/* ---- events -------------------------------------------------------------------- */

static void test_event(void)
{
    CHECK_INT(wh_outbox_init_store(store), 0);
    int64_t before = wh_outbox_backlog(store);
    wh_event_t ev;
    msgpack_packer *pk = wh_event_start(&ev, 2);
    wh_msg_kv_str(pk, "survey_id", "s1");
    wh_msg_kv_bool(pk, "urgent", true);
    CHECK_INT(wh_event_emit(&ev, store, "survey.opened", "org-a"), 0);
    CHECK_INT(wh_outbox_backlog(store), before + 1);
    CHECK(ev.data.data == NULL); /* freed */
    sqlite3_stmt *st = wh_store_stmt(store, "SELECT type, org_id, data FROM wh_outbox");
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "survey.opened");
    CHECK_STR((const char *)sqlite3_column_text(st, 1), "org-a");
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), &m),
              0);
    CHECK_INT(m.root->via.map.size, 2);
    CHECK(wh_msg_str_eq(wh_msg_get(m.root, "survey_id"), "s1"));
    wh_msg_close(&m);
    sqlite3_reset(st);
    /* Data that could not be packed is never emitted half-written. */
    pk = wh_event_start(&ev, 1);
    wh_msg_kv_str(pk, "survey_id", "s2");
    ev.data.failed = true;
    CHECK_INT(wh_event_emit(&ev, store, "survey.opened", "org-a"), WH_ENOMEM);
    CHECK_INT(wh_outbox_backlog(store), before + 1);
}

/* An event keeps the request that emitted it, so that its deliveries can be
 * logged under that request; a job's event has none. */
static void test_event_request_id(void)
{
    CHECK_INT(wh_outbox_init_store(store), 0);
    wh_log_set_request("req-kit-1");
    CHECK_INT(wh_outbox_emit(store, "survey.opened", "org-a", NULL, 0, NULL), 0);
    wh_log_set_request(NULL);
    CHECK_INT(wh_outbox_emit(store, "survey.closed", "org-a", NULL, 0, NULL), 0);
    sqlite3_stmt *st = wh_store_stmt(
        store, "SELECT type, request_id FROM wh_outbox WHERE type IN ('survey.opened',"
               " 'survey.closed') ORDER BY seq DESC LIMIT 2");
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "survey.closed");
    CHECK_INT(sqlite3_column_type(st, 1), SQLITE_NULL);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 1), "req-kit-1");
    sqlite3_reset(st);
}

/* A store whose outbox predates request ids gains the column, once. */
static void test_outbox_upgrade(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/old.db", dir);
    wh_store_t *old = NULL;
    CHECK_INT(wh_store_open(path, migrations, 1, &old), 0);
    CHECK_INT(wh_store_exec(old, "CREATE TABLE wh_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                                 " id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, org_id TEXT,"
                                 " occurred_at TEXT NOT NULL, data BLOB NOT NULL,"
                                 " attempts INTEGER NOT NULL DEFAULT 0,"
                                 " next_ms INTEGER NOT NULL DEFAULT 0,"
                                 " state INTEGER NOT NULL DEFAULT 0, last_status INTEGER)"),
              0);
    CHECK_INT(wh_outbox_init_store(old), 0);
    CHECK_INT(wh_outbox_init_store(old), 0);
    wh_log_set_request("req-kit-2");
    CHECK_INT(wh_outbox_emit(old, "survey.opened", NULL, NULL, 0, NULL), 0);
    wh_log_set_request(NULL);
    sqlite3_stmt *st = wh_store_stmt(old, "SELECT request_id FROM wh_outbox");
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "req-kit-2");
    sqlite3_reset(st);
    wh_store_destroy(&old);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wh-kit-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/kit.db", dir);
    CHECK_INT(wh_store_open(path, migrations, 1, &store), 0);
    CHECK_INT(wh_store_begin(store), 0);
    fill();
    TEST(test_param_enum);
    TEST(test_param_id);
    TEST(test_param_int);
    TEST(test_list_pages);
    TEST(test_list_scope);
    TEST(test_list_limits);
    TEST(test_list_budget_ids);
    TEST(test_columns);
    TEST(test_event);
    TEST(test_event_request_id);
    TEST(test_outbox_upgrade);
    CHECK_INT(wh_store_rollback(store), 0);
    wh_store_destroy(&store);
    if (req_msg.root)
        wh_msg_close(&req_msg);
    wh_buf_close(&req_bytes);
    test_remove_dir(dir);
    return 0;
}
