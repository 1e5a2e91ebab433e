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

#include <curl/curl.h>

#include "buf.h"
#include "id.h"
#include "msg.h"

#define WEBHOOK_SECRET_PREFIX    "whsec_"
#define WEBHOOK_SECRET_BYTES     32
#define WEBHOOK_SECRET_LEN       (6 + 44)    /* prefix + base64 of 32 bytes */
#define WEBHOOK_SIGNATURE_LEN    (3 + 44)    /* "v1," + base64 of a SHA-256 MAC */
#define WEBHOOK_MAX_SECRET_BYTES 64          /* decoded secrets longer than this are refused */
#define WEBHOOK_MAX_RESPONSE     (64 * 1024) /* response bytes read from a receiver, then dropped */
#define WEBHOOK_CONNECT_MS       5000
#define WEBHOOK_TIMEOUT_MS       10000

/* A new secret and a NUL into out. */
int webhook_secret_new(char out[WEBHOOK_SECRET_LEN + 1]);
/* The signature header value for one attempt; WH_EINVAL when the secret is
 * not "whsec_" + base64 (the prefix may be absent, as the scheme allows). */
int webhook_sign(const char *secret, const char *msg_id, int64_t timestamp, const char *body,
                 size_t body_len, char out[WEBHOOK_SIGNATURE_LEN + 1]);
/* Appends the JSON body {"type", "timestamp", "data"} to out. */
int webhook_body(wh_buf_t *out, const char *type, const char *timestamp,
                 const msgpack_object *data);

/* One delivery's transfer: what curl's callbacks need while it runs. */
typedef struct webhook_transfer {
    const char *id;         /* the delivery id: signed, and named in the log */
    const char *request_id; /* of the request that emitted the event; NULL: none */
    size_t response_bytes;  /* read so far */
} webhook_transfer_t;

/* Sets up easy to POST body to url with the signature headers (Standard
 * Webhooks: id, timestamp_s, secret), no redirects, no proxy, every address
 * it connects to checked by the network guard, at most WEBHOOK_MAX_RESPONSE
 * response bytes read. t must live as long as the transfer; *headers is
 * the caller's to free (curl_slist_free_all) after it. WH_EINVAL when the
 * secret cannot sign, WH_ENOMEM. */
int webhook_curl_setup(CURL *easy, webhook_transfer_t *t, const char *url, const char *secret,
                       int64_t timestamp_s, const wh_buf_t *body, struct curl_slist **headers);

#endif
