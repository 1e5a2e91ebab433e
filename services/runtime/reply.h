/* Building a service's reply: a status, an optional ETag, a msgpack body or
 * a problem (RFC 9457 at the gateway) with one entry per invalid field.
 * Handlers write the body through the packer that wh_reply_ok() returns and
 * report invalid input with wh_reply_field()/wh_reply_param(); the first
 * call of wh_reply_invalid() turns collected field errors into one 422. */
#ifndef WH_REPLY_H
#define WH_REPLY_H

#include <stdbool.h>

#include "buf.h"
#include "msg.h"
#include "problem.h"

#define WH_REPLY_MAX_ERRORS WH_PROBLEM_MAX_ERRORS /* field errors listed in one problem */
/* A reply travels as one ZeroMQ message of at most WH_MSG_MAX_BYTES (the
 * receiving socket drops the connection over it) that the receiver's
 * wh_msg_decode must accept. The body may take all of it but this headroom,
 * which holds the envelope, the ETag and a problem with its listed errors.
 * A bigger body becomes a 507 problem. */
#define WH_REPLY_HEADROOM       (64 * 1024)
#define WH_REPLY_MAX_BODY_BYTES (WH_MSG_MAX_BYTES - WH_REPLY_HEADROOM)

typedef struct wh_reply {
    int status;
    char etag[80];
    bool has_body;
    wh_buf_t body; /* msgpack of the body value */
    msgpack_packer pk;
    /* Problem */
    char type[64];
    char title[96];
    char detail[512];
    wh_buf_t errors; /* msgpack maps, n_errors of them */
    msgpack_packer epk;
    int n_errors;
    int retry_after_s;     /* > 0 adds Retry-After (429, 503) */
    char content_type[64]; /* set by wh_reply_raw: the body is not JSON */
    bool secret;           /* the body holds a secret shown once (wh_reply_secret) */
} wh_reply_t;

void wh_reply_init(wh_reply_t *r);
void wh_reply_close(wh_reply_t *r);
void wh_reply_reset(wh_reply_t *r);

/* Starts a successful reply; the returned packer must write exactly one
 * value (the body). Discards any previous body. */
msgpack_packer *wh_reply_ok(wh_reply_t *r, int status);
/* A success whose body is not JSON (text/csv, text/calendar): the bytes
 * reach the client as they are, with this Content-Type. On the wire the
 * reply carries content_type and the body as msgpack bin. */
void wh_reply_raw(wh_reply_t *r, int status, const char *content_type, const void *data,
                  size_t len);
/* A success without a body (204). */
void wh_reply_empty(wh_reply_t *r, int status);
void wh_reply_etag(wh_reply_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The ETag of a versioned row, "\"<id>.<version>\"", into out (cut to
 * cap - 1 bytes as snprintf would); its length. Without printf: it is on
 * every read. */
size_t wh_etag_version(char *out, size_t cap, const char *id, size_t id_len, int64_t version);
/* Says that the body holds a secret shown this once (a token, a signing
 * secret): it is never stored for an Idempotency-Key replay, which answers
 * 409 instead. */
void wh_reply_secret(wh_reply_t *r);

/* A problem: slug names its type ("validation", "not-found", "conflict"...). */
void wh_reply_problem(wh_reply_t *r, int status, const char *slug, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* One invalid field of the body (JSON pointer) or of the query/path. */
void wh_reply_field(wh_reply_t *r, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wh_reply_param(wh_reply_t *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* If field errors were collected, makes the reply a 422 and returns true. */
bool wh_reply_invalid(wh_reply_t *r);
static inline bool wh_reply_failed(const wh_reply_t *r)
{
    return r->status >= 400 || r->n_errors > 0;
}

/* The reply envelope for request id into out. */
void wh_reply_pack(const wh_reply_t *r, const char *id, wh_buf_t *out);
/* Makes a reply whose body is over WH_REPLY_MAX_BODY_BYTES, or over what
 * wh_msg_decode accepts (values, string length, depth), a 507 problem (a
 * malformed body a 500); true if it did. */
bool wh_reply_check_size(wh_reply_t *r);

#endif
