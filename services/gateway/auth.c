#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "hset.h"
#include "id.h"
#include "list.h"
#include "log.h"

const char *const gateway_migrations[] = {
    /* 1: tokens, stored as hashes. org_list is comma-separated ids. */
    "CREATE TABLE tokens ("
    " id TEXT PRIMARY KEY,"
    " hash TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL,"
    " org_list TEXT NOT NULL,"
    " label TEXT NOT NULL,"
    " expires_ms INTEGER,"
    " created_ms INTEGER NOT NULL,"
    " revoked_ms INTEGER,"
    " bootstrap INTEGER NOT NULL DEFAULT 0);",
    /* 2: calendar feeds (feeds.h), stored as hashes of their secrets, each
     * valid only while the token it names is. */
    "CREATE TABLE calendar_feeds ("
    " id TEXT PRIMARY KEY,"
    " hash TEXT NOT NULL UNIQUE,"
    " token_id TEXT NOT NULL,"
    " org_list TEXT NOT NULL,"
    " label TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " revoked_ms INTEGER);"
    "CREATE INDEX calendar_feeds_by_token ON calendar_feeds(token_id);",
    /* 3: the console's sessions (console.h), stored as hashes of their
     * secrets, each valid only while its token is; a session that ends is
     * deleted. */
    "CREATE TABLE sessions ("
    " id TEXT PRIMARY KEY,"
    " hash TEXT NOT NULL UNIQUE,"
    " token_id TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " last_ms INTEGER NOT NULL);"
    "CREATE INDEX sessions_by_token ON sessions(token_id, created_ms);",
};
const int gateway_n_migrations = sizeof gateway_migrations / sizeof gateway_migrations[0];

static const char SQL_TOKEN_BY_HASH[] = "SELECT id, hash, role, org_list, expires_ms FROM tokens"
                                        " WHERE hash = ?1 AND revoked_ms IS NULL";
static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO tokens(id, hash, role, org_list, label, expires_ms, created_ms, bootstrap)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_TOKEN_BOOTSTRAP_DROP[] =
    "UPDATE tokens SET revoked_ms = ?2 WHERE bootstrap = 1 AND hash <> ?1 AND revoked_ms IS NULL";
static const char SQL_TOKEN_LIST[] =
    "SELECT id, role, org_list, label, expires_ms, created_ms FROM tokens"
    " WHERE revoked_ms IS NULL AND (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2";
static const char SQL_TOKEN_REVOKE[] =
    "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL";

static void new_secret(char out[AUTH_MAX_TOKEN_BYTES])
{
    unsigned char raw[32];
    wh_random_bytes(raw, sizeof raw);
    memcpy(out, AUTH_TOKEN_PREFIX, 3);
    wh_base64url(raw, sizeof raw, out + 3);
}

static int insert_token(wh_store_t *store, const char *id, const char *secret, const char *role,
                        const char *org_list, const char *label, int64_t expires_ms,
                        int64_t created_ms, int bootstrap)
{
    char hash[65];
    wh_sha256_hex(secret, strlen(secret), hash);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_TOKEN_INSERT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_text(st, 2, hash);
    wh_stmt_bind_text(st, 3, role);
    wh_stmt_bind_text(st, 4, org_list);
    wh_stmt_bind_text(st, 5, label);
    if (expires_ms)
        sqlite3_bind_int64(st, 6, expires_ms);
    sqlite3_bind_int64(st, 7, created_ms);
    sqlite3_bind_int(st, 8, bootstrap);
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE || rc == SQLITE_CONSTRAINT_UNIQUE ? 0 : WH_ESTORE;
}

static int read_token_file(const char *path, char out[AUTH_MAX_TOKEN_BYTES])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return WH_ENOTFOUND;
    size_t n = fread(out, 1, AUTH_MAX_TOKEN_BYTES - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    return n > 0 ? 0 : WH_EINVAL;
}

static int write_token_file(const char *path, const char *secret)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return WH_EIO;
    size_t n = strlen(secret);
    int rc = write(fd, secret, n) == (ssize_t)n && write(fd, "\n", 1) == 1 ? 0 : WH_EIO;
    if (fsync(fd) != 0)
        rc = WH_EIO;
    close(fd);
    return rc;
}

int auth_bootstrap(wh_store_t *store, const wh_config_t *cfg)
{
    char secret[AUTH_MAX_TOKEN_BYTES];
    char path[WH_PATH_MAX];
    if (wh_config_path(cfg, "admin.token", path) != 0)
        return WH_ELIMIT;
    if (cfg->admin_token) {
        if (strlen(cfg->admin_token) >= sizeof secret || strlen(cfg->admin_token) < 16) {
            wh_log_error("WH_ADMIN_TOKEN must be 16 to %d characters", AUTH_MAX_TOKEN_BYTES - 1);
            return WH_EINVAL;
        }
        snprintf(secret, sizeof secret, "%s", cfg->admin_token);
    } else if (read_token_file(path, secret) != 0) {
        new_secret(secret);
        if (write_token_file(path, secret) != 0) {
            wh_log_error("cannot write %s: %s", path, strerror(errno));
            return WH_EIO;
        }
        wh_log_info("generated the admin token into %s", path);
    } else {
        wh_log_info("admin token in %s", path);
    }
    char hash[65], id[WH_ID_LEN + 1];
    wh_sha256_hex(secret, strlen(secret), hash);
    wh_id_new(id);
    if (wh_store_begin(store) != 0)
        return WH_ESTORE;
    /* Only one bootstrap token is valid: a changed WH_ADMIN_TOKEN retires
     * the previous one. */
    sqlite3_stmt *st = wh_store_stmt(store, SQL_TOKEN_BOOTSTRAP_DROP);
    wh_stmt_bind_text(st, 1, hash);
    sqlite3_bind_int64(st, 2, wh_clock_now_ms());
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
    if (rc == 0)
        rc = insert_token(store, id, secret, "admin", "", "bootstrap admin", 0, wh_clock_now_ms(),
                          1);
    if (rc == 0)
        rc = wh_store_commit(store);
    else
        wh_store_rollback(store);
    explicit_bzero(secret, sizeof secret);
    auth_cache_clear();
    return rc;
}

/* Tokens already looked up, by hash. The gateway is the only writer of its
 * token store, and every write clears the cache (auth_cache_clear), so a
 * revocation still takes effect with the next request; expiry is checked on
 * every use. Unknown tokens are not cached. */
struct cache_entry {
    char hash[65]; /* the key: its 64 hex digits */
    char token_id[WH_ENV_MAX_TOKEN_ID + 1];
    unsigned role;
    int64_t expires_ms; /* 0: never */
    char *org_list;     /* the ids, split in place (commas turned into NULs) */
    const char **orgs;  /* into org_list */
    size_t n_orgs;
};

static void entry_free(struct cache_entry *e)
{
    free(e->org_list);
    free(e->orgs);
    e->org_list = NULL;
    e->orgs = NULL;
    e->n_orgs = 0;
}
/* Direct-mapped (a probe of one slot): a token takes the slot of its hash
 * from whichever token held it. Set up on first use. */
static wh_hset_t cache;

/* Tokens in use, by their own bytes (zero-padded), to the hash above: so
 * that a client repeating its token is not hashed on every request (SHA-256
 * was a tenth of a read's cost in the gateway). Only tokens the store knew
 * are put here, so unknown ones cannot evict them; the set compares in
 * constant time; a token write clears it, overwriting the tokens. */
struct memo_entry {
    char tok[AUTH_MAX_TOKEN_BYTES]; /* the key */
    char hash[65];
};
static wh_hset_t memo;

void auth_cache_clear(void)
{
    if (memo.slots) {
        explicit_bzero(memo.entries, memo.slots * memo.entry_size);
        wh_hset_clear(&memo);
    }
    for (size_t i = 0; i < cache.slots; i++) {
        struct cache_entry *e = wh_hset_slot(&cache, i);
        if (e)
            entry_free(e);
    }
    if (cache.slots)
        wh_hset_clear(&cache);
}

static int lookup(wh_store_t *store, const char *hash, struct cache_entry *e)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_TOKEN_BY_HASH);
    if (!st)
        return WH_ENOTFOUND;
    wh_stmt_bind_text(st, 1, hash);
    if (sqlite3_step(st) != SQLITE_ROW)
        return WH_ENOTFOUND;
    wh_str_t role = wh_stmt_col_str(st, 2);
    const char *list = (const char *)sqlite3_column_text(st, 3);
    char *org_list = strdup(list ? list : "");
    size_t count = org_list && *org_list ? 1 : 0;
    for (const char *c = org_list ? org_list : ""; *c; c++)
        count += *c == ',';
    const char **orgs = org_list ? calloc(count ? count : 1, sizeof *orgs) : NULL;
    if (!orgs) {
        free(org_list);
        return WH_ENOMEM;
    }
    entry_free(e);
    snprintf(e->hash, sizeof e->hash, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(e->token_id, sizeof e->token_id, "%s", (const char *)sqlite3_column_text(st, 0));
    e->role = wh_role_parse(role.p, role.n);
    e->expires_ms = sqlite3_column_type(st, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 4);
    e->org_list = org_list;
    e->orgs = orgs;
    char *save = NULL;
    for (char *t = strtok_r(org_list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        e->orgs[e->n_orgs++] = t;
    return 0;
}

/* The cached entry for hash, looked up in the store on a miss; NULL for a
 * token the store does not hold. */
static struct cache_entry *cached(wh_store_t *store, const char *hash)
{
    const wh_hset_opts_t o = {.key_len = 64,
                              .entry_size = sizeof(struct cache_entry),
                              .slots = AUTH_CACHE_SLOTS,
                              .max_slots = AUTH_CACHE_SLOTS,
                              .probe = 1};
    if (!cache.slots && wh_hset_init(&cache, &o) != 0)
        return NULL;
    /* The set compares keys in constant time, so that no code path
     * compares secret-derived bytes one by one. */
    struct cache_entry *e = wh_hset_get(&cache, hash);
    if (e)
        return e;
    struct cache_entry fresh = {0};
    if (lookup(store, hash, &fresh) != 0 || !wh_ct_equal(fresh.hash, hash, 64)) {
        entry_free(&fresh);
        return NULL;
    }
    wh_hset_how_t how;
    int err;
    e = wh_hset_put(&cache, hash, &how, &err); /* a cache's put never fails */
    if (how == WH_HSET_REPLACED)
        entry_free(e);
    *e = fresh;
    return e;
}

int auth_check(wh_store_t *store, const char *authorization, principal_t *p)
{
    memset(p, 0, sizeof *p);
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return WH_ENOTFOUND;
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    size_t n = strlen(tok);
    while (n > 0 && tok[n - 1] == ' ')
        n--;
    if (n == 0 || n >= AUTH_MAX_TOKEN_BYTES)
        return WH_ENOTFOUND;
    char key[AUTH_MAX_TOKEN_BYTES] = {0}, hash[65];
    memcpy(key, tok, n);
    const wh_hset_opts_t o = {.key_len = sizeof key,
                              .entry_size = sizeof(struct memo_entry),
                              .slots = AUTH_MEMO_SLOTS,
                              .max_slots = AUTH_MEMO_SLOTS,
                              .probe = 1};
    if (!memo.slots)
        wh_hset_init(&memo, &o); /* without it every token is hashed */
    const struct memo_entry *me = memo.slots ? wh_hset_get(&memo, key) : NULL;
    if (me)
        memcpy(hash, me->hash, sizeof hash);
    else
        wh_sha256_hex(tok, n, hash);
    struct cache_entry *e = cached(store, hash);
    if (e && !me && memo.slots) {
        wh_hset_how_t how;
        int err;
        struct memo_entry *m = wh_hset_put(&memo, key, &how, &err);
        memcpy(m->hash, hash, sizeof hash);
    }
    explicit_bzero(key, sizeof key);
    if (!e)
        return WH_ENOTFOUND;
    if (e->expires_ms && e->expires_ms <= wh_clock_now_ms())
        return WH_ENOTFOUND;
    p->role = e->role;
    memcpy(p->token_id, e->token_id, sizeof p->token_id);
    p->org_list = NULL; /* borrowed: see auth.h */
    p->orgs = e->orgs;
    p->n_orgs = e->n_orgs;
    return 0;
}

int auth_principal_set(principal_t *p, const char *token_id, unsigned role, const char *org_list)
{
    memset(p, 0, sizeof *p);
    p->role = role;
    snprintf(p->token_id, sizeof p->token_id, "%s", token_id);
    p->org_list = strdup(org_list);
    size_t count = *org_list ? 1 : 0;
    for (const char *c = org_list; *c; c++)
        count += *c == ',';
    p->orgs = calloc(count ? count : 1, sizeof *p->orgs);
    if (!p->org_list || !p->orgs) {
        free(p->org_list);
        free(p->orgs);
        memset(p, 0, sizeof *p);
        return WH_ENOMEM;
    }
    char *save = NULL;
    for (char *t = strtok_r(p->org_list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        p->orgs[p->n_orgs++] = t;
    return 0;
}

void auth_principal_close(principal_t *p)
{
    if (p->org_list) {
        free(p->org_list);
        free(p->orgs);
    }
    p->org_list = NULL;
    p->orgs = NULL;
    p->n_orgs = 0;
}

static const char *const token_fields[] = {"role", "org_ids", "label", "expires_at", NULL};
static const char *const role_names[] = {
    "admin", "coordinator", "consultant", "occupational_health", "integration", NULL};

static void pack_instant(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col)
{
    wh_msg_pack_str(pk, key);
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        msgpack_pack_nil(pk);
        return;
    }
    char t[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(sqlite3_column_int64(st, col), t);
    wh_msg_pack_str(pk, t);
}

void tokens_create(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, token_fields))
        return;
    int role = 0;
    wh_str_t label = {0};
    int64_t expires_ms = 0;
    const msgpack_object *orgs = NULL;
    wh_valid_enum(&v, "role", WH_V_REQUIRED, role_names, &role);
    wh_valid_array(&v, "org_ids", WH_V_REQUIRED, WH_ENV_MAX_ORGS, &orgs);
    wh_valid_str(&v, "label", WH_V_REQUIRED, 1, AUTH_MAX_LABEL, &label);
    if (wh_valid_instant(&v, "expires_at", WH_V_NULLABLE, &expires_ms) == WH_V_SET &&
        expires_ms <= wh_clock_now_ms())
        wh_reply_field(c->rep, "/expires_at", "must be in the future");
    wh_buf_t list;
    wh_buf_init(&list);
    if (orgs) {
        for (uint32_t i = 0; i < orgs->via.array.size; i++) {
            wh_str_t id = wh_msg_str(&orgs->via.array.ptr[i]);
            if (!id.p || !wh_id_valid(id.p, id.n)) {
                char ptr[32];
                snprintf(ptr, sizeof ptr, "/org_ids/%u", i);
                wh_reply_field(c->rep, ptr, "must be an organization id");
                continue;
            }
            if (list.len)
                wh_buf_putc(&list, ',');
            wh_buf_append(&list, id.p, id.n);
        }
        if (orgs->via.array.size == 0 && role != 0)
            wh_reply_field(c->rep, "/org_ids", "must name at least one organization");
    }
    if (wh_reply_invalid(c->rep)) {
        wh_buf_close(&list);
        return;
    }
    char id[WH_ID_LEN + 1], secret[AUTH_MAX_TOKEN_BYTES], lbl[4 * AUTH_MAX_LABEL + 1];
    wh_id_new(id);
    new_secret(secret);
    snprintf(lbl, sizeof lbl, "%.*s", (int)label.n, label.p);
    /* An admin token covers every organisation; its list stays empty. */
    const char *org_list = role == 0 ? "" : (list.data ? list.data : "");
    auth_cache_clear();
    /* One instant for the row and the answer, so that the listing shows the
     * created_at this response gave. */
    int64_t now_ms = wh_clock_now_ms();
    if (insert_token(c->store, id, secret, role_names[role], org_list, lbl, expires_ms, now_ms,
                     0) != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the token could not be stored");
        wh_buf_close(&list);
        return;
    }
    msgpack_packer *pk = wh_reply_ok(c->rep, 201);
    wh_reply_secret(c->rep);
    msgpack_pack_map(pk, 7);
    wh_msg_kv_str(pk, "id", id);
    wh_msg_kv_str(pk, "role", role_names[role]);
    wh_msg_pack_str(pk, "org_ids");
    wh_msg_pack_csv(pk, org_list);
    wh_msg_kv_str(pk, "label", lbl);
    char t[WH_RFC3339_LEN];
    wh_msg_pack_str(pk, "expires_at");
    if (expires_ms) {
        wh_clock_format_rfc3339(expires_ms, t);
        wh_msg_pack_str(pk, t);
    } else {
        msgpack_pack_nil(pk);
    }
    wh_clock_format_rfc3339(now_ms, t);
    wh_msg_kv_str(pk, "created_at", t);
    wh_msg_kv_str(pk, "token", secret);
    explicit_bzero(secret, sizeof secret);
    wh_buf_close(&list);
}

void tokens_list(wh_ctx_t *c)
{
    wh_page_t page;
    if (!wh_valid_page(c->req, c->rep, &page))
        return;
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_TOKEN_LIST);
    wh_stmt_bind_str(st, 1, page.cursor);
    sqlite3_bind_int64(st, 2, page.limit + 1);
    wh_list_t list;
    wh_list_init(&list, page.limit);
    msgpack_packer *pk;
    while (sqlite3_step(st) == SQLITE_ROW &&
           (pk = wh_list_row(&list, (const char *)sqlite3_column_text(st, 0)))) {
        msgpack_pack_map(pk, 6);
        wh_msg_pack_str(pk, "id");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 0));
        wh_msg_pack_str(pk, "role");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 1));
        wh_msg_pack_str(pk, "org_ids");
        wh_msg_pack_csv(pk, (const char *)sqlite3_column_text(st, 2));
        wh_msg_pack_str(pk, "label");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 3));
        pack_instant(pk, "expires_at", st, 4);
        pack_instant(pk, "created_at", st, 5);
    }
    wh_list_finish(&list, c->rep);
}

void tokens_delete(wh_ctx_t *c)
{
    wh_str_t id = wh_request_param(c->req, "id");
    auth_cache_clear();
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_TOKEN_REVOKE);
    wh_stmt_bind_str(st, 1, id);
    sqlite3_bind_int64(st, 2, wh_clock_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(wh_store_db(c->store)) == 0) {
        wh_ctx_not_found(c, "token");
        return;
    }
    wh_reply_empty(c->rep, 204);
}
