/* Events that are never lost: the transactional outbox and its relay.
 *
 * wh_outbox_emit() writes an event into the producing service's store in the
 * caller's transaction, so the event exists exactly when the state change
 * that causes it was committed. The relay sends unacknowledged events to the
 * consumer (an internal operation of another service, through the broker)
 * right after each commit and on a timer; the consumer records the event id
 * in its inbox in the same transaction as its effect and replies only after
 * committing, so a 2xx reply is the acknowledgement and the row is deleted.
 * Anything not acknowledged is sent again with exponential backoff (and
 * after a restart), so delivery is at least once and the consumer's inbox
 * makes the effect happen once.
 *
 * Events go in batches, one batch in flight at a time, and no more than the
 * consumer's last reply granted (its credit, which falls as its own backlog
 * grows; proto/events.h): what the consumer cannot take now waits here, in
 * the store, not in memory or in ZeroMQ's queues. Each event of a batch
 * has its own outcome. A 4xx reply means the consumer will never
 * accept the event (unknown type, malformed): it is kept as rejected, logged,
 * and the stream goes on.
 *
 * Event: {id, type, org_id, occurred_at, data}. Types and their fields are
 * listed in proto/events.h. */
#ifndef WH_OUTBOX_H
#define WH_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "service.h"
#include "store.h"

#define WH_OUTBOX_RETRY_MIN_MS 500   /* first retry after a failure */
#define WH_OUTBOX_RETRY_MAX_MS 60000 /* backoff ceiling */
#define WH_OUTBOX_TICK_MS      1000  /* relay timer */

typedef struct wh_outbox wh_outbox_t;

/* Creates the outbox table in store if needed (it belongs to this module). */
int wh_outbox_init_store(wh_store_t *store);
/* Writes an event in the current transaction; data is one msgpack value
 * (a map) or NULL for {}. Writes the event id into id_out when given. */
int wh_outbox_emit(wh_store_t *store, const char *type, const char *org_id, const char *data,
                   size_t data_len, char id_out[27]);

/* Building an event's data and emitting it in one place:
 *     wh_event_t ev;
 *     msgpack_packer *pk = wh_event_start(&ev, 2);
 *     wh_msg_kv_str(pk, "survey_id", id);  ... exactly 2 fields ...
 *     rc = wh_event_emit(&ev, store, "survey.opened", org_id);
 * The fields of each type are listed in proto/events.h. */
typedef struct wh_event {
    wh_buf_t data;
    msgpack_packer pk;
} wh_event_t;
/* Starts the data, a map of n_fields entries, to be packed on the packer. */
msgpack_packer *wh_event_start(wh_event_t *ev, uint32_t n_fields);
/* Emits the event (wh_outbox_emit) and frees its data: 0, WH_ENOMEM when
 * packing ran out of memory, or the outbox's error. */
int wh_event_emit(wh_event_t *ev, wh_store_t *store, const char *type, const char *org_id);
/* The same, writing the event's id into id_out (for a record that names it). */
int wh_event_emit_id(wh_event_t *ev, wh_store_t *store, const char *type, const char *org_id,
                     char id_out[27]);

/* Starts the relay for service s, sending events with internal operation op.
 * Call from the service's start hook. */
int wh_outbox_start(wh_service_t *s, int op, wh_outbox_t **out);
void wh_outbox_stop(wh_outbox_t **ob_p);
/* Sends what is due now (also called after every commit). */
void wh_outbox_kick(wh_outbox_t *ob);
/* Events not yet acknowledged (for metrics and tests). */
int64_t wh_outbox_backlog(wh_store_t *store);

#endif
