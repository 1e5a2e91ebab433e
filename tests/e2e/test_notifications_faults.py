"""The notifications engine against receivers that misbehave, end to end
through real local servers: a webhook receiver that answers too slowly, one
that answers 429 with Retry-After, one that sends an endless body, and an
SMTP server that answers 4xx (tried again) or 5xx (failed at once). Each
attempt's outcome is read back from /v1/deliveries, as an operator would.

WH_RETRY_SCALE shrinks the retry schedule so that retries come within the
test; the timeouts and the response cut are the production values."""

import threading
import time

from notificationslib import Mailbox
from stack import Stack, reply, run, serve_posts, stop_http, wait_for

# Loopback receivers are test fixtures: allow them explicitly, as an
# operator would for a receiver on a private network.
ENV = {"WH_RETRY_SCALE": "0.0001", "WH_WEBHOOK_ALLOW": "127.0.0.1/32"}
SERVICES = ("agreements", "notifications")
ENGINE_WEBHOOK_TIMEOUT_MS = 10000    # services/notifications/engine.h
ENGINE_MAX_RESPONSE = 64 * 1024      # services/notifications/engine.h
SCHEDULE_MAX_ATTEMPTS = 8            # services/notifications/schedule.h


class Receiver:
    """A webhook receiver; behave(n, handler) answers the n-th request
    (0-based) and returns nothing. Records the arrival time of each."""

    def __init__(self, behave):
        self.arrivals = []
        self.notes = []
        self.lock = threading.Lock()
        self.behave = behave
        self.server = serve_posts(self._post)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]

    def _post(self, h, body):
        with self.lock:
            n = len(self.arrivals)
            self.arrivals.append(time.monotonic())
        try:
            self.behave(n, h)
        except OSError as e:  # the engine hung up, as it should
            with self.lock:
                self.notes.append((n, type(e).__name__))
        h.close_connection = True

    def close(self):
        stop_http(self.server)


def one_delivery(s, target, channel="webhook"):
    """Subscribes target to the organisation's updates, makes one update and
    returns a function that reads its delivery (None until it exists)."""
    org = s.org()
    r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["organization.updated"],
                                      "channel": channel, "target": target, "language": "en"})
    assert r.status == 201, r
    assert s.patch("/v1/organizations/" + org["id"], {"employees": 7}).status == 200

    def read():
        r = s.get("/v1/deliveries?limit=10")
        assert r.status == 200, r
        items = r.json()["items"]
        assert len(items) <= 1, items
        return items[0] if items else None
    return read


def settled(read, status):
    def cond():
        d = read()
        return d if d and d["status"] == status else None
    return cond


def attempts(d, field="http_status"):
    return [(a["outcome"], a[field]) for a in d["attempts"]]


def test_slow_receiver_times_out():
    """A receiver that holds the request past the webhook timeout: that
    attempt is a timeout, the next one (answered at once) delivers."""
    hold_s = ENGINE_WEBHOOK_TIMEOUT_MS / 1000 + 2

    def behave(n, h):
        if n == 0:
            time.sleep(hold_s)
        reply(h, 204)
    rx = Receiver(behave)
    try:
        with Stack(env=ENV, services=SERVICES) as s:
            read = one_delivery(s, rx.url)
            d = wait_for(settled(read, "delivered"), timeout=60, what="delivered", s=s)
            assert attempts(d) == [("timeout", None), ("delivered", 204)], d
            # The engine gave up at its timeout, not when the receiver did.
            gap = rx.arrivals[1] - rx.arrivals[0]
            assert gap >= ENGINE_WEBHOOK_TIMEOUT_MS / 1000 - 0.5, gap
    finally:
        rx.close()


def test_429_retry_after_is_honoured():
    """429 with Retry-After: the next attempt waits that long, though the
    scaled schedule alone would try again within milliseconds (as the 500
    before it shows)."""
    wait_s = 3

    def behave(n, h):
        if n == 0:
            reply(h, 500)
        elif n == 1:
            reply(h, 429, [("Retry-After", str(wait_s))])
        else:
            reply(h, 204)
    rx = Receiver(behave)
    try:
        with Stack(env=ENV, services=SERVICES) as s:
            read = one_delivery(s, rx.url)
            d = wait_for(settled(read, "delivered"), what="delivered", s=s)
            assert attempts(d) == [("http_error", 500), ("http_error", 429),
                                   ("delivered", 204)], d
            scheduled = rx.arrivals[1] - rx.arrivals[0]
            told = rx.arrivals[2] - rx.arrivals[1]
            print("retry after 500: %.3fs; after 429 with Retry-After %d: %.3fs" % (
                scheduled, wait_s, told))
            assert told >= wait_s - 0.1, told
            assert scheduled < wait_s - 0.1, scheduled
    finally:
        rx.close()


def test_oversized_response_is_cut():
    """A receiver that answers 200 and then streams a body far past
    ENGINE_MAX_RESPONSE: the engine stops reading (the receiver sees the
    connection closed long before the end), and the status decides."""
    total = 64 * 1024 * 1024
    sent = {}

    def behave(n, h):
        h.send_response(200)
        h.send_header("Content-Length", str(total))
        h.end_headers()
        chunk = b"x" * 65536
        done = 0
        try:
            while done < total:
                h.wfile.write(chunk)
                done += len(chunk)
        finally:
            sent[n] = done
    rx = Receiver(behave)
    try:
        with Stack(env=ENV, services=SERVICES) as s:
            read = one_delivery(s, rx.url)
            d = wait_for(settled(read, "delivered"), what="delivered", s=s)
            assert attempts(d) == [("delivered", 200)], d
            wait_for(lambda: 0 in sent, what="the receiver to stop writing", s=s)
            print("receiver wrote %d of %d bytes before the engine hung up" % (sent[0], total))
            assert sent[0] < total // 4, sent
            assert rx.notes and rx.notes[0][0] == 0, rx.notes
    finally:
        rx.close()


def test_smtp_4xx_is_retried():
    box = Mailbox(lambda n: "451 4.3.0 Try again later" if n < 2 else "250 OK")
    try:
        env = dict(ENV, WH_SMTP_URL="smtp://127.0.0.1:%d" % box.port)
        with Stack(env=env, services=SERVICES) as s:
            read = one_delivery(s, "anna@example.org", channel="email")
            d = wait_for(settled(read, "delivered"), what="delivered", s=s)
            assert attempts(d, "smtp_status") == [("smtp_deferred", 451), ("smtp_deferred", 451),
                                                  ("delivered", 250)], d
            assert box.count == 3
    finally:
        box.close()


def test_smtp_5xx_fails_at_once():
    box = Mailbox(lambda n: "550 5.1.1 No such user")
    try:
        env = dict(ENV, WH_SMTP_URL="smtp://127.0.0.1:%d" % box.port)
        with Stack(env=env, services=SERVICES) as s:
            read = one_delivery(s, "nobody@example.org", channel="email")
            d = wait_for(settled(read, "failed"), what="failed", s=s)
            assert attempts(d, "smtp_status") == [("smtp_rejected", 550)], d
            time.sleep(0.5)
            assert box.count == 1
            assert read()["status"] == "failed"
    finally:
        box.close()


def test_smtp_4xx_until_the_last_attempt():
    """A server that never stops deferring: every attempt of the schedule
    is made, then the delivery fails."""
    box = Mailbox(lambda n: "421 4.7.0 Busy")
    try:
        env = dict(ENV, WH_SMTP_URL="smtp://127.0.0.1:%d" % box.port)
        with Stack(env=env, services=SERVICES) as s:
            read = one_delivery(s, "busy@example.org", channel="email")
            d = wait_for(settled(read, "failed"), timeout=60, what="failed", s=s)
            assert [a["outcome"] for a in d["attempts"]] == \
                ["smtp_deferred"] * SCHEDULE_MAX_ATTEMPTS, d
            assert box.count == SCHEDULE_MAX_ATTEMPTS
    finally:
        box.close()


if __name__ == "__main__":
    run([test_slow_receiver_times_out, test_429_retry_after_is_honoured,
         test_oversized_response_is_cut, test_smtp_4xx_is_retried, test_smtp_5xx_fails_at_once,
         test_smtp_4xx_until_the_last_attempt])
