#include "networks.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "list.h"
#include "log.h"

static const char *const create_fields[] = {"name", "description", NULL};
static const char *const template_fields[] = {"title", "languages", "dimensions", "questions",
                                              NULL};

static const char SQL_NETWORK_INSERT[] =
    "INSERT INTO networks(id, name, description, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?4)";
static const char SQL_NETWORK_GET[] =
    "SELECT id, name, description, version, created_at, updated_at FROM networks WHERE id = ?1";
/* ?3 is the principal's organisations as a JSON array, NULL for admins. */
static const char SQL_NETWORK_LIST[] =
    "SELECT id, name, description, version, created_at, updated_at FROM networks n"
    " WHERE (?1 IS NULL OR id > ?1)"
    "   AND (?3 IS NULL OR EXISTS (SELECT 1 FROM network_members m"
    "        WHERE m.network_id = n.id AND m.org_id IN (SELECT value FROM json_each(?3))))"
    " ORDER BY id LIMIT ?2";
static const char SQL_VISIBLE[] = "SELECT 1 FROM network_members WHERE network_id = ?1"
                                  " AND org_id IN (SELECT value FROM json_each(?2)) LIMIT 1";
static const char SQL_MEMBERS[] =
    "SELECT org_id FROM network_members WHERE network_id = ?1 ORDER BY org_id";
static const char SQL_MEMBER_COUNT[] = "SELECT count(*) FROM network_members WHERE network_id = ?1";
static const char SQL_MEMBER_HAS[] =
    "SELECT 1 FROM network_members WHERE network_id = ?1 AND org_id = ?2";
static const char SQL_MEMBER_INSERT[] =
    "INSERT INTO network_members(network_id, org_id, added_at) VALUES (?1, ?2, ?3)";
static const char SQL_MEMBER_DELETE[] =
    "DELETE FROM network_members WHERE network_id = ?1 AND org_id = ?2";
static const char SQL_NETWORK_TOUCH[] =
    "UPDATE networks SET version = version + 1, updated_at = ?2 WHERE id = ?1";
static const char SQL_TEMPLATE_COUNT[] =
    "SELECT count(*) FROM network_templates WHERE network_id = ?1";
static const char SQL_TEMPLATE_INSERT[] =
    "INSERT INTO network_templates(id, network_id, title, definition, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_TEMPLATE_GET[] =
    "SELECT id, network_id, title, definition, created_at FROM network_templates WHERE id = ?1";
static const char SQL_TEMPLATE_LIST[] =
    "SELECT id, network_id, title, definition, created_at FROM network_templates"
    " WHERE (?1 IS NULL OR id > ?1) AND network_id = ?3 ORDER BY id LIMIT ?2";

static int64_t count_of(wh_store_t *store, const char *sql, const char *id)
{
    sqlite3_stmt *st = wh_store_stmt(store, sql);
    if (!st)
        return -1;
    wh_stmt_bind_text(st, 1, id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

bool network_has_member(wh_store_t *store, const char *network_id, wh_str_t org)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_MEMBER_HAS);
    if (!st)
        return false;
    wh_stmt_bind_text(st, 1, network_id);
    wh_stmt_bind_str(st, 2, org);
    bool has = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return has;
}

bool network_visible(wh_store_t *store, const wh_request_t *req, const char *network_id)
{
    if (req->principal.role == WH_ROLE_ADMIN)
        return true;
    sqlite3_stmt *st = wh_store_stmt(store, SQL_VISIBLE);
    if (!st)
        return false;
    wh_stmt_bind_text(st, 1, network_id);
    wh_request_bind_scope(st, 2, req);
    bool visible = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return visible;
}

bool network_load_scoped(wh_ctx_t *c, char id_out[WH_ID_LEN + 1])
{
    wh_str_t id = wh_request_param(c->req, "id");
    if (!id.p || !wh_id_valid(id.p, id.n)) {
        wh_ctx_not_found(c, "network");
        return false;
    }
    snprintf(id_out, WH_ID_LEN + 1, "%.*s", (int)id.n, id.p);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_NETWORK_GET);
    if (!st) {
        wh_reply_problem(c->rep, 500, "internal", "the network could not be read");
        return false;
    }
    wh_stmt_bind_text(st, 1, id_out);
    bool exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    if (!exists || !network_visible(c->store, c->req, id_out)) {
        wh_ctx_not_found(c, "network");
        return false;
    }
    return true;
}

/* {id, name, description, members: [org_id...], created_at, updated_at}
 * from a row of SQL_NETWORK_GET / SQL_NETWORK_LIST. Members are at most
 * NET_MAX_MEMBERS. */
static void pack_network(msgpack_packer *pk, wh_store_t *store, sqlite3_stmt *row)
{
    char id[WH_ID_LEN + 1];
    wh_stmt_col_copy(row, 0, id, sizeof id);
    msgpack_pack_map(pk, 6);
    wh_stmt_kv_text(pk, "id", row, 0);
    wh_stmt_kv_text(pk, "name", row, 1);
    wh_stmt_kv_text(pk, "description", row, 2);
    wh_stmt_kv_text(pk, "created_at", row, 4);
    wh_stmt_kv_text(pk, "updated_at", row, 5);
    int64_t n = count_of(store, SQL_MEMBER_COUNT, id);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_MEMBERS);
    wh_msg_pack_str(pk, "members");
    msgpack_pack_array(pk, n > 0 ? (uint32_t)n : 0);
    wh_stmt_bind_text(st, 1, id);
    for (int64_t i = 0; i < n; i++) {
        if (st && sqlite3_step(st) == SQLITE_ROW)
            wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 0));
        else
            wh_msg_pack_str(pk, "");
    }
    if (st)
        sqlite3_reset(st);
}

static void reply_network(wh_ctx_t *c, const char *id, int status)
{
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_NETWORK_GET);
    wh_stmt_bind_text(st, 1, id);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        if (st)
            sqlite3_reset(st);
        wh_reply_problem(c->rep, 500, "internal", "the network could not be read back");
        return;
    }
    msgpack_packer *pk = wh_reply_ok(c->rep, status);
    pack_network(pk, c->store, st);
    wh_reply_etag(c->rep, "\"%s.%lld\"", id, (long long)sqlite3_column_int64(st, 3));
    sqlite3_reset(st);
}

void network_create(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, create_fields))
        return;
    wh_str_t name = {0}, description = {0};
    wh_valid_str(&v, "name", WH_V_REQUIRED, 1, NET_MAX_NAME, &name);
    wh_valid_str(&v, "description", WH_V_MULTILINE, 0, NET_MAX_DESCRIPTION, &description);
    if (wh_reply_invalid(c->rep))
        return;
    char id[WH_ID_LEN + 1], now[WH_RFC3339_LEN];
    wh_id_new(id);
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_NETWORK_INSERT);
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_str(st, 2, name);
    wh_stmt_bind_str(st, 3, description.p ? description : wh_cstr(""));
    wh_stmt_bind_text(st, 4, now);
    if (!st || sqlite3_step(st) != SQLITE_DONE) {
        wh_reply_problem(c->rep, 500, "internal", "the network could not be stored");
        return;
    }
    reply_network(c, id, 201);
}

void network_list(wh_ctx_t *c)
{
    wh_list_t list;
    if (!wh_list_start(&list, c->req, c->rep))
        return;
    sqlite3_stmt *st = wh_list_query(&list, c, SQL_NETWORK_LIST);
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 0)))
        pack_network(pk, c->store, st);
    wh_list_finish(&list, c->rep);
}

void network_get(wh_ctx_t *c)
{
    char id[WH_ID_LEN + 1];
    if (network_load_scoped(c, id))
        reply_network(c, id, 200);
}

/* The path's {org_id}; false after a 422 when it is not an id. */
static bool member_param(wh_ctx_t *c, wh_str_t *org)
{
    *org = wh_request_param(c->req, "org_id");
    if (org->p && wh_id_valid(org->p, org->n))
        return true;
    wh_reply_param(c->rep, "org_id", "must be an organisation id");
    wh_reply_invalid(c->rep);
    return false;
}

static bool touch(wh_ctx_t *c, const char *id)
{
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_NETWORK_TOUCH);
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_text(st, 2, now);
    return st && sqlite3_step(st) == SQLITE_DONE;
}

/* Adding a member that is one already changes nothing and answers the
 * network as it is, so that a retried request is harmless. A benchmark
 * already published keeps the members it was published with. */
void network_member_add(wh_ctx_t *c)
{
    char id[WH_ID_LEN + 1];
    wh_str_t org;
    if (!network_load_scoped(c, id) || !member_param(c, &org))
        return;
    if (network_has_member(c->store, id, org)) {
        reply_network(c, id, 200);
        return;
    }
    int64_t n = count_of(c->store, SQL_MEMBER_COUNT, id);
    if (n >= NET_MAX_MEMBERS) {
        wh_reply_problem(c->rep, 422, "limit", "a network has at most %d members (NET_MAX_MEMBERS)",
                         NET_MAX_MEMBERS);
        return;
    }
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_MEMBER_INSERT);
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_str(st, 2, org);
    wh_stmt_bind_text(st, 3, now);
    if (n < 0 || !st || sqlite3_step(st) != SQLITE_DONE || !touch(c, id)) {
        wh_reply_problem(c->rep, 500, "internal", "the member could not be added");
        return;
    }
    reply_network(c, id, 200);
}

void network_member_remove(wh_ctx_t *c)
{
    char id[WH_ID_LEN + 1];
    wh_str_t org;
    if (!network_load_scoped(c, id) || !member_param(c, &org))
        return;
    if (!network_has_member(c->store, id, org)) {
        wh_reply_problem(c->rep, 404, "not-found", "the organisation is not a member");
        return;
    }
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_MEMBER_DELETE);
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_str(st, 2, org);
    if (!st || sqlite3_step(st) != SQLITE_DONE || !touch(c, id)) {
        wh_reply_problem(c->rep, 500, "internal", "the member could not be removed");
        return;
    }
    wh_reply_empty(c->rep, 204);
}

/* {id, network_id, title, languages, dimensions, questions, created_at}
 * from a row of SQL_TEMPLATE_GET / SQL_TEMPLATE_LIST; the definition is
 * packed as stored (a map of the four definition fields, units empty). */
static void pack_template(msgpack_packer *pk, sqlite3_stmt *row)
{
    survey_def_t def;
    bool ok =
        def_load(&def, sqlite3_column_blob(row, 3), (size_t)sqlite3_column_bytes(row, 3)) == 0;
    uint32_t n_def = 0;
    if (ok)
        for (uint32_t i = 0; i < def.msg->root->via.map.size; i++)
            n_def += !wh_msg_str_eq(&def.msg->root->via.map.ptr[i].key, "units");
    msgpack_pack_map(pk, 4 + n_def);
    wh_stmt_kv_text(pk, "id", row, 0);
    wh_stmt_kv_text(pk, "network_id", row, 1);
    wh_stmt_kv_text(pk, "title", row, 2);
    wh_stmt_kv_text(pk, "created_at", row, 4);
    if (!ok)
        return;
    for (uint32_t i = 0; i < def.msg->root->via.map.size; i++) {
        const msgpack_object_kv *kv = &def.msg->root->via.map.ptr[i];
        if (wh_msg_str_eq(&kv->key, "units"))
            continue;
        wh_msg_pack_obj(pk, &kv->key);
        wh_msg_pack_obj(pk, &kv->val);
    }
    def_close(&def);
}

void network_template_create(wh_ctx_t *c)
{
    char id[WH_ID_LEN + 1];
    if (!network_load_scoped(c, id))
        return;
    /* A coordinator adds templates for the networks its organisations
     * belong to; visibility is the same test. */
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, template_fields))
        return;
    wh_str_t title = {0};
    wh_valid_str(&v, "title", WH_V_REQUIRED, 1, NET_MAX_TITLE, &title);
    const msgpack_object *body = c->req->body;
    survey_def_t def;
    bool def_ok = def_parse(&def, wh_msg_get(body, "languages"), wh_msg_get(body, "dimensions"),
                            wh_msg_get(body, "questions"), NULL, c->rep);
    if (wh_reply_invalid(c->rep) || !def_ok) {
        if (def_ok)
            def_close(&def);
        return;
    }
    int64_t n = count_of(c->store, SQL_TEMPLATE_COUNT, id);
    if (n >= NET_MAX_TEMPLATES) {
        def_close(&def);
        wh_reply_problem(c->rep, 422, "limit",
                         "a network has at most %d templates (NET_MAX_TEMPLATES)",
                         NET_MAX_TEMPLATES);
        return;
    }
    wh_buf_t blob;
    wh_buf_init(&blob);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &blob);
    def_pack(&def, &pk);
    def_close(&def);
    char tid[WH_ID_LEN + 1], now[WH_RFC3339_LEN];
    wh_id_new(tid);
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_TEMPLATE_INSERT);
    wh_stmt_bind_text(st, 1, tid);
    wh_stmt_bind_text(st, 2, id);
    wh_stmt_bind_str(st, 3, title);
    if (st)
        sqlite3_bind_blob(st, 4, blob.data, (int)blob.len, SQLITE_TRANSIENT);
    wh_stmt_bind_text(st, 5, now);
    int rc = !st || n < 0 || wh_buf_failed(&blob) ? SQLITE_ERROR : sqlite3_step(st);
    wh_buf_close(&blob);
    if (rc != SQLITE_DONE) {
        wh_reply_problem(c->rep, 500, "internal", "the template could not be stored");
        return;
    }
    st = wh_store_stmt(c->store, SQL_TEMPLATE_GET);
    wh_stmt_bind_text(st, 1, tid);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        if (st)
            sqlite3_reset(st);
        wh_reply_problem(c->rep, 500, "internal", "the template could not be read back");
        return;
    }
    pack_template(wh_reply_ok(c->rep, 201), st);
    sqlite3_reset(st);
}

void network_template_list(wh_ctx_t *c)
{
    char id[WH_ID_LEN + 1];
    if (!network_load_scoped(c, id))
        return;
    wh_list_t list;
    if (!wh_list_start(&list, c->req, c->rep))
        return;
    sqlite3_stmt *st = wh_list_query(&list, c, SQL_TEMPLATE_LIST);
    wh_stmt_bind_text(st, 3, id); /* the network, not a tenant scope */
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 0)))
        pack_template(pk, st);
    wh_list_finish(&list, c->rep);
}

bool network_template_def(wh_ctx_t *c, wh_str_t template_id, wh_str_t org, survey_def_t *tdef,
                          survey_def_t *def)
{
    memset(tdef, 0, sizeof *tdef);
    const msgpack_object *body = c->req->body;
    static const char *const own[] = {"languages", "dimensions", "questions"};
    bool ok = true;
    for (int i = 0; i < 3; i++)
        if (wh_msg_get(body, own[i])) {
            wh_reply_field(c->rep,
                           i == 0   ? "/languages"
                           : i == 1 ? "/dimensions"
                                    : "/questions",
                           "comes from the template; leave it out");
            ok = false;
        }
    /* Unknown, and known but of a network the organisation is not in, are
     * one answer: template ids of other networks cannot be probed. */
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_TEMPLATE_GET);
    if (!st) {
        wh_reply_problem(c->rep, 500, "internal", "the template could not be read");
        return false;
    }
    wh_stmt_bind_str(st, 1, template_id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        char network_id[WH_ID_LEN + 1];
        wh_stmt_col_copy(st, 1, network_id, sizeof network_id);
        found =
            network_has_member(c->store, network_id, org) &&
            def_load(tdef, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3)) == 0;
    }
    sqlite3_reset(st);
    if (!found) {
        wh_reply_field(c->rep, "/template_id",
                       "is not a template of a network the organisation belongs to");
        return false;
    }
    const msgpack_object *root = tdef->msg->root;
    if (ok)
        ok = def_parse(def, wh_msg_get(root, "languages"), wh_msg_get(root, "dimensions"),
                       wh_msg_get(root, "questions"), wh_msg_get(body, "units"), c->rep);
    if (!ok)
        def_close(tdef);
    return ok;
}
