#include "agreement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "outbox.h"

const char *const agr_focus_names[] = {
    "work_design",       "healthy_leadership", "movement",   "nutrition", "addiction_prevention",
    "stress_management", "physical_strain",    "networking", "other",     NULL};
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
static const char SQL_HISTORY_INSERT[] =
    "INSERT INTO agreement_history(id, agreement_id, at, action, token_id, role, changes)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/* ---- the record and its row --------------------------------------------- */

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
    /* The default of docs/DOMAIN.md: 90, 30 and 7 days before the deadline. */
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

void agr_from_row(sqlite3_stmt *st, agr_t *a)
{
    col_copy(st, 0, a->id, sizeof a->id);
    col_copy(st, 1, a->employer_id, sizeof a->employer_id);
    col_copy(st, 2, a->insurer_id, sizeof a->insurer_id);
    col_copy(st, 3, a->title, sizeof a->title);
    wh_str_t state = wh_stmt_col_str(st, 4);
    int si = state.p ? agr_name_index(agr_state_names, state.p, state.n) : 0;
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
            int k = agr_name_index(agr_focus_names, fa.p + start, i - start);
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

/* Runs the insert or the update for a, stamped with `at`. */
static int write_row(wh_store_t *store, const char *sql, const agr_t *a, const char *at)
{
    sqlite3_stmt *st = wh_store_stmt(store, sql);
    if (!st)
        return WH_ESTORE;
    wh_buf_t scratch;
    wh_buf_init(&scratch);
    wh_stmt_bind_text(st, 1, a->id);
    bind_fields(st, a, &scratch);
    wh_stmt_bind_text(st, 23, at);
    int rc =
        sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(wh_store_db(store)) == 1 ? 0 : WH_ESTORE;
    sqlite3_reset(st);
    wh_buf_close(&scratch);
    return rc;
}

int agr_insert(wh_store_t *store, agr_t *a)
{
    wh_id_new(a->id);
    wh_clock_format_rfc3339(wh_clock_now_ms(), a->created_at);
    memcpy(a->updated_at, a->created_at, sizeof a->updated_at);
    a->version = 1;
    return write_row(store, SQL_AGR_INSERT, a, a->created_at);
}

int agr_update(wh_store_t *store, agr_t *a)
{
    wh_clock_format_rfc3339(wh_clock_now_ms(), a->updated_at);
    int rc = write_row(store, SQL_AGR_UPDATE, a, a->updated_at);
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

int agr_remove(wh_store_t *store, const char *id)
{
    static const char *const sqls[] = {SQL_AGR_DELETE_ACTIVITIES, SQL_AGR_DELETE};
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        sqlite3_stmt *st = wh_store_stmt(store, sqls[i]);
        wh_stmt_bind_text(st, 1, id);
        if (!st || sqlite3_step(st) != SQLITE_DONE)
            return WH_ESTORE;
    }
    return 0;
}

/* ---- representation ----------------------------------------------------- */

void agr_pack_date(msgpack_packer *pk, const char *key, int32_t d)
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
    agr_pack_date(pk, "signed_on", a->signed_on);
    agr_pack_date(pk, "starts_on", a->starts_on);
    agr_pack_date(pk, "ends_on", a->ends_on);
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
    agr_pack_date(pk, "terminated_on", a->state == AGR_TERMINATED ? a->terminated_on : AGR_NO_DATE);
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
    agr_pack_date(pk, "notice_deadline", agr_notice_deadline(a->ends_on, a->notice_days));
    wh_msg_kv_bool(pk, "conditions_met", agr_conditions_met(a));
    wh_msg_kv_str(pk, "created_at", a->created_at);
    wh_msg_kv_str(pk, "updated_at", a->updated_at);
}

void agr_etag(const agr_t *a, char *out, size_t cap)
{
    snprintf(out, cap, "\"%s.%lld\"", a->id, (long long)a->version);
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

/* ---- renewal ------------------------------------------------------------ */

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
    agr_pack_date(&pk, "ends_on", succ->ends_on);
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
