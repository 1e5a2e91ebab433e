/* What the C benchmarks share: a monotonic clock in seconds, stopping at the
 * first SQLite error, and a fresh store. Header-only: each benchmark is one file. */
#ifndef WH_BENCH_BARE_H
#define WH_BENCH_BARE_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void must(int rc, sqlite3 *db, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

/* A fresh store at path (an earlier run's file and its WAL removed, so that
 * every run measures the same thing), WAL with synchronous=FULL as the
 * services run it, with the given migrations applied. */
static inline sqlite3 *fresh_db(const char *path, const char *const *migrations, int n)
{
    char p[4096];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", path, (const char *[]){"", "-wal", "-shm"}[i]);
        unlink(p);
    }
    sqlite3 *db;
    must(sqlite3_open(path, &db), db, "open");
    must(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL),
         db, "pragmas");
    for (int i = 0; i < n; i++)
        must(sqlite3_exec(db, migrations[i], NULL, NULL, NULL), db, "schema");
    return db;
}

#endif
