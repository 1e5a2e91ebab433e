#include "broker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "zsock.h"

#define IDENTITY_MAX 32

struct instance {
    unsigned char identity[IDENTITY_MAX];
    size_t identity_len;
    uint64_t last_heard;
    uint32_t in_flight;
    int alive;    /* announced and still connected */
    bool stalled; /* connected, but silent past the liveness window */
};

/* A request in flight. Pending requests sit in a hash table by correlation
 * id and in a list kept in deadline order, so the sweep for expired ones
 * only looks at the head. Requests mostly share one timeout, so insertion
 * is at the tail. */
struct pending {
    uint64_t corr;
    uint64_t deadline;
    enum wh_svc svc;
    int instance; /* index in the service's instances */
    broker_reply_fn fn;
    void *ud;
    struct pending *next_hash;
    struct pending *prev, *next; /* deadline FIFO */
};

#define HASH_BUCKETS 4096

_Static_assert(WH_FRAME_HDR <= WH_ZSOCK_MAX_HDR, "the frame header fits ZMQ_MAXMSGSIZE");

struct broker {
    uv_loop_t *loop;
    void *zctx;
    void *router;
    wh_zsock_t zs;
    uv_timer_t timer;
    struct instance inst[WH_SVC_COUNT][BROKER_MAX_INSTANCES];
    int n_inst[WH_SVC_COUNT];
    unsigned rr[WH_SVC_COUNT];
    struct pending *hash[HASH_BUCKETS];
    struct pending *head, *tail;
    uint64_t n_pending;
    uint64_t next_corr;
    uint64_t stalled_max_ms;
    int closing;      /* handles (timer, bridge) whose close has not finished */
    wh_curve_t curve; /* curve.on: peers are admitted by key, named by ZAP */
    wh_zap_t *zap;
};

static struct pending **bucket(broker_t *b, uint64_t corr)
{
    return &b->hash[(corr * 0x9E3779B97F4A7C15ull) >> 52];
}

static void unlink_pending(broker_t *b, struct pending *p)
{
    struct pending **pp = bucket(b, p->corr);
    while (*pp != p)
        pp = &(*pp)->next_hash;
    *pp = p->next_hash;
    if (p->prev)
        p->prev->next = p->next;
    else
        b->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        b->tail = p->prev;
    b->n_pending--;
    struct instance *in = &b->inst[p->svc][p->instance];
    if (in->in_flight)
        in->in_flight--;
}

static void finish(broker_t *b, struct pending *p, int status, const char *reply, size_t len)
{
    unlink_pending(b, p);
    broker_reply_fn fn = p->fn;
    void *ud = p->ud;
    free(p);
    fn(ud, status, reply, len);
}

static int find_instance(broker_t *b, enum wh_svc svc, const unsigned char *id, size_t n)
{
    for (int i = 0; i < b->n_inst[svc]; i++) {
        struct instance *in = &b->inst[svc][i];
        if (in->identity_len == n && memcmp(in->identity, id, n) == 0)
            return i;
    }
    return -1;
}

/* A lost instance's requests are answered 503: whether it acted on them
 * is unknown, and the client decides whether to retry (with its
 * Idempotency-Key for creations). */
static void drop_instance(broker_t *b, enum wh_svc svc, int idx, const char *why)
{
    struct instance *in = &b->inst[svc][idx];
    if (!in->alive)
        return;
    in->alive = 0;
    in->stalled = false;
    wh_log_warn("%s instance lost (%s); %d left", wh_service_names[svc], why,
                broker_instances(b, svc));
    struct pending *p = b->head;
    while (p) {
        struct pending *next = p->next;
        if (p->svc == svc && p->instance == idx)
            finish(b, p, BROKER_UNAVAILABLE, NULL, 0);
        p = next;
    }
    in->in_flight = 0;
}

/* Under CURVE, the ZAP user id of the peer's messages is the service its
 * key is listed for; a message without one did not pass the handler. */
static int admitted_as(const broker_t *b, zmq_msg_t *m, const char *name, size_t name_len)
{
    if (!b->curve.on)
        return 1;
    const char *user = zmq_msg_gets(m, "User-Id");
    if (!user || !*user)
        return 0;
    return !name || (strlen(user) == name_len && memcmp(user, name, name_len) == 0);
}

/* Any message from an instance shows its loop turns again. */
static void heard(broker_t *b, enum wh_svc svc, struct instance *in)
{
    in->last_heard = uv_now(b->loop);
    if (in->stalled) {
        in->stalled = false;
        wh_log_info("%s instance answering again", wh_service_names[svc]);
    }
}

static void heard_from(broker_t *b, const unsigned char *id, size_t n, const char *name,
                       size_t name_len)
{
    enum wh_svc svc = WH_SVC_COUNT;
    for (int s = 1; s < WH_SVC_COUNT; s++)
        if (strlen(wh_service_names[s]) == name_len &&
            memcmp(wh_service_names[s], name, name_len) == 0)
            svc = (enum wh_svc)s;
    if (svc == WH_SVC_COUNT || n > IDENTITY_MAX) {
        wh_log_warn("heartbeat from an unknown service ignored");
        return;
    }
    int idx = find_instance(b, svc, id, n);
    if (idx < 0) {
        /* Reuse a dead slot before growing. */
        for (int i = 0; i < b->n_inst[svc] && idx < 0; i++)
            if (!b->inst[svc][i].alive)
                idx = i;
        if (idx < 0) {
            if (b->n_inst[svc] == BROKER_MAX_INSTANCES) {
                wh_log_warn("%s: more than %d instances; ignoring one", wh_service_names[svc],
                            BROKER_MAX_INSTANCES);
                return;
            }
            idx = b->n_inst[svc]++;
        }
        struct instance *in = &b->inst[svc][idx];
        memcpy(in->identity, id, n);
        in->identity_len = n;
        in->in_flight = 0;
    }
    struct instance *in = &b->inst[svc][idx];
    heard(b, svc, in);
    if (!in->alive) {
        in->alive = 1;
        wh_log_info("%s instance ready; %d up", wh_service_names[svc], broker_instances(b, svc));
    }
}

/* A message that names no service (a service-to-service request) still
 * shows its sender's loop turning. */
static void heard_any(broker_t *b, const unsigned char *id, size_t n)
{
    for (int s = 1; s < WH_SVC_COUNT; s++) {
        int idx = find_instance(b, (enum wh_svc)s, id, n);
        if (idx >= 0 && b->inst[s][idx].alive) {
            heard(b, (enum wh_svc)s, &b->inst[s][idx]);
            return;
        }
    }
}

static void on_reply(broker_t *b, const unsigned char *id, size_t idn, const char *corr,
                     const char *payload, size_t len)
{
    uint64_t c;
    memcpy(&c, corr, 8);
    for (struct pending *p = *bucket(b, c); p; p = p->next_hash) {
        if (p->corr != c)
            continue;
        struct instance *in = &b->inst[p->svc][p->instance];
        if (in->identity_len != idn || memcmp(in->identity, id, idn) != 0)
            return; /* not the instance it was sent to: ignore */
        heard(b, p->svc, in);
        finish(b, p, BROKER_OK, payload, len);
        return;
    }
    /* Late reply to a request that timed out: nothing waits for it. */
}

void broker_reply_pack(wh_buf_t *out, const char *id, int status)
{
    wh_reply_out_t r = {.id = id, .status = BROKER_UNAVAILABLE};
    if (status == BROKER_TOO_LARGE) {
        r.status = status;
        r.problem.type = WH_STR("too-large");
        r.problem.detail = WH_STR("the request is over the size the services accept");
    } else if (status == BROKER_TIMEOUT) {
        r.status = status;
        r.problem.type = WH_STR("deadline");
        r.problem.detail = WH_STR("the service did not answer in time");
    } else {
        r.retry_after_s = 1;
        r.problem.type = WH_STR("unavailable");
        r.problem.detail = WH_STR("no instance of the service is available");
    }
    wh_reply_env_pack(out, &r);
}

/* A request from one service instance to another service (the event relay
 * uses this): forwarded like any request, its reply or failure sent back to
 * the asking instance under its own correlation id. */
struct forward {
    broker_t *b;
    unsigned char identity[IDENTITY_MAX];
    size_t identity_len;
    char corr[8];
};

static void on_forward_reply(void *ud, int status, const char *reply, size_t len)
{
    struct forward *f = ud;
    wh_buf_t synth;
    wh_buf_init(&synth);
    if (status != BROKER_OK) {
        broker_reply_pack(&synth, "", status);
        reply = synth.data;
        len = synth.len;
    }
    char hdr[WH_FRAME_HDR];
    wh_frame_hdr(hdr, WH_CMD_REPLY, 0, f->corr);
    if (f->b->router && wh_zsock_send_joined(f->b->router, f->identity, f->identity_len, hdr,
                                             sizeof hdr, reply, len) != 0)
        wh_log_warn("a service-to-service reply could not be returned");
    wh_buf_close(&synth);
    free(f);
}

static void forward_request(broker_t *b, const unsigned char *id, size_t idn, const char *corr,
                            unsigned target, const char *payload, size_t len)
{
    if (target == 0 || target >= WH_SVC_COUNT || idn > IDENTITY_MAX) {
        wh_log_warn("dropped a service request for an unknown service");
        return;
    }
    struct forward *f = malloc(sizeof *f);
    if (!f)
        return;
    f->b = b;
    memcpy(f->identity, id, idn);
    f->identity_len = idn;
    memcpy(f->corr, corr, 8);
    broker_send(b, (enum wh_svc)target, payload, len, BROKER_FORWARD_TIMEOUT_MS, on_forward_reply,
                f);
}

static void on_readable(wh_zsock_t *z)
{
    broker_t *b = z->data;
    for (int i = 0; i < 1024; i++) {
        zmq_msg_t f[WH_ZSOCK_MAX_FRAMES];
        int nf = wh_zsock_recv(b->router, f);
        if (nf == 0)
            break;
        if (nf < 0)
            continue;
        wh_frame_t fr;
        if (nf == 2 && wh_frame_parse(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &fr)) {
            const unsigned char *id = zmq_msg_data(&f[0]);
            size_t idn = zmq_msg_size(&f[0]);
            if (fr.cmd == WH_CMD_HEARTBEAT) {
                if (admitted_as(b, &f[1], fr.payload, fr.len))
                    heard_from(b, id, idn, fr.payload, fr.len);
                else
                    wh_log_warn("a peer's key does not admit it as the service it names");
            } else if (fr.cmd == WH_CMD_REPLY) {
                on_reply(b, id, idn, fr.corr, fr.payload, fr.len);
            } else if (fr.cmd == WH_CMD_REQUEST) {
                heard_any(b, id, idn);
                if (!admitted_as(b, &f[1], NULL, 0))
                    wh_log_warn("dropped a service request from a peer not admitted");
                else
                    forward_request(b, id, idn, fr.corr, fr.target, fr.payload, fr.len);
            }
        } else {
            wh_log_warn("dropped a malformed message on the broker socket");
        }
        wh_zsock_msgs_close(f, nf);
    }
}

static int send_to(broker_t *b, struct instance *in, char cmd, uint64_t corr, const void *payload,
                   size_t len)
{
    char hdr[WH_FRAME_HDR];
    wh_frame_hdr(hdr, cmd, 0, &corr);
    return wh_zsock_send_joined(b->router, in->identity, in->identity_len, hdr, sizeof hdr, payload,
                                len);
}

static void on_timer(uv_timer_t *t)
{
    broker_t *b = t->data;
    uint64_t now = uv_now(b->loop);
    for (int s = 1; s < WH_SVC_COUNT; s++)
        for (int i = 0; i < b->n_inst[s]; i++) {
            struct instance *in = &b->inst[s][i];
            if (!in->alive)
                continue;
            if (send_to(b, in, WH_CMD_HEARTBEAT, 0, "", 0) == WH_ENOTFOUND) {
                drop_instance(b, (enum wh_svc)s, i, "disconnected");
            } else if (now - in->last_heard > b->stalled_max_ms) {
                /* Not a slow disk any more: a loop that hangs (its I/O
                 * thread still answering) is lost, so that the orchestrator
                 * sees it gone (/readyz) and restarts it. */
                drop_instance(b, (enum wh_svc)s, i, "silent too long");
            } else if (!in->stalled && now - in->last_heard > WH_LIVENESS_MS) {
                in->stalled = true;
                wh_log_warn("%s instance silent for %llu ms but connected; its requests wait "
                            "for it",
                            wh_service_names[s], (unsigned long long)(now - in->last_heard));
            }
        }
    while (b->head && b->head->deadline <= now)
        finish(b, b->head, BROKER_TIMEOUT, NULL, 0);
    wh_zsock_kick(&b->zs);
}

static int broker_open(uv_loop_t *loop, const char *endpoint, const wh_curve_t *curve,
                       broker_t **out);

int broker_new(uv_loop_t *loop, const char *endpoint, broker_t **out)
{
    return broker_open(loop, endpoint, NULL, out);
}

int broker_new_cfg(uv_loop_t *loop, const wh_config_t *cfg, broker_t **out)
{
    wh_curve_t *curve = malloc(sizeof *curve);
    if (!curve)
        return WH_ENOMEM;
    int rc = wh_curve_setup_server(cfg, wh_service_names + 1, WH_SVC_COUNT - 1, curve);
    if (rc == 0)
        rc = broker_open(loop, cfg->broker_bind, curve, out);
    free(curve);
    return rc;
}

static int broker_open(uv_loop_t *loop, const char *endpoint, const wh_curve_t *curve,
                       broker_t **out)
{
    broker_t *b = calloc(1, sizeof *b);
    if (!b)
        return WH_ENOMEM;
    if (curve)
        b->curve = *curve;
    b->loop = loop;
    b->next_corr = 1;
    b->stalled_max_ms = BROKER_STALLED_MAX_MS;
    b->zctx = zmq_ctx_new();
    if (!b->zctx)
        goto fail_ctx;
    b->router = zmq_socket(b->zctx, ZMQ_ROUTER);
    int on = 1;
    /* Mandatory routing makes a send to a vanished instance fail at once
     * (EHOSTUNREACH) instead of being dropped silently. */
    zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &on, sizeof on);
    if (wh_zsock_configure(b->router) != 0 ||
        wh_zsock_heartbeat(b->router, WH_HEARTBEAT_MS, (int)WH_LIVENESS_MS) != 0)
        goto fail_sock;
    if (b->curve.on && (wh_zap_start(b->zctx, &b->curve, &b->zap) != 0 ||
                        wh_curve_apply_server(b->router, &b->curve) != 0))
        goto fail_sock;
    if (zmq_bind(b->router, endpoint) != 0) {
        wh_log_error("cannot bind broker to %s: %s", endpoint, zmq_strerror(errno));
        goto fail_sock;
    }
    b->zs.data = b;
    if (wh_zsock_init(&b->zs, loop, b->router, on_readable) != 0)
        goto fail_sock;
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    uv_timer_start(&b->timer, on_timer, 100, 100);
    *out = b;
    return 0;

fail_sock:
    zmq_close(b->router);
    zmq_ctx_term(b->zctx);
    wh_zap_join(&b->zap);
fail_ctx:
    free(b);
    return WH_EIO;
}

/* The timer and the bridge are closed together at destroy, so that the
 * loop's owner, walking the loop to close what is left, finds them closing
 * already (closing a handle twice aborts). libuv finishes closes in its own
 * order, so whichever finishes last frees the broker. */
static void closed_one(broker_t *b)
{
    if (--b->closing > 0)
        return;
    zmq_close(b->router);
    zmq_ctx_term(b->zctx);
    wh_zap_join(&b->zap);
    free(b);
}

static void on_timer_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

static void on_zs_closed(wh_zsock_t *z)
{
    closed_one(z->data);
}

void broker_destroy(broker_t **b_p)
{
    broker_t *b = *b_p;
    if (!b)
        return;
    while (b->head)
        finish(b, b->head, BROKER_UNAVAILABLE, NULL, 0);
    b->closing = 2;
    uv_close((uv_handle_t *)&b->timer, on_timer_closed);
    wh_zsock_close(&b->zs, on_zs_closed);
    *b_p = NULL;
}

int broker_instances(const broker_t *b, enum wh_svc svc)
{
    int n = 0;
    for (int i = 0; i < b->n_inst[svc]; i++)
        n += b->inst[svc][i].alive;
    return n;
}

void broker_set_stalled_max(broker_t *b, uint64_t ms)
{
    b->stalled_max_ms = ms > WH_LIVENESS_MS ? ms : WH_LIVENESS_MS;
}

uint64_t broker_pending(const broker_t *b)
{
    return b->n_pending;
}

/* The live instance with the fewest requests in flight; ties go round
 * robin so that idle instances share the load evenly. A stalled instance
 * is taken only when every live one is stalled: its requests then wait in
 * its queue for it (or for their deadline) rather than fail at once. */
static int pick(broker_t *b, enum wh_svc svc)
{
    int best = -1, n = b->n_inst[svc];
    bool best_stalled = true;
    uint32_t best_load = UINT32_MAX;
    unsigned start = b->rr[svc]++;
    for (int k = 0; k < n; k++) {
        int i = (int)((start + (unsigned)k) % (unsigned)n);
        struct instance *in = &b->inst[svc][i];
        if (!in->alive)
            continue;
        bool better = best < 0 || (best_stalled && !in->stalled) ||
                      (best_stalled == in->stalled && in->in_flight < best_load);
        if (better) {
            best = i;
            best_stalled = in->stalled;
            best_load = in->in_flight;
        }
    }
    return best;
}

static void send_env(broker_t *b, enum wh_svc svc, int slot, const char *envelope, size_t len,
                     uint64_t timeout_ms, broker_reply_fn fn, void *ud);

void broker_send(broker_t *b, enum wh_svc svc, const char *envelope, size_t len,
                 uint64_t timeout_ms, broker_reply_fn fn, void *ud)
{
    send_env(b, svc, -1, envelope, len, timeout_ms, fn, ud);
}

int broker_slots(const broker_t *b, enum wh_svc svc)
{
    return b->n_inst[svc];
}

bool broker_slot_alive(const broker_t *b, enum wh_svc svc, int slot)
{
    return slot >= 0 && slot < b->n_inst[svc] && b->inst[svc][slot].alive;
}

void broker_send_slot(broker_t *b, enum wh_svc svc, int slot, const char *envelope, size_t len,
                      uint64_t timeout_ms, broker_reply_fn fn, void *ud)
{
    send_env(b, svc, slot < 0 ? BROKER_MAX_INSTANCES : slot, envelope, len, timeout_ms, fn, ud);
}

/* slot < 0: the instance pick() chooses; else that instance or none. */
static void send_env(broker_t *b, enum wh_svc svc, int slot, const char *envelope, size_t len,
                     uint64_t timeout_ms, broker_reply_fn fn, void *ud)
{
    /* The instance's socket would drop the connection over a message this
     * big, and every request in flight on it with the connection. */
    if (len > WH_MSG_MAX_BYTES) {
        fn(ud, BROKER_TOO_LARGE, NULL, 0);
        return;
    }
    if (b->n_pending >= BROKER_MAX_PENDING) {
        fn(ud, BROKER_UNAVAILABLE, NULL, 0);
        return;
    }
    for (;;) {
        int idx = slot < 0 ? pick(b, svc) : broker_slot_alive(b, svc, slot) ? slot : -1;
        if (idx < 0) {
            fn(ud, BROKER_UNAVAILABLE, NULL, 0);
            return;
        }
        struct instance *in = &b->inst[svc][idx];
        uint64_t corr = b->next_corr++;
        int rc = send_to(b, in, WH_CMD_REQUEST, corr, envelope, len);
        if (rc == WH_ENOTFOUND) {
            drop_instance(b, svc, idx, "disconnected");
            continue; /* nothing was sent: another instance may take it */
        }
        if (rc != 0) {
            fn(ud, BROKER_UNAVAILABLE, NULL, 0);
            return;
        }
        struct pending *p = calloc(1, sizeof *p);
        if (!p) {
            fn(ud, BROKER_UNAVAILABLE, NULL, 0);
            return;
        }
        p->corr = corr;
        p->deadline = uv_now(b->loop) + timeout_ms;
        p->svc = svc;
        p->instance = idx;
        p->fn = fn;
        p->ud = ud;
        struct pending **bk = bucket(b, corr);
        p->next_hash = *bk;
        *bk = p;
        /* Keep the FIFO in deadline order: walk back from the tail past
         * later deadlines (none, when every request has the same timeout). */
        struct pending *after = b->tail;
        while (after && after->deadline > p->deadline)
            after = after->prev;
        p->prev = after;
        p->next = after ? after->next : b->head;
        if (p->next)
            p->next->prev = p;
        else
            b->tail = p;
        if (after)
            after->next = p;
        else
            b->head = p;
        b->n_pending++;
        in->in_flight++;
        wh_zsock_kick(&b->zs);
        return;
    }
}
