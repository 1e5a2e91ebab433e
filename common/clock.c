#include "clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

/* Offset added to the real clock: WH_NOW minus the real time at start. */
static int64_t offset_ms;

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wh_clock_init(void)
{
    /* Dates are the deployment's calendar dates; Berlin unless told. */
    const char *tz = getenv("TZ");
    if (!tz || !*tz)
        setenv("TZ", "Europe/Berlin", 1);
    tzset();
    offset_ms = 0;
    const char *now = getenv("WH_NOW");
    if (now && *now) {
        int64_t ms;
        if (wh_clock_parse_rfc3339(now, strlen(now), &ms) != 0)
            return WH_EINVAL;
        offset_ms = ms - real_now_ms();
    }
    return 0;
}

int64_t wh_clock_now_ms(void)
{
    return real_now_ms() + offset_ms;
}

/* Days from civil date, after Howard Hinnant's algorithm: exact for the
 * proleptic Gregorian calendar without going through time_t. */
static int32_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

static void civil_from_days(int32_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int y, unsigned m)
{
    static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Fixed-width decimal, zero-padded; formats dates without snprintf so the
 * widths are exact by construction. */
static void put_digits(char *out, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int wh_date_parse(const char *s, size_t n, int32_t *days)
{
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return WH_EINVAL;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 1900 || m < 1 || m > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
        return WH_EINVAL;
    *days = days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

void wh_date_format(int32_t days, char out[WH_DATE_LEN])
{
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    put_digits(out, (unsigned)(y < 0 ? 0 : y % 10000), 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = '\0';
}

void wh_clock_format_rfc3339(int64_t ms, char out[WH_RFC3339_LEN])
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int msec = (int)(ms - secs * 1000);
    int32_t days = (int32_t)(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400);
    int sod = (int)(secs - (int64_t)days * 86400);
    wh_date_format(days, out);
    out[10] = 'T';
    put_digits(out + 11, (unsigned)(sod / 3600), 2);
    out[13] = ':';
    put_digits(out + 14, (unsigned)(sod / 60 % 60), 2);
    out[16] = ':';
    put_digits(out + 17, (unsigned)(sod % 60), 2);
    out[19] = '.';
    put_digits(out + 20, (unsigned)msec, 3);
    out[23] = 'Z';
    out[24] = '\0';
}

int wh_clock_parse_rfc3339(const char *s, size_t n, int64_t *ms)
{
    if (n < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return WH_EINVAL;
    int32_t days;
    if (wh_date_parse(s, 10, &days) != 0)
        return WH_EINVAL;
    int hh = digits(s + 11, 2), mi = digits(s + 14, 2), ss = digits(s + 17, 2);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 60)
        return WH_EINVAL;
    size_t i = 19;
    int frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t start = i;
        int scale = 100;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start || i - start > 9)
            return WH_EINVAL;
    }
    int off_min = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return WH_EINVAL;
        off_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return WH_EINVAL;
    }
    if (i != n)
        return WH_EINVAL;
    *ms = ((int64_t)days * 86400 + hh * 3600 + mi * 60 + ss - off_min * 60) * 1000 + frac;
    return 0;
}

void wh_date_civil(int32_t days, int *y, int *m, int *d)
{
    unsigned mm, dd;
    civil_from_days(days, y, &mm, &dd);
    *m = (int)mm;
    *d = (int)dd;
}

int32_t wh_date_from_civil(int y, int m, int d)
{
    return days_from_civil(y, (unsigned)m, (unsigned)d);
}

int wh_period_parse(const char *s, size_t n, int32_t *first_day, int32_t *end_day)
{
    int year = s && n >= 4 ? digits(s, 4) : -1, part = 0;
    if (year < 1970)
        return WH_EINVAL;
    int m0, m1; /* months [m0, m1) */
    if (n == 4) {
        m0 = 1;
        m1 = 13;
    } else if (n == 7 && s[4] == '-' && s[5] == 'Q' && (part = digits(s + 6, 1)) >= 1 &&
               part <= 4) {
        m0 = 3 * part - 2;
        m1 = m0 + 3;
    } else if (n == 7 && s[4] == '-' && s[5] != 'Q' && (part = digits(s + 5, 2)) >= 1 &&
               part <= 12) {
        m0 = part;
        m1 = part + 1;
    } else {
        return WH_EINVAL;
    }
    *first_day = wh_date_from_civil(year, m0, 1);
    *end_day = m1 == 13 ? wh_date_from_civil(year + 1, 1, 1) : wh_date_from_civil(year, m1, 1);
    return 0;
}

int32_t wh_date_of_ms(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    return days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

int32_t wh_clock_today(void)
{
    return wh_date_of_ms(wh_clock_now_ms());
}
