#include "alerts.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "list.h"
#include "log.h"
#include "outbox.h"
#include "privacy.h"
#include "settings.h"

#define HOUR_MS 3600000LL

static const char SQL_ALERT_ACTIVE[] = "SELECT id, urgent, state FROM alerts"
                                       " WHERE org_id = ?1 AND subject = ?2 AND state != 'closed'";
static const char SQL_ALERT_ACTIVE_AMONG[] =
    "SELECT j.key FROM json_each(?2) j CROSS JOIN alerts a INDEXED BY alerts_active"
    " WHERE a.org_id = ?1 AND a.subject = j.value AND a.state != 'closed'";
static const char SQL_ALERT_INSERT[] =
    "INSERT INTO alerts(id, org_id, subject, state, urgent, opened_ms, escalate_at_ms)"
    " VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6)";
static const char SQL_ALERT_MAKE_URGENT[] =
    "UPDATE alerts SET urgent = 1, escalate_at_ms = min(escalate_at_ms, ?2),"
    " version = version + 1 WHERE id = ?1";
static const char SQL_ALERTS_DUE[] =
    "SELECT id, org_id, urgent FROM alerts"
    " WHERE state = 'open' AND escalated_ms IS NULL AND escalate_at_ms <= ?1"
    " ORDER BY escalate_at_ms LIMIT ?2";
static const char SQL_ALERT_ESCALATE[] =
    "UPDATE alerts SET escalated_ms = ?2, version = version + 1"
    " WHERE id = ?1 AND state = 'open' AND escalated_ms IS NULL";
#define ALERT_COLUMNS                                                                              \
    "id, org_id, subject, state, urgent, opened_ms, acknowledged_ms, support_offered_ms,"          \
    " note, escalated_ms, closed_ms, outcome, version"
static const char SQL_ALERT_GET[] = "SELECT " ALERT_COLUMNS " FROM alerts WHERE id = ?1";
static const char SQL_ALERT_LIST[] = "SELECT " ALERT_COLUMNS " FROM alerts"
                                     " WHERE org_id = ?1 AND (?2 IS NULL OR state = ?2)"
                                     " AND (?3 IS NULL OR id > ?3) ORDER BY id LIMIT ?4";
static const char SQL_ALERT_SCREENINGS[] =
    "SELECT id FROM screenings WHERE alert_id = ?1 ORDER BY id";
static const char SQL_ALERT_ACK[] =
    "UPDATE alerts SET state = 'acknowledged', acknowledged_ms = ?2, version = version + 1"
    " WHERE id = ?1 AND state = 'open'";
static const char SQL_ALERT_OFFER[] =
    "UPDATE alerts SET state = 'support_offered', support_offered_ms = ?2, note = ?3,"
    " version = version + 1 WHERE id = ?1 AND state = 'acknowledged'";
static const char SQL_ALERT_CLOSE[] =
    "UPDATE alerts SET state = 'closed', closed_ms = ?2, outcome = ?3, version = version + 1"
    " WHERE id = ?1 AND state IN ('acknowledged', 'support_offered')";

static const char *const alert_states[] = {"open", "acknowledged", "support_offered", "closed",
                                           NULL};
static const char *const outcomes[] = {"accepted", "declined", "no_contact", NULL};

/* alert.created / alert.escalated: the id and the urgency, nothing more. */
static int emit(wh_store_t *store, const char *type, const char *org, const char *id, bool urgent)
{
    wh_event_t ev;
    msgpack_packer *pk = wh_event_start(&ev, 2);
    wh_msg_kv_str(pk, "alert_id", id);
    wh_msg_kv_bool(pk, "urgent", urgent);
    return wh_event_emit(&ev, store, type, org);
}

int alert_for_result(wh_store_t *store, wh_str_t org, wh_str_t subject, bool at_risk, bool urgent,
                     int64_t now_ms, char alert_id[WH_ID_LEN + 1])
{
    alert_id[0] = '\0';
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ALERT_ACTIVE);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_str_ref(st, 1, org);
    wh_stmt_bind_str_ref(st, 2, subject);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        wh_stmt_col_copy(st, 0, alert_id, WH_ID_LEN + 1);
        bool was_urgent = sqlite3_column_int(st, 1) != 0;
        sqlite3_reset(st);
        if (!urgent || was_urgent)
            return 0;
        /* A critical answer while an alert is active: the alert becomes
         * urgent, and its limit runs from this result if that is sooner. */
        scr_settings_t set;
        if (settings_load(store, org, &set) != 0)
            return WH_ESTORE;
        sqlite3_stmt *up = wh_store_stmt(store, SQL_ALERT_MAKE_URGENT);
        if (!up)
            return WH_ESTORE;
        wh_stmt_bind_text(up, 1, alert_id);
        sqlite3_bind_int64(up, 2, now_ms + set.escalate_urgent_after_hours * HOUR_MS);
        return sqlite3_step(up) == SQLITE_DONE ? 0 : WH_ESTORE;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return WH_ESTORE;
    if (!at_risk)
        return 0;
    scr_settings_t set;
    if (settings_load(store, org, &set) != 0)
        return WH_ESTORE;
    char id[WH_ID_LEN + 1], orgz[WH_ID_LEN + 1];
    wh_id_new(id);
    snprintf(orgz, sizeof orgz, "%.*s", (int)org.n, org.p);
    int64_t hours = urgent ? set.escalate_urgent_after_hours : set.escalate_after_hours;
    sqlite3_stmt *ins = wh_store_stmt(store, SQL_ALERT_INSERT);
    if (!ins)
        return WH_ESTORE;
    wh_stmt_bind_text_ref(ins, 1, id);
    wh_stmt_bind_str_ref(ins, 2, org);
    wh_stmt_bind_str_ref(ins, 3, subject);
    sqlite3_bind_int(ins, 4, urgent);
    sqlite3_bind_int64(ins, 5, now_ms);
    sqlite3_bind_int64(ins, 6, now_ms + hours * HOUR_MS);
    rc = sqlite3_step(ins);
    sqlite3_reset(ins); /* id goes out of scope */
    if (rc != SQLITE_DONE)
        return WH_ESTORE;
    rc = emit(store, "alert.created", orgz, id, urgent);
    if (rc == 0)
        memcpy(alert_id, id, sizeof id);
    return rc;
}

int alerts_active_among(wh_store_t *store, wh_str_t org, const char *json, size_t json_len,
                        void (*found)(void *ud, int64_t k), void *ud)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ALERT_ACTIVE_AMONG);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_str_ref(st, 1, org);
    sqlite3_bind_text(st, 2, json, (int)json_len, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        found(ud, sqlite3_column_int64(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : WH_ESTORE;
}

bool alerts_due(wh_store_t *store, int64_t now_ms)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ALERTS_DUE);
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int(st, 2, 1);
    bool due = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return due;
}

int alerts_escalate_due(wh_store_t *store, int64_t now_ms)
{
    int total = 0;
    for (;;) {
        /* Ids are collected first: the update takes rows out of the index
         * the query walks. */
        struct {
            char id[WH_ID_LEN + 1];
            char org[WH_ID_LEN + 1];
            bool urgent;
        } due[SCR_ESCALATE_BATCH];
        int n = 0;
        sqlite3_stmt *st = wh_store_stmt(store, SQL_ALERTS_DUE);
        if (!st)
            return WH_ESTORE;
        sqlite3_bind_int64(st, 1, now_ms);
        sqlite3_bind_int(st, 2, SCR_ESCALATE_BATCH);
        while (n < SCR_ESCALATE_BATCH && sqlite3_step(st) == SQLITE_ROW) {
            wh_stmt_col_copy(st, 0, due[n].id, sizeof due[n].id);
            wh_stmt_col_copy(st, 1, due[n].org, sizeof due[n].org);
            due[n].urgent = sqlite3_column_int(st, 2) != 0;
            n++;
        }
        sqlite3_reset(st);
        for (int i = 0; i < n; i++) {
            sqlite3_stmt *up = wh_store_stmt(store, SQL_ALERT_ESCALATE);
            if (!up)
                return WH_ESTORE;
            wh_stmt_bind_text(up, 1, due[i].id);
            sqlite3_bind_int64(up, 2, now_ms);
            if (sqlite3_step(up) != SQLITE_DONE)
                return WH_ESTORE;
            if (sqlite3_changes(wh_store_db(store)) == 1) {
                int rc = emit(store, "alert.escalated", due[i].org, due[i].id, due[i].urgent);
                if (rc != 0)
                    return rc;
                total++;
            }
        }
        if (n < SCR_ESCALATE_BATCH)
            return total;
    }
}

/* Packs the alert at the statement's row with its results. */
static void pack_alert(wh_store_t *store, msgpack_packer *pk, sqlite3_stmt *st)
{
    msgpack_pack_map(pk, 13);
    wh_stmt_kv_text(pk, "id", st, 0);
    wh_stmt_kv_text(pk, "org_id", st, 1);
    wh_stmt_kv_text(pk, "subject", st, 2);
    wh_stmt_kv_text(pk, "state", st, 3);
    wh_msg_kv_bool(pk, "urgent", sqlite3_column_int(st, 4) != 0);
    wh_stmt_kv_instant(pk, "opened_at", st, 5);
    wh_stmt_kv_instant(pk, "acknowledged_at", st, 6);
    wh_stmt_kv_instant(pk, "support_offered_at", st, 7);
    wh_stmt_kv_text(pk, "note", st, 8);
    wh_stmt_kv_instant(pk, "escalated_at", st, 9);
    wh_stmt_kv_instant(pk, "closed_at", st, 10);
    wh_stmt_kv_text(pk, "outcome", st, 11);
    /* The count is needed before the ids: they are gathered first. */
    sqlite3_stmt *q = wh_store_stmt(store, SQL_ALERT_SCREENINGS);
    wh_stmt_bind_str(q, 1, wh_stmt_col_str(st, 0));
    wh_buf_t ids;
    wh_buf_init(&ids);
    size_t n = 0;
    for (; sqlite3_step(q) == SQLITE_ROW; n++)
        wh_buf_append(&ids, sqlite3_column_text(q, 0), WH_ID_LEN);
    sqlite3_reset(q);
    if (wh_buf_failed(&ids))
        n = 0;
    wh_msg_pack_str(pk, "screening_ids");
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        wh_msg_pack_strn(pk, ids.data + i * WH_ID_LEN, WH_ID_LEN);
    wh_buf_close(&ids);
}

void alerts_list(wh_ctx_t *c)
{
    wh_list_t list;
    wh_list_start(&list, c->req, c->rep);
    int state;
    wh_param_enum(c->req, c->rep, "state", alert_states, NULL, &state);
    wh_str_t org;
    if (!scr_org_param(c, &org))
        return;
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_ALERT_LIST);
    wh_stmt_bind_str(st, 1, org);
    wh_stmt_bind_text(st, 2, wh_param_value(alert_states, state));
    wh_list_bind_page(&list, st, 3);
    wh_list_keep_ids(&list);
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 0)))
        pack_alert(c->store, pk, st);
    audit_list_finish(c, &list, org, "alert.list");
}

/* The alert of the path if the principal covers its organisation; its
 * statement is positioned on the row. NULL after a 404. */
static sqlite3_stmt *find_alert(wh_ctx_t *c, wh_str_t *org)
{
    wh_str_t id = wh_request_param(c->req, "id");
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_ALERT_GET);
    wh_stmt_bind_str(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW || !wh_request_has_org(c->req, wh_stmt_col_str(st, 1))) {
        wh_ctx_not_found(c, "alert");
        return NULL;
    }
    *org = wh_stmt_col_str(st, 1);
    return st;
}

/* Answers the alert (re-read after a change) and audits the read. */
static void reply_alert(wh_ctx_t *c, const char *action)
{
    wh_str_t org;
    sqlite3_stmt *st = find_alert(c, &org);
    if (!st)
        return;
    char orgz[WH_ID_LEN + 1], id[WH_ID_LEN + 1];
    snprintf(orgz, sizeof orgz, "%.*s", (int)org.n, org.p);
    wh_stmt_col_copy(st, 0, id, sizeof id);
    wh_reply_etag(c->rep, "\"%s.%lld\"", id, (long long)sqlite3_column_int64(st, 12));
    pack_alert(c->store, wh_reply_ok(c->rep, 200), st);
    sqlite3_reset(st);
    if (audit_write(c, (wh_str_t){orgz, strlen(orgz)}, action, id, 1) != 0)
        wh_reply_problem(c->rep, 500, "internal", "the read could not be audited");
}

void alerts_get(wh_ctx_t *c)
{
    reply_alert(c, "alert.read");
}

enum transition { ACKNOWLEDGE, OFFER_SUPPORT, CLOSE };

static void transition(wh_ctx_t *c, enum transition t)
{
    wh_str_t org;
    sqlite3_stmt *st = find_alert(c, &org);
    if (!st)
        return;
    char id[WH_ID_LEN + 1], state[32], etag[80];
    wh_stmt_col_copy(st, 0, id, sizeof id);
    wh_stmt_col_copy(st, 3, state, sizeof state);
    snprintf(etag, sizeof etag, "\"%s.%lld\"", id, (long long)sqlite3_column_int64(st, 12));
    sqlite3_reset(st);
    if (!wh_ctx_if_match(c, etag))
        return;
    wh_str_t note = {0};
    int outcome = 0;
    if (t != ACKNOWLEDGE) {
        static const char *const note_fields[] = {"note", NULL};
        static const char *const close_fields[] = {"outcome", NULL};
        wh_valid_t v;
        if (!wh_ctx_body(c, &v, t == CLOSE ? close_fields : note_fields))
            return;
        if (t == CLOSE)
            wh_valid_enum(&v, "outcome", WH_V_REQUIRED, outcomes, &outcome);
        else
            wh_valid_str(&v, "note", WH_V_NULLABLE | WH_V_MULTILINE, 1, SCR_ALERT_MAX_NOTE, &note);
        if (wh_reply_invalid(c->rep))
            return;
    }
    static const char *const sql[] = {SQL_ALERT_ACK, SQL_ALERT_OFFER, SQL_ALERT_CLOSE};
    static const char *const from[] = {"open", "acknowledged", "acknowledged or support_offered"};
    static const char *const action[] = {"alert.acknowledge", "alert.offer_support", "alert.close"};
    sqlite3_stmt *up = wh_store_stmt(c->store, sql[t]);
    wh_stmt_bind_text(up, 1, id);
    sqlite3_bind_int64(up, 2, wh_clock_now_ms());
    if (t == OFFER_SUPPORT)
        wh_stmt_bind_str(up, 3, note);
    else if (t == CLOSE)
        wh_stmt_bind_text(up, 3, outcomes[outcome]);
    if (sqlite3_step(up) != SQLITE_DONE) {
        wh_reply_problem(c->rep, 500, "internal", "the alert could not be updated");
        return;
    }
    if (sqlite3_changes(wh_store_db(c->store)) == 0) {
        wh_reply_problem(c->rep, 409, "conflict", "the alert is %s; this needs %s", state, from[t]);
        return;
    }
    reply_alert(c, action[t]);
}

void alerts_acknowledge(wh_ctx_t *c)
{
    transition(c, ACKNOWLEDGE);
}

void alerts_offer_support(wh_ctx_t *c)
{
    transition(c, OFFER_SUPPORT);
}

void alerts_close(wh_ctx_t *c)
{
    transition(c, CLOSE);
}

static bool escalation_due(wh_store_t *store, void *arg)
{
    return alerts_due(store, wh_clock_now_ms());
}

static int64_t escalation_run(wh_store_t *store, void *arg)
{
    int n = alerts_escalate_due(store, wh_clock_now_ms());
    if (n > 0)
        wh_log_info("%d alert%s escalated", n, n == 1 ? "" : "s");
    return n;
}

int alerts_every(wh_service_t *s)
{
    static const wh_job_t job = {"escalation", escalation_due, escalation_run, 0};
    return wh_service_every(s, SCR_ESCALATION_TICK_MS, &job, NULL);
}
