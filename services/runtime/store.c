#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "log.h"

struct stmt_slot {
    const char *sql;
    sqlite3_stmt *stmt;
};

struct wh_store {
    sqlite3 *db;
    struct stmt_slot slots[WH_STORE_MAX_STMTS]; /* open addressing on the SQL's address */
    int n_stmts;
};

static const char *const pragmas = "PRAGMA journal_mode=WAL;"
                                   "PRAGMA synchronous=FULL;"
                                   "PRAGMA foreign_keys=ON;"
                                   "PRAGMA temp_store=MEMORY;";

int wh_store_exec(wh_store_t *s, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        wh_log_error("sqlite: %s", err ? err : "unknown error");
        sqlite3_free(err);
        return WH_ESTORE;
    }
    return 0;
}

static int user_version(wh_store_t *s, int *v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return WH_ESTORE;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : WH_ESTORE;
    if (rc == 0)
        *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* Each migration runs in a savepoint together with the bump of
 * user_version, so a crash or a failing migration leaves the schema at a
 * numbered version; the pending ones share one transaction, so that a first
 * start pays one commit (one fsync) rather than one per migration. */
static int migrate(wh_store_t *s, const char *const *migrations, int n)
{
    int v;
    if (user_version(s, &v) != 0)
        return WH_ESTORE;
    if (v > n) {
        wh_log_error("store schema version %d is newer than this binary (%d)", v, n);
        return WH_ESTORE;
    }
    if (v == n)
        return 0;
    if (wh_store_exec(s, "BEGIN IMMEDIATE") != 0)
        return WH_ESTORE;
    int rc = 0;
    for (; v < n && rc == 0; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version=%d;", v + 1);
        if (wh_store_exec(s, "SAVEPOINT migration") != 0) {
            rc = WH_ESTORE;
        } else if (wh_store_exec(s, migrations[v]) != 0 || wh_store_exec(s, bump) != 0) {
            /* The ones before it stay. */
            wh_store_exec(s, "ROLLBACK TO migration");
            wh_store_exec(s, "RELEASE migration");
            wh_log_error("migration %d failed", v + 1);
            rc = WH_ESTORE;
        } else if (wh_store_exec(s, "RELEASE migration") != 0) {
            rc = WH_ESTORE;
        }
    }
    if (wh_store_exec(s, "COMMIT") != 0) {
        wh_store_exec(s, "ROLLBACK");
        return WH_ESTORE;
    }
    return rc;
}

int wh_store_open(const char *path, const char *const *migrations, int n_migrations,
                  wh_store_t **out)
{
    wh_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return WH_ENOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        wh_log_error("cannot open store %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail_open;
    }
    sqlite3_busy_timeout(s->db, WH_STORE_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(s->db, 1);
    if (wh_store_exec(s, pragmas) != 0)
        goto fail_open;
    if (migrate(s, migrations, n_migrations) != 0)
        goto fail_open;
    *out = s;
    return 0;

fail_open:
    sqlite3_close(s->db);
    free(s);
    return WH_ESTORE;
}

void wh_store_destroy(wh_store_t **s_p)
{
    wh_store_t *s = *s_p;
    if (!s)
        return;
    for (int i = 0; i < WH_STORE_MAX_STMTS; i++)
        if (s->slots[i].stmt)
            sqlite3_finalize(s->slots[i].stmt);
    sqlite3_close(s->db);
    free(s);
    *s_p = NULL;
}

sqlite3 *wh_store_db(wh_store_t *s)
{
    return s->db;
}

sqlite3_stmt *wh_store_stmt(wh_store_t *s, const char *sql)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    unsigned i = (unsigned)(h >> 40) % WH_STORE_MAX_STMTS;
    for (int probe = 0; probe < WH_STORE_MAX_STMTS; probe++, i = (i + 1) % WH_STORE_MAX_STMTS) {
        struct stmt_slot *slot = &s->slots[i];
        if (slot->sql == sql) {
            sqlite3_reset(slot->stmt);
            sqlite3_clear_bindings(slot->stmt);
            return slot->stmt;
        }
        if (!slot->sql) {
            if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->stmt, NULL) !=
                SQLITE_OK) {
                wh_log_error("sqlite prepare: %s", sqlite3_errmsg(s->db));
                slot->stmt = NULL;
                return NULL;
            }
            slot->sql = sql;
            s->n_stmts++;
            return slot->stmt;
        }
    }
    wh_log_error("statement cache full (%d)", WH_STORE_MAX_STMTS);
    return NULL;
}

/* Cached statements are reset only when next used, so one left on a row
 * keeps a read transaction open on its snapshot after COMMIT. Once another
 * process (a second instance on the same store) has written, BEGIN IMMEDIATE
 * on that stale snapshot fails at once with SQLITE_BUSY_SNAPSHOT, without
 * waiting for the busy timeout; the open snapshot also keeps the WAL from
 * being checkpointed. So every statement is reset at transaction bounds. */
static void reset_all(wh_store_t *s)
{
    for (int i = 0; i < WH_STORE_MAX_STMTS; i++)
        if (s->slots[i].stmt)
            sqlite3_reset(s->slots[i].stmt);
}

/* Transaction control runs on every batch: the statements are cached like
 * any other rather than parsed each time. */
static int step_fixed(wh_store_t *s, const char *sql)
{
    sqlite3_stmt *st = wh_store_stmt(s, sql);
    if (!st)
        return WH_ESTORE;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        wh_log_error("sqlite: %s: %s", sql, sqlite3_errmsg(s->db));
        return WH_ESTORE;
    }
    return 0;
}

static const char SQL_BEGIN_IMMEDIATE[] = "BEGIN IMMEDIATE";
static const char SQL_BEGIN_READ[] = "BEGIN";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT req";
static const char SQL_RELEASE[] = "RELEASE req";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO req";

int wh_store_begin(wh_store_t *s)
{
    reset_all(s);
    return step_fixed(s, SQL_BEGIN_IMMEDIATE);
}

int wh_store_begin_read(wh_store_t *s)
{
    reset_all(s);
    return step_fixed(s, SQL_BEGIN_READ);
}

int wh_store_commit(wh_store_t *s)
{
    reset_all(s);
    return step_fixed(s, SQL_COMMIT);
}

int wh_store_rollback(wh_store_t *s)
{
    reset_all(s);
    return step_fixed(s, SQL_ROLLBACK);
}

int wh_store_savepoint(wh_store_t *s)
{
    return step_fixed(s, SQL_SAVEPOINT);
}

int wh_store_release(wh_store_t *s)
{
    return step_fixed(s, SQL_RELEASE);
}

int wh_store_rollback_to(wh_store_t *s)
{
    /* ROLLBACK TO keeps the savepoint open; release it so the next request
     * starts a fresh one. */
    int rc = step_fixed(s, SQL_ROLLBACK_TO);
    return rc ? rc : step_fixed(s, SQL_RELEASE);
}

bool wh_store_in_txn(wh_store_t *s)
{
    return !sqlite3_get_autocommit(s->db);
}

int wh_stmt_bind_str(sqlite3_stmt *st, int idx, wh_str_t v)
{
    if (!v.p)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, v.p, (int)v.n, SQLITE_TRANSIENT);
}

int wh_stmt_bind_text(sqlite3_stmt *st, int idx, const char *v)
{
    if (!v)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);
}

wh_str_t wh_stmt_col_str(sqlite3_stmt *st, int col)
{
    const char *p = (const char *)sqlite3_column_text(st, col);
    if (!p)
        return (wh_str_t){NULL, 0};
    return (wh_str_t){p, (size_t)sqlite3_column_bytes(st, col)};
}

void wh_stmt_col_copy(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

void wh_stmt_kv_text(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col)
{
    wh_msg_pack_str(pk, key);
    wh_msg_pack_wstr(pk, wh_stmt_col_str(st, col));
}

void wh_stmt_kv_int(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        wh_msg_kv_nil(pk, key);
    else
        wh_msg_kv_int(pk, key, sqlite3_column_int64(st, col));
}

void wh_stmt_kv_instant(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        wh_msg_kv_nil(pk, key);
        return;
    }
    char at[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(sqlite3_column_int64(st, col), at);
    wh_msg_kv_str(pk, key, at);
}
