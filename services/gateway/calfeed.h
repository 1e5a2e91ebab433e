/* GET /v1/agreements/calendar.ics, assembled by the gateway: one reply from
 * a service is one ZeroMQ message whose body bin holds at most
 * WH_MSG_MAX_STR (1 MiB, about 900 agreements), so the gateway asks the
 * agreements service for the feed page by page (the internal op
 * AGREEMENTS_CALENDAR_PAGE, each page whole agreements, ending last first)
 * and joins the pages into one calendar. Every message stays within the
 * limits every other reply has; only the joined feed is larger, and it is
 * bounded by CALFEED_MAX_BYTES (WH_CALENDAR_MAX_BYTES): when the agreements
 * in scope do not all fit, those ending last are kept, whole, as before. */
#ifndef GATEWAY_CALFEED_H
#define GATEWAY_CALFEED_H

#include <stddef.h>
#include <stdint.h>

#include "broker.h"

/* The most bytes in one feed: 5,000 agreements of ordinary titles take
 * about 6 MiB. */
#define CALFEED_MAX_BYTES (16 * 1024 * 1024)
/* What the calendar's first and last lines may take of it. */
#define CALFEED_FRAME_BYTES  4096
#define CALFEED_CONTENT_TYPE "text/calendar; charset=utf-8"
/* What all the feeds being joined at once may hold together
 * (WH_CALENDAR_MAX_HELD_BYTES): a page that would take them over it ends
 * its feed with 503 and Retry-After. Requests waiting for the service hold
 * nothing, so a burst of small feeds is served in full. */
#define CALFEED_MAX_HELD_BYTES (64 * 1024 * 1024)
/* Statuses given to done besides the broker's: a page the gateway could
 * not read; too many feeds under way. */
#define CALFEED_BAD_REPLY 502
#define CALFEED_BUSY      1503

typedef struct calfeed_req {
    broker_t *broker;
    uint64_t timeout_ms; /* per page */
    size_t max_bytes;    /* of the whole feed; at least 2 * CALFEED_FRAME_BYTES */
    size_t max_held;     /* of all feeds under way together */
    const char *request_id;
    const char *token_id; /* may be NULL */
    unsigned role;
    const char *const *orgs;
    size_t n_orgs;
    const char *employer_id; /* filters; NULL when absent */
    const char *insurer_id;
} calfeed_req_t;

/* Called once: with BROKER_OK and the whole calendar in cal; with
 * BROKER_OK, cal NULL and a service's reply that is not a success (to be
 * rendered as it is); or with a broker status, CALFEED_BAD_REPLY or
 * CALFEED_BUSY. */
typedef void (*calfeed_done_fn)(void *ud, int status, const char *reply, size_t reply_len,
                                const char *cal, size_t cal_len);

/* Starts fetching; everything in r is copied. done may run before this
 * returns. */
void calfeed_fetch(const calfeed_req_t *r, calfeed_done_fn done, void *ud);

#endif
