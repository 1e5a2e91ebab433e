#include "deliveries.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "id.h"
#include "list.h"
#include "subscriptions.h"

static const char SQL_FANOUT_SUBS[] =
    "SELECT s.id, s.channel, s.target, s.host, s.language FROM subscription_events e"
    " JOIN subscriptions s ON s.id = e.subscription_id"
    " WHERE e.org_id = ?1 AND e.type = ?2 ORDER BY s.id";
static const char SQL_DELIVERY_INSERT[] =
    "INSERT INTO deliveries(id, event_id, event_type, org_id, subscription_id, channel, target,"
    " host, language, next_ms, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) ON CONFLICT DO NOTHING";
#define DELIVERY_COLUMNS                                                                           \
    "seq, id, event_id, event_type, subscription_id, channel, target, status, org_id,"             \
    " created_at, next_ms"
static const char SQL_DELIVERY_LIST[] =
    "SELECT " DELIVERY_COLUMNS " FROM deliveries"
    " WHERE (?1 IS NULL OR id > ?1)"
    "   AND (?3 IS NULL OR org_id IN (SELECT value FROM json_each(?3)))"
    "   AND (?4 IS NULL OR status = ?4)"
    "   AND (?5 IS NULL OR event_type = ?5)"
    "   AND (?6 IS NULL OR subscription_id = ?6)"
    "   AND (?7 OR event_type NOT LIKE 'alert.%')"
    " ORDER BY id LIMIT ?2";
static const char SQL_DELIVERY_GET[] = "SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE id = ?1";
static const char SQL_ATTEMPTS[] =
    "SELECT at, outcome, http_status, smtp_status FROM ("
    " SELECT n, at, outcome, http_status, smtp_status FROM delivery_attempts"
    " WHERE delivery_seq = ?1 ORDER BY n DESC LIMIT ?2) ORDER BY n";
static const char SQL_SUB_EXISTS[] = "SELECT 1 FROM subscriptions WHERE id = ?1";
static const char SQL_DELIVERY_REQUEUE[] =
    "UPDATE deliveries SET status = 'pending', round = 0, next_ms = ?2, updated_at = ?3"
    " WHERE seq = ?1 AND status = 'failed'";

static const char *const statuses[] = {"pending", "delivered", "failed", NULL};

static int insert(wh_store_t *store, wh_str_t event_id, wh_str_t type, wh_str_t org, wh_str_t sub,
                  const char *channel, wh_str_t target, const char *host, wh_str_t lang,
                  int64_t now_ms, const char *now)
{
    char id[WH_ID_LEN + 1];
    wh_id_new(id);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_DELIVERY_INSERT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_str(st, 2, event_id);
    wh_stmt_bind_str(st, 3, type);
    wh_stmt_bind_str(st, 4, org);
    wh_stmt_bind_str(st, 5, sub);
    wh_stmt_bind_text(st, 6, channel);
    wh_stmt_bind_str(st, 7, target);
    wh_stmt_bind_text(st, 8, host);
    wh_stmt_bind_str(st, 9, lang);
    sqlite3_bind_int64(st, 10, now_ms);
    wh_stmt_bind_text(st, 11, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
    sqlite3_reset(st);
    return rc;
}

int deliveries_create(wh_store_t *store, wh_str_t event_id, wh_str_t type, wh_str_t org,
                      const wh_event_type_t *et, const msgpack_object *data)
{
    int64_t now_ms = wh_clock_now_ms();
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(now_ms, now);
    /* Contacts first, so that a contact who also subscribed by e-mail gets
     * the message in the language given for the contact. */
    const msgpack_object *contacts = et->to_contacts ? wh_msg_get(data, "contacts") : NULL;
    for (uint32_t i = 0;
         contacts && contacts->type == MSGPACK_OBJECT_ARRAY && i < contacts->via.array.size; i++) {
        const msgpack_object *ct = &contacts->via.array.ptr[i];
        wh_str_t email = wh_msg_str(wh_msg_get(ct, "email"));
        wh_str_t lang = wh_msg_str(wh_msg_get(ct, "language"));
        if (!email.p || !lang.p)
            continue; /* ingest validated them; nothing to send to */
        int rc = insert(store, event_id, type, org, (wh_str_t){NULL, 0}, "email", email, "smtp",
                        lang, now_ms, now);
        if (rc != 0)
            return rc;
    }
    if (!org.p)
        return 0;
    sqlite3_stmt *st = wh_store_stmt(store, SQL_FANOUT_SUBS);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_str(st, 1, org);
    wh_stmt_bind_str(st, 2, type);
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = insert(store, event_id, type, org, wh_stmt_col_str(st, 0),
                    (const char *)sqlite3_column_text(st, 1), wh_stmt_col_str(st, 2),
                    (const char *)sqlite3_column_text(st, 3), wh_stmt_col_str(st, 4), now_ms, now);
    if (rc == 0 && step != SQLITE_DONE)
        rc = WH_ESTORE;
    sqlite3_reset(st);
    return rc;
}

static void pack_delivery(wh_ctx_t *c, msgpack_packer *pk, sqlite3_stmt *st)
{
    bool pending = wh_str_eq(wh_stmt_col_str(st, 7), "pending");
    bool email = wh_str_eq(wh_stmt_col_str(st, 5), "email");
    msgpack_pack_map(pk, 11);
    wh_stmt_kv_text(pk, "id", st, 1);
    wh_stmt_kv_text(pk, "event_id", st, 2);
    wh_stmt_kv_text(pk, "event_type", st, 3);
    wh_stmt_kv_text(pk, "org_id", st, 8);
    wh_stmt_kv_text(pk, "subscription_id", st, 4);
    wh_stmt_kv_text(pk, "channel", st, 5);
    wh_stmt_kv_text(pk, "target", st, 6);
    wh_stmt_kv_text(pk, "status", st, 7);
    wh_stmt_kv_text(pk, "created_at", st, 9);
    char next[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(sqlite3_column_int64(st, 10), next);
    wh_msg_kv_str(pk, "next_attempt_at", pending ? next : NULL);
    wh_msg_pack_str(pk, "attempts");
    sqlite3_stmt *a = wh_store_stmt(c->store, SQL_ATTEMPTS);
    sqlite3_bind_int64(a, 1, sqlite3_column_int64(st, 0));
    sqlite3_bind_int(a, 2, DELIVERY_MAX_LISTED_ATTEMPTS);
    /* Counted first: the array header needs the count. */
    int n = 0;
    while (sqlite3_step(a) == SQLITE_ROW)
        n++;
    sqlite3_reset(a);
    msgpack_pack_array(pk, (size_t)n);
    while (n-- > 0 && sqlite3_step(a) == SQLITE_ROW) {
        msgpack_pack_map(pk, email ? 4 : 3);
        wh_stmt_kv_text(pk, "at", a, 0);
        wh_stmt_kv_text(pk, "outcome", a, 1);
        wh_stmt_kv_int(pk, "http_status", a, 2);
        if (email)
            wh_stmt_kv_int(pk, "smtp_status", a, 3);
    }
    sqlite3_reset(a);
}

void delivery_list(wh_ctx_t *c)
{
    wh_list_t list;
    bool ok = wh_list_start(&list, c->req, c->rep);
    int status;
    ok = wh_param_enum(c->req, c->rep, "status", statuses, "must be pending, delivered or failed",
                       &status) &&
         ok;
    wh_str_t type = wh_request_param(c->req, "event_type");
    if (type.p && !wh_event_type_find(type.p, type.n)) {
        wh_reply_param(c->rep, "event_type", "unknown event type");
        ok = false;
    }
    wh_str_t sub;
    ok = wh_param_id(c->req, c->rep, "subscription_id", "is not a subscription id", &sub) && ok;
    if (!ok)
        return;
    sqlite3_stmt *st = wh_list_query(&list, c, SQL_DELIVERY_LIST);
    wh_stmt_bind_text(st, 4, wh_param_value(statuses, status));
    wh_stmt_bind_str(st, 5, type);
    wh_stmt_bind_str(st, 6, sub);
    sqlite3_bind_int(st, 7, subscription_role_sees_alerts(c->req->principal.role));
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 1)))
        pack_delivery(c, pk, st);
    wh_list_finish(&list, c->rep);
}

void delivery_retry(wh_ctx_t *c)
{
    wh_str_t id = wh_request_param(c->req, "id");
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_DELIVERY_GET);
    wh_stmt_bind_str(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW || !wh_request_has_org(c->req, wh_stmt_col_str(st, 8)) ||
        (!subscription_role_sees_alerts(c->req->principal.role) &&
         strncmp((const char *)sqlite3_column_text(st, 3), "alert.", 6) == 0)) {
        wh_ctx_not_found(c, "delivery");
        return;
    }
    if (!wh_str_eq(wh_stmt_col_str(st, 7), "failed")) {
        wh_reply_problem(c->rep, 409, "conflict",
                         "only a failed delivery can be retried; this "
                         "one is %s",
                         (const char *)sqlite3_column_text(st, 7));
        return;
    }
    wh_str_t sub = wh_stmt_col_str(st, 4);
    if (sub.p) {
        sqlite3_stmt *e = wh_store_stmt(c->store, SQL_SUB_EXISTS);
        wh_stmt_bind_str(e, 1, sub);
        if (sqlite3_step(e) != SQLITE_ROW) {
            wh_reply_problem(c->rep, 409, "conflict",
                             "the delivery's subscription has been deleted");
            return;
        }
    }
    int64_t seq = sqlite3_column_int64(st, 0);
    int64_t now_ms = wh_clock_now_ms();
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(now_ms, now);
    sqlite3_stmt *u = wh_store_stmt(c->store, SQL_DELIVERY_REQUEUE);
    sqlite3_bind_int64(u, 1, seq);
    sqlite3_bind_int64(u, 2, now_ms);
    wh_stmt_bind_text(u, 3, now);
    if (sqlite3_step(u) != SQLITE_DONE) {
        wh_reply_problem(c->rep, 500, "internal", "the delivery could not be updated");
        return;
    }
    st = wh_store_stmt(c->store, SQL_DELIVERY_GET);
    wh_stmt_bind_str(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        wh_reply_problem(c->rep, 500, "internal", "the delivery could not be read back");
        return;
    }
    pack_delivery(c, wh_reply_ok(c->rep, 200), st);
}
