/* common/zsock.c: socket options, multipart send and receive with the
 * frame limit, ROUTER_MANDATORY and full queues as error values, and the
 * libuv bridge on a real loop: messages that arrived while the loop was
 * busy are delivered although ZMQ_FD only signals edges, a callback that
 * reads one message per call still gets every message (the round limit
 * yields and comes back), ping-pong where each callback's send may consume
 * the edge, and closing leaves no handle behind. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "err.h"
#include "msg.h"
#include "zsock.h"

static void *ctx;
static char dir[64];

static void *make_socket(int type)
{
    void *s = zmq_socket(ctx, type);
    CHECK(s != NULL);
    CHECK_INT(wh_zsock_configure(s), 0);
    return s;
}

static void endpoint(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "ipc://%s/%s", dir, name);
}

/* ---- plain socket helpers ----------------------------------------------- */

static void test_configure(void)
{
    void *s = make_socket(ZMQ_DEALER);
    int64_t max = 0;
    size_t len = sizeof max;
    CHECK_INT(zmq_getsockopt(s, ZMQ_MAXMSGSIZE, &max, &len), 0);
    CHECK_INT(max, WH_MSG_MAX_BYTES + WH_ZSOCK_MAX_HDR);
    int linger = -1;
    len = sizeof linger;
    CHECK_INT(zmq_getsockopt(s, ZMQ_LINGER, &linger, &len), 0);
    CHECK_INT(linger, 0);
    zmq_close(s);
}

static void test_send_recv_frames(void)
{
    void *a = make_socket(ZMQ_PAIR), *b = make_socket(ZMQ_PAIR);
    CHECK_INT(zmq_bind(a, "inproc://frames"), 0);
    CHECK_INT(zmq_connect(b, "inproc://frames"), 0);
    zmq_msg_t f[WH_ZSOCK_MAX_FRAMES];
    CHECK_INT(wh_zsock_recv(b, f), 0); /* nothing waiting */

    const void *frames[5] = {"one", "", "three", "4444", "five"};
    size_t lens[5] = {3, 0, 5, 4, 4};
    CHECK_INT(wh_zsock_send(a, frames, lens, 3), 0);
    usleep(10000);
    int n = wh_zsock_recv(b, f);
    CHECK_INT(n, 3);
    CHECK_INT(zmq_msg_size(&f[0]), 3);
    CHECK(memcmp(zmq_msg_data(&f[0]), "one", 3) == 0);
    CHECK_INT(zmq_msg_size(&f[1]), 0);
    CHECK_INT(zmq_msg_size(&f[2]), 5);
    CHECK(memcmp(zmq_msg_data(&f[2]), "three", 5) == 0);
    wh_zsock_msgs_close(f, n);

    /* Exactly the frame limit: fine. One more: the whole message is
     * dropped and the next one arrives intact. */
    CHECK_INT(wh_zsock_send(a, frames, lens, WH_ZSOCK_MAX_FRAMES), 0);
    CHECK_INT(wh_zsock_send(a, frames, lens, WH_ZSOCK_MAX_FRAMES + 1), 0);
    CHECK_INT(wh_zsock_send(a, frames, lens, 1), 0);
    usleep(10000);
    n = wh_zsock_recv(b, f);
    CHECK_INT(n, WH_ZSOCK_MAX_FRAMES);
    wh_zsock_msgs_close(f, n);
    CHECK_INT(wh_zsock_recv(b, f), WH_EPROTO);
    n = wh_zsock_recv(b, f);
    CHECK_INT(n, 1);
    CHECK_INT(zmq_msg_size(&f[0]), 3);
    CHECK(!zmq_msg_more(&f[0]));
    wh_zsock_msgs_close(f, n);
    CHECK_INT(wh_zsock_recv(b, f), 0);
    zmq_close(a);
    zmq_close(b);
}

static void test_send_errors(void)
{
    /* ROUTER with mandatory routing: an unknown peer is WH_ENOTFOUND. */
    void *r = make_socket(ZMQ_ROUTER);
    int on = 1;
    CHECK_INT(zmq_setsockopt(r, ZMQ_ROUTER_MANDATORY, &on, sizeof on), 0);
    CHECK_INT(zmq_bind(r, "inproc://mandatory"), 0);
    const void *frames[2] = {"nobody", "x"};
    size_t lens[2] = {6, 1};
    CHECK_INT(wh_zsock_send(r, frames, lens, 2), WH_ENOTFOUND);
    zmq_close(r);

    /* A DEALER without any peer cannot queue: WH_EAGAIN, not a block. */
    void *d = make_socket(ZMQ_DEALER);
    CHECK_INT(wh_zsock_send(d, frames, lens, 2), WH_EAGAIN);
    zmq_close(d);

    /* A message over ZMQ_MAXMSGSIZE is dropped by the receiver. */
    void *a = make_socket(ZMQ_PAIR), *b = make_socket(ZMQ_PAIR);
    char ep[128];
    endpoint("maxsize.ipc", ep, sizeof ep);
    CHECK_INT(zmq_bind(b, ep), 0);
    CHECK_INT(zmq_connect(a, ep), 0);
    static char big[WH_MSG_MAX_BYTES + WH_ZSOCK_MAX_HDR + 1];
    const void *bf[1] = {big};
    size_t bl[1] = {sizeof big};
    CHECK_INT(wh_zsock_send(a, bf, bl, 1), 0);
    usleep(100000);
    zmq_msg_t f[WH_ZSOCK_MAX_FRAMES];
    CHECK_INT(wh_zsock_recv(b, f), 0);
    zmq_close(a);
    zmq_close(b);
}

/* ---- the bridge ---------------------------------------------------------- */

typedef struct sink {
    wh_zsock_t zs;
    int want; /* close the bridge after this many messages */
    int got;
    int per_call; /* messages read per callback (to test the rounds) */
    int calls;
    int closed;
    char last[32];
} sink_t;

static void on_sink_closed(wh_zsock_t *z)
{
    sink_t *s = z->data;
    s->closed++;
}

static void on_sink_readable(wh_zsock_t *z)
{
    sink_t *s = z->data;
    s->calls++;
    for (int i = 0; i < s->per_call; i++) {
        zmq_msg_t f[WH_ZSOCK_MAX_FRAMES];
        int n = wh_zsock_recv(z->sock, f);
        if (n <= 0)
            break;
        size_t len = zmq_msg_size(&f[n - 1]);
        CHECK(len < sizeof s->last);
        memcpy(s->last, zmq_msg_data(&f[n - 1]), len);
        s->last[len] = '\0';
        wh_zsock_msgs_close(f, n);
        if (++s->got == s->want) {
            wh_zsock_close(z, on_sink_closed);
            return;
        }
    }
}

static void on_watchdog(uv_timer_t *t)
{
    fprintf(stderr, "watchdog: the loop did not finish in time\n");
    CHECK(0);
}

/* Runs loop until only the watchdog is left, then closes it; fails the
 * test if the watchdog fires first. */
static void run_with_watchdog(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t dog;
    CHECK_INT(uv_timer_init(loop, &dog), 0);
    CHECK_INT(uv_timer_start(&dog, on_watchdog, ms, 0), 0);
    uv_unref((uv_handle_t *)&dog);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&dog, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
}

static void send_numbered(void *sock, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char body[16];
        int len = snprintf(body, sizeof body, "m%d", i);
        const void *frames[1] = {body};
        size_t lens[1] = {(size_t)len};
        CHECK_INT(wh_zsock_send(sock, frames, lens, 1), 0);
    }
}

static void test_bridge_backlog(void)
{
    /* 300 messages arrive before the loop runs; the callback takes one per
     * call, so a wake-up (at most WH_ZSOCK_MAX_ROUNDS calls) cannot empty
     * the queue and no new edge will come: only the bridge's own re-check
     * gets the rest. */
    uv_loop_t loop;
    CHECK_INT(uv_loop_init(&loop), 0);
    void *in = make_socket(ZMQ_PULL), *out = make_socket(ZMQ_PUSH);
    char ep[128];
    endpoint("backlog.ipc", ep, sizeof ep);
    CHECK_INT(zmq_bind(in, ep), 0);
    CHECK_INT(zmq_connect(out, ep), 0);
    send_numbered(out, 0, 300);
    usleep(50000); /* all of them queued at the receiver */

    sink_t s = {.want = 300, .per_call = 1};
    s.zs.data = &s;
    CHECK_INT(wh_zsock_init(&s.zs, &loop, in, on_sink_readable), 0);
    run_with_watchdog(&loop, 5000);
    CHECK_INT(s.got, 300);
    CHECK_STR(s.last, "m299");
    CHECK_INT(s.calls, 300);
    CHECK_INT(s.closed, 1);
    CHECK_INT(uv_loop_close(&loop), 0);
    zmq_close(in);
    zmq_close(out);
}

/* A timer that sends a burst and then keeps the loop busy, so the burst
 * arrives while nobody polls. */
typedef struct burst {
    uv_timer_t timer;
    void *sock;
    int next, rounds;
} burst_t;

static void on_burst(uv_timer_t *t)
{
    burst_t *b = (burst_t *)t;
    send_numbered(b->sock, b->next, 40);
    b->next += 40;
    usleep(20000); /* busy: the messages land now */
    if (--b->rounds == 0)
        uv_close((uv_handle_t *)t, NULL);
}

static void test_bridge_busy_loop(void)
{
    uv_loop_t loop;
    CHECK_INT(uv_loop_init(&loop), 0);
    void *in = make_socket(ZMQ_PULL), *out = make_socket(ZMQ_PUSH);
    char ep[128];
    endpoint("busy.ipc", ep, sizeof ep);
    CHECK_INT(zmq_bind(in, ep), 0);
    CHECK_INT(zmq_connect(out, ep), 0);
    sink_t s = {.want = 200, .per_call = 3};
    s.zs.data = &s;
    CHECK_INT(wh_zsock_init(&s.zs, &loop, in, on_sink_readable), 0);
    burst_t b = {.sock = out, .rounds = 5};
    CHECK_INT(uv_timer_init(&loop, &b.timer), 0);
    CHECK_INT(uv_timer_start(&b.timer, on_burst, 5, 5), 0);
    run_with_watchdog(&loop, 5000);
    CHECK_INT(s.got, 200);
    CHECK_STR(s.last, "m199");
    CHECK_INT(uv_loop_close(&loop), 0);
    zmq_close(in);
    zmq_close(out);
}

/* Two bridged DEALERs bouncing a counter: every callback sends from inside
 * the callback, which can swallow the edge of the next arrival. */
typedef struct pinger {
    wh_zsock_t zs;
    int count;
    int limit;
    uint32_t parity; /* b gets the even numbers, a the odd ones */
    struct pinger *peer;
} pinger_t;

static void on_pinger_closed(wh_zsock_t *z)
{
}

static void on_ping(wh_zsock_t *z)
{
    pinger_t *p = z->data;
    for (;;) {
        zmq_msg_t f[WH_ZSOCK_MAX_FRAMES];
        int n = wh_zsock_recv(z->sock, f);
        if (n <= 0)
            return;
        uint32_t v;
        CHECK_INT(zmq_msg_size(&f[0]), sizeof v);
        memcpy(&v, zmq_msg_data(&f[0]), sizeof v);
        wh_zsock_msgs_close(f, n);
        CHECK_INT(v, (uint32_t)p->count * 2 + p->parity);
        p->count++;
        if (v + 1 >= (uint32_t)p->limit) {
            wh_zsock_close(&p->zs, on_pinger_closed);
            wh_zsock_close(&p->peer->zs, on_pinger_closed);
            return;
        }
        v++;
        const void *frames[1] = {&v};
        size_t lens[1] = {sizeof v};
        CHECK_INT(wh_zsock_send(z->sock, frames, lens, 1), 0);
    }
}

static void test_bridge_ping_pong(void)
{
    uv_loop_t loop;
    CHECK_INT(uv_loop_init(&loop), 0);
    void *a = make_socket(ZMQ_DEALER), *b = make_socket(ZMQ_DEALER);
    char ep[128];
    endpoint("pingpong.ipc", ep, sizeof ep);
    CHECK_INT(zmq_bind(a, ep), 0);
    CHECK_INT(zmq_connect(b, ep), 0);
    pinger_t pa = {.limit = 2000, .parity = 1}, pb = {.limit = 2000, .parity = 0};
    pa.peer = &pb;
    pb.peer = &pa;
    pa.zs.data = &pa;
    pb.zs.data = &pb;
    CHECK_INT(wh_zsock_init(&pa.zs, &loop, a, on_ping), 0);
    CHECK_INT(wh_zsock_init(&pb.zs, &loop, b, on_ping), 0);
    /* b serves first: a sends 0 from outside any callback, then kicks. */
    usleep(20000);
    uint32_t v = 0;
    const void *frames[1] = {&v};
    size_t lens[1] = {sizeof v};
    CHECK_INT(wh_zsock_send(a, frames, lens, 1), 0);
    wh_zsock_kick(&pa.zs);
    run_with_watchdog(&loop, 8000);
    CHECK_INT(pa.count + pb.count, 2000);
    CHECK_INT(uv_loop_close(&loop), 0);
    zmq_close(a);
    zmq_close(b);
}

static void test_close_without_traffic(void)
{
    uv_loop_t loop;
    CHECK_INT(uv_loop_init(&loop), 0);
    void *s = make_socket(ZMQ_DEALER);
    sink_t k = {.want = 1, .per_call = 1};
    k.zs.data = &k;
    CHECK_INT(wh_zsock_init(&k.zs, &loop, s, on_sink_readable), 0);
    wh_zsock_close(&k.zs, on_sink_closed);
    wh_zsock_kick(&k.zs); /* after close: ignored */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(k.closed, 1);
    CHECK_INT(k.calls, 0);
    CHECK_INT(uv_loop_close(&loop), 0);
    /* A NULL close callback is allowed too. */
    CHECK_INT(uv_loop_init(&loop), 0);
    CHECK_INT(wh_zsock_init(&k.zs, &loop, s, on_sink_readable), 0);
    wh_zsock_close(&k.zs, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    zmq_close(s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wh-zsock-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    ctx = zmq_ctx_new();
    CHECK(ctx != NULL);
    TEST(test_configure);
    TEST(test_send_recv_frames);
    TEST(test_send_errors);
    TEST(test_bridge_backlog);
    TEST(test_bridge_busy_loop);
    TEST(test_bridge_ping_pong);
    TEST(test_close_without_traffic);
    CHECK_INT(zmq_ctx_term(ctx), 0);
    /* ipc endpoints leave their socket files behind once unbound. */
    static const char *const files[] = {"maxsize.ipc", "backlog.ipc", "busy.ipc", "pingpong.ipc",
                                        NULL};
    for (int i = 0; files[i]; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    CHECK_INT(rmdir(dir), 0);
    return 0;
}
