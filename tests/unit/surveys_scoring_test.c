/* services/surveys/scoring.c: item scores on 0-100 with reversed items,
 * bins at their edges, cell mean and sample standard deviation against
 * hand-computed values, merging, and the band cut-offs in both directions. */
#include <math.h>

#include "check.h"
#include "scoring.h"

#define NEAR(a, b) CHECK(fabs((a) - (b)) < 1e-9)

static void test_item(void)
{
    NEAR(score_item(1, 1, 5, false), 0.0);
    NEAR(score_item(5, 1, 5, false), 100.0);
    NEAR(score_item(2, 1, 5, false), 25.0);
    NEAR(score_item(2, 1, 5, true), 75.0);
    NEAR(score_item(0, 0, 10, false), 0.0);
    NEAR(score_item(7, 0, 10, true), 30.0);
    NEAR(score_item(3, 1, 7, false), 100.0 / 3.0);
}

static void test_bins(void)
{
    CHECK_INT(score_bin(0.0), 0);
    CHECK_INT(score_bin(19.99), 0);
    CHECK_INT(score_bin(20.0), 1);
    CHECK_INT(score_bin(59.99999999999), 3); /* an edge reached by rounding */
    CHECK_INT(score_bin(79.9), 3);
    CHECK_INT(score_bin(80.0), 4);
    CHECK_INT(score_bin(100.0), 4);
    CHECK_INT(score_bin(-0.0), 0);
}

static void test_cell(void)
{
    score_cell_t c = {0};
    NEAR(score_cell_mean(&c), 0.0);
    NEAR(score_cell_sd(&c), 0.0);
    double v[] = {0, 25, 50, 75, 100, 100};
    for (int i = 0; i < 6; i++)
        score_cell_add(&c, v[i]);
    CHECK_INT(c.n, 6);
    NEAR(score_cell_mean(&c), 350.0 / 6.0);
    /* Sample variance: sum of squared deviations / (n - 1). */
    double m = 350.0 / 6.0, ss = 0;
    for (int i = 0; i < 6; i++)
        ss += (v[i] - m) * (v[i] - m);
    CHECK(fabs(score_cell_sd(&c) - sqrt(ss / 5.0)) < 1e-9);
    CHECK_INT(c.bins[0], 0 + 1);
    CHECK_INT(c.bins[1], 1);
    CHECK_INT(c.bins[2], 1);
    CHECK_INT(c.bins[3], 1);
    CHECK_INT(c.bins[4], 2);

    score_cell_t a = {0}, b = {0};
    score_cell_add(&a, 10);
    score_cell_add(&b, 30);
    score_cell_add(&b, 50);
    score_cell_merge(&a, &b);
    CHECK_INT(a.n, 3);
    NEAR(score_cell_mean(&a), 30.0);
    NEAR(score_cell_sd(&a), 20.0);
    score_cell_t one = {0};
    score_cell_add(&one, 42);
    NEAR(score_cell_sd(&one), 0.0);
}

static void test_bands(void)
{
    CHECK_INT(score_band(62.5, true), SCORE_GREEN);
    CHECK_INT(score_band(62.49, true), SCORE_AMBER);
    CHECK_INT(score_band(37.5, true), SCORE_AMBER);
    CHECK_INT(score_band(37.49, true), SCORE_RED);
    /* Lower is better (workload): 80 is unfavourable. */
    CHECK_INT(score_band(80, false), SCORE_RED);
    CHECK_INT(score_band(37.5, false), SCORE_GREEN);
    CHECK_INT(score_band(50, false), SCORE_AMBER);
    NEAR(score_favourable(30, false), 70);
    CHECK_STR(score_band_name(SCORE_GREEN), "green");
    CHECK_STR(score_band_name(SCORE_AMBER), "amber");
    CHECK_STR(score_band_name(SCORE_RED), "red");
}

int main(void)
{
    TEST(test_item);
    TEST(test_bins);
    TEST(test_cell);
    TEST(test_bands);
    return 0;
}
