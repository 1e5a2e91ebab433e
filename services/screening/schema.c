#include "schema.h"

const char *const screening_migrations[] = {
    /* 1: the store exists and is versioned. */
    "CREATE TABLE service_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);",

    /* 2: results, alerts, per-organisation settings and the audit log.
     *
     * A result is stored under the integration's pseudonym (subject) with
     * the answers as given and the score computed here; a repeat under the
     * same external_id is compared with it field by field. idem_refs
     * links each stored Idempotency-Key reply to the results it contains,
     * so that erasing a subject also erases the replies that carry its
     * scores. At most one alert per subject is active (not closed):
     * alerts_active enforces it. */
    "CREATE TABLE settings ("
    " org_id TEXT PRIMARY KEY,"
    " retention_days INTEGER CHECK (retention_days IS NULL OR retention_days >= 1),"
    " escalate_after_hours INTEGER NOT NULL CHECK (escalate_after_hours >= 1),"
    " escalate_urgent_after_hours INTEGER NOT NULL CHECK (escalate_urgent_after_hours >= 1),"
    " stats_threshold INTEGER NOT NULL CHECK (stats_threshold >= 5),"
    " version INTEGER NOT NULL DEFAULT 1,"
    " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE screenings ("
    " id TEXT PRIMARY KEY,"
    " org_id TEXT NOT NULL,"
    " external_id TEXT,"
    " instrument TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " unit TEXT,"
    " taken_ms INTEGER NOT NULL,"
    " language TEXT,"
    " answers TEXT NOT NULL,"
    " raw_score INTEGER NOT NULL,"
    " score INTEGER NOT NULL,"
    " band TEXT NOT NULL,"
    " at_risk INTEGER NOT NULL,"
    " flags TEXT,"
    " alert_id TEXT,"
    " created_ms INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX screenings_external ON screenings(org_id, external_id)"
    " WHERE external_id IS NOT NULL;"
    "CREATE INDEX screenings_subject ON screenings(org_id, subject);"
    "CREATE INDEX screenings_taken ON screenings(org_id, taken_ms);"
    "CREATE INDEX screenings_alert ON screenings(alert_id) WHERE alert_id IS NOT NULL;"
    "CREATE TABLE idem_refs ("
    " screening_id TEXT NOT NULL, scope TEXT NOT NULL, op TEXT NOT NULL, key TEXT NOT NULL,"
    " PRIMARY KEY (screening_id, scope, op, key)) WITHOUT ROWID;"
    "CREATE TABLE alerts ("
    " id TEXT PRIMARY KEY,"
    " org_id TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " state TEXT NOT NULL"
    "  CHECK (state IN ('open', 'acknowledged', 'support_offered', 'closed')),"
    " urgent INTEGER NOT NULL,"
    " opened_ms INTEGER NOT NULL,"
    " escalate_at_ms INTEGER NOT NULL,"
    " acknowledged_ms INTEGER,"
    " support_offered_ms INTEGER,"
    " note TEXT,"
    " escalated_ms INTEGER,"
    " closed_ms INTEGER,"
    " outcome TEXT CHECK (outcome IS NULL OR outcome IN ('accepted', 'declined', 'no_contact')),"
    " version INTEGER NOT NULL DEFAULT 1);"
    "CREATE UNIQUE INDEX alerts_active ON alerts(org_id, subject) WHERE state != 'closed';"
    "CREATE INDEX alerts_subject ON alerts(org_id, subject);"
    "CREATE INDEX alerts_org ON alerts(org_id, id);"
    "CREATE INDEX alerts_due ON alerts(escalate_at_ms)"
    " WHERE state = 'open' AND escalated_ms IS NULL;"
    "CREATE TABLE audit ("
    " id TEXT PRIMARY KEY,"
    " org_id TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL,"
    " token_id TEXT,"
    " role TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " request_id TEXT NOT NULL,"
    " resource_ids TEXT NOT NULL,"
    " count INTEGER NOT NULL);"
    "CREATE INDEX audit_org ON audit(org_id, id);",

    /* 3: published statistics, frozen per closed period (stats.h). A
     * period's row says it was computed, when and with which threshold;
     * its figures are stored as published, a suppressed one as NULL, and
     * nothing ever updates or deletes them: erasure and retention act on
     * results, not on anonymous aggregates. row_no -1 is the organisation,
     * col_no -1 a row's total; unit is set on row totals only. */
    "CREATE TABLE stats_periods ("
    " org_id TEXT NOT NULL,"
    " period TEXT NOT NULL,"
    " threshold INTEGER NOT NULL CHECK (threshold >= 5),"
    " frozen_ms INTEGER NOT NULL,"
    " PRIMARY KEY (org_id, period)) WITHOUT ROWID;"
    "CREATE TABLE stats_figures ("
    " org_id TEXT NOT NULL,"
    " period TEXT NOT NULL,"
    " instrument TEXT NOT NULL,"
    " row_no INTEGER NOT NULL,"
    " col_no INTEGER NOT NULL,"
    " unit TEXT,"
    " n INTEGER CHECK (n IS NULL OR n >= 0),"
    " PRIMARY KEY (org_id, period, instrument, row_no, col_no)) WITHOUT ROWID;",

    /* 4: the alerts' checks of state and outcome as comparisons joined by
     * OR, which SQLite evaluates in place, instead of IN lists, for each of
     * which it filled a temporary B-tree on every insert and update of an
     * alert (9,300 instructions an alert opened). The same rows, rowids,
     * indexes and constraints. The old table's pages are overwritten as
     * they are freed (secure_delete, as the service runs), so that no copy
     * of an alert outlives a later erasure of its subject. */
    "PRAGMA secure_delete=ON;"
    "CREATE TABLE alerts_v4 ("
    " id TEXT PRIMARY KEY,"
    " org_id TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " state TEXT NOT NULL"
    " CHECK (state = 'open' OR state = 'acknowledged' OR state = 'support_offered'"
    " OR state = 'closed'),"
    " urgent INTEGER NOT NULL,"
    " opened_ms INTEGER NOT NULL,"
    " escalate_at_ms INTEGER NOT NULL,"
    " acknowledged_ms INTEGER,"
    " support_offered_ms INTEGER,"
    " note TEXT,"
    " escalated_ms INTEGER,"
    " closed_ms INTEGER,"
    " outcome TEXT CHECK (outcome IS NULL OR outcome = 'accepted' OR outcome = 'declined'"
    " OR outcome = 'no_contact'),"
    " version INTEGER NOT NULL DEFAULT 1);"
    "INSERT INTO alerts_v4(rowid, id, org_id, subject, state, urgent, opened_ms, escalate_at_ms,"
    " acknowledged_ms, support_offered_ms, note, escalated_ms, closed_ms, outcome, version)"
    " SELECT rowid, id, org_id, subject, state, urgent, opened_ms, escalate_at_ms,"
    " acknowledged_ms, support_offered_ms, note, escalated_ms, closed_ms, outcome, version"
    " FROM alerts;"
    "DROP TABLE alerts;"
    "ALTER TABLE alerts_v4 RENAME TO alerts;"
    "CREATE UNIQUE INDEX alerts_active ON alerts(org_id, subject) WHERE state != 'closed';"
    "CREATE INDEX alerts_subject ON alerts(org_id, subject);"
    "CREATE INDEX alerts_org ON alerts(org_id, id);"
    "CREATE INDEX alerts_due ON alerts(escalate_at_ms)"
    " WHERE state = 'open' AND escalated_ms IS NULL;",
};
const int screening_n_migrations = sizeof screening_migrations / sizeof screening_migrations[0];
