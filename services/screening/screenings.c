#include "screenings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "clock.h"
#include "id.h"
#include "instruments.h"
#include "list.h"
#include "privacy.h"

static const char SQL_SCR_INSERT[] =
    "INSERT INTO screenings(id, org_id, external_id, instrument, subject, unit, taken_ms,"
    " language, answers, raw_score, score, band, at_risk, flags, alert_id, created_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";
#define RESULT_COLUMNS "id, instrument, raw_score, score, band, at_risk, flags, alert_id"
static const char SQL_SCR_BY_EXTERNAL[] = "SELECT " RESULT_COLUMNS ", subject, unit, taken_ms,"
                                          " language, answers"
                                          " FROM screenings WHERE org_id = ?1 AND external_id = ?2";
static const char SQL_IDEM_REF[] =
    "INSERT OR IGNORE INTO idem_refs(screening_id, scope, op, key) VALUES (?1, ?2, ?3, ?4)";
#define FULL_COLUMNS                                                                               \
    RESULT_COLUMNS ", org_id, external_id, subject, unit, taken_ms, language, answers,"            \
                   " created_ms"
static const char SQL_SCR_GET[] = "SELECT " FULL_COLUMNS " FROM screenings WHERE id = ?1";
static const char SQL_SCR_LIST[] = "SELECT " FULL_COLUMNS " FROM screenings"
                                   " WHERE org_id = ?1 AND subject = ?2"
                                   " AND (?3 IS NULL OR instrument = ?3)"
                                   " AND (?4 IS NULL OR id > ?4) ORDER BY id LIMIT ?5";

static const char *const item_fields[] = {"org_id",   "external_id", "instrument",
                                          "subject",  "unit",        "taken_at",
                                          "language", "answers",     NULL};
static const char *const batch_fields[] = {"items", NULL};

/* One result as pushed, after validation. */
typedef struct item {
    wh_str_t org, external_id, subject, unit, language;
    const scr_instrument_t *ins;
    int64_t taken_ms;
    int answers[SCR_MAX_ITEMS];
} item_t;

/* One result as answered to the pusher. */
typedef struct stored {
    int status; /* 201 stored, 200 a repeat */
    char id[WH_ID_LEN + 1];
    char instrument[16];
    int raw_score, score;
    char band[32];
    bool at_risk;
    char flags[96]; /* comma-separated */
    char alert_id[WH_ID_LEN + 1];
} stored_t;

bool scr_subject_ok(wh_str_t s, const char **why)
{
    if (memchr(s.p, '@', s.n)) {
        *why = "looks like an e-mail address; send the integration's pseudonym";
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || strchr("._-:+~", ch);
        if (!ok || ch == '\0') {
            *why = "must be a pseudonym of letters, digits and . _ - : + ~ (no spaces)";
            return false;
        }
    }
    return true;
}

static bool lower(char ch)
{
    return ch >= 'a' && ch <= 'z';
}

bool scr_language_ok(wh_str_t s)
{
    size_t i = 0;
    while (i < s.n && lower(s.p[i]))
        i++;
    if (i < 2 || i > 3)
        return false;
    if (i == s.n)
        return true;
    if (s.p[i++] != '-')
        return false;
    size_t start = i;
    for (; i < s.n; i++) {
        char ch = s.p[i];
        if (!lower(ch) && !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9'))
            return false;
    }
    return i - start >= 2 && i - start <= 8;
}

/* Reads one result at prefix ("" for a single push, "/items/3" in a
 * batch), reporting every invalid field to rep; false when any was. */
static bool item_read(wh_reply_t *rep, const msgpack_object *obj, const char *prefix, item_t *it)
{
    int errors_before = rep->n_errors;
    memset(it, 0, sizeof *it);
    wh_valid_t v;
    if (!wh_valid_init(&v, rep, obj, prefix))
        return false;
    wh_valid_only(&v, item_fields);
    char ptr[160];
    if (wh_valid_str(&v, "org_id", WH_V_REQUIRED, 1, WH_ID_LEN, &it->org) == WH_V_SET &&
        !wh_id_valid(it->org.p, it->org.n)) {
        wh_valid_pointer(&v, "org_id", ptr, sizeof ptr);
        wh_reply_field(rep, ptr, "must be an organisation id");
    }
    wh_valid_str(&v, "external_id", WH_V_NULLABLE, 1, SCR_MAX_EXTERNAL_ID, &it->external_id);
    wh_str_t instrument;
    if (wh_valid_str(&v, "instrument", WH_V_REQUIRED, 1, 32, &instrument) == WH_V_SET &&
        !(it->ins = scr_instrument_find(instrument.p, instrument.n))) {
        char d[128];
        size_t n = (size_t)snprintf(d, sizeof d, "must be one of");
        for (int i = 0; i < scr_n_instruments && n < sizeof d; i++)
            n +=
                (size_t)snprintf(d + n, sizeof d - n, "%s %s", i ? "," : "", scr_instruments[i].id);
        wh_valid_pointer(&v, "instrument", ptr, sizeof ptr);
        wh_reply_field(rep, ptr, "%s", d);
    }
    const char *why;
    if (wh_valid_str(&v, "subject", WH_V_REQUIRED, 1, SCR_MAX_SUBJECT, &it->subject) == WH_V_SET &&
        !scr_subject_ok(it->subject, &why)) {
        wh_valid_pointer(&v, "subject", ptr, sizeof ptr);
        wh_reply_field(rep, ptr, "%s", why);
    }
    wh_valid_str(&v, "unit", WH_V_NULLABLE, 1, SCR_MAX_UNIT, &it->unit);
    if (wh_valid_instant(&v, "taken_at", WH_V_REQUIRED, &it->taken_ms) == WH_V_SET &&
        it->taken_ms > wh_clock_now_ms() + SCR_TAKEN_AT_SKEW_MS) {
        wh_valid_pointer(&v, "taken_at", ptr, sizeof ptr);
        wh_reply_field(rep, ptr, "must not be in the future");
    }
    if (wh_valid_str(&v, "language", WH_V_NULLABLE, 2, 16, &it->language) == WH_V_SET &&
        !scr_language_ok(it->language)) {
        wh_valid_pointer(&v, "language", ptr, sizeof ptr);
        wh_reply_field(rep, ptr, "must be a language tag such as de, en or sv");
    }
    const msgpack_object *answers = NULL;
    if (wh_valid_array(&v, "answers", WH_V_REQUIRED, SCR_MAX_ANSWERS, &answers) == WH_V_SET &&
        it->ins)
        scr_answers_read(it->ins, answers, rep, prefix, it->answers);
    return rep->n_errors == errors_before;
}

/* The answers as stored: "[a,b,...]". Answers are small non-negative
 * integers (every answer range starts at 0 and ends below 100). */
static size_t answers_text(const item_t *it, char *out)
{
    size_t n = 0;
    out[n++] = '[';
    for (int i = 0; i < it->ins->n_items; i++) {
        int a = it->answers[i];
        if (i)
            out[n++] = ',';
        if (a >= 10)
            out[n++] = (char)('0' + a / 10);
        out[n++] = (char)('0' + a % 10);
    }
    out[n++] = ']';
    return n;
}

static bool col_eq(sqlite3_stmt *st, int col, wh_str_t v)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return v.p == NULL;
    const char *t = (const char *)sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    return v.p && n == v.n && memcmp(t, v.p, n) == 0;
}

/* A repeat under the same external_id must carry the same result. The row
 * holds RESULT_COLUMNS, then subject, unit, taken_ms, language, answers. */
static bool same_result(sqlite3_stmt *st, const item_t *it)
{
    char answers[4 * SCR_MAX_ITEMS + 4];
    size_t an = answers_text(it, answers);
    return strcmp((const char *)sqlite3_column_text(st, 1), it->ins->id) == 0 &&
           col_eq(st, 8, it->subject) && col_eq(st, 9, it->unit) &&
           sqlite3_column_int64(st, 10) == it->taken_ms && col_eq(st, 11, it->language) &&
           col_eq(st, 12, (wh_str_t){answers, an});
}

/* Fills r from a row that starts with RESULT_COLUMNS. */
static void stored_from_row(stored_t *r, sqlite3_stmt *st)
{
    wh_stmt_col_copy(st, 0, r->id, sizeof r->id);
    wh_stmt_col_copy(st, 1, r->instrument, sizeof r->instrument);
    r->raw_score = sqlite3_column_int(st, 2);
    r->score = sqlite3_column_int(st, 3);
    wh_stmt_col_copy(st, 4, r->band, sizeof r->band);
    r->at_risk = sqlite3_column_int(st, 5) != 0;
    wh_stmt_col_copy(st, 6, r->flags, sizeof r->flags);
    wh_stmt_col_copy(st, 7, r->alert_id, sizeof r->alert_id);
}

/* Links the stored Idempotency-Key reply of this request to the result, so
 * that erasing the subject erases the reply too. */
static int idem_ref(wh_ctx_t *c, const char *id)
{
    if (!c->req->idempotency_key.p)
        return 0;
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_IDEM_REF);
    if (!st)
        return -1;
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_text(st, 2, c->req->principal.token_id);
    wh_stmt_bind_text(st, 3, wh_ops[c->req->op].name);
    wh_stmt_bind_str(st, 4, c->req->idempotency_key);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

/* The result stored under its external_id: its status (200 the same
 * result, 409 a different one, 500), or 0 when there is none. */
static int stored_before(wh_ctx_t *c, const item_t *it, wh_reply_t *err, stored_t *r)
{
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SCR_BY_EXTERNAL);
    if (!st)
        return 500;
    wh_stmt_bind_str(st, 1, it->org);
    wh_stmt_bind_str(st, 2, it->external_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool same = same_result(st, it);
        stored_from_row(r, st);
        sqlite3_reset(st);
        if (!same) {
            wh_reply_problem(err, 409, "conflict",
                             "external_id was already used for a different result");
            return 409;
        }
        r->status = 200;
        return idem_ref(c, r->id) == 0 ? 200 : 500;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : 500;
}

/* Stores it, or finds the result stored under its external_id. Returns the
 * status; problems (409, 500) go to err. A result that opens no alert and
 * changes none is inserted straight away, and only an insert refused for
 * its external_id looks for the stored one: one index search fewer for
 * most results. One that writes to an alert looks first, so that a repeat
 * changes nothing. */
static int item_store(wh_ctx_t *c, const item_t *it, bool no_alert, wh_reply_t *err, stored_t *r)
{
    memset(r, 0, sizeof *r);
    scr_result_t res;
    scr_score(it->ins, it->answers, &res);
    bool quiet = !res.at_risk && !res.urgent; /* the alert step only reads */
    if (it->external_id.p && !quiet) {
        int before = stored_before(c, it, err, r);
        if (before == 500)
            goto fail;
        if (before)
            return before;
    }
    int64_t now = wh_clock_now_ms();
    /* no_alert: the subject is known to have no active alert, so a quiet
     * result has none to link to and the lookup is saved. */
    if (!(quiet && no_alert) && alert_for_result(c->store, it->org, it->subject, res.at_risk,
                                                 res.urgent, now, r->alert_id) != 0)
        goto fail;
    wh_id_new(r->id);
    wh_copy_cut(r->instrument, sizeof r->instrument, it->ins->id, strlen(it->ins->id));
    r->raw_score = res.raw_score;
    r->score = res.score;
    wh_copy_cut(r->band, sizeof r->band, res.band->key, strlen(res.band->key));
    r->at_risk = res.at_risk;
    size_t fl = 0;
    for (int i = 0; i < res.n_flags; i++)
        fl += (size_t)snprintf(r->flags + fl, sizeof r->flags - fl, "%s%s", i ? "," : "",
                               res.flags[i]);
    char answers[4 * SCR_MAX_ITEMS + 4];
    size_t an = answers_text(it, answers);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SCR_INSERT);
    if (!st)
        goto fail;
    wh_stmt_bind_text_ref(st, 1, r->id);
    wh_stmt_bind_str_ref(st, 2, it->org);
    wh_stmt_bind_str_ref(st, 3, it->external_id);
    wh_stmt_bind_text_ref(st, 4, it->ins->id);
    wh_stmt_bind_str_ref(st, 5, it->subject);
    wh_stmt_bind_str_ref(st, 6, it->unit);
    sqlite3_bind_int64(st, 7, it->taken_ms);
    wh_stmt_bind_str_ref(st, 8, it->language);
    sqlite3_bind_text(st, 9, answers, (int)an, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, res.raw_score);
    sqlite3_bind_int(st, 11, res.score);
    wh_stmt_bind_text_ref(st, 12, res.band->key);
    sqlite3_bind_int(st, 13, res.at_risk);
    wh_stmt_bind_text_ref(st, 14, fl ? r->flags : NULL);
    wh_stmt_bind_text_ref(st, 15, r->alert_id[0] ? r->alert_id : NULL);
    sqlite3_bind_int64(st, 16, now);
    int rc = sqlite3_step(st);
    /* Reset now, while the values bound without a copy are alive. */
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE && quiet && it->external_id.p) {
        /* Only the external_id's index is unique besides the fresh id. The
         * statement's own changes are undone; the transaction goes on. */
        memset(r, 0, sizeof *r);
        int before = stored_before(c, it, err, r);
        if (before && before != 500)
            return before;
        goto fail;
    }
    if (rc != SQLITE_DONE || idem_ref(c, r->id) != 0)
        goto fail;
    r->status = 201;
    return 201;
fail:
    wh_reply_problem(err, 500, "internal", "the result could not be stored");
    return 500;
}

static void pack_flags(msgpack_packer *pk, const char *flags)
{
    size_t n = 0;
    for (const char *p = flags; *p; p++)
        n += *p == ',';
    n += flags[0] != '\0';
    msgpack_pack_array(pk, n);
    for (const char *p = flags; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        wh_msg_pack_strn(pk, p, len);
        p += len + (e != NULL);
    }
}

static void pack_stored(msgpack_packer *pk, const stored_t *r, bool with_status)
{
    msgpack_pack_map(pk, 8 + with_status);
    if (with_status)
        wh_msg_kv_int(pk, "status", r->status);
    wh_msg_kv_str(pk, "id", r->id);
    wh_msg_kv_str(pk, "instrument", r->instrument);
    wh_msg_kv_int(pk, "score", r->score);
    wh_msg_kv_int(pk, "raw_score", r->raw_score);
    wh_msg_kv_str(pk, "band", r->band);
    wh_msg_kv_bool(pk, "at_risk", r->at_risk);
    wh_msg_pack_str(pk, "flags");
    pack_flags(pk, r->flags);
    wh_msg_kv_str(pk, "alert_id", r->alert_id[0] ? r->alert_id : NULL);
}

void screenings_create(wh_ctx_t *c)
{
    item_t it;
    if (!item_read(c->rep, c->req->body, "", &it))
        return;
    if (!scr_org_ok(c->req, it.org)) {
        wh_ctx_not_found(c, "organization");
        return;
    }
    stored_t r;
    int status = item_store(c, &it, false, c->rep, &r);
    if (status < 400)
        pack_stored(wh_reply_ok(c->rep, status), &r, false);
}

/* A batch item's problem, shaped as the gateway renders problem details. */
static void pack_problem(msgpack_packer *pk, wh_buf_t *out, const wh_reply_t *p)
{
    int listed = p->n_errors > WH_REPLY_MAX_ERRORS ? WH_REPLY_MAX_ERRORS : p->n_errors;
    char type[96];
    snprintf(type, sizeof type, "/problems/%s", p->type);
    msgpack_pack_map(pk, 2);
    wh_msg_kv_int(pk, "status", p->status);
    wh_msg_pack_str(pk, "error");
    msgpack_pack_map(pk, 5);
    wh_msg_kv_str(pk, "type", type);
    wh_msg_kv_str(pk, "title", p->title);
    wh_msg_kv_int(pk, "status", p->status);
    wh_msg_kv_str(pk, "detail", p->detail);
    wh_msg_pack_str(pk, "errors");
    msgpack_pack_array(pk, (size_t)listed);
    /* The field errors are already msgpack maps, back to back. */
    wh_buf_append(out, p->errors.data, p->errors.len);
}

/* The subjects of a batch that may have an active alert. Before the first
 * item is stored, one statement finds which of the batch's subjects (those
 * of the first item's organisation, of a pseudonym's characters) have an
 * active alert; the alerts the batch opens are added as it goes. A quiet
 * item of a covered subject outside the set then has no alert to look
 * up. This holds for the request's transaction only (the store's write
 * lock keeps other instances out), so nothing is kept between requests. */
#define ALERT_SET_CAP 2048 /* a power of two, at least twice SCR_BATCH_MAX */
_Static_assert(ALERT_SET_CAP >= 2 * SCR_BATCH_MAX, "the set needs room");

typedef struct alert_hint {
    wh_str_t org;
    wh_str_t set[ALERT_SET_CAP];       /* subjects that may have an active alert */
    bool covered[SCR_BATCH_MAX];       /* the item's subject was looked up */
    uint32_t json_item[SCR_BATCH_MAX]; /* the array's index -> the item */
    const msgpack_object *items;
} alert_hint_t;

static uint32_t subject_hash(wh_str_t s)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < s.n; i++)
        h = (h ^ (uint8_t)s.p[i]) * 16777619u;
    return h;
}

static bool str_eq(wh_str_t a, wh_str_t b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

static void hint_add(alert_hint_t *h, wh_str_t subject)
{
    for (uint32_t i = subject_hash(subject) & (ALERT_SET_CAP - 1);;
         i = (i + 1) & (ALERT_SET_CAP - 1)) {
        if (!h->set[i].p) {
            h->set[i] = subject;
            return;
        }
        if (str_eq(h->set[i], subject))
            return;
    }
}

static bool hint_has(const alert_hint_t *h, wh_str_t subject)
{
    for (uint32_t i = subject_hash(subject) & (ALERT_SET_CAP - 1); h->set[i].p;
         i = (i + 1) & (ALERT_SET_CAP - 1))
        if (str_eq(h->set[i], subject))
            return true;
    return false;
}

static void hint_found(void *ud, int64_t k)
{
    alert_hint_t *h = ud;
    if (k < 0 || k >= SCR_BATCH_MAX)
        return;
    const msgpack_object *item = &h->items[h->json_item[k]];
    hint_add(h, wh_msg_str(wh_msg_get(item, "subject")));
}

/* Fills h for the n items; false (and nothing covered) when the lookup
 * could not be made, so that every item looks up its own. */
static bool hint_load(wh_ctx_t *c, const msgpack_object *items, uint32_t n, alert_hint_t *h)
{
    memset(h, 0, sizeof *h);
    h->items = items;
    wh_buf_t json;
    wh_buf_init(&json);
    wh_buf_append(&json, "[", 1);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *item = &items[i];
        if (item->type != MSGPACK_OBJECT_MAP)
            continue;
        wh_str_t org = wh_msg_str(wh_msg_get(item, "org_id"));
        wh_str_t subject = wh_msg_str(wh_msg_get(item, "subject"));
        const char *why;
        /* A pseudonym's characters need no escaping in JSON. */
        if (!org.p || !subject.p || subject.n == 0 || subject.n > SCR_MAX_SUBJECT ||
            !scr_subject_ok(subject, &why))
            continue;
        if (!h->org.p)
            h->org = org;
        else if (!str_eq(h->org, org))
            continue;
        if (k)
            wh_buf_append(&json, ",", 1);
        wh_buf_append(&json, "\"", 1);
        wh_buf_append(&json, subject.p, subject.n);
        wh_buf_append(&json, "\"", 1);
        h->json_item[k++] = i;
        h->covered[i] = true;
    }
    wh_buf_append(&json, "]", 1);
    bool ok =
        !wh_buf_failed(&json) &&
        (k == 0 || alerts_active_among(c->store, h->org, json.data, json.len, hint_found, h) == 0);
    wh_buf_close(&json);
    if (!ok)
        memset(h->covered, 0, sizeof h->covered);
    return ok;
}

/* "/items/<i>" into out (at least 18 bytes), without snprintf: it is
 * written for every item of a batch. */
static void item_prefix(char *out, uint32_t i)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    memcpy(out, "/items/", 7);
    for (int k = 0; k < n; k++)
        out[7 + k] = digits[n - 1 - k];
    out[7 + n] = '\0';
}

void screenings_batch(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, batch_fields))
        return;
    const msgpack_object *items = NULL;
    wh_valid_array(&v, "items", WH_V_REQUIRED, SCR_BATCH_MAX, &items);
    if (wh_reply_invalid(c->rep))
        return;
    uint32_t n = items->via.array.size;
    wh_buf_t out;
    wh_buf_init(&out);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &out);
    alert_hint_t *hint = malloc(sizeof *hint);
    if (hint)
        hint_load(c, items->via.array.ptr, n, hint);
    wh_reply_t ir;
    wh_reply_init(&ir);
    bool failed = false;
    for (uint32_t i = 0; i < n && !failed; i++) {
        wh_reply_reset(&ir);
        char prefix[32];
        item_prefix(prefix, i);
        item_t it;
        if (!item_read(&ir, &items->via.array.ptr[i], prefix, &it)) {
            wh_reply_invalid(&ir);
            pack_problem(&pk, &out, &ir);
            continue;
        }
        if (!scr_org_ok(c->req, it.org)) {
            wh_reply_problem(&ir, 404, "not-found", "no such organization");
            pack_problem(&pk, &out, &ir);
            continue;
        }
        stored_t r;
        bool covered = hint && hint->covered[i];
        int status = item_store(c, &it, covered && !hint_has(hint, it.subject), &ir, &r);
        if (status >= 500) {
            failed = true;
            break;
        }
        if (covered && r.alert_id[0])
            hint_add(hint, it.subject); /* opened by this item, or found */
        if (status >= 400)
            pack_problem(&pk, &out, &ir);
        else
            pack_stored(&pk, &r, true);
    }
    wh_reply_close(&ir);
    free(hint);
    if (failed || wh_buf_failed(&out)) {
        wh_buf_close(&out);
        wh_reply_problem(c->rep, 500, "internal", "the batch could not be stored");
        return;
    }
    msgpack_packer *rpk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(rpk, 1);
    wh_msg_pack_str(rpk, "items");
    msgpack_pack_array(rpk, n);
    wh_buf_append(&c->rep->body, out.data, out.len);
    wh_buf_close(&out);
}

static void kv_col(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col)
{
    wh_msg_pack_str(pk, key);
    wh_msg_pack_wstr(pk, wh_stmt_col_str(st, col));
}

/* Packs a row of FULL_COLUMNS. */
static void pack_full(msgpack_packer *pk, sqlite3_stmt *st)
{
    stored_t r;
    stored_from_row(&r, st);
    char taken[WH_RFC3339_LEN], created[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(sqlite3_column_int64(st, 12), taken);
    wh_clock_format_rfc3339(sqlite3_column_int64(st, 15), created);
    msgpack_pack_map(pk, 16);
    wh_msg_kv_str(pk, "id", r.id);
    kv_col(pk, "org_id", st, 8);
    kv_col(pk, "external_id", st, 9);
    wh_msg_kv_str(pk, "instrument", r.instrument);
    kv_col(pk, "subject", st, 10);
    kv_col(pk, "unit", st, 11);
    wh_msg_kv_str(pk, "taken_at", taken);
    kv_col(pk, "language", st, 13);
    /* answers is stored as "[a,b,...]" of small non-negative integers. */
    wh_str_t a = wh_stmt_col_str(st, 14);
    size_t count = a.n > 2;
    for (size_t i = 0; i < a.n; i++)
        count += a.p[i] == ',';
    wh_msg_pack_str(pk, "answers");
    msgpack_pack_array(pk, count);
    int x = 0;
    for (size_t i = 1; count > 0 && i < a.n; i++) {
        if (a.p[i] >= '0' && a.p[i] <= '9') {
            x = x * 10 + (a.p[i] - '0');
        } else {
            msgpack_pack_int(pk, x);
            x = 0;
        }
    }
    wh_msg_kv_int(pk, "score", r.score);
    wh_msg_kv_int(pk, "raw_score", r.raw_score);
    wh_msg_kv_str(pk, "band", r.band);
    wh_msg_kv_bool(pk, "at_risk", r.at_risk);
    wh_msg_pack_str(pk, "flags");
    pack_flags(pk, r.flags);
    wh_msg_kv_str(pk, "alert_id", r.alert_id[0] ? r.alert_id : NULL);
    wh_msg_kv_str(pk, "created_at", created);
}

void screenings_get(wh_ctx_t *c)
{
    wh_str_t id = wh_request_param(c->req, "id");
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SCR_GET);
    wh_stmt_bind_str(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW || !wh_request_has_org(c->req, wh_stmt_col_str(st, 8))) {
        wh_ctx_not_found(c, "screening");
        return;
    }
    char idz[WH_ID_LEN + 1], org[WH_ID_LEN + 1];
    wh_stmt_col_copy(st, 0, idz, sizeof idz);
    wh_stmt_col_copy(st, 8, org, sizeof org);
    pack_full(wh_reply_ok(c->rep, 200), st);
    sqlite3_reset(st);
    wh_reply_etag(c->rep, "\"%s\"", idz);
    if (audit_write(c, (wh_str_t){org, strlen(org)}, "screening.read", idz, 1) != 0)
        wh_reply_problem(c->rep, 500, "internal", "the read could not be audited");
}

void screenings_list(wh_ctx_t *c)
{
    wh_list_t list;
    wh_list_start(&list, c->req, c->rep);
    wh_str_t subject = wh_request_param(c->req, "subject");
    wh_str_t instrument = wh_request_param(c->req, "instrument");
    if (!subject.p || subject.n == 0)
        wh_reply_param(c->rep, "subject", "is required");
    if (instrument.p && !scr_instrument_find(instrument.p, instrument.n))
        wh_reply_param(c->rep, "instrument", "is not a known instrument");
    wh_str_t org;
    if (!scr_org_param(c, &org))
        return;
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SCR_LIST);
    wh_stmt_bind_str(st, 1, org);
    wh_stmt_bind_str(st, 2, subject);
    wh_stmt_bind_str(st, 3, instrument);
    wh_list_bind_page(&list, st, 4);
    wh_list_keep_ids(&list);
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 0)))
        pack_full(pk, st);
    audit_list_finish(c, &list, org, "screening.list");
}
