#include "notifications_figures.h"

#include "ingest.h"

static const char SQL_DELIVERIES[] =
    "SELECT count(*), status, channel FROM deliveries GROUP BY status, channel"
    " ORDER BY status, channel LIMIT ?1";
static const char SQL_ATTEMPTS[] =
    "SELECT count(*), outcome FROM delivery_attempts GROUP BY outcome ORDER BY outcome LIMIT ?1";
static const char SQL_SUBSCRIPTIONS[] = "SELECT count(*) FROM subscriptions";

void notifications_figures(wh_store_t *store, wh_figures_t *f)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_DELIVERIES);
    if (st)
        sqlite3_bind_int(st, 1, WH_FIGURES_MAX_LABEL_VALUES);
    wh_figures_rows(f, st, "wh_notifications_deliveries", "Deliveries by status and channel.",
                    "status", "channel");
    st = wh_store_stmt(store, SQL_ATTEMPTS);
    if (st)
        sqlite3_bind_int(st, 1, WH_FIGURES_MAX_LABEL_VALUES);
    wh_figures_rows(f, st, "wh_notifications_delivery_attempts", "Delivery attempts by outcome.",
                    "outcome", NULL);
    wh_figure_gauge(f, "wh_notifications_event_credit",
                    "Events producers may send now (EVENTS_BACKLOG_MAX less the webhooks due).",
                    (double)events_credit(store));
    wh_figure_gauge(f, "wh_notifications_subscriptions", "Subscriptions stored.",
                    (double)wh_figures_count(wh_store_stmt(store, SQL_SUBSCRIPTIONS)));
}
