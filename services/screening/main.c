/* The screening service: validated instruments scored on the server,
 * results pushed by integrations, alerts for people at risk, and the
 * privacy rules for health data. */
#include "screening_figures.h"
#include "alerts.h"
#include "instruments.h"
#include "outbox.h"
#include "privacy.h"
#include "schema.h"
#include "screenings.h"
#include "service.h"
#include "settings.h"
#include "stats.h"

static const wh_handler_t handlers[] = {
    {WH_OP_SCR_INSTRUMENTS_LIST, instruments_list},
    {WH_OP_SCREENINGS_CREATE, screenings_create},
    {WH_OP_SCREENINGS_BATCH, screenings_batch},
    {WH_OP_SCREENINGS_LIST, screenings_list},
    {WH_OP_SCREENINGS_GET, screenings_get},
    {WH_OP_SUBJECTS_DELETE, subject_erase},
    {WH_OP_ALERTS_LIST, alerts_list},
    {WH_OP_ALERTS_GET, alerts_get},
    {WH_OP_ALERTS_ACKNOWLEDGE, alerts_acknowledge},
    {WH_OP_ALERTS_OFFER_SUPPORT, alerts_offer_support},
    {WH_OP_ALERTS_CLOSE, alerts_close},
    {WH_OP_SCR_STATS, stats_get},
    {WH_OP_SCR_SETTINGS_GET, settings_get},
    {WH_OP_SCR_SETTINGS_PATCH, settings_patch},
    {WH_OP_SCR_AUDIT_LIST, audit_list},
};

static scr_app_t app;
static wh_outbox_t *outbox;

static int start(wh_service_t *s)
{
    /* Erased and purged rows are overwritten, not merely unlinked. */
    if (wh_store_exec(wh_service_store(s), "PRAGMA secure_delete=ON;") != 0)
        return -1;
    if (stats_register(wh_store_db(wh_service_store(s))) != 0)
        return -1;
    int rc = wh_outbox_start(s, WH_OP_EVENTS_INGEST, &outbox);
    rc = rc ? rc : privacy_every(s, &app);
    return rc ? rc : alerts_every(s);
}

static void stop(wh_service_t *s)
{
    wh_outbox_stop(&outbox);
}

int main(void)
{
    /* Each connection is used from one thread only, but a backup opens its
     * own connections to the same file on a worker thread while the loop
     * serves: SQLite's global mutexes (the unix VFS's inode and shm lists,
     * the PRNG) must stay. Multi-thread mode drops only the per-connection
     * ones; memory statistics are still off. */
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    const wh_service_def_t def = {
        .svc = WH_SVC_SCREENING,
        .migrations = screening_migrations,
        .n_migrations = screening_n_migrations,
        .handlers = handlers,
        .n_handlers = sizeof handlers / sizeof handlers[0],
        .start = start,
        .stop = stop,
        .figures = screening_figures,
        .app = &app,
    };
    return wh_service_main(&def);
}
