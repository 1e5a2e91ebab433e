#include "codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "err.h"
#include "id.h"
#include "service.h"
#include "sheet.h"
#include "survey.h"

static const char *const codes_fields[] = {"count", "unit", "delivery", "recipients", NULL};
const char *const code_deliveries[] = {"clear", "print", "email", NULL};

static const char SQL_CODE_INSERT[] =
    "INSERT INTO survey_codes(survey_id, hash, unit) VALUES (?1, ?2, ?3)";
static const char SQL_COUNT_ADD[] =
    "INSERT INTO survey_code_counts(survey_id, unit, issued, clear, print, email)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT(survey_id, unit) DO UPDATE SET issued = issued + excluded.issued,"
    " clear = clear + excluded.clear, print = print + excluded.print,"
    " email = email + excluded.email";
static const char SQL_ISSUED[] =
    "SELECT coalesce(sum(issued), 0) FROM survey_code_counts WHERE survey_id = ?1";
static const char SQL_REQUEST_GET[] = "SELECT request_hash FROM survey_code_requests"
                                      " WHERE survey_id = ?1 AND scope = ?2 AND key = ?3";
static const char SQL_REQUEST_PUT[] =
    "INSERT INTO survey_code_requests(survey_id, scope, key, request_hash)"
    " VALUES (?1, ?2, ?3, ?4)";
static const char SQL_ISSUER_PUT[] =
    "INSERT OR IGNORE INTO survey_code_issuers(survey_id, token_id) VALUES (?1, ?2)";
static const char SQL_ISSUER_GET[] =
    "SELECT 1 FROM survey_code_issuers WHERE survey_id = ?1 AND token_id = ?2";

bool codes_issuer(wh_store_t *store, const char *survey_id, const char *token_id)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ISSUER_GET);
    if (!st)
        return true; /* unknown: refuse rather than risk it */
    wh_stmt_bind_text(st, 1, survey_id);
    wh_stmt_bind_text(st, 2, token_id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

static int64_t issued_total(wh_store_t *store, const char *id)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ISSUED);
    wh_stmt_bind_text(st, 1, id);
    return st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
}

/* The request's fingerprint for Idempotency-Key: the body, with the
 * recipients' addresses replaced by their number, so that no hash of an
 * address list is kept. */
static void request_hash(const msgpack_object *body, char out[65])
{
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    msgpack_pack_map(&pk, body->via.map.size);
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object_kv *kv = &body->via.map.ptr[i];
        wh_msg_pack_obj(&pk, &kv->key);
        if (wh_msg_str_eq(&kv->key, "recipients") && kv->val.type == MSGPACK_OBJECT_ARRAY)
            msgpack_pack_uint32(&pk, kv->val.via.array.size);
        else
            wh_msg_pack_obj(&pk, &kv->val);
    }
    wh_sha256_hex(b.data ? b.data : "", b.len, out);
    wh_buf_close(&b);
}

/* Codes are never kept in plain text, so a repeated request cannot be
 * answered with the first codes; it is refused (409) instead of issuing a
 * second batch. Returns false when the request was answered. */
static bool check_idempotency(wh_ctx_t *c, const survey_t *s)
{
    wh_str_t key = c->req->idempotency_key;
    if (!key.p)
        return true;
    if (key.n == 0 || key.n > WH_IDEM_MAX_KEY) {
        wh_reply_param(c->rep, "Idempotency-Key", "must be 1 to %d characters", WH_IDEM_MAX_KEY);
        wh_reply_invalid(c->rep);
        return false;
    }
    char hash[65];
    request_hash(c->req->body, hash);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_REQUEST_GET);
    wh_stmt_bind_text(st, 1, s->id);
    wh_stmt_bind_text(st, 2, c->req->principal.token_id);
    wh_stmt_bind_str(st, 3, key);
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        bool same = strcmp((const char *)sqlite3_column_text(st, 0), hash) == 0;
        sqlite3_reset(st);
        if (same)
            wh_reply_problem(c->rep, 409, "codes-already-issued",
                             "codes for this Idempotency-Key were issued already; codes are shown "
                             "only once and are not stored");
        else
            wh_reply_problem(c->rep, 422, "idempotency-key-reused",
                             "this Idempotency-Key was used with a different request");
        return false;
    }
    st = wh_store_stmt(c->store, SQL_REQUEST_PUT);
    wh_stmt_bind_text(st, 1, s->id);
    wh_stmt_bind_text(st, 2, c->req->principal.token_id);
    wh_stmt_bind_str(st, 3, key);
    wh_stmt_bind_text(st, 4, hash);
    if (!st || sqlite3_step(st) != SQLITE_DONE) {
        wh_reply_problem(c->rep, 500, "internal", "could not record the Idempotency-Key");
        return false;
    }
    return true;
}

typedef struct addr_ref {
    const char *p;
    size_t n;
    uint32_t i;
} addr_ref_t;

static int addr_cmp(const void *a, const void *b)
{
    const addr_ref_t *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int r = strncasecmp(x->p, y->p, n);
    if (r == 0)
        r = (x->n > y->n) - (x->n < y->n);
    return r ? r : (x->i > y->i) - (x->i < y->i);
}

/* recipients: 1..CODES_MAX_RECIPIENTS addresses, each once (letter case
 * aside). Problems name the position, never the address. */
static void check_recipients(wh_ctx_t *c, const msgpack_object *arr)
{
    uint32_t n = arr->via.array.size;
    if (n == 0) {
        wh_reply_field(c->rep, "/recipients", "must hold at least one address");
        return;
    }
    addr_ref_t *refs = malloc(sizeof *refs * n);
    if (!refs) {
        wh_reply_problem(c->rep, 500, "internal", "out of memory");
        return;
    }
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *o = &arr->via.array.ptr[i];
        char ptr[32];
        snprintf(ptr, sizeof ptr, "/recipients/%u", i);
        if (o->type != MSGPACK_OBJECT_STR || !wh_valid_email(o->via.str.ptr, o->via.str.size))
            wh_reply_field(c->rep, ptr, "is not an e-mail address");
        else
            refs[m++] = (addr_ref_t){o->via.str.ptr, o->via.str.size, i};
    }
    qsort(refs, m, sizeof *refs, addr_cmp);
    for (uint32_t k = 1; k < m; k++)
        if (refs[k].n == refs[k - 1].n && strncasecmp(refs[k].p, refs[k - 1].p, refs[k].n) == 0) {
            char ptr[32];
            snprintf(ptr, sizeof ptr, "/recipients/%u", refs[k].i);
            wh_reply_field(c->rep, ptr, "appears more than once (as /recipients/%u)",
                           refs[k - 1].i);
        }
    free(refs);
}

static bool record_issuer(wh_ctx_t *c, const survey_t *s)
{
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_ISSUER_PUT);
    if (!st)
        return false;
    wh_stmt_bind_text(st, 1, s->id);
    wh_stmt_bind_text(st, 2, c->req->principal.token_id);
    return sqlite3_step(st) == SQLITE_DONE;
}

static bool add_counts(wh_ctx_t *c, const survey_t *s, wh_str_t unit, enum code_delivery how,
                       int64_t count)
{
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_COUNT_ADD);
    if (!st)
        return false;
    wh_stmt_bind_text(st, 1, s->id);
    sqlite3_bind_text(st, 2, unit.p ? unit.p : "", unit.p ? (int)unit.n : 0, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, count);
    for (int d = CODES_CLEAR; d <= CODES_EMAIL; d++)
        sqlite3_bind_int64(st, 4 + d, d == (int)how ? count : 0);
    return sqlite3_step(st) == SQLITE_DONE;
}

/* Stores one new code; its formatted form into shown and its hash into
 * hash. */
static int store_code(wh_ctx_t *c, const survey_t *s, wh_str_t unit, char shown[CODE_SHOWN_LEN + 1],
                      char hash[65])
{
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_CODE_INSERT);
    if (!st)
        return WH_ESTORE;
    int rc = SQLITE_ERROR;
    wh_service_keepalive(); /* thousands of codes in one request take a while */
    /* A collision of 100 random bits will not happen; a retry costs
     * nothing to write, though. */
    for (int attempt = 0; attempt < 3; attempt++) {
        char canon[CODE_CHARS + 1];
        if (code_new(shown) != 0)
            return WH_EIO;
        code_normalize((wh_str_t){shown, strlen(shown)}, canon);
        code_hash(s->id, canon, hash);
        wh_stmt_bind_text(st, 1, s->id);
        wh_stmt_bind_text(st, 2, hash);
        sqlite3_bind_text(st, 3, unit.p ? unit.p : "", unit.p ? (int)unit.n : 0, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        explicit_bzero(canon, sizeof canon);
        if (rc != SQLITE_CONSTRAINT)
            break;
    }
    return rc == SQLITE_DONE ? 0 : WH_ESTORE;
}

static void issue_clear(wh_ctx_t *c, const survey_t *s, wh_str_t unit, int64_t count)
{
    if (!record_issuer(c, s) || !add_counts(c, s, unit, CODES_CLEAR, count))
        goto fail;
    msgpack_packer *pk = wh_reply_ok(c->rep, 201);
    msgpack_pack_map(pk, 5);
    wh_msg_kv_str(pk, "survey_id", s->id);
    wh_msg_kv_strn(pk, "unit", unit.p, unit.n);
    wh_msg_kv_str(pk, "delivery", "clear");
    wh_msg_kv_int(pk, "count", count);
    wh_msg_pack_str(pk, "codes");
    msgpack_pack_array(pk, (size_t)count);
    for (int64_t i = 0; i < count; i++) {
        char shown[CODE_SHOWN_LEN + 1], hash[65];
        if (store_code(c, s, unit, shown, hash) != 0)
            goto fail;
        wh_msg_pack_str(pk, shown);
    }
    return;
fail:
    wh_reply_problem(c->rep, 500, "internal", "the codes could not be stored");
}

static void issue_print(wh_ctx_t *c, const survey_t *s, wh_str_t unit, int64_t count)
{
    const surveys_app_t *app = c->app;
    char(*codes)[CODE_SHOWN_LEN + 1] = calloc((size_t)count, sizeof *codes);
    wh_buf_t html;
    wh_buf_init(&html);
    if (!codes)
        goto fail;
    if (!record_issuer(c, s) || !add_counts(c, s, unit, CODES_PRINT, count))
        goto fail;
    for (int64_t i = 0; i < count; i++) {
        char hash[65];
        if (store_code(c, s, unit, codes[i], hash) != 0)
            goto fail;
    }
    int rc = sheet_render(&html, s, app ? app->base_url : "", unit,
                          (const char(*)[CODE_SHOWN_LEN + 1]) codes, (size_t)count);
    if (rc == WH_ELIMIT || (rc == 0 && html.len > CODES_MAX_SHEET_BYTES)) {
        wh_reply_problem(c->rep, 507, "sheet-too-large",
                         "the sheet would exceed %d bytes (or WH_PUBLIC_URL is too long for a "
                         "link); ask for fewer codes at once",
                         CODES_MAX_SHEET_BYTES);
        goto done;
    }
    if (rc != 0)
        goto fail;
    wh_reply_raw(c->rep, 201, "text/html; charset=utf-8", html.data, html.len);
    goto done;
fail:
    wh_reply_problem(c->rep, 500, "internal", "the codes could not be stored");
done:
    if (codes)
        explicit_bzero(codes, (size_t)count * sizeof *codes);
    free(codes);
    if (html.data)
        explicit_bzero(html.data, html.cap);
    wh_buf_close(&html);
}

static void issue_email(wh_ctx_t *c, const survey_t *s, wh_str_t unit,
                        const msgpack_object *recipients)
{
    const surveys_app_t *app = c->app;
    size_t n = recipients->via.array.size;
    if (!app || !handoff_room(app->handoff, n)) {
        wh_reply_problem(c->rep, 503, "mail-queue-full",
                         "too many codes are waiting to be mailed; try again shortly");
        c->rep->retry_after_s = 5;
        return;
    }
    char langs[16] = "";
    for (int i = 0; i < s->def.n_langs; i++)
        snprintf(langs + strlen(langs), sizeof langs - strlen(langs), "%s%s", i ? "," : "",
                 def_languages[s->def.langs[i]]);
    char unit_key[DEF_MAX_KEY + 1];
    snprintf(unit_key, sizeof unit_key, "%.*s", unit.p ? (int)unit.n : 0, unit.p ? unit.p : "");
    handoff_batch_t *b = handoff_batch_new(s->id, s->org_id, s->title, langs, unit_key, n);
    if (!b || !add_counts(c, s, unit, CODES_EMAIL, (int64_t)n))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char shown[CODE_SHOWN_LEN + 1], hash[65];
        if (store_code(c, s, unit, shown, hash) != 0)
            goto fail;
        const msgpack_object *a = &recipients->via.array.ptr[i];
        handoff_batch_add(b, a->via.str.ptr, a->via.str.size, shown, hash);
        explicit_bzero(shown, sizeof shown);
    }
    handoff_submit(app->handoff, b);
    msgpack_packer *pk = wh_reply_ok(c->rep, 202);
    msgpack_pack_map(pk, 4);
    wh_msg_kv_str(pk, "survey_id", s->id);
    wh_msg_kv_strn(pk, "unit", unit.p, unit.n);
    wh_msg_kv_str(pk, "delivery", "email");
    wh_msg_kv_int(pk, "count", (int64_t)n);
    return;
fail:
    handoff_batch_free(b);
    wh_reply_problem(c->rep, 500, "internal", "the codes could not be stored");
}

void codes_create(wh_ctx_t *c)
{
    survey_t s;
    if (!survey_load_scoped(c, &s))
        return;
    wh_valid_t v;
    if (s.state == SURVEY_CLOSED) {
        wh_reply_problem(c->rep, 409, "conflict", "the survey is closed");
        goto done;
    }
    if (!wh_ctx_body(c, &v, codes_fields))
        goto done;
    int64_t count = 0;
    int how = CODES_CLEAR;
    wh_str_t unit = {0};
    const msgpack_object *recipients = NULL;
    wh_valid_enum(&v, "delivery", 0, code_deliveries, &how);
    if (how == CODES_EMAIL) {
        if (wh_msg_get(c->req->body, "count"))
            wh_reply_field(c->rep, "/count",
                           "is the number of recipients with delivery email; "
                           "leave it out");
        if (wh_valid_array(&v, "recipients", WH_V_REQUIRED, CODES_MAX_RECIPIENTS, &recipients) ==
            WH_V_SET)
            check_recipients(c, recipients);
        count = recipients ? recipients->via.array.size : 0;
    } else {
        if (wh_msg_get(c->req->body, "recipients"))
            wh_reply_field(c->rep, "/recipients", "is only for delivery email");
        wh_valid_int(&v, "count", WH_V_REQUIRED, 1,
                     how == CODES_PRINT ? CODES_MAX_PRINT : CODES_MAX_PER_REQUEST, &count);
    }
    if (wh_valid_str(&v, "unit", WH_V_NULLABLE, 1, DEF_MAX_KEY, &unit) == WH_V_SET &&
        def_find_unit(&s.def, unit) < 0)
        wh_reply_field(c->rep, "/unit", "is not a key of the survey's units");
    int64_t issued = issued_total(c->store, s.id);
    if (count > 0 && issued + count > CODES_MAX_PER_SURVEY)
        wh_reply_field(c->rep, how == CODES_EMAIL ? "/recipients" : "/count",
                       "a survey has at most %d codes; %lld are issued", CODES_MAX_PER_SURVEY,
                       (long long)issued);
    if (wh_reply_failed(c->rep) || wh_reply_invalid(c->rep) || !check_idempotency(c, &s))
        goto done;
    if (how == CODES_EMAIL)
        issue_email(c, &s, unit, recipients);
    else if (how == CODES_PRINT)
        issue_print(c, &s, unit, count);
    else
        issue_clear(c, &s, unit, count);
done:
    survey_close(&s);
}
