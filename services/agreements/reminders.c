#include "reminders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "organizations.h"
#include "outbox.h"

static const char SQL_REM_RECORDED[] =
    "SELECT kind, days_before, due_on, status, sent_at FROM agreement_reminders"
    " WHERE agreement_id = ?1";
static const char SQL_REM_INSERT[] =
    "INSERT INTO agreement_reminders(agreement_id, kind, days_before, due_on, status, sent_at,"
    " event_id, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/* Served by the partial index agreements_next_due: only due rows are read. */
static const char SQL_REM_DUE[] =
    "SELECT id FROM agreements WHERE next_due <= ?1 ORDER BY next_due LIMIT ?2";

/* Who entered the contacts (newest first); a renewal copies them, so the
 * chain of predecessors is followed. */
static const char SQL_HIST_BY_TOKEN[] =
    "SELECT role, changes FROM agreement_history"
    " WHERE agreement_id = ?1 AND role <> 'system' AND changes IS NOT NULL ORDER BY id DESC";
static const char SQL_RENEWS[] = "SELECT renews FROM agreements WHERE id = ?1";
static const char SQL_ORG_NAME[] = "SELECT name FROM organizations WHERE id = ?1";
#define ENTERED_BY_MAX_HOPS 32 /* predecessors looked at for who entered the contacts */

/* The role of the token that last set the agreement's contacts (from its
 * history), into role; false when none is found. */
static bool contacts_set_by(wh_store_t *store, const char *agreement_id, char *role, size_t cap)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_HIST_BY_TOKEN);
    if (!st)
        return false;
    wh_stmt_bind_text(st, 1, agreement_id);
    bool found = false;
    while (!found && sqlite3_step(st) == SQLITE_ROW) {
        wh_msg_t m;
        const void *blob = sqlite3_column_blob(st, 1);
        if (!blob || wh_msg_decode(blob, (size_t)sqlite3_column_bytes(st, 1), &m) != 0)
            continue;
        found = wh_msg_get(m.root, "contacts") != NULL;
        wh_msg_close(&m);
        if (found)
            wh_stmt_col_copy(st, 0, role, cap);
    }
    sqlite3_reset(st);
    return found;
}

/* Who put the addresses on the agreement, so that a recipient can tell
 * whom to ask: the role of the token that last set the contacts (role ""
 * when none is found) and its organisation's name (org "" when it has
 * none): coordinators are the employer's, consultants the insurer's (docs/API.md,
 * roles). */
static void entered_by(wh_store_t *store, const agr_t *a, char *role, size_t role_cap, char *org,
                       size_t org_cap)
{
    char id[WH_ID_LEN + 1];
    role[0] = org[0] = '\0';
    snprintf(id, sizeof id, "%s", a->id);
    for (int hop = 0; hop < ENTERED_BY_MAX_HOPS && id[0]; hop++) {
        if (contacts_set_by(store, id, role, role_cap))
            break;
        sqlite3_stmt *st = wh_store_stmt(store, SQL_RENEWS);
        bool found = false;
        if (st) {
            wh_stmt_bind_text(st, 1, id);
            found = sqlite3_step(st) == SQLITE_ROW;
        }
        if (found)
            wh_stmt_col_copy(st, 0, id, sizeof id);
        else
            id[0] = '\0';
        if (st)
            sqlite3_reset(st);
    }
    const char *org_id = strcmp(role, "coordinator") == 0  ? a->employer_id
                         : strcmp(role, "consultant") == 0 ? a->insurer_id
                                                           : NULL;
    sqlite3_stmt *st = org_id ? wh_store_stmt(store, SQL_ORG_NAME) : NULL;
    if (st) {
        wh_stmt_bind_text(st, 1, org_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            wh_stmt_col_copy(st, 0, org, org_cap);
        sqlite3_reset(st);
    }
}

/* The contacts for an event: {name, email, language} of each. */
static void pack_contacts(msgpack_packer *pk, const agr_t *a)
{
    wh_msg_t m;
    wh_msg_pack_str(pk, "contacts");
    if (wh_msg_decode(a->contacts.data, a->contacts.len, &m) != 0 ||
        m.root->type != MSGPACK_OBJECT_ARRAY) {
        if (m.root)
            wh_msg_close(&m);
        msgpack_pack_array(pk, 0);
        return;
    }
    msgpack_pack_array(pk, m.root->via.array.size);
    for (uint32_t i = 0; i < m.root->via.array.size; i++) {
        const msgpack_object *c = &m.root->via.array.ptr[i];
        msgpack_pack_map(pk, 3);
        static const char *const keys[] = {"name", "email", "language"};
        for (int k = 0; k < 3; k++) {
            wh_msg_pack_str(pk, keys[k]);
            wh_msg_pack_wstr(pk, wh_msg_str(wh_msg_get(c, keys[k])));
        }
    }
    wh_msg_close(&m);
}

/* agreement.expiring or agreement.expired, in the caller's transaction. */
static int emit(wh_store_t *store, const agr_t *a, const agr_item_t *it, char id_out[27])
{
    bool notice = it->kind == AGR_ITEM_NOTICE;
    char role[32], org[4 * ORG_MAX_NAME + 1];
    entered_by(store, a, role, sizeof role, org, sizeof org);
    wh_event_t ev;
    msgpack_packer *pk =
        wh_event_start(&ev, (notice ? 9 : 6) + (role[0] != '\0') + (org[0] != '\0'));
    wh_msg_kv_str(pk, "agreement_id", a->id);
    wh_msg_kv_str(pk, "title", a->title);
    wh_msg_kv_str(pk, "employer_id", a->employer_id);
    wh_msg_kv_str(pk, "insurer_id", a->insurer_id);
    agr_pack_date(pk, "ends_on", a->ends_on);
    if (notice) {
        agr_pack_date(pk, "notice_deadline", agr_notice_deadline(a->ends_on, a->notice_days));
        wh_msg_kv_int(pk, "days_before", it->days_before);
        wh_msg_kv_bool(pk, "auto_renew", a->auto_renew);
    }
    pack_contacts(pk, a);
    if (role[0])
        wh_msg_kv_str(pk, "entered_by_role", role);
    if (org[0])
        wh_msg_kv_str(pk, "entered_by_org", org);
    return wh_event_emit_id(&ev, store, notice ? "agreement.expiring" : "agreement.expired",
                            a->employer_id, id_out);
}

static int record(wh_store_t *store, const agr_t *a, const agr_item_t *it, bool sent,
                  const char *event_id)
{
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_REM_INSERT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, a->id);
    wh_stmt_bind_text(st, 2, agr_item_names[it->kind]);
    sqlite3_bind_int(st, 3, it->days_before);
    sqlite3_bind_int64(st, 4, it->due_on);
    wh_stmt_bind_text(st, 5, sent ? "sent" : "skipped");
    wh_stmt_bind_text(st, 6, sent ? now : NULL);
    wh_stmt_bind_text(st, 7, event_id);
    wh_stmt_bind_text(st, 8, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
    sqlite3_reset(st);
    if (rc == 0) {
        /* One line per reminder sent or skipped (superseded by a later
         * one, rules.h); the event id leads to the deliveries of a sent one. */
        char due[WH_DATE_LEN];
        wh_date_format(it->due_on, due);
        wh_log_info("reminder %s: agreement=%s rule=%s days_before=%d due=%s event=%s",
                    sent ? "sent" : "skipped", a->id, agr_item_names[it->kind], it->days_before,
                    due, event_id ? event_id : "-");
    }
    return rc;
}

/* Marks the schedule's items recorded for this agreement; returns the
 * latest due_on of a recorded notice reminder. */
static int32_t recorded_items(wh_store_t *store, const agr_t *a, const agr_item_t *items, int n,
                              bool *recorded)
{
    int32_t handled = AGR_NO_DATE;
    memset(recorded, 0, sizeof(bool) * (size_t)n);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_REM_RECORDED);
    if (!st)
        return handled;
    wh_stmt_bind_text(st, 1, a->id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        bool notice = strcmp((const char *)sqlite3_column_text(st, 0), "notice") == 0;
        int days = sqlite3_column_int(st, 1);
        int32_t due = (int32_t)sqlite3_column_int64(st, 2);
        if (notice && (handled == AGR_NO_DATE || due > handled))
            handled = due;
        for (int i = 0; i < n; i++)
            if ((notice && items[i].kind == AGR_ITEM_NOTICE && items[i].days_before == days) ||
                (!notice && items[i].kind == AGR_ITEM_EXPIRED))
                recorded[i] = true;
    }
    sqlite3_reset(st);
    return handled;
}

int reminders_process(wh_store_t *store, const agr_t *current, int32_t today, const agr_who_t *who,
                      reminders_stats_t *stats)
{
    agr_t cur, succ;
    agr_t *a = &cur;
    agr_init(&cur);
    agr_init(&succ);
    agr_copy(&cur, current);
    int rc = 0;
    for (int round = 0; rc == 0; round++) {
        if (a->state != AGR_SIGNED) {
            rc = agr_set_next_due(store, a->id, AGR_NO_DATE);
            break;
        }
        agr_terms_t t;
        agr_terms(a, &t);
        agr_item_t items[AGR_MAX_SCHEDULE];
        bool recorded[AGR_MAX_SCHEDULE];
        int n = agr_schedule(&t, items);
        int32_t handled = recorded_items(store, a, items, n, recorded);
        agr_plan_t plan;
        agr_plan_day(items, n, recorded, handled, a->ends_on, today, &plan);
        int renew = -1;
        for (int i = 0; i < n && rc == 0; i++) {
            if (plan.action[i] == AGR_ACT_SKIP) {
                rc = record(store, a, &items[i], false, NULL);
                if (stats)
                    stats->skipped++;
            } else if (plan.action[i] == AGR_ACT_SEND && items[i].kind == AGR_ITEM_RENEW) {
                renew = i;
            } else if (plan.action[i] == AGR_ACT_SEND) {
                char event_id[WH_ID_LEN + 1];
                rc = emit(store, a, &items[i], event_id);
                if (rc == 0)
                    rc = record(store, a, &items[i], true, event_id);
                if (stats)
                    stats->sent++;
            }
        }
        if (rc != 0)
            break;
        if (stats && round == 0)
            stats->agreements++;
        if (renew < 0 || round == AGR_MAX_RENEWALS_PER_SCAN) {
            /* After the last allowed renewal the successor stays due today,
             * so the next pass goes on with it. */
            rc = agr_set_next_due(store, a->id, renew >= 0 ? today : plan.next_due);
            break;
        }
        /* auto_renew: a successor for the same term length from ends_on + 1,
         * under the same signature. */
        agr_copy(&succ, a);
        succ.starts_on = a->ends_on + 1;
        succ.ends_on = agr_successor_ends_on(a->starts_on, a->ends_on);
        rc = agr_renew_into(store, a, &succ, who);
        if (rc == 0 && stats)
            stats->renewed++;
        agr_copy(a, &succ);
    }
    agr_close(&succ);
    agr_close(&cur);
    return rc;
}

int reminders_scan(wh_store_t *store, int32_t today, reminders_stats_t *stats)
{
    uint64_t t0 = uv_hrtime();
    memset(stats, 0, sizeof *stats);
    char(*ids)[WH_ID_LEN + 1] = malloc(sizeof *ids * AGR_SCAN_BATCH);
    if (!ids)
        return WH_ENOMEM;
    agr_t a;
    agr_init(&a);
    int rc = 0;
    for (;;) {
        if (wh_store_begin(store) != 0) {
            rc = WH_ESTORE;
            break;
        }
        sqlite3_stmt *st = wh_store_stmt(store, SQL_REM_DUE);
        int n = 0;
        if (st) {
            sqlite3_bind_int64(st, 1, today);
            sqlite3_bind_int(st, 2, AGR_SCAN_BATCH);
            while (n < AGR_SCAN_BATCH && sqlite3_step(st) == SQLITE_ROW)
                wh_stmt_col_copy(st, 0, ids[n++], WH_ID_LEN + 1);
            sqlite3_reset(st);
        }
        for (int i = 0; i < n && rc == 0; i++) {
            wh_service_keepalive();
            if (!agr_load(store, (wh_str_t){ids[i], strlen(ids[i])}, &a))
                continue;
            /* One agreement that cannot be processed must not hold up the
             * others: its changes are undone and it is tried again the
             * next day (when the catch-up rule covers what it missed). */
            if ((rc = wh_store_savepoint(store)) != 0)
                break;
            int prc = reminders_process(store, &a, today, &agr_system, stats);
            if (prc == 0) {
                rc = wh_store_release(store);
            } else {
                wh_log_error("reminders of agreement %s failed (%s); retried tomorrow", a.id,
                             wh_strerror(prc));
                rc = wh_store_rollback_to(store);
                if (rc == 0)
                    rc = agr_set_next_due(store, a.id, today + 1);
            }
        }
        if (rc != 0 || !st) {
            wh_store_rollback(store);
            rc = rc ? rc : WH_ESTORE;
            break;
        }
        if (wh_store_commit(store) != 0) {
            wh_store_rollback(store);
            rc = WH_ESTORE;
            break;
        }
        /* Until nothing is due: a batch may leave work for today behind
         * (a chain of renewals past AGR_MAX_RENEWALS_PER_SCAN). Every pass
         * makes progress, and an agreement that failed waits for tomorrow,
         * so this ends. */
        if (n == 0)
            break;
    }
    agr_close(&a);
    free(ids);
    stats->ms = (double)(uv_hrtime() - t0) / 1e6;
    return rc;
}

/* ---- the job ------------------------------------------------------------ */

static int64_t scan_job(wh_store_t *store, void *arg)
{
    reminders_stats_t s;
    char today[WH_DATE_LEN];
    int32_t d = wh_clock_today();
    wh_date_format(d, today);
    int rc = reminders_scan(store, d, &s);
    if (rc != 0)
        return rc;
    wh_log_info("reminder scan for %s: %lld agreements due, %lld sent, %lld skipped, "
                "%lld renewed in %.3f ms",
                today, (long long)s.agreements, (long long)s.sent, (long long)s.skipped,
                (long long)s.renewed, s.ms);
    return s.agreements;
}

int reminders_every(wh_service_t *s)
{
    static const wh_job_t scan = {"reminder scan", NULL, scan_job, WH_JOB_OWN_TXN};
    return wh_service_every(s, AGR_SCAN_INTERVAL_MS, &scan, NULL);
}

/* ---- the list of one agreement -------------------------------------------- */

static int cmp_rows(const void *x, const void *y)
{
    const reminders_row_t *a = x, *b = y;
    if (a->due_on != b->due_on)
        return a->due_on < b->due_on ? -1 : 1;
    return (int)a->kind - (int)b->kind;
}

int reminders_rows(wh_store_t *store, const agr_t *a, reminders_row_t *rows)
{
    int n = 0;
    sqlite3_stmt *st = wh_store_stmt(store, SQL_REM_RECORDED);
    wh_stmt_bind_text(st, 1, a->id);
    while (n < REMINDERS_MAX_ROWS && sqlite3_step(st) == SQLITE_ROW) {
        reminders_row_t *r = &rows[n++];
        r->kind = strcmp((const char *)sqlite3_column_text(st, 0), "notice") == 0
                      ? AGR_ITEM_NOTICE
                      : AGR_ITEM_EXPIRED;
        r->days_before = sqlite3_column_int(st, 1);
        r->due_on = (int32_t)sqlite3_column_int64(st, 2);
        r->status =
            strcmp((const char *)sqlite3_column_text(st, 3), "sent") == 0 ? "sent" : "skipped";
        wh_stmt_col_copy(st, 4, r->sent_at, sizeof r->sent_at);
    }
    sqlite3_reset(st);
    /* Drafts, terminated and renewed agreements have nothing due; a signed
     * one has whatever of its schedule is not recorded (a renewal is not a
     * reminder and is not listed). */
    if (a->state == AGR_SIGNED) {
        agr_terms_t t;
        agr_terms(a, &t);
        agr_item_t items[AGR_MAX_SCHEDULE];
        bool recorded[AGR_MAX_SCHEDULE];
        int k = agr_schedule(&t, items);
        recorded_items(store, a, items, k, recorded);
        for (int i = 0; i < k && n < REMINDERS_MAX_ROWS; i++)
            if (!recorded[i] && items[i].kind != AGR_ITEM_RENEW)
                rows[n++] = (reminders_row_t){items[i].kind, items[i].days_before, items[i].due_on,
                                              "due", ""};
    }
    qsort(rows, (size_t)n, sizeof *rows, cmp_rows);
    return n;
}
