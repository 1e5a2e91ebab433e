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
    /* 2: cooperation agreements, their reminders, history and activities.
     * Dates are days since 1970-01-01 in the deployment's time zone.
     * focus_areas keeps the order the client gave ("a,b,c"); focus_mask
     * has bit i set for focus area i of the fixed list, for filters and the
     * report. conditions and contacts are msgpack arrays, validated and
     * normalised on the way in. next_due is the first day on which the
     * reminder scan has something to do for the agreement (NULL: nothing,
     * as for drafts and closed agreements); the partial index on it makes a
     * scan cost the due agreements, not all of them. */
    "CREATE TABLE agreements ("
    " id TEXT PRIMARY KEY,"
    " employer_id TEXT NOT NULL REFERENCES organizations(id),"
    " insurer_id TEXT NOT NULL REFERENCES organizations(id),"
    " title TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('draft', 'signed', 'terminated', 'renewed')),"
    " signed_on INTEGER,"
    " starts_on INTEGER NOT NULL,"
    " ends_on INTEGER NOT NULL CHECK (ends_on > starts_on),"
    " notice_days INTEGER NOT NULL CHECK (notice_days >= 0),"
    " auto_renew INTEGER NOT NULL,"
    " employees_covered INTEGER,"
    " focus_areas TEXT NOT NULL,"
    " focus_mask INTEGER NOT NULL,"
    " financial_eur INTEGER NOT NULL,"
    " advisory INTEGER NOT NULL,"
    " conditions BLOB NOT NULL,"
    " contacts BLOB NOT NULL,"
    " reminder_days TEXT NOT NULL,"
    " renews TEXT REFERENCES agreements(id),"
    " renewed_by TEXT REFERENCES agreements(id),"
    " terminated_on INTEGER,"
    " termination_reason TEXT,"
    " next_due INTEGER,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX agreements_employer ON agreements(employer_id, id);"
    "CREATE INDEX agreements_insurer ON agreements(insurer_id, id);"
    "CREATE INDEX agreements_ends ON agreements(state, ends_on);"
    "CREATE INDEX agreements_next_due ON agreements(next_due) WHERE next_due IS NOT NULL;"
    /* A reminder of one term that was sent or skipped; due ones are
     * computed. The key makes each reminder happen once per term. Notice
     * reminders have days_before >= 0; 'expired' rows use 0. */
    "CREATE TABLE agreement_reminders ("
    " agreement_id TEXT NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (kind IN ('notice', 'expired')),"
    " days_before INTEGER NOT NULL,"
    " due_on INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('sent', 'skipped')),"
    " sent_at TEXT,"
    " event_id TEXT,"
    " recorded_at TEXT NOT NULL,"
    " PRIMARY KEY (agreement_id, kind, days_before)) WITHOUT ROWID;"
    "CREATE TABLE agreement_history ("
    " id TEXT PRIMARY KEY,"
    " agreement_id TEXT NOT NULL,"
    " at TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " token_id TEXT,"
    " role TEXT NOT NULL,"
    " changes BLOB);"
    "CREATE INDEX agreement_history_agreement ON agreement_history(agreement_id, id);"
    "CREATE TABLE activities ("
    " id TEXT PRIMARY KEY,"
    " agreement_id TEXT NOT NULL REFERENCES agreements(id),"
    " kind TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " focus_area TEXT,"
    " planned_on INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('planned', 'done', 'cancelled')),"
    " participants INTEGER,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX activities_agreement ON activities(agreement_id, id);",
};
const int agreements_n_migrations = sizeof agreements_migrations / sizeof agreements_migrations[0];
