/* The baseline for bench_screening.py: bare SQLite inserting the rows the
 * screening service stores, into the same schema (the service's own
 * migrations, indexes included), in WAL mode with synchronous=FULL, with no
 * network, no parsing and no validation in front of it.
 *
 *   sqlite_bare single <db> <seconds>      one row per transaction
 *   sqlite_bare batch <db> <rows> <per_txn>
 *
 * Prints one line: "rows <n> seconds <s> rate <rows/s>". */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bare.h"

#include "id.h"
#include "schema.h"

static const char SQL_INSERT[] =
    "INSERT INTO screenings(id, org_id, external_id, instrument, subject, unit, taken_ms,"
    " language, answers, raw_score, score, band, at_risk, flags, alert_id, created_ms)"
    " VALUES (?1, ?2, ?3, 'phq9', ?4, ?5, ?6, 'de', '[1,0,1,0,1,0,0,1,0]', 4, 4, 'minimal', 0,"
    " NULL, NULL, ?7)";

static sqlite3 *open_db(const char *path)
{
    return fresh_db(path, screening_migrations, screening_n_migrations);
}

static void insert(sqlite3 *db, sqlite3_stmt *st, int64_t i)
{
    char id[WH_ID_LEN + 1], ext[32], subject[32], unit[16];
    wh_id_new(id);
    snprintf(ext, sizeof ext, "ext-%lld", (long long)i);
    snprintf(subject, sizeof subject, "subj-%lld", (long long)i);
    snprintf(unit, sizeof unit, "U%lld", (long long)(i % 20));
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, "01JN000000000000000000ORG0", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ext, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, subject, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, unit, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, 1740000000000LL + i);
    sqlite3_bind_int64(st, 7, 1740000000000LL + i);
    must(sqlite3_step(st), db, "insert");
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "single") != 0 && strcmp(argv[1], "batch") != 0) ||
        (strcmp(argv[1], "batch") == 0 && argc < 5)) {
        fprintf(stderr, "usage: sqlite_bare single <db> <seconds>\n"
                        "       sqlite_bare batch <db> <rows> <per_txn>\n");
        return 2;
    }
    sqlite3 *db = open_db(argv[2]);
    sqlite3_stmt *st;
    must(sqlite3_prepare_v2(db, SQL_INSERT, -1, &st, NULL), db, "prepare");
    int64_t rows = 0;
    double start = now_s(), end;
    if (strcmp(argv[1], "single") == 0) {
        double limit = atof(argv[3]);
        do {
            must(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), db, "begin");
            insert(db, st, rows++);
            must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
        } while ((end = now_s()) - start < limit);
    } else {
        int64_t total = atoll(argv[3]), per = atoll(argv[4]);
        while (rows < total) {
            must(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), db, "begin");
            for (int64_t j = 0; j < per && rows < total; j++)
                insert(db, st, rows++);
            must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
        }
        end = now_s();
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("rows %lld seconds %.4f rate %.1f\n", (long long)rows, end - start,
           (double)rows / (end - start));
    return 0;
}
