#include "schema.h"

const char *const surveys_migrations[] = {
    /* 1: the store exists and is versioned. */
    "CREATE TABLE service_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);",

    /* 2: surveys, participation codes and responses.
     *
     * What is stored is chosen so that nothing links a response to a
     * person (docs/ARCHITECTURE.md, "Privacy by design"):
     * - A code is stored only as the SHA-256 of survey id and code, and it
     *   is deleted when it is used (and every unused one when the survey
     *   closes), so no record says which codes took part. PRAGMA
     *   secure_delete overwrites the deleted bytes.
     * - A response row has no rowid, no id handed out and no time: its key
     *   is 16 random bytes, so neither its key nor its place in the b-tree
     *   orders it against other responses or against the burning of a
     *   code. The unit and one byte per question (255 skipped) are all it
     *   holds; no language, address or date.
     * - Tables that identify rows by a code or a response are WITHOUT
     *   ROWID, because a rowid grows with every insert and would put rows
     *   in the order they were written. */
    "CREATE TABLE surveys ("
    " id TEXT PRIMARY KEY,"
    " org_id TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('draft', 'open', 'closed')),"
    " anonymity_threshold INTEGER NOT NULL CHECK (anonymity_threshold >= 5),"
    " opens_at TEXT, opens_at_ms INTEGER,"
    " closes_at TEXT, closes_at_ms INTEGER,"
    " opened_at TEXT, closed_at TEXT,"
    " definition BLOB NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX surveys_org ON surveys(org_id, id);"
    "CREATE INDEX surveys_due_open ON surveys(opens_at_ms) WHERE state = 'draft';"
    "CREATE INDEX surveys_due_close ON surveys(closes_at_ms) WHERE state = 'open';"
    "CREATE TABLE survey_codes ("
    " survey_id TEXT NOT NULL,"
    " hash TEXT NOT NULL,"
    " unit TEXT NOT NULL," /* unit key; '' for a code without a unit */
    " PRIMARY KEY (survey_id, hash)) WITHOUT ROWID;"
    "CREATE TABLE survey_code_counts ("
    " survey_id TEXT NOT NULL,"
    " unit TEXT NOT NULL,"
    " issued INTEGER NOT NULL,"
    " PRIMARY KEY (survey_id, unit)) WITHOUT ROWID;"
    /* Idempotency for issuing codes: codes are never stored in plain text,
     * so a repeat cannot be answered with the first codes; it is refused. */
    "CREATE TABLE survey_code_requests ("
    " survey_id TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " request_hash TEXT NOT NULL,"
    " PRIMARY KEY (survey_id, scope, key)) WITHOUT ROWID;"
    "CREATE TABLE survey_responses ("
    " survey_id TEXT NOT NULL,"
    " token BLOB NOT NULL,"
    " unit INTEGER NOT NULL," /* unit index in the frozen definition; -1 none */
    " answers BLOB NOT NULL,"
    " PRIMARY KEY (survey_id, token)) WITHOUT ROWID;",

    /* 3: how codes were handed out, and who saw them (four-eyes).
     * Counts per unit and delivery: codes issued before this migration were
     * all shown in clear. survey_code_issuers names the tokens that received
     * codes in clear or on a printed sheet, so that they cannot read the
     * survey's results; it never holds a code or an address. */
    "ALTER TABLE survey_code_counts ADD COLUMN clear INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE survey_code_counts ADD COLUMN print INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE survey_code_counts ADD COLUMN email INTEGER NOT NULL DEFAULT 0;"
    "UPDATE survey_code_counts SET clear = issued;"
    "CREATE TABLE survey_code_issuers ("
    " survey_id TEXT NOT NULL,"
    " token_id TEXT NOT NULL,"
    " PRIMARY KEY (survey_id, token_id)) WITHOUT ROWID;",

    /* 4: networks of organisations, their templates and benchmarks
     * (networks.h, benchmark.h). A survey made from a template names it.
     * A benchmark is written once and never updated: its frozen member
     * list, its figures per dimension, and each contributor's own figures
     * (shown to that organisation only). */
    "CREATE TABLE networks ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " description TEXT NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 1,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE TABLE network_members ("
    " network_id TEXT NOT NULL REFERENCES networks(id),"
    " org_id TEXT NOT NULL,"
    " added_at TEXT NOT NULL,"
    " PRIMARY KEY (network_id, org_id)) WITHOUT ROWID;"
    "CREATE INDEX network_members_org ON network_members(org_id, network_id);"
    "CREATE TABLE network_templates ("
    " id TEXT PRIMARY KEY,"
    " network_id TEXT NOT NULL REFERENCES networks(id),"
    " title TEXT NOT NULL,"
    " definition BLOB NOT NULL,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX network_templates_network ON network_templates(network_id, id);"
    "ALTER TABLE surveys ADD COLUMN template_id TEXT;"
    "CREATE INDEX surveys_template ON surveys(template_id, org_id) WHERE template_id IS NOT NULL;"
    "CREATE TABLE network_benchmarks ("
    " template_id TEXT NOT NULL,"
    " year INTEGER NOT NULL,"
    " network_id TEXT NOT NULL,"
    " members INTEGER NOT NULL,"
    " contributors INTEGER NOT NULL,"
    " published_at TEXT NOT NULL,"
    " PRIMARY KEY (template_id, year)) WITHOUT ROWID;"
    "CREATE TABLE network_benchmark_members ("
    " template_id TEXT NOT NULL,"
    " year INTEGER NOT NULL,"
    " org_id TEXT NOT NULL,"
    " survey_id TEXT," /* the survey it contributed; NULL: none that year */
    " PRIMARY KEY (template_id, year, org_id)) WITHOUT ROWID;"
    "CREATE TABLE network_benchmark_dims ("
    " template_id TEXT NOT NULL,"
    " year INTEGER NOT NULL,"
    " idx INTEGER NOT NULL," /* the dimension's place in the template */
    " dimension TEXT NOT NULL,"
    " orgs INTEGER NOT NULL,"
    " mean REAL NOT NULL,"
    " p25 REAL, median REAL, p75 REAL," /* NULL: too few organisations for quartiles */
    " PRIMARY KEY (template_id, year, idx)) WITHOUT ROWID;"
    "CREATE TABLE network_benchmark_own ("
    " template_id TEXT NOT NULL,"
    " year INTEGER NOT NULL,"
    " idx INTEGER NOT NULL,"
    " org_id TEXT NOT NULL,"
    " mean REAL NOT NULL,"
    " PRIMARY KEY (template_id, year, idx, org_id)) WITHOUT ROWID;",

    /* 5: the insurer's sick-leave figures (sickleave.h). An import is
     * written once and never changed; sickleave_periods holds one row per
     * organisation and period it brought, whose days (first_day..last_day,
     * calendar days) no later import of that organisation may overlap.
     * chapter 0 is a unit's total, 1-22 the ICD-10 chapters I-XXII. */
    "CREATE TABLE sickleave_imports ("
    " id TEXT PRIMARY KEY,"
    " insurer_id TEXT NOT NULL,"
    " rows INTEGER NOT NULL,"
    " created_at TEXT NOT NULL);"
    "CREATE TABLE sickleave_periods ("
    " org_id TEXT NOT NULL,"
    " period TEXT NOT NULL,"
    " first_day INTEGER NOT NULL,"
    " last_day INTEGER NOT NULL,"
    " import_id TEXT NOT NULL REFERENCES sickleave_imports(id),"
    " insurer_id TEXT NOT NULL,"
    " sector TEXT," /* NULL: none given */
    " PRIMARY KEY (org_id, period)) WITHOUT ROWID;"
    "CREATE INDEX sickleave_periods_days ON sickleave_periods(org_id, first_day);"
    "CREATE INDEX sickleave_periods_sector ON sickleave_periods(import_id, period, sector)"
    " WHERE sector IS NOT NULL;"
    "CREATE TABLE sickleave_figures ("
    " org_id TEXT NOT NULL,"
    " period TEXT NOT NULL,"
    " unit TEXT NOT NULL,"
    " chapter INTEGER NOT NULL CHECK (chapter BETWEEN 0 AND 22),"
    " insured INTEGER NOT NULL CHECK (insured > 0),"
    " cases INTEGER NOT NULL CHECK (cases >= 0),"
    " days INTEGER NOT NULL CHECK (days >= 0),"
    " PRIMARY KEY (org_id, period, unit, chapter)) WITHOUT ROWID;",
};
const int surveys_n_migrations = sizeof surveys_migrations / sizeof surveys_migrations[0];
