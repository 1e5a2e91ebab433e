/* The one clock every service takes "now" from, and calendar-date helpers.
 * WH_NOW (RFC 3339, read once at start) sets the clock's starting point so
 * that deadlines can be tested without waiting; the clock then runs on from
 * there. Timers and deadlines that only measure durations use the monotonic
 * uv_now()/uv_hrtime() instead, so a fixed WH_NOW never stalls them.
 *
 * Calendar dates are days since 1970-01-01 (int32) in the deployment's time
 * zone (TZ, default Europe/Berlin). */
#ifndef WH_CLOCK_H
#define WH_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define WH_RFC3339_LEN 25 /* "2025-01-01T00:00:00.000Z" + NUL */
#define WH_DATE_LEN    11 /* "2025-01-01" + NUL */

/* Reads WH_NOW and TZ; returns WH_EINVAL if WH_NOW is set but malformed. */
int wh_clock_init(void);
/* Milliseconds since the Unix epoch, UTC. */
int64_t wh_clock_now_ms(void);
/* Today's date in the deployment's time zone. */
int32_t wh_clock_today(void);

void wh_clock_format_rfc3339(int64_t ms, char out[WH_RFC3339_LEN]);
/* Accepts "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)". */
int wh_clock_parse_rfc3339(const char *s, size_t n, int64_t *ms);

/* Strict "YYYY-MM-DD" with a real calendar day. */
int wh_date_parse(const char *s, size_t n, int32_t *days);
void wh_date_format(int32_t days, char out[WH_DATE_LEN]);
/* Days <-> (year, month 1-12, day 1-31) of the proleptic Gregorian
 * calendar, for date arithmetic by months. */
void wh_date_civil(int32_t days, int *y, int *m, int *d);
int32_t wh_date_from_civil(int y, int m, int d);
/* The calendar date (in TZ) of an instant. */
int32_t wh_date_of_ms(int64_t ms);
/* A closed calendar period: "YYYY", "YYYY-MM" or "YYYY-Qn" (year 1970 to
 * 9999), as its first day and the day after its last. 0 or WH_EINVAL. */
int wh_period_parse(const char *s, size_t n, int32_t *first_day, int32_t *end_day);

#endif
