/* The gateway's HTTP/1.1 server on a libuv loop. It accepts connections,
 * parses requests with llhttp (Debian's generated sources), enforces the
 * protocol limits and deadlines below, and hands each complete request to one
 * callback. Responses may be given later (after a broker round trip); pipelined
 * requests on one connection are answered in the order they arrived. While a
 * connection has WH_HTTP_MAX_PIPELINE requests waiting, or more than
 * WH_HTTP_MAX_CONN_QUEUED_BYTES of responses not yet written, it stops reading
 * and parsing (backpressure).
 *
 * Responses a client does not read are held in memory, so what is held is
 * bounded twice. A response to GET or HEAD that arrives while its connection
 * holds more than WH_HTTP_MAX_CONN_QUEUED_BYTES, or while all connections
 * together hold more than WH_HTTP_MAX_QUEUED_BYTES, is replaced by a short
 * 503 with Retry-After when that is smaller: the request can be repeated, and
 * a client that pipelines large reads without reading their answers cannot
 * make the gateway hold them (requests were dispatched side by side before
 * any answer came back, so stopping to parse alone would not bound it). Past
 * the global budget, a connection that itself holds unwritten responses gets
 * 503 for its further requests without them being dispatched. Other methods'
 * responses are always kept: they tell the result of a change.
 *
 * It does not know routes, authentication or JSON; errors it detects itself
 * (limits, malformed HTTP, deadlines) are answered with a small
 * application/problem+json body and the connection is closed after them. */
#ifndef WH_HTTP_H
#define WH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Limits, each crossed by a test in tests/unit/http_test.c. */
#define WH_HTTP_MAX_HEADER_BYTES (16 * 1024)   /* request line + headers: 431 */
#define WH_HTTP_MAX_URL_BYTES    (8 * 1024)    /* 414 */
#define WH_HTTP_MAX_HEADERS      64            /* 431 */
#define WH_HTTP_MAX_BODY_BYTES   (1024 * 1024) /* default body limit: 413 */
#define WH_HTTP_MAX_CONNECTIONS  1024          /* default; beyond it 503 + close */
#define WH_HTTP_MAX_PIPELINE     16            /* requests waiting per connection */
/* Chunk extensions and trailers count against WH_HTTP_MAX_HEADER_BYTES
 * together with the request line and headers: 431. */
/* Defaults of limits in wh_http_config_t: per client address (IPv6: per /64),
 * beyond it 503 + close; responses not yet written, per connection and over
 * all connections (see above). */
#define WH_HTTP_MAX_CONNECTIONS_PER_ADDR 128
#define WH_HTTP_MAX_CONN_QUEUED_BYTES    (1024 * 1024)
#define WH_HTTP_MAX_QUEUED_BYTES         (32 * 1024 * 1024)
#define WH_HTTP_MAX_LARGE_HELD_BYTES     (64 * 1024 * 1024)
/* Deadlines, in milliseconds (defaults; wh_http_config_t overrides). */
#define WH_HTTP_FIRST_BYTE_TIMEOUT_MS 5000  /* from accept to a request's first byte */
#define WH_HTTP_HEADER_TIMEOUT_MS     10000 /* from a request's first byte to its last header */
#define WH_HTTP_BODY_TIMEOUT_MS       30000 /* from the end of headers to the end of the body */
#define WH_HTTP_IDLE_TIMEOUT_MS       60000 /* keep-alive connection with nothing in flight */
/* After its last response a closing connection shuts down its write side and
 * discards input for at most this long, so that the client reads the response
 * rather than a reset caused by bytes it had already sent. */
#define WH_HTTP_LINGER_MS 2000

typedef struct wh_http_server wh_http_server_t;
typedef struct wh_http_req wh_http_req_t;

typedef struct wh_http_header {
    const char *name; /* as given by the handler; sent as is */
    const char *value;
} wh_http_header_t;

/* A parsed request. Everything is owned by the server and valid until
 * wh_http_respond() is called for it. Strings are NUL-terminated. */
struct wh_http_req {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* URL path, percent-encoding left as received */
    const char *query;  /* after '?', without it; "" when absent */
    const char *body;   /* NULL when empty */
    size_t body_len;
    /* Headers the gateway needs; NULL when absent. */
    const char *authorization;
    const char *content_type;
    const char *if_match;
    const char *idempotency_key;
    const char *request_id; /* X-Request-Id */
    const char *accept;
    const char *if_none_match;
    const char *cookie; /* the first Cookie header (pages' session) */
    const char *origin;
    const char *sec_fetch_site;
    const char *accept_language;
    const char *host;
    const char *csrf_token; /* X-CSRF-Token, of the pages' session */
    char peer[48];          /* remote address as text, for rate limits and logs */
    uint64_t started_ns;    /* uv_hrtime() when the first byte arrived */
    void *user;             /* free for the handler */
};

typedef void (*wh_http_handler_fn)(wh_http_server_t *srv, wh_http_req_t *req, void *ud);

/* A zero limit or deadline takes the default above. */
typedef struct wh_http_config {
    const char *addr; /* "host:port"; host may be an IPv4 or IPv6 literal ([::1]:8080) */
    int max_connections;
    int max_connections_per_addr;
    size_t max_body_bytes;
    /* Optional: a larger body limit for some requests (a bulk import),
     * chosen once the headers are in from the method, the path (path_len
     * bytes, no query) and the Content-Type (NULL when absent); 0 or
     * anything up to max_body_bytes keeps max_body_bytes. */
    size_t (*body_limit)(const char *method, const char *path, size_t path_len,
                         const char *content_type, void *ud);
    /* What the bodies allowed past max_body_bytes may hold at once over all
     * connections: each holds its Content-Length (a chunked one its whole
     * limit) from its headers until its response; one that would cross
     * this is refused with 503 and Retry-After before its body is read. */
    size_t max_large_held_bytes;
    size_t max_conn_queued_bytes;
    size_t max_queued_bytes;
    /* A new connection that has not begun a request within this (or the idle
     * timeout, if shorter) is closed without a response. */
    uint64_t first_byte_timeout_ms;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t idle_timeout_ms;
} wh_http_config_t;

/* Fills cfg with the defaults above and addr "127.0.0.1:8080". */
void wh_http_config_defaults(wh_http_config_t *cfg);

/* Binds and listens. On success *out is the server; the port actually bound
 * (useful with port 0) is available from wh_http_port(). */
int wh_http_server_new(uv_loop_t *loop, const wh_http_config_t *cfg, wh_http_handler_fn fn,
                       void *ud, wh_http_server_t **out);
int wh_http_port(const wh_http_server_t *srv);
/* Stops accepting, closes every connection; requests not yet answered are
 * dropped (wh_http_respond on them afterwards is a safe no-op that frees
 * them). Destruction completes asynchronously as handles close; run the loop
 * until it has no more handles. Sets *srv_p to NULL. */
void wh_http_server_destroy(wh_http_server_t **srv_p);

/* Answers req (exactly once per request). Content-Length, Date, Connection
 * and Server headers are added by the server; extra headers are copied. body
 * is copied. If the client went away meanwhile, the request is just freed. */
void wh_http_respond(wh_http_req_t *req, int status, const char *content_type,
                     const wh_http_header_t *extra, size_t n_extra, const char *body,
                     size_t body_len);

/* Counters for /metrics. */
typedef struct wh_http_stats {
    uint64_t connections_open;
    uint64_t connections_total;
    uint64_t connections_rejected; /* over max_connections or max_connections_per_addr */
    uint64_t requests_in_flight;
    uint64_t timeouts;
    uint64_t limit_errors;
    uint64_t queued_bytes; /* unwritten responses now held */
    uint64_t shed;         /* answered 503 over a queued-bytes budget */
} wh_http_stats_t;
void wh_http_get_stats(const wh_http_server_t *srv, wh_http_stats_t *out);

/* Detached connections: the same parser callbacks, limits and response
 * queue as a socket connection, driven from memory (the fuzz target, tests).
 * Bytes go in through wh_http_conn_feed() as if read from a socket; complete
 * requests go to the server's handler; responses come out through the
 * output function whole and in request order. A detached server has no loop
 * and no listener: no deadlines apply and no connection limit counts. Only
 * one thread may use a detached server and its connections. */
typedef struct wh_http_conn wh_http_conn_t;
typedef void (*wh_http_output_fn)(void *ud, const char *data, size_t len);

/* cfg as for wh_http_server_new (addr ignored; NULL for the defaults).
 * Destroy it with wh_http_server_destroy() after freeing its connections. */
int wh_http_server_new_detached(const wh_http_config_t *cfg, wh_http_handler_fn fn, void *ud,
                                wh_http_server_t **out);
int wh_http_conn_new_detached(wh_http_server_t *srv, const char *peer, wh_http_output_fn output,
                              void *output_ud, wh_http_conn_t **out);
/* Parses what it can of data (and of bytes kept from earlier feeds while
 * the pipeline was full). False once the connection takes no more input: it
 * closed, or it answers what it has and then closes (an error, Connection:
 * close). */
bool wh_http_conn_feed(wh_http_conn_t *c, const char *data, size_t len);
/* The client shut down its side: what it sent completely is still answered. */
void wh_http_conn_eof(wh_http_conn_t *c);
/* Closes and frees c. Requests the handler still holds become orphans, freed
 * by the wh_http_respond() that answers them. */
void wh_http_conn_free(wh_http_conn_t *c);

#endif
