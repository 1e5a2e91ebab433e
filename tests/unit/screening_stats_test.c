/* services/screening/stats.c: primary and complementary suppression of the
 * units x bands table. Hand-worked cases first, then random tables checked
 * against an independent attacker: starting from the shown figures, it
 * derives every figure it can from the additive relations (a total and all
 * but one of its parts give the last one; hidden parts of a shown total
 * that leave nothing over are zero) and must never learn a suppressed one. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "stats.h"

#define MAX_R 8
#define MAX_C 6

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

/* Relations as index lists over one array of all figures: cells, then row
 * totals, then column totals, then the grand total. */
typedef struct relation {
    int parent;
    int children[MAX_R > MAX_C ? MAX_R : MAX_C];
    int n;
} relation_t;

static int relations(const scr_table_t *t, relation_t *out)
{
    int R = t->n_rows, C = t->n_cols, k = 0;
    int rows0 = R * C, cols0 = rows0 + R, total = cols0 + C;
    for (int r = 0; r < R; r++) {
        out[k] = (relation_t){.parent = rows0 + r, .n = C};
        for (int c = 0; c < C; c++)
            out[k].children[c] = r * C + c;
        k++;
    }
    for (int c = 0; c < C; c++) {
        out[k] = (relation_t){.parent = cols0 + c, .n = R};
        for (int r = 0; r < R; r++)
            out[k].children[r] = r * C + c;
        k++;
    }
    out[k] = (relation_t){.parent = total, .n = R};
    for (int r = 0; r < R; r++)
        out[k].children[r] = rows0 + r;
    k++;
    out[k] = (relation_t){.parent = total, .n = C};
    for (int c = 0; c < C; c++)
        out[k].children[c] = cols0 + c;
    return k + 1;
}

static scr_cell_t *figure(scr_table_t *t, int i)
{
    int R = t->n_rows, C = t->n_cols;
    if (i < R * C)
        return &t->cells[i];
    if (i < R * C + R)
        return &t->rows[i - R * C];
    if (i < R * C + R + C)
        return &t->cols[i - R * C - R];
    return &t->total;
}

/* The attacker: true if some suppressed figure can be derived. */
static bool leaks(scr_table_t *t)
{
    relation_t rel[MAX_R + MAX_C + 2];
    int n_rel = relations(t, rel);
    int n_fig = t->n_rows * t->n_cols + t->n_rows + t->n_cols + 1;
    bool known[MAX_R * MAX_C + MAX_R + MAX_C + 1];
    for (int i = 0; i < n_fig; i++)
        known[i] = !figure(t, i)->suppressed;
    bool changed = true;
    while (changed) {
        changed = false;
        for (int k = 0; k < n_rel; k++) {
            int unknown = !known[rel[k].parent], last = rel[k].parent;
            int64_t sum = 0;
            for (int j = 0; j < rel[k].n; j++) {
                int ch = rel[k].children[j];
                if (!known[ch]) {
                    unknown++;
                    last = ch;
                } else {
                    sum += figure(t, ch)->n;
                }
            }
            if (unknown == 1) {
                known[last] = true;
                changed = true;
            } else if (unknown > 1 && known[rel[k].parent] && figure(t, rel[k].parent)->n == sum) {
                for (int j = 0; j < rel[k].n; j++)
                    known[rel[k].children[j]] = true;
                changed = true;
            }
        }
    }
    for (int i = 0; i < n_fig; i++)
        if (figure(t, i)->suppressed && known[i])
            return true;
    return false;
}

static void check_invariants(scr_table_t *t, int64_t k)
{
    int n_fig = t->n_rows * t->n_cols + t->n_rows + t->n_cols + 1;
    for (int i = 0; i < n_fig; i++)
        if (figure(t, i)->n < k)
            CHECK(figure(t, i)->suppressed);
    CHECK(!leaks(t));
}

/* The attacker itself: it finds what primary suppression alone leaves. */
static void test_attacker(void)
{
    fixture_t f;
    int64_t v[] = {15, 12, 4};
    setup(&f, 1, 3, v);
    f.cells[2].suppressed = f.cols[2].suppressed = true;
    CHECK(leaks(&f.t));
    int64_t w[] = {20, 0, 0};
    setup(&f, 1, 3, w);
    f.cells[1].suppressed = f.cells[2].suppressed = true;
    f.cols[1].suppressed = f.cols[2].suppressed = true;
    CHECK(leaks(&f.t));
    int64_t x[] = {20, 15, 12, 11, 4, 3};
    setup(&f, 3, 2, x);
    f.cells[4].suppressed = f.cells[5].suppressed = f.rows[2].suppressed = true;
    f.cells[2].suppressed = f.cells[3].suppressed = true;
    CHECK(leaks(&f.t)); /* row C is the total minus rows A and B */
}

/* One unit: the small bands are hidden, and since two are hidden with 3
 * people between them, nothing more is needed. */
static void test_one_unit(void)
{
    fixture_t f;
    int64_t v[] = {12, 3, 0};
    setup(&f, 1, 3, v);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    CHECK(!f.cells[0].suppressed && f.cells[0].n == 12);
    CHECK(f.cells[1].suppressed && f.cells[2].suppressed);
    CHECK(!f.rows[0].suppressed && f.rows[0].n == 15);
    CHECK(!f.t.total.suppressed);
    CHECK(!f.cols[0].suppressed && f.cols[1].suppressed && f.cols[2].suppressed);
    check_invariants(&f.t, 10);
}

/* A single small band would be the total minus the others: the smallest
 * other band is hidden too. */
static void test_single_suppression_gets_a_complement(void)
{
    fixture_t f;
    int64_t v[] = {15, 12, 4};
    setup(&f, 1, 3, v);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    CHECK(!f.cells[0].suppressed);
    CHECK(f.cells[1].suppressed); /* 12, the smallest shown sibling */
    CHECK(f.cells[2].suppressed);
    CHECK(!f.rows[0].suppressed);
    check_invariants(&f.t, 10);
}

/* Everyone in one band: the hidden bands would have to be zero, which says
 * that everyone is in the shown one. */
static void test_zero_residual(void)
{
    fixture_t f;
    int64_t v[] = {20, 0, 0};
    setup(&f, 1, 3, v);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    CHECK(f.cells[0].suppressed && f.cells[1].suppressed && f.cells[2].suppressed);
    CHECK(!f.t.total.suppressed && f.t.total.n == 20);
    check_invariants(&f.t, 10);
}

/* A unit below the threshold is hidden with all its bands, and a second
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
    check_invariants(&f.t, 10);
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
    /* The same table at k = 2 shows what reaches 2 and protects the rest. */
    setup(&f, 1, 3, v);
    CHECK_INT(scr_table_suppress(&f.t, 2), 0);
    CHECK(!f.t.total.suppressed);
    check_invariants(&f.t, 2);
}

static void test_empty(void)
{
    fixture_t f;
    setup(&f, 0, 4, NULL);
    CHECK_INT(scr_table_suppress(&f.t, 10), 0);
    CHECK(f.t.total.suppressed);
    CHECK_INT(f.t.total.n, 0);
}

/* Random tables: no leak, every small figure hidden, figures unchanged. */
static void test_random_tables(void)
{
    srand(20250301);
    for (int round = 0; round < 20000; round++) {
        int R = 1 + rand() % MAX_R, C = 2 + rand() % (MAX_C - 1);
        int64_t k = 5 + rand() % 8;
        int64_t v[MAX_R * MAX_C];
        int scale = 1 + rand() % 40;
        for (int i = 0; i < R * C; i++)
            v[i] = rand() % 4 == 0 ? 0 : rand() % scale;
        fixture_t f;
        setup(&f, R, C, v);
        CHECK_INT(scr_table_suppress(&f.t, k), 0);
        for (int i = 0; i < R * C; i++)
            CHECK_INT(f.cells[i].n, v[i]);
        if (leaks(&f.t)) {
            fprintf(stderr, "round %d: %dx%d k=%lld leaks\n", round, R, C, (long long)k);
            CHECK(0);
        }
        check_invariants(&f.t, k);
    }
}

int main(void)
{
    TEST(test_attacker);
    TEST(test_one_unit);
    TEST(test_single_suppression_gets_a_complement);
    TEST(test_zero_residual);
    TEST(test_small_unit);
    TEST(test_below_threshold_everything_hidden);
    TEST(test_empty);
    TEST(test_random_tables);
    return 0;
}
