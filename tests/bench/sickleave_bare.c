/* The baseline for bench_sickleave.py: bare SQLite doing what the sick-leave
 * figures cost the surveys service, with no network, no CSV conversion, no
 * validation and no suppression in front of it.
 *
 *   sickleave_bare insert <db> <csv>              the rows of the file into
 *       sickleave_figures (the service's own schema, indexes included) in
 *       one transaction, WAL, synchronous=FULL
 *   sickleave_bare aggregate <db> <org> <period> <ndays> <rounds>
 *       the figures per unit and the organisation's total, as one query
 *       each, rounds times
 *
 * The CSV is the benchmark's own: unquoted, header first. Prints one line:
 * "rows <n> seconds <s>" or "median_us <us>". */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bare.h"

#include "schema.h"

static const char SQL_INSERT[] =
    "INSERT INTO sickleave_figures(org_id, period, unit, chapter, insured, cases, days)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_UNITS[] =
    "SELECT unit, insured, cases, days, round(days * 100.0 / (insured * ?3), 2)"
    " FROM sickleave_figures WHERE org_id = ?1 AND period = ?2 AND chapter = 0 ORDER BY unit";
static const char SQL_TOTAL[] =
    "SELECT sum(insured), sum(cases), sum(days), round(sum(days) * 100.0 / (sum(insured) * ?3), 2)"
    " FROM sickleave_figures WHERE org_id = ?1 AND period = ?2 AND chapter = 0";

static const char *const CHAPTERS[] = {"",     "I",    "II",    "III", "IV",  "V",    "VI",  "VII",
                                       "VIII", "IX",   "X",     "XI",  "XII", "XIII", "XIV", "XV",
                                       "XVI",  "XVII", "XVIII", "XIX", "XX",  "XXI",  "XXII"};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int insert(const char *path, const char *csv_path)
{
    sqlite3 *db = fresh_db(path, surveys_migrations, surveys_n_migrations);
    FILE *f = fopen(csv_path, "r");
    if (!f) {
        perror(csv_path);
        return 1;
    }
    sqlite3_stmt *st;
    must(sqlite3_prepare_v2(db, SQL_INSERT, -1, &st, NULL), db, "prepare");
    char line[1024];
    long rows = 0;
    double start = now_s();
    must(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), db, "begin");
    if (!fgets(line, sizeof line, f)) /* the header */
        return 1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *field[7], *s = line;
        for (int i = 0; i < 7; i++) {
            field[i] = s;
            s += strcspn(s, ",");
            if (*s)
                *s++ = '\0';
        }
        int ch = 0;
        for (int i = 0; i < 23; i++)
            if (strcmp(field[6], CHAPTERS[i]) == 0)
                ch = i;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, field[0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, field[2], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, field[1], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, ch);
        sqlite3_bind_int64(st, 5, atoll(field[3]));
        sqlite3_bind_int64(st, 6, atoll(field[4]));
        sqlite3_bind_int64(st, 7, atoll(field[5]));
        must(sqlite3_step(st), db, "insert");
        rows++;
    }
    must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
    double end = now_s();
    fclose(f);
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("rows %ld seconds %.4f\n", rows, end - start);
    return 0;
}

static int aggregate(const char *path, const char *org, const char *period, int ndays, int rounds)
{
    sqlite3 *db;
    must(sqlite3_open(path, &db), db, "open");
    sqlite3_stmt *units, *total;
    must(sqlite3_prepare_v2(db, SQL_UNITS, -1, &units, NULL), db, "prepare");
    must(sqlite3_prepare_v2(db, SQL_TOTAL, -1, &total, NULL), db, "prepare");
    double *t = malloc(sizeof *t * (size_t)rounds);
    long seen = 0;
    for (int r = 0; r < rounds; r++) {
        double start = now_s();
        sqlite3_stmt *sts[2] = {units, total};
        for (int i = 0; i < 2; i++) {
            sqlite3_reset(sts[i]);
            sqlite3_bind_text(sts[i], 1, org, -1, SQLITE_STATIC);
            sqlite3_bind_text(sts[i], 2, period, -1, SQLITE_STATIC);
            sqlite3_bind_int(sts[i], 3, ndays);
            while (sqlite3_step(sts[i]) == SQLITE_ROW)
                seen += sqlite3_column_int64(sts[i], 3);
        }
        t[r] = now_s() - start;
    }
    qsort(t, (size_t)rounds, sizeof *t, cmp_double);
    printf("median_us %.1f check %ld\n", t[rounds / 2] * 1e6, seen / rounds);
    free(t);
    sqlite3_finalize(units);
    sqlite3_finalize(total);
    sqlite3_close(db);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "insert") == 0)
        return insert(argv[2], argv[3]);
    if (argc == 7 && strcmp(argv[1], "aggregate") == 0)
        return aggregate(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]));
    fprintf(stderr, "usage: sickleave_bare insert <db> <csv>\n"
                    "       sickleave_bare aggregate <db> <org> <period> <ndays> <rounds>\n");
    return 2;
}
