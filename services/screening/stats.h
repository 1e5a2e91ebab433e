/* Screening statistics for employers and insurers: how many people fall in
 * each band, per organisation and per unit, under the anonymity rule of
 * DOMAIN.md. Each person counts once per instrument, in the band of their
 * latest result in the period.
 *
 * The figures form a table: units (results without a unit are one more
 * row, shown as unit null) by bands, with row totals (people per unit),
 * column totals (people per band in the organisation) and the grand total.
 * Every figure below the threshold k (default 10, never below 5) is
 * suppressed; then complementary suppression runs until no suppressed
 * figure can be derived from a shown total and its shown parts: wherever a
 * total and all but one of its parts would be visible, or the hidden parts
 * of a shown total would have to be zero, the smallest further part is
 * suppressed (or the total, when no part is left). Both views (with and
 * without by=unit) show the same suppressed table, so that one cannot be
 * used to undo the other. */
#ifndef SCREENING_STATS_H
#define SCREENING_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatch.h"

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
/* Primary suppression below k, then complementary suppression. Returns 0,
 * or WH_ENOMEM. */
int scr_table_suppress(scr_table_t *t, int64_t k);

/* GET /v1/screening/stats?org_id=&from=&to=&by=unit&instrument= */
void stats_get(wh_ctx_t *c);

#endif
