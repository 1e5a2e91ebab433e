#include "agreements.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list.h"
#include "outbox.h"
#include "reminders.h"

const char *const agr_state_names[] = {"draft", "signed", "terminated", "renewed", NULL};
const char *const agr_focus_names[] = {
    "work_design",       "healthy_leadership", "movement",   "nutrition", "addiction_prevention",
    "stress_management", "physical_strain",    "networking", "other",     NULL};
static const char *const languages[] = {"de", "en", "sv", NULL};
const agr_who_t agr_system = {NULL, "system"};

static const char SQL_AGR_GET[] = "SELECT " AGR_COLUMNS " FROM agreements WHERE id = ?1";
static const char SQL_AGR_INSERT[] =
    "INSERT INTO agreements(id, employer_id, insurer_id, title, state, signed_on, starts_on,"
    " ends_on, notice_days, auto_renew, employees_covered, focus_areas, focus_mask,"
    " financial_eur, advisory, conditions, contacts, reminder_days, renews, renewed_by,"
    " terminated_on, termination_reason, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
    " ?19, ?20, ?21, ?22, ?23, ?23)";
/* A closed or draft agreement has nothing due; the reminder step sets
 * next_due for signed ones. */
static const char SQL_AGR_UPDATE[] =
    "UPDATE agreements SET employer_id = ?2, insurer_id = ?3, title = ?4, state = ?5,"
    " signed_on = ?6, starts_on = ?7, ends_on = ?8, notice_days = ?9, auto_renew = ?10,"
    " employees_covered = ?11, focus_areas = ?12, focus_mask = ?13, financial_eur = ?14,"
    " advisory = ?15, conditions = ?16, contacts = ?17, reminder_days = ?18, renews = ?19,"
    " renewed_by = ?20, terminated_on = ?21, termination_reason = ?22,"
    " next_due = CASE WHEN ?5 = 'signed' THEN next_due END,"
    " version = version + 1, updated_at = ?23 WHERE id = ?1";
static const char SQL_AGR_NEXT_DUE[] = "UPDATE agreements SET next_due = ?2 WHERE id = ?1";
static const char SQL_AGR_DELETE[] = "DELETE FROM agreements WHERE id = ?1";
static const char SQL_AGR_DELETE_ACTIVITIES[] = "DELETE FROM activities WHERE agreement_id = ?1";
static const char SQL_ORG_KIND[] = "SELECT kind FROM organizations WHERE id = ?1";
static const char SQL_HISTORY_INSERT[] =
    "INSERT INTO agreement_history(id, agreement_id, at, action, token_id, role, changes)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_HISTORY_LIST[] =
    "SELECT id, at, action, token_id, role, changes FROM agreement_history"
    " WHERE agreement_id = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3";

/* The list's filters. ?3 is the principal's organisations as a JSON array
 * (NULL for admins); ?8 the phase (0 upcoming, 1 active, 2 expired); ?9 the
 * days of expiring_within_days; ?10 today. The employer and insurer forms
 * let SQLite walk (employer_id, id) or (insurer_id, id) in id order. */
#define AGR_LIST_FILTERS                                                                           \
    " AND (?1 IS NULL OR id > ?1)"                                                                 \
    " AND (?3 IS NULL OR employer_id IN (SELECT value FROM json_each(?3))"                         \
    "      OR insurer_id IN (SELECT value FROM json_each(?3)))"                                    \
    " AND (?4 IS NULL OR employer_id = ?4) AND (?5 IS NULL OR insurer_id = ?5)"                    \
    " AND (?6 IS NULL OR state = ?6) AND (?7 IS NULL OR (focus_mask & ?7) != 0)"                   \
    " AND (?8 IS NULL OR (?8 = 0 AND starts_on > ?10)"                                             \
    "      OR (?8 = 1 AND starts_on <= ?10 AND coalesce(terminated_on, ends_on) >= ?10)"           \
    "      OR (?8 = 2 AND coalesce(terminated_on, ends_on) < ?10))"                                \
    " AND (?9 IS NULL OR (state = 'signed' AND ends_on >= ?10 AND ends_on <= ?10 + ?9))"           \
    " ORDER BY id LIMIT ?2"
static const char SQL_AGR_LIST[] =
    "SELECT " AGR_COLUMNS " FROM agreements WHERE 1" AGR_LIST_FILTERS;
static const char SQL_AGR_LIST_EMPLOYER[] =
    "SELECT " AGR_COLUMNS " FROM agreements WHERE employer_id = ?4" AGR_LIST_FILTERS;
static const char SQL_AGR_LIST_INSURER[] =
    "SELECT " AGR_COLUMNS " FROM agreements WHERE insurer_id = ?5" AGR_LIST_FILTERS;

/* ---- the record ------------------------------------------------------- */

void agr_init(agr_t *a)
{
    memset(a, 0, sizeof *a);
    wh_buf_init(&a->conditions);
    wh_buf_init(&a->contacts);
    a->signed_on = a->terminated_on = AGR_NO_DATE;
    a->employees_covered = -1;
    static const char empty_array = (char)0x90;
    wh_buf_append(&a->conditions, &empty_array, 1);
    wh_buf_append(&a->contacts, &empty_array, 1);
    /* The default of DOMAIN.md: 90, 30 and 7 days before the deadline. */
    a->n_reminder_days = 3;
    a->reminder_days[0] = 90;
    a->reminder_days[1] = 30;
    a->reminder_days[2] = 7;
}

void agr_close(agr_t *a)
{
    wh_buf_close(&a->conditions);
    wh_buf_close(&a->contacts);
}

void agr_copy(agr_t *dst, const agr_t *src)
{
    wh_buf_t cond = dst->conditions, cont = dst->contacts;
    memcpy(dst, src, sizeof *dst);
    dst->conditions = cond;
    dst->contacts = cont;
    wh_buf_reset(&dst->conditions);
    wh_buf_reset(&dst->contacts);
    wh_buf_append(&dst->conditions, src->conditions.data, src->conditions.len);
    wh_buf_append(&dst->contacts, src->contacts.data, src->contacts.len);
}

static int32_t col_date(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? AGR_NO_DATE
                                                       : (int32_t)sqlite3_column_int64(st, col);
}

static void col_copy(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", s ? s : "");
}

static int name_index(const char *const *names, const char *s, size_t n)
{
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
            return i;
    return -1;
}

void agr_from_row(sqlite3_stmt *st, agr_t *a)
{
    col_copy(st, 0, a->id, sizeof a->id);
    col_copy(st, 1, a->employer_id, sizeof a->employer_id);
    col_copy(st, 2, a->insurer_id, sizeof a->insurer_id);
    col_copy(st, 3, a->title, sizeof a->title);
    wh_str_t state = wh_stmt_col_str(st, 4);
    int si = state.p ? name_index(agr_state_names, state.p, state.n) : 0;
    a->state = si < 0 ? AGR_DRAFT : (enum agr_state)si;
    a->signed_on = col_date(st, 5);
    a->starts_on = col_date(st, 6);
    a->ends_on = col_date(st, 7);
    a->notice_days = sqlite3_column_int(st, 8);
    a->auto_renew = sqlite3_column_int(st, 9) != 0;
    a->employees_covered =
        sqlite3_column_type(st, 10) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 10);
    a->n_focus = 0;
    wh_str_t fa = wh_stmt_col_str(st, 11);
    for (size_t i = 0, start = 0; fa.p && i <= fa.n; i++)
        if (i == fa.n || fa.p[i] == ',') {
            int k = name_index(agr_focus_names, fa.p + start, i - start);
            if (k >= 0 && a->n_focus < AGR_N_FOCUS)
                a->focus[a->n_focus++] = k;
            start = i + 1;
        }
    a->financial_eur = sqlite3_column_int64(st, 12);
    a->advisory = sqlite3_column_int(st, 13) != 0;
    wh_buf_reset(&a->conditions);
    wh_buf_append(&a->conditions, sqlite3_column_blob(st, 14),
                  (size_t)sqlite3_column_bytes(st, 14));
    wh_buf_reset(&a->contacts);
    wh_buf_append(&a->contacts, sqlite3_column_blob(st, 15), (size_t)sqlite3_column_bytes(st, 15));
    a->n_reminder_days = 0;
    const char *rd = (const char *)sqlite3_column_text(st, 16);
    while (rd && *rd && a->n_reminder_days < AGR_MAX_REMINDER_DAYS) {
        char *end;
        long d = strtol(rd, &end, 10);
        if (end == rd)
            break;
        a->reminder_days[a->n_reminder_days++] = (int)d;
        rd = *end == ',' ? end + 1 : end;
    }
    col_copy(st, 17, a->renews, sizeof a->renews);
    col_copy(st, 18, a->renewed_by, sizeof a->renewed_by);
    a->terminated_on = col_date(st, 19);
    a->has_reason = sqlite3_column_type(st, 20) != SQLITE_NULL;
    col_copy(st, 20, a->termination_reason, sizeof a->termination_reason);
    a->version = sqlite3_column_int64(st, 21);
    col_copy(st, 22, a->created_at, sizeof a->created_at);
    col_copy(st, 23, a->updated_at, sizeof a->updated_at);
}

bool agr_load(wh_store_t *store, wh_str_t id, agr_t *a)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_AGR_GET);
    if (!st || !id.p)
        return false;
    wh_stmt_bind_str(st, 1, id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found)
        agr_from_row(st, a);
    sqlite3_reset(st);
    return found;
}

bool agr_visible(const wh_request_t *req, const agr_t *a)
{
    return wh_request_has_org(req, (wh_str_t){a->employer_id, strlen(a->employer_id)}) ||
           wh_request_has_org(req, (wh_str_t){a->insurer_id, strlen(a->insurer_id)});
}

bool agr_load_visible(wh_ctx_t *c, agr_t *a)
{
    if (agr_load(c->store, wh_request_param(c->req, "id"), a) && agr_visible(c->req, a))
        return true;
    wh_ctx_not_found(c, "agreement");
    return false;
}

int32_t agr_end(const agr_t *a)
{
    return a->state == AGR_TERMINATED && a->terminated_on != AGR_NO_DATE ? a->terminated_on
                                                                         : a->ends_on;
}

void agr_terms(const agr_t *a, agr_terms_t *t)
{
    t->ends_on = a->ends_on;
    t->notice_days = a->notice_days;
    t->auto_renew = a->auto_renew;
    t->n_reminder_days = a->n_reminder_days;
    memcpy(t->reminder_days, a->reminder_days, sizeof t->reminder_days);
}

bool agr_conditions_met(const agr_t *a)
{
    wh_msg_t m;
    if (wh_msg_decode(a->conditions.data, a->conditions.len, &m) != 0)
        return false;
    bool met = m.root->type == MSGPACK_OBJECT_ARRAY;
    for (uint32_t i = 0; met && i < m.root->via.array.size; i++) {
        const msgpack_object *x = wh_msg_get(&m.root->via.array.ptr[i], "met");
        met = x && x->type == MSGPACK_OBJECT_BOOLEAN && x->via.boolean;
    }
    wh_msg_close(&m);
    return met;
}

agr_who_t agr_who_of(const wh_request_t *req)
{
    const char *role = wh_role_name(req->principal.role);
    return (agr_who_t){req->principal.token_id[0] ? req->principal.token_id : NULL,
                       role ? role : "unknown"};
}

static unsigned focus_mask(const agr_t *a)
{
    unsigned m = 0;
    for (int i = 0; i < a->n_focus; i++)
        m |= 1u << a->focus[i];
    return m;
}

/* Binds the columns shared by insert and update (?2 .. ?22). */
static void bind_fields(sqlite3_stmt *st, const agr_t *a, wh_buf_t *scratch)
{
    wh_stmt_bind_text(st, 2, a->employer_id);
    wh_stmt_bind_text(st, 3, a->insurer_id);
    wh_stmt_bind_text(st, 4, a->title);
    wh_stmt_bind_text(st, 5, agr_state_names[a->state]);
#define BIND_DATE(i, d)                                                                            \
    ((d) == AGR_NO_DATE ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, d))
    BIND_DATE(6, a->signed_on);
    BIND_DATE(7, a->starts_on);
    BIND_DATE(8, a->ends_on);
    sqlite3_bind_int(st, 9, a->notice_days);
    sqlite3_bind_int(st, 10, a->auto_renew);
    if (a->employees_covered >= 0)
        sqlite3_bind_int64(st, 11, a->employees_covered);
    else
        sqlite3_bind_null(st, 11);
    /* focus_areas and reminder_days as text, built in scratch: "a,b" then
     * NUL then "90,30" so both stay valid while bound (SQLITE_TRANSIENT
     * copies them anyway). */
    wh_buf_reset(scratch);
    for (int i = 0; i < a->n_focus; i++)
        wh_buf_printf(scratch, "%s%s", i ? "," : "", agr_focus_names[a->focus[i]]);
    sqlite3_bind_text(st, 12, scratch->data ? scratch->data : "", (int)scratch->len,
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 13, focus_mask(a));
    sqlite3_bind_int64(st, 14, a->financial_eur);
    sqlite3_bind_int(st, 15, a->advisory);
    sqlite3_bind_blob(st, 16, a->conditions.data, (int)a->conditions.len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 17, a->contacts.data, (int)a->contacts.len, SQLITE_TRANSIENT);
    wh_buf_reset(scratch);
    for (int i = 0; i < a->n_reminder_days; i++)
        wh_buf_printf(scratch, "%s%d", i ? "," : "", a->reminder_days[i]);
    sqlite3_bind_text(st, 18, scratch->data ? scratch->data : "", (int)scratch->len,
                      SQLITE_TRANSIENT);
    wh_stmt_bind_text(st, 19, a->renews[0] ? a->renews : NULL);
    wh_stmt_bind_text(st, 20, a->renewed_by[0] ? a->renewed_by : NULL);
    BIND_DATE(21, a->terminated_on);
#undef BIND_DATE
    wh_stmt_bind_text(st, 22, a->has_reason ? a->termination_reason : NULL);
}

int agr_insert(wh_store_t *store, agr_t *a)
{
    wh_id_new(a->id);
    wh_clock_format_rfc3339(wh_clock_now_ms(), a->created_at);
    memcpy(a->updated_at, a->created_at, sizeof a->updated_at);
    a->version = 1;
    sqlite3_stmt *st = wh_store_stmt(store, SQL_AGR_INSERT);
    if (!st)
        return WH_ESTORE;
    wh_buf_t scratch;
    wh_buf_init(&scratch);
    wh_stmt_bind_text(st, 1, a->id);
    bind_fields(st, a, &scratch);
    wh_stmt_bind_text(st, 23, a->created_at);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
    sqlite3_reset(st);
    wh_buf_close(&scratch);
    return rc;
}

int agr_update(wh_store_t *store, agr_t *a)
{
    wh_clock_format_rfc3339(wh_clock_now_ms(), a->updated_at);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_AGR_UPDATE);
    if (!st)
        return WH_ESTORE;
    wh_buf_t scratch;
    wh_buf_init(&scratch);
    wh_stmt_bind_text(st, 1, a->id);
    bind_fields(st, a, &scratch);
    wh_stmt_bind_text(st, 23, a->updated_at);
    int rc =
        sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(wh_store_db(store)) == 1 ? 0 : WH_ESTORE;
    sqlite3_reset(st);
    wh_buf_close(&scratch);
    if (rc == 0)
        a->version++;
    return rc;
}

int agr_set_next_due(wh_store_t *store, const char *id, int32_t next_due)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_AGR_NEXT_DUE);
    if (!st)
        return WH_ESTORE;
    wh_stmt_bind_text(st, 1, id);
    if (next_due == AGR_NO_DATE)
        sqlite3_bind_null(st, 2);
    else
        sqlite3_bind_int64(st, 2, next_due);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
    sqlite3_reset(st);
    return rc;
}

/* ---- representation ----------------------------------------------------- */

static void kv_date(msgpack_packer *pk, const char *key, int32_t d)
{
    if (d == AGR_NO_DATE) {
        wh_msg_kv_nil(pk, key);
        return;
    }
    char s[WH_DATE_LEN];
    wh_date_format(d, s);
    wh_msg_kv_str(pk, key, s);
}

/* Appends one value that is msgpack already (a stored blob). */
static void pack_raw(msgpack_packer *pk, const void *data, size_t len)
{
    pk->callback(pk->data, data, len);
}

static void kv_id(msgpack_packer *pk, const char *key, const char *id)
{
    wh_msg_kv_str(pk, key, id[0] ? id : NULL);
}

#define AGR_STORED_FIELDS 19
/* The stored fields, in the order of the representation; also what the
 * history compares. */
static void pack_stored(msgpack_packer *pk, const agr_t *a)
{
    wh_msg_kv_str(pk, "employer_id", a->employer_id);
    wh_msg_kv_str(pk, "insurer_id", a->insurer_id);
    wh_msg_kv_str(pk, "title", a->title);
    wh_msg_kv_str(pk, "state", agr_state_names[a->state]);
    kv_date(pk, "signed_on", a->signed_on);
    kv_date(pk, "starts_on", a->starts_on);
    kv_date(pk, "ends_on", a->ends_on);
    wh_msg_kv_int(pk, "notice_days", a->notice_days);
    wh_msg_kv_bool(pk, "auto_renew", a->auto_renew);
    if (a->employees_covered >= 0)
        wh_msg_kv_int(pk, "employees_covered", a->employees_covered);
    else
        wh_msg_kv_nil(pk, "employees_covered");
    wh_msg_pack_str(pk, "focus_areas");
    msgpack_pack_array(pk, (size_t)a->n_focus);
    for (int i = 0; i < a->n_focus; i++)
        wh_msg_pack_str(pk, agr_focus_names[a->focus[i]]);
    wh_msg_pack_str(pk, "support");
    msgpack_pack_map(pk, 2);
    wh_msg_kv_int(pk, "financial_eur", a->financial_eur);
    wh_msg_kv_bool(pk, "advisory", a->advisory);
    /* The blobs were validated and normalised on the way in. */
    wh_msg_pack_str(pk, "conditions");
    pack_raw(pk, a->conditions.data, a->conditions.len);
    wh_msg_pack_str(pk, "contacts");
    pack_raw(pk, a->contacts.data, a->contacts.len);
    wh_msg_pack_str(pk, "reminder_days");
    msgpack_pack_array(pk, (size_t)a->n_reminder_days);
    for (int i = 0; i < a->n_reminder_days; i++)
        msgpack_pack_int(pk, a->reminder_days[i]);
    kv_id(pk, "renews", a->renews);
    kv_id(pk, "renewed_by", a->renewed_by);
    kv_date(pk, "terminated_on", a->state == AGR_TERMINATED ? a->terminated_on : AGR_NO_DATE);
    wh_msg_kv_str(pk, "termination_reason", a->has_reason ? a->termination_reason : NULL);
}

void agr_pack(msgpack_packer *pk, const agr_t *a, int32_t today)
{
    msgpack_pack_map(pk, 1 + AGR_STORED_FIELDS + 4 + 2);
    wh_msg_kv_str(pk, "id", a->id);
    pack_stored(pk, a);
    int32_t end = agr_end(a);
    wh_msg_kv_str(pk, "phase", agr_phase_name(agr_phase_on(a->starts_on, end, today)));
    wh_msg_kv_int(pk, "days_remaining", agr_days_remaining(end, today));
    kv_date(pk, "notice_deadline", agr_notice_deadline(a->ends_on, a->notice_days));
    wh_msg_kv_bool(pk, "conditions_met", agr_conditions_met(a));
    wh_msg_kv_str(pk, "created_at", a->created_at);
    wh_msg_kv_str(pk, "updated_at", a->updated_at);
}

void agr_etag(const agr_t *a, char *out, size_t cap)
{
    snprintf(out, cap, "\"%s.%lld\"", a->id, (long long)a->version);
}

static void reply_agr(wh_ctx_t *c, const agr_t *a, int status)
{
    char etag[80];
    agr_etag(a, etag, sizeof etag);
    agr_pack(wh_reply_ok(c->rep, status), a, wh_clock_today());
    wh_reply_etag(c->rep, "%s", etag);
}

/* ---- history ------------------------------------------------------------ */

static void snapshot(const agr_t *a, wh_buf_t *b)
{
    msgpack_packer pk;
    wh_msg_writer_init(&pk, b);
    msgpack_pack_map(&pk, AGR_STORED_FIELDS);
    pack_stored(&pk, a);
}

/* A field changed; without a before (created) every field that is set. */
static bool differs(const msgpack_object *before, const msgpack_object *after)
{
    if (!before)
        return after->type != MSGPACK_OBJECT_NIL;
    return !msgpack_object_equal(*before, *after);
}

int agr_history_add(wh_store_t *store, const char *agreement_id, const char *action,
                    const agr_who_t *who, const agr_t *before, const agr_t *after)
{
    wh_buf_t sb, sa, changes;
    wh_buf_init(&sb);
    wh_buf_init(&sa);
    wh_buf_init(&changes);
    int rc = WH_ENOMEM;
    wh_msg_t mb = {0}, ma = {0};
    if (after) {
        snapshot(after, &sa);
        if (before)
            snapshot(before, &sb);
        if (wh_buf_failed(&sa) || wh_buf_failed(&sb) || wh_msg_decode(sa.data, sa.len, &ma) != 0 ||
            (before && wh_msg_decode(sb.data, sb.len, &mb) != 0))
            goto done;
        /* Both snapshots list the same keys in the same order. */
        const msgpack_object_map *am = &ma.root->via.map;
        uint32_t n = 0;
        for (uint32_t i = 0; i < am->size; i++) {
            n += differs(before ? &mb.root->via.map.ptr[i].val : NULL, &am->ptr[i].val);
        }
        msgpack_packer pk;
        wh_msg_writer_init(&pk, &changes);
        msgpack_pack_map(&pk, n);
        for (uint32_t i = 0; i < am->size; i++) {
            const msgpack_object *bv = before ? &mb.root->via.map.ptr[i].val : NULL;
            if (!differs(bv, &am->ptr[i].val))
                continue;
            wh_msg_pack_obj(&pk, &am->ptr[i].key);
            msgpack_pack_map(&pk, 2);
            wh_msg_pack_str(&pk, "from");
            if (bv)
                wh_msg_pack_obj(&pk, bv);
            else
                msgpack_pack_nil(&pk);
            wh_msg_pack_str(&pk, "to");
            wh_msg_pack_obj(&pk, &am->ptr[i].val);
        }
        if (wh_buf_failed(&changes))
            goto done;
    }
    char id[WH_ID_LEN + 1], now[WH_RFC3339_LEN];
    wh_id_new(id);
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_HISTORY_INSERT);
    rc = WH_ESTORE;
    if (!st)
        goto done;
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_text(st, 2, agreement_id);
    wh_stmt_bind_text(st, 3, now);
    wh_stmt_bind_text(st, 4, action);
    wh_stmt_bind_text(st, 5, who->token_id);
    wh_stmt_bind_text(st, 6, who->role);
    if (after)
        sqlite3_bind_blob(st, 7, changes.data, (int)changes.len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 7);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : WH_ESTORE;
    sqlite3_reset(st);
done:
    if (ma.root)
        wh_msg_close(&ma);
    if (mb.root)
        wh_msg_close(&mb);
    wh_buf_close(&sb);
    wh_buf_close(&sa);
    wh_buf_close(&changes);
    return rc;
}

void agr_history(wh_ctx_t *c)
{
    agr_t a;
    agr_init(&a);
    wh_page_t page;
    if (!wh_valid_page(c->req, c->rep, &page) || !agr_load_visible(c, &a)) {
        agr_close(&a);
        return;
    }
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_HISTORY_LIST);
    wh_stmt_bind_text(st, 1, a.id);
    wh_stmt_bind_str(st, 2, page.cursor);
    sqlite3_bind_int64(st, 3, page.limit + 1);
    wh_list_t list;
    wh_list_init(&list, page.limit);
    msgpack_packer *pk;
    while (sqlite3_step(st) == SQLITE_ROW &&
           (pk = wh_list_row(&list, (const char *)sqlite3_column_text(st, 0)))) {
        msgpack_pack_map(pk, 5);
        wh_msg_pack_str(pk, "id");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 0));
        wh_msg_pack_str(pk, "at");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 1));
        wh_msg_pack_str(pk, "action");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 2));
        wh_msg_pack_str(pk, "who");
        msgpack_pack_map(pk, 2);
        wh_msg_pack_str(pk, "token_id");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 3));
        wh_msg_pack_str(pk, "role");
        wh_msg_pack_wstr(pk, wh_stmt_col_str(st, 4));
        wh_msg_pack_str(pk, "changes");
        if (sqlite3_column_type(st, 5) == SQLITE_NULL)
            msgpack_pack_nil(pk);
        else
            pack_raw(pk, sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5));
    }
    wh_list_finish(&list, c->rep);
    agr_close(&a);
}

/* ---- validation ----------------------------------------------------------- */

enum mode { M_CREATE, M_PATCH, M_RENEW };

static const char *const create_fields[] = {
    "employer_id", "insurer_id",  "title",      "signed_on",         "starts_on",
    "ends_on",     "notice_days", "auto_renew", "employees_covered", "focus_areas",
    "support",     "conditions",  "contacts",   "reminder_days",     NULL};
static const char *const patch_fields[] = {
    "employer_id",   "insurer_id",  "title",      "starts_on",
    "ends_on",       "notice_days", "auto_renew", "employees_covered",
    "focus_areas",   "support",     "conditions", "contacts",
    "reminder_days", NULL};
static const char *const renew_fields[] = {
    "title",      "signed_on",         "starts_on",   "ends_on", "notice_days",
    "auto_renew", "employees_covered", "focus_areas", "support", "conditions",
    "contacts",   "reminder_days",     NULL};

/* Fields that failed their own check, so that the checks across fields
 * skip them rather than report a consequence twice. */
enum {
    BAD_EMPLOYER = 1 << 0,
    BAD_INSURER = 1 << 1,
    BAD_SIGNED = 1 << 2,
    BAD_STARTS = 1 << 3,
    BAD_ENDS = 1 << 4,
    BAD_NOTICE = 1 << 5,
};

static void copy_str(char *out, size_t cap, wh_str_t s)
{
    snprintf(out, cap, "%.*s", (int)s.n, s.p ? s.p : "");
}

static bool read_focus(wh_valid_t *v, agr_t *a)
{
    const msgpack_object *arr = NULL;
    wh_v_result_t r = wh_valid_array(v, "focus_areas", WH_V_NULLABLE, AGR_MAX_FOCUS_AREAS, &arr);
    if (r == WH_V_NULL)
        a->n_focus = 0;
    if (r != WH_V_SET)
        return r != WH_V_BAD;
    int n = 0, idx[AGR_N_FOCUS];
    bool ok = true;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/focus_areas/%u", i);
        wh_str_t s = wh_msg_str(&arr->via.array.ptr[i]);
        int k = s.p ? name_index(agr_focus_names, s.p, s.n) : -1;
        bool dup = false;
        for (int j = 0; j < n && k >= 0; j++)
            dup = dup || idx[j] == k;
        if (k < 0) {
            wh_reply_field(v->rep, ptr,
                           "must be one of work_design, healthy_leadership, movement, nutrition,"
                           " addiction_prevention, stress_management, physical_strain,"
                           " networking, other");
            ok = false;
        } else if (dup) {
            wh_reply_field(v->rep, ptr, "is listed twice");
            ok = false;
        } else {
            idx[n++] = k;
        }
    }
    if (ok) {
        a->n_focus = n;
        memcpy(a->focus, idx, sizeof idx);
    }
    return ok;
}

static bool read_reminder_days(wh_valid_t *v, agr_t *a)
{
    const msgpack_object *arr = NULL;
    wh_v_result_t r =
        wh_valid_array(v, "reminder_days", WH_V_NULLABLE, AGR_MAX_REMINDER_DAYS, &arr);
    if (r == WH_V_NULL)
        a->n_reminder_days = 0;
    if (r != WH_V_SET)
        return r != WH_V_BAD;
    int days[AGR_MAX_REMINDER_DAYS], n = 0;
    bool ok = true;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/reminder_days/%u", i);
        int64_t d;
        if (!wh_msg_int(&arr->via.array.ptr[i], &d) || d < AGR_MIN_REMINDER_DAY ||
            d > AGR_MAX_REMINDER_DAY) {
            wh_reply_field(v->rep, ptr, "must be an integer from %d to %d", AGR_MIN_REMINDER_DAY,
                           AGR_MAX_REMINDER_DAY);
            ok = false;
            continue;
        }
        bool dup = false;
        for (int j = 0; j < n; j++)
            dup = dup || days[j] == d;
        if (dup) {
            wh_reply_field(v->rep, ptr, "is listed twice");
            ok = false;
            continue;
        }
        days[n++] = (int)d;
    }
    if (ok) {
        a->n_reminder_days = n;
        memcpy(a->reminder_days, days, sizeof days);
    }
    return ok;
}

/* Reads the list of objects under key, each with only `fields`, checked and
 * packed by item(); an explicit null means an empty list. The packed list
 * replaces *out only when every item is valid. */
typedef void (*list_item_fn)(wh_valid_t *e, const char *prefix, msgpack_packer *pk);

static bool read_object_list(wh_valid_t *v, const char *key, uint32_t max,
                             const char *const *fields, list_item_fn item, wh_buf_t *out)
{
    const msgpack_object *arr = NULL;
    wh_v_result_t r = wh_valid_array(v, key, WH_V_NULLABLE, max, &arr);
    if (r == WH_V_BAD || r == WH_V_ABSENT)
        return r != WH_V_BAD;
    uint32_t n = r == WH_V_SET ? arr->via.array.size : 0;
    int before = v->rep->n_errors;
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    msgpack_pack_array(&pk, n);
    for (uint32_t i = 0; i < n; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "/%s/%u", key, i);
        wh_valid_t e;
        if (!wh_valid_init(&e, v->rep, &arr->via.array.ptr[i], prefix))
            continue;
        wh_valid_only(&e, fields);
        item(&e, prefix, &pk);
    }
    bool ok = v->rep->n_errors == before && !wh_buf_failed(&b);
    if (ok) {
        wh_buf_reset(out);
        wh_buf_append(out, b.data, b.len);
    }
    wh_buf_close(&b);
    return ok;
}

static void condition_item(wh_valid_t *e, const char *prefix, msgpack_packer *pk)
{
    wh_str_t text = {0};
    bool met = false;
    wh_valid_str(e, "text", WH_V_REQUIRED | WH_V_MULTILINE, 1, AGR_MAX_TEXT, &text);
    wh_valid_bool(e, "met", 0, &met);
    msgpack_pack_map(pk, 2);
    wh_msg_kv_strn(pk, "text", text.p ? text.p : "", text.n);
    wh_msg_kv_bool(pk, "met", met);
}

static void contact_item(wh_valid_t *e, const char *prefix, msgpack_packer *pk)
{
    wh_str_t name = {0}, email = {0}, role = {0};
    int lang = 0; /* German unless told: the programme's home market */
    wh_valid_str(e, "name", WH_V_REQUIRED, 1, AGR_MAX_TITLE, &name);
    if (wh_valid_str(e, "email", WH_V_REQUIRED, 1, AGR_MAX_EMAIL, &email) == WH_V_SET &&
        !agr_email_valid(email.p, email.n)) {
        char ptr[96];
        snprintf(ptr, sizeof ptr, "%s/email", prefix);
        wh_reply_field(e->rep, ptr, "is not a valid e-mail address");
    }
    wh_valid_str(e, "role", WH_V_NULLABLE, 1, AGR_MAX_TITLE, &role);
    wh_valid_enum(e, "language", 0, languages, &lang);
    msgpack_pack_map(pk, 4);
    wh_msg_kv_strn(pk, "name", name.p ? name.p : "", name.n);
    wh_msg_kv_strn(pk, "email", email.p ? email.p : "", email.n);
    if (role.p)
        wh_msg_kv_strn(pk, "role", role.p, role.n);
    else
        wh_msg_kv_nil(pk, "role");
    wh_msg_kv_str(pk, "language", languages[lang]);
}

static bool read_conditions(wh_valid_t *v, agr_t *a)
{
    static const char *const fields[] = {"text", "met", NULL};
    return read_object_list(v, "conditions", AGR_MAX_CONDITIONS, fields, condition_item,
                            &a->conditions);
}

static bool read_contacts(wh_valid_t *v, agr_t *a)
{
    static const char *const fields[] = {"name", "email", "role", "language", NULL};
    return read_object_list(v, "contacts", AGR_MAX_CONTACTS, fields, contact_item,
                            &a->contacts);
}

static void read_support(wh_valid_t *v, agr_t *a)
{
    static const char *const fields[] = {"financial_eur", "advisory", NULL};
    const msgpack_object *o = wh_msg_get(v->obj, "support");
    if (!o)
        return;
    if (o->type == MSGPACK_OBJECT_NIL) {
        a->financial_eur = 0;
        a->advisory = false;
        return;
    }
    wh_valid_t s;
    if (!wh_valid_init(&s, v->rep, o, "/support"))
        return;
    wh_valid_only(&s, fields);
    wh_valid_int(&s, "financial_eur", 0, 0, AGR_MAX_FINANCIAL_EUR, &a->financial_eur);
    wh_valid_bool(&s, "advisory", 0, &a->advisory);
}

/* Reads the body's fields into a (which holds the current or default
 * values); returns the BAD_* bits of fields that failed. */
static unsigned read_fields(wh_valid_t *v, agr_t *a, enum mode m)
{
    unsigned bad = 0;
    unsigned req = m == M_CREATE ? WH_V_REQUIRED : 0;
    wh_str_t s;
    wh_v_result_t r;
    if (m != M_RENEW) {
        r = wh_valid_str(v, "employer_id", req, 1, 64, &s);
        if (r == WH_V_SET)
            copy_str(a->employer_id, sizeof a->employer_id, s);
        bad |= r == WH_V_BAD ? BAD_EMPLOYER : 0;
        r = wh_valid_str(v, "insurer_id", req, 1, 64, &s);
        if (r == WH_V_SET)
            copy_str(a->insurer_id, sizeof a->insurer_id, s);
        bad |= r == WH_V_BAD ? BAD_INSURER : 0;
    }
    if (wh_valid_str(v, "title", req, 1, AGR_MAX_TITLE, &s) == WH_V_SET)
        copy_str(a->title, sizeof a->title, s);
    if (m != M_PATCH) {
        r = wh_valid_date(v, "signed_on", WH_V_NULLABLE, &a->signed_on);
        if (r == WH_V_NULL)
            a->signed_on = AGR_NO_DATE;
        bad |= r == WH_V_BAD ? BAD_SIGNED : 0;
    }
    bad |= wh_valid_date(v, "starts_on", req, &a->starts_on) == WH_V_BAD ? BAD_STARTS : 0;
    bad |= wh_valid_date(v, "ends_on", req | (m == M_RENEW ? WH_V_REQUIRED : 0), &a->ends_on) ==
                   WH_V_BAD
               ? BAD_ENDS
               : 0;
    int64_t x;
    r = wh_valid_int(v, "notice_days", req, 0, AGR_MAX_NOTICE_DAYS, &x);
    if (r == WH_V_SET)
        a->notice_days = (int)x;
    bad |= r == WH_V_BAD ? BAD_NOTICE : 0;
    wh_valid_bool(v, "auto_renew", 0, &a->auto_renew);
    r = wh_valid_int(v, "employees_covered", WH_V_NULLABLE, 0, AGR_MAX_EMPLOYEES, &x);
    if (r == WH_V_SET || r == WH_V_NULL)
        a->employees_covered = r == WH_V_SET ? x : -1;
    read_focus(v, a);
    read_support(v, a);
    read_conditions(v, a);
    read_contacts(v, a);
    read_reminder_days(v, a);
    return bad;
}

/* 422 problems about one organisation of the agreement. */
static void check_org(wh_ctx_t *c, const char *pointer, const char *id, const char *kind)
{
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_ORG_KIND);
    wh_stmt_bind_text(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW)
        wh_reply_field(c->rep, pointer, "no such organisation");
    else if (strcmp((const char *)sqlite3_column_text(st, 0), kind) != 0)
        wh_reply_field(c->rep, pointer, "must be an organisation of kind %s", kind);
    sqlite3_reset(st);
}

/* The rules across fields. Parties are checked when check_parties (create,
 * or a patch that changes them). */
static void check_fields(wh_ctx_t *c, const agr_t *a, unsigned bad, bool check_parties,
                         int32_t today)
{
    if (check_parties && !(bad & (BAD_EMPLOYER | BAD_INSURER))) {
        bool emp = wh_request_has_org(c->req, (wh_str_t){a->employer_id, strlen(a->employer_id)});
        bool ins = wh_request_has_org(c->req, (wh_str_t){a->insurer_id, strlen(a->insurer_id)});
        if (!emp && !ins) {
            /* Said without looking the ids up, so that other tenants'
             * organisations cannot be probed. */
            wh_reply_field(c->rep, "/employer_id",
                           "this token covers neither the employer nor the insurer");
            wh_reply_field(c->rep, "/insurer_id",
                           "this token covers neither the employer nor the insurer");
        } else {
            check_org(c, "/employer_id", a->employer_id, "employer");
            check_org(c, "/insurer_id", a->insurer_id, "insurer");
        }
    }
    char d[WH_DATE_LEN], e[WH_DATE_LEN];
    if (!(bad & (BAD_STARTS | BAD_ENDS))) {
        if (a->ends_on <= a->starts_on) {
            wh_date_format(a->starts_on, d);
            wh_reply_field(c->rep, "/ends_on", "must be after starts_on (%s)", d);
        } else if (a->ends_on - a->starts_on > AGR_MAX_TERM_DAYS) {
            wh_reply_field(c->rep, "/ends_on", "must be at most %d days after starts_on",
                           AGR_MAX_TERM_DAYS);
        } else if (!(bad & BAD_NOTICE) &&
                   agr_notice_deadline(a->ends_on, a->notice_days) < a->starts_on) {
            wh_date_format(agr_notice_deadline(a->ends_on, a->notice_days), d);
            wh_date_format(a->starts_on, e);
            wh_reply_field(c->rep, "/notice_days",
                           "puts the notice deadline (%s) before starts_on (%s)", d, e);
        }
    }
    if (!(bad & BAD_SIGNED) && a->signed_on != AGR_NO_DATE) {
        if (a->signed_on > today)
            wh_reply_field(c->rep, "/signed_on", "must not be in the future");
        else if (!(bad & BAD_ENDS) && a->signed_on > a->ends_on)
            wh_reply_field(c->rep, "/signed_on", "must not be after ends_on");
    }
}

/* ---- handlers -------------------------------------------------------- */

static void internal(wh_ctx_t *c, const char *what)
{
    wh_reply_problem(c->rep, 500, "internal", "the agreement could not be %s", what);
}

void agr_create(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, create_fields))
        return;
    agr_t a;
    agr_init(&a);
    int32_t today = wh_clock_today();
    unsigned bad = read_fields(&v, &a, M_CREATE);
    check_fields(c, &a, bad, true, today);
    if (wh_reply_invalid(c->rep))
        goto done;
    /* An agreement signed on paper and entered afterwards starts signed. */
    a.state = a.signed_on != AGR_NO_DATE ? AGR_SIGNED : AGR_DRAFT;
    agr_who_t who = agr_who_of(c->req);
    if (agr_insert(c->store, &a) != 0 ||
        agr_history_add(c->store, a.id, "created", &who, NULL, &a) != 0 ||
        (a.state == AGR_SIGNED && reminders_process(c->store, &a, today, &who, NULL) != 0)) {
        internal(c, "stored");
        goto done;
    }
    agr_load(c->store, (wh_str_t){a.id, WH_ID_LEN}, &a);
    reply_agr(c, &a, 201);
done:
    agr_close(&a);
}

#define AGR_MAX_EXPIRING_DAYS AGR_MAX_TERM_DAYS

void agr_list(wh_ctx_t *c)
{
    wh_page_t page;
    bool ok = wh_valid_page(c->req, c->rep, &page);
    wh_str_t employer = wh_request_param(c->req, "employer_id");
    wh_str_t insurer = wh_request_param(c->req, "insurer_id");
    wh_str_t state = wh_request_param(c->req, "state");
    wh_str_t phase = wh_request_param(c->req, "phase");
    wh_str_t focus = wh_request_param(c->req, "focus_area");
    wh_str_t expiring = wh_request_param(c->req, "expiring_within_days");
    static const char *const phases[] = {"upcoming", "active", "expired", NULL};
    int phase_i = -1, focus_i = -1;
    int64_t days = -1;
    if (state.p && name_index(agr_state_names, state.p, state.n) < 0) {
        wh_reply_param(c->rep, "state", "must be one of draft, signed, terminated, renewed");
        ok = false;
    }
    if (phase.p && (phase_i = name_index(phases, phase.p, phase.n)) < 0) {
        wh_reply_param(c->rep, "phase", "must be one of upcoming, active, expired");
        ok = false;
    }
    if (focus.p && (focus_i = name_index(agr_focus_names, focus.p, focus.n)) < 0) {
        wh_reply_param(c->rep, "focus_area", "is not a known focus area");
        ok = false;
    }
    if (expiring.p) {
        bool digits = expiring.n > 0 && expiring.n <= 5;
        days = 0;
        for (size_t i = 0; digits && i < expiring.n; i++) {
            digits = expiring.p[i] >= '0' && expiring.p[i] <= '9';
            days = days * 10 + (expiring.p[i] - '0');
        }
        if (!digits || days > AGR_MAX_EXPIRING_DAYS) {
            wh_reply_param(c->rep, "expiring_within_days", "must be an integer from 0 to %d",
                           AGR_MAX_EXPIRING_DAYS);
            ok = false;
        }
    }
    if (!ok)
        return;
    const char *sql = employer.p  ? SQL_AGR_LIST_EMPLOYER
                      : insurer.p ? SQL_AGR_LIST_INSURER
                                  : SQL_AGR_LIST;
    sqlite3_stmt *st = wh_store_stmt(c->store, sql);
    int32_t today = wh_clock_today();
    wh_stmt_bind_str(st, 1, page.cursor);
    sqlite3_bind_int64(st, 2, page.limit + 1);
    wh_request_bind_scope(st, 3, c->req);
    wh_stmt_bind_str(st, 4, employer);
    wh_stmt_bind_str(st, 5, insurer);
    wh_stmt_bind_str(st, 6, state);
    if (focus_i >= 0)
        sqlite3_bind_int64(st, 7, 1ll << focus_i);
    if (phase_i >= 0)
        sqlite3_bind_int(st, 8, phase_i);
    if (days >= 0)
        sqlite3_bind_int64(st, 9, days);
    sqlite3_bind_int64(st, 10, today);
    wh_list_t list;
    wh_list_init(&list, page.limit);
    agr_t a;
    agr_init(&a);
    msgpack_packer *pk;
    while (sqlite3_step(st) == SQLITE_ROW &&
           (pk = wh_list_row(&list, (const char *)sqlite3_column_text(st, 0)))) {
        agr_from_row(st, &a);
        agr_pack(pk, &a, today);
    }
    agr_close(&a);
    wh_list_finish(&list, c->rep);
}

void agr_get(wh_ctx_t *c)
{
    agr_t a;
    agr_init(&a);
    if (agr_load_visible(c, &a))
        reply_agr(c, &a, 200);
    agr_close(&a);
}

/* Loads, checks visibility and If-Match; false after answering. */
static bool load_for_change(wh_ctx_t *c, agr_t *a)
{
    if (!agr_load_visible(c, a))
        return false;
    char etag[80];
    agr_etag(a, etag, sizeof etag);
    return wh_ctx_if_match(c, etag);
}

__attribute__((format(printf, 2, 3))) static void conflict(wh_ctx_t *c, const char *fmt, ...)
{
    char detail[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    wh_reply_problem(c->rep, 409, "conflict", "%s", detail);
}

void agr_patch(wh_ctx_t *c)
{
    agr_t before, a;
    agr_init(&before);
    agr_init(&a);
    wh_valid_t v;
    if (!load_for_change(c, &before) || !wh_ctx_body(c, &v, patch_fields))
        goto done;
    agr_copy(&a, &before);
    int32_t today = wh_clock_today();
    unsigned bad = read_fields(&v, &a, M_PATCH);
    bool parties = strcmp(a.employer_id, before.employer_id) != 0 ||
                   strcmp(a.insurer_id, before.insurer_id) != 0;
    bool term = a.starts_on != before.starts_on || a.ends_on != before.ends_on ||
                a.notice_days != before.notice_days;
    if (before.state != AGR_DRAFT && !c->rep->n_errors && (parties || term)) {
        conflict(c,
                 "the agreement is %s: its parties and term (employer_id, insurer_id, starts_on,"
                 " ends_on, notice_days) change only by renewal or termination",
                 agr_state_names[before.state]);
        goto done;
    }
    check_fields(c, &a, bad, parties, today);
    if (wh_reply_invalid(c->rep))
        goto done;
    agr_who_t who = agr_who_of(c->req);
    if (agr_update(c->store, &a) != 0 ||
        agr_history_add(c->store, a.id, "updated", &who, &before, &a) != 0 ||
        (a.state == AGR_SIGNED && reminders_process(c->store, &a, today, &who, NULL) != 0)) {
        internal(c, "updated");
        goto done;
    }
    agr_load(c->store, (wh_str_t){a.id, WH_ID_LEN}, &a);
    reply_agr(c, &a, 200);
done:
    agr_close(&before);
    agr_close(&a);
}

void agr_delete(wh_ctx_t *c)
{
    agr_t a;
    agr_init(&a);
    if (!load_for_change(c, &a))
        goto done;
    if (a.state != AGR_DRAFT) {
        conflict(c, "the agreement is %s; only drafts can be deleted (terminate it instead)",
                 agr_state_names[a.state]);
        goto done;
    }
    /* The history stays, with the deletion as its last entry. */
    agr_who_t who = agr_who_of(c->req);
    if (agr_history_add(c->store, a.id, "deleted", &who, &a, NULL) != 0) {
        internal(c, "deleted");
        goto done;
    }
    static const char *const sqls[] = {SQL_AGR_DELETE_ACTIVITIES, SQL_AGR_DELETE};
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        sqlite3_stmt *st = wh_store_stmt(c->store, sqls[i]);
        wh_stmt_bind_text(st, 1, a.id);
        if (!st || sqlite3_step(st) != SQLITE_DONE) {
            internal(c, "deleted");
            goto done;
        }
    }
    wh_reply_empty(c->rep, 204);
done:
    agr_close(&a);
}

void agr_sign(wh_ctx_t *c)
{
    static const char *const fields[] = {"signed_on", NULL};
    agr_t before, a;
    agr_init(&before);
    agr_init(&a);
    wh_valid_t v;
    if (!load_for_change(c, &before) || !wh_ctx_body(c, &v, fields))
        goto done;
    int32_t today = wh_clock_today();
    int32_t signed_on = today;
    wh_valid_date(&v, "signed_on", 0, &signed_on);
    if (wh_reply_invalid(c->rep))
        goto done;
    if (before.state != AGR_DRAFT) {
        conflict(c, "the agreement is %s already; only a draft can be signed",
                 agr_state_names[before.state]);
        goto done;
    }
    agr_copy(&a, &before);
    a.signed_on = signed_on;
    check_fields(c, &a, 0, false, today);
    if (wh_reply_invalid(c->rep))
        goto done;
    a.state = AGR_SIGNED;
    agr_who_t who = agr_who_of(c->req);
    if (agr_update(c->store, &a) != 0 ||
        agr_history_add(c->store, a.id, "signed", &who, &before, &a) != 0 ||
        reminders_process(c->store, &a, today, &who, NULL) != 0) {
        internal(c, "signed");
        goto done;
    }
    agr_load(c->store, (wh_str_t){a.id, WH_ID_LEN}, &a);
    reply_agr(c, &a, 200);
done:
    agr_close(&before);
    agr_close(&a);
}

void agr_terminate(wh_ctx_t *c)
{
    static const char *const fields[] = {"effective_on", "reason", NULL};
    agr_t before, a;
    agr_init(&before);
    agr_init(&a);
    wh_valid_t v;
    if (!load_for_change(c, &before) || !wh_ctx_body(c, &v, fields))
        goto done;
    int32_t effective = AGR_NO_DATE;
    wh_str_t reason = {0};
    bool date_ok = wh_valid_date(&v, "effective_on", WH_V_REQUIRED, &effective) == WH_V_SET;
    wh_valid_str(&v, "reason", WH_V_NULLABLE | WH_V_MULTILINE, 1, AGR_MAX_TEXT, &reason);
    if (wh_reply_invalid(c->rep))
        goto done;
    switch (before.state) {
    case AGR_DRAFT:
        conflict(c, "the agreement is a %s and not in force; delete it instead", "draft");
        goto done;
    case AGR_TERMINATED:
        conflict(c, "the agreement is %s already", "terminated");
        goto done;
    case AGR_RENEWED:
        conflict(c, "the agreement was renewed; terminate its successor %s", before.renewed_by);
        goto done;
    case AGR_SIGNED:
        break;
    }
    char d[WH_DATE_LEN];
    if (date_ok && effective < before.starts_on) {
        wh_date_format(before.starts_on, d);
        wh_reply_field(c->rep, "/effective_on", "must not be before starts_on (%s)", d);
    } else if (date_ok && effective > before.ends_on) {
        wh_date_format(before.ends_on, d);
        wh_reply_field(c->rep, "/effective_on", "must not be after ends_on (%s)", d);
    }
    if (wh_reply_invalid(c->rep))
        goto done;
    agr_copy(&a, &before);
    a.state = AGR_TERMINATED;
    a.terminated_on = effective;
    a.has_reason = reason.p != NULL;
    copy_str(a.termination_reason, sizeof a.termination_reason, reason);
    agr_who_t who = agr_who_of(c->req);
    if (agr_update(c->store, &a) != 0 ||
        agr_history_add(c->store, a.id, "terminated", &who, &before, &a) != 0) {
        internal(c, "terminated");
        goto done;
    }
    reply_agr(c, &a, 200);
done:
    agr_close(&before);
    agr_close(&a);
}

static int emit_renewed(wh_store_t *store, const agr_t *pred, const agr_t *succ)
{
    wh_buf_t data;
    wh_buf_init(&data);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &data);
    msgpack_pack_map(&pk, 4);
    wh_msg_kv_str(&pk, "agreement_id", pred->id);
    wh_msg_kv_str(&pk, "successor_id", succ->id);
    wh_msg_kv_str(&pk, "title", succ->title);
    kv_date(&pk, "ends_on", succ->ends_on);
    int rc = wh_buf_failed(&data) ? WH_ENOMEM
                                  : wh_outbox_emit(store, "agreement.renewed", pred->employer_id,
                                                   data.data, data.len, NULL);
    wh_buf_close(&data);
    return rc;
}

int agr_renew_into(wh_store_t *store, agr_t *pred, agr_t *succ, const agr_who_t *who)
{
    succ->state = AGR_SIGNED;
    memcpy(succ->renews, pred->id, sizeof succ->renews);
    succ->renewed_by[0] = '\0';
    succ->terminated_on = AGR_NO_DATE;
    succ->has_reason = false;
    succ->termination_reason[0] = '\0';
    agr_t before;
    agr_init(&before);
    agr_copy(&before, pred);
    int rc = agr_insert(store, succ);
    if (rc == 0) {
        pred->state = AGR_RENEWED;
        memcpy(pred->renewed_by, succ->id, sizeof pred->renewed_by);
        rc = agr_update(store, pred);
    }
    if (rc == 0)
        rc = agr_history_add(store, pred->id, "renewed", who, &before, pred);
    if (rc == 0)
        rc = agr_history_add(store, succ->id, "created", who, NULL, succ);
    if (rc == 0)
        rc = emit_renewed(store, pred, succ);
    agr_close(&before);
    return rc;
}

void agr_renew(wh_ctx_t *c)
{
    agr_t pred, succ;
    agr_init(&pred);
    agr_init(&succ);
    wh_valid_t v;
    if (!load_for_change(c, &pred) || !wh_ctx_body(c, &v, renew_fields))
        goto done;
    int32_t today = wh_clock_today();
    /* The successor starts as a copy continuing the term, signed today. */
    agr_copy(&succ, &pred);
    succ.starts_on = pred.ends_on + 1;
    succ.signed_on = today;
    unsigned bad = read_fields(&v, &succ, M_RENEW);
    if (wh_reply_invalid(c->rep))
        goto done;
    switch (pred.state) {
    case AGR_DRAFT:
        conflict(c, "the agreement is a %s; sign it before renewing it", "draft");
        goto done;
    case AGR_TERMINATED:
        conflict(c, "the agreement is %s and cannot be renewed", "terminated");
        goto done;
    case AGR_RENEWED:
        conflict(c, "the agreement was renewed already by %s", pred.renewed_by);
        goto done;
    case AGR_SIGNED:
        break;
    }
    if (!(bad & BAD_STARTS) && succ.starts_on <= pred.starts_on) {
        char d[WH_DATE_LEN];
        wh_date_format(pred.starts_on, d);
        wh_reply_field(c->rep, "/starts_on", "must be after the renewed agreement's start (%s)", d);
        bad |= BAD_STARTS;
    }
    check_fields(c, &succ, bad, false, today);
    if (wh_reply_invalid(c->rep))
        goto done;
    agr_who_t who = agr_who_of(c->req);
    if (agr_renew_into(c->store, &pred, &succ, &who) != 0 ||
        reminders_process(c->store, &succ, today, &who, NULL) != 0) {
        internal(c, "renewed");
        goto done;
    }
    agr_load(c->store, (wh_str_t){succ.id, WH_ID_LEN}, &succ);
    reply_agr(c, &succ, 201);
done:
    agr_close(&pred);
    agr_close(&succ);
}
