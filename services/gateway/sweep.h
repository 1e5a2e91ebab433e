/* Housekeeping of the gateway's own store: its idempotency records expire
 * as in every service's store (wh_dispatcher_expire, soon after start and
 * then hourly). Deleted rows are overwritten (secure_delete) and the
 * write-ahead log is truncated after each sweep, so that records written
 * before secrets were kept out of them (tokens in clear) leave no copy in
 * either file. */
#ifndef GATEWAY_SWEEP_H
#define GATEWAY_SWEEP_H

#include <uv.h>

#include "dispatch.h"
#include "store.h"

#define SWEEP_FIRST_MS 1000
#define SWEEP_EVERY_MS (3600 * 1000)

typedef struct sweep sweep_t;

int sweep_start(uv_loop_t *loop, wh_store_t *store, wh_dispatcher_t *d, sweep_t **out);
/* Stops the timer; its memory is freed when the loop has closed it. */
void sweep_stop(sweep_t **s_p);

#endif
