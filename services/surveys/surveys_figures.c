#include "surveys_figures.h"

static const char SQL_RESPONSES[] = "SELECT count(*) FROM survey_responses";
static const char SQL_SURVEYS_BY_STATE[] =
    "SELECT count(*), state FROM surveys GROUP BY state ORDER BY state LIMIT ?1";

void surveys_figures(wh_store_t *store, wh_figures_t *f)
{
    wh_figure_gauge(f, "wh_surveys_responses", "Survey responses stored, over all surveys.",
                    (double)wh_figures_count(wh_store_stmt(store, SQL_RESPONSES)));
    sqlite3_stmt *st = wh_store_stmt(store, SQL_SURVEYS_BY_STATE);
    if (st)
        sqlite3_bind_int(st, 1, WH_FIGURES_MAX_LABEL_VALUES);
    wh_figures_rows(f, st, "wh_surveys", "Surveys by state.", "state", NULL);
}
