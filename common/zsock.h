/* A ZeroMQ socket on a libuv loop. ZMQ_FD is edge-triggered and signals only
 * that ZMQ_EVENTS may have changed, so after every wake-up and after every
 * send the bridge re-reads ZMQ_EVENTS and keeps calling the readable callback
 * until it shows no more input; a send schedules that check on an idle
 * handle, because the send itself may consume the edge. The callback reads
 * with ZMQ_DONTWAIT until EAGAIN or until it has had enough for one batch;
 * to keep the loop fair, one wake-up runs at most WH_ZSOCK_MAX_ROUNDS
 * callbacks and then yields to the loop.
 *
 * Sockets get ZMQ_MAXMSGSIZE = WH_MSG_MAX_BYTES and ZMQ_LINGER = 0 from
 * wh_zsock_configure(). The bridge does not own the socket. */
#ifndef WH_ZSOCK_H
#define WH_ZSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>
#include <zmq.h>

#define WH_ZSOCK_MAX_ROUNDS 16
#define WH_ZSOCK_MAX_FRAMES 4
/* What a message may carry before its payload (the broker's frame header):
 * ZMQ_MAXMSGSIZE is WH_MSG_MAX_BYTES plus this. */
#define WH_ZSOCK_MAX_HDR 16

typedef struct wh_zsock wh_zsock_t;
typedef void (*wh_zsock_cb)(wh_zsock_t *z);

struct wh_zsock {
    void *sock;
    uv_poll_t poll;
    uv_idle_t idle;
    wh_zsock_cb on_readable;
    void *data; /* free for the owner */
    int closing;
    int pending_close;
    void (*close_cb)(wh_zsock_t *z);
};

int wh_zsock_configure(void *sock);
/* ZMTP heartbeats on every connection of sock: a PING each ivl_ms, and the
 * connection closed when nothing has come back for timeout_ms. ZeroMQ's I/O
 * thread sends and answers them, so they tell whether the peer's process
 * (and host) is there, not whether its loop is turning: a peer frozen or
 * gone without closing its socket is disconnected, a busy one is not. */
int wh_zsock_heartbeat(void *sock, int ivl_ms, int timeout_ms);
int wh_zsock_init(wh_zsock_t *z, uv_loop_t *loop, void *sock, wh_zsock_cb on_readable);
/* Call after sends made outside the readable callback. */
void wh_zsock_kick(wh_zsock_t *z);
/* Closes the libuv handles; the socket stays open for the caller to close
 * once cb has run (cb may be NULL). */
void wh_zsock_close(wh_zsock_t *z, void (*cb)(wh_zsock_t *z));

/* Sends n frames as one multipart message without blocking. 0, or
 * WH_EAGAIN when the peer's queue is full, or WH_ENOTFOUND when a ROUTER
 * with ZMQ_ROUTER_MANDATORY has no such peer. */
int wh_zsock_send(void *sock, const void *const *frames, const size_t *lens, int n);

/* Sends hdr and payload joined in one frame, after an identity frame when
 * idn > 0 (a ROUTER's peer): one message through ZeroMQ's queues instead
 * of one per part. hdr_len <= WH_ZSOCK_MAX_HDR. Returns as wh_zsock_send. */
int wh_zsock_send_joined(void *sock, const void *id, size_t idn, const void *hdr, size_t hdr_len,
                         const void *payload, size_t len);

/* Receives one multipart message of at most WH_ZSOCK_MAX_FRAMES frames into
 * msgs (each initialised here; close them with wh_zsock_msgs_close). Returns
 * the frame count, 0 when nothing is waiting, or WH_EPROTO when the message
 * had more frames (the rest are drained and dropped). */
int wh_zsock_recv(void *sock, zmq_msg_t msgs[WH_ZSOCK_MAX_FRAMES]);
void wh_zsock_msgs_close(zmq_msg_t *msgs, int n);

#endif
