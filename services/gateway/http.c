/* The gateway's HTTP/1.1 server: libuv for the sockets, llhttp for parsing.
 *
 * Shape of a connection. Bytes read from the socket land in conn->in and are
 * fed to llhttp from there. Every callback that ends a phase of a message
 * (message begin, headers complete, message complete) returns HPE_PAUSED, so
 * that llhttp_execute() stops exactly at the phase boundary and the parse loop
 * (conn_parse) does the bookkeeping between phases with exact byte positions:
 * how many bytes the request line and headers took, when the body deadline
 * starts, whether the pipeline has room for one more request. Bytes not yet
 * parsed stay in conn->in; that is what lets the connection stop taking
 * requests when the pipeline is full without losing the ones already read.
 *
 * Every complete request and every error the server answers itself becomes an
 * entry in the connection's queue, in arrival order. Responses are written
 * only from the head of that queue, so pipelined requests are answered in
 * order whatever order the handler answers them in.
 *
 * All decisions about what the connection does next (write, parse, read, arm
 * the timer, close) are taken in one place, conn_progress(), which every event
 * (read, write done, respond, timer) ends by calling. */
#include "http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <llhttp.h>

#include "buf.h"
#include "err.h"
#include "problem.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Room offered to the kernel for each read. It also bounds how far a single
 * read can overshoot the header limit before the check after llhttp_execute()
 * sees it; the field callbacks bound what is stored in the meantime. */
#define READ_CHUNK           (64 * 1024)
#define HTTP_SPARE_READ_BUFS 4 /* idle read buffers kept, READ_CHUNK each */
/* Connections over max_connections are answered 503 and then linger like any
 * other closing connection. Past this many doing so at once, further ones are
 * closed without a word, so that a flood cannot make the rejection path the
 * very resource it was meant to protect. */
#define MAX_REJECTING 64

enum pstate {
    P_IDLE,    /* no byte of the next request seen */
    P_HEADERS, /* inside request line and headers */
    P_BODY,    /* headers done, body not yet complete */
};

enum event { EV_NONE, EV_BEGIN, EV_HEADERS, EV_COMPLETE };

enum tkind { T_NONE, T_IDLE, T_HEADER, T_BODY, T_LINGER };

enum rstate {
    R_PARSING, /* being filled by the parser (conn->cur) */
    R_WAITING, /* with the handler */
    R_READY,   /* response built, waiting for earlier ones to be written */
};

/* The headers the gateway needs, in the order of the fields of
 * wh_http_req_t that receive them. */
enum {
    H_AUTHORIZATION,
    H_CONTENT_TYPE,
    H_IF_MATCH,
    H_IDEMPOTENCY_KEY,
    H_REQUEST_ID,
    H_ACCEPT,
    H_IF_NONE_MATCH,
    H_COOKIE,
    H_ORIGIN,
    H_SEC_FETCH_SITE,
    H_ACCEPT_LANGUAGE,
    H_HOST,
    H_CSRF_TOKEN,
    H_NAMED
};
/* With their lengths, so that a header is compared only with the names of
 * its length. */
#define NAMED(s)                                                                                   \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }
static const struct {
    const char *name;
    size_t len;
} named_headers[H_NAMED] = {
    NAMED("authorization"),   NAMED("content-type"),    NAMED("if-match"),
    NAMED("idempotency-key"), NAMED("x-request-id"),    NAMED("accept"),
    NAMED("if-none-match"),   NAMED("cookie"),          NAMED("origin"),
    NAMED("sec-fetch-site"),  NAMED("accept-language"), NAMED("host"),
    NAMED("x-csrf-token"),
};
#undef NAMED

typedef struct wh_http_conn conn_t;

/* How a connection reaches its client: a socket on the loop, or (a detached
 * connection) a caller that feeds bytes in and takes responses out. */
typedef struct conn_io {
    /* Sends data (malloc'd; taken whatever happens). */
    int (*write)(conn_t *c, char *data, size_t len);
    /* After each turn of conn_progress: whether to read, and the deadline. */
    void (*settle)(conn_t *c);
    /* Everything owed is written and no further request is taken. */
    void (*finish)(conn_t *c);
    /* conn_close, after the requests were dropped. */
    void (*close)(conn_t *c);
} conn_io_t;

typedef struct req {
    wh_http_req_t pub;
    conn_t *conn; /* NULL once the connection closed under the handler */
    struct req *next;
    enum rstate state;
    bool keep_alive;
    bool head;
    bool safe; /* GET or HEAD: may be answered 503 over a queued-bytes budget */
    /* The URL and then the named header values, each NUL-terminated. One
     * buffer so that a request costs two allocations besides itself; the
     * public pointers are set once it is complete and can no longer move. */
    wh_buf_t strs;
    size_t url_len;
    size_t hdr_off[H_NAMED]; /* offset + 1 into strs; 0 when absent */
    wh_buf_t body;
    size_t max_body;       /* max_body_bytes, or the larger limit of body_limit */
    size_t held;           /* counted in srv->large_held until freed or orphaned */
    wh_http_server_t *srv; /* only while held is not 0: an orphan outlives it */
    char *resp;            /* R_READY: the whole response */
    size_t resp_len;
} req_t;

struct wh_http_conn {
    const conn_io_t *io;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    wh_http_server_t *srv;
    conn_t *prev, *next; /* srv->conns */
    int handles;         /* uv handles not yet closed */

    llhttp_t parser;
    char *in; /* bytes read; in[in_off..in_len) not yet parsed */
    size_t in_off, in_len, in_cap;
    /* Where each byte is in the stream, so that callbacks can look at the
     * bytes around a span: stream_pos is the position of in[in_off];
     * during llhttp_execute() exec_base (data passed) is at exec_pos; tail
     * holds the two bytes before exec_pos. */
    uint64_t stream_pos, exec_pos;
    const char *exec_base;
    char tail[2];
    uint64_t chunk_end;  /* position just after the data of a chunk */
    bool chunk_crlf_due; /* its CRLF is to be checked in on_chunk_complete */

    /* The message being parsed. */
    req_t *cur;
    enum pstate pstate;
    enum event ev;
    bool in_msg;      /* llhttp has seen the message begin */
    bool begun;       /* some request has begun on this connection */
    size_t hdr_bytes; /* request line and headers, then chunk extensions and trailers */
    size_t hdr_lfs;   /* line feeds in the request line and headers */
    unsigned n_headers;
    wh_buf_t hname, hval;
    bool seen_content_length;
    bool expect_continue;
    bool msg_keep_alive;
    int err_status; /* set by a callback that refused the message */
    char err_detail[128];
    uint64_t read_ns;       /* uv_hrtime() of the latest read */
    uint64_t first_ns;      /* read_ns of the read that brought the first byte */
    uint64_t hdr_deadline;  /* loop time, ms */
    uint64_t body_deadline; /* loop time, ms */

    /* Requests in arrival order, answered or not. */
    req_t *qhead, *qtail;
    unsigned nq;        /* entries in the queue */
    unsigned n_waiting; /* of which with the handler */
    size_t wq_bytes;    /* bytes in uv_write requests not yet completed */
    size_t queued;      /* wq_bytes + responses ready in the queue */
    uint64_t accepted_ms;

    enum tkind tkind;
    bool counted;  /* holds one of srv->cfg.max_connections */
    bool rejected; /* holds one of MAX_REJECTING */
    bool reading;  /* uv_read_start is in effect */
    bool no_more;  /* take no further request; close once all is written */
    bool eof;      /* the client shut down its side */
    bool draining; /* lingering close: discard input until EOF or the timer */
    bool closing;  /* uv_close called (or, detached, torn down) */
    bool progressing;
    bool progress_again;
    char peer[48];
    wh_http_output_fn output; /* detached: where responses go */
    void *output_ud;
    uint8_t addr_key[16]; /* IPv4 address, or IPv6 /64 prefix */
    uint8_t addr_key_len; /* 0: unknown */
};

struct wh_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    wh_http_config_t cfg; /* addr not kept */
    wh_http_handler_fn fn;
    void *ud;
    conn_t *conns;
    unsigned n_conns;     /* counted connections */
    unsigned n_rejecting; /* rejected ones still lingering */
    size_t queued;        /* sum of the connections' queued */
    size_t large_held;    /* sum of the requests' held */
    wh_http_stats_t stats;
    int port;
    bool destroying;
    bool listener_closed;
    time_t date_sec;
    char date[64];
    /* Read buffers of connections gone idle, for the next read: a 64 KiB
     * malloc and free per request cost more than its parsing. */
    char *spare_in[HTTP_SPARE_READ_BUFS];
    int n_spare_in;
};

static const llhttp_settings_t parser_settings;

static void conn_progress(conn_t *c);
static void conn_close(conn_t *c);
static void conn_fail(conn_t *c, int status, const char *detail);

/* --- small helpers --------------------------------------------------------- */

static const char *buf_str(const wh_buf_t *b)
{
    return b->data ? b->data : "";
}

/* A detached server has no loop, hence no clock and no deadlines. */
static uint64_t now_ms(const conn_t *c)
{
    return c->srv->loop ? uv_now(c->srv->loop) : 0;
}

/* Response bytes held for the connection and the server: added when a
 * response is ready in the queue, kept while it is being written. */
static void queued_add(conn_t *c, size_t n)
{
    c->queued += n;
    c->srv->queued += n;
}

static void queued_sub(conn_t *c, size_t n)
{
    assert(c->queued >= n && c->srv->queued >= n);
    c->queued -= n;
    c->srv->queued -= n;
}

/* The byte at stream position pos, which a callback may ask about: from the
 * data being parsed, or one of the two bytes just before it. */
static int stream_byte(const conn_t *c, uint64_t pos)
{
    if (pos >= c->exec_pos)
        return (unsigned char)c->exec_base[pos - c->exec_pos];
    if (pos + 2 >= c->exec_pos)
        return (unsigned char)c->tail[pos + 2 - c->exec_pos];
    return -1;
}

static uint64_t stream_pos_of(const conn_t *c, const char *at)
{
    return c->exec_pos + (uint64_t)(at - c->exec_base);
}

/* The Date header changes once a second; formatting it for every response
 * would be most of the cost of a small one. Day and month names are spelled
 * out rather than taken from strftime so that no locale can change them. */
static const char *srv_date(wh_http_server_t *srv)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    if (now != srv->date_sec || !srv->date[0]) {
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(srv->date, sizeof srv->date, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        srv->date_sec = now;
    }
    return srv->date;
}

/* A header the handler passes on may carry text that came from a client (a
 * request id, say). A CR or LF in it would let that client write headers of
 * its own into the response, so such a header is not sent. */
static bool header_text_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

static bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

/* v's decimal digits, written backwards into a scratch array. */
static void put_uint(wh_buf_t *b, size_t v)
{
    char num[24], *e = num + sizeof num, *d = e;
    do {
        *--d = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    wh_buf_append(b, d, (size_t)(e - d));
}

static void build_response(wh_http_server_t *srv, wh_buf_t *b, int status, const char *ctype,
                           const wh_http_header_t *extra, size_t n_extra, const char *body,
                           size_t body_len, bool head, bool keep_alive)
{
    bool has_body = status_has_body(status);
    /* One allocation for the whole response: the fixed lines, the extra
     * headers and the body (growing from a small buffer cost a realloc or
     * three per response). */
    size_t need = 256 + (has_body && !head ? body_len : 0);
    for (size_t i = 0; i < n_extra; i++)
        if (extra[i].name && extra[i].value)
            need += strlen(extra[i].name) + strlen(extra[i].value) + 4;
    wh_buf_reserve(b, need);
    /* Appended piece by piece: formatting each line with printf cost more
     * than the rest of the response. */
    wh_buf_puts(b, "HTTP/1.1 ");
    put_uint(b, (size_t)status);
    wh_buf_putc(b, ' ');
    wh_buf_puts(b, wh_status_text(status));
    wh_buf_puts(b, "\r\nDate: ");
    wh_buf_puts(b, srv_date(srv));
    wh_buf_puts(b, "\r\nServer: workhealth\r\n");
    if (has_body) {
        if (ctype && header_text_ok(ctype)) {
            wh_buf_puts(b, "Content-Type: ");
            wh_buf_puts(b, ctype);
            wh_buf_puts(b, "\r\n");
        }
        wh_buf_puts(b, "Content-Length: ");
        put_uint(b, body_len);
        wh_buf_puts(b, "\r\n");
    }
    wh_buf_puts(b, keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    for (size_t i = 0; i < n_extra; i++) {
        if (!extra[i].name || !extra[i].value || !extra[i].name[0] || strchr(extra[i].name, ':') ||
            !header_text_ok(extra[i].name) || !header_text_ok(extra[i].value))
            continue;
        wh_buf_puts(b, extra[i].name);
        wh_buf_puts(b, ": ");
        wh_buf_puts(b, extra[i].value);
        wh_buf_puts(b, "\r\n");
    }
    wh_buf_puts(b, "\r\n");
    if (has_body && !head && body_len)
        wh_buf_append(b, body, body_len);
}

static void build_problem_ex(wh_http_server_t *srv, wh_buf_t *b, int status, const char *detail,
                             const wh_http_header_t *extra, size_t n_extra, bool head,
                             bool keep_alive)
{
    wh_buf_t json;
    wh_buf_init(&json);
    wh_problem_json(&json, &(wh_problem_t){.status = status, .detail = wh_cstr(detail)}, NULL);
    if (wh_buf_failed(&json))
        b->failed = true;
    else
        build_response(srv, b, status, "application/problem+json", extra, n_extra, json.data,
                       json.len, head, keep_alive);
    wh_buf_close(&json);
}

/* The answer to a request whose response is not held, over a budget of
 * WH_HTTP_MAX_CONN_QUEUED_BYTES or WH_HTTP_MAX_QUEUED_BYTES. */
static void build_shed(wh_http_server_t *srv, wh_buf_t *b, bool head, bool keep_alive)
{
    static const wh_http_header_t retry = {"Retry-After", "1"};
    build_problem_ex(srv, b, 503, "too many responses are waiting to be read; try again later",
                     &retry, 1, head, keep_alive);
}

/* --- requests -------------------------------------------------------------- */

static req_t *req_new(conn_t *c)
{
    req_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->conn = c;
    r->srv = c->srv;
    r->max_body = c->srv->cfg.max_body_bytes;
    r->state = R_PARSING;
    wh_buf_init(&r->strs);
    wh_buf_init(&r->body);
    return r;
}

/* Gives back what a large body held of srv->large_held. */
static void req_unhold(req_t *r)
{
    if (!r->held)
        return;
    assert(r->srv->large_held >= r->held);
    r->srv->large_held -= r->held;
    r->held = 0;
}

static void req_free(req_t *r)
{
    if (!r)
        return;
    req_unhold(r);
    wh_buf_close(&r->strs);
    wh_buf_close(&r->body);
    free(r->resp);
    free(r);
}

static void queue_push(conn_t *c, req_t *r)
{
    r->next = NULL;
    if (c->qtail)
        c->qtail->next = r;
    else
        c->qhead = r;
    c->qtail = r;
    c->nq++;
}

static req_t *queue_pop(conn_t *c)
{
    req_t *r = c->qhead;
    c->qhead = r->next;
    if (!c->qhead)
        c->qtail = NULL;
    r->next = NULL;
    c->nq--;
    return r;
}

/* --- llhttp callbacks -------------------------------------------------------- */

/* Refuses the message: llhttp stops with an error and conn_parse answers
 * status instead of the generic 400. */
__attribute__((format(printf, 3, 4))) static int refuse(conn_t *c, int status, const char *fmt, ...)
{
    va_list ap;
    if (!c->err_status) {
        c->err_status = status;
        va_start(ap, fmt);
        vsnprintf(c->err_detail, sizeof c->err_detail, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int on_message_begin(llhttp_t *p)
{
    conn_t *c = p->data;
    c->cur = req_new(c);
    if (!c->cur)
        return refuse(c, 500, "out of memory");
    c->n_headers = 0;
    c->seen_content_length = false;
    c->expect_continue = false;
    c->chunk_crlf_due = false;
    wh_buf_reset(&c->hname);
    wh_buf_reset(&c->hval);
    c->ev = EV_BEGIN;
    return HPE_PAUSED;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    if (c->cur->strs.len + len > WH_HTTP_MAX_URL_BYTES)
        return refuse(c, 414, "the URL is longer than %d bytes", WH_HTTP_MAX_URL_BYTES);
    wh_buf_append(&c->cur->strs, at, len);
    return 0;
}

static int on_url_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    c->cur->url_len = c->cur->strs.len;
    wh_buf_putc(&c->cur->strs, '\0');
    return 0;
}

/* Chunk extensions and trailers are counted with the request line and
 * headers: they cost the parser as much, and nothing else bounds them. */
static int count_after_headers(conn_t *c, size_t n)
{
    c->hdr_bytes += n;
    if (c->hdr_bytes > WH_HTTP_MAX_HEADER_BYTES)
        return refuse(c, 431,
                      "the request line, headers, chunk extensions and trailers are longer than "
                      "%d bytes",
                      WH_HTTP_MAX_HEADER_BYTES);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    if (c->hname.len + len > WH_HTTP_MAX_HEADER_BYTES)
        return refuse(c, 431, "a header name is longer than %d bytes", WH_HTTP_MAX_HEADER_BYTES);
    /* llhttp 8.1 takes "Host : x" as a header named "Host "; a proxy in
     * front may read it otherwise (RFC 9112, section 5.1: reject). */
    if (memchr(at, ' ', len) || memchr(at, '\t', len))
        return refuse(c, 400, "malformed request: whitespace in a header name");
    if (c->pstate != P_HEADERS && count_after_headers(c, len) != 0)
        return -1;
    wh_buf_append(&c->hname, at, len);
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    /* Trailers of a chunked body count too: they are headers by another name
     * and cost the same to keep. */
    if (++c->n_headers > WH_HTTP_MAX_HEADERS)
        return refuse(c, 431, "more than %d header fields", WH_HTTP_MAX_HEADERS);
    if (c->pstate != P_HEADERS)
        return count_after_headers(c, 1); /* the colon */
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    if (c->hval.len + len > WH_HTTP_MAX_HEADER_BYTES)
        return refuse(c, 431, "a header value is longer than %d bytes", WH_HTTP_MAX_HEADER_BYTES);
    /* A value's first span starts after the colon and any spaces, and a
     * span continued across reads starts where the last one ended; one that
     * starts right after a line feed is a continuation line (obs-fold),
     * which llhttp 8.1 accepts and RFC 9112, section 5.2 lets a server
     * reject. (An empty value's span starts after its line feed, and is
     * empty. A value that is nothing but a continuation line starts after
     * the spaces that follow the line feed: conn_parse counts the line
     * feeds of the headers for that case.) */
    uint64_t pos = stream_pos_of(c, at);
    if (len > 0 && pos > 0 && stream_byte(c, pos - 1) == '\n')
        return refuse(c, 400, "malformed request: a header continued on another line");
    if (c->pstate != P_HEADERS && count_after_headers(c, len) != 0)
        return -1;
    wh_buf_append(&c->hval, at, len);
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    req_t *r = c->cur;
    const char *name = buf_str(&c->hname);
    int ret = 0;
    if (c->pstate != P_HEADERS && count_after_headers(c, 2) != 0) /* the CRLF */
        return -1;

    /* llhttp leaves trailing whitespace in the value. */
    while (c->hval.len &&
           (c->hval.data[c->hval.len - 1] == ' ' || c->hval.data[c->hval.len - 1] == '\t'))
        c->hval.data[--c->hval.len] = '\0';
    const char *value = buf_str(&c->hval);

    if (c->pstate != P_HEADERS) {
        /* A trailer: counted and bounded above, otherwise ignored. */
    } else if (c->hname.len == 14 && strcasecmp(name, "content-length") == 0) {
        /* Two lengths, even equal ones, are how request smuggling starts. */
        if (c->seen_content_length)
            ret = refuse(c, 400, "duplicate Content-Length");
        c->seen_content_length = true;
    } else if (c->hname.len == 6 && strcasecmp(name, "expect") == 0) {
        c->expect_continue = strcasecmp(value, "100-continue") == 0;
    } else {
        for (int i = 0; i < H_NAMED; i++) {
            /* The first of repeated headers wins; later ones are ignored. */
            if (c->hname.len == named_headers[i].len &&
                strcasecmp(name, named_headers[i].name) == 0 && !r->hdr_off[i]) {
                r->hdr_off[i] = r->strs.len + 1;
                wh_buf_append(&r->strs, value, c->hval.len);
                wh_buf_putc(&r->strs, '\0');
                break;
            }
        }
    }
    wh_buf_reset(&c->hname);
    wh_buf_reset(&c->hval);
    return ret;
}

static int on_headers_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    req_t *r = c->cur;
    r->head = p->method == HTTP_HEAD;
    r->pub.method = llhttp_method_name((llhttp_method_t)p->method);
    if (p->http_major != 1)
        return refuse(c, 505, "only HTTP/1.x is served");
    wh_http_server_t *srv = c->srv;
    if (srv->cfg.body_limit && r->strs.data) {
        const char *path = r->strs.data;
        const char *q = memchr(path, '?', r->url_len);
        size_t ct = r->hdr_off[H_CONTENT_TYPE];
        size_t limit = srv->cfg.body_limit(r->pub.method, path, q ? (size_t)(q - path) : r->url_len,
                                           ct ? r->strs.data + ct - 1 : NULL, srv->ud);
        if (limit > r->max_body)
            r->max_body = limit;
    }
    /* Refuse before the first body byte arrives, not after it was stored. */
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > r->max_body)
        return refuse(c, 413, "the body of %llu bytes exceeds the limit of %zu",
                      (unsigned long long)p->content_length, r->max_body);
    if (r->max_body > srv->cfg.max_body_bytes) {
        size_t want = (p->flags & F_CONTENT_LENGTH) ? (size_t)p->content_length : r->max_body;
        if (want > srv->cfg.max_large_held_bytes - srv->large_held)
            return refuse(c, 503, "too many large bodies are being received; try again later");
        r->held = want;
        srv->large_held += want;
    }
    c->ev = EV_HEADERS;
    return HPE_PAUSED;
}

static int on_chunk_header(llhttp_t *p)
{
    conn_t *c = p->data;
    /* p->content_length is the size of the chunk announced. */
    if (p->content_length > c->cur->max_body - c->cur->body.len)
        return refuse(c, 413, "the chunked body exceeds the limit of %zu bytes", c->cur->max_body);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    if (len > c->cur->max_body - c->cur->body.len)
        return refuse(c, 413, "the body exceeds the limit of %zu bytes", c->cur->max_body);
    wh_buf_append(&c->cur->body, at, len);
    /* The span that ends a chunk's data leaves nothing of it to read. */
    if ((p->flags & F_CHUNKED) && p->content_length == 0) {
        c->chunk_end = stream_pos_of(c, at) + len;
        c->chunk_crlf_due = true;
    }
    return 0;
}

/* llhttp 8.1 skips the two bytes after a chunk's data whatever they are,
 * so "5\r\nhelloXX" is a chunk; a proxy that reads it otherwise sees another
 * request in the body. They are looked at here, right after they were
 * consumed. */
static int on_chunk_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    if (!c->chunk_crlf_due)
        return 0;
    c->chunk_crlf_due = false;
    if (stream_byte(c, c->chunk_end) != '\r' || stream_byte(c, c->chunk_end + 1) != '\n')
        return refuse(c, 400, "malformed request: no CRLF after the data of a chunk");
    return 0;
}

static int on_chunk_extension(llhttp_t *p, const char *at, size_t len)
{
    (void)at;
    return count_after_headers(p->data, len);
}

static int on_chunk_extension_sep(llhttp_t *p)
{
    return count_after_headers(p->data, 1); /* the ';' or '=' before it */
}

static int on_message_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    /* After an upgrade or CONNECT the bytes that follow are not HTTP; the
     * request is answered like any other and the connection then closed. */
    c->msg_keep_alive = !p->upgrade && llhttp_should_keep_alive(p);
    c->ev = EV_COMPLETE;
    return HPE_PAUSED;
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_chunk_header = on_chunk_header,
    .on_chunk_extension_name = on_chunk_extension,
    .on_chunk_extension_name_complete = on_chunk_extension_sep,
    .on_chunk_extension_value = on_chunk_extension,
    .on_chunk_extension_value_complete = on_chunk_extension_sep,
    .on_chunk_complete = on_chunk_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* --- writing ------------------------------------------------------------------ */

typedef struct wreq {
    uv_write_t req;
    char *data;
    size_t len;
} wreq_t;

static void on_write(uv_write_t *w, int status)
{
    wreq_t *wr = container_of(w, wreq_t, req);
    conn_t *c = container_of(w->handle, conn_t, tcp);
    c->wq_bytes -= wr->len;
    queued_sub(c, wr->len);
    free(wr->data);
    free(wr);
    if (c->closing)
        return;
    if (status < 0)
        conn_close(c);
    else
        conn_progress(c);
}

/* Takes data (malloc'd) whatever happens. */
static int conn_write(conn_t *c, char *data, size_t len)
{
    return c->io->write(c, data, len);
}

static int sock_write(conn_t *c, char *data, size_t len)
{
    /* Most responses fit in the socket buffer: write them at once. A
     * uv_write request costs libuv 1.44 an epoll_ctl when it completes,
     * even though nothing changes, and that is one syscall per response.
     * Only when nothing is queued, so that responses keep their order. */
    if (c->wq_bytes == 0) {
        uv_buf_t now = uv_buf_init(data, (unsigned)len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &now, 1);
        if (n == (int)len) {
            free(data);
            return 0;
        }
        if (n > 0) {
            memmove(data, data + n, len - (size_t)n);
            len -= (size_t)n;
        } else if (n != UV_EAGAIN) {
            free(data);
            return WH_EIO;
        }
    }
    wreq_t *wr = malloc(sizeof *wr);
    if (!wr) {
        free(data);
        return WH_ENOMEM;
    }
    wr->data = data;
    wr->len = len;
    uv_buf_t b = uv_buf_init(data, (unsigned)len);
    if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        free(data);
        free(wr);
        return WH_EIO;
    }
    c->wq_bytes += len;
    queued_add(c, len);
    return 0;
}

/* Writes every response at the head of the queue that is ready. A response
 * behind one still with the handler waits for it. */
static void conn_flush(conn_t *c)
{
    while (!c->closing && c->qhead && c->qhead->state == R_READY) {
        req_t *r = queue_pop(c);
        bool close_after = !r->keep_alive;
        char *data = r->resp;
        size_t len = r->resp_len;
        r->resp = NULL;
        queued_sub(c, len);
        req_free(r);
        if (conn_write(c, data, len) != 0) {
            conn_close(c);
            return;
        }
        if (close_after)
            c->no_more = true;
    }
}

/* Queues r, answered at once with the response in b (which it takes). When
 * either could not be built, the connection is closed instead. */
static bool queue_answer(conn_t *c, req_t *r, wh_buf_t *b)
{
    if (!r || wh_buf_failed(b)) {
        wh_buf_close(b);
        req_free(r);
        conn_close(c);
        return false;
    }
    r->resp = wh_buf_steal(b, &r->resp_len);
    r->state = R_READY;
    queue_push(c, r);
    queued_add(c, r->resp_len);
    return true;
}

/* Answers the connection with an error of its own and closes it after
 * everything before the error has been written. */
static void conn_fail(conn_t *c, int status, const char *detail)
{
    wh_http_server_t *srv = c->srv;
    if (c->cur) {
        req_free(c->cur);
        c->cur = NULL;
    }
    c->pstate = P_IDLE;
    c->in_msg = false;
    c->no_more = true;
    if (status == 413 || status == 414 || status == 431)
        srv->stats.limit_errors++;
    else if (status == 408)
        srv->stats.timeouts++;

    req_t *r = req_new(c);
    wh_buf_t b;
    wh_buf_init(&b);
    /* A 503 of the server's own (too many large bodies at once) passes. */
    static const wh_http_header_t retry = {"Retry-After", "1"};
    build_problem_ex(srv, &b, status, detail, status == 503 ? &retry : NULL, status == 503, false,
                     false);
    if (r)
        r->keep_alive = false;
    queue_answer(c, r, &b);
}

/* --- parsing ------------------------------------------------------------------ */

/* Hands the complete request c->cur to the handler (or sheds it). */
static void hand_over(conn_t *c)
{
    wh_http_server_t *srv = c->srv;
    req_t *r = c->cur;
    c->cur = NULL;
    c->pstate = P_IDLE;
    c->in_msg = false;

    if (wh_buf_failed(&r->strs) || wh_buf_failed(&r->body) || !r->strs.data) {
        req_free(r);
        conn_fail(c, 500, "out of memory");
        return;
    }
    char *url = r->strs.data;
    char *q = memchr(url, '?', r->url_len);
    if (q) {
        *q = '\0';
        r->pub.query = q + 1;
    } else {
        r->pub.query = "";
    }
    r->pub.path = url;
    const char **fields[H_NAMED] = {
        &r->pub.authorization,   &r->pub.content_type,    &r->pub.if_match,
        &r->pub.idempotency_key, &r->pub.request_id,      &r->pub.accept,
        &r->pub.if_none_match,   &r->pub.cookie,          &r->pub.origin,
        &r->pub.sec_fetch_site,  &r->pub.accept_language, &r->pub.host,
        &r->pub.csrf_token,
    };
    for (int i = 0; i < H_NAMED; i++)
        *fields[i] = r->hdr_off[i] ? r->strs.data + r->hdr_off[i] - 1 : NULL;
    r->pub.body = r->body.len ? r->body.data : NULL;
    r->pub.body_len = r->body.len;
    memcpy(r->pub.peer, c->peer, sizeof r->pub.peer);
    r->pub.started_ns = c->first_ns;
    r->keep_alive = c->msg_keep_alive;
    r->safe = r->head || strcmp(r->pub.method, "GET") == 0;
    if (!r->keep_alive)
        c->no_more = true;
    if (srv->queued > srv->cfg.max_queued_bytes && c->queued > 0) {
        /* Over the global budget, a connection that is itself behind in
         * reading gets no further work. Fresh connections (a health probe)
         * are still served; their large reads are shed in
         * wh_http_respond(). */
        wh_buf_t b;
        wh_buf_init(&b);
        build_shed(srv, &b, r->head, r->keep_alive);
        wh_buf_close(&r->strs);
        wh_buf_close(&r->body);
        if (queue_answer(c, r, &b))
            srv->stats.shed++;
        return;
    }
    r->state = R_WAITING;
    queue_push(c, r);
    c->n_waiting++;
    srv->stats.requests_in_flight++;
    srv->fn(srv, &r->pub, srv->ud);
}

/* The deadline for a request's headers runs from its first byte and is not
 * moved by later bytes: a client that dribbles one byte a second must not
 * keep the connection forever. */
static void start_headers(conn_t *c)
{
    if (c->pstate != P_IDLE)
        return;
    c->pstate = P_HEADERS;
    c->first_ns = c->read_ns;
    c->hdr_deadline = now_ms(c) + c->srv->cfg.header_timeout_ms;
}

static int write_continue(conn_t *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char *copy = malloc(sizeof cont - 1);
    if (!copy)
        return WH_ENOMEM;
    memcpy(copy, cont, sizeof cont - 1);
    return conn_write(c, copy, sizeof cont - 1);
}

static void conn_parse(conn_t *c)
{
    /* After a pause llhttp may have work left that needs no input (a
     * message without body completes right after its headers), so it is run
     * once more even when every byte has been consumed. */
    bool resumed = false;
    while (!c->closing && !c->no_more && (c->in_off < c->in_len || resumed) &&
           c->nq < WH_HTTP_MAX_PIPELINE && c->queued <= c->srv->cfg.max_conn_queued_bytes) {
        const char *start = c->in + c->in_off;
        size_t avail = c->in_len - c->in_off;
        c->ev = EV_NONE;
        resumed = false;
        c->exec_base = start;
        c->exec_pos = c->stream_pos;
        llhttp_errno_t err = llhttp_execute(&c->parser, start, avail);
        size_t used = err == HPE_OK ? avail : (size_t)(llhttp_get_error_pos(&c->parser) - start);
        if (used >= 2) {
            c->tail[0] = start[used - 2];
            c->tail[1] = start[used - 1];
        } else if (used == 1) {
            c->tail[0] = c->tail[1];
            c->tail[1] = start[0];
        }
        c->stream_pos += used;
        c->in_off += used;
        if (c->in_msg && c->pstate == P_HEADERS) {
            c->hdr_bytes += used;
            for (const char *q = start; (q = memchr(q, '\n', (size_t)(start + used - q))); q++)
                c->hdr_lfs++;
        }

        if (err == HPE_OK) {
            if (c->in_msg && c->pstate == P_HEADERS && c->hdr_bytes > WH_HTTP_MAX_HEADER_BYTES)
                goto too_large;
            break;
        }
        if (err == HPE_PAUSED) {
            llhttp_resume(&c->parser);
            resumed = true;
            switch (c->ev) {
            case EV_BEGIN:
                /* The bytes before the message were blank lines between
                 * requests, which llhttp skips; they do not count. */
                start_headers(c);
                c->in_msg = true;
                c->begun = true;
                c->hdr_bytes = 0;
                c->hdr_lfs = 0;
                break;
            case EV_HEADERS:
                if (c->hdr_bytes > WH_HTTP_MAX_HEADER_BYTES)
                    goto too_large;
                /* One line feed ends the request line, one each header
                 * field and one the headers: any other began a
                 * continuation line. */
                if (c->hdr_lfs != c->n_headers + 2) {
                    conn_fail(c, 400, "malformed request: a header continued on another line");
                    break;
                }
                c->pstate = P_BODY;
                c->body_deadline = now_ms(c) + c->srv->cfg.body_timeout_ms;
                /* A client that asked to be told before sending its body is
                 * told now, unless earlier responses are still owed: then
                 * the "100 Continue" would arrive out of turn, and the client
                 * sends the body anyway after a short wait. */
                if (c->expect_continue && c->nq == 0 &&
                    ((c->parser.flags & F_CHUNKED) || c->parser.content_length > 0) &&
                    write_continue(c) != 0) {
                    conn_close(c);
                    return;
                }
                break;
            case EV_COMPLETE:
                hand_over(c);
                /* A response given at once is written before the next
                 * request is parsed, so that the write-queue limit in the
                 * loop condition sees it. */
                conn_flush(c);
                break;
            case EV_NONE:
                break;
            }
            continue;
        }
        if (err == HPE_PAUSED_UPGRADE) {
            /* The request before it was dispatched with keep-alive off. */
            c->no_more = true;
            break;
        }
        if (c->err_status) {
            conn_fail(c, c->err_status, c->err_detail);
        } else {
            char detail[128];
            snprintf(detail, sizeof detail, "malformed request: %s",
                     llhttp_get_error_reason(&c->parser));
            conn_fail(c, 400, detail);
        }
        break;
    too_large:
        snprintf(c->err_detail, sizeof c->err_detail,
                 "the request line and headers are longer than %d bytes", WH_HTTP_MAX_HEADER_BYTES);
        conn_fail(c, 431, c->err_detail);
        break;
    }
    if (c->pstate == P_HEADERS && !c->in_msg && c->in_off == c->in_len) {
        /* Only blank lines arrived, which llhttp skips between requests; no
         * request has started, so the idle timeout applies, not the header
         * deadline. */
        c->pstate = P_IDLE;
    }
    if (c->in_off == c->in_len) {
        /* Nothing kept: an idle keep-alive connection holds no buffer (a
         * few are kept by the server for whichever reads next). */
        wh_http_server_t *srv = c->srv;
        if (c->in && c->in_cap == READ_CHUNK && srv->n_spare_in < HTTP_SPARE_READ_BUFS)
            srv->spare_in[srv->n_spare_in++] = c->in;
        else
            free(c->in);
        c->in = NULL;
        c->in_off = c->in_len = c->in_cap = 0;
    }
}

/* --- connection state ---------------------------------------------------------- */

static void on_timer(uv_timer_t *t);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void conn_update_reading(conn_t *c)
{
    if (c->closing)
        return;
    bool want = c->draining || (!c->no_more && !c->eof && c->nq < WH_HTTP_MAX_PIPELINE &&
                                c->queued <= c->srv->cfg.max_conn_queued_bytes);
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
            conn_close(c);
            return;
        }
        c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void conn_arm_timer(conn_t *c)
{
    if (c->closing || c->draining)
        return;
    const wh_http_config_t *cfg = &c->srv->cfg;
    uint64_t now = now_ms(c), deadline;
    enum tkind kind;
    if (c->n_waiting > 0) {
        /* The handler has the connection's attention; the gateway bounds
         * that wait itself and answers 504. */
        uv_timer_stop(&c->timer);
        c->tkind = T_NONE;
        return;
    }
    if (!c->begun && !c->no_more && c->pstate == P_IDLE) {
        /* Nothing but blank lines since accept: the socket may be held open
         * only to take a slot, so it is idle for a shorter while. */
        uint64_t wait = cfg->first_byte_timeout_ms < cfg->idle_timeout_ms
                            ? cfg->first_byte_timeout_ms
                            : cfg->idle_timeout_ms;
        kind = T_IDLE;
        deadline = c->accepted_ms + wait;
    } else if (c->no_more || c->pstate == P_IDLE) {
        /* Also covers responses written to a client that does not read
         * them: the write makes no progress and the idle timer ends it. */
        kind = T_IDLE;
        deadline = now + cfg->idle_timeout_ms;
    } else if (c->pstate == P_HEADERS) {
        kind = T_HEADER;
        deadline = c->hdr_deadline;
    } else {
        kind = T_BODY;
        deadline = c->body_deadline;
    }
    c->tkind = kind;
    uv_timer_start(&c->timer, on_timer, deadline > now ? deadline - now : 0, 0);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    conn_t *c = container_of(req, conn_t, shutdown);
    if (status < 0 && !c->closing)
        conn_close(c);
}

/* Everything owed has been written and no further request is taken. Closing
 * the socket now, with client bytes still unread, would make the kernel send
 * a reset that can destroy the response before the client reads it; so the
 * write side is shut down and input discarded until the client closes or
 * WH_HTTP_LINGER_MS pass (the lingering close of Apache and nginx). */
static void sock_finish(conn_t *c)
{
    if (c->eof) {
        conn_close(c);
        return;
    }
    c->draining = true;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    conn_update_reading(c);
    if (c->closing)
        return;
    c->tkind = T_LINGER;
    uv_timer_start(&c->timer, on_timer, WH_HTTP_LINGER_MS, 0);
}

/* Takes every decision about what the connection does next. Re-entrant calls
 * (a handler answering from inside hand_over) only ask the running call to go
 * round once more, so that the parse loop never runs inside itself. */
static void conn_progress(conn_t *c)
{
    if (c->closing || c->draining)
        return;
    if (c->progressing) {
        c->progress_again = true;
        return;
    }
    c->progressing = true;
    do {
        c->progress_again = false;
        conn_flush(c);
        if (c->closing)
            break;
        conn_parse(c);
        conn_flush(c); /* an error the parse queued */
        if (c->closing)
            break;
        if (c->eof && !c->no_more && c->in_off == c->in_len) {
            /* The client will send nothing more; a request it left half
             * done cannot complete. What it did send is still answered. */
            c->no_more = true;
            if (c->cur) {
                req_free(c->cur);
                c->cur = NULL;
            }
        }
    } while (c->progress_again);
    c->progressing = false;
    if (c->closing)
        return;
    if (c->no_more && c->nq == 0 && c->wq_bytes == 0) {
        c->io->finish(c);
        return;
    }
    c->io->settle(c);
}

static void on_timer(uv_timer_t *t)
{
    conn_t *c = container_of(t, conn_t, timer);
    char detail[96];
    switch (c->tkind) {
    case T_HEADER:
        snprintf(detail, sizeof detail, "the request headers did not arrive within %llu ms",
                 (unsigned long long)c->srv->cfg.header_timeout_ms);
        conn_fail(c, 408, detail);
        conn_progress(c);
        break;
    case T_BODY:
        snprintf(detail, sizeof detail, "the request body did not arrive within %llu ms",
                 (unsigned long long)c->srv->cfg.body_timeout_ms);
        conn_fail(c, 408, detail);
        conn_progress(c);
        break;
    case T_IDLE:
    case T_LINGER:
        conn_close(c);
        break;
    case T_NONE:
        break;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn_t *c = container_of(h, conn_t, tcp);
    (void)suggested;
    if (c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (!c->in && c->srv->n_spare_in > 0) {
        c->in = c->srv->spare_in[--c->srv->n_spare_in];
        c->in_cap = READ_CHUNK;
    }
    if (c->in_cap - c->in_len < READ_CHUNK) {
        char *p = realloc(c->in, c->in_len + READ_CHUNK);
        if (!p) {
            *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
            return;
        }
        c->in = p;
        c->in_cap = c->in_len + READ_CHUNK;
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

/* New bytes are in c->in, read from the socket or fed: parse them. */
static void conn_received(conn_t *c)
{
    c->read_ns = uv_hrtime();
    if (!c->no_more)
        start_headers(c);
    conn_progress(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = container_of(s, conn_t, tcp);
    (void)buf;
    if (c->closing)
        return;
    if (nread < 0) {
        if (nread == UV_EOF && !c->draining) {
            c->eof = true;
            uv_read_stop(s);
            c->reading = false;
            conn_progress(c);
        } else {
            conn_close(c);
        }
        return;
    }
    if (nread == 0)
        return;
    if (c->draining) {
        c->in_off = c->in_len = 0;
        return;
    }
    c->in_len += (size_t)nread;
    conn_received(c);
}

/* --- connection lifetime --------------------------------------------------------- */

static void conn_init_common(conn_t *c, wh_http_server_t *srv, const conn_io_t *io)
{
    c->io = io;
    c->srv = srv;
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
    wh_buf_init(&c->hname);
    wh_buf_init(&c->hval);
    c->pstate = P_IDLE;
}

/* Requests the handler still holds are orphaned, not freed: the handler
 * answers them later and wh_http_respond() frees them then. */
static void conn_drop_requests(conn_t *c)
{
    while (c->qhead) {
        req_t *r = queue_pop(c);
        if (r->state == R_WAITING) {
            /* An orphan may outlive the server: it no longer counts. */
            req_unhold(r);
            r->conn = NULL;
            c->n_waiting--;
            c->srv->stats.requests_in_flight--;
        } else {
            if (r->state == R_READY)
                queued_sub(c, r->resp_len);
            req_free(r);
        }
    }
    req_free(c->cur);
    c->cur = NULL;
}

static void conn_release(conn_t *c)
{
    wh_buf_close(&c->hname);
    wh_buf_close(&c->hval);
    free(c->in);
    free(c);
}

static void srv_free(wh_http_server_t *srv)
{
    while (srv->n_spare_in > 0)
        free(srv->spare_in[--srv->n_spare_in]);
    free(srv);
}

static void srv_maybe_free(wh_http_server_t *srv)
{
    if (srv->destroying && srv->listener_closed && !srv->conns)
        srv_free(srv);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    if (--c->handles > 0)
        return;
    wh_http_server_t *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->counted)
        srv->n_conns--;
    if (c->rejected)
        srv->n_rejecting--;
    srv->stats.connections_open = srv->n_conns;
    conn_release(c);
    srv_maybe_free(srv);
}

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    conn_drop_requests(c);
    c->io->close(c);
}

static void sock_close(conn_t *c)
{
    /* Pending writes and the shutdown complete with UV_ECANCELED before the
     * close callbacks run, so the connection outlives them. */
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void sock_settle(conn_t *c)
{
    conn_update_reading(c);
    conn_arm_timer(c);
}

static const conn_io_t sock_io = {sock_write, sock_settle, sock_finish, sock_close};

/* The peer as text, and the key its connections are counted under: the
 * IPv4 address (also when mapped into IPv6), or the /64 of an IPv6 address,
 * which one subscriber usually holds whole. */
static void peer_name(conn_t *c)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    struct sockaddr_storage ss;
    int len = sizeof ss;
    strcpy(c->peer, "unknown");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, c->peer, sizeof c->peer);
        memcpy(c->addr_key, &a->sin_addr, 4);
        c->addr_key_len = 4;
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, c->peer, sizeof c->peer);
        if (memcmp(a->sin6_addr.s6_addr, v4mapped, sizeof v4mapped) == 0) {
            memcpy(c->addr_key, a->sin6_addr.s6_addr + 12, 4);
            c->addr_key_len = 4;
        } else {
            memcpy(c->addr_key, a->sin6_addr.s6_addr, 8);
            c->addr_key_len = 8;
        }
    }
}

/* Counted connections from c's address, c not included. A walk over at
 * most max_connections entries, once per accepted connection. */
static unsigned addr_connections(const conn_t *c)
{
    unsigned n = 0;
    if (!c->addr_key_len)
        return 0;
    for (const conn_t *o = c->srv->conns; o; o = o->next)
        if (o != c && o->counted && !o->closing && o->addr_key_len == c->addr_key_len &&
            memcmp(o->addr_key, c->addr_key, c->addr_key_len) == 0)
            n++;
    return n;
}

static void on_connection(uv_stream_t *server, int status)
{
    wh_http_server_t *srv = container_of(server, wh_http_server_t, listener);
    if (status < 0 || srv->destroying)
        return;
    conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return; /* libuv offers the connection again on the next turn */
    conn_init_common(c, srv, &sock_io);
    /* Neither init can fail for a TCP handle and a timer on a live loop;
     * from here on every exit goes through conn_close(). */
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;

    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    srv->stats.connections_total++;
    peer_name(c);
    /* Responses go out whole; Nagle's algorithm would only hold back the
     * second of two pipelined ones. */
    uv_tcp_nodelay(&c->tcp, 1);

    c->accepted_ms = now_ms(c);
    const char *full = NULL;
    if (srv->n_conns >= (unsigned)srv->cfg.max_connections)
        full = "too many open connections";
    else if (addr_connections(c) >= (unsigned)srv->cfg.max_connections_per_addr)
        full = "too many open connections from this address";
    if (full) {
        srv->stats.connections_rejected++;
        if (srv->n_rejecting >= MAX_REJECTING) {
            conn_close(c);
            return;
        }
        c->rejected = true;
        srv->n_rejecting++;
        conn_fail(c, 503, full);
    } else {
        c->counted = true;
        srv->n_conns++;
        srv->stats.connections_open = srv->n_conns;
    }
    conn_progress(c);
}

/* --- public interface --------------------------------------------------------------- */

void wh_http_config_defaults(wh_http_config_t *cfg)
{
    cfg->addr = "127.0.0.1:8080";
    cfg->max_connections = WH_HTTP_MAX_CONNECTIONS;
    cfg->max_connections_per_addr = WH_HTTP_MAX_CONNECTIONS_PER_ADDR;
    cfg->max_body_bytes = WH_HTTP_MAX_BODY_BYTES;
    cfg->body_limit = NULL;
    cfg->max_large_held_bytes = WH_HTTP_MAX_LARGE_HELD_BYTES;
    cfg->max_conn_queued_bytes = WH_HTTP_MAX_CONN_QUEUED_BYTES;
    cfg->max_queued_bytes = WH_HTTP_MAX_QUEUED_BYTES;
    cfg->first_byte_timeout_ms = WH_HTTP_FIRST_BYTE_TIMEOUT_MS;
    cfg->header_timeout_ms = WH_HTTP_HEADER_TIMEOUT_MS;
    cfg->body_timeout_ms = WH_HTTP_BODY_TIMEOUT_MS;
    cfg->idle_timeout_ms = WH_HTTP_IDLE_TIMEOUT_MS;
}

/* cfg with its zero limits and deadlines replaced by the defaults. */
static void config_fill(wh_http_config_t *out, const wh_http_config_t *cfg)
{
    wh_http_config_t defaults;
    wh_http_config_defaults(&defaults);
    *out = cfg ? *cfg : defaults;
    out->addr = NULL;
    if (!out->max_connections)
        out->max_connections = defaults.max_connections;
    if (!out->max_connections_per_addr)
        out->max_connections_per_addr = defaults.max_connections_per_addr;
    if (!out->max_body_bytes)
        out->max_body_bytes = defaults.max_body_bytes;
    if (!out->max_large_held_bytes)
        out->max_large_held_bytes = defaults.max_large_held_bytes;
    if (!out->max_conn_queued_bytes)
        out->max_conn_queued_bytes = defaults.max_conn_queued_bytes;
    if (!out->max_queued_bytes)
        out->max_queued_bytes = defaults.max_queued_bytes;
    if (!out->first_byte_timeout_ms)
        out->first_byte_timeout_ms = defaults.first_byte_timeout_ms;
    if (!out->header_timeout_ms)
        out->header_timeout_ms = defaults.header_timeout_ms;
    if (!out->body_timeout_ms)
        out->body_timeout_ms = defaults.body_timeout_ms;
    if (!out->idle_timeout_ms)
        out->idle_timeout_ms = defaults.idle_timeout_ms;
}

/* "host:port" with an IPv4 literal, or "[v6]:port". A bare IPv6 literal is
 * refused: its last group could not be told from a port. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss)
{
    char host[64];
    const char *port;
    size_t hlen;
    bool v6 = false;
    if (!addr)
        return WH_EINVAL;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':')
            return WH_EINVAL;
        hlen = (size_t)(end - addr - 1);
        memcpy(host, addr + 1, hlen < sizeof host ? hlen : 0);
        port = end + 2;
        v6 = true;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
            return WH_EINVAL;
        hlen = (size_t)(colon - addr);
        memcpy(host, addr, hlen < sizeof host ? hlen : 0);
        port = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof host)
        return WH_EINVAL;
    host[hlen] = '\0';
    unsigned long pn = 0;
    size_t digits = 0;
    for (; port[digits]; digits++) {
        if (port[digits] < '0' || port[digits] > '9' || digits >= 5)
            return WH_EINVAL;
        pn = pn * 10 + (unsigned long)(port[digits] - '0');
    }
    if (digits == 0 || pn > 65535)
        return WH_EINVAL;
    memset(ss, 0, sizeof *ss);
    int r = v6 ? uv_ip6_addr(host, (int)pn, (struct sockaddr_in6 *)ss)
               : uv_ip4_addr(host, (int)pn, (struct sockaddr_in *)ss);
    return r == 0 ? 0 : WH_EINVAL;
}

static void on_listener_closed(uv_handle_t *h)
{
    wh_http_server_t *srv = container_of(h, wh_http_server_t, listener);
    srv->listener_closed = true;
    srv_maybe_free(srv);
}

int wh_http_server_new(uv_loop_t *loop, const wh_http_config_t *cfg, wh_http_handler_fn fn,
                       void *ud, wh_http_server_t **out)
{
    wh_http_config_t defaults;
    struct sockaddr_storage ss;
    int err;

    if (!loop || !fn || !out)
        return WH_EINVAL;
    *out = NULL;
    wh_http_config_defaults(&defaults);
    if (!cfg)
        cfg = &defaults;
    if ((err = parse_addr(cfg->addr, &ss)) != 0)
        return err;
    if (cfg->max_connections < 0 || cfg->max_connections_per_addr < 0)
        return WH_EINVAL;

    wh_http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return WH_ENOMEM;
    srv->loop = loop;
    srv->fn = fn;
    srv->ud = ud;
    config_fill(&srv->cfg, cfg);

    /* libuv writes with write(2), so a client that disconnects while its
     * response is being written would kill the whole gateway with SIGPIPE.
     * A handler the embedding program installed is left alone. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);

    if (uv_tcp_init(loop, &srv->listener) != 0) {
        err = WH_EIO;
        goto fail_free;
    }
    if (uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0) != 0 ||
        uv_listen((uv_stream_t *)&srv->listener, SOMAXCONN, on_connection) != 0) {
        err = WH_EIO;
        goto fail_close;
    }
    int len = sizeof ss;
    if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len) != 0) {
        err = WH_EIO;
        goto fail_close;
    }
    srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *out = srv;
    return 0;

fail_close:
    /* The handle belongs to the loop now; its close callback frees srv the
     * next time the caller runs the loop. */
    srv->destroying = true;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    return err;
fail_free:
    free(srv);
    return err;
}

int wh_http_port(const wh_http_server_t *srv)
{
    return srv->port;
}

void wh_http_server_destroy(wh_http_server_t **srv_p)
{
    wh_http_server_t *srv = srv_p ? *srv_p : NULL;
    if (!srv)
        return;
    *srv_p = NULL;
    if (!srv->loop) {
        /* Detached: its connections are freed by their owner. */
        srv_free(srv);
        return;
    }
    srv->destroying = true;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    for (conn_t *c = srv->conns; c; c = c->next)
        conn_close(c);
}

void wh_http_respond(wh_http_req_t *pub, int status, const char *content_type,
                     const wh_http_header_t *extra, size_t n_extra, const char *body,
                     size_t body_len)
{
    req_t *r = container_of(pub, req_t, pub);
    conn_t *c = r->conn;
    assert(r->state == R_WAITING);
    assert(status >= 100 && status <= 999);
    if (!c) {
        req_free(r);
        return;
    }
    c->n_waiting--;
    c->srv->stats.requests_in_flight--;
    if (c->n_waiting == 0) {
        /* A request that arrived behind this one was not the client's fault
         * to delay; its deadline runs from now at the earliest. */
        uint64_t now = now_ms(c);
        if (c->pstate == P_HEADERS && c->hdr_deadline < now + c->srv->cfg.header_timeout_ms)
            c->hdr_deadline = now + c->srv->cfg.header_timeout_ms;
        if (c->pstate == P_BODY && c->body_deadline < now + c->srv->cfg.body_timeout_ms)
            c->body_deadline = now + c->srv->cfg.body_timeout_ms;
    }

    wh_buf_t b;
    wh_buf_init(&b);
    if (status < 100 || status > 999)
        status = 500;
    bool keep_alive = r->keep_alive && !c->srv->destroying;
    build_response(c->srv, &b, status, content_type, extra, n_extra, body, body_len, r->head,
                   keep_alive);
    const wh_http_config_t *cfg = &c->srv->cfg;
    if (r->safe && !wh_buf_failed(&b) &&
        (c->queued > cfg->max_conn_queued_bytes || c->srv->queued > cfg->max_queued_bytes)) {
        /* Not held while the client does not read what it already has;
         * unless it is smaller than its replacement. */
        wh_buf_t shed;
        wh_buf_init(&shed);
        build_shed(c->srv, &shed, r->head, keep_alive);
        if (!wh_buf_failed(&shed) && shed.len < b.len) {
            wh_buf_close(&b);
            b = shed;
            c->srv->stats.shed++;
        } else {
            wh_buf_close(&shed);
        }
    }
    /* What the handler was given is no longer valid; free it early. */
    wh_buf_close(&r->strs);
    wh_buf_close(&r->body);
    r->state = R_READY;
    r->keep_alive = keep_alive;
    if (wh_buf_failed(&b)) {
        wh_buf_close(&b);
        conn_close(c);
        return;
    }
    r->resp = wh_buf_steal(&b, &r->resp_len);
    queued_add(c, r->resp_len);
    conn_progress(c);
}

void wh_http_get_stats(const wh_http_server_t *srv, wh_http_stats_t *out)
{
    *out = srv->stats;
    out->connections_open = srv->n_conns;
    out->queued_bytes = srv->queued;
}

/* --- detached connections ------------------------------------------------------------ */

static int detached_write(conn_t *c, char *data, size_t len)
{
    c->output(c->output_ud, data, len);
    free(data);
    return 0;
}

static void detached_settle(conn_t *c)
{
    (void)c;
}

static void detached_close(conn_t *c)
{
    (void)c;
}

static const conn_io_t detached_io = {detached_write, detached_settle, conn_close, detached_close};

int wh_http_server_new_detached(const wh_http_config_t *cfg, wh_http_handler_fn fn, void *ud,
                                wh_http_server_t **out)
{
    if (!fn || !out)
        return WH_EINVAL;
    wh_http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return WH_ENOMEM;
    config_fill(&srv->cfg, cfg);
    srv->fn = fn;
    srv->ud = ud;
    *out = srv;
    return 0;
}

int wh_http_conn_new_detached(wh_http_server_t *srv, const char *peer, wh_http_output_fn output,
                              void *output_ud, wh_http_conn_t **out)
{
    conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return WH_ENOMEM;
    conn_init_common(c, srv, &detached_io);
    c->output = output;
    c->output_ud = output_ud;
    snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "detached");
    *out = c;
    return 0;
}

bool wh_http_conn_feed(wh_http_conn_t *c, const char *data, size_t len)
{
    if (c->closing || c->no_more)
        return false;
    if (c->in_len + len > c->in_cap) {
        char *p = realloc(c->in, c->in_len + len);
        if (!p) {
            conn_close(c);
            return false;
        }
        c->in = p;
        c->in_cap = c->in_len + len;
    }
    if (len)
        memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    conn_received(c);
    return !c->closing && !c->no_more;
}

void wh_http_conn_eof(wh_http_conn_t *c)
{
    if (c->closing)
        return;
    c->eof = true;
    conn_progress(c);
}

void wh_http_conn_free(wh_http_conn_t *c)
{
    if (!c)
        return;
    conn_close(c);
    conn_release(c);
}
