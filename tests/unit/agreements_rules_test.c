/* The date rules of agreements (services/agreements/rules.c) day by day,
 * with the exact dates docs/DOMAIN.md's "Agreement deadlines" gives. */
#include <string.h>

#include "check.h"
#include "clock.h"
#include "rules.h"

static int32_t D(const char *s)
{
    int32_t d = 0;
    CHECK_INT(wh_date_parse(s, strlen(s), &d), 0);
    return d;
}

static const char *S(int32_t d)
{
    static char buf[8][WH_DATE_LEN];
    static int k;
    k = (k + 1) % 8;
    if (d == AGR_NO_DATE)
        return "none";
    wh_date_format(d, buf[k]);
    return buf[k];
}

/* BGF-Kooperation 2025: 2025-01-01 .. 2025-12-31, notice 90 days. */
static agr_terms_t year_2025(bool auto_renew)
{
    agr_terms_t t = {.ends_on = D("2025-12-31"),
                     .notice_days = 90,
                     .auto_renew = auto_renew,
                     .n_reminder_days = 3,
                     .reminder_days = {90, 30, 7}};
    return t;
}

static void test_deadline_phase_remaining(void)
{
    CHECK_STR(S(agr_notice_deadline(D("2025-12-31"), 90)), "2025-10-02");
    CHECK_STR(S(agr_notice_deadline(D("2025-12-31"), 0)), "2025-12-31");
    int32_t s = D("2025-01-01"), e = D("2025-12-31");
    CHECK_INT(agr_phase_on(s, e, D("2024-12-31")), AGR_PHASE_UPCOMING);
    CHECK_INT(agr_phase_on(s, e, D("2025-01-01")), AGR_PHASE_ACTIVE);
    CHECK_INT(agr_phase_on(s, e, D("2025-12-31")), AGR_PHASE_ACTIVE);
    CHECK_INT(agr_phase_on(s, e, D("2026-01-01")), AGR_PHASE_EXPIRED);
    CHECK_STR(agr_phase_name(AGR_PHASE_UPCOMING), "upcoming");
    CHECK_STR(agr_phase_name(AGR_PHASE_EXPIRED), "expired");
    CHECK_INT(agr_days_remaining(e, D("2025-09-01")), 121);
    CHECK_INT(agr_days_remaining(e, D("2025-12-31")), 0);
    CHECK_INT(agr_days_remaining(e, D("2026-03-01")), 0);
}

static void test_schedule(void)
{
    agr_terms_t t = year_2025(false);
    agr_item_t it[AGR_MAX_SCHEDULE];
    CHECK_INT(agr_schedule(&t, it), 5);
    const char *due[] = {"2025-07-04", "2025-09-02", "2025-09-25", "2025-10-02", "2026-01-01"};
    const int before[] = {90, 30, 7, 0, 0};
    for (int i = 0; i < 5; i++) {
        CHECK_STR(S(it[i].due_on), due[i]);
        CHECK_INT(it[i].days_before, before[i]);
        CHECK_INT(it[i].kind, i < 4 ? AGR_ITEM_NOTICE : AGR_ITEM_EXPIRED);
    }
    /* Any order, repeats counted once; auto_renew ends in a renewal. */
    t = year_2025(true);
    t.n_reminder_days = 4;
    int days[] = {7, 90, 30, 7};
    memcpy(t.reminder_days, days, sizeof days);
    CHECK_INT(agr_schedule(&t, it), 5);
    CHECK_INT(it[0].days_before, 90);
    CHECK_INT(it[1].days_before, 30);
    CHECK_INT(it[2].days_before, 7);
    CHECK_INT(it[4].kind, AGR_ITEM_RENEW);
    CHECK_STR(S(it[4].due_on), "2026-01-01");
    /* No reminder days: the deadline itself and the end. */
    t.n_reminder_days = 0;
    CHECK_INT(agr_schedule(&t, it), 2);
    CHECK_STR(S(it[0].due_on), "2025-10-02");
    /* The most a schedule holds. */
    t.n_reminder_days = AGR_MAX_REMINDER_DAYS;
    for (int i = 0; i < AGR_MAX_REMINDER_DAYS; i++)
        t.reminder_days[i] = i + 1;
    CHECK_INT(agr_schedule(&t, it), AGR_MAX_SCHEDULE);
    CHECK_INT(it[0].days_before, 10);
    CHECK_INT(it[AGR_MAX_SCHEDULE - 2].days_before, 0);
}

/* The day each reminder fires when the service runs every day. */
static void test_every_day(void)
{
    agr_terms_t t = year_2025(false);
    agr_item_t it[AGR_MAX_SCHEDULE];
    int n = agr_schedule(&t, it);
    bool rec[AGR_MAX_SCHEDULE] = {0};
    int32_t handled = AGR_NO_DATE;
    char fired[8][WH_DATE_LEN];
    int nf = 0;
    int32_t next = AGR_NO_DATE;
    for (int32_t day = D("2025-06-01"); day <= D("2026-02-01"); day++) {
        agr_plan_t p;
        agr_plan_day(it, n, rec, handled, t.ends_on, day, &p);
        for (int i = 0; i < n; i++) {
            CHECK(p.action[i] != AGR_ACT_SKIP);
            if (p.action[i] == AGR_ACT_SEND) {
                CHECK_INT(it[i].due_on, day);
                CHECK(nf < 8);
                wh_date_format(day, fired[nf++]);
                rec[i] = true;
                if (it[i].kind == AGR_ITEM_NOTICE)
                    handled = it[i].due_on;
            }
        }
        if (day == D("2025-09-03"))
            next = p.next_due;
    }
    CHECK_INT(nf, 5);
    CHECK_STR(fired[0], "2025-07-04");
    CHECK_STR(fired[1], "2025-09-02");
    CHECK_STR(fired[2], "2025-09-25");
    CHECK_STR(fired[3], "2025-10-02");
    CHECK_STR(fired[4], "2026-01-01");
    CHECK_STR(S(next), "2025-09-25");
}

static void test_catch_up(void)
{
    agr_terms_t t = year_2025(false);
    agr_item_t it[AGR_MAX_SCHEDULE];
    int n = agr_schedule(&t, it);
    bool rec[AGR_MAX_SCHEDULE] = {0};
    agr_plan_t p;
    /* Down from 2025-07-01 to 2025-09-26: 90 and 30 and 7 are due; only 7,
     * the nearest the deadline, is sent. */
    agr_plan_day(it, n, rec, AGR_NO_DATE, t.ends_on, D("2025-09-26"), &p);
    CHECK_INT(p.action[0], AGR_ACT_SKIP);
    CHECK_INT(p.action[1], AGR_ACT_SKIP);
    CHECK_INT(p.action[2], AGR_ACT_SEND);
    CHECK_INT(p.action[3], AGR_ACT_WAIT);
    CHECK_INT(p.action[4], AGR_ACT_WAIT);
    CHECK_STR(S(p.next_due), "2025-10-02");
    /* 90 sent on time, then down until 2025-09-26: 30 skipped, 7 sent. */
    rec[0] = true;
    agr_plan_day(it, n, rec, D("2025-07-04"), t.ends_on, D("2025-09-26"), &p);
    CHECK_INT(p.action[0], AGR_ACT_DONE);
    CHECK_INT(p.action[1], AGR_ACT_SKIP);
    CHECK_INT(p.action[2], AGR_ACT_SEND);
    /* Past the deadline but in force: the deadline's own reminder is the
     * nearest and goes out late. */
    memset(rec, 0, sizeof rec);
    agr_plan_day(it, n, rec, AGR_NO_DATE, t.ends_on, D("2025-10-10"), &p);
    CHECK_INT(p.action[2], AGR_ACT_SKIP);
    CHECK_INT(p.action[3], AGR_ACT_SEND);
    CHECK_STR(S(p.next_due), "2026-01-01");
    /* After the end only the end counts. */
    agr_plan_day(it, n, rec, AGR_NO_DATE, t.ends_on, D("2026-01-05"), &p);
    for (int i = 0; i < 4; i++)
        CHECK_INT(p.action[i], AGR_ACT_SKIP);
    CHECK_INT(p.action[4], AGR_ACT_SEND);
    CHECK_INT(p.next_due, AGR_NO_DATE);
    /* On ends_on itself the end is not due yet. */
    agr_plan_day(it, n, rec, AGR_NO_DATE, t.ends_on, D("2025-12-31"), &p);
    CHECK_INT(p.action[3], AGR_ACT_SEND);
    CHECK_INT(p.action[4], AGR_ACT_WAIT);
    CHECK_STR(S(p.next_due), "2026-01-01");
}

/* A reminder added after a later one was handled never goes out. */
static void test_added_reminder_after_later_one(void)
{
    agr_terms_t t = year_2025(false);
    t.n_reminder_days = 3;
    t.reminder_days[0] = 60; /* due 2025-08-03, added on 2025-09-10 */
    t.reminder_days[1] = 30;
    t.reminder_days[2] = 7;
    agr_item_t it[AGR_MAX_SCHEDULE];
    int n = agr_schedule(&t, it);
    bool rec[AGR_MAX_SCHEDULE] = {false, true, false, false, false};
    agr_plan_t p;
    agr_plan_day(it, n, rec, D("2025-09-02"), t.ends_on, D("2025-09-10"), &p);
    CHECK_STR(S(it[0].due_on), "2025-08-03");
    CHECK_INT(p.action[0], AGR_ACT_SKIP);
    CHECK_INT(p.action[1], AGR_ACT_DONE);
    CHECK_STR(S(p.next_due), "2025-09-25");
    /* A later one that is due is still sent. */
    t.reminder_days[0] = 20; /* due 2025-09-12 */
    n = agr_schedule(&t, it);
    bool rec2[AGR_MAX_SCHEDULE] = {true, false, false, false, false};
    agr_plan_day(it, n, rec2, D("2025-09-02"), t.ends_on, D("2025-09-12"), &p);
    CHECK_INT(it[1].days_before, 20);
    CHECK_INT(p.action[1], AGR_ACT_SEND);
}

static void test_successor_term(void)
{
    CHECK_STR(S(agr_successor_ends_on(D("2025-01-01"), D("2025-12-31"))), "2026-12-31");
    CHECK_STR(S(agr_successor_ends_on(D("2027-01-01"), D("2027-12-31"))), "2028-12-31");
    CHECK_STR(S(agr_successor_ends_on(D("2025-03-15"), D("2025-09-14"))), "2026-03-14");
    CHECK_STR(S(agr_successor_ends_on(D("2025-07-01"), D("2026-06-30"))), "2027-06-30");
    /* Not whole months: the same number of days. */
    CHECK_STR(S(agr_successor_ends_on(D("2025-01-01"), D("2025-01-10"))), "2025-01-20");
    CHECK_STR(S(agr_successor_ends_on(D("2024-01-31"), D("2024-02-29"))), "2024-03-30");
    /* A month-end start clamps: 2025-01-31 + 1 month is 2025-02-28, so the
     * term 01-31..02-27 is whole months and its successor 02-28..03-27. */
    CHECK_STR(S(agr_successor_ends_on(D("2025-01-31"), D("2025-02-27"))), "2025-03-27");
}

/* "a@" and labels of at most 63 "x" ending in ".de", len octets in all. */
static void make_address(char *s, size_t len)
{
    strcpy(s, "a@");
    size_t n = 2;
    while (len - n > 63 + 1 + 3) {
        memset(s + n, 'x', 63);
        n += 63;
        s[n++] = '.';
    }
    size_t last = len - n - 3;
    memset(s + n, 'x', last);
    n += last;
    strcpy(s + n, ".de");
}

static void test_email(void)
{
    const char *good[] = {"anna@example.org", "a.b-c+tag@sub.example.de", "x@y.co",
                          "o'neil@example.org"};
    const char *bad[] = {"",
                         "anna",
                         "anna@",
                         "@example.org",
                         "anna@org",
                         "a..b@example.org",
                         ".a@example.org",
                         "a.@example.org",
                         "a b@example.org",
                         "anna@-x.org",
                         "anna@x-.org",
                         "anna@ex..org",
                         "anna@ex_ample.org",
                         "\"q\"@example.org",
                         "anna@[127.0.0.1]",
                         "a@b@example.org"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(agr_email_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (agr_email_valid(bad[i], strlen(bad[i])))
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(!agr_email_valid(bad[i], strlen(bad[i])));
    }
    /* The bounds: local part of 64 octets, whole address of 254. */
    char s[400];
    memset(s, 'a', 64);
    strcpy(s + 64, "@example.org");
    CHECK(agr_email_valid(s, strlen(s)));
    memset(s, 'a', 65);
    strcpy(s + 65, "@example.org");
    CHECK(!agr_email_valid(s, strlen(s)));
    /* Whole addresses of exactly AGR_MAX_EMAIL octets and one more. */
    make_address(s, AGR_MAX_EMAIL);
    CHECK_INT(strlen(s), AGR_MAX_EMAIL);
    CHECK(agr_email_valid(s, strlen(s)));
    make_address(s, AGR_MAX_EMAIL + 1);
    CHECK_INT(strlen(s), AGR_MAX_EMAIL + 1);
    CHECK(!agr_email_valid(s, strlen(s)));
}

/* The lifecycle table: the one way into each state, and a reason for
 * every refusal. */
static void test_transitions(void)
{
    static const struct {
        enum agr_change change;
        enum agr_state from, to;
    } allowed[] = {
        {AGR_SIGN, AGR_DRAFT, AGR_SIGNED},       {AGR_TERMINATE, AGR_SIGNED, AGR_TERMINATED},
        {AGR_RENEW, AGR_SIGNED, AGR_RENEWED},    {AGR_DELETE, AGR_DRAFT, AGR_DRAFT},
        {AGR_CHANGE_TERM, AGR_DRAFT, AGR_DRAFT},
    };
    int n_allowed = 0;
    for (int ch = 0; ch < AGR_N_CHANGES; ch++)
        for (int st = 0; st < AGR_N_STATES; st++) {
            const agr_transition_t *t = agr_transition((enum agr_state)st, (enum agr_change)ch);
            bool expected = false;
            for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
                if ((int)allowed[i].change == ch && (int)allowed[i].from == st) {
                    expected = true;
                    CHECK_INT(t->to, allowed[i].to);
                }
            CHECK_INT(t->refused == NULL, expected);
            CHECK(expected || strlen(t->refused) > 0);
            /* Only a renewed agreement points to its successor. */
            CHECK_INT(t->successor,
                      !expected && st == AGR_RENEWED && (ch == AGR_TERMINATE || ch == AGR_RENEW));
            n_allowed += expected;
        }
    CHECK_INT(n_allowed, 5);
    CHECK_STR(agr_transition(AGR_SIGNED, AGR_SIGN)->refused,
              "the agreement is signed already; only a draft can be signed");
    CHECK_STR(agr_transition(AGR_RENEWED, AGR_RENEW)->refused,
              "the agreement was renewed already by");
    CHECK_STR(agr_state_names[AGR_RENEWED], "renewed");
    CHECK(agr_state_names[AGR_N_STATES] == NULL);
    CHECK_INT(agr_name_index(agr_state_names, "signed", 6), AGR_SIGNED);
    CHECK_INT(agr_name_index(agr_state_names, "signedx", 6), AGR_SIGNED);
    CHECK_INT(agr_name_index(agr_state_names, "sign", 4), -1);
    CHECK_INT(agr_name_index_str(agr_state_names, "terminated"), AGR_TERMINATED);
    CHECK_INT(agr_name_index_str(agr_state_names, NULL), -1);
}

int main(void)
{
    CHECK_INT(wh_clock_init(), 0);
    TEST(test_deadline_phase_remaining);
    TEST(test_schedule);
    TEST(test_every_day);
    TEST(test_catch_up);
    TEST(test_added_reminder_after_later_one);
    TEST(test_successor_term);
    TEST(test_email);
    TEST(test_transitions);
    return 0;
}
