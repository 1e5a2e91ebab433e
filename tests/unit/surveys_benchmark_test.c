/* services/surveys/benchmark.c: quartiles of micro-aggregated organisation
 * means against hand-computed values, withheld below two groups, never a
 * single organisation's mean where plain quartiles would be, and the quarter
 * a value falls in at the edges. */
#include <math.h>

#include "benchmark.h"
#include "check.h"

#define NEAR(a, b) CHECK(fabs((a) - (b)) < 1e-9)

static void test_withheld_below_two_groups(void)
{
    double v[5] = {10, 20, 30, 40, 50};
    double q[3] = {-1, -1, -1};
    CHECK(!bench_quartiles(v, 5, q)); /* five: one group of five */
    NEAR(q[0], -1);
    CHECK(!bench_quartiles(v, 0, q));
}

static void test_two_groups(void)
{
    /* Six: groups {10, 20, 30} and {40, 50, 60} -> 20 x3, 50 x3. p25 at
     * position 1.25 (20), median 2.5 (halfway, 35), p75 3.75 (50). */
    double v[6] = {10, 20, 30, 40, 50, 60};
    double q[3];
    CHECK(bench_quartiles(v, 6, q));
    NEAR(q[0], 20);
    NEAR(q[1], 35);
    NEAR(q[2], 50);
    /* Seven: groups of 3 and 4 -> 20 x3, 55 x4; median at position 3. */
    double w[7] = {10, 20, 30, 40, 50, 60, 70};
    CHECK(bench_quartiles(w, 7, q));
    NEAR(q[0], 20);
    NEAR(q[1], 55);
    NEAR(q[2], 55);
}

static void test_no_single_value(void)
{
    /* Odd counts put plain quartiles on single values; the published ones
     * are group means of at least three distinct values, none of which is
     * any input (inputs are spread so that no group mean coincides). */
    double v[13];
    for (int i = 0; i < 13; i++)
        v[i] = i * i + 0.5;
    double q[3];
    CHECK(bench_quartiles(v, 13, q));
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 13; i++)
            CHECK(fabs(q[k] - v[i]) > 1e-6);
    /* Groups: 13 / 3 = 4 groups of 3, 3, 3, 4. */
    NEAR(q[0], (v[3] + v[4] + v[5]) / 3);
}

static void test_quarter(void)
{
    double q[3] = {25, 50, 75};
    CHECK_INT(bench_quarter(0, q), 1);
    CHECK_INT(bench_quarter(25, q), 1);
    CHECK_INT(bench_quarter(25.1, q), 2);
    CHECK_INT(bench_quarter(50, q), 2);
    CHECK_INT(bench_quarter(75, q), 3);
    CHECK_INT(bench_quarter(75.1, q), 4);
    CHECK_INT(bench_quarter(100, q), 4);
}

int main(void)
{
    TEST(test_withheld_below_two_groups);
    TEST(test_two_groups);
    TEST(test_no_single_value);
    TEST(test_quarter);
    return 0;
}
