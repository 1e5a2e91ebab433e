/* Request and reply envelopes between the gateway and the services
 * (docs/ARCHITECTURE.md, "Envelope"), and the broker's framing.
 *
 * Request (msgpack map): {v: 1, id, op, principal: {token_id, role, orgs[]},
 * deadline_ms, idempotency_key?, if_match?, accept?, params: {str: str}, body?}
 * Reply: {v: 1, id, status, etag?, retry_after?, content_type?, body? | error?}
 * where error is a problem (problem.h).
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
#include "problem.h"

#define WH_PROTO_VERSION  1
#define WH_CMD_HEARTBEAT  'H' /* payload: service name; also serves as READY */
#define WH_CMD_REQUEST    'Q'
#define WH_CMD_REPLY      'A'
#define WH_CMD_DISCONNECT 'D'

/* A broker message is one frame (after the identity frame on the ROUTER
 * side): a WH_FRAME_HDR-byte header [version, command, target service,
 * correlation (8 bytes)] and the payload after it. The target is the
 * service a service-to-service request is for, 0 otherwise. */
#define WH_FRAME_HDR 11
typedef struct wh_frame {
    char cmd;
    unsigned target;
    const char *corr; /* 8 bytes */
    const char *payload;
    size_t len;
} wh_frame_t;
static inline void wh_frame_hdr(char out[WH_FRAME_HDR], char cmd, unsigned target, const void *corr)
{
    out[0] = WH_PROTO_VERSION;
    out[1] = cmd;
    out[2] = (char)target;
    if (corr)
        memcpy(out + 3, corr, 8);
    else
        memset(out + 3, 0, 8);
}
/* False for a frame too short or of another version. */
static inline bool wh_frame_parse(const void *data, size_t len, wh_frame_t *f)
{
    const char *p = data;
    if (len < WH_FRAME_HDR || p[0] != WH_PROTO_VERSION)
        return false;
    f->cmd = p[1];
    f->target = (unsigned char)p[2];
    f->corr = p + 3;
    f->payload = p + WH_FRAME_HDR;
    f->len = len - WH_FRAME_HDR;
    return true;
}

#define WH_HEARTBEAT_MS       500
#define WH_HEARTBEAT_LIVENESS 4 /* silent intervals before a peer counts as stalled */
#define WH_LIVENESS_MS        ((uint64_t)WH_HEARTBEAT_MS * WH_HEARTBEAT_LIVENESS)

#define WH_ENV_MAX_ID       64 /* request id */
#define WH_ENV_MAX_TOKEN_ID 32
#define WH_ENV_MAX_ORGS     1000 /* organisations in one principal */

typedef struct wh_principal {
    char token_id[WH_ENV_MAX_TOKEN_ID + 1];
    unsigned role;              /* one WH_ROLE_* bit; 0 for public requests */
    const msgpack_object *orgs; /* array of strings */
} wh_principal_t;

typedef struct wh_request {
    int op;
    char id[WH_ENV_MAX_ID + 1];
    wh_principal_t principal;
    int64_t deadline_ms;
    wh_str_t idempotency_key; /* p NULL when absent */
    wh_str_t if_match;
    wh_str_t accept;              /* the Accept header; p NULL when absent */
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

/* A request envelope to send, as the sender knows it: C strings (NULL when
 * absent), the principal's organisations as an array, the body as raw
 * msgpack (already converted from JSON) or NULL. */
typedef struct wh_param {
    const char *name;
    wh_str_t value;
} wh_param_t;
typedef struct wh_request_out {
    int op;
    const char *id;
    const char *token_id;
    unsigned role; /* 0 for public requests */
    const char *const *orgs;
    size_t n_orgs;
    int64_t deadline_ms;
    const char *idempotency_key;
    const char *if_match;
    const char *accept;
    const wh_param_t *params; /* n_params pairs of name/value */
    size_t n_params;
    const char *body;
    size_t body_len;
} wh_request_out_t;
/* Packs a request envelope into out. */
void wh_request_pack(wh_buf_t *out, const wh_request_out_t *r);

#define WH_ENV_MAX_ETAG         95 /* longer ones are dropped by the decoder */
#define WH_ENV_MAX_CONTENT_TYPE 63

/* A reply envelope to send. A status of 400 or more carries problem and
 * errors, anything else body (raw msgpack, one value; NULL for none). */
typedef struct wh_reply_out {
    const char *id;
    int status;
    const char *etag;         /* NULL: none */
    int retry_after_s;        /* > 0: Retry-After, in seconds */
    const char *content_type; /* with a body that is not JSON: a msgpack str or bin */
    const char *body;
    size_t body_len;
    wh_problem_t problem; /* its status is the reply's */
    const char *errors;   /* n_errors msgpack maps back to back */
    size_t errors_len;
    size_t n_errors; /* over WH_PROBLEM_MAX_ERRORS the receiver refuses the reply */
} wh_reply_out_t;
void wh_reply_env_pack(wh_buf_t *out, const wh_reply_out_t *r);

/* A decoded reply envelope; it borrows from the bytes it was decoded from.
 * Optional fields of the wrong type count as absent, as does an ETag over
 * WH_ENV_MAX_ETAG bytes or a content type over WH_ENV_MAX_CONTENT_TYPE or
 * with a control character (neither can become a header). */
typedef struct wh_reply_in {
    int status; /* 100..599 */
    wh_str_t id;
    wh_str_t etag;                /* p NULL when absent */
    int64_t retry_after_s;        /* 0 when absent */
    wh_str_t content_type;        /* p NULL when absent */
    const msgpack_object *body;   /* NULL when absent */
    wh_problem_t problem;         /* from "error"; slices p NULL when absent */
    const msgpack_object *errors; /* the problem's list, an array; NULL when absent */
    wh_msg_t msg;
} wh_reply_in_t;
/* Decodes a reply envelope (bounded; see msg.h). WH_EPROTO when the status
 * is missing or outside 100..599, WH_ELIMIT when the problem lists more
 * than WH_PROBLEM_MAX_ERRORS errors. */
int wh_reply_env_decode(const char *data, size_t len, wh_reply_in_t *r);
void wh_reply_env_close(wh_reply_in_t *r);

#endif
