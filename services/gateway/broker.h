/* The request/reply broker inside the gateway, in the spirit of the ZeroMQ
 * guide's Majordomo pattern. Service instances connect a DEALER to the
 * broker's ROUTER and announce themselves with heartbeats that carry their
 * service name. An instance not heard from for WH_HEARTBEAT_LIVENESS
 * intervals is stalled: its loop is busy (a long fsync), but its process is
 * there, so its requests wait for it and new ones go to another instance
 * while one is up; silent for BROKER_STALLED_MAX_MS it is lost (its loop
 * hangs). One the ROUTER can no longer reach is lost: its process
 * ended, or froze or lost its host and the ZMTP heartbeats timed out. Each
 * request goes to the live instance of its service with the fewest
 * requests in flight, stalled ones last. The caller learns the outcome
 * through one callback per request: the reply, 503 when no instance is up
 * (or the one serving it was lost), 504 when the deadline passed first.
 *
 * An instance may also ask another service (header frame [version, 'Q',
 * target service]); the broker forwards the request and returns the reply,
 * or a reply envelope with status 503/504 and its problem, to the asking
 * instance.
 *
 * It does not interpret envelopes; it moves bytes and keeps time. */
#ifndef GATEWAY_BROKER_H
#define GATEWAY_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "config.h"
#include "ops.h"

#define BROKER_MAX_INSTANCES      64    /* per service */
#define BROKER_MAX_PENDING        65536 /* requests in flight over all services */
#define BROKER_FORWARD_TIMEOUT_MS 10000 /* service-to-service requests */
/* A stalled instance (silent, still connected) is lost after this long: far
 * past any fsync, so its loop hangs. */
#define BROKER_STALLED_MAX_MS 30000

typedef struct broker broker_t;

enum {
    BROKER_OK = 0,
    BROKER_TOO_LARGE = 413, /* the envelope is over WH_MSG_MAX_BYTES: not sent */
    BROKER_UNAVAILABLE = 503,
    BROKER_TIMEOUT = 504
};

/* status is BROKER_OK with the reply bytes, or 413/503/504 with none. */
typedef void (*broker_reply_fn)(void *ud, int status, const char *reply, size_t len);

int broker_new(uv_loop_t *loop, const char *endpoint, broker_t **out);
/* The same on cfg->broker_bind, with CURVE and a ZAP allow-list when it is a
 * tcp endpoint (curve.h); refused when its keys are unusable. */
int broker_new_cfg(uv_loop_t *loop, const wh_config_t *cfg, broker_t **out);
void broker_destroy(broker_t **b_p);
/* Sends envelope to an instance of svc; fn is called exactly once, possibly
 * before this returns (503 with no instance up). */
void broker_send(broker_t *b, enum wh_svc svc, const char *envelope, size_t len,
                 uint64_t timeout_ms, broker_reply_fn fn, void *ud);
/* The reply envelope that stands for a broker's failure (413, 503, 504):
 * the gateway renders it, and a service asking through the broker gets it. */
void broker_reply_pack(wh_buf_t *out, const char *id, int status);
int broker_instances(const broker_t *b, enum wh_svc svc);
/* Instance slots of svc (live or not), for asking each live instance in
 * turn (the /metrics scrape): broker_send_slot sends to that one instance
 * only, and answers 503 when it is not alive. */
int broker_slots(const broker_t *b, enum wh_svc svc);
bool broker_slot_alive(const broker_t *b, enum wh_svc svc, int slot);
void broker_send_slot(broker_t *b, enum wh_svc svc, int slot, const char *envelope, size_t len,
                      uint64_t timeout_ms, broker_reply_fn fn, void *ud);
uint64_t broker_pending(const broker_t *b);
/* Another limit than BROKER_STALLED_MAX_MS (never under the liveness
 * window). */
void broker_set_stalled_max(broker_t *b, uint64_t ms);

#endif
