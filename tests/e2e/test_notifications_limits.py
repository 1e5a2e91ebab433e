"""The notifications service's internal limits, crossed end to end:
DELIVERY_MAX_LISTED_ATTEMPTS (a delivery lists its most recent attempts, at
the limit and one past it) and SCAN_MAX (more new deliveries than one scan
takes are all sent)."""

import threading
import time

from notificationslib import deliveries, subscribe
from stack import Stack, reply, run, serve_posts, stop_http

DELIVERY_MAX_LISTED_ATTEMPTS = 50  # services/notifications/deliveries.h
SCAN_MAX = 4096                    # services/notifications/engine.c
SCHEDULE_MAX_ATTEMPTS = 8          # services/notifications/schedule.h
ENV = {"WH_RETRY_SCALE": "0.000001", "WH_WEBHOOK_ALLOW": "127.0.0.1/32"}
SERVICES = ("agreements", "notifications")


class Receiver:
    """Answers requests to /<name> with status(name, n) for its n-th one
    (1-based) there."""

    def __init__(self, status):
        self.counts = {}
        self.ids = set()  # webhook-id of every request: one per delivery
        self.lock = threading.Lock()
        self.status = status
        self.server = serve_posts(self._post)
        self.base = "http://127.0.0.1:%d/" % self.server.server_address[1]

    def _post(self, h, body):
        name = h.path.strip("/")
        with self.lock:
            n = self.counts[name] = self.counts.get(name, 0) + 1
            self.ids.add(h.headers.get("webhook-id"))
        reply(h, self.status(name, n))

    def distinct(self):
        with self.lock:
            return len(self.ids)

    def close(self):
        stop_http(self.server)


def test_listed_attempts():
    """Receivers that fail until attempt 50 (at the limit) and attempt 51
    (one past): both deliveries end delivered; each lists 50 attempts, the
    most recent ones, ending with the success."""
    succeed_at = {"at-limit": DELIVERY_MAX_LISTED_ATTEMPTS,
                  "past-limit": DELIVERY_MAX_LISTED_ATTEMPTS + 1}
    rx = Receiver(lambda name, n: 204 if n >= succeed_at[name] else 500)
    try:
        with Stack(env=ENV, services=SERVICES) as s:
            org = s.org()
            for name in succeed_at:
                subscribe(s, org["id"], rx.base + name)
            assert s.patch("/v1/organizations/" + org["id"], {"employees": 9}).status == 200
            deadline = time.time() + 120
            while True:
                ds = deliveries(s)
                if len(ds) == 2 and all(d["status"] == "delivered" for d in ds):
                    break
                assert time.time() < deadline, ds
                for d in ds:  # a used-up schedule is started again by hand
                    if d["status"] == "failed":
                        r = s.post("/v1/deliveries/%s/retry" % d["id"])
                        assert r.status == 200, r
                time.sleep(0.1)
            by_target = {d["target"].rsplit("/", 1)[1]: d for d in ds}
            for name, made in succeed_at.items():
                a = by_target[name]["attempts"]
                assert len(a) == DELIVERY_MAX_LISTED_ATTEMPTS, (name, len(a))
                assert a[-1]["outcome"] == "delivered", (name, a[-1])
                assert all(x["http_status"] == 500 for x in a[:-1]), name
                assert [x["at"] for x in a] == sorted(x["at"] for x in a), name
                assert rx.counts[name] == made, rx.counts
    finally:
        rx.close()


def test_more_than_one_scan():
    """One update fanned out to more subscriptions than events would need:
    SCAN_MAX + 4 new deliveries, all sent."""
    subs = 52
    updates = SCAN_MAX // subs + 1     # 79 updates x 52 = 4108 > SCAN_MAX
    rx = Receiver(lambda name, n: 204)
    try:
        with Stack(env=ENV, services=SERVICES) as s:
            org = s.org()
            for i in range(subs):
                subscribe(s, org["id"], rx.base + "s%d" % i)
            for i in range(updates):
                assert s.patch("/v1/organizations/" + org["id"], {"employees": i}).status == 200
            want = subs * updates
            assert want > SCAN_MAX
            deadline = time.time() + 150
            while rx.distinct() < want and time.time() < deadline:
                time.sleep(0.2)
            # An attempt that timed out on a busy machine is made again, so
            # a receiver may see a delivery twice (it dedupes by webhook-id).
            assert rx.distinct() == want, (rx.distinct(), want)
            deadline = time.time() + 30
            while True:
                ds = deliveries(s)
                if sum(d["status"] == "delivered" for d in ds) == want or time.time() > deadline:
                    break
                time.sleep(0.2)
            assert len(ds) == want and all(d["status"] == "delivered" for d in ds), \
                (len(ds), sorted({d["status"] for d in ds}))
    finally:
        rx.close()


if __name__ == "__main__":
    run([test_listed_attempts, test_more_than_one_scan])
