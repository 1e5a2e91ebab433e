#include "settings.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "id.h"
#include "privacy.h"

static const char SQL_SETTINGS_GET[] =
    "SELECT retention_days, escalate_after_hours, escalate_urgent_after_hours, stats_threshold,"
    " version, updated_ms FROM settings WHERE org_id = ?1";
static const char SQL_SETTINGS_PUT[] =
    "INSERT INTO settings(org_id, retention_days, escalate_after_hours,"
    " escalate_urgent_after_hours, stats_threshold, version, updated_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)"
    " ON CONFLICT(org_id) DO UPDATE SET retention_days = ?2, escalate_after_hours = ?3,"
    " escalate_urgent_after_hours = ?4, stats_threshold = ?5, version = version + 1,"
    " updated_ms = ?6";
/* Open alerts that have not escalated follow a changed limit at once. */
static const char SQL_ALERTS_RESCHEDULE[] =
    "UPDATE alerts SET escalate_at_ms = opened_ms"
    " + (CASE WHEN urgent THEN ?3 ELSE ?2 END) * 3600000"
    " WHERE org_id = ?1 AND state = 'open' AND escalated_ms IS NULL";

static const char *const settings_fields[] = {"retention_days", "escalate_after_hours",
                                              "escalate_urgent_after_hours", "stats_threshold",
                                              NULL};

int settings_load(wh_store_t *store, wh_str_t org, scr_settings_t *out)
{
    *out = (scr_settings_t){
        .escalate_after_hours = SCR_ESCALATE_HOURS_DEFAULT,
        .escalate_urgent_after_hours = SCR_ESCALATE_URGENT_HOURS_DEFAULT,
        .stats_threshold = SCR_STATS_THRESHOLD_DEFAULT,
    };
    sqlite3_stmt *st = wh_store_stmt(store, SQL_SETTINGS_GET);
    if (!st)
        return -1;
    wh_stmt_bind_str(st, 1, org);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->retention_days = sqlite3_column_int64(st, 0);
        out->escalate_after_hours = sqlite3_column_int64(st, 1);
        out->escalate_urgent_after_hours = sqlite3_column_int64(st, 2);
        out->stats_threshold = sqlite3_column_int64(st, 3);
        out->version = sqlite3_column_int64(st, 4);
        out->updated_ms = sqlite3_column_int64(st, 5);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static void reply_settings(wh_ctx_t *c, wh_str_t org, const scr_settings_t *s)
{
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 6);
    wh_msg_kv_strn(pk, "org_id", org.p, org.n);
    if (s->retention_days > 0)
        wh_msg_kv_int(pk, "retention_days", s->retention_days);
    else
        wh_msg_kv_nil(pk, "retention_days");
    wh_msg_kv_int(pk, "escalate_after_hours", s->escalate_after_hours);
    wh_msg_kv_int(pk, "escalate_urgent_after_hours", s->escalate_urgent_after_hours);
    wh_msg_kv_int(pk, "stats_threshold", s->stats_threshold);
    if (s->version > 0) {
        char at[WH_RFC3339_LEN];
        wh_clock_format_rfc3339(s->updated_ms, at);
        wh_msg_kv_str(pk, "updated_at", at);
    } else {
        wh_msg_kv_nil(pk, "updated_at");
    }
    wh_reply_etag(c->rep, "\"%.*s.%lld\"", (int)org.n, org.p, (long long)s->version);
}

/* The organisation of the path, or a 404. */
static bool path_org(wh_ctx_t *c, wh_str_t *org)
{
    *org = wh_request_param(c->req, "org_id");
    if (!scr_org_ok(c->req, *org)) {
        wh_ctx_not_found(c, "organization");
        return false;
    }
    return true;
}

/* The settings of the path's organisation, or a 404 or 500. */
static bool path_settings(wh_ctx_t *c, wh_str_t *org, scr_settings_t *s)
{
    if (!path_org(c, org))
        return false;
    if (settings_load(c->store, *org, s) != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the settings could not be read");
        return false;
    }
    return true;
}

void settings_get(wh_ctx_t *c)
{
    wh_str_t org;
    scr_settings_t s;
    if (path_settings(c, &org, &s))
        reply_settings(c, org, &s);
}

void settings_patch(wh_ctx_t *c)
{
    wh_str_t org;
    scr_settings_t s;
    if (!path_settings(c, &org, &s))
        return;
    char etag[128];
    snprintf(etag, sizeof etag, "\"%.*s.%lld\"", (int)org.n, org.p, (long long)s.version);
    if (!wh_ctx_if_match(c, etag))
        return;
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, settings_fields))
        return;
    int64_t x;
    wh_v_result_t r =
        wh_valid_int(&v, "retention_days", WH_V_NULLABLE, 1, SCR_RETENTION_DAYS_MAX, &x);
    if (r == WH_V_SET)
        s.retention_days = x;
    else if (r == WH_V_NULL)
        s.retention_days = 0;
    wh_valid_int(&v, "escalate_after_hours", 0, 1, SCR_ESCALATE_HOURS_MAX, &s.escalate_after_hours);
    wh_valid_int(&v, "escalate_urgent_after_hours", 0, 1, SCR_ESCALATE_HOURS_MAX,
                 &s.escalate_urgent_after_hours);
    wh_valid_int(&v, "stats_threshold", 0, SCR_STATS_THRESHOLD_MIN, SCR_STATS_THRESHOLD_MAX,
                 &s.stats_threshold);
    if (wh_reply_invalid(c->rep))
        return;
    if (s.escalate_urgent_after_hours > s.escalate_after_hours) {
        wh_reply_field(c->rep, "/escalate_urgent_after_hours",
                       "must not be longer than escalate_after_hours (%lld)",
                       (long long)s.escalate_after_hours);
        wh_reply_invalid(c->rep);
        return;
    }
    int64_t now = wh_clock_now_ms();
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SETTINGS_PUT);
    wh_stmt_bind_str(st, 1, org);
    if (s.retention_days > 0)
        sqlite3_bind_int64(st, 2, s.retention_days);
    sqlite3_bind_int64(st, 3, s.escalate_after_hours);
    sqlite3_bind_int64(st, 4, s.escalate_urgent_after_hours);
    sqlite3_bind_int64(st, 5, s.stats_threshold);
    sqlite3_bind_int64(st, 6, now);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_stmt *up = ok ? wh_store_stmt(c->store, SQL_ALERTS_RESCHEDULE) : NULL;
    if (up) {
        wh_stmt_bind_str(up, 1, org);
        sqlite3_bind_int64(up, 2, s.escalate_after_hours);
        sqlite3_bind_int64(up, 3, s.escalate_urgent_after_hours);
        ok = sqlite3_step(up) == SQLITE_DONE;
    }
    /* A shorter retention applies at once rather than at the next sweep. */
    char orgz[WH_ID_LEN + 1];
    snprintf(orgz, sizeof orgz, "%.*s", (int)org.n, org.p);
    if (ok && s.retention_days > 0) {
        int64_t purged = retention_purge(c->store, orgz, now);
        ok = purged >= 0;
        if (purged > 0 && c->app)
            ((scr_app_t *)c->app)->wal_dirty = true;
    }
    if (!ok || settings_load(c->store, org, &s) != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the settings could not be stored");
        return;
    }
    reply_settings(c, org, &s);
}
