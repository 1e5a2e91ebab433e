/* The screening service: validated instruments scored on the server,
 * results pushed by integrations, alerts for people at risk, and the
 * privacy rules for health data. */
#include "screening_figures.h"
#include "alerts.h"
#include "clock.h"
#include "instruments.h"
#include "log.h"
#include "outbox.h"
#include "privacy.h"
#include "schema.h"
#include "screenings.h"
#include "service.h"
#include "settings.h"
#include "stats.h"

#define ESCALATION_TICK_MS 1000          /* how often due alerts are looked for */
#define RETENTION_TICK_MS  (3600 * 1000) /* how often old results are purged */

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
static uv_timer_t escalation_timer, retention_timer;

/* Deleted rows survive in older WAL frames until the log is reset; after
 * an erasure the log is checkpointed and truncated. */
static const char SQL_WAL_TRUNCATE[] = "PRAGMA wal_checkpoint(TRUNCATE)";

static void truncate_wal(wh_store_t *store)
{
    if (!app.wal_dirty)
        return;
    /* The first column is 1 when a reader kept the checkpoint from
     * finishing; then it is tried again at the next tick. */
    sqlite3_stmt *st = wh_store_stmt(store, SQL_WAL_TRUNCATE);
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0)
        app.wal_dirty = false;
    if (st)
        sqlite3_reset(st);
}

/* Escalation runs on the service clock (WH_NOW honoured), so that an alert
 * due while the service was down escalates at the next start, once. */
static void on_escalation(uv_timer_t *t)
{
    wh_service_t *s = t->data;
    wh_store_t *store = wh_service_store(s);
    int64_t now = wh_clock_now_ms();
    truncate_wal(store);
    if (!alerts_due(store, now) || wh_store_begin(store) != 0)
        return;
    int n = alerts_escalate_due(store, now);
    if (n < 0 || wh_store_commit(store) != 0) {
        wh_store_rollback(store);
        wh_log_error("escalation failed; retried at the next tick");
        return;
    }
    if (n > 0) {
        wh_log_info("%d alert%s escalated", n, n == 1 ? "" : "s");
        wh_outbox_kick(outbox);
    }
}

static void on_retention(uv_timer_t *t)
{
    wh_service_t *s = t->data;
    wh_store_t *store = wh_service_store(s);
    if (wh_store_begin(store) != 0)
        return;
    int64_t n = retention_purge(store, NULL, wh_clock_now_ms());
    if (n < 0 || wh_store_commit(store) != 0) {
        wh_store_rollback(store);
        wh_log_error("retention purge failed; retried later");
        return;
    }
    if (n > 0) {
        wh_log_info("retention: %lld results purged", (long long)n);
        app.wal_dirty = true;
    }
    truncate_wal(store);
}

static int start(wh_service_t *s)
{
    /* Erased and purged rows are overwritten, not merely unlinked. */
    if (wh_store_exec(wh_service_store(s), "PRAGMA secure_delete=ON;") != 0)
        return -1;
    if (stats_register(wh_store_db(wh_service_store(s))) != 0)
        return -1;
    int rc = wh_outbox_start(s, WH_OP_EVENTS_INGEST, &outbox);
    if (rc != 0)
        return rc;
    uv_timer_init(wh_service_loop(s), &escalation_timer);
    escalation_timer.data = s;
    uv_timer_start(&escalation_timer, on_escalation, 0, ESCALATION_TICK_MS);
    uv_timer_init(wh_service_loop(s), &retention_timer);
    retention_timer.data = s;
    uv_timer_start(&retention_timer, on_retention, 0, RETENTION_TICK_MS);
    return 0;
}

static void stop(wh_service_t *s)
{
    uv_timer_stop(&escalation_timer);
    uv_timer_stop(&retention_timer);
    wh_outbox_stop(&outbox);
}

int main(void)
{
    /* The store is used from the loop's thread only: SQLite's own mutexes
     * and memory statistics would cost a lock per allocation for nothing. */
    sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
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
