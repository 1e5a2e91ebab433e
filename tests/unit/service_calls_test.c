/* services/runtime/service.c's calls to other services, crossing
 * WH_SERVICE_MAX_CALLS: the real service loop (wh_service_main) runs with a
 * broker written here, a ROUTER on its own thread that takes every request
 * and answers only the one the test picks. WH_SERVICE_MAX_CALLS calls are
 * sent; the one past the limit is refused without being sent; when one call
 * is answered there is room for exactly one more; at shutdown every call
 * still waiting is answered 503, once. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "envelope.h"
#include "err.h"
#include "service.h"

static char dir[64];
static char ep[128];

/* ---- the broker's side ---------------------------------------------------- */

static atomic_int requests; /* requests the broker received */
static atomic_int stop_broker;
static atomic_int answer_first; /* set by the service thread: answer request 0 */
static void *router;

static void *broker_thread(void *arg)
{
    char first_id[256], first_corr[8] = {0};
    size_t first_id_len = 0;
    bool answered = false;
    while (!atomic_load(&stop_broker)) {
        if (atomic_load(&answer_first) && !answered && first_id_len > 0) {
            char hdr[WH_FRAME_HDR];
            wh_frame_hdr(hdr, WH_CMD_REPLY, 0, first_corr);
            /* msgpack {"status": 200} */
            static const unsigned char body[] = {0x81, 0xa6, 's', 't',  'a',
                                                 't',  'u',  's', 0xcc, 0xc8};
            char frame[WH_FRAME_HDR + sizeof body];
            memcpy(frame, hdr, WH_FRAME_HDR);
            memcpy(frame + WH_FRAME_HDR, body, sizeof body);
            CHECK(zmq_send(router, first_id, first_id_len, ZMQ_SNDMORE) >= 0);
            CHECK(zmq_send(router, frame, sizeof frame, 0) >= 0);
            answered = true;
        }
        zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 10) <= 0)
            continue;
        zmq_msg_t f[4];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            CHECK(zmq_msg_recv(&m, router, 0) >= 0);
            more = zmq_msg_more(&m);
            if (n < 4)
                f[n++] = m;
            else
                zmq_msg_close(&m);
        }
        /* [identity][header: version, 'Q', service, correlation; envelope] */
        wh_frame_t fr;
        if (n == 2 && wh_frame_parse(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &fr) &&
            fr.cmd == WH_CMD_REQUEST) {
            if (atomic_load(&requests) == 0) {
                first_id_len = zmq_msg_size(&f[0]);
                CHECK(first_id_len <= sizeof first_id);
                memcpy(first_id, zmq_msg_data(&f[0]), first_id_len);
                memcpy(first_corr, fr.corr, 8);
            }
            atomic_fetch_add(&requests, 1);
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
    return NULL;
}

/* ---- the service's side --------------------------------------------------- */

static int made;         /* calls accepted */
static int refused_at;   /* wh_service_call's result one past the limit */
static int answered_200; /* callbacks with the broker's reply */
static int answered_503; /* callbacks at shutdown */
static int after_reply[2];

static void on_call(void *ud, int status, const msgpack_object *body)
{
    wh_service_t *s = ud;
    if (status == 200) {
        answered_200++;
        CHECK(body == NULL || body->type == MSGPACK_OBJECT_NIL);
        /* One call ended: room for exactly one more. */
        after_reply[0] = wh_service_call(s, WH_OP_EVENTS_INGEST, "x", 1, on_call, s);
        after_reply[1] = wh_service_call(s, WH_OP_EVENTS_INGEST, "x", 1, on_call, s);
        raise(SIGTERM);
    } else {
        CHECK_INT(status, 503);
        answered_503++;
    }
}

static int start(wh_service_t *s)
{
    /* In steps that the broker drains, so that no send finds the socket
     * full: every refusal below is the limit's. */
    while (made < WH_SERVICE_MAX_CALLS) {
        for (int i = 0; i < 512 && made < WH_SERVICE_MAX_CALLS; i++, made++)
            CHECK_INT(wh_service_call(s, WH_OP_EVENTS_INGEST, "x", 1, on_call, s), 0);
        for (int w = 0; atomic_load(&requests) < made; w++) {
            CHECK(w < 10000);
            usleep(1000);
        }
    }
    refused_at = wh_service_call(s, WH_OP_EVENTS_INGEST, "x", 1, on_call, s);
    usleep(100 * 1000);
    CHECK_INT(atomic_load(&requests), WH_SERVICE_MAX_CALLS); /* never sent */
    atomic_store(&answer_first, 1);
    return 0;
}

static void noop(wh_ctx_t *c)
{
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wh-calls-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(ep, sizeof ep, "ipc://%s/broker.ipc", dir);
    CHECK_INT(setenv("WH_DATA_DIR", dir, 1), 0);
    CHECK_INT(setenv("WH_BROKER_CONNECT", ep, 1), 0);

    void *ctx = zmq_ctx_new();
    router = zmq_socket(ctx, ZMQ_ROUTER);
    CHECK_INT(zmq_bind(router, ep), 0);
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, broker_thread, NULL), 0);

    static wh_handler_t handlers[WH_OP_COUNT];
    size_t n_handlers = 0;
    for (int op = 0; op < WH_OP_COUNT; op++)
        if (wh_ops[op].service == WH_SVC_AGREEMENTS)
            handlers[n_handlers++] = (wh_handler_t){op, noop};
    wh_service_def_t def = {
        .svc = WH_SVC_AGREEMENTS,
        .handlers = handlers,
        .n_handlers = n_handlers,
        .start = start,
    };
    fprintf(stderr, "  calls up to WH_SERVICE_MAX_CALLS (%d) and one past\n", WH_SERVICE_MAX_CALLS);
    CHECK_INT(wh_service_main(&def), 0);

    CHECK_INT(made, WH_SERVICE_MAX_CALLS);
    CHECK_INT(refused_at, WH_EAGAIN);
    CHECK_INT(answered_200, 1);
    CHECK_INT(after_reply[0], 0);
    CHECK_INT(after_reply[1], WH_EAGAIN);
    /* Every call still waiting at the stop is answered 503, once. */
    CHECK_INT(answered_503, WH_SERVICE_MAX_CALLS);

    atomic_store(&stop_broker, 1);
    CHECK_INT(pthread_join(t, NULL), 0);
    int linger = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(router);
    zmq_ctx_term(ctx);
    char p[128];
    snprintf(p, sizeof p, "%s/broker.ipc", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/agreements.db", dir);
    unlink(p);
    char q[140];
    snprintf(q, sizeof q, "%s-wal", p);
    unlink(q);
    snprintf(q, sizeof q, "%s-shm", p);
    unlink(q);
    CHECK_INT(rmdir(dir), 0);
    return 0;
}
