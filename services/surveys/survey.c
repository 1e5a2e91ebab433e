#include "survey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "list.h"
#include "log.h"
#include "networks.h"
#include "outbox.h"

const char *const survey_states[] = {"draft", "open", "closed", NULL};

static const char *const create_fields[] = {
    "org_id", "template_id",         "title",    "languages", "dimensions", "questions",
    "units",  "anonymity_threshold", "opens_at", "closes_at", NULL};
static const char *const patch_fields[] = {"title",     "languages", "dimensions",
                                           "questions", "units",     "anonymity_threshold",
                                           "opens_at",  "closes_at", NULL};
static const char *const def_fields[] = {"languages", "dimensions", "questions", "units", NULL};

#define SURVEY_COLUMNS                                                                             \
    "id, org_id, title, state, anonymity_threshold, opens_at_ms, closes_at_ms, opened_at,"         \
    " closed_at, definition, version, created_at, updated_at, template_id"
enum {
    COL_ID,
    COL_ORG,
    COL_TITLE,
    COL_STATE,
    COL_THRESHOLD,
    COL_OPENS,
    COL_CLOSES,
    COL_OPENED,
    COL_CLOSED,
    COL_DEF,
    COL_VERSION,
    COL_CREATED,
    COL_UPDATED,
    COL_TEMPLATE
};

static const char SQL_SURVEY_GET[] = "SELECT " SURVEY_COLUMNS " FROM surveys WHERE id = ?1";
static const char SQL_SURVEY_INSERT[] =
    "INSERT INTO surveys(id, org_id, title, state, anonymity_threshold, opens_at, opens_at_ms,"
    " closes_at, closes_at_ms, definition, created_at, updated_at, template_id)"
    " VALUES (?1, ?2, ?3, 'draft', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)";
static const char SQL_SURVEY_UPDATE[] =
    "UPDATE surveys SET title = ?2, anonymity_threshold = ?3, opens_at = ?4, opens_at_ms = ?5,"
    " closes_at = ?6, closes_at_ms = ?7, definition = ?8, version = version + 1,"
    " updated_at = ?9 WHERE id = ?1";
static const char SQL_SURVEY_STATE[] =
    "UPDATE surveys SET state = ?2, opened_at = coalesce(?3, opened_at),"
    " closed_at = coalesce(?4, closed_at), version = version + 1, updated_at = ?5"
    " WHERE id = ?1";
/* ?3 is the principal's organisations as a JSON array, NULL for admins. */
static const char SQL_SURVEY_LIST[] =
    "SELECT " SURVEY_COLUMNS " FROM surveys"
    " WHERE (?1 IS NULL OR id > ?1)"
    "   AND (?3 IS NULL OR org_id IN (SELECT value FROM json_each(?3)))"
    "   AND (?4 IS NULL OR org_id = ?4)"
    "   AND (?5 IS NULL OR state = ?5)"
    " ORDER BY id LIMIT ?2";
static const char SQL_CODES_ISSUED[] =
    "SELECT coalesce(sum(issued), 0) FROM survey_code_counts WHERE survey_id = ?1";
static const char SQL_CODE_COUNTS[] =
    "SELECT unit, issued, clear, print, email FROM survey_code_counts WHERE survey_id = ?1"
    " ORDER BY unit";
static const char SQL_CODE_UNITS[] =
    "SELECT unit FROM survey_code_counts WHERE survey_id = ?1 AND unit <> ''";
static const char SQL_CODES_DELETE_ALL[] = "DELETE FROM survey_codes WHERE survey_id = ?1";
static const char SQL_DUE_CLOSE[] = "SELECT id FROM surveys WHERE state = 'open'"
                                    " AND closes_at_ms <= ?1 ORDER BY closes_at_ms LIMIT ?2";
static const char SQL_DUE_OPEN[] = "SELECT id FROM surveys WHERE state = 'draft'"
                                   " AND opens_at_ms <= ?1 ORDER BY opens_at_ms LIMIT ?2";

static int64_t col_ms(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, col);
}

/* Everything but the definition, from a row of SURVEY_COLUMNS. */
static void row_fields(sqlite3_stmt *st, survey_t *s)
{
    wh_stmt_col_copy(st, COL_ID, s->id, sizeof s->id);
    wh_stmt_col_copy(st, COL_ORG, s->org_id, sizeof s->org_id);
    wh_stmt_col_copy(st, COL_TITLE, s->title, sizeof s->title);
    const char *state = (const char *)sqlite3_column_text(st, COL_STATE);
    s->state = strcmp(state, "open") == 0     ? SURVEY_OPEN
               : strcmp(state, "closed") == 0 ? SURVEY_CLOSED
                                              : SURVEY_DRAFT;
    s->threshold = sqlite3_column_int(st, COL_THRESHOLD);
    s->opens_at_ms = col_ms(st, COL_OPENS);
    s->closes_at_ms = col_ms(st, COL_CLOSES);
    wh_stmt_col_copy(st, COL_OPENED, s->opened_at, sizeof s->opened_at);
    wh_stmt_col_copy(st, COL_CLOSED, s->closed_at, sizeof s->closed_at);
    s->version = sqlite3_column_int64(st, COL_VERSION);
    wh_stmt_col_copy(st, COL_CREATED, s->created_at, sizeof s->created_at);
    wh_stmt_col_copy(st, COL_UPDATED, s->updated_at, sizeof s->updated_at);
    wh_stmt_col_copy(st, COL_TEMPLATE, s->template_id, sizeof s->template_id);
}

int survey_load(wh_store_t *store, wh_str_t id, survey_t *s)
{
    memset(s, 0, sizeof *s);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_SURVEY_GET);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_str(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW)
        return WH_ENOTFOUND;
    row_fields(st, s);
    int rc = def_load(&s->def, sqlite3_column_blob(st, COL_DEF),
                      (size_t)sqlite3_column_bytes(st, COL_DEF));
    sqlite3_reset(st);
    if (rc != 0)
        wh_log_error("survey %s: stored definition does not parse", s->id);
    return rc;
}

void survey_close(survey_t *s)
{
    def_close(&s->def);
}

bool survey_load_scoped(wh_ctx_t *c, survey_t *s)
{
    wh_str_t id = wh_request_param(c->req, "id");
    int rc = survey_load(c->store, id, s);
    if (rc == 0 && wh_request_has_org(c->req, (wh_str_t){s->org_id, strlen(s->org_id)}))
        return true;
    if (rc == 0)
        survey_close(s);
    if (rc == 0 || rc == WH_ENOTFOUND)
        wh_ctx_not_found(c, "survey");
    else
        wh_reply_problem(c->rep, 500, "internal", "the survey could not be read");
    return false;
}

bool survey_accepting(const survey_t *s, int64_t now_ms)
{
    return s->state == SURVEY_OPEN && (s->closes_at_ms < 0 || now_ms < s->closes_at_ms);
}

static void kv_instant(msgpack_packer *pk, const char *key, int64_t ms)
{
    char t[WH_RFC3339_LEN];
    if (ms >= 0)
        wh_clock_format_rfc3339(ms, t);
    wh_msg_kv_str(pk, key, ms >= 0 ? t : NULL);
}

static void kv_text(msgpack_packer *pk, const char *key, const char *v)
{
    wh_msg_kv_str(pk, key, v[0] ? v : NULL);
}

static void pack_common(msgpack_packer *pk, const survey_t *s)
{
    wh_msg_kv_str(pk, "id", s->id);
    wh_msg_kv_str(pk, "org_id", s->org_id);
    wh_msg_kv_str(pk, "title", s->title);
    wh_msg_kv_str(pk, "state", survey_states[s->state]);
    wh_msg_kv_int(pk, "anonymity_threshold", s->threshold);
    kv_instant(pk, "opens_at", s->opens_at_ms);
    kv_instant(pk, "closes_at", s->closes_at_ms);
    kv_text(pk, "opened_at", s->opened_at);
    kv_text(pk, "closed_at", s->closed_at);
    kv_text(pk, "created_at", s->created_at);
    kv_text(pk, "updated_at", s->updated_at);
    kv_text(pk, "template_id", s->template_id);
}
#define COMMON_FIELDS 12

static int64_t codes_issued(wh_store_t *store, const char *id)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_CODES_ISSUED);
    wh_stmt_bind_text(st, 1, id);
    return st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

static void kv_counts(msgpack_packer *pk, const int64_t n[4])
{
    wh_msg_kv_int(pk, "issued", n[0]);
    wh_msg_kv_int(pk, "clear", n[1]);
    wh_msg_kv_int(pk, "print", n[2]);
    wh_msg_kv_int(pk, "email", n[3]);
}

/* codes: {issued, clear, print, email, units: [{unit, issued, clear, print,
 * email}]}: how many codes were issued and how, per unit (null: codes for
 * the organisation as a whole). Units are at most DEF_MAX_UNITS + 1 rows. */
static void pack_code_counts(msgpack_packer *pk, wh_store_t *store, const char *id)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_CODE_COUNTS);
    int64_t total[4] = {0};
    uint32_t rows = 0;
    wh_stmt_bind_text(st, 1, id);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        for (int k = 0; k < 4; k++)
            total[k] += sqlite3_column_int64(st, 1 + k);
    }
    if (st)
        sqlite3_reset(st);
    wh_msg_pack_str(pk, "codes");
    msgpack_pack_map(pk, 5);
    kv_counts(pk, total);
    wh_msg_pack_str(pk, "units");
    msgpack_pack_array(pk, rows);
    wh_stmt_bind_text(st, 1, id);
    for (uint32_t r = 0; r < rows; r++) {
        int64_t n[4] = {0};
        wh_str_t unit = {0};
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            unit = wh_stmt_col_str(st, 0);
            for (int k = 0; k < 4; k++)
                n[k] = sqlite3_column_int64(st, 1 + k);
        }
        msgpack_pack_map(pk, 5);
        wh_msg_pack_str(pk, "unit");
        wh_msg_pack_wstr(pk, unit.n ? unit : (wh_str_t){0});
        kv_counts(pk, n);
    }
    if (st)
        sqlite3_reset(st);
}

/* The whole survey: the common fields, the definition as stored, and how
 * many codes were issued, and how. */
static void reply_survey(wh_ctx_t *c, const survey_t *s, int status)
{
    int64_t issued = codes_issued(c->store, s->id);
    msgpack_packer *pk = wh_reply_ok(c->rep, status);
    const msgpack_object *def = s->def.msg->root;
    msgpack_pack_map(pk, COMMON_FIELDS + def->via.map.size + 2);
    pack_common(pk, s);
    for (uint32_t i = 0; i < def->via.map.size; i++) {
        wh_msg_pack_obj(pk, &def->via.map.ptr[i].key);
        wh_msg_pack_obj(pk, &def->via.map.ptr[i].val);
    }
    wh_msg_kv_int(pk, "codes_issued", issued);
    pack_code_counts(pk, c->store, s->id);
    wh_reply_etag(c->rep, "\"%s.%lld\"", s->id, (long long)s->version);
}

static void reply_by_id(wh_ctx_t *c, const char *id, int status)
{
    survey_t s;
    if (survey_load(c->store, (wh_str_t){id, strlen(id)}, &s) != 0) {
        wh_reply_problem(c->rep, 500, "internal", "the survey could not be read back");
        return;
    }
    reply_survey(c, &s, status);
    survey_close(&s);
}

/* opens_at or closes_at: null unsets it (-1), an instant must be in the
 * future. */
static wh_v_result_t valid_future(wh_valid_t *v, const char *key, int64_t now, int64_t *value)
{
    int64_t x;
    wh_v_result_t r = wh_valid_instant(v, key, WH_V_NULLABLE, &x);
    if (r == WH_V_NULL) {
        *value = -1;
    } else if (r == WH_V_SET && x <= now) {
        char pointer[64];
        wh_valid_pointer(v, key, pointer, sizeof pointer);
        wh_reply_field(v->rep, pointer, "must be in the future");
        return WH_V_BAD;
    } else if (r == WH_V_SET) {
        *value = x;
    }
    return r;
}

/* opens_at and closes_at: instants in the future, opens before closes.
 * *opens and *closes hold the current values (-1 unset) and are updated
 * from the body; returns false after reporting a problem. */
static bool valid_times(wh_valid_t *v, int64_t *opens, int64_t *closes)
{
    int64_t now = wh_clock_now_ms();
    wh_v_result_t ro = valid_future(v, "opens_at", now, opens);
    wh_v_result_t rc = valid_future(v, "closes_at", now, closes);
    bool ok = ro != WH_V_BAD && rc != WH_V_BAD;
    if (ok && *opens >= 0 && *closes >= 0 && *closes <= *opens) {
        wh_reply_field(v->rep, rc == WH_V_SET ? "/closes_at" : "/opens_at",
                       "closes_at must be after opens_at");
        ok = false;
    }
    return ok;
}

static void bind_instant(sqlite3_stmt *st, int text_idx, int ms_idx, int64_t ms)
{
    char t[WH_RFC3339_LEN];
    if (ms < 0) {
        sqlite3_bind_null(st, text_idx);
        sqlite3_bind_null(st, ms_idx);
        return;
    }
    wh_clock_format_rfc3339(ms, t);
    sqlite3_bind_text(st, text_idx, t, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, ms_idx, ms);
}

void survey_create(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, create_fields))
        return;
    wh_str_t org = {0}, title = {0};
    int64_t threshold = SURVEY_DEFAULT_THRESHOLD, opens = -1, closes = -1;
    bool org_ok = false;
    if (wh_valid_str(&v, "org_id", WH_V_REQUIRED, 1, WH_ID_LEN, &org) == WH_V_SET) {
        org_ok = wh_id_valid(org.p, org.n) && wh_request_has_org(c->req, org);
        if (!org_ok)
            wh_reply_field(c->rep, "/org_id", "is not an organisation this token covers");
    }
    wh_valid_str(&v, "title", WH_V_REQUIRED, 1, SURVEY_MAX_TITLE, &title);
    wh_valid_int(&v, "anonymity_threshold", 0, SURVEY_MIN_THRESHOLD, SURVEY_MAX_THRESHOLD,
                 &threshold);
    valid_times(&v, &opens, &closes);
    const msgpack_object *body = c->req->body;
    survey_def_t def, tmpl = {0};
    wh_str_t template_id = {0};
    bool def_ok;
    if (wh_valid_str(&v, "template_id", 0, 1, WH_ID_LEN, &template_id) == WH_V_SET)
        def_ok = org_ok && network_template_def(c, template_id, org, &tmpl, &def);
    else
        def_ok = def_parse(&def, wh_msg_get(body, "languages"), wh_msg_get(body, "dimensions"),
                           wh_msg_get(body, "questions"), wh_msg_get(body, "units"), c->rep);
    if (wh_reply_invalid(c->rep) || !def_ok) {
        if (def_ok)
            def_close(&def);
        def_close(&tmpl);
        return;
    }
    wh_buf_t blob;
    wh_buf_init(&blob);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &blob);
    def_pack(&def, &pk);
    def_close(&def);
    def_close(&tmpl);
    char id[WH_ID_LEN + 1], now[WH_RFC3339_LEN];
    wh_id_new(id);
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SURVEY_INSERT);
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_str(st, 2, org);
    wh_stmt_bind_str(st, 3, title);
    sqlite3_bind_int64(st, 4, threshold);
    bind_instant(st, 5, 6, opens);
    bind_instant(st, 7, 8, closes);
    sqlite3_bind_blob(st, 9, blob.data, (int)blob.len, SQLITE_TRANSIENT);
    wh_stmt_bind_text(st, 10, now);
    wh_stmt_bind_str(st, 11, template_id);
    int rc = wh_buf_failed(&blob) ? SQLITE_NOMEM : sqlite3_step(st);
    wh_buf_close(&blob);
    if (rc != SQLITE_DONE) {
        wh_reply_problem(c->rep, 500, "internal", "the survey could not be stored");
        return;
    }
    reply_by_id(c, id, 201);
}

/* Items of the list are summaries: a definition can be large, and the
 * single survey has it. */
void survey_list(wh_ctx_t *c)
{
    wh_list_t list;
    bool ok = wh_list_start(&list, c->req, c->rep);
    wh_str_t org = wh_request_param(c->req, "org_id");
    int state;
    ok = wh_param_enum(c->req, c->rep, "state", survey_states, "must be draft, open or closed",
                       &state) &&
         ok;
    if (!ok)
        return;
    sqlite3_stmt *st = wh_list_query(&list, c, SQL_SURVEY_LIST);
    wh_stmt_bind_str(st, 4, org);
    wh_stmt_bind_text(st, 5, wh_param_value(survey_states, state));
    msgpack_packer *pk;
    survey_t s;
    while ((pk = wh_list_next(&list, st, COL_ID))) {
        row_fields(st, &s);
        msgpack_pack_map(pk, COMMON_FIELDS);
        pack_common(pk, &s);
    }
    wh_list_finish(&list, c->rep);
}

void survey_get(wh_ctx_t *c)
{
    survey_t s;
    if (!survey_load_scoped(c, &s))
        return;
    reply_survey(c, &s, 200);
    survey_close(&s);
}

/* Codes already issued for a unit keep it: the unit must stay in the tree. */
static void check_code_units(wh_ctx_t *c, const survey_t *s, const survey_def_t *def)
{
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_CODE_UNITS);
    wh_stmt_bind_text(st, 1, s->id);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        wh_str_t key = wh_stmt_col_str(st, 0);
        if (def_find_unit(def, key) < 0) {
            wh_reply_field(c->rep, "/units", "codes were issued for unit '%.*s'; it must stay",
                           (int)key.n, key.p);
            break;
        }
    }
    if (st)
        sqlite3_reset(st);
}

void survey_patch(wh_ctx_t *c)
{
    survey_t s;
    if (!survey_load_scoped(c, &s))
        return;
    char etag[96];
    snprintf(etag, sizeof etag, "\"%s.%lld\"", s.id, (long long)s.version);
    wh_valid_t v;
    if (!wh_ctx_if_match(c, etag) || !wh_ctx_body(c, &v, patch_fields))
        goto done;
    const msgpack_object *body = c->req->body;
    bool def_given = false;
    for (const char *const *f = def_fields; *f; f++)
        def_given = def_given || wh_msg_get(body, *f);
    if (s.state == SURVEY_CLOSED) {
        for (uint32_t i = 0; i < body->via.map.size; i++)
            if (!wh_msg_str_eq(&body->via.map.ptr[i].key, "title")) {
                wh_reply_problem(c->rep, 409, "conflict",
                                 "the survey is closed; only its title may change");
                goto done;
            }
    } else if (s.template_id[0] &&
               (wh_msg_get(body, "languages") || wh_msg_get(body, "dimensions") ||
                wh_msg_get(body, "questions"))) {
        /* Changed, the survey would no longer compare in the benchmark. */
        wh_reply_problem(c->rep, 409, "frozen",
                         "languages, dimensions and questions come from the network template "
                         "%s and cannot change",
                         s.template_id);
        goto done;
    } else if (s.state == SURVEY_OPEN && def_given) {
        wh_reply_problem(c->rep, 409, "frozen",
                         "languages, dimensions, questions and units are frozen once the survey "
                         "is open");
        goto done;
    } else if (s.state == SURVEY_OPEN && wh_msg_get(body, "opens_at")) {
        wh_reply_problem(c->rep, 409, "conflict", "the survey has opened already");
        goto done;
    }
    char title[sizeof s.title];
    snprintf(title, sizeof title, "%s", s.title);
    wh_str_t x;
    if (wh_valid_str(&v, "title", 0, 1, SURVEY_MAX_TITLE, &x) == WH_V_SET)
        snprintf(title, sizeof title, "%.*s", (int)x.n, x.p);
    int64_t threshold = s.threshold, opens = s.opens_at_ms, closes = s.closes_at_ms;
    if (wh_valid_int(&v, "anonymity_threshold", 0, SURVEY_MIN_THRESHOLD, SURVEY_MAX_THRESHOLD,
                     &threshold) == WH_V_SET &&
        s.state != SURVEY_DRAFT && threshold < s.threshold)
        wh_reply_field(c->rep, "/anonymity_threshold",
                       "may be raised but never lowered once the survey is open (it is %d)",
                       s.threshold);
    valid_times(&v, &opens, &closes);
    survey_def_t def;
    bool def_ok = false;
    if (def_given) {
        /* Merge patch: a definition field given replaces the stored one;
         * the whole definition is validated together. */
        const msgpack_object *cur = s.def.msg->root;
        const msgpack_object *f[4];
        for (int i = 0; i < 4; i++) {
            f[i] = wh_msg_get(body, def_fields[i]);
            if (!f[i])
                f[i] = wh_msg_get(cur, def_fields[i]);
        }
        def_ok = def_parse(&def, f[0], f[1], f[2], f[3], c->rep);
        if (def_ok)
            check_code_units(c, &s, &def);
    }
    if (wh_reply_invalid(c->rep))
        goto done_def;
    wh_buf_t blob;
    wh_buf_init(&blob);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &blob);
    def_pack(def_ok ? &def : &s.def, &pk);
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SURVEY_UPDATE);
    wh_stmt_bind_text(st, 1, s.id);
    wh_stmt_bind_text(st, 2, title);
    sqlite3_bind_int64(st, 3, threshold);
    bind_instant(st, 4, 5, opens);
    bind_instant(st, 6, 7, closes);
    sqlite3_bind_blob(st, 8, blob.data, (int)blob.len, SQLITE_TRANSIENT);
    wh_stmt_bind_text(st, 9, now);
    int rc = wh_buf_failed(&blob) ? SQLITE_NOMEM : sqlite3_step(st);
    wh_buf_close(&blob);
    if (rc != SQLITE_DONE)
        wh_reply_problem(c->rep, 500, "internal", "the survey could not be updated");
    else
        reply_by_id(c, s.id, 200);
done_def:
    if (def_ok)
        def_close(&def);
done:
    survey_close(&s);
}

static int emit_event(wh_store_t *store, const survey_t *s, const char *type)
{
    wh_event_t ev;
    msgpack_packer *pk = wh_event_start(&ev, 2);
    wh_msg_kv_str(pk, "survey_id", s->id);
    wh_msg_kv_str(pk, "title", s->title);
    return wh_event_emit(&ev, store, type, s->org_id);
}

int survey_transition(wh_store_t *store, survey_t *s, enum survey_state to)
{
    char now[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_SURVEY_STATE);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, s->id);
    wh_stmt_bind_text(st, 2, survey_states[to]);
    wh_stmt_bind_text(st, 3, to == SURVEY_OPEN ? now : NULL);
    wh_stmt_bind_text(st, 4, to == SURVEY_CLOSED ? now : NULL);
    wh_stmt_bind_text(st, 5, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        return WH_ESTORE;
    if (to == SURVEY_CLOSED) {
        /* Unused codes would tell whoever handed them out who did not take
         * part; once the survey is closed they are of no use. */
        sqlite3_stmt *del = wh_store_stmt(store, SQL_CODES_DELETE_ALL);
        if (!del)
            return WH_ESTORE;
        wh_stmt_bind_text(del, 1, s->id);
        if (sqlite3_step(del) != SQLITE_DONE)
            return WH_ESTORE;
    }
    s->state = to;
    return emit_event(store, s, to == SURVEY_OPEN ? "survey.opened" : "survey.closed");
}

static void transition_op(wh_ctx_t *c, enum survey_state from, enum survey_state to)
{
    survey_t s;
    if (!survey_load_scoped(c, &s))
        return;
    if (s.state != from)
        wh_reply_problem(c->rep, 409, "conflict", "the survey is %s; only a %s survey can be %s",
                         survey_states[s.state], survey_states[from],
                         to == SURVEY_OPEN ? "opened" : "closed");
    else if (to == SURVEY_OPEN && s.closes_at_ms >= 0 && s.closes_at_ms <= wh_clock_now_ms())
        wh_reply_problem(c->rep, 409, "conflict", "closes_at has passed; change it first");
    else if (survey_transition(c->store, &s, to) != 0)
        wh_reply_problem(c->rep, 500, "internal", "the survey could not be changed");
    else
        reply_by_id(c, s.id, 200);
    survey_close(&s);
}

void survey_open(wh_ctx_t *c)
{
    transition_op(c, SURVEY_DRAFT, SURVEY_OPEN);
}

void survey_close_op(wh_ctx_t *c)
{
    transition_op(c, SURVEY_OPEN, SURVEY_CLOSED);
}

/* Runs the transitions one due query names, each under a savepoint so that
 * one failing half-way leaves nothing behind; returns how many were made. */
static int run_due(wh_store_t *store, const char *sql, enum survey_state to)
{
    char ids[SURVEY_MAX_DUE_PER_TICK][WH_ID_LEN + 1];
    int n = 0, done = 0;
    sqlite3_stmt *st = wh_store_stmt(store, sql);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, wh_clock_now_ms());
    sqlite3_bind_int(st, 2, SURVEY_MAX_DUE_PER_TICK);
    while (n < SURVEY_MAX_DUE_PER_TICK && sqlite3_step(st) == SQLITE_ROW)
        wh_stmt_col_copy(st, 0, ids[n++], sizeof ids[0]);
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) {
        survey_t s;
        if (survey_load(store, (wh_str_t){ids[i], strlen(ids[i])}, &s) != 0)
            continue;
        if (wh_store_savepoint(store) != 0) {
            survey_close(&s);
            break;
        }
        if (survey_transition(store, &s, to) != 0) {
            wh_store_rollback_to(store);
        } else if (wh_store_release(store) == 0) {
            done++;
            wh_log_info("survey %s %s at its scheduled time", s.id,
                        to == SURVEY_OPEN ? "opened" : "closed");
        }
        survey_close(&s);
    }
    return done;
}

/* True when a due query names at least one survey (a plain read, so that an
 * idle tick takes no write lock). */
static bool any_due(wh_store_t *store, const char *sql)
{
    sqlite3_stmt *st = wh_store_stmt(store, sql);
    if (!st)
        return false;
    sqlite3_bind_int64(st, 1, wh_clock_now_ms());
    sqlite3_bind_int(st, 2, 1);
    bool due = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return due;
}

static bool schedule_due(wh_store_t *store, void *arg)
{
    return any_due(store, SQL_DUE_CLOSE) || any_due(store, SQL_DUE_OPEN);
}

static int64_t schedule_run(wh_store_t *store, void *arg)
{
    return run_due(store, SQL_DUE_CLOSE, SURVEY_CLOSED) + run_due(store, SQL_DUE_OPEN, SURVEY_OPEN);
}

int survey_every(wh_service_t *s)
{
    static const wh_job_t job = {"survey schedule", schedule_due, schedule_run, 0};
    return wh_service_every(s, SURVEY_TICK_MS, &job, NULL);
}
