/* One cooperation agreement as stored: the record agr_t, its rows in the
 * agreements table, its representation, its history and its renewal. Used
 * by the handlers (agreements.h and the modules beside it) and by the
 * reminder scan (reminders.h); it builds no replies and calls neither.
 * Which changes each state allows is the table in rules.h. */
#ifndef AGREEMENTS_AGREEMENT_H
#define AGREEMENTS_AGREEMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "envelope.h"
#include "id.h"
#include "rules.h"
#include "store.h"

#define AGR_MAX_TITLE             200  /* characters of a title, name or role */
#define AGR_MAX_TEXT              2000 /* characters of a condition or a reason */
#define AGR_MAX_FOCUS_AREAS       20   /* entries of focus_areas */
#define AGR_MAX_CONDITIONS        20
#define AGR_MAX_CONTACTS          20
#define AGR_MAX_NOTICE_DAYS       730
#define AGR_MAX_TERM_DAYS         3660 /* ten years from starts_on to ends_on */
#define AGR_MAX_EMPLOYEES         10000000
#define AGR_MAX_FINANCIAL_EUR     1000000000
#define AGR_MAX_RENEWALS_PER_SCAN 50 /* automatic successors for one agreement at once */

#define AGR_N_FOCUS 9
extern const char *const agr_focus_names[]; /* the fixed list, NULL-terminated */

/* One agreement as stored. Strings hold at most their limit in characters,
 * so four bytes a character. */
typedef struct agr {
    char id[WH_ID_LEN + 1];
    char employer_id[WH_ID_LEN + 1];
    char insurer_id[WH_ID_LEN + 1];
    char title[4 * AGR_MAX_TITLE + 1];
    enum agr_state state;
    int32_t signed_on; /* AGR_NO_DATE until signed */
    int32_t starts_on, ends_on;
    int notice_days;
    bool auto_renew;
    int64_t employees_covered; /* -1 when not given */
    int n_focus;
    int focus[AGR_N_FOCUS]; /* indices into agr_focus_names, in the client's order */
    int64_t financial_eur;
    bool advisory;
    wh_buf_t conditions; /* msgpack array of {text, met} */
    wh_buf_t contacts;   /* msgpack array of {name, email, role, language} */
    int n_reminder_days;
    int reminder_days[AGR_MAX_REMINDER_DAYS];
    char renews[WH_ID_LEN + 1];     /* "" when none */
    char renewed_by[WH_ID_LEN + 1]; /* "" when none */
    int32_t terminated_on;          /* AGR_NO_DATE unless terminated */
    char termination_reason[4 * AGR_MAX_TEXT + 1];
    bool has_reason;
    int64_t version;
    char created_at[WH_RFC3339_LEN], updated_at[WH_RFC3339_LEN];
} agr_t;

/* Who made a change: a token (id and role) or the service itself. */
typedef struct agr_who {
    const char *token_id; /* NULL for the service */
    const char *role;     /* "system" for the service */
} agr_who_t;
extern const agr_who_t agr_system;
agr_who_t agr_who_of(const wh_request_t *req);

void agr_init(agr_t *a);
void agr_close(agr_t *a);
/* Copies everything, blobs included (dst must be initialised). */
void agr_copy(agr_t *dst, const agr_t *src);
/* The columns agr_from_row() reads, in its order. */
#define AGR_COLUMNS                                                                                \
    "id, employer_id, insurer_id, title, state, signed_on, starts_on, ends_on, notice_days,"       \
    " auto_renew, employees_covered, focus_areas, financial_eur, advisory, conditions,"            \
    " contacts, reminder_days, renews, renewed_by, terminated_on, termination_reason,"             \
    " version, created_at, updated_at"
void agr_from_row(sqlite3_stmt *st, agr_t *a);
/* Loads the agreement with this id; false when there is none. */
bool agr_load(wh_store_t *store, wh_str_t id, agr_t *a);
/* The principal may see it (covers its employer or its insurer). */
bool agr_visible(const wh_request_t *req, const agr_t *a);
/* The last day in force: the termination's effective date or ends_on. */
int32_t agr_end(const agr_t *a);
void agr_terms(const agr_t *a, agr_terms_t *t);
bool agr_conditions_met(const agr_t *a);

/* Inserts a new agreement (id, version 1, timestamps set here). */
int agr_insert(wh_store_t *store, agr_t *a);
/* Writes a changed agreement back, version + 1. */
int agr_update(wh_store_t *store, agr_t *a);
int agr_set_next_due(wh_store_t *store, const char *id, int32_t next_due);
/* Deletes the agreement and its activities; its history stays. */
int agr_remove(wh_store_t *store, const char *id);

/* The representation clients read, with the computed fields for today. */
void agr_pack(msgpack_packer *pk, const agr_t *a, int32_t today);
void agr_etag(const agr_t *a, char *out, size_t cap);
/* key: the date as YYYY-MM-DD, or nil for AGR_NO_DATE. */
void agr_pack_date(msgpack_packer *pk, const char *key, int32_t d);
/* A history entry; before or after may be NULL (created, deleted). The
 * entry records {field: {from, to}} for every stored field that differs. */
int agr_history_add(wh_store_t *store, const char *agreement_id, const char *action,
                    const agr_who_t *who, const agr_t *before, const agr_t *after);

/* Creates the successor of pred (signed, renews = pred) from the prepared
 * record succ, marks pred renewed (renewed_by), writes both histories and
 * emits agreement.renewed. */
int agr_renew_into(wh_store_t *store, agr_t *pred, agr_t *succ, const agr_who_t *who);

#endif
