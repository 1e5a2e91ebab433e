#include "rules.h"

#include <string.h>

#include "clock.h"

const char *const agr_state_names[] = {"draft", "signed", "terminated", "renewed", NULL};
const char *const agr_item_names[] = {"notice", "expired", "renewal"};

/* The refusals that name the state. */
#define NOT_SIGNABLE(s)  "the agreement is " s " already; only a draft can be signed"
#define NOT_DELETABLE(s) "the agreement is " s "; only drafts can be deleted (terminate it instead)"
#define TERM_FIXED(s)                                                                              \
    "the agreement is " s ": its parties and term (employer_id, insurer_id, starts_on, ends_on,"   \
    " notice_days) change only by renewal or termination"

/* [change][from]: {why refused} or {NULL, false, the state afterwards};
 * {why, true} when the successor's id completes the reason. */
static const agr_transition_t transitions[AGR_N_CHANGES][AGR_N_STATES] = {
    [AGR_SIGN] = {[AGR_DRAFT] = {NULL, false, AGR_SIGNED},
                  [AGR_SIGNED] = {NOT_SIGNABLE("signed")},
                  [AGR_TERMINATED] = {NOT_SIGNABLE("terminated")},
                  [AGR_RENEWED] = {NOT_SIGNABLE("renewed")}},
    [AGR_TERMINATE] =
        {[AGR_DRAFT] = {"the agreement is a draft and not in force; delete it instead"},
         [AGR_SIGNED] = {NULL, false, AGR_TERMINATED},
         [AGR_TERMINATED] = {"the agreement is terminated already"},
         [AGR_RENEWED] = {"the agreement was renewed; terminate its successor", true}},
    [AGR_RENEW] = {[AGR_DRAFT] = {"the agreement is a draft; sign it before renewing it"},
                   [AGR_SIGNED] = {NULL, false, AGR_RENEWED},
                   [AGR_TERMINATED] = {"the agreement is terminated and cannot be renewed"},
                   [AGR_RENEWED] = {"the agreement was renewed already by", true}},
    [AGR_DELETE] = {[AGR_DRAFT] = {NULL, false, AGR_DRAFT},
                    [AGR_SIGNED] = {NOT_DELETABLE("signed")},
                    [AGR_TERMINATED] = {NOT_DELETABLE("terminated")},
                    [AGR_RENEWED] = {NOT_DELETABLE("renewed")}},
    [AGR_CHANGE_TERM] = {[AGR_DRAFT] = {NULL, false, AGR_DRAFT},
                         [AGR_SIGNED] = {TERM_FIXED("signed")},
                         [AGR_TERMINATED] = {TERM_FIXED("terminated")},
                         [AGR_RENEWED] = {TERM_FIXED("renewed")}},
};

const agr_transition_t *agr_transition(enum agr_state from, enum agr_change change)
{
    return &transitions[change][from];
}

int agr_name_index(const char *const *names, const char *s, size_t n)
{
    for (int i = 0; s && names[i]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
            return i;
    return -1;
}

int agr_name_index_str(const char *const *names, const char *s)
{
    return agr_name_index(names, s, s ? strlen(s) : 0);
}

int32_t agr_notice_deadline(int32_t ends_on, int notice_days)
{
    return ends_on - notice_days;
}

enum agr_phase agr_phase_on(int32_t starts_on, int32_t end, int32_t today)
{
    if (today < starts_on)
        return AGR_PHASE_UPCOMING;
    return today <= end ? AGR_PHASE_ACTIVE : AGR_PHASE_EXPIRED;
}

const char *agr_phase_name(enum agr_phase p)
{
    static const char *const names[] = {"upcoming", "active", "expired"};
    return names[p];
}

int32_t agr_days_remaining(int32_t end, int32_t today)
{
    return end > today ? end - today : 0;
}

int agr_schedule(const agr_terms_t *t, agr_item_t out[AGR_MAX_SCHEDULE])
{
    int32_t deadline = agr_notice_deadline(t->ends_on, t->notice_days);
    /* Largest days_before first is earliest due first; insertion sort of at
     * most AGR_MAX_REMINDER_DAYS values, without repeats. */
    int days[AGR_MAX_REMINDER_DAYS + 1], n = 0;
    for (int i = 0; i < t->n_reminder_days && i < AGR_MAX_REMINDER_DAYS; i++) {
        int d = t->reminder_days[i], j = n;
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup = dup || days[k] == d;
        if (dup || d <= 0)
            continue;
        while (j > 0 && days[j - 1] < d) {
            days[j] = days[j - 1];
            j--;
        }
        days[j] = d;
        n++;
    }
    days[n++] = 0; /* on the deadline itself */
    int k = 0;
    for (int i = 0; i < n; i++)
        out[k++] = (agr_item_t){AGR_ITEM_NOTICE, days[i], deadline - days[i]};
    out[k++] = (agr_item_t){t->auto_renew ? AGR_ITEM_RENEW : AGR_ITEM_EXPIRED, 0, t->ends_on + 1};
    return k;
}

void agr_plan_day(const agr_item_t *items, int n, const bool *recorded, int32_t handled_until,
                  int32_t ends_on, int32_t today, agr_plan_t *out)
{
    out->next_due = AGR_NO_DATE;
    int nearest = -1;
    for (int i = 0; i < n; i++) {
        if (recorded[i]) {
            out->action[i] = AGR_ACT_DONE;
        } else if (items[i].due_on > today) {
            out->action[i] = AGR_ACT_WAIT;
            if (out->next_due == AGR_NO_DATE || items[i].due_on < out->next_due)
                out->next_due = items[i].due_on;
        } else if (items[i].kind == AGR_ITEM_NOTICE) {
            out->action[i] = AGR_ACT_SKIP;
            if (nearest < 0 || items[i].due_on > items[nearest].due_on)
                nearest = i;
        } else {
            out->action[i] = AGR_ACT_SEND;
        }
    }
    if (nearest >= 0 && today <= ends_on &&
        (handled_until == AGR_NO_DATE || items[nearest].due_on > handled_until))
        out->action[nearest] = AGR_ACT_SEND;
}

static int32_t add_months(int32_t day, int months)
{
    int y, m, d;
    wh_date_civil(day, &y, &m, &d);
    int idx = y * 12 + (m - 1) + months;
    int ny = idx / 12, nm = idx % 12 + 1;
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int last = dim[nm - 1] + (nm == 2 && ((ny % 4 == 0 && ny % 100 != 0) || ny % 400 == 0));
    return wh_date_from_civil(ny, nm, d < last ? d : last);
}

int32_t agr_successor_ends_on(int32_t starts_on, int32_t ends_on)
{
    int32_t next = ends_on + 1;
    int y0, m0, d0, y1, m1, d1;
    wh_date_civil(starts_on, &y0, &m0, &d0);
    wh_date_civil(next, &y1, &m1, &d1);
    int months = (y1 * 12 + m1) - (y0 * 12 + m0);
    if (d0 == d1 && months > 0 && add_months(starts_on, months) == next)
        return add_months(next, months) - 1;
    return next + (ends_on - starts_on);
}

static bool atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static bool label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool agr_email_valid(const char *s, size_t n)
{
    if (n < 3 || n > AGR_MAX_EMAIL)
        return false;
    const char *at = memchr(s, '@', n);
    if (!at)
        return false;
    size_t local = (size_t)(at - s), dom = n - local - 1;
    if (local == 0 || local > AGR_MAX_EMAIL_LOCAL || dom == 0)
        return false;
    /* dot-atom: atoms separated by single dots, none at either end */
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (i == 0 || i + 1 == local || s[i + 1] == '.')
                return false;
        } else if (!atext(c)) {
            return false;
        }
    }
    const char *d = at + 1;
    int labels = 0;
    size_t start = 0;
    for (size_t i = 0; i <= dom; i++) {
        if (i == dom || d[i] == '.') {
            size_t len = i - start;
            if (len == 0 || len > 63 || d[start] == '-' || d[i - 1] == '-')
                return false;
            labels++;
            start = i + 1;
        } else if (!label_char((unsigned char)d[i])) {
            return false;
        }
    }
    return labels >= 2;
}
