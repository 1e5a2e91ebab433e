#include "inbox.h"

#include "clock.h"
#include "err.h"

static const char SQL_INBOX_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS wh_inbox ("
    " event_id TEXT PRIMARY KEY, received_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS wh_inbox_received ON wh_inbox(received_ms);";
static const char SQL_INBOX_INSERT[] =
    "INSERT INTO wh_inbox(event_id, received_ms) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
static const char SQL_INBOX_EXPIRE[] = "DELETE FROM wh_inbox WHERE received_ms < ?1";

int wh_inbox_init_store(wh_store_t *store)
{
    return wh_store_exec(store, SQL_INBOX_SCHEMA);
}

int wh_inbox_accept(wh_store_t *store, wh_str_t event_id, bool *repeat)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_INBOX_INSERT);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_str(st, 1, event_id);
    sqlite3_bind_int64(st, 2, wh_clock_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE)
        return WH_ESTORE;
    *repeat = sqlite3_changes(wh_store_db(store)) == 0;
    return 0;
}

void wh_inbox_expire(wh_store_t *store)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_INBOX_EXPIRE);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, wh_clock_now_ms() - WH_INBOX_KEEP_DAYS * 86400000LL);
    sqlite3_step(st);
}
