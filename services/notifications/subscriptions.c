#include "subscriptions.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "events.h"
#include "id.h"
#include "list.h"
#include "mail.h"
#include "netguard.h"
#include "webhook.h"

static const char *const sub_fields[] = {"org_id", "events", "channel", "target", "language", NULL};
static const char *const channels[] = {"email", "webhook", NULL};
static const char *const languages[] = {"de", "en", "sv", NULL};
enum { CH_EMAIL, CH_WEBHOOK };

static const char SQL_SUB_INSERT[] =
    "INSERT INTO subscriptions(id, org_id, events, channel, target, host, language, secret,"
    " alerts, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_SUB_EVENT_INSERT[] =
    "INSERT INTO subscription_events(org_id, type, subscription_id) VALUES (?1, ?2, ?3)";
#define SUB_COLUMNS "id, org_id, events, channel, target, language, created_at, alerts"
static const char SQL_SUB_GET[] = "SELECT " SUB_COLUMNS " FROM subscriptions WHERE id = ?1";
/* ?3 is the principal's organisations as a JSON array, NULL for admins. */
static const char SQL_SUB_LIST[] =
    "SELECT " SUB_COLUMNS " FROM subscriptions"
    " WHERE (?1 IS NULL OR id > ?1)"
    "   AND (?3 IS NULL OR org_id IN (SELECT value FROM json_each(?3)))"
    "   AND (?4 IS NULL OR org_id = ?4)"
    " ORDER BY id LIMIT ?2";
static const char SQL_SUB_DELETE[] = "DELETE FROM subscriptions WHERE id = ?1";
/* Deliveries still pending for a deleted subscription are given up: their
 * receiver no longer wants them, and the signing secret is gone. The note
 * is an attempt row so that the listing says why. */
static const char SQL_SUB_CANCEL_NOTE[] =
    "INSERT INTO delivery_attempts(delivery_seq, n, at, outcome)"
    " SELECT seq, attempts + 1, ?2, 'subscription_deleted' FROM deliveries"
    " WHERE subscription_id = ?1 AND status = 'pending'";
static const char SQL_SUB_CANCEL[] =
    "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, updated_at = ?2"
    " WHERE subscription_id = ?1 AND status = 'pending'";

bool subscription_role_sees_alerts(unsigned role)
{
    return role == WH_ROLE_ADMIN || role == WH_ROLE_OCC_HEALTH;
}

bool subscription_webhook_host(const char *url, char *out, size_t cap)
{
    return subscription_webhook_check(url, out, cap, NULL) != SUB_URL_BAD;
}

int subscription_webhook_check(const char *url, char *out, size_t cap, net_class_t *cls)
{
    CURLU *u = curl_url();
    if (!u)
        return SUB_URL_BAD;
    bool ok = false, permitted = true;
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER) {
        int n = snprintf(out, cap, "%s:%s", host, port);
        ok = n > 0 && (size_t)n < cap;
        for (char *p = out; ok && *p; p++)
            *p = (char)tolower((unsigned char)*p);
        for (char *p = host; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        permitted = netguard_host_permits(netguard_get(), host, cls);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_url_cleanup(u);
    return !ok ? SUB_URL_BAD : permitted ? SUB_URL_OK : SUB_URL_REFUSED;
}

static void pack_sub(msgpack_packer *pk, sqlite3_stmt *st, const char *secret)
{
    msgpack_pack_map(pk, secret ? 8 : 7);
    wh_stmt_kv_text(pk, "id", st, 0);
    wh_stmt_kv_text(pk, "org_id", st, 1);
    /* events is stored as a JSON array of known type names, which hold no
     * character that JSON escapes: each name is the text between quotes. */
    wh_msg_pack_str(pk, "events");
    wh_str_t ev = wh_stmt_col_str(st, 2);
    size_t n = 0;
    for (size_t i = 0; i < ev.n; i++)
        n += ev.p[i] == '"';
    msgpack_pack_array(pk, n / 2);
    for (size_t i = 0; i < ev.n; i++) {
        if (ev.p[i] != '"')
            continue;
        size_t j = i + 1;
        while (j < ev.n && ev.p[j] != '"')
            j++;
        wh_msg_pack_strn(pk, ev.p + i + 1, j - i - 1);
        i = j;
    }
    wh_stmt_kv_text(pk, "channel", st, 3);
    wh_stmt_kv_text(pk, "target", st, 4);
    wh_stmt_kv_text(pk, "language", st, 5);
    wh_stmt_kv_text(pk, "created_at", st, 6);
    if (secret)
        wh_msg_kv_str(pk, "secret", secret);
}

/* Checks the event types: known, not repeated; sets *alerts when any is an
 * alert type. */
static void check_events(wh_ctx_t *c, const msgpack_object *arr, wh_buf_t *json, bool *alerts)
{
    if (arr->via.array.size == 0)
        wh_reply_field(c->rep, "/events", "must list at least one event type");
    wh_buf_putc(json, '[');
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        char ptr[32];
        snprintf(ptr, sizeof ptr, "/events/%u", i);
        wh_str_t t = wh_msg_str(&arr->via.array.ptr[i]);
        if (!t.p) {
            wh_reply_field(c->rep, ptr, "must be a string");
            continue;
        }
        if (!wh_event_type_find(t.p, t.n)) {
            wh_reply_field(c->rep, ptr, "unknown event type");
            continue;
        }
        bool dup = false;
        for (uint32_t j = 0; j < i && !dup; j++) {
            wh_str_t u = wh_msg_str(&arr->via.array.ptr[j]);
            dup = u.p && u.n == t.n && memcmp(u.p, t.p, t.n) == 0;
        }
        if (dup) {
            wh_reply_field(c->rep, ptr, "is listed twice");
            continue;
        }
        if (t.n > 6 && memcmp(t.p, "alert.", 6) == 0)
            *alerts = true;
        if (json->len > 1)
            wh_buf_putc(json, ',');
        wh_buf_json_str(json, t.p, t.n);
    }
    wh_buf_putc(json, ']');
}

void subscription_create(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, sub_fields))
        return;
    wh_str_t org = {0}, target = {0};
    int channel = -1, lang = 1; /* English unless told, for webhooks */
    const msgpack_object *events = NULL;
    if (wh_valid_str(&v, "org_id", WH_V_REQUIRED, WH_ID_LEN, WH_ID_LEN, &org) == WH_V_SET &&
        !wh_id_valid(org.p, org.n))
        wh_reply_field(c->rep, "/org_id", "is not an organisation id");
    wh_valid_array(&v, "events", WH_V_REQUIRED, SUB_MAX_EVENTS, &events);
    wh_valid_enum(&v, "channel", WH_V_REQUIRED, channels, &channel);
    wh_valid_str(&v, "target", WH_V_REQUIRED, 1, SUB_MAX_URL, &target);
    wh_valid_enum(&v, "language", channel == CH_EMAIL ? WH_V_REQUIRED : 0, languages, &lang);
    bool alerts = false;
    wh_buf_t types;
    wh_buf_init(&types);
    if (events)
        check_events(c, events, &types, &alerts);
    char host[SUB_MAX_HOST] = "smtp";
    char tz[SUB_MAX_URL + 1] = "";
    if (target.p) {
        snprintf(tz, sizeof tz, "%.*s", (int)target.n, target.p);
        net_class_t cls = NET_PUBLIC;
        int url = channel == CH_WEBHOOK ? subscription_webhook_check(tz, host, sizeof host, &cls)
                                        : SUB_URL_OK;
        if (url == SUB_URL_BAD)
            wh_reply_field(c->rep, "/target",
                           "must be an http or https URL with a host and no user name");
        else if (url == SUB_URL_REFUSED)
            wh_reply_field(c->rep, "/target",
                           "must not point to an internal address (%s); webhooks go to "
                           "public addresses and to the ranges the operator allows",
                           netguard_class_name(cls));
        else if (channel == CH_EMAIL && !wh_valid_email(target.p, target.n))
            wh_reply_field(c->rep, "/target", "must be an e-mail address");
    }
    if (wh_reply_invalid(c->rep))
        goto done;
    if (!wh_request_has_org(c->req, org)) {
        wh_ctx_not_found(c, "organization");
        goto done;
    }
    if (alerts && !subscription_role_sees_alerts(c->req->principal.role)) {
        wh_reply_problem(c->rep, 403, "forbidden",
                         "alert events are for admin and occupational_health only");
        goto done;
    }
    char id[WH_ID_LEN + 1], now[WH_RFC3339_LEN], secret[WEBHOOK_SECRET_LEN + 1];
    wh_id_new(id);
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    if (channel == CH_WEBHOOK && webhook_secret_new(secret) != 0) {
        wh_reply_problem(c->rep, 503, "unavailable", "no randomness for the signing secret");
        goto done;
    }
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SUB_INSERT);
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_str(st, 2, org);
    wh_stmt_bind_text(st, 3, types.data);
    wh_stmt_bind_text(st, 4, channels[channel]);
    wh_stmt_bind_text(st, 5, tz);
    wh_stmt_bind_text(st, 6, host);
    wh_stmt_bind_text(st, 7, languages[lang]);
    wh_stmt_bind_text(st, 8, channel == CH_WEBHOOK ? secret : NULL);
    sqlite3_bind_int(st, 9, alerts);
    wh_stmt_bind_text(st, 10, now);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    for (uint32_t i = 0; ok && i < events->via.array.size; i++) {
        sqlite3_stmt *e = wh_store_stmt(c->store, SQL_SUB_EVENT_INSERT);
        wh_stmt_bind_str(e, 1, org);
        wh_stmt_bind_str(e, 2, wh_msg_str(&events->via.array.ptr[i]));
        wh_stmt_bind_text(e, 3, id);
        ok = sqlite3_step(e) == SQLITE_DONE;
    }
    sqlite3_stmt *g = ok ? wh_store_stmt(c->store, SQL_SUB_GET) : NULL;
    if (g) {
        wh_stmt_bind_text(g, 1, id);
        ok = sqlite3_step(g) == SQLITE_ROW;
    }
    if (!ok || !g) {
        wh_reply_problem(c->rep, 500, "internal", "the subscription could not be stored");
        goto done;
    }
    pack_sub(wh_reply_ok(c->rep, 201), g, channel == CH_WEBHOOK ? secret : NULL);
    if (channel == CH_WEBHOOK)
        wh_reply_secret(c->rep);
    memset(secret, 0, sizeof secret);
done:
    wh_buf_close(&types);
}

void subscription_list(wh_ctx_t *c)
{
    wh_list_t list;
    bool ok = wh_list_start(&list, c->req, c->rep);
    wh_str_t org;
    ok = wh_param_id(c->req, c->rep, "org_id", "is not an organisation id", &org) && ok;
    if (!ok)
        return;
    sqlite3_stmt *st = wh_list_query(&list, c, SQL_SUB_LIST);
    wh_stmt_bind_str(st, 4, org);
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 0)))
        pack_sub(pk, st, NULL);
    wh_list_finish(&list, c->rep);
}

/* The subscription's row, on st, if the principal may see it. */
static bool find_sub(wh_ctx_t *c, sqlite3_stmt **st_out)
{
    wh_str_t id = wh_request_param(c->req, "id");
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SUB_GET);
    wh_stmt_bind_str(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW || !wh_request_has_org(c->req, wh_stmt_col_str(st, 1))) {
        wh_ctx_not_found(c, "subscription");
        return false;
    }
    *st_out = st;
    return true;
}

void subscription_get(wh_ctx_t *c)
{
    sqlite3_stmt *st;
    if (find_sub(c, &st))
        pack_sub(wh_reply_ok(c->rep, 200), st, NULL);
}

void subscription_delete(wh_ctx_t *c)
{
    sqlite3_stmt *st;
    if (!find_sub(c, &st))
        return;
    if (sqlite3_column_int(st, 7) && !subscription_role_sees_alerts(c->req->principal.role)) {
        wh_reply_problem(c->rep, 403, "forbidden",
                         "subscriptions to alert events are managed by admin and "
                         "occupational_health only");
        return;
    }
    char id[WH_ID_LEN + 1], now[WH_RFC3339_LEN];
    wh_stmt_col_copy(st, 0, id, sizeof id);
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    static const char *const steps[] = {SQL_SUB_CANCEL_NOTE, SQL_SUB_CANCEL, SQL_SUB_DELETE};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *s = wh_store_stmt(c->store, steps[i]);
        wh_stmt_bind_text(s, 1, id);
        if (i < 2)
            wh_stmt_bind_text(s, 2, now);
        if (sqlite3_step(s) != SQLITE_DONE) {
            wh_reply_problem(c->rep, 500, "internal", "the subscription could not be deleted");
            return;
        }
    }
    wh_reply_empty(c->rep, 204);
}
