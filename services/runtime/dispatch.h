/* Running one request against a store: the handler table built from the
 * operations in proto/ops.h, Idempotency-Key replay, and the helpers every
 * handler uses (body validation, If-Match, tenant scoping). The caller holds
 * the transaction; wh_dispatch wraps the request in a savepoint so that a
 * failed request leaves nothing behind while its neighbours in the same
 * batch commit. */
#ifndef WH_DISPATCH_H
#define WH_DISPATCH_H

#include <stdbool.h>

#include "envelope.h"
#include "reply.h"
#include "store.h"
#include "valid.h"

#define WH_IDEM_MAX_KEY 255
#define WH_IDEM_TTL_MS  (24LL * 3600 * 1000) /* replays are kept a day */

typedef struct wh_ctx {
    wh_store_t *store;
    const wh_request_t *req;
    wh_reply_t *rep;
    void *app;
} wh_ctx_t;

typedef void (*wh_handler_fn)(wh_ctx_t *c);
typedef struct wh_handler {
    int op;
    wh_handler_fn fn;
} wh_handler_t;

typedef struct wh_dispatcher {
    wh_handler_fn table[WH_OP_COUNT];
    wh_store_t *store;
    void *app;
} wh_dispatcher_t;

/* Fills d from handlers; fails (and logs which) unless every operation that
 * proto/ops.h gives to svc has exactly one handler and no handler is for
 * another service's operation. Creates the idempotency table in store. */
int wh_dispatcher_init(wh_dispatcher_t *d, enum wh_svc svc, const wh_handler_t *handlers, size_t n,
                       wh_store_t *store, void *app);
/* Runs req (inside the caller's transaction). */
void wh_dispatch(wh_dispatcher_t *d, const wh_request_t *req, wh_reply_t *rep);
/* Drops idempotency records older than WH_IDEM_TTL_MS. */
void wh_dispatcher_expire(wh_dispatcher_t *d);

/* Validates that the body is an object with only known fields; v is ready
 * for field checks. */
bool wh_ctx_body(wh_ctx_t *c, wh_valid_t *v, const char *const *known);
/* If-Match against the current ETag: false (and a 412) on mismatch. */
bool wh_ctx_if_match(wh_ctx_t *c, const char *etag);
/* Binds the principal's organisations to parameter idx of st as a JSON
 * array for json_each(), or NULL for admins, who see every organisation:
 * the one way a list query is scoped to a tenant. */
void wh_request_bind_scope(sqlite3_stmt *st, int idx, const wh_request_t *req);
/* 404 for an id outside the principal's organisations, so that ids of other
 * tenants cannot be probed. */
void wh_ctx_not_found(wh_ctx_t *c, const char *what);

#endif
