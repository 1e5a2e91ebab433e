/* The consumer's side of events that are never lost: an inbox of event ids
 * in the consumer's store. A handler calls wh_inbox_accept() in the same
 * transaction as the event's effect; an event seen before is reported as a
 * repeat, the handler skips the effect and still acknowledges it, so a
 * redelivery after a lost acknowledgement acts once. */
#ifndef WH_INBOX_H
#define WH_INBOX_H

#include <stdbool.h>

#include "msg.h"
#include "store.h"

#define WH_INBOX_KEEP_DAYS 30 /* ids older than this are forgotten */

int wh_inbox_init_store(wh_store_t *store);
/* 0 and *repeat = false when the id is new (now recorded), true when it was
 * recorded before. */
int wh_inbox_accept(wh_store_t *store, wh_str_t event_id, bool *repeat);
void wh_inbox_expire(wh_store_t *store);

#endif
