/* services/surveys/suppress.c: complementary suppression on hand-made unit
 * trees with the exact cells expected, and on random trees checked by an
 * independent attacker: Gaussian elimination over every family's equation
 * (parent = children + own) must not determine any suppressed cell, and no
 * sum of suppressed groups an observer can isolate below a shown cell may
 * hold between 1 and k - 1 respondents. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "suppress.h"

#define MAXN 64

/* Builds nodes from parent and own arrays; n is computed as subtree sums. */
static void build(supp_node_t *nd, int count, const int *parent, const int64_t *own)
{
    for (int i = 0; i < count; i++)
        nd[i] = (supp_node_t){.parent = parent[i], .n = own[i], .own = own[i]};
    for (int i = count - 1; i > 0; i--)
        nd[parent[i]].n += nd[i].n;
}

static void check_hidden(const supp_node_t *nd, int count, const char *want)
{
    char got[MAXN + 1];
    for (int i = 0; i < count; i++)
        got[i] = nd[i].hidden ? 'x' : '.';
    got[count] = '\0';
    CHECK_STR(got, want);
}

/* root 20: A 8, B 3, C 9. B is primary; with B alone suppressed it would be
 * root - A - C, so the smallest further sibling A goes too. */
static void test_single_sibling(void)
{
    int parent[] = {-1, 0, 0, 0};
    int64_t own[] = {0, 8, 3, 9};
    supp_node_t nd[4];
    build(nd, 4, parent, own);
    CHECK_INT(supp_run(nd, 4, 5), 0);
    check_hidden(nd, 4, ".xx.");
}

/* Respondents who chose the root itself are one more unknown child: with
 * own 3, B (3) cannot be told from them, and 3 + 3 >= 5 is no small group. */
static void test_own_counts_as_child(void)
{
    int parent[] = {-1, 0, 0, 0};
    int64_t own[] = {3, 8, 3, 6};
    supp_node_t nd[4];
    build(nd, 4, parent, own);
    CHECK_INT(supp_run(nd, 4, 5), 0);
    check_hidden(nd, 4, "..x.");
}

/* Own alone below k (2 people chose the root): it would be root minus the
 * children, so the smallest child is suppressed. */
static void test_small_own(void)
{
    int parent[] = {-1, 0, 0};
    int64_t own[] = {2, 8, 6};
    supp_node_t nd[3];
    build(nd, 3, parent, own);
    CHECK_INT(supp_run(nd, 3, 5), 0);
    check_hidden(nd, 3, "..x");
}

/* Two small siblings (2 + 2) would be revealed together as a group of 4. */
static void test_small_pair(void)
{
    int parent[] = {-1, 0, 0, 0, 0};
    int64_t own[] = {0, 2, 2, 8, 8};
    supp_node_t nd[5];
    build(nd, 5, parent, own);
    CHECK_INT(supp_run(nd, 5, 5), 0);
    check_hidden(nd, 5, ".xxx.");
}

/* Three levels: X1 primary, its smallest sibling X2 complementary; the
 * level above is untouched. */
static void test_three_levels(void)
{
    /* 0 root, 1 X, 2 Y, 3 X1, 4 X2, 5 X3, 6 Y1, 7 Y2 */
    int parent[] = {-1, 0, 0, 1, 1, 1, 2, 2};
    int64_t own[] = {0, 0, 0, 3, 6, 6, 7, 8};
    supp_node_t nd[8];
    build(nd, 8, parent, own);
    CHECK_INT(supp_run(nd, 8, 5), 0);
    check_hidden(nd, 8, "...xx...");
}

/* A suppressed parent must not be the sum of shown children: A (4) is
 * primary, B is suppressed to protect it, and then B's only child B1, which
 * equals B. */
static void test_hidden_parent(void)
{
    /* 0 root, 1 A, 2 B, 3 A1, 4 A2, 5 B1 */
    int parent[] = {-1, 0, 0, 1, 1, 2};
    int64_t own[] = {0, 0, 0, 2, 2, 8};
    supp_node_t nd[6];
    build(nd, 6, parent, own);
    CHECK_INT(supp_run(nd, 6, 5), 0);
    check_hidden(nd, 6, ".xxxxx");
}

/* A leak through a suppressed cell: A (7, complementary) minus its shown
 * child A2 (6) leaves A1 (1); with B (3) that is a group of 4 below the
 * root, which has no shown child left, so A2 is suppressed. */
static void test_leak_through_hidden(void)
{
    /* 0 root, 1 A, 2 B, 3 A1, 4 A2 */
    int parent[] = {-1, 0, 0, 1, 1};
    int64_t own[] = {0, 0, 3, 1, 6};
    supp_node_t nd[5];
    build(nd, 5, parent, own);
    nd[1].hidden = true; /* suppressed by another table */
    CHECK_INT(supp_run(nd, 5, 5), 0);
    check_hidden(nd, 5, ".xxxx");
}

static void test_everything_small(void)
{
    int parent[] = {-1, 0, 0};
    int64_t own[] = {0, 2, 1};
    supp_node_t nd[3];
    build(nd, 3, parent, own);
    CHECK_INT(supp_run(nd, 3, 5), 0);
    check_hidden(nd, 3, "xxx");
}

static void test_bad_input(void)
{
    supp_node_t nd[3] = {{.parent = -1}, {.parent = 2}, {.parent = 0}};
    CHECK_INT(supp_run(nd, 3, 5), WH_EINVAL); /* child before parent */
    nd[1].parent = 0;
    CHECK_INT(supp_run(nd, 3, 0), WH_EINVAL);
    CHECK_INT(supp_run(nd, 3, SUPPRESS_MAX_K + 1), WH_EINVAL);
    CHECK_INT(supp_run(nd, 0, 5), WH_EINVAL);
    nd[0].parent = 1;
    CHECK_INT(supp_run(nd, 3, 5), WH_EINVAL);
}

/* ---- the attacker --------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Rank of the rows (over the unknowns) by Gaussian elimination. */
static int rank_of(double m[][2 * MAXN], int rows, int cols)
{
    int r = 0;
    for (int c = 0; c < cols && r < rows; c++) {
        int piv = -1;
        for (int i = r; i < rows; i++)
            if (fabs(m[i][c]) > 1e-9) {
                piv = i;
                break;
            }
        if (piv < 0)
            continue;
        for (int j = 0; j < cols; j++) {
            double tmp = m[r][j];
            m[r][j] = m[piv][j];
            m[piv][j] = tmp;
        }
        for (int i = 0; i < rows; i++) {
            if (i == r || fabs(m[i][c]) < 1e-12)
                continue;
            double f = m[i][c] / m[r][c];
            for (int j = 0; j < cols; j++)
                m[i][j] -= f * m[r][j];
        }
        r++;
    }
    return r;
}

/* True when the family equations determine hidden cell x. Unknowns are the
 * hidden cells (column i) and each non-empty own (column MAXN + i). */
static bool derivable(const supp_node_t *nd, int count, int x)
{
    static double m[MAXN + 1][2 * MAXN];
    int rows = 0;
    memset(m, 0, sizeof m);
    for (int v = 0; v < count; v++) {
        bool has_children = false;
        for (int c = 1; c < count; c++)
            if (nd[c].parent == v) {
                has_children = true;
                if (nd[c].hidden)
                    m[rows][c] = -1;
            }
        if (!has_children)
            continue;
        if (nd[v].hidden)
            m[rows][v] = 1;
        if (nd[v].own > 0)
            m[rows][MAXN + v] = -1;
        rows++;
    }
    static double m2[MAXN + 1][2 * MAXN];
    memcpy(m2, m, sizeof m);
    int r1 = rank_of(m, rows, 2 * MAXN);
    memset(m2[rows], 0, sizeof m2[rows]);
    m2[rows][x] = 1;
    int r2 = rank_of(m2, rows + 1, 2 * MAXN);
    return r1 == r2;
}

/* Every sum an observer can isolate below shown cell v, by brute force over
 * which suppressed cells are expanded; fails on one between 1 and k - 1. */
static void expand_all(const supp_node_t *nd, int count, int *front, int nf, int64_t fixed, int k,
                       int depth)
{
    int64_t sum = fixed;
    for (int i = 0; i < nf; i++)
        sum += nd[front[i]].n;
    if (sum > 0 && sum < k) {
        fprintf(stderr, "isolated a group of %lld\n", (long long)sum);
        CHECK(0);
    }
    if (depth > 6)
        return;
    for (int i = 0; i < nf; i++) {
        int a = front[i];
        bool internal = false;
        for (int c = 1; c < count; c++)
            internal = internal || nd[c].parent == a;
        if (!internal)
            continue;
        int nfront[MAXN];
        int m = 0;
        for (int j = 0; j < nf; j++)
            if (j != i)
                nfront[m++] = front[j];
        for (int c = 1; c < count; c++)
            if (nd[c].parent == a && nd[c].hidden)
                nfront[m++] = c;
        expand_all(nd, count, nfront, m, fixed + nd[a].own, k, depth + 1);
    }
}

static void test_random_trees(void)
{
    for (int round = 0; round < 400; round++) {
        int count = 2 + (int)rnd(30);
        int k = 5 + (int)rnd(4);
        int parent[MAXN];
        int64_t own[MAXN];
        int depth[MAXN];
        parent[0] = -1;
        depth[0] = 0;
        own[0] = rnd(4) == 0 ? rnd(4) : 0;
        for (int i = 1; i < count; i++) {
            int p;
            do
                p = (int)rnd((uint32_t)i);
            while (depth[p] >= 3);
            parent[i] = p;
            depth[i] = depth[p] + 1;
            own[i] = rnd(3) == 0 ? rnd(5) : rnd(14);
        }
        supp_node_t nd[MAXN];
        build(nd, count, parent, own);
        CHECK_INT(supp_run(nd, count, k), 0);
        for (int i = 0; i < count; i++) {
            if (nd[i].n < k)
                CHECK(nd[i].hidden);
            if (nd[i].hidden)
                CHECK(!derivable(nd, count, i));
        }
        for (int v = 0; v < count; v++) {
            if (nd[v].hidden)
                continue;
            int front[MAXN], nf = 0;
            for (int c = 1; c < count; c++)
                if (nd[c].parent == v && nd[c].hidden)
                    front[nf++] = c;
            expand_all(nd, count, front, nf, nd[v].own, k, 0);
        }
    }
}

int main(void)
{
    TEST(test_single_sibling);
    TEST(test_own_counts_as_child);
    TEST(test_small_own);
    TEST(test_small_pair);
    TEST(test_three_levels);
    TEST(test_hidden_parent);
    TEST(test_leak_through_hidden);
    TEST(test_everything_small);
    TEST(test_bad_input);
    TEST(test_random_trees);
    return 0;
}
