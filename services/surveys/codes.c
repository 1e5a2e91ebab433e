#include "codes.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "id.h"
#include "survey.h"

static const char B32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char *const codes_fields[] = {"count", "unit", NULL};

static const char SQL_CODE_INSERT[] =
    "INSERT INTO survey_codes(survey_id, hash, unit) VALUES (?1, ?2, ?3)";
static const char SQL_COUNT_ADD[] =
    "INSERT INTO survey_code_counts(survey_id, unit, issued) VALUES (?1, ?2, ?3)"
    " ON CONFLICT(survey_id, unit) DO UPDATE SET issued = issued + excluded.issued";
static const char SQL_ISSUED[] =
    "SELECT coalesce(sum(issued), 0) FROM survey_code_counts WHERE survey_id = ?1";
static const char SQL_REQUEST_GET[] = "SELECT request_hash FROM survey_code_requests"
                                      " WHERE survey_id = ?1 AND scope = ?2 AND key = ?3";
static const char SQL_REQUEST_PUT[] =
    "INSERT INTO survey_code_requests(survey_id, scope, key, request_hash)"
    " VALUES (?1, ?2, ?3, ?4)";

int code_new(char out[CODE_SHOWN_LEN + 1])
{
    unsigned char r[(CODE_BITS + 7) / 8];
    int rc = wh_random_bytes(r, sizeof r);
    if (rc != 0)
        return rc;
    size_t o = 0;
    for (int i = 0; i < CODE_CHARS; i++) {
        if (i && i % CODE_GROUP == 0)
            out[o++] = '-';
        int bit = i * 5, v = 0;
        for (int b = 0; b < 5; b++, bit++)
            v = v << 1 | ((r[bit / 8] >> (7 - bit % 8)) & 1);
        out[o++] = B32[v];
    }
    out[o] = '\0';
    return 0;
}

bool code_normalize(wh_str_t in, char out[CODE_CHARS + 1])
{
    if (!in.p || in.n > CODE_MAX_INPUT)
        return false;
    int n = 0;
    for (size_t i = 0; i < in.n; i++) {
        char ch = in.p[i];
        if (ch == '-' || ch == ' ')
            continue;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (ch == 'I' || ch == 'L')
            ch = '1';
        else if (ch == 'O')
            ch = '0';
        if (!strchr(B32, ch) || ch == '\0' || n == CODE_CHARS)
            return false;
        out[n++] = ch;
    }
    out[n] = '\0';
    return n == CODE_CHARS;
}

void code_hash(const char *survey_id, const char canonical[CODE_CHARS + 1], char out[65])
{
    char buf[WH_ID_LEN + 1 + CODE_CHARS + 1];
    int n = snprintf(buf, sizeof buf, "%s:%s", survey_id, canonical);
    wh_sha256_hex(buf, (size_t)n, out);
}

static int64_t issued_total(wh_store_t *store, const char *id)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_ISSUED);
    wh_stmt_bind_text(st, 1, id);
    return st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
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
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    wh_msg_pack_obj(&pk, c->req->body);
    char hash[65];
    wh_sha256_hex(b.data ? b.data : "", b.len, hash);
    wh_buf_close(&b);
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
    wh_str_t unit = {0};
    wh_valid_int(&v, "count", WH_V_REQUIRED, 1, CODES_MAX_PER_REQUEST, &count);
    if (wh_valid_str(&v, "unit", WH_V_NULLABLE, 1, DEF_MAX_KEY, &unit) == WH_V_SET &&
        def_find_unit(&s.def, unit) < 0)
        wh_reply_field(c->rep, "/unit", "is not a key of the survey's units");
    int64_t issued = issued_total(c->store, s.id);
    if (count > 0 && issued + count > CODES_MAX_PER_SURVEY)
        wh_reply_field(c->rep, "/count", "a survey has at most %d codes; %lld are issued",
                       CODES_MAX_PER_SURVEY, (long long)issued);
    if (wh_reply_invalid(c->rep) || !check_idempotency(c, &s))
        goto done;
    const char *unit_key = unit.p ? unit.p : "";
    int unit_len = unit.p ? (int)unit.n : 0;
    msgpack_packer *pk = wh_reply_ok(c->rep, 201);
    msgpack_pack_map(pk, 4);
    wh_msg_kv_str(pk, "survey_id", s.id);
    wh_msg_kv_strn(pk, "unit", unit.p, unit.n);
    wh_msg_kv_int(pk, "count", count);
    wh_msg_pack_str(pk, "codes");
    msgpack_pack_array(pk, (size_t)count);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_CODE_INSERT);
    for (int64_t i = 0; st && i < count; i++) {
        char shown[CODE_SHOWN_LEN + 1], canon[CODE_CHARS + 1], hash[65];
        int rc = SQLITE_ERROR;
        /* A collision of 100 random bits will not happen; a retry costs
         * nothing to write, though. */
        for (int attempt = 0; attempt < 3; attempt++) {
            if (code_new(shown) != 0)
                goto fail;
            code_normalize((wh_str_t){shown, strlen(shown)}, canon);
            code_hash(s.id, canon, hash);
            wh_stmt_bind_text(st, 1, s.id);
            wh_stmt_bind_text(st, 2, hash);
            sqlite3_bind_text(st, 3, unit_key, unit_len, SQLITE_STATIC);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_CONSTRAINT)
                break;
        }
        if (rc != SQLITE_DONE)
            goto fail;
        wh_msg_pack_str(pk, shown);
    }
    st = wh_store_stmt(c->store, SQL_COUNT_ADD);
    if (!st)
        goto fail;
    wh_stmt_bind_text(st, 1, s.id);
    sqlite3_bind_text(st, 2, unit_key, unit_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, count);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    goto done;
fail:
    wh_reply_problem(c->rep, 500, "internal", "the codes could not be stored");
done:
    survey_close(&s);
}
