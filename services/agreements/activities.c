#include "activities.h"

#include <stdio.h>
#include <string.h>

#include "agreements.h"
#include "list.h"

const char *const act_kind_names[] = {"health_day",
                                      "workshop",
                                      "course",
                                      "leadership_training",
                                      "survey",
                                      "sick_leave_analysis",
                                      "steering_group_meeting",
                                      "consultation",
                                      "other",
                                      NULL};
static const char *const statuses[] = {"planned", "done", "cancelled", NULL};
static const char *const fields[] = {"kind",   "title",        "focus_area", "planned_on",
                                     "status", "participants", NULL};

#define ACT_COLUMNS                                                                                \
    "id, agreement_id, kind, title, focus_area, planned_on, status, participants, version,"        \
    " created_at, updated_at"
static const char SQL_ACT_GET[] = "SELECT " ACT_COLUMNS " FROM activities WHERE id = ?1";
static const char SQL_ACT_INSERT[] =
    "INSERT INTO activities(id, agreement_id, kind, title, focus_area, planned_on, status,"
    " participants, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)";
static const char SQL_ACT_UPDATE[] =
    "UPDATE activities SET kind = ?3, title = ?4, focus_area = ?5, planned_on = ?6,"
    " status = ?7, participants = ?8, version = version + 1, updated_at = ?9"
    " WHERE id = ?1 AND agreement_id = ?2";
static const char SQL_ACT_LIST[] =
    "SELECT " ACT_COLUMNS " FROM activities WHERE agreement_id = ?1"
    " AND (?2 IS NULL OR id > ?2) AND (?4 IS NULL OR status = ?4) AND (?5 IS NULL OR kind = ?5)"
    " ORDER BY id LIMIT ?3";

typedef struct act {
    char id[WH_ID_LEN + 1], agreement_id[WH_ID_LEN + 1];
    int kind, status, focus; /* focus -1: none */
    char title[4 * AGR_MAX_TITLE + 1];
    int32_t planned_on;
    int64_t participants; /* -1: not given */
    int64_t version;
    char created_at[WH_RFC3339_LEN], updated_at[WH_RFC3339_LEN];
} act_t;

static void from_row(sqlite3_stmt *st, act_t *a)
{
    snprintf(a->id, sizeof a->id, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(a->agreement_id, sizeof a->agreement_id, "%s",
             (const char *)sqlite3_column_text(st, 1));
    a->kind = agr_name_index_str(act_kind_names, (const char *)sqlite3_column_text(st, 2));
    snprintf(a->title, sizeof a->title, "%s", (const char *)sqlite3_column_text(st, 3));
    a->focus = agr_name_index_str(agr_focus_names, (const char *)sqlite3_column_text(st, 4));
    a->planned_on = (int32_t)sqlite3_column_int64(st, 5);
    a->status = agr_name_index_str(statuses, (const char *)sqlite3_column_text(st, 6));
    a->participants = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 7);
    a->version = sqlite3_column_int64(st, 8);
    snprintf(a->created_at, sizeof a->created_at, "%s", (const char *)sqlite3_column_text(st, 9));
    snprintf(a->updated_at, sizeof a->updated_at, "%s", (const char *)sqlite3_column_text(st, 10));
}

static void pack(msgpack_packer *pk, const act_t *a)
{
    msgpack_pack_map(pk, 10);
    wh_msg_kv_str(pk, "id", a->id);
    wh_msg_kv_str(pk, "agreement_id", a->agreement_id);
    wh_msg_kv_str(pk, "kind", a->kind >= 0 ? act_kind_names[a->kind] : "other");
    wh_msg_kv_str(pk, "title", a->title);
    wh_msg_kv_str(pk, "focus_area", a->focus >= 0 ? agr_focus_names[a->focus] : NULL);
    char d[WH_DATE_LEN];
    wh_date_format(a->planned_on, d);
    wh_msg_kv_str(pk, "planned_on", d);
    wh_msg_kv_str(pk, "status", a->status >= 0 ? statuses[a->status] : "planned");
    if (a->participants >= 0)
        wh_msg_kv_int(pk, "participants", a->participants);
    else
        wh_msg_kv_nil(pk, "participants");
    wh_msg_kv_str(pk, "created_at", a->created_at);
    wh_msg_kv_str(pk, "updated_at", a->updated_at);
}

static void reply_act(wh_ctx_t *c, const act_t *a, int status)
{
    pack(wh_reply_ok(c->rep, status), a);
    wh_reply_etag(c->rep, "\"%s.%lld\"", a->id, (long long)a->version);
}

static bool load(wh_store_t *store, wh_str_t id, act_t *a)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ACT_GET);
    if (!st || !id.p)
        return false;
    wh_stmt_bind_str(st, 1, id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found)
        from_row(st, a);
    sqlite3_reset(st);
    return found;
}

/* The activity named by {id} when its agreement is visible; else 404. */
static bool load_visible(wh_ctx_t *c, act_t *a)
{
    agr_t g;
    agr_init(&g);
    bool ok = load(c->store, wh_request_param(c->req, "id"), a) &&
              agr_load(c->store, (wh_str_t){a->agreement_id, strlen(a->agreement_id)}, &g) &&
              agr_visible(c->req, &g);
    agr_close(&g);
    if (!ok)
        wh_ctx_not_found(c, "activity");
    return ok;
}

/* Reads the body into a; required fields only on create. */
static void read_fields(wh_valid_t *v, act_t *a, bool create)
{
    unsigned req = create ? WH_V_REQUIRED : 0;
    wh_str_t s;
    wh_valid_enum(v, "kind", req, act_kind_names, &a->kind);
    if (wh_valid_str(v, "title", req, 1, AGR_MAX_TITLE, &s) == WH_V_SET)
        snprintf(a->title, sizeof a->title, "%.*s", (int)s.n, s.p);
    if (wh_valid_enum(v, "focus_area", WH_V_NULLABLE, agr_focus_names, &a->focus) == WH_V_NULL)
        a->focus = -1;
    wh_valid_date(v, "planned_on", req, &a->planned_on);
    wh_valid_enum(v, "status", 0, statuses, &a->status);
    int64_t p;
    wh_v_result_t r = wh_valid_int(v, "participants", WH_V_NULLABLE, 0, ACT_MAX_PARTICIPANTS, &p);
    if (r == WH_V_SET || r == WH_V_NULL)
        a->participants = r == WH_V_SET ? p : -1;
}

static void bind_act(sqlite3_stmt *st, const act_t *a, const char *now)
{
    wh_stmt_bind_text(st, 1, a->id);
    wh_stmt_bind_text(st, 2, a->agreement_id);
    wh_stmt_bind_text(st, 3, act_kind_names[a->kind]);
    wh_stmt_bind_text(st, 4, a->title);
    wh_stmt_bind_text(st, 5, a->focus >= 0 ? agr_focus_names[a->focus] : NULL);
    sqlite3_bind_int64(st, 6, a->planned_on);
    wh_stmt_bind_text(st, 7, statuses[a->status]);
    if (a->participants >= 0)
        sqlite3_bind_int64(st, 8, a->participants);
    else
        sqlite3_bind_null(st, 8);
    wh_stmt_bind_text(st, 9, now);
}

void act_create(wh_ctx_t *c)
{
    agr_t g;
    agr_init(&g);
    wh_valid_t v;
    if (!agr_load_visible(c, &g) || !wh_ctx_body(c, &v, fields))
        goto done;
    act_t a = {.focus = -1, .participants = -1, .status = 0, .version = 1};
    read_fields(&v, &a, true);
    if (wh_reply_invalid(c->rep))
        goto done;
    wh_id_new(a.id);
    memcpy(a.agreement_id, g.id, sizeof a.agreement_id);
    wh_clock_format_rfc3339(wh_clock_now_ms(), a.created_at);
    memcpy(a.updated_at, a.created_at, sizeof a.updated_at);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_ACT_INSERT);
    if (!st) {
        wh_reply_problem(c->rep, 500, "internal", "the activity could not be stored");
        goto done;
    }
    bind_act(st, &a, a.created_at);
    if (sqlite3_step(st) != SQLITE_DONE) {
        wh_reply_problem(c->rep, 500, "internal", "the activity could not be stored");
        goto done;
    }
    reply_act(c, &a, 201);
done:
    agr_close(&g);
}

void act_list(wh_ctx_t *c)
{
    agr_t g;
    agr_init(&g);
    wh_page_t page;
    bool ok = wh_valid_page(c->req, c->rep, &page);
    wh_str_t status = wh_request_param(c->req, "status");
    wh_str_t kind = wh_request_param(c->req, "kind");
    char buf[64];
    if (status.p && (snprintf(buf, sizeof buf, "%.*s", (int)status.n, status.p),
                     agr_name_index_str(statuses, buf) < 0)) {
        wh_reply_param(c->rep, "status", "must be one of planned, done, cancelled");
        ok = false;
    }
    if (kind.p && (snprintf(buf, sizeof buf, "%.*s", (int)kind.n, kind.p),
                   agr_name_index_str(act_kind_names, buf) < 0)) {
        wh_reply_param(c->rep, "kind", "is not a known kind of activity");
        ok = false;
    }
    if (!ok || !agr_load_visible(c, &g)) {
        agr_close(&g);
        return;
    }
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_ACT_LIST);
    wh_stmt_bind_text(st, 1, g.id);
    wh_stmt_bind_str(st, 2, page.cursor);
    sqlite3_bind_int64(st, 3, page.limit + 1);
    wh_stmt_bind_str(st, 4, status);
    wh_stmt_bind_str(st, 5, kind);
    wh_list_t list;
    wh_list_init(&list, page.limit);
    msgpack_packer *pk;
    act_t a;
    while (sqlite3_step(st) == SQLITE_ROW &&
           (pk = wh_list_row(&list, (const char *)sqlite3_column_text(st, 0)))) {
        from_row(st, &a);
        pack(pk, &a);
    }
    wh_list_finish(&list, c->rep);
    agr_close(&g);
}

void act_get(wh_ctx_t *c)
{
    act_t a;
    if (load_visible(c, &a))
        reply_act(c, &a, 200);
}

void act_patch(wh_ctx_t *c)
{
    act_t a;
    if (!load_visible(c, &a))
        return;
    char etag[80];
    snprintf(etag, sizeof etag, "\"%s.%lld\"", a.id, (long long)a.version);
    wh_valid_t v;
    if (!wh_ctx_if_match(c, etag) || !wh_ctx_body(c, &v, fields))
        return;
    read_fields(&v, &a, false);
    if (wh_reply_invalid(c->rep))
        return;
    wh_clock_format_rfc3339(wh_clock_now_ms(), a.updated_at);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_ACT_UPDATE);
    if (!st) {
        wh_reply_problem(c->rep, 500, "internal", "the activity could not be updated");
        return;
    }
    bind_act(st, &a, a.updated_at);
    if (sqlite3_step(st) != SQLITE_DONE) {
        wh_reply_problem(c->rep, 500, "internal", "the activity could not be updated");
        return;
    }
    a.version++;
    reply_act(c, &a, 200);
}
