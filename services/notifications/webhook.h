/* Webhooks as the Standard Webhooks scheme has them: a signing secret per
 * subscription ("whsec_" + base64 of 32 random bytes), the body
 * {"type", "timestamp", "data"}, and the signature header
 * "v1,<base64 HMAC-SHA256(secret bytes, id.timestamp.body)>", where id is
 * the webhook-id header (the delivery's id, the same on every attempt) and
 * timestamp the webhook-timestamp header (Unix seconds of the attempt).
 * Sending is the delivery engine's; this module only computes. */
#ifndef NOTIFICATIONS_WEBHOOK_H
#define NOTIFICATIONS_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "msg.h"

#define WEBHOOK_SECRET_PREFIX    "whsec_"
#define WEBHOOK_SECRET_BYTES     32
#define WEBHOOK_SECRET_LEN       (6 + 44) /* prefix + base64 of 32 bytes */
#define WEBHOOK_SIGNATURE_LEN    (3 + 44) /* "v1," + base64 of a SHA-256 MAC */
#define WEBHOOK_MAX_SECRET_BYTES 64       /* decoded secrets longer than this are refused */

/* A new secret and a NUL into out. */
int webhook_secret_new(char out[WEBHOOK_SECRET_LEN + 1]);
/* The signature header value for one attempt; WH_EINVAL when the secret is
 * not "whsec_" + base64 (the prefix may be absent, as the scheme allows). */
int webhook_sign(const char *secret, const char *msg_id, int64_t timestamp, const char *body,
                 size_t body_len, char out[WEBHOOK_SIGNATURE_LEN + 1]);
/* Appends the JSON body {"type", "timestamp", "data"} to out. */
int webhook_body(wh_buf_t *out, const char *type, const char *timestamp,
                 const msgpack_object *data);

#endif
