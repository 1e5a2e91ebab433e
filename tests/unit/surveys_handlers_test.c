/* The surveys service's real handlers run in-process (handler_harness.h) on
 * the business rules that protect respondents and tenants:
 * - a participation code answers once, only while the survey is open, and
 *   an invalid answer leaves it unused;
 * - the life cycle draft -> open -> closed, and every other transition a 409
 *   "conflict"; the definition frozen once open ("frozen"), the threshold
 *   never lowered once open, nothing but the title changed once closed;
 * - results only for closed surveys ("results-not-available"), never for
 *   the token that received codes in clear (four-eyes);
 * - k-anonymity at its boundary: a unit with k respondents is shown, one
 *   with k - 1 is not, and then neither is the sibling it could be derived
 *   from;
 * - tenants: another organisation's survey is 404 for every operation on
 *   it, and absent from the list. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "codes.h"
#include "handler_harness.h"
#include "participation.h"
#include "results.h"
#include "survey.h"

/* services/surveys/schema.h: every service has a schema.h, and the include
 * path of the unit tests finds another service's first. */
extern const char *const surveys_migrations[];
extern const int surveys_n_migrations;

#define ORG_A "01JAAAAAAAAAAAAAAAAAAAAAAA"
#define ORG_B "01JBBBBBBBBBBBBBBBBBBBBBBB"
#define K     5 /* the anonymity threshold of the surveys below */

static const wh_handler_t handlers[] = {
    {WH_OP_SURVEYS_CREATE, survey_create},
    {WH_OP_SURVEYS_LIST, survey_list},
    {WH_OP_SURVEYS_GET, survey_get},
    {WH_OP_SURVEYS_PATCH, survey_patch},
    {WH_OP_SURVEYS_OPEN, survey_open},
    {WH_OP_SURVEYS_CLOSE, survey_close_op},
    {WH_OP_SURVEYS_CODES, codes_create},
    {WH_OP_SURVEYS_RESULTS, results_get},
    {WH_OP_PUBLIC_RESPONSES_CREATE, public_response_create},
};

/* Who asks. The coordinators manage their own organisation's surveys; the
 * issuer is an admin who receives codes in clear; the reader an admin who
 * reads results; the public a respondent without a token. */
static const hh_who_t coord_a = {"tok-coord-a", WH_ROLE_COORDINATOR, {ORG_A}, 1};
static const hh_who_t coord_b = {"tok-coord-b", WH_ROLE_COORDINATOR, {ORG_B}, 1};
static const hh_who_t issuer = {"tok-issuer", WH_ROLE_ADMIN, {0}, 0};
static const hh_who_t reader = {"tok-reader", WH_ROLE_ADMIN, {0}, 0};
static const hh_who_t public_ = {"", 0, {0}, 0};

static hh_t h;

static void setup(void)
{
    hh_open(&h, WH_SVC_SURVEYS, "surveys", surveys_migrations, surveys_n_migrations, handlers,
            sizeof handlers / sizeof handlers[0]);
}

/* A survey of org with two top-level units A and B, one dimension of one
 * question (1..5) and threshold K, as a JSON body. */
static const char *survey_body(const char *org)
{
    static char body[1024];
    snprintf(body, sizeof body,
             "{\"org_id\":\"%s\",\"title\":\"Befragung\",\"languages\":[\"de\"],"
             "\"dimensions\":[{\"key\":\"support\",\"title\":{\"de\":\"Unterstützung\"},"
             "\"higher_is_better\":true}],"
             "\"questions\":[{\"key\":\"su1\",\"dimension\":\"support\","
             "\"text\":{\"de\":\"Hilfe\"},\"scale\":{\"min\":1,\"max\":5},\"reverse\":false}],"
             "\"units\":[{\"key\":\"A\",\"name\":\"Amt A\"},{\"key\":\"B\",\"name\":\"Amt B\"}],"
             "\"anonymity_threshold\":%d}",
             org, K);
    return body;
}

/* Creates survey_body(org) as who; its id into id. */
static void create_survey(const hh_who_t *who, const char *org, char id[WH_ID_LEN + 1])
{
    CHECK_INT(hh_call(&h, who, WH_OP_SURVEYS_CREATE, NULL, survey_body(org)), 201);
    const msgpack_object *b = hh_body(&h);
    CHECK_STR(hh_str(b, "state"), "draft");
    snprintf(id, WH_ID_LEN + 1, "%s", hh_str(b, "id"));
    CHECK(wh_id_valid(id, strlen(id)));
}

static int call_id(const hh_who_t *who, int op, const char *id, const char *body)
{
    char params[64];
    snprintf(params, sizeof params, "id=%s", id);
    return hh_call(&h, who, op, params, body);
}

static const char *state_of(const char *id)
{
    CHECK_INT(call_id(&reader, WH_OP_SURVEYS_GET, id, NULL), 200);
    return hh_str(hh_body(&h), "state");
}

/* n responses from unit, each with answer a, through codes issued in clear
 * to the issuer and the public response operation. */
static void respond(const char *id, const char *unit, int n, int a)
{
    char body[256];
    snprintf(body, sizeof body, "{\"count\":%d,\"unit\":\"%s\"}", n, unit);
    CHECK_INT(call_id(&issuer, WH_OP_SURVEYS_CODES, id, body), 201);
    const msgpack_object *codes = hh_at(hh_body(&h), "codes");
    CHECK(codes && codes->type == MSGPACK_OBJECT_ARRAY);
    CHECK_INT(codes->via.array.size, n);
    char code[n][CODE_SHOWN_LEN + 1];
    for (int i = 0; i < n; i++)
        CHECK_INT(wh_msg_copy_str(&codes->via.array.ptr[i], code[i], sizeof code[i]), 0);
    for (int i = 0; i < n; i++) {
        snprintf(body, sizeof body,
                 "{\"code\":\"%s\",\"language\":\"de\",\"answers\":{\"su1\":%d}}", code[i], a);
        CHECK_INT(call_id(&public_, WH_OP_PUBLIC_RESPONSES_CREATE, id, body), 201);
    }
}

/* ---- life cycle ----------------------------------------------------------- */

static void test_draft_open_closed(void)
{
    setup();
    char id[WH_ID_LEN + 1];
    create_survey(&coord_a, ORG_A, id);
    int64_t events0 = hh_count(&h, "SELECT count(*) FROM wh_outbox");

    /* A draft cannot be closed. */
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_CLOSE, id, NULL), 409);
    CHECK_STR(hh_problem(&h), "conflict");
    CHECK_STR(state_of(id), "draft");

    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_OPEN, id, NULL), 200);
    CHECK_STR(hh_str(hh_body(&h), "state"), "open");
    CHECK_STR(state_of(id), "open");
    /* Open once only. */
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_OPEN, id, NULL), 409);
    CHECK_STR(hh_problem(&h), "conflict");

    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_CLOSE, id, NULL), 200);
    CHECK_STR(hh_str(hh_body(&h), "state"), "closed");
    /* Closed is final: neither opened again nor closed twice. */
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_OPEN, id, NULL), 409);
    CHECK_STR(hh_problem(&h), "conflict");
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_CLOSE, id, NULL), 409);
    CHECK_STR(hh_problem(&h), "conflict");
    CHECK_STR(state_of(id), "closed");

    /* One event per transition that happened, none for the refused ones. */
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM wh_outbox") - events0, 2);
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM wh_outbox WHERE type = 'survey.opened'"), 1);
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM wh_outbox WHERE type = 'survey.closed'"), 1);
    hh_close(&h);
}

static void test_changes_by_state(void)
{
    setup();
    char id[WH_ID_LEN + 1];
    create_survey(&coord_a, ORG_A, id);
    const char *units = "{\"units\":[{\"key\":\"C\",\"name\":\"Amt C\"}]}";
    /* A draft changes freely, the threshold too (not below the minimum). */
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_PATCH, id, units), 200);
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_PATCH, id, "{\"anonymity_threshold\":7}"), 200);
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_PATCH, id, "{\"anonymity_threshold\":5}"), 200);
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_PATCH, id, "{\"anonymity_threshold\":4}"), 422);
    CHECK_STR(hh_problem(&h), "validation");

    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_OPEN, id, NULL), 200);
    /* Open: the definition is frozen, the threshold may rise, never fall. */
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_PATCH, id, units), 409);
    CHECK_STR(hh_problem(&h), "frozen");
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_PATCH, id, "{\"anonymity_threshold\":6}"), 200);
    CHECK_INT(hh_int(hh_body(&h), "anonymity_threshold"), 6);
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_PATCH, id, "{\"anonymity_threshold\":5}"), 422);
    CHECK_STR(hh_problem(&h), "validation");
    CHECK_INT(call_id(&reader, WH_OP_SURVEYS_GET, id, NULL), 200);
    CHECK_INT(hh_int(hh_body(&h), "anonymity_threshold"), 6);

    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_CLOSE, id, NULL), 200);
    /* Closed: only the title changes. */
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_PATCH, id, "{\"anonymity_threshold\":8}"), 409);
    CHECK_STR(hh_problem(&h), "conflict");
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_PATCH, id, "{\"title\":\"Endgültig\"}"), 200);
    CHECK_STR(hh_str(hh_body(&h), "title"), "Endgültig");
    CHECK_INT(hh_int(hh_body(&h), "anonymity_threshold"), 6);
    hh_close(&h);
}

/* ---- participation ------------------------------------------------------- */

static void test_a_code_counts_once_and_only_while_open(void)
{
    setup();
    char id[WH_ID_LEN + 1], code[CODE_SHOWN_LEN + 1], body[256];
    create_survey(&coord_a, ORG_A, id);
    CHECK_INT(call_id(&issuer, WH_OP_SURVEYS_CODES, id, "{\"count\":1}"), 201);
    CHECK_INT(wh_msg_copy_str(hh_at(hh_body(&h), "codes.0"), code, sizeof code), 0);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"language\":\"de\",\"answers\":{\"su1\":3}}",
             code);
    /* Not before the survey opens. */
    CHECK_INT(call_id(&public_, WH_OP_PUBLIC_RESPONSES_CREATE, id, body), 409);
    CHECK_STR(hh_problem(&h), "survey-not-open");
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_OPEN, id, NULL), 200);
    CHECK_INT(call_id(&public_, WH_OP_PUBLIC_RESPONSES_CREATE, id, body), 201);
    /* Once: the code is burnt with the response. */
    CHECK_INT(call_id(&public_, WH_OP_PUBLIC_RESPONSES_CREATE, id, body), 403);
    CHECK_STR(hh_problem(&h), "invalid-code");
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM survey_responses"), 1);
    /* An invalid answer leaves the code unused. */
    CHECK_INT(call_id(&issuer, WH_OP_SURVEYS_CODES, id, "{\"count\":1}"), 201);
    CHECK_INT(wh_msg_copy_str(hh_at(hh_body(&h), "codes.0"), code, sizeof code), 0);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"language\":\"de\",\"answers\":{\"su1\":6}}",
             code);
    CHECK_INT(call_id(&public_, WH_OP_PUBLIC_RESPONSES_CREATE, id, body), 422);
    CHECK_STR(hh_error_at(&h, 0), "/answers/su1");
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM survey_codes"), 1);
    /* Not after it closes (closing withdraws the unused codes). */
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_CLOSE, id, NULL), 200);
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM survey_codes"), 0);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"language\":\"de\",\"answers\":{\"su1\":3}}",
             code);
    CHECK_INT(call_id(&public_, WH_OP_PUBLIC_RESPONSES_CREATE, id, body), 409);
    CHECK_STR(hh_problem(&h), "survey-closed");
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM survey_responses"), 1);
    hh_close(&h);
}

/* ---- results ---------------------------------------------------------------- */

static void test_results_only_when_closed_and_not_for_the_issuer(void)
{
    setup();
    char id[WH_ID_LEN + 1];
    create_survey(&coord_a, ORG_A, id);
    CHECK_INT(call_id(&reader, WH_OP_SURVEYS_RESULTS, id, NULL), 409);
    CHECK_STR(hh_problem(&h), "results-not-available");
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_OPEN, id, NULL), 200);
    respond(id, "A", K, 4);
    CHECK_INT(call_id(&reader, WH_OP_SURVEYS_RESULTS, id, NULL), 409);
    CHECK_STR(hh_problem(&h), "results-not-available");
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_CLOSE, id, NULL), 200);
    CHECK_INT(call_id(&reader, WH_OP_SURVEYS_RESULTS, id, NULL), 200);
    CHECK_INT(hh_int(hh_body(&h), "total.n"), K);
    /* Whoever received codes in clear could subtract their own answers. */
    CHECK_INT(call_id(&issuer, WH_OP_SURVEYS_RESULTS, id, NULL), 403);
    CHECK_STR(hh_problem(&h), "codes-issuer-cannot-read-results");
    hh_close(&h);
}

/* Results of a closed survey with a responses in unit A and b in unit B. */
static const msgpack_object *results_with(int a, int b, char id[WH_ID_LEN + 1])
{
    create_survey(&coord_a, ORG_A, id);
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_OPEN, id, NULL), 200);
    respond(id, "A", a, 4);
    respond(id, "B", b, 2);
    CHECK_INT(call_id(&coord_a, WH_OP_SURVEYS_CLOSE, id, NULL), 200);
    CHECK_INT(call_id(&reader, WH_OP_SURVEYS_RESULTS, id, NULL), 200);
    const msgpack_object *r = hh_body(&h);
    CHECK_INT(hh_int(r, "anonymity_threshold"), K);
    CHECK_STR(hh_str(r, "units.0.unit"), "A");
    CHECK_STR(hh_str(r, "units.1.unit"), "B");
    return r;
}

static void check_shown(const msgpack_object *r, const char *cell, int n)
{
    char p[64];
    snprintf(p, sizeof p, "%s.suppressed", cell);
    CHECK(!hh_true(r, p));
    snprintf(p, sizeof p, "%s.n", cell);
    CHECK_INT(hh_int(r, p), n);
    snprintf(p, sizeof p, "%s.dimensions.0.suppressed", cell);
    CHECK(!hh_true(r, p));
    snprintf(p, sizeof p, "%s.dimensions.0.mean", cell);
    CHECK(!hh_nil(r, p));
}

static void check_hidden(const msgpack_object *r, const char *cell)
{
    static const char *const fields[] = {"n",
                                         "response_rate",
                                         "dimensions.0.n",
                                         "dimensions.0.mean",
                                         "dimensions.0.sd",
                                         "dimensions.0.distribution",
                                         "dimensions.0.band"};
    char p[64];
    snprintf(p, sizeof p, "%s.suppressed", cell);
    CHECK(hh_true(r, p));
    snprintf(p, sizeof p, "%s.dimensions.0.suppressed", cell);
    CHECK(hh_true(r, p));
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        snprintf(p, sizeof p, "%s.%s", cell, fields[i]);
        if (!hh_nil(r, p)) {
            fprintf(stderr, "%s is shown\n", p);
            exit(1);
        }
    }
}

static void test_k_anonymity_boundary(void)
{
    setup();
    char id[WH_ID_LEN + 1];
    /* k and k: every cell shown, with the figures of its own respondents. */
    const msgpack_object *r = results_with(K, K, id);
    check_shown(r, "total", 2 * K);
    check_shown(r, "units.0", K);
    check_shown(r, "units.1", K);
    CHECK_INT(hh_int(r, "units.0.dimensions.0.distribution.3"), K); /* answer 4 of 1..5: 75 */
    CHECK_INT(hh_int(r, "units.1.dimensions.0.distribution.1"), K); /* answer 2: 25 */
    hh_close(&h);

    /* k and k - 1: B is under the threshold; A would then give B away as
     * total minus A, so it is hidden too. The total still shows. */
    setup();
    r = results_with(K, K - 1, id);
    check_shown(r, "total", 2 * K - 1);
    check_hidden(r, "units.1");
    check_hidden(r, "units.0");
    /* Nothing hidden leaks through the highlights. */
    const msgpack_object *hot = hh_at(r, "hotspots"), *res = hh_at(r, "resources");
    CHECK(hot && res);
    for (uint32_t i = 0; i < hot->via.array.size; i++)
        CHECK(hh_nil(&hot->via.array.ptr[i], "unit"));
    for (uint32_t i = 0; i < res->via.array.size; i++)
        CHECK(hh_nil(&res->via.array.ptr[i], "unit"));
    hh_close(&h);
}

/* ---- tenants ---------------------------------------------------------------- */

static void test_other_organisation_is_not_found(void)
{
    setup();
    char id[WH_ID_LEN + 1];
    create_survey(&coord_a, ORG_A, id);
    /* Not even created for an organisation the token does not cover. */
    CHECK_INT(hh_call(&h, &coord_b, WH_OP_SURVEYS_CREATE, NULL, survey_body(ORG_A)), 422);
    CHECK_STR(hh_error_at(&h, 0), "/org_id");
    CHECK_INT(h.rep.n_errors, 1);

    static const int ops[] = {WH_OP_SURVEYS_GET,     WH_OP_SURVEYS_OPEN,  WH_OP_SURVEYS_CLOSE,
                              WH_OP_SURVEYS_RESULTS, WH_OP_SURVEYS_CODES, WH_OP_SURVEYS_PATCH};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        const char *body = ops[i] == WH_OP_SURVEYS_CODES   ? "{\"count\":1}"
                           : ops[i] == WH_OP_SURVEYS_PATCH ? "{\"title\":\"mine\"}"
                                                           : NULL;
        CHECK_INT(call_id(&coord_b, ops[i], id, body), 404);
        CHECK_STR(hh_problem(&h), "not-found");
    }
    CHECK_STR(state_of(id), "draft");
    CHECK_STR(hh_str(hh_body(&h), "title"), "Befragung");
    CHECK_INT(hh_count(&h, "SELECT count(*) FROM survey_codes"), 0);

    /* Listed for its own organisation only. */
    CHECK_INT(hh_call(&h, &coord_b, WH_OP_SURVEYS_LIST, NULL, NULL), 200);
    CHECK_INT(hh_at(hh_body(&h), "items")->via.array.size, 0);
    CHECK_INT(hh_call(&h, &coord_a, WH_OP_SURVEYS_LIST, NULL, NULL), 200);
    CHECK_INT(hh_at(hh_body(&h), "items")->via.array.size, 1);
    CHECK_STR(hh_str(hh_body(&h), "items.0.id"), id);
    hh_close(&h);
}

int main(void)
{
    TEST(test_draft_open_closed);
    TEST(test_changes_by_state);
    TEST(test_a_code_counts_once_and_only_while_open);
    TEST(test_results_only_when_closed_and_not_for_the_issuer);
    TEST(test_k_anonymity_boundary);
    TEST(test_other_organisation_is_not_found);
    return 0;
}
