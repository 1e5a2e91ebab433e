#include "privacy.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "id.h"
#include "list.h"
#include "log.h"

static const char SQL_AUDIT_INSERT[] =
    "INSERT INTO audit(id, org_id, at_ms, token_id, role, action, request_id, resource_ids,"
    " count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_AUDIT_LIST[] =
    "SELECT id, org_id, at_ms, token_id, role, action, request_id, resource_ids, count"
    " FROM audit WHERE (?1 IS NULL OR org_id = ?1) AND (?2 IS NULL OR id > ?2)"
    " ORDER BY id LIMIT ?3";

/* Replies stored for an Idempotency-Key carry scores: they go with the
 * results they contain. */
static const char SQL_ERASE_IDEM[] =
    "DELETE FROM wh_idempotency WHERE (scope, op, key) IN"
    " (SELECT r.scope, r.op, r.key FROM idem_refs r JOIN screenings s ON s.id = r.screening_id"
    "  WHERE s.org_id = ?1 AND s.subject = ?2)";
/* Every reference to a deleted reply goes, other subjects' included. */
static const char SQL_ERASE_REFS[] =
    "DELETE FROM idem_refs WHERE (scope, op, key) IN"
    " (SELECT r.scope, r.op, r.key FROM idem_refs r JOIN screenings s ON s.id = r.screening_id"
    "  WHERE s.org_id = ?1 AND s.subject = ?2)";
static const char SQL_ERASE_SCREENINGS[] =
    "DELETE FROM screenings WHERE org_id = ?1 AND subject = ?2";
static const char SQL_ERASE_ALERTS[] = "DELETE FROM alerts WHERE org_id = ?1 AND subject = ?2";

static const char SQL_PURGE_ORGS[] =
    "SELECT org_id, retention_days FROM settings"
    " WHERE retention_days IS NOT NULL AND (?1 IS NULL OR org_id = ?1)";
static const char SQL_PURGE_IDEM[] =
    "DELETE FROM wh_idempotency WHERE (scope, op, key) IN"
    " (SELECT r.scope, r.op, r.key FROM idem_refs r JOIN screenings s ON s.id = r.screening_id"
    "  WHERE s.org_id = ?1 AND s.taken_ms < ?2)";
static const char SQL_PURGE_REFS[] =
    "DELETE FROM idem_refs WHERE (scope, op, key) IN"
    " (SELECT r.scope, r.op, r.key FROM idem_refs r JOIN screenings s ON s.id = r.screening_id"
    "  WHERE s.org_id = ?1 AND s.taken_ms < ?2)";
static const char SQL_PURGE_SCREENINGS[] =
    "DELETE FROM screenings WHERE org_id = ?1 AND taken_ms < ?2";
/* An alert still being handled keeps its place even when its results are
 * gone; a closed one without results has nothing left to say. */
static const char SQL_PURGE_ALERTS[] =
    "DELETE FROM alerts WHERE org_id = ?1 AND state = 'closed'"
    " AND NOT EXISTS (SELECT 1 FROM screenings s WHERE s.alert_id = alerts.id)";
/* References to replies that expired on their own. */
static const char SQL_PURGE_STALE_REFS[] =
    "DELETE FROM idem_refs WHERE NOT EXISTS (SELECT 1 FROM wh_idempotency i"
    " WHERE i.scope = idem_refs.scope AND i.op = idem_refs.op AND i.key = idem_refs.key)";

bool scr_org_ok(const wh_request_t *req, wh_str_t org)
{
    return org.p && wh_id_valid(org.p, org.n) && wh_request_has_org(req, org);
}

bool scr_org_param(wh_ctx_t *c, wh_str_t *org)
{
    if (wh_reply_invalid(c->rep))
        return false;
    *org = wh_request_param(c->req, "org_id");
    if (!org->p) {
        const msgpack_object *orgs = c->req->principal.orgs;
        if (c->req->principal.role != WH_ROLE_ADMIN && orgs && orgs->via.array.size == 1) {
            *org = wh_msg_str(&orgs->via.array.ptr[0]);
            return true;
        }
        wh_reply_param(c->rep, "org_id", "is required");
        wh_reply_invalid(c->rep);
        return false;
    }
    if (!scr_org_ok(c->req, *org)) {
        wh_ctx_not_found(c, "organization");
        return false;
    }
    return true;
}

int audit_write(wh_ctx_t *c, wh_str_t org, const char *action, const char *ids, int64_t count)
{
    char id[WH_ID_LEN + 1];
    wh_id_new(id);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_AUDIT_INSERT);
    if (!st)
        return -1;
    const wh_principal_t *p = &c->req->principal;
    const char *role = wh_role_name(p->role);
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_str(st, 2, org);
    sqlite3_bind_int64(st, 3, wh_clock_now_ms());
    wh_stmt_bind_text(st, 4, p->token_id[0] ? p->token_id : NULL);
    wh_stmt_bind_text(st, 5, role ? role : "unknown");
    wh_stmt_bind_text(st, 6, action);
    wh_stmt_bind_text(st, 7, c->req->id);
    wh_stmt_bind_text(st, 8, ids ? ids : "");
    sqlite3_bind_int64(st, 9, count);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

void audit_list_finish(wh_ctx_t *c, wh_list_t *l, wh_str_t org, const char *action)
{
    int64_t n;
    const char *ids = wh_list_ids(l, &n);
    if (!ids || audit_write(c, org, action, ids, n) != 0) {
        wh_list_close(l);
        wh_reply_problem(c->rep, 500, "internal", "the read could not be audited");
        return;
    }
    wh_list_finish(l, c->rep);
}

/* Runs a DELETE whose ?1 is an organisation and ?2 (when it has one) the
 * value bound by bind2; returns the rows deleted, or -1. */
static int64_t delete_rows(wh_store_t *store, const char *sql, const char *org,
                           void (*bind2)(sqlite3_stmt *st, const void *v), const void *v)
{
    sqlite3_stmt *st = wh_store_stmt(store, sql);
    if (!st)
        return -1;
    wh_stmt_bind_text(st, 1, org);
    if (bind2)
        bind2(st, v);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    return sqlite3_changes64(wh_store_db(store));
}

static void bind_subject(sqlite3_stmt *st, const void *v)
{
    wh_stmt_bind_str(st, 2, *(const wh_str_t *)v);
}

static void bind_cutoff(sqlite3_stmt *st, const void *v)
{
    sqlite3_bind_int64(st, 2, *(const int64_t *)v);
}

int64_t retention_purge(wh_store_t *store, const char *org, int64_t now_ms)
{
    sqlite3_stmt *orgs = wh_store_stmt(store, SQL_PURGE_ORGS);
    if (!orgs)
        return -1;
    wh_stmt_bind_text(orgs, 1, org);
    int64_t total = 0;
    while (sqlite3_step(orgs) == SQLITE_ROW) {
        char o[WH_ID_LEN + 1];
        wh_stmt_col_copy(orgs, 0, o, sizeof o);
        int64_t cutoff = now_ms - sqlite3_column_int64(orgs, 1) * 86400000LL;
        int64_t n;
        if (delete_rows(store, SQL_PURGE_IDEM, o, bind_cutoff, &cutoff) < 0 ||
            delete_rows(store, SQL_PURGE_REFS, o, bind_cutoff, &cutoff) < 0 ||
            (n = delete_rows(store, SQL_PURGE_SCREENINGS, o, bind_cutoff, &cutoff)) < 0 ||
            delete_rows(store, SQL_PURGE_ALERTS, o, NULL, NULL) < 0) {
            sqlite3_reset(orgs);
            return -1;
        }
        total += n;
    }
    sqlite3_reset(orgs);
    if (!org) {
        sqlite3_stmt *st = wh_store_stmt(store, SQL_PURGE_STALE_REFS);
        if (!st || sqlite3_step(st) != SQLITE_DONE)
            return -1;
    }
    return total;
}

void subject_erase(wh_ctx_t *c)
{
    wh_str_t org;
    if (!scr_org_param(c, &org))
        return;
    wh_str_t subject = wh_request_param(c->req, "subject");
    char o[WH_ID_LEN + 1];
    snprintf(o, sizeof o, "%.*s", (int)org.n, org.p);
    int64_t n_results, n_alerts;
    if (delete_rows(c->store, SQL_ERASE_IDEM, o, bind_subject, &subject) < 0 ||
        delete_rows(c->store, SQL_ERASE_REFS, o, bind_subject, &subject) < 0 ||
        (n_results = delete_rows(c->store, SQL_ERASE_SCREENINGS, o, bind_subject, &subject)) < 0 ||
        (n_alerts = delete_rows(c->store, SQL_ERASE_ALERTS, o, bind_subject, &subject)) < 0 ||
        audit_write(c, org, "subject.erase", NULL, n_results + n_alerts) != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the subject could not be erased");
        return;
    }
    if (c->app)
        ((scr_app_t *)c->app)->wal_dirty = true;
    /* 204 whether or not anything was stored: erasure is idempotent and
     * does not tell whether a pseudonym was known. */
    wh_reply_empty(c->rep, 204);
}

void audit_list(wh_ctx_t *c)
{
    wh_list_t list;
    bool ok = wh_list_start(&list, c->req, c->rep);
    wh_str_t org;
    ok = wh_param_id(c->req, c->rep, "org_id", "must be an organisation id", &org) && ok;
    if (!ok)
        return;
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_AUDIT_LIST);
    wh_stmt_bind_str(st, 1, org);
    wh_list_bind_page(&list, st, 2);
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 0))) {
        msgpack_pack_map(pk, 9);
        wh_stmt_kv_text(pk, "id", st, 0);
        wh_stmt_kv_text(pk, "org_id", st, 1);
        wh_stmt_kv_instant(pk, "at", st, 2);
        wh_stmt_kv_text(pk, "token_id", st, 3);
        wh_stmt_kv_text(pk, "role", st, 4);
        wh_stmt_kv_text(pk, "action", st, 5);
        wh_stmt_kv_text(pk, "request_id", st, 6);
        /* Ids are stored comma-separated; each is a fixed-length ULID. */
        wh_str_t ids = wh_stmt_col_str(st, 7);
        size_t n_ids = ids.n ? (ids.n + 1) / (WH_ID_LEN + 1) : 0;
        wh_msg_pack_str(pk, "resource_ids");
        msgpack_pack_array(pk, n_ids);
        for (size_t i = 0; i < n_ids; i++)
            wh_msg_pack_strn(pk, ids.p + i * (WH_ID_LEN + 1), WH_ID_LEN);
        wh_msg_kv_int(pk, "count", sqlite3_column_int64(st, 8));
    }
    wh_list_finish(&list, c->rep);
}

static int64_t retention_run(wh_store_t *store, void *arg)
{
    scr_app_t *app = arg;
    int64_t n = retention_purge(store, NULL, wh_clock_now_ms());
    if (n < 0)
        return WH_ESTORE;
    if (n > 0) {
        wh_log_info("retention: %lld results purged", (long long)n);
        app->wal_dirty = true;
    }
    return n;
}

/* Deleted rows survive in older WAL frames until the log is reset; after
 * an erasure the log is checkpointed and truncated, outside a transaction. */
static const char SQL_WAL_TRUNCATE[] = "PRAGMA wal_checkpoint(TRUNCATE)";

static bool wal_due(wh_store_t *store, void *arg)
{
    return ((scr_app_t *)arg)->wal_dirty;
}

static int64_t wal_run(wh_store_t *store, void *arg)
{
    scr_app_t *app = arg;
    /* The first column is 1 when a reader kept the checkpoint from
     * finishing; then it is tried again at the next tick. */
    sqlite3_stmt *st = wh_store_stmt(store, SQL_WAL_TRUNCATE);
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0)
        app->wal_dirty = false;
    if (st)
        sqlite3_reset(st);
    return 0;
}

int privacy_every(wh_service_t *s, scr_app_t *app)
{
    static const wh_job_t retention = {"retention purge", NULL, retention_run, 0};
    static const wh_job_t wal = {"WAL truncation", wal_due, wal_run, WH_JOB_OWN_TXN};
    int rc = wh_service_every(s, SCR_RETENTION_TICK_MS, &retention, app);
    return rc ? rc : wh_service_every(s, SCR_WAL_TICK_MS, &wal, app);
}
