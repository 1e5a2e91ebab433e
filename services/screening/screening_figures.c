#include "screening_figures.h"

/* Counted from the store, so that they survive restarts; alerts removed by
 * an erasure leave these counts. */
static const char SQL_ALERTS_OPENED[] = "SELECT count(*) FROM alerts";
static const char SQL_ALERTS_ESCALATED[] =
    "SELECT count(*) FROM alerts WHERE escalated_ms IS NOT NULL";
static const char SQL_ALERTS_CLOSED[] = "SELECT count(*) FROM alerts WHERE state = 'closed'";
static const char SQL_ALERTS_BY_STATE[] =
    "SELECT count(*), state FROM alerts GROUP BY state ORDER BY state LIMIT ?1";
static const char SQL_SCREENINGS[] = "SELECT count(*) FROM screenings";

void screening_figures(wh_store_t *store, wh_figures_t *f)
{
    wh_figure_gauge(f, "wh_screening_alerts_opened", "Alerts ever opened (kept in the store).",
                    (double)wh_figures_count(wh_store_stmt(store, SQL_ALERTS_OPENED)));
    wh_figure_gauge(f, "wh_screening_alerts_escalated",
                    "Alerts escalated for not being acknowledged in time.",
                    (double)wh_figures_count(wh_store_stmt(store, SQL_ALERTS_ESCALATED)));
    wh_figure_gauge(f, "wh_screening_alerts_closed", "Alerts closed.",
                    (double)wh_figures_count(wh_store_stmt(store, SQL_ALERTS_CLOSED)));
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ALERTS_BY_STATE);
    if (st)
        sqlite3_bind_int(st, 1, WH_FIGURES_MAX_LABEL_VALUES);
    wh_figures_rows(f, st, "wh_screening_alerts", "Alerts by state.", "state", NULL);
    wh_figure_gauge(f, "wh_screening_results", "Screening results stored.",
                    (double)wh_figures_count(wh_store_stmt(store, SQL_SCREENINGS)));
}
