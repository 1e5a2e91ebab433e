/* Scoring survey answers: every answer is put on a 0-100 scale, a
 * respondent's score for a dimension is the mean of their answered items of
 * that dimension, and a result cell (unit x dimension) accumulates those
 * respondent scores into n, mean, standard deviation, a distribution and a
 * band. Pure arithmetic: it knows nothing of the store, suppression or JSON.
 *
 * Item score: (answer - min) / (max - min) x 100, and 100 minus that for a
 * reversed item, so that every item of a dimension points the same way as
 * the dimension itself (a reversed "I have enough time for my tasks" under
 * "workload" counts towards workload).
 *
 * Band: a dimension's favourable score is its mean when higher is better and
 * 100 minus its mean otherwise. Green from SCORE_BAND_GREEN_MIN, red below
 * SCORE_BAND_RED_BELOW, amber between. On a five-point scale (1-5) these cut
 * points are the mean answers 3.5 and 2.5: a cell is green or red only when
 * its mean lies more than half a step to the good or bad side of the
 * scale's midpoint.
 *
 * Distribution: respondent scores counted in SCORE_BINS bins of 20 points,
 * [0,20) [20,40) [40,60) [60,80) [80,100]. */
#ifndef SURVEYS_SCORING_H
#define SURVEYS_SCORING_H

#include <stdbool.h>
#include <stdint.h>

#define SCORE_BINS           5
#define SCORE_BIN_WIDTH      20.0
#define SCORE_BAND_GREEN_MIN 62.5
#define SCORE_BAND_RED_BELOW 37.5

enum score_band { SCORE_GREEN, SCORE_AMBER, SCORE_RED };

typedef struct score_cell {
    int64_t n;
    double sum, sumsq;
    int64_t bins[SCORE_BINS];
} score_cell_t;

/* The 0-100 score of one answer (min < max, min <= answer <= max). */
double score_item(int answer, int min, int max, bool reverse);
/* The bin of a 0-100 score. */
int score_bin(double score);

void score_cell_add(score_cell_t *c, double score);
void score_cell_merge(score_cell_t *into, const score_cell_t *from);
double score_cell_mean(const score_cell_t *c);
/* Sample standard deviation (n - 1 in the denominator); 0 for n < 2. */
double score_cell_sd(const score_cell_t *c);

/* The favourable score (higher is always better) of a dimension mean. */
double score_favourable(double mean, bool higher_is_better);
enum score_band score_band(double mean, bool higher_is_better);
const char *score_band_name(enum score_band b);

#endif
