/* When a delivery is tried again, and what one attempt's result means.
 * Pure functions, so that the schedule and the classification can be tested
 * without a network.
 *
 * A delivery is tried at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
 * and 10 h (about 28 hours in all), each delay stretched or shrunk by up to
 * a fifth at random so that many deliveries that failed together do not
 * come back together; after the eighth failed attempt it is `failed`.
 * WH_RETRY_SCALE multiplies every delay (tests use 0.0001 to run the whole
 * schedule in seconds). */
#ifndef NOTIFICATIONS_SCHEDULE_H
#define NOTIFICATIONS_SCHEDULE_H

#include <curl/curl.h>
#include <stdint.h>

#define SCHEDULE_RETRIES           7
#define SCHEDULE_MAX_ATTEMPTS      (SCHEDULE_RETRIES + 1)
#define SCHEDULE_JITTER            0.2         /* +-20 % */
#define SCHEDULE_MAX_RETRY_AFTER_S (24 * 3600) /* a longer Retry-After is cut to this */

extern const int64_t schedule_delays_ms[SCHEDULE_RETRIES];

/* The delay after the failed attempt number `failed` (1-based) of a round,
 * scaled; r in [0, 1) picks the jitter (0.5: none). -1 when the schedule is
 * over. */
int64_t schedule_delay_ms(int failed, double scale, double r);

typedef enum { VERDICT_DELIVERED, VERDICT_RETRY, VERDICT_FAIL } verdict_kind_t;
typedef struct verdict {
    verdict_kind_t kind;
    const char *outcome;   /* "delivered", "http_error", "timeout", ... */
    int64_t retry_after_s; /* > 0: the receiver asked for this delay (429) */
} verdict_t;

/* A webhook attempt: the transfer's result and the HTTP status (0 when no
 * response came) and Retry-After in seconds (-1 when absent). 2xx is
 * delivered; a 4xx other than 408 and 429 fails at once, because the
 * receiver says the request itself is wrong and repeating it cannot help;
 * everything else is tried again. */
verdict_t schedule_judge_http(CURLcode rc, long status, int64_t retry_after_s);
/* An e-mail attempt: the transfer's result and the last SMTP reply code.
 * A permanent SMTP rejection (5xx) fails at once; a transient one (4xx) and
 * a failed connection are tried again. */
verdict_t schedule_judge_smtp(CURLcode rc, long smtp_code);

#endif
