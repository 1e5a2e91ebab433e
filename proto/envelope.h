/* Request and reply envelopes between the gateway and the services
 * (ARCHITECTURE.md, "Envelope"), and the broker's framing.
 *
 * Request (msgpack map): {v: 1, id, op, principal: {token_id, role, orgs[]},
 * deadline_ms, idempotency_key?, if_match?, accept?, params: {str: str}, body?}
 * Reply: {v: 1, id, status, etag?, content_type?, body?, error?: {type, title,
 * detail, errors: [{pointer | parameter, detail}]}}
 *
 * accept is the client's Accept header, for the few operations that answer
 * in more than one format (JSON or CSV). A reply with content_type carries
 * its body as a msgpack str or bin that the gateway sends as is, with that
 * Content-Type, instead of rendering JSON.
 *
 * deadline_ms is the time budget left when the gateway sent the request; a
 * service skips requests whose budget ran out while queued (the gateway has
 * answered 504 by then).
 *
 * Broker frames (ZeroMQ multipart; the ROUTER side sees the peer identity
 * first): [header: version byte 1, command byte] [correlation: 8 bytes]
 * [payload]. Commands: READY/HEARTBEAT from an instance carry the service
 * name as payload; REQUEST and REPLY carry envelopes; the correlation frame
 * is echoed unchanged in the reply. An instance asking another service
 * sends REQUEST with a three-byte header [version, 'Q', target service
 * index]; the broker answers it with REPLY (status 503/504 when no instance
 * of the target answered). */
#ifndef WH_ENVELOPE_H
#define WH_ENVELOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"
#include "ops.h"

#define WH_PROTO_VERSION 1
#define WH_CMD_HEARTBEAT 'H' /* payload: service name; also serves as READY */
#define WH_CMD_REQUEST 'Q'
#define WH_CMD_REPLY 'A'
#define WH_CMD_DISCONNECT 'D'

#define WH_HEARTBEAT_MS 500
#define WH_HEARTBEAT_LIVENESS 4 /* silent intervals before a peer counts as dead */

#define WH_ENV_MAX_ID 64      /* request id */
#define WH_ENV_MAX_TOKEN_ID 32
#define WH_ENV_MAX_ORGS 1000  /* organisations in one principal */

typedef struct wh_principal {
    char token_id[WH_ENV_MAX_TOKEN_ID + 1];
    unsigned role; /* one WH_ROLE_* bit; 0 for public requests */
    const msgpack_object *orgs; /* array of strings */
} wh_principal_t;

typedef struct wh_request {
    int op;
    char id[WH_ENV_MAX_ID + 1];
    wh_principal_t principal;
    int64_t deadline_ms;
    wh_str_t idempotency_key; /* p NULL when absent */
    wh_str_t if_match;
    wh_str_t accept; /* the Accept header; p NULL when absent */
    const msgpack_object *params; /* map, possibly empty; never NULL after decode */
    const msgpack_object *body;   /* NULL when absent */
    wh_msg_t msg;                 /* owns everything above */
} wh_request_t;

/* Decodes a request envelope (bounded; see msg.h). The request borrows from
 * data, which must outlive it. WH_EPROTO when a required field is missing
 * or of the wrong type. */
int wh_request_decode(const char *data, size_t len, wh_request_t *req);
void wh_request_close(wh_request_t *req);

/* A path or query parameter as a slice; p NULL when absent. */
wh_str_t wh_request_param(const wh_request_t *req, const char *name);
/* True for admin, or when org is among the principal's organisations. */
bool wh_request_has_org(const wh_request_t *req, wh_str_t org);

/* Gateway side: packs a request envelope into out. body is raw msgpack
 * (already converted from JSON) or NULL; params are n pairs of name/value. */
typedef struct wh_param {
    const char *name;
    wh_str_t value;
} wh_param_t;
void wh_request_pack(wh_buf_t *out, int op, const char *id, const char *token_id, unsigned role,
                     const char *const *orgs, size_t n_orgs, int64_t deadline_ms,
                     const char *idempotency_key, const char *if_match, const wh_param_t *params,
                     size_t n_params, const char *body, size_t body_len);
/* The same with the client's Accept header (NULL when absent). */
void wh_request_pack_accept(wh_buf_t *out, int op, const char *id, const char *token_id,
                            unsigned role, const char *const *orgs, size_t n_orgs,
                            int64_t deadline_ms, const char *idempotency_key,
                            const char *if_match, const char *accept, const wh_param_t *params,
                            size_t n_params, const char *body, size_t body_len);

#endif
