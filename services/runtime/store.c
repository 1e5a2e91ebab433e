#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "log.h"

/* Transaction control, prepared once at open rather than parsed or looked
 * up on every batch; they take no parameters. */
enum {
    FX_BEGIN_IMMEDIATE,
    FX_BEGIN_READ,
    FX_COMMIT,
    FX_ROLLBACK,
    FX_SAVEPOINT,
    FX_RELEASE,
    FX_ROLLBACK_TO,
    FX_COUNT
};
static const char *const fixed_sql[FX_COUNT] = {
    [FX_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [FX_BEGIN_READ] = "BEGIN",
    [FX_COMMIT] = "COMMIT",
    [FX_ROLLBACK] = "ROLLBACK",
    [FX_SAVEPOINT] = "SAVEPOINT req",
    [FX_RELEASE] = "RELEASE req",
    [FX_ROLLBACK_TO] = "ROLLBACK TO req",
};

struct stmt_slot {
    const char *sql;
    sqlite3_stmt *stmt;
    bool used; /* listed in wh_store.used */
};

struct wh_store {
    sqlite3 *db;
    struct stmt_slot slots[WH_STORE_MAX_STMTS]; /* open addressing on the SQL's address */
    int n_stmts;
    /* The slots handed out since the last transaction bound, each once:
     * only these can have been stepped, so only these are reset there. */
    uint16_t used[WH_STORE_MAX_STMTS];
    int n_used;
    sqlite3_stmt *fixed[FX_COUNT];
    bool lowered; /* synchronous=NORMAL for a lazy transaction, not yet FULL again */
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

static int prepare_fixed(wh_store_t *s)
{
    for (int i = 0; i < FX_COUNT; i++)
        if (sqlite3_prepare_v3(s->db, fixed_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->fixed[i],
                               NULL) != SQLITE_OK) {
            wh_log_error("sqlite prepare: %s", sqlite3_errmsg(s->db));
            return WH_ESTORE;
        }
    return 0;
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
    if (migrate(s, migrations, n_migrations) != 0 || prepare_fixed(s) != 0)
        goto fail_open;
    *out = s;
    return 0;

fail_open:
    for (int i = 0; i < FX_COUNT; i++)
        sqlite3_finalize(s->fixed[i]);
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
    for (int i = 0; i < FX_COUNT; i++)
        sqlite3_finalize(s->fixed[i]);
    sqlite3_close(s->db);
    free(s);
    *s_p = NULL;
}

sqlite3 *wh_store_db(wh_store_t *s)
{
    return s->db;
}

static void mark_used(wh_store_t *s, struct stmt_slot *slot, unsigned i)
{
    if (!slot->used) {
        slot->used = true;
        s->used[s->n_used++] = (uint16_t)i;
    }
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
            mark_used(s, slot, i);
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
            mark_used(s, slot, i);
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
 * being checkpointed. So every statement handed out since the last bound is
 * reset at transaction bounds (those not handed out were reset then and
 * have not run since). */
static void reset_all(wh_store_t *s)
{
    for (int i = 0; i < s->n_used; i++) {
        struct stmt_slot *slot = &s->slots[s->used[i]];
        sqlite3_reset(slot->stmt);
        slot->used = false;
    }
    s->n_used = 0;
}

static int step_fixed(wh_store_t *s, int which)
{
    sqlite3_stmt *st = s->fixed[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        wh_log_error("sqlite: %s: %s", fixed_sql[which], sqlite3_errmsg(s->db));
        return WH_ESTORE;
    }
    return 0;
}

/* synchronous back to FULL after a lazy transaction; every other
 * transaction's bound checks, so a failure here is repaired before the
 * next durable commit or refuses it. */
static int restore_sync(wh_store_t *s)
{
    if (!s->lowered)
        return 0;
    /* Run, not prepared once: SQLite applies this pragma while it
     * compiles the statement, not when it steps it. */
    if (wh_store_exec(s, "PRAGMA synchronous=FULL") != 0)
        return WH_ESTORE;
    s->lowered = false;
    return 0;
}

int wh_store_begin(wh_store_t *s)
{
    reset_all(s);
    if (restore_sync(s) != 0)
        return WH_ESTORE;
    return step_fixed(s, FX_BEGIN_IMMEDIATE);
}

int wh_store_begin_lazy(wh_store_t *s)
{
    reset_all(s);
    s->lowered = true;
    if (wh_store_exec(s, "PRAGMA synchronous=NORMAL") != 0) {
        restore_sync(s);
        return WH_ESTORE;
    }
    int rc = step_fixed(s, FX_BEGIN_IMMEDIATE);
    if (rc != 0)
        restore_sync(s);
    return rc;
}

int wh_store_begin_read(wh_store_t *s)
{
    reset_all(s);
    return step_fixed(s, FX_BEGIN_READ);
}

int wh_store_commit(wh_store_t *s)
{
    reset_all(s);
    int rc = step_fixed(s, FX_COMMIT);
    /* Not while the transaction is still open (a failed commit): the
     * pragma waits for the rollback. */
    if (sqlite3_get_autocommit(s->db))
        restore_sync(s);
    return rc;
}

int wh_store_rollback(wh_store_t *s)
{
    reset_all(s);
    int rc = step_fixed(s, FX_ROLLBACK);
    restore_sync(s);
    return rc;
}

int wh_store_savepoint(wh_store_t *s)
{
    return step_fixed(s, FX_SAVEPOINT);
}

int wh_store_release(wh_store_t *s)
{
    return step_fixed(s, FX_RELEASE);
}

int wh_store_rollback_to(wh_store_t *s)
{
    /* ROLLBACK TO keeps the savepoint open; release it so the next request
     * starts a fresh one. */
    int rc = step_fixed(s, FX_ROLLBACK_TO);
    return rc ? rc : step_fixed(s, FX_RELEASE);
}

bool wh_store_in_txn(wh_store_t *s)
{
    return !sqlite3_get_autocommit(s->db);
}

static int bind_str(sqlite3_stmt *st, int idx, wh_str_t v, sqlite3_destructor_type how)
{
    if (!v.p)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, v.p, (int)v.n, how);
}

int wh_stmt_bind_str(sqlite3_stmt *st, int idx, wh_str_t v)
{
    return bind_str(st, idx, v, SQLITE_TRANSIENT);
}

int wh_stmt_bind_text(sqlite3_stmt *st, int idx, const char *v)
{
    return bind_str(st, idx, wh_cstr(v), SQLITE_TRANSIENT);
}

int wh_stmt_bind_str_ref(sqlite3_stmt *st, int idx, wh_str_t v)
{
    return bind_str(st, idx, v, SQLITE_STATIC);
}

int wh_stmt_bind_text_ref(sqlite3_stmt *st, int idx, const char *v)
{
    return bind_str(st, idx, wh_cstr(v), SQLITE_STATIC);
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

/* The msgpack str header for n < 256 bytes into p (as msgpack_pack_str
 * writes it); its length. */
static size_t str_header(unsigned char *p, size_t n)
{
    if (n < 32) {
        p[0] = (unsigned char)(0xa0 | n);
        return 1;
    }
    p[0] = 0xd9, p[1] = (unsigned char)n;
    return 2;
}

/* Short pairs (most columns: ids, names, instants) go to the packer in one
 * write rather than four; the bytes are the same. Both strings of a pair
 * that fits are under 256 bytes. */
#define KV_STAGE 256

void wh_stmt_kv_text(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col)
{
    size_t kn = strlen(key);
    wh_str_t v = wh_stmt_col_str(st, col);
    if (kn + v.n + 10 > KV_STAGE) {
        wh_msg_pack_strn(pk, key, kn);
        wh_msg_pack_wstr(pk, v);
        return;
    }
    unsigned char b[KV_STAGE];
    size_t n = str_header(b, kn);
    memcpy(b + n, key, kn);
    n += kn;
    if (!v.p) {
        b[n++] = 0xc0; /* nil */
    } else {
        n += str_header(b + n, v.n);
        memcpy(b + n, v.p, v.n);
        n += v.n;
    }
    pk->callback(pk->data, (const char *)b, n);
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
