/* services/runtime/store.c on a real file in a temporary directory: migrations (once,
 * in order, forward only, atomic), the pragmas every store promises, the
 * statement cache, transactions and savepoints, and online backup. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tmpdir.h"
#include "backup.h"
#include "err.h"
#include "store.h"

static char dir[64];
static char db_path[128];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/wh-store-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(db_path, sizeof db_path, "%s/test.db", dir);
}

/* The first column of the first row of sql as an integer. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *query_text(sqlite3 *db, const char *sql)
{
    static char out[256];
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, sizeof out, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
    return out;
}

/* Migration 2 inserts a row, so running it twice would show (or fail on
 * the primary key). */
static const char *const migrations[] = {
    "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE child (id INTEGER PRIMARY KEY,"
    " parent_id INTEGER NOT NULL REFERENCES parent(id));",
    "INSERT INTO parent(id, name) VALUES (1, 'first');",
    "ALTER TABLE parent ADD COLUMN note TEXT;",
};

static void test_open_migrates_once(void)
{
    wh_store_t *s = NULL;
    CHECK_INT(wh_store_open(db_path, migrations, 2, &s), 0);
    CHECK(s != NULL);
    sqlite3 *db = wh_store_db(s);
    CHECK_INT(query_int(db, "PRAGMA user_version"), 2);
    CHECK_INT(query_int(db, "SELECT count(*) FROM parent"), 1);
    CHECK_STR(query_text(db, "SELECT name FROM parent WHERE id = 1"), "first");
    CHECK(!wh_store_in_txn(s));
    wh_store_destroy(&s);
    CHECK(s == NULL);
    wh_store_destroy(&s); /* NULL is fine */

    /* Reopening with the same list runs nothing again. */
    CHECK_INT(wh_store_open(db_path, migrations, 2, &s), 0);
    db = wh_store_db(s);
    CHECK_INT(query_int(db, "PRAGMA user_version"), 2);
    CHECK_INT(query_int(db, "SELECT count(*) FROM parent"), 1);
    wh_store_destroy(&s);

    /* A longer list runs only the new migration. */
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    db = wh_store_db(s);
    CHECK_INT(query_int(db, "PRAGMA user_version"), 3);
    CHECK_INT(query_int(db, "SELECT count(*) FROM parent"), 1);
    CHECK_INT(query_int(db, "SELECT count(*) FROM pragma_table_info('parent')"), 3);
    wh_store_destroy(&s);
}

static void test_newer_schema_refused(void)
{
    /* The file is at version 3; a binary that knows 2 must not touch it. */
    wh_store_t *s = (wh_store_t *)0x1;
    CHECK_INT(wh_store_open(db_path, migrations, 2, &s), WH_ESTORE);
    CHECK(s == (wh_store_t *)0x1); /* not written on failure */
    CHECK_INT(wh_store_open(db_path, migrations, 0, &s), WH_ESTORE);
    /* And the file is unchanged. */
    sqlite3 *db;
    CHECK_INT(sqlite3_open(db_path, &db), SQLITE_OK);
    CHECK_INT(query_int(db, "PRAGMA user_version"), 3);
    sqlite3_close(db);
}

static void test_failing_migration_is_atomic(void)
{
    char path[160];
    snprintf(path, sizeof path, "%s/failing.db", dir);
    static const char *const bad[] = {
        "CREATE TABLE a (x INTEGER);",
        /* The first statement would succeed; the second fails, and neither
         * may remain, nor may the version move. */
        "CREATE TABLE b (y INTEGER); INSERT INTO no_such_table VALUES (1);",
    };
    wh_store_t *s = NULL;
    CHECK_INT(wh_store_open(path, bad, 2, &s), WH_ESTORE);
    CHECK(s == NULL);
    sqlite3 *db;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(query_int(db, "PRAGMA user_version"), 1);
    CHECK_INT(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'a'"), 1);
    CHECK_INT(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"), 0);
    sqlite3_close(db);
    /* Fixed, it continues from version 1. */
    static const char *const good[] = {
        "CREATE TABLE a (x INTEGER);",
        "CREATE TABLE b (y INTEGER);",
    };
    CHECK_INT(wh_store_open(path, good, 2, &s), 0);
    CHECK_INT(query_int(wh_store_db(s), "PRAGMA user_version"), 2);
    wh_store_destroy(&s);
}

static void test_pragmas(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    sqlite3 *db = wh_store_db(s);
    CHECK_STR(query_text(db, "PRAGMA journal_mode"), "wal");
    CHECK_INT(query_int(db, "PRAGMA synchronous"), 2); /* FULL */
    CHECK_INT(query_int(db, "PRAGMA foreign_keys"), 1);
    CHECK_INT(query_int(db, "PRAGMA busy_timeout"), WH_STORE_BUSY_TIMEOUT_MS);
    CHECK_INT(query_int(db, "PRAGMA temp_store"), 2); /* MEMORY */
    /* Foreign keys are enforced, not merely declared. */
    CHECK_INT(wh_store_exec(s, "INSERT INTO child(id, parent_id) VALUES (1, 99)"), WH_ESTORE);
    CHECK_INT(wh_store_exec(s, "INSERT INTO child(id, parent_id) VALUES (1, 1)"), 0);
    CHECK_INT(wh_store_exec(s, "DELETE FROM parent WHERE id = 1"), WH_ESTORE);
    CHECK_INT(wh_store_exec(s, "DELETE FROM child"), 0);
    /* Malformed SQL is an error value. */
    CHECK_INT(wh_store_exec(s, "SELEKT 1"), WH_ESTORE);
    wh_store_destroy(&s);
}

static void test_statement_cache(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    static const char SQL_A[] = "SELECT ?1";
    /* Same text, another address: another statement (the cache is keyed by
     * the address of the constant). */
    static const char SQL_B[] = "SELECT ?1";
    sqlite3_stmt *a = wh_store_stmt(s, SQL_A);
    CHECK(a != NULL);
    CHECK(wh_store_stmt(s, SQL_A) == a);
    sqlite3_stmt *b = wh_store_stmt(s, SQL_B);
    CHECK(b != NULL);
    CHECK(b != a);
    CHECK(wh_store_stmt(s, SQL_B) == b);

    /* Handed back reset and with bindings cleared. */
    a = wh_store_stmt(s, SQL_A);
    CHECK_INT(sqlite3_bind_int(a, 1, 42), SQLITE_OK);
    CHECK_INT(sqlite3_step(a), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(a, 0), 42);
    a = wh_store_stmt(s, SQL_A);
    CHECK_INT(sqlite3_step(a), SQLITE_ROW);
    CHECK_INT(sqlite3_column_type(a, 0), SQLITE_NULL);
    CHECK_INT(sqlite3_step(a), SQLITE_DONE);

    /* A statement left mid-result is restarted. */
    static const char SQL_SERIES[] =
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5)"
        " SELECT x FROM n";
    sqlite3_stmt *st = wh_store_stmt(s, SQL_SERIES);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 2);
    st = wh_store_stmt(s, SQL_SERIES);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 1);

    /* SQL that does not prepare: NULL, and not cached as a success. */
    static const char SQL_BAD[] = "SELECT FROM WHERE";
    CHECK(wh_store_stmt(s, SQL_BAD) == NULL);
    CHECK(wh_store_stmt(s, SQL_BAD) == NULL);
    wh_store_destroy(&s);
}

static void test_statement_cache_full(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    /* Distinct addresses, one more than the cache holds. */
    static char sql[WH_STORE_MAX_STMTS + 1][32];
    sqlite3_stmt *got[WH_STORE_MAX_STMTS + 1];
    int ok = 0;
    for (int i = 0; i <= WH_STORE_MAX_STMTS; i++) {
        snprintf(sql[i], sizeof sql[i], "SELECT %d", i);
        got[i] = wh_store_stmt(s, sql[i]);
        ok += got[i] != NULL;
    }
    CHECK_INT(ok, WH_STORE_MAX_STMTS);
    CHECK(got[WH_STORE_MAX_STMTS] == NULL);
    /* The ones in the cache are still found, and still the same. */
    for (int i = 0; i < WH_STORE_MAX_STMTS; i++) {
        sqlite3_stmt *st = wh_store_stmt(s, sql[i]);
        CHECK(st == got[i]);
        CHECK_INT(sqlite3_step(st), SQLITE_ROW);
        CHECK_INT(sqlite3_column_int(st, 0), i);
    }
    wh_store_destroy(&s);
}

static int64_t count_parent(wh_store_t *s)
{
    return query_int(wh_store_db(s), "SELECT count(*) FROM parent");
}

static void test_transactions_and_savepoints(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    static const char SQL_INS[] = "INSERT INTO parent(id, name) VALUES (?1, ?2)";
    CHECK_INT(count_parent(s), 1);

    /* rollback_to undoes the savepoint's work and keeps the earlier work of
     * the transaction, which then commits. */
    CHECK_INT(wh_store_begin(s), 0);
    CHECK(wh_store_in_txn(s));
    sqlite3_stmt *st = wh_store_stmt(s, SQL_INS);
    sqlite3_bind_int(st, 1, 10);
    wh_stmt_bind_text(st, 2, "kept");
    CHECK_INT(sqlite3_step(st), SQLITE_DONE);
    CHECK_INT(wh_store_savepoint(s), 0);
    st = wh_store_stmt(s, SQL_INS);
    sqlite3_bind_int(st, 1, 11);
    wh_stmt_bind_text(st, 2, "undone");
    CHECK_INT(sqlite3_step(st), SQLITE_DONE);
    CHECK_INT(count_parent(s), 3);
    CHECK_INT(wh_store_rollback_to(s), 0);
    CHECK(wh_store_in_txn(s));
    CHECK_INT(count_parent(s), 2);
    /* The savepoint was released: a second request gets a fresh one, and
     * releasing it keeps its work. */
    CHECK_INT(wh_store_savepoint(s), 0);
    st = wh_store_stmt(s, SQL_INS);
    sqlite3_bind_int(st, 1, 12);
    wh_stmt_bind_text(st, 2, "released");
    CHECK_INT(sqlite3_step(st), SQLITE_DONE);
    CHECK_INT(wh_store_release(s), 0);
    CHECK(wh_store_in_txn(s));
    CHECK_INT(wh_store_commit(s), 0);
    CHECK(!wh_store_in_txn(s));
    CHECK_INT(count_parent(s), 3);
    CHECK_INT(query_int(wh_store_db(s), "SELECT count(*) FROM parent WHERE id IN (10, 12)"), 2);
    CHECK_INT(query_int(wh_store_db(s), "SELECT count(*) FROM parent WHERE id = 11"), 0);

    /* A rolled-back transaction leaves nothing. */
    CHECK_INT(wh_store_begin(s), 0);
    st = wh_store_stmt(s, SQL_INS);
    sqlite3_bind_int(st, 1, 13);
    wh_stmt_bind_text(st, 2, "gone");
    CHECK_INT(sqlite3_step(st), SQLITE_DONE);
    CHECK_INT(wh_store_rollback(s), 0);
    CHECK(!wh_store_in_txn(s));
    CHECK_INT(count_parent(s), 3);

    /* Transaction control out of order is an error value, not a crash. */
    CHECK_INT(wh_store_commit(s), WH_ESTORE);
    CHECK_INT(wh_store_release(s), WH_ESTORE);
    CHECK_INT(wh_store_begin(s), 0);
    CHECK_INT(wh_store_begin(s), WH_ESTORE);
    CHECK_INT(wh_store_rollback(s), 0);

    /* Committed work survives reopening. */
    wh_store_destroy(&s);
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    CHECK_INT(count_parent(s), 3);
    wh_store_destroy(&s);
}

/* A lazy transaction commits with synchronous=NORMAL and leaves FULL
 * behind, whether it commits or rolls back; what it wrote is there. */
static void test_lazy_transaction(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    sqlite3 *db = wh_store_db(s);
    int before = count_parent(s);
    CHECK_INT(wh_store_begin_lazy(s), 0);
    CHECK_INT(query_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
    CHECK_INT(wh_store_exec(s, "INSERT INTO parent(id, name) VALUES (500, 'lazy')"), 0);
    CHECK_INT(wh_store_commit(s), 0);
    CHECK_INT(query_int(db, "PRAGMA synchronous"), 2);
    CHECK_INT(count_parent(s), before + 1);
    CHECK_INT(wh_store_begin_lazy(s), 0);
    CHECK_INT(wh_store_exec(s, "DELETE FROM parent WHERE id = 500"), 0);
    CHECK_INT(wh_store_rollback(s), 0);
    CHECK_INT(query_int(db, "PRAGMA synchronous"), 2);
    CHECK_INT(count_parent(s), before + 1);
    /* An ordinary transaction after a lazy one is FULL. */
    CHECK_INT(wh_store_begin(s), 0);
    CHECK_INT(query_int(db, "PRAGMA synchronous"), 2);
    CHECK_INT(wh_store_exec(s, "DELETE FROM parent WHERE id = 500"), 0);
    CHECK_INT(wh_store_commit(s), 0);
    wh_store_destroy(&s);
}

static void test_bind_and_column_helpers(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    static const char SQL_ECHO[] = "SELECT ?1, ?2, ?3, ?4";
    sqlite3_stmt *st = wh_store_stmt(s, SQL_ECHO);
    CHECK_INT(wh_stmt_bind_str(st, 1, (wh_str_t){"abcdef", 3}), SQLITE_OK);
    CHECK_INT(wh_stmt_bind_str(st, 2, (wh_str_t){NULL, 5}), SQLITE_OK);
    CHECK_INT(wh_stmt_bind_text(st, 3, "K\xc3\xb6ln"), SQLITE_OK);
    CHECK_INT(wh_stmt_bind_text(st, 4, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    wh_str_t c = wh_stmt_col_str(st, 0);
    CHECK_INT(c.n, 3);
    CHECK(memcmp(c.p, "abc", 3) == 0);
    c = wh_stmt_col_str(st, 1);
    CHECK(c.p == NULL && c.n == 0);
    c = wh_stmt_col_str(st, 2);
    CHECK_INT(c.n, 5);
    CHECK(memcmp(c.p, "K\xc3\xb6ln", 5) == 0);
    CHECK_INT(sqlite3_column_type(st, 3), SQLITE_NULL);
    /* An empty string is not NULL. */
    st = wh_store_stmt(s, SQL_ECHO);
    wh_stmt_bind_str(st, 1, (wh_str_t){"", 0});
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    c = wh_stmt_col_str(st, 0);
    CHECK(c.p != NULL);
    CHECK_INT(c.n, 0);
    wh_store_destroy(&s);
}

/* The backup of a store that has a write transaction open: the copy holds
 * what was committed before, not the open transaction, and the writer is
 * not blocked by it; the manifest describes the copy. */
static void test_backup(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    CHECK_INT(wh_store_begin(s), 0);
    CHECK_INT(wh_store_exec(s, "INSERT INTO parent(id, name) VALUES (99, 'uncommitted')"), 0);
    char bdir[160];
    /* Characters a file: URI would take for its own are in the name. */
    snprintf(bdir, sizeof bdir, "%s/backups/b 1?#%%", dir);
    wh_backup_info_t info;
    char err[256] = "";
    CHECK_INT(wh_store_backup(db_path, bdir, "svc", &info, err, sizeof err), 0);
    /* The writer commits after the copy, unhindered. */
    CHECK_INT(wh_store_commit(s), 0);
    CHECK_INT(count_parent(s), 4);
    wh_store_destroy(&s);
    CHECK_INT(info.schema_version, 3);
    CHECK(info.bytes > 0);
    CHECK_INT(strlen(info.sha256), 64);

    char copy[200], man[200];
    snprintf(copy, sizeof copy, "%s/svc.db", bdir);
    snprintf(man, sizeof man, "%s/svc.json", bdir);
    struct stat st;
    CHECK_INT(stat(copy, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK_INT(st.st_size, info.bytes);
    CHECK_INT(stat(bdir, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0700);
    char text[512] = "";
    FILE *f = fopen(man, "r");
    CHECK(f != NULL);
    CHECK(fgets(text, sizeof text, f) != NULL);
    fclose(f);
    char want[160];
    snprintf(want, sizeof want, "\"sha256\":\"%s\"", info.sha256);
    CHECK(strstr(text, want) != NULL);
    CHECK(strstr(text, "\"service\":\"svc\",\"schema_version\":3,") != NULL);

    sqlite3 *db;
    CHECK_INT(sqlite3_open_v2(copy, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_INT(query_int(db, "PRAGMA user_version"), 3);
    CHECK_STR(query_text(db, "SELECT group_concat(id || ':' || name, ',') FROM"
                             " (SELECT * FROM parent ORDER BY id)"),
              "1:first,10:kept,12:released");
    CHECK_STR(query_text(db, "PRAGMA integrity_check"), "ok");
    sqlite3_close(db);

    /* The copy opens as a store at the same version without migrating. */
    CHECK_INT(wh_store_open(copy, migrations, 3, &s), 0);
    CHECK_INT(count_parent(s), 3);
    wh_store_destroy(&s);

    /* A second copy of the same service into the same backup is refused,
     * and leaves the first as it was. */
    CHECK_INT(wh_store_backup(db_path, bdir, "svc", &info, err, sizeof err), WH_ECONFLICT);
    CHECK_INT(stat(copy, &st), 0);
    /* A directory that cannot be created is an error, with a reason. */
    CHECK_INT(wh_store_backup(db_path, "/proc/wh-no/x", "svc", &info, err, sizeof err), WH_EIO);
    CHECK(strstr(err, "backup directory") != NULL);
    test_remove_dir(bdir);
    char broot[160];
    snprintf(broot, sizeof broot, "%s/backups", dir);
    CHECK_INT(rmdir(broot), 0);
}

static void test_backup_id(void)
{
    CHECK(wh_backup_id_valid("20261203T071500Z", 16));
    CHECK(wh_backup_id_valid("a.b_c-d", 7));
    char id[WH_BACKUP_MAX_ID + 2];
    memset(id, 'a', sizeof id);
    CHECK(wh_backup_id_valid(id, WH_BACKUP_MAX_ID));
    CHECK(!wh_backup_id_valid(id, WH_BACKUP_MAX_ID + 1));
    CHECK(!wh_backup_id_valid("", 0));
    CHECK(!wh_backup_id_valid("..", 2));
    CHECK(!wh_backup_id_valid(".x", 2));
    CHECK(!wh_backup_id_valid("-x", 2));
    CHECK(!wh_backup_id_valid("a/b", 3));
    CHECK(!wh_backup_id_valid("a b", 3));
    CHECK(!wh_backup_id_valid("a\0b", 3));

    wh_config_t cfg = {0};
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "/srv/wh");
    char out[WH_PATH_MAX];
    unsetenv("WH_BACKUP_DIR");
    CHECK_INT(wh_backup_dir(&cfg, "x1", out), 0);
    CHECK_STR(out, "/srv/wh/backups/x1");
    setenv("WH_BACKUP_DIR", "/mnt/b", 1);
    CHECK_INT(wh_backup_dir(&cfg, "x1", out), 0);
    CHECK_STR(out, "/mnt/b/x1");
    char long_dir[WH_PATH_MAX];
    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[0] = '/';
    long_dir[sizeof long_dir - 1] = '\0';
    setenv("WH_BACKUP_DIR", long_dir, 1);
    CHECK_INT(wh_backup_dir(&cfg, "x1", out), WH_ELIMIT);
    unsetenv("WH_BACKUP_DIR");
}

static void test_open_failure(void)
{
    wh_store_t *s = NULL;
    CHECK_INT(wh_store_open("/nonexistent-dir/x/y.db", migrations, 1, &s), WH_ESTORE);
    CHECK(s == NULL);
}

/* Every statement handed out since the last transaction bound is reset
 * there, however often it was handed out (each is listed once), whether it
 * ran inside the transaction or before it. A statement left on a row would
 * keep its read snapshot open. */
static void test_bounds_reset_statements(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    static const char SQL_ALL[] = "SELECT id FROM parent";
    static const char SQL_ONE[] = "SELECT ?1";
    sqlite3_stmt *all = NULL, *one = NULL;
    /* Many times between two bounds: listed once, no overflow. */
    for (int i = 0; i < 3 * WH_STORE_MAX_STMTS; i++) {
        one = wh_store_stmt(s, SQL_ONE);
        CHECK(one != NULL);
    }
    /* Outside a transaction, left on a row: reset by BEGIN. */
    all = wh_store_stmt(s, SQL_ALL);
    CHECK_INT(sqlite3_step(all), SQLITE_ROW);
    CHECK_INT(sqlite3_step(one), SQLITE_ROW);
    CHECK(sqlite3_stmt_busy(all) && sqlite3_stmt_busy(one));
    CHECK_INT(wh_store_begin_read(s), 0);
    CHECK(!sqlite3_stmt_busy(all) && !sqlite3_stmt_busy(one));
    /* Inside: reset by COMMIT. */
    all = wh_store_stmt(s, SQL_ALL);
    CHECK_INT(sqlite3_step(all), SQLITE_ROW);
    CHECK_INT(wh_store_commit(s), 0);
    CHECK(!sqlite3_stmt_busy(all));
    /* Handed out again in the next transaction (the list was emptied at
     * the bound): reset at its end too, by ROLLBACK as by COMMIT. */
    CHECK_INT(wh_store_begin(s), 0);
    all = wh_store_stmt(s, SQL_ALL);
    CHECK_INT(sqlite3_step(all), SQLITE_ROW);
    CHECK_INT(wh_store_rollback(s), 0);
    CHECK(!sqlite3_stmt_busy(all));
    wh_store_destroy(&s);
}

/* wh_stmt_kv_text writes the bytes msgpack-c writes for the key and the
 * column (text of every header size, NULL, empty), short or long. */
static void test_kv_text_bytes(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    static const char SQL_ECHO[] = "SELECT ?1";
    static const size_t lens[] = {0, 1, 31, 32, 200, 255, 256, 300, 65535, 65536, 70000};
    const char *keys[] = {"id", "a_key_of_exactly_thirty_one_chr",
                          "a key of thirty-two characters!!", ""};
    static char text[70001];
    memset(text, 'k', sizeof text - 1);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        for (size_t i = 0; i <= sizeof lens / sizeof lens[0]; i++) {
            bool null = i == sizeof lens / sizeof lens[0];
            size_t n = null ? 0 : lens[i];
            sqlite3_stmt *st = wh_store_stmt(s, SQL_ECHO);
            if (!null)
                sqlite3_bind_text(st, 1, text, (int)n, SQLITE_STATIC);
            CHECK_INT(sqlite3_step(st), SQLITE_ROW);
            wh_buf_t got, want;
            wh_buf_init(&got);
            wh_buf_init(&want);
            msgpack_packer pg, pw;
            wh_msg_writer_init(&pg, &got);
            wh_msg_writer_init(&pw, &want);
            wh_stmt_kv_text(&pg, keys[k], st, 0);
            msgpack_pack_str(&pw, strlen(keys[k]));
            msgpack_pack_str_body(&pw, keys[k], strlen(keys[k]));
            if (null) {
                msgpack_pack_nil(&pw);
            } else {
                msgpack_pack_str(&pw, n);
                msgpack_pack_str_body(&pw, text, n);
            }
            CHECK_INT(got.len, want.len);
            CHECK(memcmp(got.data, want.data, want.len) == 0);
            wh_buf_close(&got);
            wh_buf_close(&want);
        }
    wh_store_destroy(&s);
}

int main(void)
{
    make_dir();
    TEST(test_open_migrates_once);
    TEST(test_newer_schema_refused);
    TEST(test_failing_migration_is_atomic);
    TEST(test_pragmas);
    TEST(test_lazy_transaction);
    TEST(test_statement_cache);
    TEST(test_statement_cache_full);
    TEST(test_transactions_and_savepoints);
    TEST(test_bind_and_column_helpers);
    TEST(test_bounds_reset_statements);
    TEST(test_kv_text_bytes);
    TEST(test_backup);
    TEST(test_backup_id);
    TEST(test_open_failure);
    test_remove_dir(dir);
    return 0;
}
