#include "service.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "curve.h"
#include "err.h"
#include "id.h"
#include "log.h"
#include "zsock.h"

_Static_assert(WH_LOG_MAX_REQUEST_ID >= WH_ENV_MAX_ID, "a request id is logged whole");

struct pending {
    char corr[8];
    /* The decoded request borrows its strings from this frame (msgpack-c
     * unpacks without copying), so the frame lives as long as the request. */
    zmq_msg_t payload;
    wh_request_t req;
    int decoded; /* 0 ok, else a WH_E* code */
    uint64_t received_ms;
};

/* A call to another service awaiting its reply. */
struct call {
    uint64_t corr;
    uint64_t deadline;
    wh_call_fn fn;
    void *ud;
    struct call *next;
};

struct wh_service {
    const wh_service_def_t *def;
    wh_config_t cfg;
    uv_loop_t loop;
    wh_store_t *store;
    char store_path[WH_PATH_MAX];
    wh_dispatcher_t disp;
    void *zctx;
    wh_curve_t curve;
    void *dealer;
    wh_zsock_t zs;
    uv_timer_t heartbeat;
    uv_timer_t housekeeping;
    uv_signal_t sigint, sigterm;
    uint64_t broker_heard_ms;
    uint64_t beat_ns; /* when the last heartbeat went out (uv_hrtime) */
    int broker_up;
    struct pending batch[WH_SERVICE_MAX_BATCH];
    wh_reply_t reply;
    wh_buf_t out;
    struct call *calls; /* in deadline order: one timeout for all */
    struct call *calls_tail;
    uint64_t n_calls;
    uint64_t next_corr;
    void (*on_commit)(void *ud);
    void *on_commit_ud;
    struct job {
        uv_timer_t timer;
        wh_service_t *s;
        const wh_job_t *def;
        void *arg;
    } jobs[WH_SERVICE_MAX_JOBS];
    int n_jobs;
};

uv_loop_t *wh_service_loop(wh_service_t *s)
{
    return &s->loop;
}

wh_store_t *wh_service_store(wh_service_t *s)
{
    return s->store;
}

const wh_config_t *wh_service_config(wh_service_t *s)
{
    return &s->cfg;
}

void *wh_service_app(wh_service_t *s)
{
    return s->def->app;
}

static void send_frames(wh_service_t *s, char cmd, const char corr[8], const void *payload,
                        size_t len)
{
    char hdr[WH_FRAME_HDR];
    wh_frame_hdr(hdr, cmd, 0, corr);
    int rc = wh_zsock_send_joined(s->dealer, NULL, 0, hdr, sizeof hdr, payload, len);
    if (rc != 0 && cmd == WH_CMD_REPLY)
        wh_log_warn("reply not sent: %s", wh_strerror(rc));
}

/* The process's one service while it serves, for wh_service_keepalive. */
static wh_service_t *serving;

/* The handler of the service's METRICS operation, which the runtime adds to
 * the service's own handlers. */
static wh_figures_fn own_figures;
static void figures_handler(wh_ctx_t *c)
{
    wh_figures_handle(c, own_figures);
}

struct backup_call {
    wh_service_t *s;
    char corr[8];
    char id[WH_ENV_MAX_ID + 1];
};

static void backup_reply(void *ud, wh_reply_t *rep)
{
    struct backup_call *c = ud;
    wh_buf_t out;
    wh_buf_init(&out);
    wh_reply_pack(rep, c->id, &out);
    if (!wh_buf_failed(&out))
        send_frames(c->s, WH_CMD_REPLY, c->corr, out.data, out.len);
    wh_buf_close(&out);
    free(c);
}

/* Starts a backup of the store on a worker thread; the loop goes on
 * serving meanwhile. */
static void start_backup(wh_service_t *s, struct pending *p)
{
    struct backup_call *c = malloc(sizeof *c);
    if (!c)
        return; /* the gateway answers 504 */
    c->s = s;
    memcpy(c->corr, p->corr, 8);
    snprintf(c->id, sizeof c->id, "%s", p->req.id);
    wh_log_set_request(p->req.id);
    wh_backup_handle(&s->loop, &s->cfg, s->def->svc, s->store_path, &p->req, backup_reply, c);
    wh_log_set_request(NULL);
}

static void send_heartbeat(wh_service_t *s)
{
    const char *name = wh_service_names[s->def->svc];
    s->beat_ns = uv_hrtime();
    send_frames(s, WH_CMD_HEARTBEAT, NULL, name, strlen(name));
}

void wh_service_keepalive(void)
{
    if (serving && uv_hrtime() - serving->beat_ns >= (uint64_t)WH_HEARTBEAT_MS * 1000000u)
        send_heartbeat(serving);
}

static void finish_call(wh_service_t *s, struct call *prev, struct call *c, int status,
                        const msgpack_object *body)
{
    if (prev)
        prev->next = c->next;
    else
        s->calls = c->next;
    if (s->calls_tail == c)
        s->calls_tail = prev;
    s->n_calls--;
    wh_call_fn fn = c->fn;
    void *ud = c->ud;
    free(c);
    fn(ud, status, body);
}

static void on_call_reply(wh_service_t *s, const char corr[8], const char *data, size_t len)
{
    uint64_t id;
    memcpy(&id, corr, 8);
    struct call *prev = NULL, *c = s->calls;
    while (c && c->corr != id) {
        prev = c;
        c = c->next;
    }
    if (!c)
        return; /* timed out already */
    wh_reply_in_t r;
    if (wh_reply_env_decode(data, len, &r) != 0) {
        finish_call(s, prev, c, 502, NULL);
        return;
    }
    finish_call(s, prev, c, r.status, r.body);
    wh_reply_env_close(&r);
}

static void expire_calls(wh_service_t *s)
{
    uint64_t now = uv_now(&s->loop);
    while (s->calls && s->calls->deadline <= now)
        finish_call(s, NULL, s->calls, 504, NULL);
}

int wh_service_call(wh_service_t *s, int op, const char *body, size_t body_len, wh_call_fn fn,
                    void *ud)
{
    if (s->n_calls >= WH_SERVICE_MAX_CALLS)
        return WH_EAGAIN;
    struct call *c = calloc(1, sizeof *c);
    if (!c)
        return WH_ENOMEM;
    c->corr = ++s->next_corr;
    c->deadline = uv_now(&s->loop) + WH_SERVICE_CALL_TIMEOUT_MS;
    c->fn = fn;
    c->ud = ud;
    /* A call made while handling a request goes under that request's id,
     * so that the other service's lines name it too. */
    char rid[WH_ENV_MAX_ID + 1];
    if (wh_log_request())
        snprintf(rid, sizeof rid, "%s", wh_log_request());
    else
        wh_id_new(rid);
    wh_buf_t env;
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){.op = op,
                                              .id = rid,
                                              .token_id = wh_service_names[s->def->svc],
                                              .role = WH_ROLE_SERVICE,
                                              .deadline_ms = WH_SERVICE_CALL_TIMEOUT_MS,
                                              .body = body,
                                              .body_len = body_len});
    char hdr[WH_FRAME_HDR];
    wh_frame_hdr(hdr, WH_CMD_REQUEST, (unsigned)wh_ops[op].service, &c->corr);
    /* Over the limit, the broker would drop this instance's connection. */
    int rc = wh_buf_failed(&env) ? WH_ENOMEM
             : env.len > WH_MSG_MAX_BYTES
                 ? WH_ELIMIT
                 : wh_zsock_send_joined(s->dealer, NULL, 0, hdr, sizeof hdr, env.data, env.len);
    wh_buf_close(&env);
    if (rc != 0) {
        free(c);
        return rc;
    }
    if (s->calls_tail)
        s->calls_tail->next = c;
    else
        s->calls = c;
    s->calls_tail = c;
    s->n_calls++;
    wh_zsock_kick(&s->zs);
    return 0;
}

void wh_service_on_commit(wh_service_t *s, void (*fn)(void *ud), void *ud)
{
    s->on_commit = fn;
    s->on_commit_ud = ud;
}

static void job_failed(const struct job *j, int64_t rc)
{
    wh_log_error("%s failed: %s; retried at the next run", j->def->name, wh_strerror((int)rc));
}

static void on_job(uv_timer_t *t)
{
    struct job *j = t->data;
    wh_service_t *s = j->s;
    const wh_job_t *def = j->def;
    if (def->due && !def->due(s->store, j->arg))
        return;
    int64_t n;
    if (def->flags & WH_JOB_OWN_TXN) {
        n = def->run(s->store, j->arg);
        if (wh_store_in_txn(s->store)) {
            wh_store_rollback(s->store);
            n = n < 0 ? n : WH_ESTORE;
        }
    } else if ((n = wh_store_begin(s->store)) == 0) {
        n = def->run(s->store, j->arg);
        if (n < 0 || wh_store_commit(s->store) != 0) {
            wh_store_rollback(s->store);
            n = n < 0 ? n : WH_ESTORE;
        }
    }
    if (n < 0)
        job_failed(j, n);
    else if (n > 0 && s->on_commit)
        s->on_commit(s->on_commit_ud);
}

int wh_service_every(wh_service_t *s, uint64_t period_ms, const wh_job_t *job, void *arg)
{
    if (s->n_jobs == WH_SERVICE_MAX_JOBS)
        return WH_ELIMIT;
    struct job *j = &s->jobs[s->n_jobs];
    *j = (struct job){.s = s, .def = job, .arg = arg};
    if (uv_timer_init(&s->loop, &j->timer) != 0)
        return WH_EIO;
    s->n_jobs++;
    j->timer.data = j;
    return uv_timer_start(&j->timer, on_job, 0, period_ms) == 0 ? 0 : WH_EIO;
}

static void on_heartbeat(uv_timer_t *t)
{
    wh_service_t *s = t->data;
    expire_calls(s);
    send_heartbeat(s);
    wh_zsock_kick(&s->zs);
    uint64_t now = uv_now(&s->loop);
    if (s->broker_up && now - s->broker_heard_ms > WH_LIVENESS_MS) {
        s->broker_up = 0;
        wh_log_warn("gateway silent; still announcing");
    }
}

static void on_housekeeping(uv_timer_t *t)
{
    wh_service_t *s = t->data;
    if (wh_store_begin(s->store) == 0) {
        wh_dispatcher_expire(&s->disp);
        wh_store_commit(s->store);
    }
}

/* One line per request handled, under its request id: the operation's
 * name, the status and the time it took here (not the path, parameters or
 * body). The status is the handler's: should the batch's commit fail, the
 * line saying so follows and the client gets 503. A scrape of the
 * service's figures is routine: debug only. */
static void log_request(wh_service_t *s, const wh_request_t *req, double ms)
{
    int status = s->reply.status;
    int level = status >= 500                           ? WH_LOG_ERROR
                : req->op == wh_figures_op(s->def->svc) ? WH_LOG_DEBUG
                                                        : WH_LOG_INFO;
    if (status >= 500)
        wh_log(level, NULL, "%s %d %.1fms: %s", wh_ops[req->op].name, status, ms, s->reply.detail);
    else
        wh_log(level, NULL, "%s %d %.1fms", wh_ops[req->op].name, status, ms);
}

/* Runs the first requests of batch[0..n) in one transaction and answers
 * them after the commit; returns how many it ran. It stops taking more once
 * the transaction has run for WH_SERVICE_BATCH_MS, so that a burst of slow
 * requests is answered in slices, not all at the end. */
static int run_batch(wh_service_t *s, struct pending *batch, int n)
{
    uv_update_time(&s->loop);
    uint64_t now = uv_now(&s->loop);
    uint64_t started_ns = uv_hrtime();
    /* A batch of reads needs no write lock, and its commit no fsync. */
    bool writes = false;
    for (int i = 0; i < n && !writes; i++)
        writes = batch[i].decoded != 0 || (wh_ops[batch[i].req.op].flags & WH_OPF_WRITE);
    int began = (writes ? wh_store_begin(s->store) : wh_store_begin_read(s->store)) == 0;
    /* Replies are packed into one buffer back to back; offsets mark them. */
    size_t offs[WH_SERVICE_MAX_BATCH + 1];
    wh_buf_reset(&s->out);
    int ran = 0;
    while (ran < n) {
        int i = ran++;
        struct pending *p = &batch[i];
        wh_reply_reset(&s->reply);
        offs[i] = s->out.len;
        if (p->decoded != 0) {
            wh_reply_problem(&s->reply, 400, "bad-envelope", "malformed request envelope");
            wh_reply_pack(&s->reply, "", &s->out);
            continue;
        }
        /* Every line written while this request runs names it. */
        wh_log_set_request(p->req.id);
        uint64_t req_ns = uv_hrtime();
        if (!began) {
            wh_reply_problem(&s->reply, 503, "store-unavailable", "the store is busy");
        } else if ((int64_t)(now - p->received_ms) > p->req.deadline_ms) {
            /* The gateway has given up on this one already. */
            wh_reply_problem(&s->reply, 504, "deadline", "the deadline passed in the queue");
        } else {
            wh_dispatch(&s->disp, &p->req, &s->reply);
        }
        wh_reply_pack(&s->reply, p->req.id, &s->out);
        if (wh_msg_check(s->out.data + offs[i], s->out.len - offs[i]) != 0) {
            /* Hardly possible after wh_dispatch's check of the body, but a
             * message over the limit would cost this instance its
             * connection and every request in flight with it, and one the
             * gateway cannot decode would be a 502: answer this one alone. */
            s->out.len = offs[i];
            wh_reply_problem(&s->reply, 507, "reply-too-large",
                             "the answer is over the size a reply may carry");
            wh_reply_pack(&s->reply, p->req.id, &s->out);
        }
        log_request(s, &p->req, (double)(uv_hrtime() - req_ns) / 1e6);
        /* A long batch (hundreds of large reads) keeps the loop from its
         * heartbeat timer; without a sign of life the broker would drop
         * this instance, and every request in flight with it, for being
         * busy. */
        wh_service_keepalive();
        if (uv_hrtime() - started_ns >= (uint64_t)WH_SERVICE_BATCH_MS * 1000000u)
            break;
    }
    /* The next request's id replaces this one's; cleared once per batch
     * (each set is a copy of the id), before anything is logged outside a
     * request. */
    wh_log_set_request(NULL);
    n = ran;
    offs[n] = s->out.len;
    /* A failed commit undoes every reply packed above except the 400s for
     * envelopes that were never run. */
    bool lost = began && wh_store_commit(s->store) != 0;
    if (lost) {
        wh_store_rollback(s->store);
        wh_log_error("commit failed; %d requests answered 503", n);
    }
    for (int i = 0; i < n; i++) {
        struct pending *p = &batch[i];
        if (lost && p->decoded == 0) {
            wh_buf_t tmp;
            wh_buf_init(&tmp);
            wh_reply_reset(&s->reply);
            /* A failed fsync may still leave the change on disk: what the
             * client learns is that it was not confirmed, not that it is
             * absent. */
            wh_reply_problem(&s->reply, 503, "store-unavailable",
                             "the change could not be confirmed as stored; read before retrying");
            wh_reply_pack(&s->reply, p->req.id, &tmp);
            send_frames(s, WH_CMD_REPLY, p->corr, tmp.data, tmp.len);
            wh_buf_close(&tmp);
        } else {
            send_frames(s, WH_CMD_REPLY, p->corr, s->out.data + offs[i], offs[i + 1] - offs[i]);
        }
        if (p->decoded == 0)
            wh_request_close(&p->req);
        zmq_msg_close(&p->payload);
    }
    /* A batch of reads emitted nothing: the hook (the outbox relay, which
     * looks for new events) waits for a batch that wrote. */
    if (began && !lost && writes && s->on_commit)
        s->on_commit(s->on_commit_ud);
    return n;
}

static void on_readable(wh_zsock_t *z)
{
    wh_service_t *s = z->data;
    int n = 0;
    uint64_t now = uv_now(&s->loop);
    while (n < WH_SERVICE_MAX_BATCH) {
        zmq_msg_t f[WH_ZSOCK_MAX_FRAMES];
        int nf = wh_zsock_recv(s->dealer, f);
        if (nf == 0)
            break;
        if (nf < 0)
            continue;
        wh_frame_t fr;
        if (nf != 1 || !wh_frame_parse(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), &fr)) {
            wh_log_warn("dropped a malformed frame set from the broker");
            wh_zsock_msgs_close(f, nf);
            continue;
        }
        s->broker_heard_ms = now;
        if (!s->broker_up) {
            s->broker_up = 1;
            wh_log_info("connected to the gateway");
        }
        if (fr.cmd == WH_CMD_REPLY) {
            on_call_reply(s, fr.corr, fr.payload, fr.len);
        } else if (fr.cmd == WH_CMD_REQUEST) {
            struct pending *p = &s->batch[n++];
            memcpy(p->corr, fr.corr, 8);
            p->received_ms = now;
            /* The message is kept whole: the decoded request points into
             * its payload, after the header. A small message lives inside
             * its zmq_msg_t, so the payload is found again after the move. */
            zmq_msg_init(&p->payload);
            zmq_msg_move(&p->payload, &f[0]);
            wh_frame_parse(zmq_msg_data(&p->payload), zmq_msg_size(&p->payload), &fr);
            p->decoded = wh_request_decode(fr.payload, fr.len, &p->req);
            if (p->decoded == 0 && wh_backup_is_op(s->def->svc, p->req.op)) {
                start_backup(s, p);
                wh_request_close(&p->req);
                zmq_msg_close(&p->payload);
                n--;
            }
        }
        wh_zsock_msgs_close(f, nf);
    }
    for (int done = 0; done < n;)
        done += run_batch(s, s->batch + done, n - done);
}

static void on_signal(uv_signal_t *h, int signum)
{
    wh_service_t *s = h->data;
    wh_log_info("signal %d: stopping", signum);
    uv_stop(&s->loop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static bool has_handler(const wh_handler_t *h, size_t n, int op)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].op == op)
            return true;
    return false;
}

int wh_service_main(const wh_service_def_t *def)
{
    const char *name = wh_service_names[def->svc];
    wh_service_t *s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    s->def = def;
    signal(SIGPIPE, SIG_IGN);
    int code = 1;
    if (wh_config_load(&s->cfg, name) != 0)
        goto fail_config;
    char file[64];
    snprintf(file, sizeof file, "%s.db", name);
    if (wh_config_path(&s->cfg, file, s->store_path) != 0 ||
        wh_store_open(s->store_path, def->migrations, def->n_migrations, &s->store) != 0)
        goto fail_config;
    own_figures = def->figures;
    wh_handler_t *handlers = malloc((def->n_handlers + 3) * sizeof *handlers);
    if (!handlers)
        goto fail_store;
    if (def->n_handlers)
        memcpy(handlers, def->handlers, def->n_handlers * sizeof *handlers);
    /* Unless the service answers the operation itself. A backup never
     * reaches the table (see on_readable), but the table names a handler
     * for every operation of the service. */
    size_t n_handlers = def->n_handlers;
    if (!has_handler(handlers, n_handlers, wh_figures_op(def->svc)))
        handlers[n_handlers++] = (wh_handler_t){wh_figures_op(def->svc), figures_handler};
    if (!has_handler(handlers, n_handlers, wh_backup_op(def->svc)))
        handlers[n_handlers++] = (wh_handler_t){wh_backup_op(def->svc), wh_backup_in_batch};
    if (!has_handler(handlers, n_handlers, wh_backup_prune_op(def->svc)))
        handlers[n_handlers++] = (wh_handler_t){wh_backup_prune_op(def->svc), wh_backup_in_batch};
    int drc = wh_dispatcher_init(&s->disp, def->svc, handlers, n_handlers, s->store, def->app);
    free(handlers);
    if (drc != 0)
        goto fail_store;
    uv_loop_init(&s->loop);
    s->zctx = zmq_ctx_new();
    s->dealer = zmq_socket(s->zctx, ZMQ_DEALER);
    int ivl = WH_SERVICE_RECONNECT_MS, ivl_max = WH_SERVICE_RECONNECT_MAX_MS;
    zmq_setsockopt(s->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(s->dealer, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    if (wh_curve_setup_client(&s->cfg, name, &s->curve) != 0)
        goto fail_zmq;
    if (wh_zsock_configure(s->dealer) != 0 ||
        wh_zsock_heartbeat(s->dealer, WH_HEARTBEAT_MS, (int)WH_LIVENESS_MS) != 0) {
        wh_log_error("cannot set up the broker socket: %s", zmq_strerror(errno));
        goto fail_zmq;
    }
    if (wh_curve_apply_client(s->dealer, &s->curve) != 0 ||
        zmq_connect(s->dealer, s->cfg.broker_connect) != 0) {
        wh_log_error("cannot connect to %s: %s", s->cfg.broker_connect, zmq_strerror(errno));
        goto fail_zmq;
    }
    wh_reply_init(&s->reply);
    wh_buf_init(&s->out);
    s->zs.data = s;
    if (wh_zsock_init(&s->zs, &s->loop, s->dealer, on_readable) != 0)
        goto fail_zmq;
    uv_timer_init(&s->loop, &s->heartbeat);
    s->heartbeat.data = s;
    uv_timer_start(&s->heartbeat, on_heartbeat, 0, WH_HEARTBEAT_MS);
    uv_timer_init(&s->loop, &s->housekeeping);
    s->housekeeping.data = s;
    uv_timer_start(&s->housekeeping, on_housekeeping, 1000, 3600 * 1000);
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    if (def->start && def->start(s) != 0)
        goto fail_run;
    wh_log_info("%s serving; broker %s", name, s->cfg.broker_connect);
    serving = s;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    serving = NULL;
    code = 0;
    /* Calls still waiting are failed before the stop hook, so that their
     * owners (the outbox relay) see every outcome before they close. */
    while (s->calls)
        finish_call(s, NULL, s->calls, 503, NULL);
    for (int i = 0; i < s->n_jobs; i++)
        uv_timer_stop(&s->jobs[i].timer);
    if (def->stop)
        def->stop(s);

fail_run:
    while (s->calls)
        finish_call(s, NULL, s->calls, 503, NULL);
    wh_zsock_close(&s->zs, NULL);
    uv_walk(&s->loop, close_walk, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    wh_reply_close(&s->reply);
    wh_buf_close(&s->out);
fail_zmq:
    zmq_close(s->dealer);
    zmq_ctx_term(s->zctx);
    uv_loop_close(&s->loop);
fail_store:
    wh_store_destroy(&s->store);
fail_config:
    free(s);
    return code;
}
