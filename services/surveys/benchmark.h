/* A network's benchmark: for one template and one calendar year, the
 * members' survey figures side by side (docs/DOMAIN.md, "Networks of
 * organisations").
 *
 * Published once, after the year has ended (in the deployment's time zone),
 * from each member's last survey from the template closed in that year; then
 * stored as computed and never changed, so that no two releases differ by
 * one organisation. The members at publication are frozen into it: joining
 * or leaving afterwards changes nothing, and a second publication is 409.
 *
 * Per dimension, an organisation counts when at least its survey's
 * anonymity threshold of respondents answered the dimension; the dimension
 * is shown only when at least BENCH_MIN_ORGS organisations count. Its
 * figures: how many organisations, the mean of their means, and quartiles.
 * Quartiles of a handful of values are values of single organisations (the
 * median of five is the third organisation's mean), so they are taken over
 * micro-aggregated values: the sorted organisation means are cut into
 * groups of at least BENCH_GROUP_MIN consecutive organisations, each mean
 * is replaced by its group's mean, and the quartiles (linear interpolation)
 * are computed over those. Every figure released is then a combination of
 * group sums, and a member that knows its own figure still faces at least
 * two unknown organisations in every sum: no single organisation's figure
 * can be derived. With fewer than two groups the quartiles are null.
 *
 * Each organisation sees its own mean and quartile position beside the
 * network's figures; no other organisation's own figure is ever shown, to
 * admins neither. */
#ifndef SURVEYS_BENCHMARK_H
#define SURVEYS_BENCHMARK_H

#include <stdbool.h>

#include "dispatch.h"

#define BENCH_MIN_ORGS  5    /* organisations a dimension needs to be shown */
#define BENCH_GROUP_MIN 3    /* organisations in each micro-aggregation group */
#define BENCH_MIN_YEAR  2000 /* years a benchmark may cover */
#define BENCH_MAX_YEAR  9999

/* Quartiles p25, median, p75 of n values sorted ascending, micro-aggregated
 * as above, into q; false (q untouched) when n < 2 * BENCH_GROUP_MIN. */
bool bench_quartiles(const double *sorted, int n, double q[3]);
/* The quarter (1 lowest .. 4 highest) that value falls in: 1 at or below
 * p25, 2 up to the median, 3 up to p75, 4 above. */
int bench_quarter(double value, const double q[3]);

void benchmark_publish(wh_ctx_t *c);
void benchmark_get(wh_ctx_t *c);

#endif
