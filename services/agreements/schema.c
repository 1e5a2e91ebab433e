#include "schema.h"

const char *const agreements_migrations[] = {
    /* 1: organisations, the parties of every agreement. */
    "CREATE TABLE organizations ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('employer', 'insurer')),"
    " employees INTEGER NOT NULL CHECK (employees >= 0),"
    " region TEXT,"
    " sector TEXT,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);",
};
const int agreements_n_migrations = sizeof agreements_migrations / sizeof agreements_migrations[0];
