#include "zsock.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "msg.h"

int wh_zsock_configure(void *sock)
{
    int64_t maxsize = WH_MSG_MAX_BYTES + WH_ZSOCK_MAX_HDR;
    int linger = 0;
    if (zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize) != 0 ||
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0)
        return WH_EIO;
    return 0;
}

int wh_zsock_heartbeat(void *sock, int ivl_ms, int timeout_ms)
{
    if (zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl_ms, sizeof ivl_ms) != 0 ||
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout_ms, sizeof timeout_ms) != 0)
        return WH_EIO;
    return 0;
}

/* Runs the callback while ZMQ_EVENTS shows input. first_read: the poll
 * fired, so input is likely; the callback runs once before the first look
 * at ZMQ_EVENTS, since its reads (ending in EAGAIN, which processes the
 * socket's commands) tell as much, and each look costs a system call. The
 * look after every callback stays: only it may end the drain. */
static void drain(wh_zsock_t *z, bool first_read)
{
    for (int round = 0; round < WH_ZSOCK_MAX_ROUNDS && !z->closing; round++) {
        if (round > 0 || !first_read) {
            int events = 0;
            size_t len = sizeof events;
            if (zmq_getsockopt(z->sock, ZMQ_EVENTS, &events, &len) != 0)
                return;
            if (!(events & ZMQ_POLLIN))
                return;
        }
        z->on_readable(z);
    }
    /* Still input after the round limit (or a callback not yet followed by
     * a look): come back on the next loop turn rather than starve the
     * other handles. */
    wh_zsock_kick(z);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    wh_zsock_t *z = h->data;
    drain(z, true);
}

static void on_idle(uv_idle_t *h)
{
    wh_zsock_t *z = h->data;
    uv_idle_stop(h);
    drain(z, false);
}

int wh_zsock_init(wh_zsock_t *z, uv_loop_t *loop, void *sock, wh_zsock_cb on_readable)
{
    int fd;
    size_t len = sizeof fd;
    z->sock = sock;
    z->on_readable = on_readable;
    z->closing = 0;
    z->pending_close = 0;
    z->close_cb = NULL;
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0)
        return WH_EIO;
    if (uv_poll_init(loop, &z->poll, fd) != 0)
        return WH_EIO;
    z->poll.data = z;
    uv_idle_init(loop, &z->idle);
    z->idle.data = z;
    uv_poll_start(&z->poll, UV_READABLE, on_poll);
    /* Messages may have arrived before the poll started; look once. */
    wh_zsock_kick(z);
    return 0;
}

void wh_zsock_kick(wh_zsock_t *z)
{
    if (!z->closing && !uv_is_active((uv_handle_t *)&z->idle))
        uv_idle_start(&z->idle, on_idle);
}

static void on_closed(uv_handle_t *h)
{
    wh_zsock_t *z = h->data;
    if (--z->pending_close == 0 && z->close_cb)
        z->close_cb(z);
}

void wh_zsock_close(wh_zsock_t *z, void (*cb)(wh_zsock_t *z))
{
    z->closing = 1;
    z->close_cb = cb;
    z->pending_close = 2;
    uv_close((uv_handle_t *)&z->idle, on_closed);
    uv_close((uv_handle_t *)&z->poll, on_closed);
}

int wh_zsock_send(void *sock, const void *const *frames, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(sock, frames[i], lens[i], flags) < 0) {
            if (errno == EHOSTUNREACH)
                return WH_ENOTFOUND;
            return errno == EAGAIN ? WH_EAGAIN : WH_EIO;
        }
    }
    return 0;
}

static int send_error(void)
{
    if (errno == EHOSTUNREACH)
        return WH_ENOTFOUND;
    return errno == EAGAIN ? WH_EAGAIN : WH_EIO;
}

int wh_zsock_send_joined(void *sock, const void *id, size_t idn, const void *hdr, size_t hdr_len,
                         const void *payload, size_t len)
{
    if (hdr_len > WH_ZSOCK_MAX_HDR)
        return WH_EINVAL;
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, hdr_len + len) != 0)
        return WH_ENOMEM;
    char *d = zmq_msg_data(&m);
    memcpy(d, hdr, hdr_len);
    if (len)
        memcpy(d + hdr_len, payload, len);
    if (idn > 0 && zmq_send(sock, id, idn, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0) {
        zmq_msg_close(&m);
        return send_error();
    }
    /* After the identity, a ROUTER takes the rest of the message whatever
     * happens (it drops what it cannot route), so this cannot fail alone. */
    if (zmq_msg_send(&m, sock, ZMQ_DONTWAIT) < 0) {
        int rc = send_error();
        zmq_msg_close(&m);
        return rc;
    }
    return 0;
}

int wh_zsock_recv(void *sock, zmq_msg_t msgs[WH_ZSOCK_MAX_FRAMES])
{
    int n = 0;
    bool more = true;
    while (more && n < WH_ZSOCK_MAX_FRAMES) {
        zmq_msg_init(&msgs[n]);
        if (zmq_msg_recv(&msgs[n], sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msgs[n]);
            /* Only the first frame can be missing: the frames of a
             * multipart message arrive together. */
            wh_zsock_msgs_close(msgs, n);
            return n == 0 ? 0 : WH_EPROTO;
        }
        more = zmq_msg_more(&msgs[n]);
        n++;
    }
    if (!more)
        return n;
    /* Too many frames: drain the rest and drop the whole message. */
    while (more) {
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        if (zmq_msg_recv(&extra, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&extra);
            break;
        }
        more = zmq_msg_more(&extra);
        zmq_msg_close(&extra);
    }
    wh_zsock_msgs_close(msgs, n);
    return WH_EPROTO;
}

void wh_zsock_msgs_close(zmq_msg_t *msgs, int n)
{
    for (int i = 0; i < n; i++)
        zmq_msg_close(&msgs[i]);
}
