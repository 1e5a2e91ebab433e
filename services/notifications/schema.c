#include "schema.h"

const char *const notifications_migrations[] = {
    /* 1: (superseded placeholder kept so that version numbers never move) */
    "CREATE TABLE service_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 2: events received from the producers' outboxes. */
    "CREATE TABLE events ("
    " id TEXT PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " org_id TEXT,"
    " occurred_at TEXT NOT NULL,"
    " data BLOB NOT NULL,"
    " received_at TEXT NOT NULL);"
    "CREATE INDEX events_type ON events(type, id);",
};
const int notifications_n_migrations =
    sizeof notifications_migrations / sizeof notifications_migrations[0];
