#include "report.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "activities.h"
#include "agreement.h"

/* ?1 insurer, ?2 first day of the year, ?3 last day. */
#define ACTIVE_IN_YEAR                                                                             \
    " insurer_id = ?1 AND state IN ('signed', 'terminated', 'renewed')"                            \
    " AND starts_on <= ?3"                                                                         \
    " AND (CASE WHEN state = 'terminated' THEN terminated_on ELSE ends_on END) >= ?2"
static const char SQL_REP_TOTALS[] =
    "SELECT count(*), coalesce(sum(starts_on >= ?2 AND renews IS NULL), 0),"
    " count(DISTINCT employer_id) FROM agreements WHERE" ACTIVE_IN_YEAR;
static const char SQL_REP_EMPLOYEES[] =
    "SELECT coalesce(sum(m), 0) FROM (SELECT max(coalesce(employees_covered, 0)) AS m"
    " FROM agreements WHERE" ACTIVE_IN_YEAR " GROUP BY employer_id)";
static const char SQL_REP_FOCUS[] = "SELECT focus_mask FROM agreements WHERE" ACTIVE_IN_YEAR;
static const char SQL_REP_ACTIVITIES[] =
    "SELECT t.kind, t.focus_area, count(*), coalesce(sum(t.participants), 0)"
    " FROM activities t JOIN agreements g ON g.id = t.agreement_id"
    " WHERE t.status = 'done' AND t.planned_on BETWEEN ?2 AND ?3 AND g.id IN"
    " (SELECT id FROM agreements WHERE" ACTIVE_IN_YEAR ")"
    " GROUP BY t.kind, t.focus_area";

typedef struct figures {
    int64_t active, new_, orgs, employees;
    int64_t done, participants;
    int64_t kind_done[ACT_N_KINDS], kind_part[ACT_N_KINDS];
    int64_t focus_agreements[AGR_N_FOCUS], focus_done[AGR_N_FOCUS], focus_part[AGR_N_FOCUS];
} figures_t;

static sqlite3_stmt *bound(wh_store_t *store, const char *sql, const char *insurer, int32_t y0,
                           int32_t y1)
{
    sqlite3_stmt *st = wh_store_stmt(store, sql);
    if (st) {
        wh_stmt_bind_text(st, 1, insurer);
        sqlite3_bind_int64(st, 2, y0);
        sqlite3_bind_int64(st, 3, y1);
    }
    return st;
}

static bool compute(wh_store_t *store, const char *insurer, int year, figures_t *f)
{
    memset(f, 0, sizeof *f);
    int32_t y0 = wh_date_from_civil(year, 1, 1), y1 = wh_date_from_civil(year, 12, 31);
    sqlite3_stmt *st = bound(store, SQL_REP_TOTALS, insurer, y0, y1);
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        return false;
    f->active = sqlite3_column_int64(st, 0);
    f->new_ = sqlite3_column_int64(st, 1);
    f->orgs = sqlite3_column_int64(st, 2);
    sqlite3_reset(st);
    st = bound(store, SQL_REP_EMPLOYEES, insurer, y0, y1);
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        return false;
    f->employees = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    st = bound(store, SQL_REP_FOCUS, insurer, y0, y1);
    if (!st)
        return false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t mask = sqlite3_column_int64(st, 0);
        for (int i = 0; i < AGR_N_FOCUS; i++)
            f->focus_agreements[i] += (mask >> i) & 1;
    }
    sqlite3_reset(st);
    st = bound(store, SQL_REP_ACTIVITIES, insurer, y0, y1);
    if (!st)
        return false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int k = agr_name_index_str(act_kind_names, (const char *)sqlite3_column_text(st, 0));
        int fa = agr_name_index_str(agr_focus_names, (const char *)sqlite3_column_text(st, 1));
        int64_t n = sqlite3_column_int64(st, 2), p = sqlite3_column_int64(st, 3);
        f->done += n;
        f->participants += p;
        if (k >= 0) {
            f->kind_done[k] += n;
            f->kind_part[k] += p;
        }
        if (fa >= 0) {
            f->focus_done[fa] += n;
            f->focus_part[fa] += p;
        }
    }
    sqlite3_reset(st);
    return true;
}

static void pack_json(msgpack_packer *pk, const char *insurer, int year, const figures_t *f)
{
    msgpack_pack_map(pk, 10);
    wh_msg_kv_str(pk, "insurer_id", insurer);
    wh_msg_kv_int(pk, "year", year);
    wh_msg_kv_int(pk, "agreements_active", f->active);
    wh_msg_kv_int(pk, "agreements_new", f->new_);
    wh_msg_kv_int(pk, "organizations", f->orgs);
    wh_msg_kv_int(pk, "employees_covered", f->employees);
    wh_msg_kv_int(pk, "activities_done", f->done);
    wh_msg_kv_int(pk, "participants", f->participants);
    wh_msg_pack_str(pk, "by_kind");
    msgpack_pack_array(pk, ACT_N_KINDS);
    for (int i = 0; i < ACT_N_KINDS; i++) {
        msgpack_pack_map(pk, 3);
        wh_msg_kv_str(pk, "kind", act_kind_names[i]);
        wh_msg_kv_int(pk, "activities_done", f->kind_done[i]);
        wh_msg_kv_int(pk, "participants", f->kind_part[i]);
    }
    wh_msg_pack_str(pk, "by_focus_area");
    msgpack_pack_array(pk, AGR_N_FOCUS);
    for (int i = 0; i < AGR_N_FOCUS; i++) {
        msgpack_pack_map(pk, 4);
        wh_msg_kv_str(pk, "focus_area", agr_focus_names[i]);
        wh_msg_kv_int(pk, "agreements", f->focus_agreements[i]);
        wh_msg_kv_int(pk, "activities_done", f->focus_done[i]);
        wh_msg_kv_int(pk, "participants", f->focus_part[i]);
    }
}

/* One row per measure: insurer_id,year,measure,dimension,key,value. Every
 * field is an id, a number or a fixed word, so none needs quoting. */
static void csv_row(wh_buf_t *b, const char *insurer, int year, const char *measure,
                    const char *dimension, const char *key, int64_t value)
{
    wh_buf_printf(b, "%s,%d,%s,%s,%s,%lld\r\n", insurer, year, measure, dimension, key,
                  (long long)value);
}

static void render_csv(wh_buf_t *b, const char *insurer, int year, const figures_t *f)
{
    wh_buf_puts(b, "insurer_id,year,measure,dimension,key,value\r\n");
    csv_row(b, insurer, year, "agreements_active", "", "", f->active);
    csv_row(b, insurer, year, "agreements_new", "", "", f->new_);
    csv_row(b, insurer, year, "organizations", "", "", f->orgs);
    csv_row(b, insurer, year, "employees_covered", "", "", f->employees);
    csv_row(b, insurer, year, "activities_done", "", "", f->done);
    csv_row(b, insurer, year, "participants", "", "", f->participants);
    for (int i = 0; i < ACT_N_KINDS; i++) {
        csv_row(b, insurer, year, "activities_done", "kind", act_kind_names[i], f->kind_done[i]);
        csv_row(b, insurer, year, "participants", "kind", act_kind_names[i], f->kind_part[i]);
    }
    for (int i = 0; i < AGR_N_FOCUS; i++) {
        csv_row(b, insurer, year, "agreements", "focus_area", agr_focus_names[i],
                f->focus_agreements[i]);
        csv_row(b, insurer, year, "activities_done", "focus_area", agr_focus_names[i],
                f->focus_done[i]);
        csv_row(b, insurer, year, "participants", "focus_area", agr_focus_names[i],
                f->focus_part[i]);
    }
}

/* True when the Accept header names text/csv (any parameters or quality);
 * everything else is answered in JSON. */
static bool wants_csv(wh_str_t accept)
{
    for (size_t i = 0; accept.p && i + 8 <= accept.n; i++)
        if (strncasecmp(accept.p + i, "text/csv", 8) == 0)
            return true;
    return false;
}

void report_prevention(wh_ctx_t *c)
{
    wh_str_t ins = wh_request_param(c->req, "insurer_id");
    wh_str_t yr = wh_request_param(c->req, "year");
    int year = 0;
    bool ok = true;
    if (!ins.p || ins.n == 0 || ins.n > WH_ID_LEN) {
        wh_reply_param(c->rep, "insurer_id", ins.p ? "is not an organisation id" : "is required");
        ok = false;
    }
    if (yr.p) {
        bool digits = yr.n == 4;
        for (size_t i = 0; digits && i < yr.n; i++) {
            digits = yr.p[i] >= '0' && yr.p[i] <= '9';
            year = year * 10 + (yr.p[i] - '0');
        }
        if (!digits || year < REPORT_MIN_YEAR || year > REPORT_MAX_YEAR) {
            wh_reply_param(c->rep, "year", "must be a year from %d to %d", REPORT_MIN_YEAR,
                           REPORT_MAX_YEAR);
            ok = false;
        }
    } else {
        int m, d;
        wh_date_civil(wh_clock_today(), &year, &m, &d);
    }
    if (!ok)
        return;
    char insurer[WH_ID_LEN + 1];
    snprintf(insurer, sizeof insurer, "%.*s", (int)ins.n, ins.p);
    /* The insurer must exist and be one the token covers; else 404. */
    static const char SQL_INSURER[] =
        "SELECT 1 FROM organizations WHERE id = ?1 AND kind = 'insurer'";
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_INSURER);
    wh_stmt_bind_text(st, 1, insurer);
    bool exists = st && sqlite3_step(st) == SQLITE_ROW;
    if (st)
        sqlite3_reset(st);
    if (!exists || !wh_request_has_org(c->req, ins)) {
        wh_ctx_not_found(c, "insurer");
        return;
    }
    figures_t f;
    if (!compute(c->store, insurer, year, &f)) {
        wh_reply_problem(c->rep, 500, "internal", "the report could not be computed");
        return;
    }
    if (wants_csv(c->req->accept)) {
        wh_buf_t b;
        wh_buf_init(&b);
        render_csv(&b, insurer, year, &f);
        if (wh_buf_failed(&b))
            wh_reply_problem(c->rep, 503, "unavailable", "out of memory");
        else
            wh_reply_raw(c->rep, 200, "text/csv; charset=utf-8; header=present", b.data, b.len);
        wh_buf_close(&b);
        return;
    }
    pack_json(wh_reply_ok(c->rep, 200), insurer, year, &f);
}
