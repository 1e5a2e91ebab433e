#include "agreements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "list.h"
#include "reminders.h"

static const char *const languages[] = {"de", "en", "sv", NULL};

static const char SQL_ORG_KIND[] = "SELECT kind FROM organizations WHERE id = ?1";
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

bool agr_load_visible(wh_ctx_t *c, agr_t *a)
{
    if (agr_load(c->store, wh_request_param(c->req, "id"), a) && agr_visible(c->req, a))
        return true;
    wh_ctx_not_found(c, "agreement");
    return false;
}

static void reply_agr(wh_ctx_t *c, const agr_t *a, int status)
{
    char etag[80];
    agr_etag(a, etag, sizeof etag);
    agr_pack(wh_reply_ok(c->rep, status), a, wh_clock_today());
    wh_reply_etag(c->rep, "%s", etag);
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
        int k = s.p ? agr_name_index(agr_focus_names, s.p, s.n) : -1;
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
    return read_object_list(v, "contacts", AGR_MAX_CONTACTS, fields, contact_item, &a->contacts);
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

/* The change is one a's state allows (rules.h); otherwise answers 409 with
 * the reason and returns false. */
static bool allowed(wh_ctx_t *c, const agr_t *a, enum agr_change change)
{
    const agr_transition_t *t = agr_transition(a->state, change);
    if (!t->refused)
        return true;
    wh_reply_problem(c->rep, 409, "conflict", "%s%s%s", t->refused, t->successor ? " " : "",
                     t->successor ? a->renewed_by : "");
    return false;
}

/* Writes a, new when before is NULL, with its history entry. */
static int write_change(wh_ctx_t *c, const agr_t *before, agr_t *a, const char *action,
                        const agr_who_t *who)
{
    int rc = before ? agr_update(c->store, a) : agr_insert(c->store, a);
    return rc ? rc : agr_history_add(c->store, a->id, action, who, before, a);
}

/* After a write that returned rc: runs the reminder step of a signed
 * agreement for today in the same transaction, so that a late signing is
 * caught up at once, and answers status with a as stored, or 500 saying it
 * could not be `what`. */
static void reply_written(wh_ctx_t *c, int rc, agr_t *a, const agr_who_t *who, int32_t today,
                          const char *what, int status)
{
    if (rc == 0 && a->state == AGR_SIGNED)
        rc = reminders_process(c->store, a, today, who, NULL);
    if (rc != 0) {
        internal(c, what);
        return;
    }
    agr_load(c->store, (wh_str_t){a->id, WH_ID_LEN}, a);
    reply_agr(c, a, status);
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
    if (!wh_reply_invalid(c->rep)) {
        /* An agreement signed on paper and entered afterwards starts signed. */
        a.state = a.signed_on != AGR_NO_DATE ? AGR_SIGNED : AGR_DRAFT;
        agr_who_t who = agr_who_of(c->req);
        reply_written(c, write_change(c, NULL, &a, "created", &who), &a, &who, today, "stored",
                      201);
    }
    agr_close(&a);
}

#define AGR_MAX_EXPIRING_DAYS AGR_MAX_TERM_DAYS

void agr_list(wh_ctx_t *c)
{
    static const char *const phases[] = {"upcoming", "active", "expired", NULL};
    wh_list_t list;
    bool ok = wh_list_start(&list, c->req, c->rep);
    wh_str_t employer = wh_request_param(c->req, "employer_id");
    wh_str_t insurer = wh_request_param(c->req, "insurer_id");
    int state, phase, focus;
    int64_t days = -1;
    ok = wh_param_enum(c->req, c->rep, "state", agr_state_names, NULL, &state) && ok;
    ok = wh_param_enum(c->req, c->rep, "phase", phases, NULL, &phase) && ok;
    ok = wh_param_enum(c->req, c->rep, "focus_area", agr_focus_names, "is not a known focus area",
                       &focus) &&
         ok;
    ok =
        wh_param_int(c->req, c->rep, "expiring_within_days", 0, AGR_MAX_EXPIRING_DAYS, &days) && ok;
    if (!ok)
        return;
    const char *sql = employer.p  ? SQL_AGR_LIST_EMPLOYER
                      : insurer.p ? SQL_AGR_LIST_INSURER
                                  : SQL_AGR_LIST;
    sqlite3_stmt *st = wh_list_query(&list, c, sql);
    int32_t today = wh_clock_today();
    wh_stmt_bind_str(st, 4, employer);
    wh_stmt_bind_str(st, 5, insurer);
    wh_stmt_bind_text(st, 6, wh_param_value(agr_state_names, state));
    if (focus >= 0)
        sqlite3_bind_int64(st, 7, 1ll << focus);
    if (phase >= 0)
        sqlite3_bind_int(st, 8, phase);
    if (days >= 0)
        sqlite3_bind_int64(st, 9, days);
    sqlite3_bind_int64(st, 10, today);
    agr_t a;
    agr_init(&a);
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 0))) {
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

/* A change of one agreement: fn gets the body (only `fields`), the
 * agreement as stored (before) and a record to fill (a copy to change, or
 * the successor), once the agreement is loaded, visible and matched. */
typedef void (*change_fn)(wh_ctx_t *c, wh_valid_t *v, agr_t *before, agr_t *a);

static void change(wh_ctx_t *c, const char *const *fields, change_fn fn)
{
    agr_t before, a;
    agr_init(&before);
    agr_init(&a);
    wh_valid_t v;
    if (load_for_change(c, &before) && wh_ctx_body(c, &v, fields))
        fn(c, &v, &before, &a);
    agr_close(&before);
    agr_close(&a);
}

static void patch(wh_ctx_t *c, wh_valid_t *v, agr_t *before, agr_t *a)
{
    agr_copy(a, before);
    int32_t today = wh_clock_today();
    unsigned bad = read_fields(v, a, M_PATCH);
    bool parties = strcmp(a->employer_id, before->employer_id) != 0 ||
                   strcmp(a->insurer_id, before->insurer_id) != 0;
    bool term = a->starts_on != before->starts_on || a->ends_on != before->ends_on ||
                a->notice_days != before->notice_days;
    if (!c->rep->n_errors && (parties || term) && !allowed(c, before, AGR_CHANGE_TERM))
        return;
    check_fields(c, a, bad, parties, today);
    if (wh_reply_invalid(c->rep))
        return;
    agr_who_t who = agr_who_of(c->req);
    reply_written(c, write_change(c, before, a, "updated", &who), a, &who, today, "updated", 200);
}

void agr_patch(wh_ctx_t *c)
{
    change(c, patch_fields, patch);
}

void agr_delete(wh_ctx_t *c)
{
    agr_t a;
    agr_init(&a);
    if (!load_for_change(c, &a) || !allowed(c, &a, AGR_DELETE))
        goto done;
    /* The history stays, with the deletion as its last entry. */
    agr_who_t who = agr_who_of(c->req);
    if (agr_history_add(c->store, a.id, "deleted", &who, &a, NULL) != 0 ||
        agr_remove(c->store, a.id) != 0)
        internal(c, "deleted");
    else
        wh_reply_empty(c->rep, 204);
done:
    agr_close(&a);
}

static void sign(wh_ctx_t *c, wh_valid_t *v, agr_t *before, agr_t *a)
{
    int32_t today = wh_clock_today();
    int32_t signed_on = today;
    wh_valid_date(v, "signed_on", 0, &signed_on);
    if (wh_reply_invalid(c->rep) || !allowed(c, before, AGR_SIGN))
        return;
    agr_copy(a, before);
    a->signed_on = signed_on;
    check_fields(c, a, 0, false, today);
    if (wh_reply_invalid(c->rep))
        return;
    a->state = agr_transition(before->state, AGR_SIGN)->to;
    agr_who_t who = agr_who_of(c->req);
    reply_written(c, write_change(c, before, a, "signed", &who), a, &who, today, "signed", 200);
}

void agr_sign(wh_ctx_t *c)
{
    static const char *const fields[] = {"signed_on", NULL};
    change(c, fields, sign);
}

static void terminate(wh_ctx_t *c, wh_valid_t *v, agr_t *before, agr_t *a)
{
    int32_t effective = AGR_NO_DATE;
    wh_str_t reason = {0};
    bool date_ok = wh_valid_date(v, "effective_on", WH_V_REQUIRED, &effective) == WH_V_SET;
    wh_valid_str(v, "reason", WH_V_NULLABLE | WH_V_MULTILINE, 1, AGR_MAX_TEXT, &reason);
    if (wh_reply_invalid(c->rep) || !allowed(c, before, AGR_TERMINATE))
        return;
    char d[WH_DATE_LEN];
    if (date_ok && effective < before->starts_on) {
        wh_date_format(before->starts_on, d);
        wh_reply_field(c->rep, "/effective_on", "must not be before starts_on (%s)", d);
    } else if (date_ok && effective > before->ends_on) {
        wh_date_format(before->ends_on, d);
        wh_reply_field(c->rep, "/effective_on", "must not be after ends_on (%s)", d);
    }
    if (wh_reply_invalid(c->rep))
        return;
    agr_copy(a, before);
    a->state = agr_transition(before->state, AGR_TERMINATE)->to;
    a->terminated_on = effective;
    a->has_reason = reason.p != NULL;
    copy_str(a->termination_reason, sizeof a->termination_reason, reason);
    agr_who_t who = agr_who_of(c->req);
    reply_written(c, write_change(c, before, a, "terminated", &who), a, &who, wh_clock_today(),
                  "terminated", 200);
}

void agr_terminate(wh_ctx_t *c)
{
    static const char *const fields[] = {"effective_on", "reason", NULL};
    change(c, fields, terminate);
}

/* succ is the successor of pred. */
static void renew(wh_ctx_t *c, wh_valid_t *v, agr_t *pred, agr_t *succ)
{
    int32_t today = wh_clock_today();
    /* The successor starts as a copy continuing the term, signed today. */
    agr_copy(succ, pred);
    succ->starts_on = pred->ends_on + 1;
    succ->signed_on = today;
    unsigned bad = read_fields(v, succ, M_RENEW);
    if (wh_reply_invalid(c->rep) || !allowed(c, pred, AGR_RENEW))
        return;
    if (!(bad & BAD_STARTS) && succ->starts_on <= pred->starts_on) {
        char d[WH_DATE_LEN];
        wh_date_format(pred->starts_on, d);
        wh_reply_field(c->rep, "/starts_on", "must be after the renewed agreement's start (%s)", d);
        bad |= BAD_STARTS;
    }
    check_fields(c, succ, bad, false, today);
    if (wh_reply_invalid(c->rep))
        return;
    agr_who_t who = agr_who_of(c->req);
    reply_written(c, agr_renew_into(c->store, pred, succ, &who), succ, &who, today, "renewed", 201);
}

void agr_renew(wh_ctx_t *c)
{
    change(c, renew_fields, renew);
}

/* The reminders of one agreement: what was sent or skipped, and what of a
 * signed agreement's schedule is still due, in due order. */
void agr_reminders(wh_ctx_t *c)
{
    agr_t a;
    agr_init(&a);
    reminders_row_t *rows = NULL;
    if (!agr_load_visible(c, &a))
        goto done;
    rows = calloc(REMINDERS_MAX_ROWS, sizeof *rows);
    if (!rows) {
        wh_reply_problem(c->rep, 503, "unavailable", "out of memory");
        goto done;
    }
    int n = reminders_rows(c->store, &a, rows);
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 1);
    wh_msg_pack_str(pk, "items");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        const reminders_row_t *r = &rows[i];
        msgpack_pack_map(pk, 5);
        wh_msg_kv_str(pk, "kind", agr_item_names[r->kind]);
        if (r->kind == AGR_ITEM_NOTICE)
            wh_msg_kv_int(pk, "days_before", r->days_before);
        else
            wh_msg_kv_nil(pk, "days_before");
        agr_pack_date(pk, "due_on", r->due_on);
        wh_msg_kv_str(pk, "status", r->status);
        wh_msg_kv_str(pk, "sent_at", r->sent_at[0] ? r->sent_at : NULL);
    }
done:
    free(rows);
    agr_close(&a);
}

void agr_history(wh_ctx_t *c)
{
    agr_t a;
    agr_init(&a);
    wh_list_t list;
    if (!wh_list_start(&list, c->req, c->rep) || !agr_load_visible(c, &a)) {
        agr_close(&a);
        return;
    }
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_HISTORY_LIST);
    wh_stmt_bind_text(st, 1, a.id);
    wh_list_bind_page(&list, st, 2);
    msgpack_packer *pk;
    while ((pk = wh_list_next(&list, st, 0))) {
        msgpack_pack_map(pk, 5);
        wh_stmt_kv_text(pk, "id", st, 0);
        wh_stmt_kv_text(pk, "at", st, 1);
        wh_stmt_kv_text(pk, "action", st, 2);
        wh_msg_pack_str(pk, "who");
        msgpack_pack_map(pk, 2);
        wh_stmt_kv_text(pk, "token_id", st, 3);
        wh_stmt_kv_text(pk, "role", st, 4);
        wh_msg_pack_str(pk, "changes");
        if (sqlite3_column_type(st, 5) == SQLITE_NULL)
            msgpack_pack_nil(pk);
        else
            agr_pack_raw(pk, sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5));
    }
    wh_list_finish(&list, c->rep);
    agr_close(&a);
}
