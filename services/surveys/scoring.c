#include "scoring.h"

#include <math.h>

double score_item(int answer, int min, int max, bool reverse)
{
    double s = (double)(answer - min) * 100.0 / (double)(max - min);
    return reverse ? 100.0 - s : s;
}

int score_bin(double score)
{
    /* The epsilon keeps a score that is a bin edge in exact arithmetic (60
     * as the mean of 50 and 70) in the upper bin when floating point lands
     * a hair below it. */
    int b = (int)floor((score + 1e-9) / SCORE_BIN_WIDTH);
    return b < 0 ? 0 : b >= SCORE_BINS ? SCORE_BINS - 1 : b;
}

void score_cell_add(score_cell_t *c, double score)
{
    c->n++;
    c->sum += score;
    c->sumsq += score * score;
    c->bins[score_bin(score)]++;
}

void score_cell_merge(score_cell_t *into, const score_cell_t *from)
{
    into->n += from->n;
    into->sum += from->sum;
    into->sumsq += from->sumsq;
    for (int i = 0; i < SCORE_BINS; i++)
        into->bins[i] += from->bins[i];
}

double score_cell_mean(const score_cell_t *c)
{
    return c->n ? c->sum / (double)c->n : 0.0;
}

double score_cell_sd(const score_cell_t *c)
{
    if (c->n < 2)
        return 0.0;
    double n = (double)c->n;
    double var = (c->sumsq - c->sum * c->sum / n) / (n - 1.0);
    return var > 0.0 ? sqrt(var) : 0.0;
}

double score_favourable(double mean, bool higher_is_better)
{
    return higher_is_better ? mean : 100.0 - mean;
}

enum score_band score_band(double mean, bool higher_is_better)
{
    double f = score_favourable(mean, higher_is_better);
    return f >= SCORE_BAND_GREEN_MIN  ? SCORE_GREEN
           : f < SCORE_BAND_RED_BELOW ? SCORE_RED
                                      : SCORE_AMBER;
}

const char *score_band_name(enum score_band b)
{
    return b == SCORE_GREEN ? "green" : b == SCORE_RED ? "red" : "amber";
}
