#include "dispatch.h"

#include <string.h>

#include "clock.h"
#include "err.h"
#include "id.h"
#include "log.h"

/* CREATE TABLE IF NOT EXISTS rather than a numbered migration: the table
 * belongs to this module, which every store shares, not to any service's
 * schema. */
static const char SQL_IDEM_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS wh_idempotency ("
    " scope TEXT NOT NULL, op TEXT NOT NULL, key TEXT NOT NULL,"
    " request_hash TEXT NOT NULL, status INTEGER NOT NULL, etag TEXT,"
    " body BLOB, created_at INTEGER NOT NULL,"
    " PRIMARY KEY (scope, op, key)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS wh_idempotency_created ON wh_idempotency(created_at);";
/* A record older than WH_IDEM_TTL_MS is not replayed even before the
 * hourly sweep removes it, and a new request with its key replaces it. */
static const char SQL_IDEM_GET[] =
    "SELECT request_hash, status, etag, body FROM wh_idempotency"
    " WHERE scope = ?1 AND op = ?2 AND key = ?3 AND created_at >= ?4";
static const char SQL_IDEM_PUT[] =
    "INSERT OR REPLACE INTO wh_idempotency(scope, op, key, request_hash, status, etag, body,"
    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/* The status of a record whose reply held a secret shown once: only this
 * marker is stored, never the reply, and a replay is answered 409. */
#define IDEM_SECRET_MARKER 0
static const char SQL_IDEM_EXPIRE[] = "DELETE FROM wh_idempotency WHERE created_at < ?1";

int wh_dispatcher_init(wh_dispatcher_t *d, enum wh_svc svc, const wh_handler_t *handlers, size_t n,
                       wh_store_t *store, void *app)
{
    memset(d, 0, sizeof *d);
    d->store = store;
    d->app = app;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int op = handlers[i].op;
        if (op < 0 || op >= WH_OP_COUNT || wh_ops[op].service != svc || d->table[op]) {
            wh_log_error("handler %zu: operation %d is not %s's or listed twice", i, op,
                         wh_service_names[svc]);
            rc = WH_EINVAL;
            continue;
        }
        d->table[op] = handlers[i].fn;
    }
    for (int op = 0; op < WH_OP_COUNT; op++)
        if (wh_ops[op].service == svc && !d->table[op]) {
            wh_log_error("operation %s has no handler in %s", wh_ops[op].name,
                         wh_service_names[svc]);
            rc = WH_EINVAL;
        }
    if (rc == 0 && store && wh_store_exec(store, SQL_IDEM_SCHEMA) != 0)
        rc = WH_ESTORE;
    return rc;
}

/* The fingerprint a repeat must match: the operation, its parameters and
 * its body, as the gateway encoded them. */
static void request_hash(const wh_request_t *req, char out[65])
{
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    wh_msg_pack_str(&pk, wh_ops[req->op].name);
    wh_msg_pack_obj(&pk, req->params);
    if (req->body)
        wh_msg_pack_obj(&pk, req->body);
    else
        msgpack_pack_nil(&pk);
    wh_sha256_hex(b.data ? b.data : "", b.len, out);
    wh_buf_close(&b);
}

/* Returns true when the request was answered from the record. */
static bool idem_replay(wh_dispatcher_t *d, const wh_request_t *req, const char *hash,
                        wh_reply_t *rep)
{
    sqlite3_stmt *st = wh_store_stmt(d->store, SQL_IDEM_GET);
    if (!st)
        return false;
    wh_stmt_bind_text(st, 1, req->principal.token_id);
    wh_stmt_bind_text(st, 2, wh_ops[req->op].name);
    wh_stmt_bind_str(st, 3, req->idempotency_key);
    sqlite3_bind_int64(st, 4, wh_clock_now_ms() - WH_IDEM_TTL_MS);
    if (sqlite3_step(st) != SQLITE_ROW)
        return false;
    if (strcmp((const char *)sqlite3_column_text(st, 0), hash) != 0) {
        wh_reply_problem(rep, 422, "idempotency-key-reused",
                         "this Idempotency-Key was used with a different request");
        return true;
    }
    int status = sqlite3_column_int(st, 1);
    if (status == IDEM_SECRET_MARKER) {
        wh_reply_problem(rep, 409, "secret-shown-once",
                         "the first request with this Idempotency-Key succeeded and its answer "
                         "held a secret, which is shown only once and never stored; if it was "
                         "lost, revoke what was created and create it again with a new key");
        return true;
    }
    const char *etag = (const char *)sqlite3_column_text(st, 2);
    const void *body = sqlite3_column_blob(st, 3);
    int n = sqlite3_column_bytes(st, 3);
    if (body) {
        wh_reply_ok(rep, status);
        wh_buf_append(&rep->body, body, (size_t)n);
    } else {
        wh_reply_empty(rep, status);
    }
    if (etag)
        wh_reply_etag(rep, "%s", etag);
    return true;
}

static int idem_store(wh_dispatcher_t *d, const wh_request_t *req, const char *hash,
                      const wh_reply_t *rep)
{
    sqlite3_stmt *st = wh_store_stmt(d->store, SQL_IDEM_PUT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, req->principal.token_id);
    wh_stmt_bind_text(st, 2, wh_ops[req->op].name);
    wh_stmt_bind_str(st, 3, req->idempotency_key);
    wh_stmt_bind_text(st, 4, hash);
    if (rep->secret) {
        sqlite3_bind_int(st, 5, IDEM_SECRET_MARKER); /* etag and body stay NULL */
    } else {
        sqlite3_bind_int(st, 5, rep->status);
        wh_stmt_bind_text(st, 6, rep->etag[0] ? rep->etag : NULL);
        if (rep->has_body)
            sqlite3_bind_blob(st, 7, rep->body.data, (int)rep->body.len, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(st, 8, wh_clock_now_ms());
    return sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
}

void wh_dispatch(wh_dispatcher_t *d, const wh_request_t *req, wh_reply_t *rep)
{
    wh_reply_reset(rep);
    const wh_op_t *op = &wh_ops[req->op];
    wh_handler_fn fn = d->table[req->op];
    if (!fn) {
        wh_reply_problem(rep, 501, "not-implemented", "%s is not served here", op->name);
        return;
    }
    bool idem = (op->flags & WH_OPF_CREATE) && req->idempotency_key.p;
    char hash[65];
    if (idem) {
        if (req->idempotency_key.n == 0 || req->idempotency_key.n > WH_IDEM_MAX_KEY) {
            wh_reply_param(rep, "Idempotency-Key", "must be 1 to %d characters", WH_IDEM_MAX_KEY);
            wh_reply_invalid(rep);
            return;
        }
        request_hash(req, hash);
        if (idem_replay(d, req, hash, rep))
            return;
    }
    /* Only operations that write need a savepoint: a failed read leaves
     * nothing to undo. */
    bool writes = (op->flags & WH_OPF_WRITE) != 0;
    if (writes && wh_store_savepoint(d->store) != 0) {
        wh_reply_problem(rep, 503, "store-unavailable", "the store is not available");
        return;
    }
    wh_ctx_t c = {.store = d->store, .req = req, .rep = rep, .app = d->app};
    fn(&c);
    wh_reply_invalid(rep);
    if (rep->status == 0)
        wh_reply_problem(rep, 500, "internal", "the handler gave no answer");
    /* Before the savepoint is settled: a write whose answer cannot be sent
     * is undone rather than done unseen. */
    wh_reply_check_size(rep);
    if (rep->status < 400 && idem && idem_store(d, req, hash, rep) != 0)
        wh_reply_problem(rep, 500, "internal", "could not record the idempotency key");
    if (!writes)
        return;
    if (rep->status >= 400)
        wh_store_rollback_to(d->store);
    else
        wh_store_release(d->store);
}

void wh_dispatcher_expire(wh_dispatcher_t *d)
{
    sqlite3_stmt *st = wh_store_stmt(d->store, SQL_IDEM_EXPIRE);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, wh_clock_now_ms() - WH_IDEM_TTL_MS);
    sqlite3_step(st);
}

bool wh_ctx_body(wh_ctx_t *c, wh_valid_t *v, const char *const *known)
{
    if (!c->req->body) {
        wh_valid_init(v, c->rep, NULL, "");
        return false;
    }
    if (!wh_valid_init(v, c->rep, c->req->body, ""))
        return false;
    wh_valid_only(v, known);
    return true;
}

bool wh_ctx_if_match(wh_ctx_t *c, const char *etag)
{
    wh_str_t im = c->req->if_match;
    if (!im.p || wh_str_eq(im, "*"))
        return true;
    /* If-Match may list several ETags; a weak one never matches (RFC 9110
     * 13.1.1 uses the strong comparison). */
    size_t en = strlen(etag);
    const char *p = im.p, *end = im.p + im.n;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        const char *q = p;
        while (q < end && *q != ',')
            q++;
        const char *e = q;
        while (e > p && e[-1] == ' ')
            e--;
        if ((size_t)(e - p) == en && memcmp(p, etag, en) == 0)
            return true;
        p = q;
    }
    wh_reply_problem(c->rep, 412, "precondition-failed",
                     "the resource has changed; its current ETag is %s", etag);
    return false;
}

void wh_ctx_not_found(wh_ctx_t *c, const char *what)
{
    wh_reply_problem(c->rep, 404, "not-found", "no such %s", what);
}

void wh_request_bind_scope(sqlite3_stmt *st, int idx, const wh_request_t *req)
{
    const msgpack_object *orgs = req->principal.orgs;
    if (req->principal.role == WH_ROLE_ADMIN) {
        sqlite3_bind_null(st, idx);
        return;
    }
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_putc(&b, '[');
    for (uint32_t i = 0; orgs && i < orgs->via.array.size; i++) {
        wh_str_t o = wh_msg_str(&orgs->via.array.ptr[i]);
        if (i)
            wh_buf_putc(&b, ',');
        wh_buf_json_str(&b, o.p ? o.p : "", o.n);
    }
    wh_buf_putc(&b, ']');
    /* On allocation failure the bound NULL would widen the scope to every
     * organisation; an empty array narrows it to none instead. */
    if (wh_buf_failed(&b))
        sqlite3_bind_text(st, idx, "[]", 2, SQLITE_STATIC);
    else
        sqlite3_bind_text(st, idx, b.data, (int)b.len, SQLITE_TRANSIENT);
    wh_buf_close(&b);
}
