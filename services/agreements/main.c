/* The agreements service: organisations and cooperation agreements. */
#include "agreements_figures.h"
#include "activities.h"
#include "agreements.h"
#include "calendar.h"
#include "organizations.h"
#include "outbox.h"
#include "reminders.h"
#include "report.h"
#include "schema.h"
#include "service.h"

static const wh_handler_t handlers[] = {
    {WH_OP_ORGS_CREATE, org_create},
    {WH_OP_ORGS_LIST, org_list},
    {WH_OP_ORGS_GET, org_get},
    {WH_OP_ORGS_PATCH, org_patch},
    {WH_OP_AGREEMENTS_CREATE, agr_create},
    {WH_OP_AGREEMENTS_LIST, agr_list},
    {WH_OP_AGREEMENTS_CALENDAR, cal_feed},
    {WH_OP_AGREEMENTS_CALENDAR_PAGE, cal_page},
    {WH_OP_AGREEMENTS_GET, agr_get},
    {WH_OP_AGREEMENTS_PATCH, agr_patch},
    {WH_OP_AGREEMENTS_DELETE, agr_delete},
    {WH_OP_AGREEMENTS_SIGN, agr_sign},
    {WH_OP_AGREEMENTS_TERMINATE, agr_terminate},
    {WH_OP_AGREEMENTS_RENEW, agr_renew},
    {WH_OP_AGREEMENTS_HISTORY, agr_history},
    {WH_OP_AGREEMENTS_REMINDERS, agr_reminders},
    {WH_OP_ACTIVITIES_CREATE, act_create},
    {WH_OP_ACTIVITIES_LIST, act_list},
    {WH_OP_ACTIVITIES_GET, act_get},
    {WH_OP_ACTIVITIES_PATCH, act_patch},
    {WH_OP_REPORTS_PREVENTION, report_prevention},
};

static wh_outbox_t *outbox;

/* The scan's events go out through the relay, kicked after each run. */
static int start(wh_service_t *s)
{
    int rc = wh_outbox_start(s, WH_OP_EVENTS_INGEST, &outbox);
    return rc ? rc : reminders_every(s);
}

static void stop(wh_service_t *s)
{
    wh_outbox_stop(&outbox);
}

int main(void)
{
    /* As in screening: each connection is used from one thread only, but a
     * backup opens its own connections on a worker thread, so SQLite's
     * global mutexes stay and multi-thread mode drops only the
     * per-connection ones; memory statistics (a global mutex and counters
     * on every allocation, several per read) are off. */
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    const wh_service_def_t def = {
        .svc = WH_SVC_AGREEMENTS,
        .migrations = agreements_migrations,
        .n_migrations = agreements_n_migrations,
        .handlers = handlers,
        .n_handlers = sizeof handlers / sizeof handlers[0],
        .start = start,
        .stop = stop,
        .figures = agreements_figures,
    };
    return wh_service_main(&def);
}
