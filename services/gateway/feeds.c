#include "feeds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "id.h"
#include "list.h"

static const char SQL_FEED_INSERT[] =
    "INSERT INTO calendar_feeds(id, hash, token_id, org_list, label, created_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_FEED_COUNT[] =
    "SELECT count(*) FROM calendar_feeds WHERE token_id = ?1 AND revoked_ms IS NULL";
/* A feed works only while its token does. */
static const char SQL_FEED_BY_HASH[] =
    "SELECT t.id, t.role, f.org_list FROM calendar_feeds f JOIN tokens t ON t.id = f.token_id"
    " WHERE f.hash = ?1 AND f.revoked_ms IS NULL AND t.revoked_ms IS NULL"
    " AND (t.expires_ms IS NULL OR t.expires_ms > ?2)";
static const char SQL_FEED_LIST[] =
    "SELECT id, org_list, label, created_ms FROM calendar_feeds"
    " WHERE revoked_ms IS NULL AND (?1 IS NULL OR id > ?1) AND (?3 IS NULL OR token_id = ?3)"
    " ORDER BY id LIMIT ?2";
static const char SQL_FEED_REVOKE[] =
    "UPDATE calendar_feeds SET revoked_ms = ?2"
    " WHERE id = ?1 AND revoked_ms IS NULL AND (?3 IS NULL OR token_id = ?3)";

static char public_url[FEEDS_MAX_URL / 2];

int feeds_init(const char *url)
{
    size_t n = url ? strlen(url) : 0;
    if (n >= sizeof public_url)
        return WH_ELIMIT;
    while (n > 0 && url[n - 1] == '/')
        n--;
    memcpy(public_url, url ? url : "", n);
    public_url[n] = '\0';
    return 0;
}

static void split_orgs(principal_t *p)
{
    size_t count = *p->org_list ? 1 : 0;
    for (const char *c = p->org_list; *c; c++)
        count += *c == ',';
    p->orgs = calloc(count ? count : 1, sizeof *p->orgs);
    if (!p->orgs)
        return;
    char *save = NULL;
    for (char *t = strtok_r(p->org_list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        p->orgs[p->n_orgs++] = t;
}

int feeds_resolve(wh_store_t *store, const char *secret, principal_t *p)
{
    memset(p, 0, sizeof *p);
    size_t n = strlen(secret);
    if (n >= FEEDS_MAX_SECRET_BYTES || strncmp(secret, FEEDS_SECRET_PREFIX, 4) != 0)
        return WH_ENOTFOUND;
    char hash[65];
    wh_sha256_hex(secret, n, hash);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_FEED_BY_HASH);
    if (!st)
        return WH_ENOTFOUND;
    wh_stmt_bind_text(st, 1, hash);
    sqlite3_bind_int64(st, 2, wh_clock_now_ms());
    if (sqlite3_step(st) != SQLITE_ROW)
        return WH_ENOTFOUND;
    wh_str_t role = wh_stmt_col_str(st, 1);
    const char *list = (const char *)sqlite3_column_text(st, 2);
    snprintf(p->token_id, sizeof p->token_id, "%s", (const char *)sqlite3_column_text(st, 0));
    p->role = wh_role_parse(role.p, role.n);
    /* An admin's feed narrowed to some organisations must not read with the
     * admin role, which the services take for every organisation; it reads
     * as the gateway itself on the feed's behalf, scoped to its list. */
    if (p->role == WH_ROLE_ADMIN && list && *list)
        p->role = WH_ROLE_SERVICE;
    p->org_list = strdup(list ? list : "");
    if (p->org_list)
        split_orgs(p);
    if (!p->org_list || !p->orgs) {
        auth_principal_close(p);
        return WH_ENOMEM;
    }
    return 0;
}

static const char *const feed_fields[] = {"label", "org_ids", NULL};

static bool covers(const msgpack_object *orgs, wh_str_t id)
{
    for (uint32_t i = 0; orgs && orgs->type == MSGPACK_OBJECT_ARRAY && i < orgs->via.array.size;
         i++) {
        wh_str_t o = wh_msg_str(&orgs->via.array.ptr[i]);
        if (o.p && o.n == id.n && memcmp(o.p, id.p, id.n) == 0)
            return true;
    }
    return false;
}

/* The caller's token id, or NULL for an admin, who sees every feed. */
static const char *owner_filter(const wh_ctx_t *c)
{
    return c->req->principal.role == WH_ROLE_ADMIN ? NULL : c->req->principal.token_id;
}

void feeds_create(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, feed_fields))
        return;
    const wh_principal_t *who = &c->req->principal;
    bool admin = who->role == WH_ROLE_ADMIN;
    wh_str_t label = {0};
    const msgpack_object *orgs = NULL;
    wh_valid_str(&v, "label", WH_V_REQUIRED, 1, FEEDS_MAX_LABEL, &label);
    wh_valid_array(&v, "org_ids", 0, WH_ENV_MAX_ORGS, &orgs);
    wh_buf_t list;
    wh_buf_init(&list);
    if (orgs) {
        for (uint32_t i = 0; i < orgs->via.array.size; i++) {
            wh_str_t id = wh_msg_str(&orgs->via.array.ptr[i]);
            char ptr[32];
            snprintf(ptr, sizeof ptr, "/org_ids/%u", i);
            if (!id.p || !wh_id_valid(id.p, id.n)) {
                wh_reply_field(c->rep, ptr, "must be an organization id");
                continue;
            }
            if (!admin && !covers(who->orgs, id)) {
                wh_reply_field(c->rep, ptr, "must be an organization this token covers");
                continue;
            }
            if (list.len)
                wh_buf_putc(&list, ',');
            wh_buf_append(&list, id.p, id.n);
        }
        if (orgs->via.array.size == 0 && !admin)
            wh_reply_field(c->rep, "/org_ids", "must name at least one organization");
    } else if (!admin) {
        /* Without org_ids, everything the token covers. */
        for (uint32_t i = 0; who->orgs && i < who->orgs->via.array.size; i++) {
            wh_str_t id = wh_msg_str(&who->orgs->via.array.ptr[i]);
            if (list.len)
                wh_buf_putc(&list, ',');
            wh_buf_append(&list, id.p ? id.p : "", id.p ? id.n : 0);
        }
    }
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_FEED_COUNT);
    wh_stmt_bind_text(st, 1, who->token_id);
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) >= FEEDS_MAX_PER_TOKEN)
        wh_reply_field(c->rep, "", "this token already has the most calendar feeds it may hold");
    if (wh_reply_invalid(c->rep) || wh_buf_failed(&list)) {
        if (!wh_reply_invalid(c->rep))
            wh_reply_problem(c->rep, 503, "unavailable", "out of memory");
        wh_buf_close(&list);
        return;
    }
    const char *org_list = list.data ? list.data : "";
    char id[WH_ID_LEN + 1], secret[FEEDS_MAX_SECRET_BYTES], hash[65];
    char lbl[4 * FEEDS_MAX_LABEL + 1], url[FEEDS_MAX_URL];
    unsigned char raw[32];
    wh_random_bytes(raw, sizeof raw);
    memcpy(secret, FEEDS_SECRET_PREFIX, 4);
    wh_base64url(raw, sizeof raw, secret + 4);
    explicit_bzero(raw, sizeof raw);
    wh_sha256_hex(secret, strlen(secret), hash);
    wh_id_new(id);
    snprintf(lbl, sizeof lbl, "%.*s", (int)label.n, label.p);
    int64_t now_ms = wh_clock_now_ms();
    st = wh_store_stmt(c->store, SQL_FEED_INSERT);
    int rc = WH_ESTORE;
    if (st) {
        wh_stmt_bind_text(st, 1, id);
        wh_stmt_bind_text(st, 2, hash);
        wh_stmt_bind_text(st, 3, who->token_id);
        wh_stmt_bind_text(st, 4, org_list);
        wh_stmt_bind_text(st, 5, lbl);
        sqlite3_bind_int64(st, 6, now_ms);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
    }
    if (rc != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the feed could not be stored");
        explicit_bzero(secret, sizeof secret);
        wh_buf_close(&list);
        return;
    }
    snprintf(url, sizeof url, "%s/v1/agreements/calendar.ics?feed=%s", public_url, secret);
    msgpack_packer *pk = wh_reply_ok(c->rep, 201);
    wh_reply_secret(c->rep);
    msgpack_pack_map(pk, 5);
    wh_msg_kv_str(pk, "id", id);
    wh_msg_kv_str(pk, "label", lbl);
    wh_msg_pack_str(pk, "org_ids");
    wh_msg_pack_csv(pk, org_list);
    char t[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(now_ms, t);
    wh_msg_kv_str(pk, "created_at", t);
    wh_msg_kv_str(pk, "url", url);
    explicit_bzero(secret, sizeof secret);
    explicit_bzero(url, sizeof url);
    wh_buf_close(&list);
}

void feeds_list(wh_ctx_t *c)
{
    wh_page_t page;
    if (!wh_valid_page(c->req, c->rep, &page))
        return;
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_FEED_LIST);
    wh_stmt_bind_str(st, 1, page.cursor);
    sqlite3_bind_int64(st, 2, page.limit + 1);
    const char *owner = owner_filter(c);
    if (owner)
        wh_stmt_bind_text(st, 3, owner);
    wh_list_t list;
    wh_list_init(&list, page.limit);
    msgpack_packer *pk;
    while (sqlite3_step(st) == SQLITE_ROW &&
           (pk = wh_list_row(&list, (const char *)sqlite3_column_text(st, 0)))) {
        msgpack_pack_map(pk, 4);
        wh_msg_pack_str(pk, "id");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 0));
        wh_msg_pack_str(pk, "label");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 2));
        wh_msg_pack_str(pk, "org_ids");
        wh_msg_pack_csv(pk, (const char *)sqlite3_column_text(st, 1));
        char t[WH_RFC3339_LEN];
        wh_clock_format_rfc3339(sqlite3_column_int64(st, 3), t);
        wh_msg_kv_str(pk, "created_at", t);
    }
    wh_list_finish(&list, c->rep);
}

void feeds_delete(wh_ctx_t *c)
{
    wh_str_t id = wh_request_param(c->req, "id");
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_FEED_REVOKE);
    wh_stmt_bind_str(st, 1, id);
    sqlite3_bind_int64(st, 2, wh_clock_now_ms());
    const char *owner = owner_filter(c);
    if (owner)
        wh_stmt_bind_text(st, 3, owner);
    if (!st || sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(wh_store_db(c->store)) == 0) {
        wh_ctx_not_found(c, "calendar feed");
        return;
    }
    wh_reply_empty(c->rep, 204);
}
