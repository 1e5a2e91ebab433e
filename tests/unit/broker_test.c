/* services/gateway/broker.c on a real libuv loop with DEALER instances
 * written here, speaking the frames of proto/envelope.h: 503 at once with
 * no instance, request and reply through one instance, load spread to the
 * instance with the fewest requests in flight, an instance that falls
 * silent but stays connected waited for (its requests kept, new ones sent
 * elsewhere while another instance is up, lost after BROKER_STALLED_MAX_MS),
 * a frozen process lost once the
 * ZMTP heartbeats time out (its requests 503), one that disconnects lost
 * sooner, 504 at each request's own deadline,
 * replies from the wrong instance or too late ignored, service-to-service
 * forwarding, a request over the message limit refused without costing the
 * instance, and destroy answering what is pending. Every test ends with
 * uv_loop_close() == 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "check.h"
#include "envelope.h"
#include "err.h"
#include "zsock.h"

static char dir[64];
static char ep[128];
static void *ctx;
static uv_loop_t loop;
static broker_t *broker;

/* ---- instances ---------------------------------------------------------- */

#define MAX_HELD 16

typedef struct instance {
    void *sock;
    wh_zsock_t zs;
    const char *service;
    bool answer;  /* reply at once with "re:" + payload */
    bool beating; /* send heartbeats */
    bool sink;    /* count requests, hold none, answer none */
    int requests; /* requests received */
    int heartbeats;
    char held_corr[MAX_HELD][8];
    char held_payload[MAX_HELD][32];
    int n_held;
    /* Replies to this instance's own service-to-service requests. */
    int replies;
    char reply_corr[8];
    char reply[256];
    size_t reply_len;
    int closed;
} instance_t;

/* One frame: [version, command, target, correlation (8)] and the payload. */
static void inst_send(instance_t *in, char cmd, unsigned target, const void *corr,
                      const void *payload, size_t len)
{
    char hdr[WH_FRAME_HDR];
    wh_frame_hdr(hdr, cmd, target, corr);
    CHECK_INT(wh_zsock_send_joined(in->sock, NULL, 0, hdr, sizeof hdr, payload, len), 0);
    wh_zsock_kick(&in->zs);
}

static void heartbeat(instance_t *in)
{
    inst_send(in, WH_CMD_HEARTBEAT, 0, NULL, in->service, strlen(in->service));
}

static void reply_to(instance_t *in, const void *corr, const char *payload)
{
    inst_send(in, WH_CMD_REPLY, 0, corr, payload, strlen(payload));
}

static void on_inst_readable(wh_zsock_t *z)
{
    instance_t *in = z->data;
    for (;;) {
        zmq_msg_t f[WH_ZSOCK_MAX_FRAMES];
        int n = wh_zsock_recv(in->sock, f);
        if (n <= 0)
            return;
        CHECK_INT(n, 1);
        wh_frame_t fr;
        CHECK(wh_frame_parse(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), &fr));
        CHECK_INT(fr.target, 0);
        if (fr.cmd == WH_CMD_HEARTBEAT) {
            in->heartbeats++;
        } else if (fr.cmd == WH_CMD_REQUEST) {
            in->requests++;
            size_t len = fr.len;
            if (in->sink) {
                /* counted only */
            } else if (in->answer) {
                char re[64];
                snprintf(re, sizeof re, "re:%.*s", (int)len, fr.payload);
                reply_to(in, fr.corr, re);
            } else {
                CHECK(in->n_held < MAX_HELD);
                CHECK(len < sizeof in->held_payload[0]);
                memcpy(in->held_corr[in->n_held], fr.corr, 8);
                memcpy(in->held_payload[in->n_held], fr.payload, len);
                in->held_payload[in->n_held][len] = '\0';
                in->n_held++;
            }
        } else if (fr.cmd == WH_CMD_REPLY) {
            in->replies++;
            memcpy(in->reply_corr, fr.corr, 8);
            in->reply_len = fr.len;
            CHECK(in->reply_len <= sizeof in->reply);
            memcpy(in->reply, fr.payload, in->reply_len);
        } else {
            CHECK(0);
        }
        wh_zsock_msgs_close(f, n);
    }
}

static void inst_start(instance_t *in, const char *service, const char *identity, bool answer)
{
    memset(in, 0, sizeof *in);
    in->service = service;
    in->answer = answer;
    in->beating = true;
    in->sock = zmq_socket(ctx, ZMQ_DEALER);
    CHECK(in->sock != NULL);
    CHECK_INT(wh_zsock_configure(in->sock), 0);
    CHECK_INT(zmq_setsockopt(in->sock, ZMQ_ROUTING_ID, identity, strlen(identity)), 0);
    CHECK_INT(zmq_connect(in->sock, ep), 0);
    in->zs.data = in;
    CHECK_INT(wh_zsock_init(&in->zs, &loop, in->sock, on_inst_readable), 0);
}

static void on_inst_closed(wh_zsock_t *z)
{
    instance_t *in = z->data;
    zmq_close(in->sock);
    in->sock = NULL;
    in->closed = 1;
}

static void inst_stop(instance_t *in)
{
    in->beating = false;
    if (in->sock && !in->zs.closing)
        wh_zsock_close(&in->zs, on_inst_closed);
}

/* Heartbeats every 100 ms for every instance that is beating. */
static instance_t *all[BROKER_MAX_INSTANCES + 8];
static int n_all;
static uv_timer_t beat_timer;

static void on_beat(uv_timer_t *t)
{
    for (int i = 0; i < n_all; i++)
        if (all[i]->beating && all[i]->sock)
            heartbeat(all[i]);
}

/* ---- replies ------------------------------------------------------------ */

typedef struct result {
    int calls;
    int status;
    char body[128];
    uint64_t at_ms; /* loop time of the callback */
} result_t;

static void on_result(void *ud, int status, const char *reply, size_t len)
{
    result_t *r = ud;
    r->calls++;
    r->status = status;
    r->at_ms = uv_now(&loop);
    CHECK(len < sizeof r->body);
    if (status == BROKER_OK) {
        CHECK(reply != NULL);
        memcpy(r->body, reply, len);
    } else {
        CHECK_INT(len, 0);
    }
    r->body[len] = '\0';
}

static void send_req(enum wh_svc svc, const char *payload, uint64_t timeout_ms, result_t *r)
{
    broker_send(broker, svc, payload, strlen(payload), timeout_ms, on_result, r);
}

/* ---- the loop ----------------------------------------------------------- */

static void setup(void)
{
    CHECK_INT(uv_loop_init(&loop), 0);
    CHECK_INT(broker_new(&loop, ep, &broker), 0);
    CHECK_INT(uv_timer_init(&loop, &beat_timer), 0);
    CHECK_INT(uv_timer_start(&beat_timer, on_beat, 100, 100), 0);
    n_all = 0;
}

static void add(instance_t *in, const char *service, const char *identity, bool answer)
{
    CHECK(n_all < (int)(sizeof all / sizeof all[0]));
    inst_start(in, service, identity, answer);
    all[n_all++] = in;
    heartbeat(in);
}

/* Turns the loop until cond holds; fails after limit_ms. */
#define RUN_UNTIL(cond, limit_ms)                                                                  \
    do {                                                                                           \
        uint64_t start_ = uv_hrtime();                                                             \
        while (!(cond)) {                                                                          \
            if (uv_hrtime() - start_ > (uint64_t)(limit_ms)*1000000) {                             \
                fprintf(stderr, "%s:%d: timed out waiting for %s\n", __FILE__, __LINE__, #cond);   \
                exit(1);                                                                           \
            }                                                                                      \
            uv_run(&loop, UV_RUN_ONCE);                                                            \
        }                                                                                          \
    } while (0)

/* Turns the loop for about ms. */
static void run_for(uint64_t ms)
{
    uint64_t start = uv_hrtime();
    while (uv_hrtime() - start < ms * 1000000)
        uv_run(&loop, UV_RUN_ONCE);
}

static void teardown(void)
{
    broker_destroy(&broker);
    CHECK(broker == NULL);
    for (int i = 0; i < n_all; i++)
        inst_stop(all[i]);
    uv_close((uv_handle_t *)&beat_timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < n_all; i++)
        CHECK(all[i]->sock == NULL);
    CHECK_INT(uv_loop_close(&loop), 0);
}

/* ---- tests -------------------------------------------------------------- */

static void test_no_instance_503_at_once(void)
{
    setup();
    result_t r = {0};
    send_req(WH_SVC_AGREEMENTS, "hello", 1000, &r);
    /* Called before broker_send returned. */
    CHECK_INT(r.calls, 1);
    CHECK_INT(r.status, BROKER_UNAVAILABLE);
    CHECK_INT(broker_pending(broker), 0);
    CHECK_INT(broker_instances(broker, WH_SVC_AGREEMENTS), 0);
    /* An instance of another service does not help. */
    instance_t s;
    add(&s, "surveys", "surveys-1", true);
    RUN_UNTIL(broker_instances(broker, WH_SVC_SURVEYS) == 1, 2000);
    result_t r2 = {0};
    send_req(WH_SVC_AGREEMENTS, "hello", 1000, &r2);
    CHECK_INT(r2.calls, 1);
    CHECK_INT(r2.status, BROKER_UNAVAILABLE);
    CHECK_INT(s.requests, 0);
    teardown();
}

static void test_unknown_service_ignored(void)
{
    setup();
    instance_t x;
    add(&x, "astrology", "x-1", true);
    instance_t g;
    add(&g, "gateway", "g-1", true); /* the gateway is not an instance */
    run_for(300);
    for (int s = 0; s < WH_SVC_COUNT; s++)
        CHECK_INT(broker_instances(broker, (enum wh_svc)s), 0);
    CHECK_INT(x.heartbeats, 0); /* never adopted, never beaten */
    teardown();
}

static void test_request_and_reply(void)
{
    setup();
    instance_t a;
    add(&a, "agreements", "agreements-1", true);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    result_t r = {0};
    send_req(WH_SVC_AGREEMENTS, "hello", 2000, &r);
    CHECK_INT(r.calls, 0);
    CHECK_INT(broker_pending(broker), 1);
    RUN_UNTIL(r.calls == 1, 2000);
    CHECK_INT(r.status, BROKER_OK);
    CHECK_STR(r.body, "re:hello");
    CHECK_INT(a.requests, 1);
    CHECK_INT(broker_pending(broker), 0);
    /* Many in a row, each answered once. */
    result_t rs[50];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < 50; i++) {
        char p[16];
        snprintf(p, sizeof p, "n%d", i);
        send_req(WH_SVC_AGREEMENTS, p, 2000, &rs[i]);
    }
    CHECK_INT(broker_pending(broker), 50);
    RUN_UNTIL(broker_pending(broker) == 0, 3000);
    for (int i = 0; i < 50; i++) {
        char want[16];
        snprintf(want, sizeof want, "re:n%d", i);
        CHECK_INT(rs[i].calls, 1);
        CHECK_STR(rs[i].body, want);
    }
    /* The broker's own heartbeats reach the instance. */
    RUN_UNTIL(a.heartbeats >= 2, 2000);
    teardown();
}

static void test_oversized_request_not_sent(void)
{
    /* A request over the message limit would make the instance's socket
     * drop its connection, and every request in flight with it: it is
     * refused at once and the instance keeps serving. */
    setup();
    instance_t a;
    add(&a, "agreements", "agreements-1", true);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    result_t held = {0};
    send_req(WH_SVC_AGREEMENTS, "first", 2000, &held);
    size_t n = WH_MSG_MAX_BYTES + 1;
    char *big = calloc(1, n);
    CHECK(big != NULL);
    result_t r = {0};
    broker_send(broker, WH_SVC_AGREEMENTS, big, n, 2000, on_result, &r);
    free(big);
    CHECK_INT(r.calls, 1);
    CHECK_INT(r.status, BROKER_TOO_LARGE);
    RUN_UNTIL(held.calls == 1, 2000);
    CHECK_INT(held.status, BROKER_OK);
    CHECK_INT(a.requests, 1);
    /* An envelope of exactly the limit goes through with its frame
     * header: the socket's limit leaves room for it. */
    a.sink = true;
    big = calloc(1, WH_MSG_MAX_BYTES);
    CHECK(big != NULL);
    result_t at_limit = {0};
    broker_send(broker, WH_SVC_AGREEMENTS, big, WH_MSG_MAX_BYTES, 2000, on_result, &at_limit);
    free(big);
    CHECK_INT(at_limit.calls, 0);
    RUN_UNTIL(a.requests == 2, 3000);
    run_for(300);
    CHECK_INT(broker_instances(broker, WH_SVC_AGREEMENTS), 1);
    teardown();
}

static void test_least_in_flight(void)
{
    setup();
    instance_t a, b;
    add(&a, "agreements", "agreements-A", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    result_t r[6];
    memset(r, 0, sizeof r);
    send_req(WH_SVC_AGREEMENTS, "a1", 5000, &r[0]);
    send_req(WH_SVC_AGREEMENTS, "a2", 5000, &r[1]);
    RUN_UNTIL(a.n_held == 2, 2000);
    /* B joins idle: the next two both go to B (0 then 1 in flight, both
     * fewer than A's 2). */
    add(&b, "agreements", "agreements-B", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 2, 2000);
    send_req(WH_SVC_AGREEMENTS, "b1", 5000, &r[2]);
    send_req(WH_SVC_AGREEMENTS, "b2", 5000, &r[3]);
    RUN_UNTIL(b.n_held == 2, 2000);
    CHECK_INT(a.n_held, 2);
    CHECK_STR(b.held_payload[0], "b1");
    CHECK_STR(b.held_payload[1], "b2");
    /* Level now: one each. */
    send_req(WH_SVC_AGREEMENTS, "x", 5000, &r[4]);
    send_req(WH_SVC_AGREEMENTS, "y", 5000, &r[5]);
    RUN_UNTIL(a.n_held + b.n_held == 6, 2000);
    CHECK_INT(a.n_held, 3);
    CHECK_INT(b.n_held, 3);
    /* A answers everything it holds; its replies reach the right callers. */
    for (int i = 0; i < a.n_held; i++) {
        char re[40];
        snprintf(re, sizeof re, "from A: %s", a.held_payload[i]);
        reply_to(&a, a.held_corr[i], re);
    }
    RUN_UNTIL(broker_pending(broker) == 3, 2000);
    CHECK_STR(r[0].body, "from A: a1");
    CHECK_STR(r[1].body, "from A: a2");
    /* Freed of its load, A takes the next one. */
    result_t r6 = {0};
    send_req(WH_SVC_AGREEMENTS, "after", 5000, &r6);
    RUN_UNTIL(a.n_held == 4, 2000);
    CHECK_STR(a.held_payload[3], "after");
    CHECK_INT(b.n_held, 3);
    teardown();
    /* destroy answered what was left. */
    CHECK_INT(r6.calls, 1);
    CHECK_INT(r6.status, BROKER_UNAVAILABLE);
    for (int i = 0; i < 6; i++)
        CHECK_INT(r[i].calls, 1);
}

static void test_silent_instance_waited_for(void)
{
    setup();
    instance_t a, b;
    add(&b, "agreements", "agreements-B", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    result_t rb[3] = {{0}};
    for (int i = 0; i < 3; i++)
        send_req(WH_SVC_AGREEMENTS, "to-b", 60000, &rb[i]);
    RUN_UNTIL(b.n_held == 3, 2000);
    add(&a, "agreements", "agreements-A", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 2, 2000);
    result_t ra = {0};
    send_req(WH_SVC_AGREEMENTS, "to-a", 60000, &ra);
    RUN_UNTIL(a.n_held == 1, 2000);
    /* A's loop stops turning (a long fsync, a big batch) while its socket
     * stays connected: past the liveness window it is stalled, not lost.
     * Its request is not failed: it may well be committing it. */
    a.beating = false;
    run_for(WH_LIVENESS_MS + 400);
    CHECK_INT(ra.calls, 0);
    CHECK_INT(broker_instances(broker, WH_SVC_AGREEMENTS), 2);
    CHECK_INT(broker_pending(broker), 4);
    /* New requests go to B, though B has more in flight. */
    result_t rb4 = {0};
    send_req(WH_SVC_AGREEMENTS, "busy-b", 60000, &rb4);
    RUN_UNTIL(b.n_held == 4, 2000);
    CHECK_INT(a.requests, 1);
    /* B goes away: its requests are answered 503. A, stalled but connected,
     * is the only one left: new requests wait in its queue, each until its
     * own deadline, rather than fail at once. */
    inst_stop(&b);
    RUN_UNTIL(rb4.calls == 1, 2000);
    for (int i = 0; i < 3; i++)
        CHECK_INT(rb[i].status, BROKER_UNAVAILABLE);
    CHECK_INT(rb4.status, BROKER_UNAVAILABLE);
    CHECK_INT(broker_instances(broker, WH_SVC_AGREEMENTS), 1);
    result_t waits = {0}, short_one = {0};
    send_req(WH_SVC_AGREEMENTS, "waits", 60000, &waits);
    uint64_t sent = uv_now(&loop);
    send_req(WH_SVC_AGREEMENTS, "short", 300, &short_one);
    CHECK_INT(waits.calls + short_one.calls, 0);
    RUN_UNTIL(short_one.calls == 1, 2000);
    CHECK_INT(short_one.status, BROKER_TIMEOUT);
    CHECK(short_one.at_ms - sent >= 300);
    RUN_UNTIL(a.n_held == 3, 2000);
    /* A's loop turns again: its replies arrive and it is chosen as before. */
    reply_to(&a, a.held_corr[0], "done");
    reply_to(&a, a.held_corr[1], "done too");
    RUN_UNTIL(ra.calls == 1 && waits.calls == 1, 2000);
    CHECK_INT(ra.status, BROKER_OK);
    CHECK_STR(ra.body, "done");
    CHECK_STR(waits.body, "done too");
    a.beating = true;
    a.answer = true;
    result_t after = {0};
    send_req(WH_SVC_AGREEMENTS, "after", 1000, &after);
    RUN_UNTIL(after.calls == 1, 2000);
    CHECK_STR(after.body, "re:after");
    CHECK_INT(broker_pending(broker), 0);
    teardown();
}

/* The only agreements instance, silent since `since`, is lost about
 * after_ms later (up to late_ms past it): r, held by it, is answered 503
 * then and no instance is left. */
static void expect_lost(result_t *r, uint64_t since, uint64_t after_ms, uint64_t late_ms)
{
    RUN_UNTIL(r->calls == 1, 5000);
    CHECK_INT(r->status, BROKER_UNAVAILABLE);
    uint64_t after = r->at_ms - since;
    if (after < after_ms - 150 || after > after_ms + late_ms) {
        fprintf(stderr, "lost after %llu ms, expected %llu\n", (unsigned long long)after,
                (unsigned long long)after_ms);
        CHECK(0);
    }
    CHECK_INT(broker_instances(broker, WH_SVC_AGREEMENTS), 0);
}

/* A loop that stays silent far past any fsync hangs: the stalled instance
 * is lost at last (here after 2.5 s instead of BROKER_STALLED_MAX_MS), its
 * requests 503, and it comes back when it beats again. */
static void test_stalled_instance_lost_at_last(void)
{
    setup();
    uint64_t limit = WH_LIVENESS_MS + 500;
    broker_set_stalled_max(broker, limit);
    instance_t a;
    add(&a, "agreements", "agreements-1", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    result_t r = {0};
    send_req(WH_SVC_AGREEMENTS, "held", 60000, &r);
    RUN_UNTIL(a.n_held == 1, 2000);
    a.beating = false;
    expect_lost(&r, uv_now(&loop), limit, 600);
    a.beating = true;
    heartbeat(&a);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    teardown();
}

/* A process frozen (SIGSTOP) or a host gone keeps its connection open, and
 * its ZeroMQ I/O thread no longer answers: the broker's ZMTP heartbeats
 * close the connection after the liveness window and the instance is lost,
 * its requests answered 503 long before their deadlines. The instance runs
 * in a child process of its own, with its own ZeroMQ context. */
static void child_instance(pid_t parent)
{
    /* Never outlive the test, even one that fails and exits. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(3);
    void *c = zmq_ctx_new();
    void *d = zmq_socket(c, ZMQ_DEALER);
    if (!c || !d || wh_zsock_configure(d) != 0 ||
        zmq_setsockopt(d, ZMQ_ROUTING_ID, "frozen", 6) != 0 || zmq_connect(d, ep) != 0)
        _exit(2);
    char hdr[WH_FRAME_HDR];
    wh_frame_hdr(hdr, WH_CMD_HEARTBEAT, 0, NULL);
    for (;;) {
        wh_zsock_send_joined(d, NULL, 0, hdr, sizeof hdr, "agreements", 10);
        zmq_pollitem_t it = {.socket = d, .events = ZMQ_POLLIN};
        if (zmq_poll(&it, 1, 100) > 0) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            zmq_msg_recv(&m, d, ZMQ_DONTWAIT); /* requests are held unanswered */
            zmq_msg_close(&m);
        }
    }
}

static void test_frozen_process_lost(void)
{
    setup();
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        child_instance(parent);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 5000);
    result_t r = {0};
    send_req(WH_SVC_AGREEMENTS, "held", 60000, &r);
    run_for(200);
    CHECK_INT(r.calls, 0);
    CHECK_INT(kill(pid, SIGSTOP), 0);
    expect_lost(&r, uv_now(&loop), WH_LIVENESS_MS, 1200);
    result_t r2 = {0};
    send_req(WH_SVC_AGREEMENTS, "again", 1000, &r2);
    CHECK_INT(r2.calls, 1);
    CHECK_INT(r2.status, BROKER_UNAVAILABLE);
    /* Thawed, it reconnects and announces itself again. */
    CHECK_INT(kill(pid, SIGCONT), 0);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 5000);
    CHECK_INT(kill(pid, SIGKILL), 0);
    int st;
    CHECK_INT(waitpid(pid, &st, 0), pid);
    teardown();
}

static void test_disconnected_instance_dropped(void)
{
    setup();
    instance_t a, b;
    add(&a, "agreements", "agreements-A", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    add(&b, "agreements", "agreements-B", true);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 2, 2000);
    result_t ra = {0}, rb = {0};
    send_req(WH_SVC_AGREEMENTS, "one", 60000, &ra);
    send_req(WH_SVC_AGREEMENTS, "two", 60000, &rb);
    RUN_UNTIL(a.n_held == 1 && rb.calls == 1, 2000);
    CHECK_STR(rb.body, "re:two");
    /* A's process goes away: the ROUTER notices at its next send, well
     * within the liveness window. */
    uint64_t gone = uv_now(&loop);
    inst_stop(&a);
    RUN_UNTIL(ra.calls == 1, 5000);
    CHECK_INT(ra.status, BROKER_UNAVAILABLE);
    CHECK(ra.at_ms - gone < (uint64_t)WH_HEARTBEAT_MS * WH_HEARTBEAT_LIVENESS);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    /* B serves on. */
    result_t r3 = {0};
    send_req(WH_SVC_AGREEMENTS, "three", 2000, &r3);
    RUN_UNTIL(r3.calls == 1, 2000);
    CHECK_INT(r3.status, BROKER_OK);
    CHECK_STR(r3.body, "re:three");
    teardown();
}

static void test_timeout_504(void)
{
    setup();
    instance_t a;
    add(&a, "agreements", "agreements-1", false); /* alive, never answers */
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    /* A long deadline first, then a short one: each expires at its own
     * deadline, not in the order they were sent. */
    result_t slow = {0}, fast = {0};
    uint64_t t0 = uv_now(&loop);
    send_req(WH_SVC_AGREEMENTS, "slow", 1500, &slow);
    send_req(WH_SVC_AGREEMENTS, "fast", 200, &fast);
    RUN_UNTIL(fast.calls == 1, 3000);
    CHECK_INT(fast.status, BROKER_TIMEOUT);
    CHECK(fast.at_ms - t0 >= 200 && fast.at_ms - t0 < 450);
    CHECK_INT(slow.calls, 0);
    CHECK_INT(broker_pending(broker), 1);
    RUN_UNTIL(slow.calls == 1, 3000);
    CHECK_INT(slow.status, BROKER_TIMEOUT);
    CHECK(slow.at_ms - t0 >= 1500 && slow.at_ms - t0 < 1750);
    CHECK_INT(broker_pending(broker), 0);
    /* The answers arrive after all: ignored, no second callback. */
    RUN_UNTIL(a.n_held == 2, 1000);
    reply_to(&a, a.held_corr[0], "late");
    reply_to(&a, a.held_corr[1], "late");
    run_for(100);
    CHECK_INT(slow.calls, 1);
    CHECK_INT(fast.calls, 1);
    /* The instance is still alive and usable. */
    CHECK_INT(broker_instances(broker, WH_SVC_AGREEMENTS), 1);
    teardown();
}

static void test_reply_from_wrong_instance_ignored(void)
{
    setup();
    instance_t a, b;
    add(&a, "agreements", "agreements-A", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    result_t r = {0};
    send_req(WH_SVC_AGREEMENTS, "mine", 5000, &r);
    RUN_UNTIL(a.n_held == 1, 2000);
    add(&b, "agreements", "agreements-B", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 2, 2000);
    reply_to(&b, a.held_corr[0], "forged");
    run_for(150);
    CHECK_INT(r.calls, 0);
    reply_to(&a, a.held_corr[0], "genuine");
    RUN_UNTIL(r.calls == 1, 2000);
    CHECK_STR(r.body, "genuine");
    /* An unknown correlation id is ignored as well. */
    reply_to(&a, "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", "stray");
    run_for(100);
    CHECK_INT(r.calls, 1);
    teardown();
}

static void test_malformed_frames_ignored(void)
{
    setup();
    instance_t a;
    add(&a, "agreements", "agreements-1", true);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    /* Wrong version, a header cut short, the header apart from the payload
     * (the former layout), too many frames. */
    char hdr[WH_FRAME_HDR];
    wh_frame_hdr(hdr, WH_CMD_HEARTBEAT, 0, NULL);
    hdr[0] = WH_PROTO_VERSION + 1;
    CHECK_INT(wh_zsock_send_joined(a.sock, NULL, 0, hdr, sizeof hdr, "agreements", 10), 0);
    hdr[0] = WH_PROTO_VERSION;
    const void *f1[1] = {hdr};
    size_t l1[1] = {WH_FRAME_HDR - 1};
    CHECK_INT(wh_zsock_send(a.sock, f1, l1, 1), 0);
    static const char zero[8];
    const void *f3[3] = {"\x01H", zero, "agreements"};
    size_t l3[3] = {2, 8, 10};
    CHECK_INT(wh_zsock_send(a.sock, f3, l3, 3), 0);
    const void *f5[5] = {hdr, "agreements", "x", "y", "z"};
    size_t l5[5] = {WH_FRAME_HDR, 10, 1, 1, 1};
    CHECK_INT(wh_zsock_send(a.sock, f5, l5, 5), 0);
    wh_zsock_kick(&a.zs);
    run_for(150);
    /* Still serving normally. */
    result_t r = {0};
    send_req(WH_SVC_AGREEMENTS, "ok", 2000, &r);
    RUN_UNTIL(r.calls == 1, 2000);
    CHECK_STR(r.body, "re:ok");
    teardown();
}

static void test_forward_between_services(void)
{
    setup();
    instance_t asker, notif;
    add(&asker, "agreements", "agreements-1", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    /* No instance of the target: a reply envelope with status 503. */
    inst_send(&asker, WH_CMD_REQUEST, WH_SVC_NOTIFICATIONS, "corr-001", "event", 5);
    RUN_UNTIL(asker.replies == 1, 2000);
    CHECK(memcmp(asker.reply_corr, "corr-001", 8) == 0);
    wh_msg_t m;
    CHECK_INT(wh_msg_decode(asker.reply, asker.reply_len, &m), 0);
    int64_t v;
    CHECK(wh_msg_int(wh_msg_get(m.root, "status"), &v));
    CHECK_INT(v, 503);
    CHECK(wh_msg_int(wh_msg_get(m.root, "v"), &v));
    CHECK_INT(v, WH_PROTO_VERSION);
    wh_msg_close(&m);
    /* With one: forwarded, and its reply returned under the asker's
     * correlation id. */
    add(&notif, "notifications", "notifications-1", true);
    RUN_UNTIL(broker_instances(broker, WH_SVC_NOTIFICATIONS) == 1, 2000);
    inst_send(&asker, WH_CMD_REQUEST, WH_SVC_NOTIFICATIONS, "corr-002", "event", 5);
    RUN_UNTIL(asker.replies == 2, 2000);
    CHECK(memcmp(asker.reply_corr, "corr-002", 8) == 0);
    CHECK_INT(asker.reply_len, 8);
    CHECK(memcmp(asker.reply, "re:event", 8) == 0);
    CHECK_INT(notif.requests, 1);
    /* An unknown target is dropped, not forwarded. */
    inst_send(&asker, WH_CMD_REQUEST, 99, "corr-003", "event", 5);
    run_for(150);
    CHECK_INT(asker.replies, 2);
    CHECK_INT(broker_pending(broker), 0);
    teardown();
}

static void test_destroy_with_pending(void)
{
    setup();
    instance_t a;
    add(&a, "agreements", "agreements-1", false);
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    result_t r[3];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 3; i++)
        send_req(WH_SVC_AGREEMENTS, "held", 60000, &r[i]);
    CHECK_INT(broker_pending(broker), 3);
    broker_destroy(&broker);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(r[i].calls, 1);
        CHECK_INT(r[i].status, BROKER_UNAVAILABLE);
    }
    broker_destroy(&broker); /* NULL: nothing */
    teardown();
}

/* BROKER_MAX_INSTANCES per service: the one past the limit is not adopted
 * and gets no requests, while those within it keep serving. */
static void test_instance_limit(void)
{
    setup();
    static instance_t many[BROKER_MAX_INSTANCES + 1];
    char id[32];
    for (int i = 0; i < BROKER_MAX_INSTANCES; i++) {
        snprintf(id, sizeof id, "agreements-%d", i);
        add(&many[i], "agreements", id, true);
    }
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == BROKER_MAX_INSTANCES, 5000);
    add(&many[BROKER_MAX_INSTANCES], "agreements", "agreements-extra", true);
    run_for(300);
    CHECK_INT(broker_instances(broker, WH_SVC_AGREEMENTS), BROKER_MAX_INSTANCES);
    for (int i = 0; i < 2 * BROKER_MAX_INSTANCES; i++) {
        result_t r = {0};
        send_req(WH_SVC_AGREEMENTS, "hello", 2000, &r);
        RUN_UNTIL(r.calls == 1, 2000);
        CHECK_INT(r.status, BROKER_OK);
    }
    CHECK_INT(many[BROKER_MAX_INSTANCES].requests, 0);
    teardown();
}

/* BROKER_MAX_PENDING over all services: requests within it are forwarded
 * and wait for their deadline; the one past it is answered unavailable at
 * once without reaching an instance; once the pending ones are settled
 * (here by their deadline) requests are taken again. */
static int pending_status[BROKER_UNAVAILABLE + 8];
static int pending_answered;

static void on_pending_result(void *ud, int status, const char *reply, size_t len)
{
    CHECK(status >= 0 && status < (int)(sizeof pending_status / sizeof pending_status[0]));
    pending_status[status]++;
    pending_answered++;
}

static void test_pending_limit(void)
{
    setup();
    instance_t a;
    add(&a, "agreements", "agreements-sink", false);
    a.sink = true;
    RUN_UNTIL(broker_instances(broker, WH_SVC_AGREEMENTS) == 1, 2000);
    memset(pending_status, 0, sizeof pending_status);
    pending_answered = 0;
    /* In steps the instance drains, so that no send meets a full pipe: a
     * quarter of ZeroMQ's default high-water mark at a time, and a pause for
     * the reader's credit to reach the writer (it lags under a sanitizer on
     * a loaded machine). All are held for an hour but the last, which ends
     * soon, so that room comes back without waiting for the others. */
    const uint64_t held_ms = 3600 * 1000, short_ms = 300;
    for (int sent = 0; sent < BROKER_MAX_PENDING;) {
        run_for(2);
        for (int i = 0; i < 250 && sent < BROKER_MAX_PENDING; i++, sent++)
            broker_send(broker, WH_SVC_AGREEMENTS, "held", 4,
                        sent == BROKER_MAX_PENDING - 1 ? short_ms : held_ms, on_pending_result,
                        NULL);
        /* An answered request (a refused send) ends the wait at once and
         * fails below. */
        RUN_UNTIL(a.requests == sent || pending_answered > 0, 15000);
        CHECK_INT(pending_answered, 0);
    }
    CHECK_INT(broker_pending(broker), BROKER_MAX_PENDING);
    broker_send(broker, WH_SVC_AGREEMENTS, "one more", 8, held_ms, on_pending_result, NULL);
    CHECK_INT(pending_answered, 1); /* before broker_send returned */
    CHECK_INT(pending_status[BROKER_UNAVAILABLE], 1);
    CHECK_INT(broker_pending(broker), BROKER_MAX_PENDING);
    run_for(20);
    CHECK_INT(a.requests, BROKER_MAX_PENDING);
    /* The short one ends at its deadline; then there is room for one. */
    RUN_UNTIL(broker_pending(broker) == BROKER_MAX_PENDING - 1, 5000);
    CHECK_INT(pending_answered, 2);
    CHECK_INT(pending_status[BROKER_TIMEOUT], 1);
    broker_send(broker, WH_SVC_AGREEMENTS, "again", 5, held_ms, on_pending_result, NULL);
    CHECK_INT(broker_pending(broker), BROKER_MAX_PENDING);
    CHECK_INT(pending_answered, 2);
    RUN_UNTIL(a.requests == BROKER_MAX_PENDING + 1, 5000);
    teardown();
    /* The refused one and every held one, at destroy. */
    CHECK_INT(pending_status[BROKER_UNAVAILABLE], 1 + BROKER_MAX_PENDING);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wh-broker-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(ep, sizeof ep, "ipc://%s/broker.ipc", dir);
    ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    TEST(test_no_instance_503_at_once);
    TEST(test_unknown_service_ignored);
    TEST(test_request_and_reply);
    TEST(test_oversized_request_not_sent);
    TEST(test_least_in_flight);
    TEST(test_silent_instance_waited_for);
    TEST(test_stalled_instance_lost_at_last);
    TEST(test_frozen_process_lost);
    TEST(test_disconnected_instance_dropped);
    TEST(test_timeout_504);
    TEST(test_reply_from_wrong_instance_ignored);
    TEST(test_malformed_frames_ignored);
    TEST(test_forward_between_services);
    TEST(test_destroy_with_pending);
    TEST(test_instance_limit);
    TEST(test_pending_limit);
    CHECK_INT(zmq_ctx_term(ctx), 0);
    char p[128];
    snprintf(p, sizeof p, "%s/broker.ipc", dir);
    unlink(p);
    CHECK_INT(rmdir(dir), 0);
    return 0;
}
