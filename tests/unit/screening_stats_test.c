/* services/screening/stats.c: the suppression of the units x bands table
 * and the calendar periods.
 *
 * Tables are judged by an attacker written without the production rule:
 * the unknowns are the hidden cells; every shown total (unit, band,
 * organisation) gives one linear equation over them (the total minus its
 * shown cells). Gaussian elimination brings the equations to reduced row
 * echelon form; every vector in their span is a sum of the reduced rows
 * weighted by its own entries at the pivot columns, so trying weights 0 or 1
 * per pivot finds every group of hidden cells (a 0/1 vector) whose sum the
 * published figures determine. The table leaks when one such group is a
 * single cell, or holds between 1 and k - 1 people. Hidden totals are
 * sums of hidden cells plus shown ones, so they are covered too. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "err.h"
#include "stats.h"
#include "suppress.h"

#define MAX_R  7
#define MAX_C  5
#define MAX_H  (MAX_R * MAX_C)
#define MAX_EQ (MAX_R + MAX_C + 1)

typedef struct fixture {
    scr_cell_t cells[MAX_R * MAX_C], rows[MAX_R], cols[MAX_C];
    scr_table_t t;
} fixture_t;

static void setup(fixture_t *f, int n_rows, int n_cols, const int64_t *values)
{
    memset(f, 0, sizeof *f);
    f->t = (scr_table_t){
        .n_rows = n_rows, .n_cols = n_cols, .cells = f->cells, .rows = f->rows, .cols = f->cols};
    for (int i = 0; i < n_rows * n_cols; i++)
        f->cells[i].n = values[i];
    scr_table_totals(&f->t);
}

/* ---- the attacker --------------------------------------------------------- */

typedef struct finding {
    int cells;     /* hidden cells in the group */
    int64_t value; /* people in it */
    int first;     /* one cell of it (index into cells) */
} finding_t;

/* Returns true and the first group found when the table leaks. */
static bool attack(const scr_table_t *t, int64_t k, finding_t *out)
{
    int R = t->n_rows, C = t->n_cols;
    int hid[MAX_H], h = 0;
    for (int i = 0; i < R * C; i++)
        if (t->cells[i].suppressed)
            hid[h++] = i;
    if (h == 0)
        return false;
    static double m[MAX_EQ][MAX_H];
    int rows = 0;
    memset(m, 0, sizeof m);
    /* Equations: one per shown total, over the hidden cells it covers. */
    for (int r = 0; r < R; r++)
        if (!t->rows[r].suppressed) {
            for (int j = 0; j < h; j++)
                m[rows][j] = hid[j] / C == r;
            rows++;
        }
    for (int c = 0; c < C; c++)
        if (!t->cols[c].suppressed) {
            for (int j = 0; j < h; j++)
                m[rows][j] = hid[j] % C == c;
            rows++;
        }
    if (!t->total.suppressed) {
        for (int j = 0; j < h; j++)
            m[rows][j] = 1;
        rows++;
    }
    /* Reduced row echelon form. */
    int pivot[MAX_EQ], rank = 0;
    for (int col = 0; col < h && rank < rows; col++) {
        int p = -1;
        for (int i = rank; i < rows; i++)
            if (fabs(m[i][col]) > 1e-9 && (p < 0 || fabs(m[i][col]) > fabs(m[p][col])))
                p = i;
        if (p < 0)
            continue;
        for (int j = 0; j < h; j++) {
            double tmp = m[p][j];
            m[p][j] = m[rank][j];
            m[rank][j] = tmp;
        }
        double d = m[rank][col];
        for (int j = 0; j < h; j++)
            m[rank][j] /= d;
        for (int i = 0; i < rows; i++) {
            if (i == rank || fabs(m[i][col]) < 1e-12)
                continue;
            double f = m[i][col];
            for (int j = 0; j < h; j++)
                m[i][j] -= f * m[rank][j];
        }
        pivot[rank++] = col;
    }
    (void)pivot;
    /* Every determined 0/1 group: weights 0 or 1 on the reduced rows. */
    for (unsigned long w = 1; w < (1ul << rank); w++) {
        double v[MAX_H] = {0};
        for (int i = 0; i < rank; i++)
            if ((w >> i) & 1ul)
                for (int j = 0; j < h; j++)
                    v[j] += m[i][j];
        bool binary = true;
        int cells = 0, first = -1;
        int64_t value = 0;
        for (int j = 0; j < h && binary; j++) {
            if (fabs(v[j]) < 1e-6)
                continue;
            if (fabs(v[j] - 1) > 1e-6) {
                binary = false;
                break;
            }
            cells++;
            value += t->cells[hid[j]].n;
            if (first < 0)
                first = hid[j];
        }
        if (!binary || cells == 0)
            continue;
        if (cells == 1 || (value >= 1 && value < k)) {
            *out = (finding_t){cells, value, first};
            return true;
        }
    }
    return false;
}

static bool leaks(const scr_table_t *t, int64_t k)
{
    finding_t f;
    return attack(t, k, &f);
}

/* Every figure below k hidden, and no group isolated. */
static void check_safe(const scr_table_t *t, int64_t k)
{
    for (int i = 0; i < t->n_rows * t->n_cols; i++)
        if (t->cells[i].n < k)
            CHECK(t->cells[i].suppressed);
    for (int r = 0; r < t->n_rows; r++)
        if (t->rows[r].n < k)
            CHECK(t->rows[r].suppressed);
    for (int c = 0; c < t->n_cols; c++)
        if (t->cols[c].n < k)
            CHECK(t->cols[c].suppressed);
    if (t->total.n < k)
        CHECK(t->total.suppressed);
    finding_t f;
    if (attack(t, k, &f)) {
        fprintf(stderr, "isolated %d cell(s) holding %lld people (cell %d)\n", f.cells,
                (long long)f.value, f.first);
        CHECK(0);
    }
}

/* The attacker finds what the rule of the old code (primary suppression,
 * then a complement only where a total has a single hidden part or hidden
 * parts that sum to zero) let through. */
static void test_attacker(void)
{
    fixture_t f;
    /* The issue's table: n = 50, two bands shown, the three hidden ones
     * hold 2 people together. */
    int64_t org[] = {26, 22, 2, 0, 0};
    setup(&f, 1, 5, org);
    for (int c = 2; c < 5; c++)
        f.cells[c].suppressed = f.cols[c].suppressed = true;
    finding_t got;
    CHECK(attack(&f.t, 10, &got));
    CHECK_INT(got.value, 2);
    /* A single hidden band is the total minus the others. */
    int64_t one[] = {15, 12, 4};
    setup(&f, 1, 3, one);
    f.cells[2].suppressed = f.cols[2].suppressed = true;
    CHECK(attack(&f.t, 10, &got) && got.cells == 1);
    /* A 2 x 2 block of hidden cells with every total shown isolates
     * nothing; its margins do not tell how it splits. */
    int64_t block[] = {20, 3, 4, 20, 5, 6, 20, 20, 20};
    setup(&f, 3, 3, block);
    f.cells[1].suppressed = f.cells[2].suppressed = true;
    f.cells[4].suppressed = f.cells[5].suppressed = true;
    CHECK(!leaks(&f.t, 5));
    /* Two such blocks joined by one more hidden cell: every unit and every
     * band has two or more hidden cells holding at least k, yet units 0
     * and 1 minus bands 0 and 1 leave cell (1, 2) alone. No total on its
     * own shows it; the two trees of the table do not see it either. */
    int64_t bridge[] = {/* 0 */ 3, 3, 0, 0, 20,
                        /* 1 */ 3, 3, 2, 0, 20,
                        /* 2 */ 0, 0, 3, 3, 20,
                        /* 3 */ 0, 0, 3, 3, 20};
    setup(&f, 4, 5, bridge);
    int hide[] = {0, 1, 5, 6, 7, 12, 13, 17, 18};
    for (size_t i = 0; i < sizeof hide / sizeof hide[0]; i++)
        f.cells[hide[i]].suppressed = true;
    for (int c = 0; c < 4; c++)
        f.cols[c].suppressed = f.cols[c].n < 5;
    CHECK(attack(&f.t, 5, &got));
    CHECK(got.cells == 1 && got.first == 7 && got.value == 2);
}

/* The issue's organisation: units A (15 minimal, 12 mild, 2 moderate) and
 * B (11 minimal, 10 mild). The old rule published bands 26, 22 and three
 * hidden ones holding 2 people; now a further band is hidden, and inside
 * unit A the same. */
static void test_issue_table(void)
{
    fixture_t f;
    int64_t v[] = {15, 12, 2, 0, 0, 11, 10, 0, 0, 0};
    setup(&f, 2, 5, v);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    check_safe(&f.t, 10);
    CHECK(!f.t.total.suppressed && f.t.total.n == 50);
    int64_t hidden_bands = 0, shown = 0;
    for (int c = 0; c < 5; c++) {
        if (f.cols[c].suppressed)
            hidden_bands += f.cols[c].n;
        else
            shown++;
    }
    CHECK(hidden_bands == 0 || hidden_bands >= 10);
    CHECK(shown >= 1);
    int64_t hidden_a = 0;
    for (int c = 0; c < 5; c++)
        if (f.cells[c].suppressed)
            hidden_a += f.cells[c].n;
    CHECK(hidden_a >= 10);
}

/* A single small band would be the total minus the others: the smallest
 * other band is hidden too (the survey rule's complement). */
static void test_single_suppression_gets_a_complement(void)
{
    fixture_t f;
    int64_t v[] = {15, 12, 4};
    setup(&f, 1, 3, v);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    CHECK(!f.cells[0].suppressed);
    CHECK(f.cells[1].suppressed); /* 12, the smallest shown sibling */
    CHECK(f.cells[2].suppressed);
    CHECK(!f.rows[0].suppressed && f.rows[0].n == 31);
    check_safe(&f.t, 10);
}

/* Two small bands holding 3 people together are a group below k: the
 * survey rule hides one more. */
static void test_small_group_gets_a_complement(void)
{
    fixture_t f;
    int64_t v[] = {12, 3, 0};
    setup(&f, 1, 3, v);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    CHECK(f.cells[0].suppressed && f.cells[1].suppressed && f.cells[2].suppressed);
    CHECK(!f.rows[0].suppressed && f.rows[0].n == 15);
    check_safe(&f.t, 10);
}

/* A unit below the threshold is hidden with all its cells, and a second
 * unit is hidden so that it cannot be derived from the organisation. */
static void test_small_unit(void)
{
    fixture_t f;
    int64_t v[] = {/* A */ 20, 15, /* B */ 12, 11, /* C */ 4, 3};
    setup(&f, 3, 2, v);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    CHECK(f.rows[2].suppressed); /* C: 7 people */
    CHECK(f.rows[1].suppressed); /* B: 23, the smallest other unit */
    CHECK(!f.rows[0].suppressed && f.rows[0].n == 35);
    CHECK(!f.t.total.suppressed && f.t.total.n == 65);
    check_safe(&f.t, 10);
}

/* A bridge from the counts alone: the cells below k = 5 form two 2 x 2
 * blocks joined by cell (1, 2), every other cell is 6 or more. Each unit
 * and each band hides 6 or more people, so the two trees are content; the
 * rule finds the combination of units and bands and hides more. */
static void test_bridge(void)
{
    fixture_t f;
    int64_t v[] = {/* 0 */ 3, 3, 6, 6, 20,
                   /* 1 */ 3, 3, 2, 6, 20,
                   /* 2 */ 6, 6, 3, 3, 20,
                   /* 3 */ 6, 6, 3, 3, 20};
    setup(&f, 4, 5, v);
    CHECK_INT(scr_table_suppress(&f.t, 5), 0);
    check_safe(&f.t, 5);
    CHECK(!f.t.total.suppressed && f.t.total.n == 148);
    for (int r = 0; r < 4; r++)
        CHECK(!f.rows[r].suppressed);
}

static void test_below_threshold_everything_hidden(void)
{
    fixture_t f;
    int64_t v[] = {4, 3, 2};
    setup(&f, 1, 3, v);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    CHECK(f.t.total.suppressed);
    CHECK(f.rows[0].suppressed);
    for (int i = 0; i < 3; i++)
        CHECK(f.cells[i].suppressed && f.cols[i].suppressed);
    check_safe(&f.t, 10);
}

/* Nothing small: nothing hidden. */
static void test_large_table_untouched(void)
{
    fixture_t f;
    int64_t v[] = {10, 11, 12, 13, 14, 15};
    setup(&f, 2, 3, v);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    for (int i = 0; i < 6; i++)
        CHECK(!f.cells[i].suppressed);
    CHECK(!f.t.total.suppressed);
}

static void test_empty_and_bounds(void)
{
    fixture_t f;
    setup(&f, 0, 4, NULL);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    CHECK(f.t.total.suppressed);
    CHECK_INT(f.t.total.n, 0);
    for (int c = 0; c < 4; c++)
        CHECK(f.cols[c].suppressed);
    int64_t v[] = {1, 2};
    setup(&f, 1, 2, v);
    CHECK_INT(scr_table_suppress(&f.t, 0), WH_EINVAL);
    CHECK_INT(scr_table_suppress(&f.t, SCR_STATS_K_LEGACY_MAX + 1), WH_EINVAL);
    CHECK_INT(scr_table_suppress(&f.t, SUPPRESS_MAX_K), 0);
    /* Past what the rule's sums hold (a threshold stored before the bound):
     * the grand total alone, when it reaches k. */
    int64_t big[] = {150, 140, 10};
    setup(&f, 1, 3, big);
    CHECK_INT(scr_table_suppress(&f.t, SUPPRESS_MAX_K + 1), 0);
    CHECK(!f.t.total.suppressed && f.rows[0].suppressed);
    for (int c = 0; c < 3; c++)
        CHECK(f.cells[c].suppressed && f.cols[c].suppressed);
    check_safe(&f.t, SUPPRESS_MAX_K + 1);
    setup(&f, 1, 3, big);
    CHECK_INT(scr_table_suppress(&f.t, 301), 0);
    CHECK(f.t.total.suppressed);
}

/* The largest table a period may have fits the suppression's bounds; one
 * more unit would not be asked for (the period is refused first). */
static void test_max_units(void)
{
    int R = SCR_STATS_MAX_UNITS, C = 8;
    scr_table_t t = {.n_rows = R, .n_cols = C};
    t.cells = calloc((size_t)(R * C), sizeof *t.cells);
    t.rows = calloc((size_t)R, sizeof *t.rows);
    t.cols = calloc((size_t)C, sizeof *t.cols);
    CHECK(t.cells && t.rows && t.cols);
    for (int i = 0; i < R * C; i++)
        t.cells[i].n = (i * 7) % 13;
    scr_table_totals(&t);
    CHECK_INT(scr_table_suppress(&t, 10), 0);
    for (int r = 0; r < R; r++)
        CHECK(t.rows[r].n >= 10 || t.rows[r].suppressed);
    free(t.cells);
    free(t.rows);
    free(t.cols);
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Random tables, many with small cells: nothing isolated, every small
 * figure hidden, the counts themselves unchanged. */
static void test_random_tables(void)
{
    int rounds = 4000, fully_hidden = 0;
    for (int round = 0; round < rounds; round++) {
        int R = 1 + (int)rnd(MAX_R), C = 2 + (int)rnd(MAX_C - 1);
        int64_t k = 5 + rnd(8);
        int64_t v[MAX_R * MAX_C];
        int scale = 1 + (int)rnd(3 * (int)k);
        for (int i = 0; i < R * C; i++)
            v[i] = rnd(4) == 0 ? 0 : rnd((uint32_t)scale);
        fixture_t f;
        setup(&f, R, C, v);
        CHECK_INT(scr_table_suppress(&f.t, k), 0);
        for (int i = 0; i < R * C; i++)
            CHECK_INT(f.cells[i].n, v[i]);
        finding_t got;
        if (attack(&f.t, k, &got)) {
            fprintf(stderr, "round %d: %dx%d k=%lld: %d cell(s) with %lld people\n", round, R, C,
                    (long long)k, got.cells, (long long)got.value);
            CHECK(0);
        }
        check_safe(&f.t, k);
        fully_hidden += f.t.total.suppressed;
    }
    fprintf(stderr, "random tables: %d of %d with the total hidden\n", fully_hidden, rounds);
}

/* ---- periods -------------------------------------------------------------- */

static void test_periods(void)
{
    scr_period_t p;
    CHECK_INT(scr_period_parse("2025-03", 7, &p), 0);
    CHECK_STR(p.key, "2025-03");
    CHECK_INT(p.first_day, wh_date_from_civil(2025, 3, 1));
    CHECK_INT(p.end_day, wh_date_from_civil(2025, 4, 1));
    CHECK_INT(scr_period_parse("2025-12", 7, &p), 0);
    CHECK_INT(p.end_day, wh_date_from_civil(2026, 1, 1));
    CHECK_INT(scr_period_parse("2025-Q1", 7, &p), 0);
    CHECK_INT(p.first_day, wh_date_from_civil(2025, 1, 1));
    CHECK_INT(p.end_day, wh_date_from_civil(2025, 4, 1));
    CHECK_INT(scr_period_parse("2025-Q4", 7, &p), 0);
    CHECK_INT(p.first_day, wh_date_from_civil(2025, 10, 1));
    CHECK_INT(p.end_day, wh_date_from_civil(2026, 1, 1));
    CHECK_INT(scr_period_parse("2024", 4, &p), 0);
    CHECK_INT(p.first_day, wh_date_from_civil(2024, 1, 1));
    CHECK_INT(p.end_day, wh_date_from_civil(2025, 1, 1));
    CHECK_INT(scr_period_parse("1970", 4, &p), 0);
    CHECK_INT(scr_period_parse("9999-12", 7, &p), 0);
    static const char *const bad[] = {"",        "202",      "20250",      "2025-3",  "2025-13",
                                      "2025-00", "2025-Q0",  "2025-Q5",    "2025-q1", "2025-H1",
                                      "1969",    "2025-W01", "2025-03-01", "+2025",   "2025-1a",
                                      "2025/03", "２０２５", "2025-Q11",   "2025-03 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(scr_period_parse(bad[i], strlen(bad[i]), &p), WH_EINVAL);
    CHECK_INT(scr_period_parse(NULL, 0, &p), WH_EINVAL);
}

static int64_t at(const char *s)
{
    int64_t ms = 0;
    CHECK_INT(wh_clock_parse_rfc3339(s, strlen(s), &ms), 0);
    return ms;
}

/* A period closes SCR_STATS_GRACE_DAYS after its last day, in TZ; a result
 * counts until the month in which it was taken closes. */
static void test_close_and_cutoff(void)
{
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    CHECK_INT(SCR_STATS_GRACE_DAYS, 7);
    scr_period_t p;
    CHECK_INT(scr_period_parse("2025-03", 7, &p), 0);
    CHECK_INT(scr_period_closes_ms(&p), at("2025-04-08T00:00:00+02:00"));
    CHECK_INT(scr_period_parse("2025-Q1", 7, &p), 0);
    CHECK_INT(scr_period_closes_ms(&p), at("2025-04-08T00:00:00+02:00"));
    CHECK_INT(scr_period_parse("2025", 4, &p), 0);
    CHECK_INT(scr_period_closes_ms(&p), at("2026-01-08T00:00:00+01:00"));
    /* The last second of March and the first of April, local time. */
    CHECK_INT(scr_stats_cutoff_ms(at("2025-03-31T23:59:59+02:00")),
              at("2025-04-08T00:00:00+02:00"));
    CHECK_INT(scr_stats_cutoff_ms(at("2025-04-01T00:00:00+02:00")),
              at("2025-05-08T00:00:00+02:00"));
    CHECK_INT(scr_stats_cutoff_ms(at("2025-12-15T12:00:00Z")), at("2026-01-08T00:00:00+01:00"));
}

int main(void)
{
    TEST(test_attacker);
    TEST(test_issue_table);
    TEST(test_single_suppression_gets_a_complement);
    TEST(test_small_group_gets_a_complement);
    TEST(test_small_unit);
    TEST(test_bridge);
    TEST(test_below_threshold_everything_hidden);
    TEST(test_large_table_untouched);
    TEST(test_empty_and_bounds);
    TEST(test_max_units);
    TEST(test_random_tables);
    TEST(test_periods);
    TEST(test_close_and_cutoff);
    return 0;
}
