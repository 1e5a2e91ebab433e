/* GET /v1/agreements/calendar.ics: the deadlines of the signed agreements a
 * token sees as an iCalendar feed (RFC 5545) that calendar programs can
 * subscribe to: one all-day event per notice deadline and one per end
 * date. UIDs are the agreement's id with the event's role, so a program
 * updates an event rather than adding another when the feed is read
 * again; DTSTAMP and SEQUENCE follow the agreement's last change. */
#ifndef AGREEMENTS_CALENDAR_H
#define AGREEMENTS_CALENDAR_H

#include "dispatch.h"
#include "msg.h"

/* The most text in one feed: a reply's body is one msgpack bin, which may
 * hold WH_MSG_MAX_STR bytes (about 900 agreements of ordinary titles). The
 * agreements ending last are kept, which are the upcoming deadlines; those
 * that do not fit are left out whole. */
#define CAL_MAX_BYTES  (WH_MSG_MAX_STR - 4096)
#define CAL_UID_DOMAIN "agreements.workhealth"
/* The feed in one reply, at most CAL_MAX_BYTES (a request that reaches the
 * service directly; the gateway serves the route by pages). */
void cal_feed(wh_ctx_t *c);
/* One page: params cursor (from the previous page; none for the first),
 * max_bytes (at most WH_CALENDAR_PAGE_MAX_BYTES of events, proto/ops_agreements.h), employer_id,
 * insurer_id; scoped by the principal like the feed. Replies {head,
 * events, tail: bin, next_cursor: str or nil}; whole agreements only, so a
 * page with no events and a next_cursor means the next agreement does not
 * fit in max_bytes. */
void cal_page(wh_ctx_t *c);

#endif
