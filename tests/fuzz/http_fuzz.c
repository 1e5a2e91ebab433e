/* Fuzz target for the gateway's HTTP request parsing: arbitrary bytes go
 * through the server's own llhttp callbacks, limit checks and pipelined
 * response queue on a detached connection (http.h), fed in chunks of varying
 * size. The handler answers some requests at once and holds the others, to
 * be answered in reverse order after each chunk, so that the ordering and
 * pipeline-limit paths run. Besides the sanitizers, the target aborts if a
 * response leaves out of order or more requests wait than the pipeline
 * limit allows. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_state {
    wh_http_req_t *held[WH_HTTP_MAX_PIPELINE];
    unsigned n_held;
    unsigned long seq;      /* arrival number of the next request */
    unsigned long next_out; /* the number the next response must carry */
} fuzz_state_t;

/* Each response carries X-Seq with its request's arrival number. */
static void answer(wh_http_req_t *req, unsigned long seq)
{
    char seqbuf[32];
    snprintf(seqbuf, sizeof seqbuf, "%lu", seq);
    wh_http_header_t h[2] = {{"X-Seq", seqbuf}, {"X-Request-Id", req->request_id}};
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_printf(&b, "%s %s?%s %zu", req->method, req->path, req->query, req->body_len);
    wh_http_respond(req, 200, req->content_type ? req->content_type : "text/plain", h,
                    req->request_id ? 2 : 1, b.data, b.len);
    wh_buf_close(&b);
}

static void handler(wh_http_server_t *srv, wh_http_req_t *req, void *ud)
{
    fuzz_state_t *st = ud;
    (void)srv;
    unsigned long seq = st->seq++;
    req->user = (void *)(uintptr_t)seq;
    /* The pipeline limit is what keeps this array from overflowing. */
    if (st->n_held >= WH_HTTP_MAX_PIPELINE)
        abort();
    if (seq % 3 == 0)
        answer(req, seq);
    else
        st->held[st->n_held++] = req;
}

static void answer_held(fuzz_state_t *st)
{
    while (st->n_held > 0) {
        wh_http_req_t *req = st->held[--st->n_held];
        answer(req, (unsigned long)(uintptr_t)req->user);
    }
}

/* Responses to the handler's requests leave in arrival order. */
static void check_order(void *ud, const char *data, size_t len)
{
    fuzz_state_t *st = ud;
    const char *end = data + len;
    static const char key[] = "\r\nX-Seq: ";
    for (const char *p = data; p + sizeof key - 1 < end; p++) {
        if (memcmp(p, key, sizeof key - 1) != 0)
            continue;
        unsigned long seq = strtoul(p + sizeof key - 1, NULL, 10);
        if (seq != st->next_out)
            abort();
        st->next_out++;
        return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_state_t st;
    memset(&st, 0, sizeof st);
    wh_http_config_t cfg;
    wh_http_config_defaults(&cfg);
    cfg.max_body_bytes = 4096; /* small, so that inputs reach it */
    wh_http_server_t *srv;
    wh_http_conn_t *c;
    if (wh_http_server_new_detached(&cfg, handler, &st, &srv) != 0)
        return 0;
    if (wh_http_conn_new_detached(srv, "fuzz", check_order, &st, &c) != 0) {
        wh_http_server_destroy(&srv);
        return 0;
    }
    /* Chunk sizes from a fixed generator, so that fields, limits and phase
     * boundaries fall across reads the way a slow network makes them. */
    uint32_t rng = 2166136261u ^ (uint32_t)size;
    size_t off = 0;
    bool open = true;
    while (off < size && open) {
        rng = rng * 1664525u + 1013904223u;
        size_t n = 1 + (rng >> 8) % 700;
        if (n > size - off)
            n = size - off;
        open = wh_http_conn_feed(c, (const char *)data + off, n);
        off += n;
        answer_held(&st);
    }
    wh_http_conn_eof(c);
    answer_held(&st);
    wh_http_conn_free(c);
    answer_held(&st); /* orphans now: freed without a connection */
    wh_http_server_destroy(&srv);
    return 0;
}
