/* Deliveries: one per event and receiver, made in the transaction that
 * records the event in the inbox (so an event is never half fanned out, and
 * a repeat of it makes none), then sent by the engine (engine.h).
 *
 * An event goes to every subscription of its organisation that lists its
 * type, and, for the types proto/events.h marks to_contacts (agreement
 * reminders), by e-mail to each contact in data.contacts in the contact's
 * language, without a subscription. An address gets one e-mail per event.
 *
 * GET /v1/deliveries lists them with every attempt; POST
 * /v1/deliveries/{id}/retry puts a failed one back to pending, due at once
 * with a fresh retry schedule. Deliveries of alert events are visible only
 * to admin and occupational health (see subscriptions.h). */
#ifndef NOTIFICATIONS_DELIVERIES_H
#define NOTIFICATIONS_DELIVERIES_H

#include "dispatch.h"
#include "events.h"

#define DELIVERY_MAX_LISTED_ATTEMPTS 50 /* the most recent ones are listed */

/* Creates the deliveries of one event (in the caller's transaction). */
int deliveries_create(wh_store_t *store, wh_str_t event_id, wh_str_t type, wh_str_t org,
                      const wh_event_type_t *et, const msgpack_object *data);

void delivery_list(wh_ctx_t *c);
void delivery_retry(wh_ctx_t *c);

#endif
