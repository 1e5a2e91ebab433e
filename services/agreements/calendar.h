/* GET /v1/agreements/calendar.ics: the deadlines of the signed agreements a
 * token sees as an iCalendar feed (RFC 5545) that calendar programs can
 * subscribe to: one all-day event per notice deadline and one per end
 * date. UIDs are the agreement's id with the event's role, so a program
 * updates an event rather than adding another when the feed is read
 * again; DTSTAMP and SEQUENCE follow the agreement's last change. */
#ifndef AGREEMENTS_CALENDAR_H
#define AGREEMENTS_CALENDAR_H

#include "dispatch.h"

/* Agreements in one feed: the ones ending last are kept (the upcoming
 * deadlines), so the feed stays within a message (about 1.5 KiB each). */
#define CAL_MAX_AGREEMENTS 2000
#define CAL_UID_DOMAIN     "agreements.workhealth"

void cal_feed(wh_ctx_t *c);

#endif
