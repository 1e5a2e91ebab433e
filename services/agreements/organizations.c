#include "organizations.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "id.h"
#include "list.h"
#include "outbox.h"

static const char *const org_kinds[] = {"employer", "insurer", NULL};
static const char *const org_fields[] = {"name", "kind", "employees", "region", "sector", NULL};

static const char SQL_ORG_INSERT[] =
    "INSERT INTO organizations(id, name, kind, employees, region, sector, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
#define ORG_COLUMNS "id, name, kind, employees, region, sector, version, created_at, updated_at"
static const char SQL_ORG_GET[] = "SELECT " ORG_COLUMNS " FROM organizations WHERE id = ?1";
/* ?3 is the principal's organisations as a JSON array, NULL for admins. */
static const char SQL_ORG_LIST[] = "SELECT " ORG_COLUMNS " FROM organizations"
                                   " WHERE (?1 IS NULL OR id > ?1)"
                                   "   AND (?3 IS NULL OR id IN (SELECT value FROM json_each(?3)))"
                                   "   AND (?4 IS NULL OR kind = ?4)"
                                   " ORDER BY id LIMIT ?2";
static const char SQL_ORG_UPDATE[] =
    "UPDATE organizations SET name = ?2, kind = ?3, employees = ?4, region = ?5, sector = ?6,"
    " version = version + 1, updated_at = ?7 WHERE id = ?1";

/* organization.created / .updated, in the transaction of the change. */
static int emit_org_event(wh_ctx_t *c, const char *type, const char *id, const char *name,
                          size_t name_len, const char *kind)
{
    wh_event_t ev;
    msgpack_packer *pk = wh_event_start(&ev, 3);
    wh_msg_kv_str(pk, "organization_id", id);
    wh_msg_kv_strn(pk, "name", name, name_len);
    wh_msg_kv_str(pk, "kind", kind);
    return wh_event_emit(&ev, c->store, type, id);
}

static void pack_org(msgpack_packer *pk, sqlite3_stmt *st)
{
    msgpack_pack_map(pk, 8);
    wh_stmt_kv_text(pk, "id", st, 0);
    wh_stmt_kv_text(pk, "name", st, 1);
    wh_stmt_kv_text(pk, "kind", st, 2);
    wh_msg_kv_int(pk, "employees", sqlite3_column_int64(st, 3));
    wh_stmt_kv_text(pk, "region", st, 4);
    wh_stmt_kv_text(pk, "sector", st, 5);
    wh_stmt_kv_text(pk, "created_at", st, 7);
    wh_stmt_kv_text(pk, "updated_at", st, 8);
}

static void etag_of(sqlite3_stmt *st, char *out, size_t cap)
{
    wh_str_t id = wh_stmt_col_str(st, 0);
    wh_etag_version(out, cap, id.p ? id.p : "", id.n, sqlite3_column_int64(st, 6));
}

/* Answers the organisation with this id (status 200 or 201), or false. */
static bool reply_org(wh_ctx_t *c, wh_str_t id, int status)
{
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_ORG_GET);
    wh_stmt_bind_str(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return false;
    etag_of(st, c->rep->etag, sizeof c->rep->etag);
    pack_org(wh_reply_ok(c->rep, status), st);
    return true;
}

/* Writes the organisation's row with sql (the insert or the update, ?1 the
 * id to ?7 the time), emits the event `type` in the same transaction and
 * answers status with the row as stored; false when a step failed. */
static bool write_org(wh_ctx_t *c, const char *sql, const char *type, const char *id, wh_str_t name,
                      int kind, int64_t employees, wh_str_t region, wh_str_t sector, int status)
{
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(c->store, sql);
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_str(st, 2, name);
    wh_stmt_bind_text(st, 3, org_kinds[kind]);
    sqlite3_bind_int64(st, 4, employees);
    wh_stmt_bind_str(st, 5, region);
    wh_stmt_bind_str(st, 6, sector);
    wh_stmt_bind_text(st, 7, now);
    return sqlite3_step(st) == SQLITE_DONE &&
           emit_org_event(c, type, id, name.p, name.n, org_kinds[kind]) == 0 &&
           reply_org(c, (wh_str_t){id, strlen(id)}, status);
}

void org_create(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, org_fields))
        return;
    wh_str_t name = {0}, region = {0}, sector = {0};
    int kind = 0;
    int64_t employees = 0;
    wh_valid_str(&v, "name", WH_V_REQUIRED, 1, ORG_MAX_NAME, &name);
    wh_valid_enum(&v, "kind", WH_V_REQUIRED, org_kinds, &kind);
    wh_valid_int(&v, "employees", WH_V_REQUIRED, 0, ORG_MAX_EMPLOYEES, &employees);
    wh_valid_str(&v, "region", WH_V_NULLABLE, 1, ORG_MAX_REGION, &region);
    wh_valid_str(&v, "sector", WH_V_NULLABLE, 1, ORG_MAX_SECTOR, &sector);
    if (wh_reply_invalid(c->rep))
        return;
    char id[WH_ID_LEN + 1];
    wh_id_new(id);
    if (!write_org(c, SQL_ORG_INSERT, "organization.created", id, name, kind, employees, region,
                   sector, 201))
        wh_reply_problem(c->rep, 500, "internal", "the organisation could not be stored");
}

void org_list(wh_ctx_t *c)
{
    wh_list_t list;
    bool ok = wh_list_start(&list, c->req, c->rep);
    int kind;
    ok = wh_param_enum(c->req, c->rep, "kind", org_kinds, "must be employer or insurer", &kind) &&
         ok;
    if (!ok)
        return;
    sqlite3_stmt *st = wh_list_query(&list, c, SQL_ORG_LIST);
    wh_stmt_bind_text(st, 4, wh_param_value(org_kinds, kind));
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 0)))
        pack_org(pk, st);
    wh_list_finish(&list, c->rep);
}

void org_get(wh_ctx_t *c)
{
    wh_str_t id = wh_request_param(c->req, "id");
    if (!wh_request_has_org(c->req, id) || !reply_org(c, id, 200))
        wh_ctx_not_found(c, "organization");
}

void org_patch(wh_ctx_t *c)
{
    wh_str_t id = wh_request_param(c->req, "id");
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_ORG_GET);
    wh_stmt_bind_str(st, 1, id);
    if (!wh_request_has_org(c->req, id) || sqlite3_step(st) != SQLITE_ROW) {
        wh_ctx_not_found(c, "organization");
        return;
    }
    char etag[80];
    etag_of(st, etag, sizeof etag);
    if (!wh_ctx_if_match(c, etag))
        return;
    /* JSON merge patch (RFC 7396): absent keeps, null clears, a value sets.
     * Copies are taken because the statement is reused below. */
    char name[4 * ORG_MAX_NAME + 1], region[4 * ORG_MAX_REGION + 1], sector[4 * ORG_MAX_SECTOR + 1];
    int kind = strcmp((const char *)sqlite3_column_text(st, 2), "insurer") == 0;
    int64_t employees = sqlite3_column_int64(st, 3);
    wh_stmt_col_copy(st, 1, name, sizeof name);
    wh_stmt_col_copy(st, 4, region, sizeof region);
    wh_stmt_col_copy(st, 5, sector, sizeof sector);
    bool has_region = sqlite3_column_type(st, 4) != SQLITE_NULL;
    bool has_sector = sqlite3_column_type(st, 5) != SQLITE_NULL;

    wh_valid_t v;
    if (!wh_ctx_body(c, &v, org_fields))
        return;
    wh_str_t x;
    if (wh_valid_str(&v, "name", 0, 1, ORG_MAX_NAME, &x) == WH_V_SET)
        snprintf(name, sizeof name, "%.*s", (int)x.n, x.p);
    int old_kind = kind;
    int64_t old_employees = employees;
    wh_valid_enum(&v, "kind", 0, org_kinds, &kind);
    wh_valid_int(&v, "employees", 0, 0, ORG_MAX_EMPLOYEES, &employees);
    wh_v_result_t rr = wh_valid_str(&v, "region", WH_V_NULLABLE, 1, ORG_MAX_REGION, &x);
    if (rr == WH_V_SET)
        snprintf(region, sizeof region, "%.*s", (int)x.n, x.p);
    if (rr == WH_V_SET || rr == WH_V_NULL)
        has_region = rr == WH_V_SET;
    wh_v_result_t sr = wh_valid_str(&v, "sector", WH_V_NULLABLE, 1, ORG_MAX_SECTOR, &x);
    if (sr == WH_V_SET)
        snprintf(sector, sizeof sector, "%.*s", (int)x.n, x.p);
    if (sr == WH_V_SET || sr == WH_V_NULL)
        has_sector = sr == WH_V_SET;
    if (wh_reply_invalid(c->rep))
        return;
    /* The kind decides who may name whom in an agreement, and employees
     * feeds the insurer's report: only the operator changes them. Sending
     * the current value back is no change and passes. */
    if (c->req->principal.role != WH_ROLE_ADMIN &&
        (kind != old_kind || employees != old_employees)) {
        wh_reply_problem(c->rep, 403, "forbidden",
                         "only an admin may change an organisation's kind or employees");
        return;
    }
    char idz[WH_ID_LEN + 1];
    snprintf(idz, sizeof idz, "%.*s", (int)id.n, id.p);
    wh_str_t none = {NULL, 0};
    if (!write_org(c, SQL_ORG_UPDATE, "organization.updated", idz, (wh_str_t){name, strlen(name)},
                   kind, employees, has_region ? (wh_str_t){region, strlen(region)} : none,
                   has_sector ? (wh_str_t){sector, strlen(sector)} : none, 200))
        wh_reply_problem(c->rep, 500, "internal", "the organisation could not be updated");
}
