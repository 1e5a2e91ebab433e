/* Receiving events from the producers' outboxes (internal operation
 * EVENTS_INGEST). Each event is checked against proto/events.h, its id
 * recorded in the inbox, and the event and its deliveries (deliveries.h)
 * stored in the same transaction; only then is it acknowledged (by the
 * reply, which the service loop sends after the commit). A repeat is
 * acknowledged without acting again; an unknown type or a malformed event
 * is refused with 422, which the producer keeps as rejected. A batch
 * {events: [...]} (proto/events.h) is answered with each event's status and
 * the producers' credit. */
#ifndef NOTIFICATIONS_INGEST_H
#define NOTIFICATIONS_INGEST_H

#include "dispatch.h"

/* Webhook deliveries due and not yet sent beyond which the service grants
 * producers no further events (credit 0): the excess waits in their
 * outboxes, durably, and what is sent is delivered within about this many
 * deliveries' time (proto/events.h, batches and credits). */
#define EVENTS_BACKLOG_MAX 2048
#define EVENT_MAX_CONTACTS 20
#define EVENT_MAX_FIELD    1000 /* characters in one string field */

void events_ingest(wh_ctx_t *c);
/* Events the service takes now: EVENTS_BACKLOG_MAX less the backlog, >= 0. */
int events_credit(wh_store_t *store);

#endif
