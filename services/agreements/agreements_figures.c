#include "agreements_figures.h"

static const char SQL_REMINDERS[] =
    "SELECT count(*), status, kind FROM agreement_reminders GROUP BY status, kind"
    " ORDER BY status, kind LIMIT ?1";
static const char SQL_AGREEMENTS[] = "SELECT count(*) FROM agreements";

void agreements_figures(wh_store_t *store, wh_figures_t *f)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_REMINDERS);
    if (st)
        sqlite3_bind_int(st, 1, WH_FIGURES_MAX_LABEL_VALUES);
    wh_figures_rows(f, st, "wh_agreements_reminders",
                    "Reminders recorded, by status (sent or skipped) and kind.", "status", "kind");
    wh_figure_gauge(f, "wh_agreements_agreements", "Agreements stored.",
                    (double)wh_figures_count(wh_store_stmt(store, SQL_AGREEMENTS)));
}
