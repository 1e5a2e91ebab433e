/* Screening statistics for employers and insurers: how many people fall in
 * each band, per organisation and per unit, under the anonymity rule of
 * docs/DOMAIN.md. Each person counts once per instrument, in the band of their
 * latest result in the period.
 *
 * Periods (docs/DOMAIN.md, "Statistics that cannot be differenced"): figures
 * exist only for closed calendar periods, a month (YYYY-MM), a quarter
 * (YYYY-Qn) or a year (YYYY), in the deployment's time zone. A period is
 * closed SCR_STATS_GRACE_DAYS after its last day, so that integrations that
 * push results in batches have delivered them; before that it is 409, and
 * any other window (from/to, other syntax) is 422.
 *
 * The first request for a closed period computes its table for every
 * instrument and stores the figures as published (suppressed ones as
 * nothing); every later request reads that record, so results that arrive
 * later, erasures and the retention purge never change a published figure,
 * and threshold changes apply to periods not yet published. The same
 * computation freezes every other closed period of that year that overlaps
 * it (a quarter with its months, a year with all of them), so that nested
 * periods published together come from the same results.
 *
 * A result counts only when it arrived before the grace of the month in
 * which it was taken ran out: a month, its quarter and its year see the same
 * results whenever each is computed, and a result pushed late for an
 * earlier month cannot make a later table differ from an earlier one by
 * that one person. A period with no counted result at all is answered
 * empty and not stored: it shows nothing, so a table published later cannot
 * be compared with it.
 *
 * What periods alone do not close: a quarter or year published after an
 * erasure or a retention purge of results of one of its months that was
 * published before differs from that month by the people erased; and a
 * person screened in two months of a quarter counts in each month but once
 * in the quarter, so the months minus the quarter hold the earlier bands of
 * the people screened again. Either needs the figures shown on both sides
 * and knowledge of who was erased or screened again.
 *
 * The figures form a table: units (results without a unit are one more
 * row, shown as unit null) by bands, with row totals (people per unit),
 * column totals (people per band in the organisation) and the grand total.
 * Suppression is the rule of survey results (services/runtime/suppress.h), run on
 * the two trees the table is made of (organisation > units > cells, and
 * organisation > bands > cells) until neither changes: every figure below
 * the threshold k (default 10, never below 5) is hidden, no hidden figure
 * can be derived from a shown total and its shown parts, and the hidden
 * parts of any shown total (a unit, a band, the organisation) hold together
 * either nobody or at least k people. A table has one more kind of relation
 * than a tree: unit totals and band totals can be combined (the sum of some
 * units minus the sum of some bands), which can isolate hidden cells that
 * no single total does. scr_table_suppress() looks for every such
 * combination and hides a further figure until none isolates a single
 * hidden cell or a group of 1 to k - 1 people. Both views (with and without
 * by=unit) show the same suppressed table, so that one cannot be used to
 * undo the other. */
#ifndef SCREENING_STATS_H
#define SCREENING_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatch.h"

/* Units of one period's table: a period with more is 409, since the
 * suppression of its table would not fit the bounds of services/runtime/suppress.h
 * (1 + units x (bands + 1) nodes). */
#define SCR_STATS_MAX_UNITS  400
#define SCR_PERIOD_LEN       8 /* "2025-Q1" + NUL, the longest period */
#define SCR_STATS_GRACE_DAYS 7 /* days after a month before it is closed */

typedef struct scr_cell {
    int64_t n;
    bool suppressed;
} scr_cell_t;

typedef struct scr_table {
    int n_rows, n_cols;
    scr_cell_t *cells; /* n_rows x n_cols, row-major */
    scr_cell_t *rows;  /* n_rows row totals */
    scr_cell_t *cols;  /* n_cols column totals */
    scr_cell_t total;
} scr_table_t;

/* Sets the totals from the cells. */
void scr_table_totals(scr_table_t *t);
/* Thresholds up to this one may be stored: settings accepted up to 1000
 * before SCR_STATS_THRESHOLD_MAX followed SUPPRESS_MAX_K. */
#define SCR_STATS_K_LEGACY_MAX 1000

/* Primary suppression below k, then complementary suppression as described
 * above. Figures already suppressed stay so. A k above SUPPRESS_MAX_K (a
 * threshold stored before that bound) shows the grand total alone. Returns
 * 0, or WH_EINVAL for k outside 1..SCR_STATS_K_LEGACY_MAX or a table larger
 * than the bounds of services/runtime/suppress.h, WH_ENOMEM. */
int scr_table_suppress(scr_table_t *t, int64_t k);

/* A calendar period: the dates [first, end) in the deployment's time zone. */
typedef struct scr_period {
    char key[SCR_PERIOD_LEN]; /* as given, canonical */
    int32_t first_day, end_day;
} scr_period_t;

/* Parses "YYYY-MM", "YYYY-Qn" or "YYYY" (years 1970 to 9999). Returns 0 or
 * WH_EINVAL. */
int scr_period_parse(const char *s, size_t n, scr_period_t *out);

/* The first instant at which the period is closed (its last day plus the
 * grace). */
int64_t scr_period_closes_ms(const scr_period_t *p);
/* The instant from which a result taken at taken_ms no longer counts: the
 * close of the month in which it was taken. */
int64_t scr_stats_cutoff_ms(int64_t taken_ms);
/* Registers the SQL function scr_stats_cutoff(taken_ms) on the store's
 * connection; the statistics queries use it. Returns 0 or WH_ESTORE. */
int stats_register(sqlite3 *db);

/* GET /v1/screening/stats?org_id=&period=&by=unit&instrument= */
void stats_get(wh_ctx_t *c);

#endif
