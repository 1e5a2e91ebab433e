/* services/runtime/store.c on a real file in a temporary directory: migrations (once,
 * in order, forward only, atomic), the pragmas every store promises, the
 * statement cache, transactions and savepoints, and online backup. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tmpdir.h"
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

static void test_backup(void)
{
    wh_store_t *s;
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    char copy[160];
    snprintf(copy, sizeof copy, "%s/copy.db", dir);
    CHECK_INT(wh_store_backup(s, copy), 0);
    wh_store_destroy(&s);

    sqlite3 *db;
    CHECK_INT(sqlite3_open_v2(copy, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_INT(query_int(db, "PRAGMA user_version"), 3);
    CHECK_INT(query_int(db, "SELECT count(*) FROM parent"), 3);
    CHECK_STR(query_text(db, "SELECT group_concat(id || ':' || name, ',') FROM"
                             " (SELECT * FROM parent ORDER BY id)"),
              "1:first,10:kept,12:released");
    CHECK_STR(query_text(db, "PRAGMA integrity_check"), "ok");
    sqlite3_close(db);

    /* The copy opens as a store at the same version without migrating. */
    CHECK_INT(wh_store_open(copy, migrations, 3, &s), 0);
    CHECK_INT(count_parent(s), 3);
    wh_store_destroy(&s);

    /* A destination that cannot be created is an error. */
    CHECK_INT(wh_store_open(db_path, migrations, 3, &s), 0);
    CHECK_INT(wh_store_backup(s, "/nonexistent-dir/x/copy.db"), WH_ESTORE);
    wh_store_destroy(&s);
}

static void test_open_failure(void)
{
    wh_store_t *s = NULL;
    CHECK_INT(wh_store_open("/nonexistent-dir/x/y.db", migrations, 1, &s), WH_ESTORE);
    CHECK(s == NULL);
}

int main(void)
{
    make_dir();
    TEST(test_open_migrates_once);
    TEST(test_newer_schema_refused);
    TEST(test_failing_migration_is_atomic);
    TEST(test_pragmas);
    TEST(test_statement_cache);
    TEST(test_statement_cache_full);
    TEST(test_transactions_and_savepoints);
    TEST(test_bind_and_column_helpers);
    TEST(test_backup);
    TEST(test_open_failure);
    test_remove_dir(dir);
    return 0;
}
