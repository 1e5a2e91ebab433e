/* common/clock.c: calendar dates (strict parsing, leap days, round trips),
 * RFC 3339 instants with Z, offsets and fractions, formatting of known
 * instants including negative ones, WH_NOW, and dates in the deployment's
 * time zone around midnight UTC. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "clock.h"
#include "err.h"

static int32_t date(const char *s)
{
    int32_t d = INT32_MIN;
    CHECK_INT(wh_date_parse(s, strlen(s), &d), 0);
    return d;
}

static int date_rc(const char *s)
{
    int32_t d = 12345;
    int rc = wh_date_parse(s, strlen(s), &d);
    if (rc != 0)
        CHECK_INT(d, 12345); /* untouched on failure */
    return rc;
}

static const char *fmt_date(int32_t days)
{
    static char out[WH_DATE_LEN];
    memset(out, '#', sizeof out);
    wh_date_format(days, out);
    return out;
}

static int64_t instant(const char *s)
{
    int64_t ms = INT64_MIN;
    CHECK_INT(wh_clock_parse_rfc3339(s, strlen(s), &ms), 0);
    return ms;
}

static int instant_rc(const char *s)
{
    int64_t ms = 0;
    return wh_clock_parse_rfc3339(s, strlen(s), &ms);
}

static const char *fmt_instant(int64_t ms)
{
    static char out[WH_RFC3339_LEN];
    memset(out, '#', sizeof out);
    wh_clock_format_rfc3339(ms, out);
    return out;
}

static void test_date_parse_known(void)
{
    CHECK_INT(date("1970-01-01"), 0);
    CHECK_INT(date("1970-01-02"), 1);
    CHECK_INT(date("1969-12-31"), -1);
    CHECK_INT(date("2000-01-01"), 10957);
    CHECK_INT(date("2000-03-01"), 11017);
    CHECK_INT(date("2025-01-01"), 20089);
    CHECK_INT(date("1900-01-01"), -25567);
    CHECK_INT(date("9999-12-31"), 2932896);
}

static void test_date_leap_days(void)
{
    CHECK_INT(date("2024-02-29"), date("2024-02-28") + 1);
    CHECK_INT(date("2024-03-01"), date("2024-02-29") + 1);
    CHECK_INT(date("2000-02-29"), 11016); /* divisible by 400: leap */
    CHECK_INT(date_rc("2023-02-29"), WH_EINVAL);
    CHECK_INT(date_rc("1900-02-29"), WH_EINVAL); /* divisible by 100: not leap */
    CHECK_INT(date_rc("2100-02-29"), WH_EINVAL);
    CHECK_INT(date_rc("2024-02-30"), WH_EINVAL);
    CHECK_INT(date("2023-02-28") + 1, date("2023-03-01"));
}

static void test_date_parse_rejects(void)
{
    CHECK_INT(date_rc("2025-13-01"), WH_EINVAL);
    CHECK_INT(date_rc("2025-00-10"), WH_EINVAL);
    CHECK_INT(date_rc("2025-01-00"), WH_EINVAL);
    CHECK_INT(date_rc("2025-01-32"), WH_EINVAL);
    CHECK_INT(date_rc("2025-04-31"), WH_EINVAL);
    CHECK_INT(date_rc("2025-06-31"), WH_EINVAL);
    CHECK_INT(date_rc("2025-1-01"), WH_EINVAL);
    CHECK_INT(date_rc("2025-01-1"), WH_EINVAL);
    CHECK_INT(date_rc("2025/01/01"), WH_EINVAL);
    CHECK_INT(date_rc("2025-01-01T"), WH_EINVAL);
    CHECK_INT(date_rc(" 2025-01-01"), WH_EINVAL);
    CHECK_INT(date_rc("2025-0a-01"), WH_EINVAL);
    CHECK_INT(date_rc("+025-01-01"), WH_EINVAL);
    CHECK_INT(date_rc("2025-01-+1"), WH_EINVAL);
    CHECK_INT(date_rc("1899-12-31"), WH_EINVAL);
    CHECK_INT(date_rc(""), WH_EINVAL);
    /* The length is the slice's, not the C string's. */
    int32_t d;
    CHECK_INT(wh_date_parse("2025-01-015", 10, &d), 0);
    CHECK_INT(d, 20089);
    CHECK_INT(wh_date_parse("2025-01-01", 9, &d), WH_EINVAL);
}

/* Calendar periods: first day and the day after the last. */
static void test_period_parse(void)
{
    static const struct {
        const char *s, *first, *end;
    } ok[] = {
        {"2025", "2025-01-01", "2026-01-01"},    {"2024-02", "2024-02-01", "2024-03-01"},
        {"2025-12", "2025-12-01", "2026-01-01"}, {"2025-Q1", "2025-01-01", "2025-04-01"},
        {"2025-Q4", "2025-10-01", "2026-01-01"}, {"1970", "1970-01-01", "1971-01-01"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int32_t first, end;
        CHECK_INT(wh_period_parse(ok[i].s, strlen(ok[i].s), &first, &end), 0);
        char a[WH_DATE_LEN], b[WH_DATE_LEN];
        wh_date_format(first, a);
        wh_date_format(end, b);
        CHECK_STR(a, ok[i].first);
        CHECK_STR(b, ok[i].end);
    }
    static const char *const bad[] = {"1969",    "2025-13",    "2025-00", "2025-Q0",
                                      "2025-Q5", "2025-1",     "25",      "2025-Qx",
                                      "2025/01", "2025-01-01", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t first, end;
        if (wh_period_parse(bad[i], strlen(bad[i]), &first, &end) != WH_EINVAL) {
            fprintf(stderr, "accepted %s\n", bad[i]);
            exit(1);
        }
    }
}

static void test_date_format(void)
{
    CHECK_STR(fmt_date(0), "1970-01-01");
    CHECK_STR(fmt_date(-1), "1969-12-31");
    CHECK_STR(fmt_date(19782), "2024-02-29");
    CHECK_STR(fmt_date(20089), "2025-01-01");
    CHECK_STR(fmt_date(2932896), "9999-12-31");
}

static void test_date_round_trip(void)
{
    /* Every day from 1900 to 2200 formats and parses back to itself, and
     * the formatted dates are strictly increasing. */
    char prev[WH_DATE_LEN] = "";
    for (int32_t d = date("1900-01-01"); d <= date("2200-12-31"); d++) {
        char out[WH_DATE_LEN];
        wh_date_format(d, out);
        int32_t back;
        CHECK_INT(wh_date_parse(out, 10, &back), 0);
        CHECK_INT(back, d);
        CHECK(strcmp(prev, out) < 0);
        memcpy(prev, out, sizeof out);
    }
}

static void test_rfc3339_parse(void)
{
    CHECK_INT(instant("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(instant("1970-01-01T00:00:00.000Z"), 0);
    CHECK_INT(instant("2025-01-01T00:00:00Z"), 1735689600000LL);
    CHECK_INT(instant("2025-01-01t00:00:00z"), 1735689600000LL);
    CHECK_INT(instant("2025-01-01 00:00:00Z"), 1735689600000LL);
    CHECK_INT(instant("2025-06-30T23:30:00Z"), 1751326200000LL);
    /* Fractions: one to nine digits, milliseconds kept, the rest dropped. */
    CHECK_INT(instant("1970-01-01T00:00:00.5Z"), 500);
    CHECK_INT(instant("1970-01-01T00:00:00.05Z"), 50);
    CHECK_INT(instant("1970-01-01T00:00:00.123Z"), 123);
    CHECK_INT(instant("1970-01-01T00:00:00.1239Z"), 123);
    CHECK_INT(instant("1970-01-01T00:00:00.123456789Z"), 123);
    CHECK_INT(instant_rc("1970-01-01T00:00:00.1234567890Z"), WH_EINVAL);
    CHECK_INT(instant_rc("1970-01-01T00:00:00.Z"), WH_EINVAL);
    /* Offsets are subtracted to reach UTC. */
    CHECK_INT(instant("2025-01-01T01:00:00+01:00"), 1735689600000LL);
    CHECK_INT(instant("2024-12-31T19:00:00-05:00"), 1735689600000LL);
    CHECK_INT(instant("2025-01-01T05:45:00.250+05:45"), 1735689600250LL);
    CHECK_INT(instant("2025-01-01T00:00:00+00:00"), 1735689600000LL);
    CHECK_INT(instant("2025-01-01T00:00:00-00:00"), 1735689600000LL);
    /* Before the epoch. */
    CHECK_INT(instant("1969-12-31T23:59:59.999Z"), -1);
    CHECK_INT(instant("1969-12-31T23:59:59Z"), -1000);
    CHECK_INT(instant("1970-01-01T00:30:00+01:00"), -30 * 60 * 1000);
    /* A leap day and a leap second (which lands on the next minute). */
    CHECK_INT(instant("2024-02-29T12:00:00Z"), 1709208000000LL);
    CHECK_INT(instant("2016-12-31T23:59:60Z"), instant("2017-01-01T00:00:00Z"));
}

static void test_rfc3339_rejects(void)
{
    CHECK_INT(instant_rc(""), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00"), WH_EINVAL); /* no zone */
    CHECK_INT(instant_rc("2025-01-01T00:00Z"), WH_EINVAL);   /* no seconds */
    CHECK_INT(instant_rc("2025-01-01X00:00:00Z"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-02-29T00:00:00Z"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-13-01T00:00:00Z"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T24:00:00Z"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:60:00Z"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:61Z"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T0a:00:00Z"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00-00-00Z"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00ZZ"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00Z "), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00+01"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00+0100"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00+01:00Z"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00+24:00"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00+01:60"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00*01:00"), WH_EINVAL);
    CHECK_INT(instant_rc("2025-01-01T00:00:00.12a+01:00"), WH_EINVAL);
    /* The slice length is honoured: a valid prefix of a longer string. */
    int64_t ms;
    CHECK_INT(wh_clock_parse_rfc3339("1970-01-01T00:00:01Zjunk", 20, &ms), 0);
    CHECK_INT(ms, 1000);
    CHECK_INT(wh_clock_parse_rfc3339("1970-01-01T00:00:01Z", 19, &ms), WH_EINVAL);
}

static void test_rfc3339_format(void)
{
    CHECK_STR(fmt_instant(0), "1970-01-01T00:00:00.000Z");
    CHECK_STR(fmt_instant(1), "1970-01-01T00:00:00.001Z");
    CHECK_STR(fmt_instant(999), "1970-01-01T00:00:00.999Z");
    CHECK_STR(fmt_instant(86399999), "1970-01-01T23:59:59.999Z");
    CHECK_STR(fmt_instant(86400000), "1970-01-02T00:00:00.000Z");
    CHECK_STR(fmt_instant(-1), "1969-12-31T23:59:59.999Z");
    CHECK_STR(fmt_instant(-1000), "1969-12-31T23:59:59.000Z");
    CHECK_STR(fmt_instant(-1001), "1969-12-31T23:59:58.999Z");
    CHECK_STR(fmt_instant(-86400000), "1969-12-31T00:00:00.000Z");
    CHECK_STR(fmt_instant(-86400001), "1969-12-30T23:59:59.999Z");
    CHECK_STR(fmt_instant(1735689600000LL), "2025-01-01T00:00:00.000Z");
    CHECK_STR(fmt_instant(1709208000123LL), "2024-02-29T12:00:00.123Z");
    CHECK_STR(fmt_instant(253402300799999LL), "9999-12-31T23:59:59.999Z");
    CHECK_INT(strlen(fmt_instant(0)), WH_RFC3339_LEN - 1);
}

static void test_rfc3339_round_trip(void)
{
    /* Instants spread over 1900..2200, on and off second boundaries. */
    int64_t lo = instant("1900-01-01T00:00:00Z"), hi = instant("2200-01-01T00:00:00Z");
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift */
        int64_t ms = lo + (int64_t)(x % (uint64_t)(hi - lo));
        char out[WH_RFC3339_LEN];
        wh_clock_format_rfc3339(ms, out);
        int64_t back;
        CHECK_INT(wh_clock_parse_rfc3339(out, strlen(out), &back), 0);
        CHECK_INT(back, ms);
    }
}

static void test_wh_now(void)
{
    CHECK_INT(setenv("WH_NOW", "2030-05-17T08:15:30.250Z", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    int64_t want = instant("2030-05-17T08:15:30.250Z");
    int64_t now = wh_clock_now_ms();
    CHECK(now >= want && now - want < 50);
    /* The clock runs on from there. */
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int64_t later = wh_clock_now_ms();
    CHECK(later - now >= 20 && later - now < 200);
    CHECK_INT(wh_clock_today(), date("2030-05-17"));

    /* With an offset. */
    CHECK_INT(setenv("WH_NOW", "2030-05-17T23:30:00-02:00", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    now = wh_clock_now_ms();
    want = instant("2030-05-18T01:30:00Z");
    CHECK(now >= want && now - want < 50);

    /* Malformed: an error, and the clock falls back to real time. */
    const char *bad[] = {"tomorrow",
                         "2030-05-17",
                         "2030-02-30T00:00:00Z",
                         "2030-05-17T08:15:30.250",
                         "2030-05-17T08:15:30Z ",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        CHECK_INT(setenv("WH_NOW", bad[i], 1), 0);
        CHECK_INT(wh_clock_init(), WH_EINVAL);
    }
    /* Unset or empty: the real clock. */
    CHECK_INT(setenv("WH_NOW", "", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    int64_t real_ms = (int64_t)real.tv_sec * 1000 + real.tv_nsec / 1000000;
    CHECK(llabs(wh_clock_now_ms() - real_ms) < 50);
    CHECK_INT(unsetenv("WH_NOW"), 0);
    CHECK_INT(wh_clock_init(), 0);
    clock_gettime(CLOCK_REALTIME, &real);
    real_ms = (int64_t)real.tv_sec * 1000 + real.tv_nsec / 1000000;
    CHECK(llabs(wh_clock_now_ms() - real_ms) < 50);
}

static void test_default_tz(void)
{
    /* Without TZ the deployment's zone is Berlin. */
    CHECK_INT(unsetenv("TZ"), 0);
    CHECK_INT(wh_clock_init(), 0);
    CHECK_STR(getenv("TZ"), "Europe/Berlin");
    CHECK_INT(wh_date_of_ms(instant("2025-06-30T23:30:00Z")), date("2025-07-01"));
}

static void test_date_of_ms_berlin(void)
{
    CHECK_INT(setenv("TZ", "Europe/Berlin", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    /* Summer (UTC+2): 22:00Z is already the next day in Berlin. */
    CHECK_INT(wh_date_of_ms(instant("2025-06-30T21:59:59Z")), date("2025-06-30"));
    CHECK_INT(wh_date_of_ms(instant("2025-06-30T22:00:00Z")), date("2025-07-01"));
    CHECK_INT(wh_date_of_ms(instant("2025-06-30T23:30:00Z")), date("2025-07-01"));
    /* Winter (UTC+1). */
    CHECK_INT(wh_date_of_ms(instant("2024-12-31T22:59:59Z")), date("2024-12-31"));
    CHECK_INT(wh_date_of_ms(instant("2024-12-31T23:00:00Z")), date("2025-01-01"));
    /* A leap day starts at 23:00Z the evening before. */
    CHECK_INT(wh_date_of_ms(instant("2024-02-28T23:00:00Z")), date("2024-02-29"));
    /* Around the switch to summer time (2025-03-30 01:00Z). */
    CHECK_INT(wh_date_of_ms(instant("2025-03-29T22:59:59Z")), date("2025-03-29"));
    CHECK_INT(wh_date_of_ms(instant("2025-03-29T23:00:00Z")), date("2025-03-30"));
    CHECK_INT(wh_date_of_ms(instant("2025-03-30T21:59:59Z")), date("2025-03-30"));
    CHECK_INT(wh_date_of_ms(instant("2025-03-30T22:00:00Z")), date("2025-03-31"));

    /* In UTC the same instants stay on the UTC date. */
    CHECK_INT(setenv("TZ", "UTC", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    CHECK_INT(wh_date_of_ms(instant("2025-06-30T23:30:00Z")), date("2025-06-30"));
    CHECK_INT(wh_date_of_ms(instant("2025-07-01T00:00:00Z")), date("2025-07-01"));

    /* West of Greenwich the date lags. */
    CHECK_INT(setenv("TZ", "America/New_York", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    CHECK_INT(wh_date_of_ms(instant("2025-07-01T03:59:59Z")), date("2025-06-30"));
    CHECK_INT(wh_date_of_ms(instant("2025-07-01T04:00:00Z")), date("2025-07-01"));
}

static void test_today_with_wh_now(void)
{
    CHECK_INT(setenv("TZ", "Europe/Berlin", 1), 0);
    CHECK_INT(setenv("WH_NOW", "2025-06-30T23:30:00Z", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    CHECK_INT(wh_clock_today(), date("2025-07-01"));
    CHECK_INT(unsetenv("WH_NOW"), 0);
}

int main(void)
{
    TEST(test_date_parse_known);
    TEST(test_date_leap_days);
    TEST(test_date_parse_rejects);
    TEST(test_period_parse);
    TEST(test_date_format);
    TEST(test_date_round_trip);
    TEST(test_rfc3339_parse);
    TEST(test_rfc3339_rejects);
    TEST(test_rfc3339_format);
    TEST(test_rfc3339_round_trip);
    TEST(test_wh_now);
    TEST(test_default_tz);
    TEST(test_date_of_ms_berlin);
    TEST(test_today_with_wh_now);
    return 0;
}
