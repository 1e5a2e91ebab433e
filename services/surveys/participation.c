#include "participation.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "code.h"
#include "id.h"
#include "survey.h"

static const char *const response_fields[] = {"code", "unit", "language", "answers", NULL};

static const char SQL_CODE_UNIT[] =
    "SELECT unit FROM survey_codes WHERE survey_id = ?1 AND hash = ?2";
static const char SQL_CODE_BURN[] = "DELETE FROM survey_codes WHERE survey_id = ?1 AND hash = ?2";
static const char SQL_RESPONSE_INSERT[] =
    "INSERT INTO survey_responses(survey_id, token, unit, answers) VALUES (?1, ?2, ?3, ?4)";

/* The public survey: 404 when it does not exist, 409 when it does not take
 * responses now. */
static bool load_accepting(wh_ctx_t *c, survey_t *s)
{
    int rc = survey_load(c->store, wh_request_param(c->req, "id"), s);
    if (rc == WH_ENOTFOUND) {
        wh_ctx_not_found(c, "survey");
        return false;
    }
    if (rc != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the survey could not be read");
        return false;
    }
    if (!survey_accepting(s, wh_clock_now_ms())) {
        /* Two types, so that the participation page can tell an employee
         * whether to come back later or that the codes have expired. */
        if (s->state == SURVEY_DRAFT)
            wh_reply_problem(c->rep, 409, "survey-not-open", "the survey is not open yet");
        else
            wh_reply_problem(c->rep, 409, "survey-closed", "the survey is closed");
        survey_close(s);
        return false;
    }
    return true;
}

/* Looks the code up: its hash into hash and its unit index (-1 for none)
 * into *unit. False (and a 403) for an unknown or used code; both look the
 * same, so that nobody can tell a used code from a wrong one. */
static bool find_code(wh_ctx_t *c, const survey_t *s, wh_str_t code, char hash[65], int *unit)
{
    char canon[CODE_CHARS + 1];
    sqlite3_stmt *st = NULL;
    if (code_normalize(code, canon)) {
        code_hash(s->id, canon, hash);
        st = wh_store_stmt(c->store, SQL_CODE_UNIT);
        wh_stmt_bind_text(st, 1, s->id);
        wh_stmt_bind_text(st, 2, hash);
    }
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        wh_reply_problem(c->rep, 403, "invalid-code",
                         "this participation code is unknown or has been used");
        return false;
    }
    wh_str_t key = wh_stmt_col_str(st, 0);
    *unit = key.n ? def_find_unit(&s->def, key) : -1;
    sqlite3_reset(st);
    return true;
}

static void pack_unit(msgpack_packer *pk, const survey_def_t *d, int u)
{
    msgpack_pack_map(pk, 3);
    def_kv_unit(pk, d, u, "key");
}

void public_survey_get(wh_ctx_t *c)
{
    survey_t s;
    if (!load_accepting(c, &s))
        return;
    const survey_def_t *d = &s.def;
    wh_str_t lang_p = wh_request_param(c->req, "lang");
    int lang = lang_p.p ? def_lang_index(lang_p) : d->langs[0];
    char hash[65];
    int code_unit;
    if (!find_code(c, &s, wh_request_param(c->req, "code"), hash, &code_unit))
        goto done;
    if (lang < 0 || !def_has_lang(d, lang)) {
        wh_reply_param(c->rep, "lang", "must be one of the survey's languages");
        goto done;
    }
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 8);
    wh_msg_kv_str(pk, "survey_id", s.id);
    wh_msg_kv_str(pk, "title", s.title);
    wh_msg_kv_str(pk, "language", def_languages[lang]);
    wh_msg_pack_str(pk, "languages");
    msgpack_pack_array(pk, (size_t)d->n_langs);
    for (int i = 0; i < d->n_langs; i++)
        wh_msg_pack_str(pk, def_languages[d->langs[i]]);
    char closes[WH_RFC3339_LEN];
    if (s.closes_at_ms >= 0)
        wh_clock_format_rfc3339(s.closes_at_ms, closes);
    wh_msg_kv_str(pk, "closes_at", s.closes_at_ms >= 0 ? closes : NULL);
    wh_msg_pack_str(pk, "unit");
    if (code_unit >= 0)
        wh_msg_pack_wstr(pk, d->units[code_unit].key);
    else
        msgpack_pack_nil(pk);
    /* Which dimension a question measures and whether it is reversed stay
     * with the service: respondents see the questions, and for paging a
     * block number that changes where the dimension does (a page keeps a
     * dimension's questions together). */
    wh_msg_pack_str(pk, "questions");
    msgpack_pack_array(pk, (size_t)d->n_questions);
    int block = 0;
    for (int i = 0; i < d->n_questions; i++) {
        const def_question_t *q = &d->questions[i];
        if (i > 0 && q->dim != d->questions[i - 1].dim)
            block++;
        msgpack_pack_map(pk, 4);
        wh_msg_kv_int(pk, "block", block);
        wh_msg_pack_str(pk, "key");
        wh_msg_pack_wstr(pk, q->key);
        wh_msg_pack_str(pk, "text");
        wh_msg_pack_wstr(pk, q->text.t[lang]);
        wh_msg_pack_str(pk, "scale");
        msgpack_pack_map(pk, 2);
        wh_msg_kv_int(pk, "min", q->min);
        wh_msg_kv_int(pk, "max", q->max);
    }
    /* The units a respondent may choose: all, or those within the code's. */
    int n_units = 0;
    for (int u = 0; u < d->n_units; u++)
        n_units += code_unit < 0 || def_unit_within(d, u, code_unit);
    wh_msg_pack_str(pk, "units");
    msgpack_pack_array(pk, (size_t)n_units);
    for (int i = 0; i < d->n_units; i++) {
        int u = d->unit_order[i];
        if (code_unit < 0 || def_unit_within(d, u, code_unit))
            pack_unit(pk, d, u);
    }
done:
    survey_close(&s);
}

/* Validates the answers into one byte per question (DEF_SKIPPED where not
 * answered); reports each invalid one at /answers/<key>. */
static void valid_answers(wh_ctx_t *c, const survey_def_t *d, const msgpack_object *o,
                          unsigned char *out)
{
    memset(out, DEF_SKIPPED, (size_t)d->n_questions);
    if (!o) {
        wh_reply_field(c->rep, "/answers", "is required");
        return;
    }
    if (o->type != MSGPACK_OBJECT_MAP) {
        wh_reply_field(c->rep, "/answers", "must be an object of question keys and answers");
        return;
    }
    if (o->via.map.size == 0) {
        wh_reply_field(c->rep, "/answers", "must answer at least one question");
        return;
    }
    wh_valid_t v = {.rep = c->rep, .obj = o, .prefix = "/answers"};
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        wh_str_t key = wh_msg_str(&o->via.map.ptr[i].key);
        char ptr[300], keyz[DEF_MAX_KEY * 4 + 1];
        snprintf(keyz, sizeof keyz, "%.*s",
                 (int)(key.n < DEF_MAX_KEY * 4 ? key.n : DEF_MAX_KEY * 4), key.p ? key.p : "");
        wh_valid_pointer(&v, keyz, ptr, sizeof ptr);
        int q = key.p ? def_find_question(d, key) : -1;
        if (q < 0) {
            wh_reply_field(c->rep, ptr, "is not a question of this survey");
            continue;
        }
        int64_t a;
        const def_question_t *qq = &d->questions[q];
        if (!wh_msg_int(&o->via.map.ptr[i].val, &a) || a < qq->min || a > qq->max) {
            wh_reply_field(c->rep, ptr, "must be an integer from %d to %d", qq->min, qq->max);
            continue;
        }
        out[q] = (unsigned char)a;
    }
}

void public_response_create(wh_ctx_t *c)
{
    survey_t s;
    if (!load_accepting(c, &s))
        return;
    const survey_def_t *d = &s.def;
    wh_valid_t v;
    char hash[65];
    int code_unit, unit = -1, lang = -1;
    wh_str_t code = {0}, unit_key = {0};
    const msgpack_object *body = c->req->body;
    /* The code first: without a valid one, nothing about the body is
     * worth reporting. */
    if (body && body->type == MSGPACK_OBJECT_MAP)
        code = wh_msg_str(wh_msg_get(body, "code"));
    if (!find_code(c, &s, code, hash, &code_unit))
        goto done;
    if (!wh_ctx_body(c, &v, response_fields))
        goto done;
    wh_str_t lang_s;
    if (wh_valid_str(&v, "language", WH_V_REQUIRED, 2, 2, &lang_s) == WH_V_SET &&
        ((lang = def_lang_index(lang_s)) < 0 || !def_has_lang(d, lang)))
        wh_reply_field(c->rep, "/language", "must be one of the survey's languages");
    if (wh_valid_str(&v, "unit", WH_V_NULLABLE, 1, DEF_MAX_KEY, &unit_key) == WH_V_SET) {
        if ((unit = def_find_unit(d, unit_key)) < 0)
            wh_reply_field(c->rep, "/unit", "is not a unit of this survey");
        else if (code_unit >= 0 && !def_unit_within(d, unit, code_unit))
            wh_reply_field(c->rep, "/unit", "is not within the unit this code was issued for");
    } else {
        unit = code_unit;
    }
    unsigned char answers[DEF_MAX_QUESTIONS];
    valid_answers(c, d, wh_msg_get(body, "answers"), answers);
    if (wh_reply_invalid(c->rep))
        goto done;
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_CODE_BURN);
    wh_stmt_bind_text(st, 1, s.id);
    wh_stmt_bind_text(st, 2, hash);
    if (!st || sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(wh_store_db(c->store)) != 1) {
        wh_reply_problem(c->rep, 403, "invalid-code",
                         "this participation code is unknown or has been used");
        goto done;
    }
    unsigned char token[RESPONSE_TOKEN_BYTES];
    st = wh_store_stmt(c->store, SQL_RESPONSE_INSERT);
    if (!st || wh_random_bytes(token, sizeof token) != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the response could not be stored");
        goto done;
    }
    wh_stmt_bind_text(st, 1, s.id);
    sqlite3_bind_blob(st, 2, token, sizeof token, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, unit);
    sqlite3_bind_blob(st, 4, answers, d->n_questions, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        wh_reply_problem(c->rep, 500, "internal", "the response could not be stored");
        goto done;
    }
    msgpack_packer *pk = wh_reply_ok(c->rep, 201);
    msgpack_pack_map(pk, 2);
    wh_msg_kv_str(pk, "survey_id", s.id);
    wh_msg_kv_bool(pk, "recorded", true);
done:
    survey_close(&s);
}

/* A reader may keep the checkpoint from finishing; then it is tried again
 * at the next run. */
static int64_t wal_run(wh_store_t *store, void *arg)
{
    wh_store_exec(store, "PRAGMA wal_checkpoint(TRUNCATE);");
    return 0;
}

int participation_every(wh_service_t *s)
{
    static const wh_job_t job = {"WAL truncation", NULL, wal_run, WH_JOB_OWN_TXN};
    return wh_service_every(s, SURVEY_WAL_TRUNCATE_MS, &job, NULL);
}
