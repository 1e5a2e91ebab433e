/* The screening service's real handlers run in-process (handler_harness.h) on
 * the business rules for health data:
 * - a pushed result is scored on the server into the instrument's band, on
 *   both sides of every band boundary, and an at-risk result (or a critical
 *   item whatever the total) opens an alert;
 * - only occupational health reads individual results and alerts (the ops
 *   table row the gateway enforces), and every read is audited;
 * - another organisation's result, alert or organisation is 404, and a
 *   refused read leaves no audit entry;
 * - an alert moves open -> acknowledged -> support_offered -> closed, and
 *   every other transition is a 409 "conflict". */
#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "check.h"
#include "handler_harness.h"
#include "screenings.h"
#include "tmpdir.h"

/* services/screening/schema.h: every service has a schema.h, and the include
 * path of the unit tests finds another service's first. */
extern const char *const screening_migrations[];
extern const int screening_n_migrations;

#define ORG_A "01JAAAAAAAAAAAAAAAAAAAAAAA"
#define ORG_B "01JBBBBBBBBBBBBBBBBBBBBBBB"

static const wh_handler_t handlers[] = {
    {WH_OP_SCREENINGS_CREATE, screenings_create},
    {WH_OP_SCREENINGS_GET, screenings_get},
    {WH_OP_SCREENINGS_LIST, screenings_list},
    {WH_OP_ALERTS_GET, alerts_get},
    {WH_OP_ALERTS_ACKNOWLEDGE, alerts_acknowledge},
    {WH_OP_ALERTS_OFFER_SUPPORT, alerts_offer_support},
    {WH_OP_ALERTS_CLOSE, alerts_close},
};

static const hh_who_t integ_a = {"tok-integ-a", WH_ROLE_INTEGRATION, {ORG_A}, 1};
static const hh_who_t integ_b = {"tok-integ-b", WH_ROLE_INTEGRATION, {ORG_B}, 1};
static const hh_who_t oh_a = {"tok-oh-a", WH_ROLE_OCC_HEALTH, {ORG_A}, 1};
static const hh_who_t oh_b = {"tok-oh-b", WH_ROLE_OCC_HEALTH, {ORG_B}, 1};

static hh_t h;
static int subjects;

static void setup(void)
{
    subjects = 0;
    hh_open(&h, WH_SVC_SCREENING, "screening", screening_migrations, screening_n_migrations,
            handlers, sizeof handlers / sizeof handlers[0]);
}

/* Pushes a result of instrument with answers (a JSON array) for a new
 * subject of org as who; returns the status, the reply body in h. */
static int push(const hh_who_t *who, const char *org, const char *instrument, const char *answers)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"org_id\":\"%s\",\"instrument\":\"%s\",\"subject\":\"p-%d\","
             "\"taken_at\":\"2025-03-01T08:00:00Z\",\"answers\":%s}",
             org, instrument, ++subjects, answers);
    return hh_call(&h, who, WH_OP_SCREENINGS_CREATE, NULL, body);
}

/* Answers of n items, each 0..3, summing to sum (filled from the first
 * item on), with item `last` (1-based, or 0) kept at 0. */
static const char *answers_summing(int n, int sum, int keep_zero)
{
    static char out[128];
    size_t o = 0;
    o += (size_t)snprintf(out + o, sizeof out - o, "[");
    for (int i = 1; i <= n; i++) {
        int a = i == keep_zero ? 0 : sum > 3 ? 3 : sum;
        sum -= a;
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%d", i > 1 ? "," : "", a);
    }
    snprintf(out + o, sizeof out - o, "]");
    CHECK_INT(sum, 0);
    return out;
}

/* ---- scoring and alerts ----------------------------------------------------- */

typedef struct boundary {
    const char *instrument;
    int n_items, sum;
    const char *band;
    bool at_risk;
} boundary_t;

static void test_bands_at_boundaries(void)
{
    static const boundary_t cases[] = {
        {"phq9", 9, 0, "minimal", false},
        {"phq9", 9, 4, "minimal", false},
        {"phq9", 9, 5, "mild", false},
        {"phq9", 9, 9, "mild", false},
        {"phq9", 9, 10, "moderate", true},
        {"phq9", 9, 14, "moderate", true},
        {"phq9", 9, 15, "moderately_severe", true},
        {"phq9", 9, 19, "moderately_severe", true},
        {"phq9", 9, 20, "severe", true},
        {"phq9", 9, 24, "severe", true},
        {"gad7", 7, 4, "minimal", false},
        {"gad7", 7, 5, "mild", false},
        {"gad7", 7, 9, "mild", false},
        {"gad7", 7, 10, "moderate", true},
        {"gad7", 7, 14, "moderate", true},
        {"gad7", 7, 15, "severe", true},
        {"gad7", 7, 21, "severe", true},
    };
    setup();
    int64_t alerts = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const boundary_t *t = &cases[i];
        /* PHQ-9's item 9 is critical: kept at 0 here. */
        const char *answers =
            answers_summing(t->n_items, t->sum, strcmp(t->instrument, "phq9") == 0 ? 9 : 0);
        CHECK_INT(push(&integ_a, ORG_A, t->instrument, answers), 201);
        const msgpack_object *b = hh_body(&h);
        if (strcmp(hh_str(b, "band"), t->band) != 0 || hh_true(b, "at_risk") != t->at_risk) {
            fprintf(stderr, "%s %s (sum %d): band %s, at_risk %d; expected %s, %d\n", t->instrument,
                    answers, t->sum, hh_str(b, "band"), hh_true(b, "at_risk"), t->band, t->at_risk);
            exit(1);
        }
        CHECK_INT(hh_int(b, "raw_score"), t->sum);
        CHECK_INT(hh_at(b, "flags")->via.array.size, 0);
        /* An alert exactly for the results at risk. */
        CHECK_INT(!hh_nil(b, "alert_id"), t->at_risk);
        alerts += t->at_risk;
        CHECK_INT(hh_count(&h, "SELECT count(*) FROM alerts"), alerts);
    }
    hh_close(&h);
}

static void test_critical_item_whatever_the_total(void)
{
    setup();
    /* PHQ-9 item 9 (thoughts of self-harm) above 0, total 1. */
    CHECK_INT(push(&integ_a, ORG_A, "phq9", "[0,0,0,0,0,0,0,0,1]"), 201);
    const msgpack_object *b = hh_body(&h);
    CHECK_STR(hh_str(b, "band"), "minimal");
    CHECK(hh_true(b, "at_risk"));
    CHECK_STR(hh_str(b, "flags.0"), "self_harm");
    CHECK(!hh_nil(b, "alert_id"));
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM alerts WHERE urgent = 1"), 1);
    hh_close(&h);
}

/* ---- who reads ------------------------------------------------------------------ */

static void test_individual_results_for_occupational_health_only(void)
{
    /* The gateway answers 403 unless the token's role is in the row. */
    static const int ops[] = {
        WH_OP_SCREENINGS_GET,     WH_OP_SCREENINGS_LIST,      WH_OP_ALERTS_LIST, WH_OP_ALERTS_GET,
        WH_OP_ALERTS_ACKNOWLEDGE, WH_OP_ALERTS_OFFER_SUPPORT, WH_OP_ALERTS_CLOSE};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (wh_ops[ops[i]].roles != WH_ROLE_OCC_HEALTH) {
            fprintf(stderr, "%s is open to roles 0x%x, not occupational health alone\n",
                    wh_ops[ops[i]].path, wh_ops[ops[i]].roles);
            exit(1);
        }
    }
    /* Each read of an individual result is audited, with the reader. */
    setup();
    CHECK_INT(push(&integ_a, ORG_A, "phq9", "[0,0,0,0,0,0,0,0,0]"), 201);
    char id[WH_ID_LEN + 1], params[64];
    snprintf(id, sizeof id, "%s", hh_str(hh_body(&h), "id"));
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM audit"), 0);
    snprintf(params, sizeof params, "id=%s", id);
    CHECK_INT(hh_call(&h, &oh_a, WH_OP_SCREENINGS_GET, params, NULL), 200);
    CHECK_STR(hh_str(hh_body(&h), "subject"), "p-1");
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM audit WHERE token_id = 'tok-oh-a'"
                           " AND action = 'screening.read'"),
              1);
    CHECK_INT(hh_call(&h, &oh_a, WH_OP_SCREENINGS_LIST, "subject=p-1", NULL), 200);
    CHECK_INT(hh_at(hh_body(&h), "items")->via.array.size, 1);
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM audit"), 2);
    hh_close(&h);
}

/* ---- tenants ------------------------------------------------------------------- */

static void test_other_organisation_is_not_found(void)
{
    setup();
    CHECK_INT(push(&integ_a, ORG_A, "phq9", "[3,3,3,3,3,0,0,0,0]"), 201);
    char id[WH_ID_LEN + 1], alert[WH_ID_LEN + 1], params[64];
    snprintf(id, sizeof id, "%s", hh_str(hh_body(&h), "id"));
    snprintf(alert, sizeof alert, "%s", hh_str(hh_body(&h), "alert_id"));
    CHECK(wh_id_valid(alert, strlen(alert)));

    /* Pushing for an organisation the token does not cover. */
    CHECK_INT(push(&integ_b, ORG_A, "phq9", "[0,0,0,0,0,0,0,0,0]"), 404);
    CHECK_STR(hh_problem(&h), "not-found");
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM screenings"), 1);

    /* Reading another organisation's result, list or alert. */
    snprintf(params, sizeof params, "id=%s", id);
    CHECK_INT(hh_call(&h, &oh_b, WH_OP_SCREENINGS_GET, params, NULL), 404);
    CHECK_STR(hh_problem(&h), "not-found");
    snprintf(params, sizeof params, "subject=p-1&org_id=%s", ORG_A);
    CHECK_INT(hh_call(&h, &oh_b, WH_OP_SCREENINGS_LIST, params, NULL), 404);
    CHECK_STR(hh_problem(&h), "not-found");
    /* Its own organisation has no such subject. */
    CHECK_INT(hh_call(&h, &oh_b, WH_OP_SCREENINGS_LIST, "subject=p-1", NULL), 200);
    CHECK_INT(hh_at(hh_body(&h), "items")->via.array.size, 0);
    snprintf(params, sizeof params, "id=%s", alert);
    CHECK_INT(hh_call(&h, &oh_b, WH_OP_ALERTS_GET, params, NULL), 404);
    CHECK_STR(hh_problem(&h), "not-found");
    CHECK_INT(hh_call(&h, &oh_b, WH_OP_ALERTS_ACKNOWLEDGE, params, NULL), 404);
    CHECK_STR(hh_problem(&h), "not-found");
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM alerts WHERE state = 'open'"), 1);
    /* Refused reads are not audited as reads of the result. */
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM audit WHERE action = 'screening.read'"), 0);
    hh_close(&h);
}

/* ---- alert life cycle ------------------------------------------------------------ */

static int alert_op(int op, const char *alert, const char *body)
{
    char params[64];
    snprintf(params, sizeof params, "id=%s", alert);
    return hh_call(&h, &oh_a, op, params, body);
}

static void test_alert_transitions(void)
{
    setup();
    CHECK_INT(push(&integ_a, ORG_A, "phq9", "[3,3,3,3,3,0,0,0,0]"), 201);
    char alert[WH_ID_LEN + 1];
    snprintf(alert, sizeof alert, "%s", hh_str(hh_body(&h), "alert_id"));
    const char *note = "{\"note\":\"Termin angeboten\"}";
    const char *accepted = "{\"outcome\":\"accepted\"}";

    /* Open: support is offered after acknowledging, not before. */
    CHECK_INT(alert_op(WH_OP_ALERTS_OFFER_SUPPORT, alert, note), 409);
    CHECK_STR(hh_problem(&h), "conflict");
    CHECK_INT(alert_op(WH_OP_ALERTS_CLOSE, alert, accepted), 409);
    CHECK_STR(hh_problem(&h), "conflict");
    CHECK_INT(alert_op(WH_OP_ALERTS_ACKNOWLEDGE, alert, NULL), 200);
    CHECK_STR(hh_str(hh_body(&h), "state"), "acknowledged");
    CHECK_INT(alert_op(WH_OP_ALERTS_ACKNOWLEDGE, alert, NULL), 409);
    CHECK_STR(hh_problem(&h), "conflict");
    CHECK_INT(alert_op(WH_OP_ALERTS_OFFER_SUPPORT, alert, note), 200);
    CHECK_STR(hh_str(hh_body(&h), "state"), "support_offered");
    CHECK_INT(alert_op(WH_OP_ALERTS_ACKNOWLEDGE, alert, NULL), 409);
    CHECK_STR(hh_problem(&h), "conflict");
    CHECK_INT(alert_op(WH_OP_ALERTS_CLOSE, alert, accepted), 200);
    CHECK_STR(hh_str(hh_body(&h), "state"), "closed");
    CHECK_STR(hh_str(hh_body(&h), "outcome"), "accepted");
    /* Closed is final. */
    CHECK_INT(alert_op(WH_OP_ALERTS_ACKNOWLEDGE, alert, NULL), 409);
    CHECK_INT(alert_op(WH_OP_ALERTS_OFFER_SUPPORT, alert, note), 409);
    CHECK_INT(alert_op(WH_OP_ALERTS_CLOSE, alert, accepted), 409);
    CHECK_STR(hh_problem(&h), "conflict");

    /* Closing straight from acknowledged (nobody could be reached). */
    CHECK_INT(push(&integ_a, ORG_A, "phq9", "[3,3,3,3,3,0,0,0,0]"), 201);
    snprintf(alert, sizeof alert, "%s", hh_str(hh_body(&h), "alert_id"));
    CHECK_INT(alert_op(WH_OP_ALERTS_ACKNOWLEDGE, alert, NULL), 200);
    CHECK_INT(alert_op(WH_OP_ALERTS_CLOSE, alert, "{\"outcome\":\"no_contact\"}"), 200);
    CHECK_STR(hh_str(hh_body(&h), "state"), "closed");
    hh_close(&h);
}

/* ---- the alerts' table ---------------------------------------------------- */

/* How many temporary B-trees the statement's program fills. */
static int ephemeral_tables(sqlite3 *db, const char *sql)
{
    char explain[512];
    snprintf(explain, sizeof explain, "EXPLAIN %s", sql);
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(db, explain, -1, &st, NULL), SQLITE_OK);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        n += strcmp((const char *)sqlite3_column_text(st, 1), "OpenEphemeral") == 0;
    sqlite3_finalize(st);
    return n;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Opening an alert, and every change of its state, checks the state and
 * the outcome in place: no temporary table per write. */
static void test_alert_writes_fill_no_temporary_table(void)
{
    setup();
    sqlite3 *db = wh_store_db(h.store);
    CHECK_INT(ephemeral_tables(db, "INSERT INTO alerts(id, org_id, subject, state, urgent,"
                                   " opened_ms, escalate_at_ms)"
                                   " VALUES ('a', 'o', 's', 'open', 0, 1, 2)"),
              0);
    CHECK_INT(ephemeral_tables(db, "UPDATE alerts SET state = 'closed', closed_ms = 3,"
                                   " outcome = 'accepted' WHERE id = 'a'"),
              0);
    hh_close(&h);
}

/* A store made before migration 4 keeps its alerts, their rowids, indexes
 * and constraints. */
static void test_alerts_kept_by_migration_4(void)
{
    char dir[] = "/tmp/wh-screening-migration-XXXXXX", path[128];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/screening.db", dir);
    static const char rows[] =
        "SELECT group_concat(rowid || ':' || id || ':' || org_id || ':' || subject || ':' || state"
        " || ':' || urgent || ':' || opened_ms || ':' || escalate_at_ms || ':' ||"
        " ifnull(acknowledged_ms, '-') || ':' || ifnull(note, '-') || ':' || ifnull(outcome, '-')"
        " || ':' || version, ' ') FROM (SELECT rowid, * FROM alerts ORDER BY id)";
    wh_store_t *store;
    CHECK_INT(wh_store_open(path, screening_migrations, 3, &store), 0);
    sqlite3 *db = wh_store_db(store);
    CHECK_INT(exec(db, "INSERT INTO alerts(rowid, id, org_id, subject, state, urgent, opened_ms,"
                       " escalate_at_ms, acknowledged_ms, note, outcome, version) VALUES"
                       " (7, 'a1', 'o', 's1', 'closed', 0, 1, 2, 3, 'Termin', 'declined', 4),"
                       " (9, 'a2', 'o', 's1', 'open', 1, 5, 6, NULL, NULL, NULL, 1)"),
              SQLITE_OK);
    char before[512];
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(db, rows, -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    snprintf(before, sizeof before, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    wh_store_destroy(&store);

    CHECK_INT(wh_store_open(path, screening_migrations, screening_n_migrations, &store), 0);
    db = wh_store_db(store);
    CHECK_INT(sqlite3_prepare_v2(db, rows, -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), before);
    sqlite3_finalize(st);
    CHECK_INT(sqlite3_prepare_v2(db,
                                 "SELECT group_concat(name, ' ') FROM (SELECT name FROM"
                                 " sqlite_master WHERE type = 'index' AND tbl_name = 'alerts'"
                                 " AND sql IS NOT NULL ORDER BY name)",
                                 -1, &st, NULL),
              SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0),
              "alerts_active alerts_due alerts_org alerts_subject");
    sqlite3_finalize(st);
    /* The checks, now in place, and the one active alert per subject
     * still hold. */
    CHECK_INT(ephemeral_tables(db, "UPDATE alerts SET state = 'closed', outcome = 'accepted'"
                                   " WHERE id = 'a2'"),
              0);
    CHECK_INT(exec(db, "INSERT INTO alerts(id, org_id, subject, state, urgent, opened_ms,"
                       " escalate_at_ms) VALUES ('a3', 'o', 's2', 'gone', 0, 1, 2)"),
              SQLITE_CONSTRAINT_CHECK);
    CHECK_INT(exec(db, "INSERT INTO alerts(id, org_id, subject, state, urgent, opened_ms,"
                       " escalate_at_ms, outcome) VALUES ('a3', 'o', 's2', 'closed', 0, 1, 2,"
                       " 'maybe')"),
              SQLITE_CONSTRAINT_CHECK);
    CHECK_INT(exec(db, "INSERT INTO alerts(id, org_id, subject, state, urgent, opened_ms,"
                       " escalate_at_ms) VALUES ('a3', 'o', 's1', 'open', 0, 1, 2)"),
              SQLITE_CONSTRAINT_UNIQUE);
    CHECK_INT(exec(db, "INSERT INTO alerts(id, org_id, subject, state, urgent, opened_ms,"
                       " escalate_at_ms) VALUES ('a3', 'o', 's2', 'open', 0, 1, 2)"),
              SQLITE_OK);
    wh_store_destroy(&store);
    test_remove_dir(dir);
}

int main(void)
{
    TEST(test_bands_at_boundaries);
    TEST(test_critical_item_whatever_the_total);
    TEST(test_individual_results_for_occupational_health_only);
    TEST(test_other_organisation_is_not_found);
    TEST(test_alert_transitions);
    TEST(test_alert_writes_fill_no_temporary_table);
    TEST(test_alerts_kept_by_migration_4);
    return 0;
}
