/* Receiving events from the producers' outboxes (internal operation
 * EVENTS_INGEST). Each event is checked against proto/events.h, its id
 * recorded in the inbox, and the event and its deliveries (deliveries.h)
 * stored in the same transaction; only then is it acknowledged (by the
 * reply, which the service loop sends after the commit). A repeat is
 * acknowledged without acting again; an unknown type or a malformed event
 * is refused with 422, which the producer keeps as rejected. */
#ifndef NOTIFICATIONS_INGEST_H
#define NOTIFICATIONS_INGEST_H

#include "dispatch.h"

#define EVENT_MAX_CONTACTS 20
#define EVENT_MAX_FIELD    1000 /* characters in one string field */

void events_ingest(wh_ctx_t *c);

#endif
