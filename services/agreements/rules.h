/* The date rules of cooperation agreements as pure functions of calendar
 * dates (days since 1970-01-01, common/clock.h), so that each rule can be
 * tested day by day: the notice deadline, the phase, the reminder schedule
 * of one term, what the reminder scan does on a given day (including the
 * catch-up after downtime), the term of an automatic successor, and the
 * syntax of a contact's e-mail address; and the lifecycle as a table of
 * which change each state allows. Nothing here touches the store.
 *
 * docs/DOMAIN.md, "Agreement deadlines": notice_deadline = ends_on - notice_days;
 * reminders fire reminder_days before the deadline and on it; on ends_on + 1
 * the agreement has expired (agreement.expired) or, with auto_renew, is
 * followed by a successor for the same term length. Each fires once per
 * term; where several are due at once only the one nearest the deadline is
 * sent and the others are skipped. */
#ifndef AGREEMENTS_RULES_H
#define AGREEMENTS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGR_MAX_REMINDER_DAYS 10 /* entries of reminder_days */
#define AGR_MIN_REMINDER_DAY  1
#define AGR_MAX_REMINDER_DAY  365
#define AGR_MAX_SCHEDULE      (AGR_MAX_REMINDER_DAYS + 2) /* notices, the deadline, the end */
#define AGR_MAX_EMAIL         254                         /* RFC 5321 path limit */
#define AGR_MAX_EMAIL_LOCAL   64
#define AGR_NO_DATE           INT32_MIN

enum agr_phase { AGR_PHASE_UPCOMING, AGR_PHASE_ACTIVE, AGR_PHASE_EXPIRED };

/* The lifecycle: draft -> signed -> terminated | renewed. */
enum agr_state { AGR_DRAFT, AGR_SIGNED, AGR_TERMINATED, AGR_RENEWED };
#define AGR_N_STATES 4
extern const char *const agr_state_names[]; /* NULL-terminated */

/* What may be asked of an agreement in each state. */
enum agr_change {
    AGR_SIGN,        /* draft -> signed */
    AGR_TERMINATE,   /* signed -> terminated */
    AGR_RENEW,       /* signed -> renewed, with a signed successor */
    AGR_DELETE,      /* a draft is deleted */
    AGR_CHANGE_TERM, /* parties or term (employer_id, insurer_id, starts_on, ends_on,
                        notice_days) change; the state stays */
};
#define AGR_N_CHANGES 5

/* One cell of the transition table. */
typedef struct agr_transition {
    const char *refused; /* NULL when allowed; else why not (the 409 detail) */
    bool successor;      /* the detail goes on with " " and the successor's id */
    enum agr_state to;   /* when allowed: the state afterwards */
} agr_transition_t;

const agr_transition_t *agr_transition(enum agr_state from, enum agr_change change);

enum agr_item_kind {
    AGR_ITEM_NOTICE,  /* agreement.expiring, days_before the notice deadline */
    AGR_ITEM_EXPIRED, /* agreement.expired on ends_on + 1 */
    AGR_ITEM_RENEW,   /* with auto_renew: the successor on ends_on + 1 */
};
extern const char *const agr_item_names[]; /* "notice", "expired", "renewal" */

enum agr_action {
    AGR_ACT_WAIT, /* not due yet */
    AGR_ACT_SEND, /* due now: send (or renew) */
    AGR_ACT_SKIP, /* due now but superseded: record as skipped */
    AGR_ACT_DONE, /* recorded already */
};

typedef struct agr_item {
    enum agr_item_kind kind;
    int days_before; /* notice: days before the deadline, 0 on it; else 0 */
    int32_t due_on;
} agr_item_t;

typedef struct agr_terms {
    int32_t ends_on;
    int notice_days;
    bool auto_renew;
    int n_reminder_days;
    int reminder_days[AGR_MAX_REMINDER_DAYS];
} agr_terms_t;

typedef struct agr_plan {
    enum agr_action action[AGR_MAX_SCHEDULE];
    int32_t next_due; /* earliest due_on still waiting, AGR_NO_DATE if none */
} agr_plan_t;

int32_t agr_notice_deadline(int32_t ends_on, int notice_days);
/* end is the last day in force: ends_on, or the termination's effective date. */
enum agr_phase agr_phase_on(int32_t starts_on, int32_t end, int32_t today);
const char *agr_phase_name(enum agr_phase p);
/* Days from today to end, 0 once it has passed. */
int32_t agr_days_remaining(int32_t end, int32_t today);

/* The items of one term in due order (earliest first); returns their count.
 * Equal days in reminder_days are counted once. */
int agr_schedule(const agr_terms_t *t, agr_item_t out[AGR_MAX_SCHEDULE]);

/* What to do today with the n items of a schedule. recorded[i] says item i
 * was sent or skipped before; handled_until is the latest due_on of any
 * notice reminder recorded for this term (AGR_NO_DATE if none), which may
 * no longer be in the schedule when reminder_days changed. Rules:
 *  - of the notice reminders due and not recorded, the one nearest the
 *    deadline is sent and the others skipped; it is skipped too when a
 *    reminder at least as near the deadline was handled already (a newly
 *    added earlier reminder never follows a later one), or when the
 *    agreement has ended (today > ends_on), when only the end counts;
 *  - the end item (expired or renewal) is sent once due. */
void agr_plan_day(const agr_item_t *items, int n, const bool *recorded, int32_t handled_until,
                  int32_t ends_on, int32_t today, agr_plan_t *out);

/* The last day of a successor starting on ends_on + 1 for the same term
 * length: the same number of whole months when the term is whole months
 * (start and the day after the end share the day of the month, clamped to
 * the month's length), otherwise the same number of days. */
int32_t agr_successor_ends_on(int32_t starts_on, int32_t ends_on);

/* A plain addr-spec: dot-atom local part (at most 64 octets) "@" a domain
 * of at least two labels (letters, digits, hyphens, not at a label's ends,
 * each at most 63 octets), at most AGR_MAX_EMAIL octets in all. Quoted local
 * parts and address literals are refused: no mail system of a health
 * insurer hands those out. */
bool agr_email_valid(const char *s, size_t n);

/* The index of the name s (n bytes) in a NULL-terminated list, or -1. */
int agr_name_index(const char *const *names, const char *s, size_t n);
/* The same for a NUL-terminated s; NULL is -1. */
int agr_name_index_str(const char *const *names, const char *s);

#endif
