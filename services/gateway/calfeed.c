#include "calfeed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "envelope.h"
#include "msg.h"
#include "ops.h"

#define CALFEED_MAX_CURSOR 64

struct fetch {
    calfeed_req_t r;
    char request_id[WH_ENV_MAX_ID + 1];
    char token_id[WH_ENV_MAX_TOKEN_ID + 1];
    char *strings;     /* owned copies of the orgs and filters */
    const char **orgs; /* into strings */
    calfeed_done_fn done;
    void *ud;
    char cursor[CALFEED_MAX_CURSOR + 1]; /* empty before the first page */
    size_t asked;                        /* the most events the page may hold */
    wh_buf_t cal;                        /* the calendar's first lines, then the events so far */
    size_t head_len;                     /* 0 before the first page */
    wh_buf_t tail;
};

/* Bytes the feeds under way hold together, at most max_held. */
static size_t held;

static void finish(struct fetch *f, int status, const char *reply, size_t len)
{
    held -= f->cal.len + f->tail.len;
    if (status == BROKER_OK && !reply) {
        wh_buf_append(&f->cal, f->tail.data, f->tail.len);
        if (wh_buf_failed(&f->cal))
            f->done(f->ud, BROKER_UNAVAILABLE, NULL, 0, NULL, 0);
        else
            f->done(f->ud, BROKER_OK, NULL, 0, f->cal.data, f->cal.len);
    } else {
        f->done(f->ud, status, reply, len, NULL, 0);
    }
    wh_buf_close(&f->cal);
    wh_buf_close(&f->tail);
    free(f->strings);
    free(f->orgs);
    free(f);
}

static void send_page(struct fetch *f);

static bool copy_bin(const msgpack_object *o, wh_buf_t *to, size_t max)
{
    if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size > max)
        return false;
    wh_buf_append(to, o->via.bin.ptr, o->via.bin.size);
    return true;
}

static void on_page(void *ud, int status, const char *reply, size_t len)
{
    struct fetch *f = ud;
    if (status != BROKER_OK) {
        finish(f, status, NULL, 0);
        return;
    }
    wh_msg_t m;
    int64_t st;
    if (wh_msg_decode(reply, len, &m) != 0) {
        finish(f, CALFEED_BAD_REPLY, NULL, 0);
        return;
    }
    if (!wh_msg_int(wh_msg_get(m.root, "status"), &st) || st != 200) {
        wh_msg_close(&m);
        finish(f, BROKER_OK, reply, len);
        return;
    }
    const msgpack_object *body = wh_msg_get(m.root, "body");
    const msgpack_object *next = wh_msg_get(body, "next_cursor");
    const msgpack_object *events = wh_msg_get(body, "events");
    if (events && events->type == MSGPACK_OBJECT_BIN &&
        held + events->via.bin.size + (f->head_len ? 0 : 2 * CALFEED_FRAME_BYTES) > f->r.max_held) {
        wh_msg_close(&m);
        finish(f, CALFEED_BUSY, NULL, 0);
        return;
    }
    size_t had = f->cal.len + f->tail.len;
    bool first = f->head_len == 0;
    bool ok = !first || (copy_bin(wh_msg_get(body, "head"), &f->cal, CALFEED_FRAME_BYTES) &&
                         copy_bin(wh_msg_get(body, "tail"), &f->tail, CALFEED_FRAME_BYTES));
    if (first)
        f->head_len = f->cal.len;
    size_t before = f->cal.len;
    ok = ok && f->head_len > 0 && copy_bin(events, &f->cal, f->asked);
    held += f->cal.len + f->tail.len - had;
    bool more = next && next->type != MSGPACK_OBJECT_NIL;
    if (ok && more && wh_msg_copy_str(next, f->cursor, sizeof f->cursor) != 0)
        ok = false;
    wh_msg_close(&m);
    if (!ok || wh_buf_failed(&f->cal)) {
        finish(f, CALFEED_BAD_REPLY, NULL, 0);
        return;
    }
    /* Done when the last page came, or when the next agreement did not fit
     * in what was left (a page without events). */
    if (!more || f->cal.len == before)
        finish(f, BROKER_OK, NULL, 0);
    else
        send_page(f);
}

static void send_page(struct fetch *f)
{
    /* What is left of max_bytes, with the calendar's first and last lines
     * (reserved at their most until the first page has given them). */
    size_t used = f->head_len ? f->cal.len + f->tail.len : 2 * CALFEED_FRAME_BYTES;
    size_t room = f->r.max_bytes > used ? f->r.max_bytes - used : 0;
    f->asked = room < WH_CALENDAR_PAGE_MAX_BYTES ? room : WH_CALENDAR_PAGE_MAX_BYTES;
    char max[24];
    snprintf(max, sizeof max, "%zu", f->asked);
    wh_param_t params[4];
    size_t n = 0;
    params[n++] = (wh_param_t){"max_bytes", {max, strlen(max)}};
    if (f->cursor[0])
        params[n++] = (wh_param_t){"cursor", {f->cursor, strlen(f->cursor)}};
    if (f->r.employer_id)
        params[n++] = (wh_param_t){"employer_id", {f->r.employer_id, strlen(f->r.employer_id)}};
    if (f->r.insurer_id)
        params[n++] = (wh_param_t){"insurer_id", {f->r.insurer_id, strlen(f->r.insurer_id)}};
    wh_buf_t env;
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){.op = WH_OP_AGREEMENTS_CALENDAR_PAGE,
                                              .id = f->request_id,
                                              .token_id = f->token_id[0] ? f->token_id : NULL,
                                              .role = f->r.role,
                                              .orgs = f->r.orgs,
                                              .n_orgs = f->r.n_orgs,
                                              .deadline_ms = (int64_t)f->r.timeout_ms,
                                              .params = params,
                                              .n_params = n});
    if (wh_buf_failed(&env)) {
        wh_buf_close(&env);
        finish(f, BROKER_UNAVAILABLE, NULL, 0);
        return;
    }
    broker_send(f->r.broker, WH_SVC_AGREEMENTS, env.data, env.len, f->r.timeout_ms, on_page, f);
    wh_buf_close(&env);
}

void calfeed_fetch(const calfeed_req_t *r, calfeed_done_fn done, void *ud)
{
    struct fetch *f = calloc(1, sizeof *f);
    size_t bytes = 0;
    for (size_t i = 0; i < r->n_orgs; i++)
        bytes += strlen(r->orgs[i]) + 1;
    bytes += (r->employer_id ? strlen(r->employer_id) : 0) + 1;
    bytes += (r->insurer_id ? strlen(r->insurer_id) : 0) + 1;
    char *s = f ? malloc(bytes) : NULL;
    const char **orgs = s ? calloc(r->n_orgs ? r->n_orgs : 1, sizeof *orgs) : NULL;
    if (!orgs || r->max_bytes < 2 * CALFEED_FRAME_BYTES) {
        free(s);
        free(f);
        done(ud, BROKER_UNAVAILABLE, NULL, 0, NULL, 0);
        return;
    }
    f->r = *r;
    f->done = done;
    f->ud = ud;
    f->strings = s;
    f->orgs = orgs;
    snprintf(f->request_id, sizeof f->request_id, "%s", r->request_id);
    snprintf(f->token_id, sizeof f->token_id, "%s", r->token_id ? r->token_id : "");
    for (size_t i = 0; i < r->n_orgs; i++) {
        size_t n = strlen(r->orgs[i]) + 1;
        memcpy(s, r->orgs[i], n);
        orgs[i] = s;
        s += n;
    }
    f->r.orgs = orgs;
    if (r->employer_id) {
        strcpy(s, r->employer_id);
        f->r.employer_id = s;
        s += strlen(s) + 1;
    }
    if (r->insurer_id) {
        strcpy(s, r->insurer_id);
        f->r.insurer_id = s;
    }
    wh_buf_init(&f->cal);
    wh_buf_init(&f->tail);
    send_page(f);
}
