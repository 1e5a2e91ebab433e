"""Events in batches within the consumer's credit, across kill -9.

A backlog of organization.updated events (written straight into the
agreements service's outbox while it is stopped) goes to one webhook
receiver that answers slowly, so that the notifications service cannot keep
up. The consumer's backlog of webhooks due must stay near its limit
(EVENTS_BACKLOG_MAX, services/notifications/ingest.h) while the rest waits
in the producer's outbox. Meanwhile the consumer and then the producer are
killed with SIGKILL and started again. Once the receiver is fast, every
event reaches notifications exactly once (one stored event and one delivery
each), the outbox is empty, and /metrics shows the credit.
"""

import json
import os
import signal
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

import msgpack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from stack import Stack, run, serve_http, stop_http, wait_for  # noqa: E402

N = 6000
EVENTS_BACKLOG_MAX = 2048      # services/notifications/ingest.h
WH_EVENTS_BATCH_MAX = 256      # proto/events.h
PRODUCERS = 3                  # agreements, surveys, screening: each may overshoot by a batch
BOUND = EVENTS_BACKLOG_MAX + PRODUCERS * WH_EVENTS_BATCH_MAX
WH_EVENTS_BATCH_BYTES = 1 << 20  # proto/events.h
WH_MSG_MAX_BYTES = 4 << 20       # common/msg.h

slow = threading.Event()
slow.set()


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if slow.is_set():
            time.sleep(0.02)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def msgpack_str(s):
    b = s.encode()
    return (bytes([0xA0 | len(b)]) if len(b) < 32 else bytes([0xD9, len(b)])) + b


def count(s, name, sql, args=()):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(s.data_dir, name + ".db"),
                         uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


def backlog(s):
    return count(s, "notifications", "SELECT count(*) FROM deliveries WHERE status = 'pending'"
                 " AND channel = 'webhook' AND next_ms <= ?", (int(time.time() * 1000),))


def outbox(s):
    return count(s, "agreements", "SELECT count(*) FROM wh_outbox WHERE state = 0")


def test_backlog_bounded_and_exactly_once_across_kills():
    rx = serve_http(Hook)
    try:
        with Stack() as s:
            org = s.org()
            r = s.post("/v1/subscriptions", {
                "org_id": org["id"], "events": ["organization.updated"],
                "channel": "webhook", "target": "http://127.0.0.1:%d/hook" % rx.server_port})
            assert r.status == 201, r
            wait_for(lambda: outbox(s) == 0, what="the organisation's event sent", s=s)
            s.kill("agreements", signal.SIGTERM)
            data = (bytes([0x83]) + msgpack_str("organization_id") + msgpack_str(org["id"]) +
                    msgpack_str("name") + msgpack_str("Bezirksamt Mitte") +
                    msgpack_str("kind") + msgpack_str("employer"))
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
            db = sqlite3.connect(os.path.join(s.data_dir, "agreements.db"))
            db.executemany("INSERT INTO wh_outbox(id, type, org_id, occurred_at, data)"
                           " VALUES (?, 'organization.updated', ?, ?, ?)",
                           (("01FAULTBATCH%014d" % i, org["id"], now, data) for i in range(N)))
            db.commit()
            db.close()
            s.start_process("agreements")

            most, waiting = 0, 0

            def watch(seconds):
                nonlocal most, waiting
                end = time.time() + seconds
                while time.time() < end:
                    most = max(most, backlog(s))
                    waiting = max(waiting, outbox(s))
                    time.sleep(0.05)

            watch(2.0)
            s.kill("notifications", signal.SIGKILL)
            s.start_process("notifications")
            s.wait_ready()
            watch(1.5)
            s.kill("agreements", signal.SIGKILL)
            s.start_process("agreements")
            s.wait_ready()
            watch(1.5)
            assert most <= BOUND, "the consumer's backlog reached %d (bound %d)" % (most, BOUND)
            assert waiting > N // 2, "the excess did not wait in the outbox (%d)" % waiting

            slow.clear()
            wait_for(lambda: outbox(s) == 0, timeout=120, what="the outbox drained", s=s)
            wait_for(lambda: count(s, "notifications", "SELECT count(*) FROM deliveries"
                                   " WHERE status = 'delivered' AND event_id LIKE '01FAULTBATCH%'")
                     == N, timeout=120, what="every delivery made", s=s)
            assert count(s, "notifications", "SELECT count(*) FROM events"
                         " WHERE id LIKE '01FAULTBATCH%'") == N
            assert count(s, "notifications", "SELECT count(*) FROM (SELECT event_id FROM"
                         " deliveries GROUP BY event_id HAVING count(*) > 1)") == 0
            assert count(s, "agreements", "SELECT count(*) FROM wh_outbox") == 0
            # /metrics shows the credit from both sides; with nothing due the
            # consumer grants its whole backlog.
            figures = s.get("/metrics").body.decode()
            assert ('wh_notifications_event_credit{service="notifications",' in figures and
                    any(line.startswith("wh_notifications_event_credit{") and
                        line.endswith(" %d" % EVENTS_BACKLOG_MAX)
                        for line in figures.splitlines())), figures
            assert 'wh_outbox_credit{service="agreements",' in figures, figures
            print("backlog at most %d (bound %d), outbox at most %d of %d"
                  % (most, BOUND, waiting, N))
    finally:
        stop_http(rx)


def test_large_events_split_by_bytes():
    """Events of some 21 KB each (agreement.expiring with 20 contacts whose
    names are 1,000 characters): WH_EVENTS_BATCH_MAX of them would be over
    the largest message, so batches end at WH_EVENTS_BATCH_BYTES and every
    event still arrives. One event larger than a message is kept as
    rejected and the stream goes on."""
    with Stack() as s:
        contacts = [{"name": "K" * 1000, "email": "c%d@example.org" % i, "language": "de"}
                    for i in range(20)]
        data = msgpack.packb({
            "agreement_id": "01JAGREEMENT00000000000000", "title": "Vertrag",
            "employer_id": "01JEMPLOYER000000000000000", "insurer_id": "01JINSURER0000000000000000",
            "ends_on": "2027-12-31", "notice_deadline": "2027-09-30", "days_before": 30,
            "auto_renew": False, "contacts": contacts})
        n = 300
        assert WH_EVENTS_BATCH_MAX * len(data) > WH_MSG_MAX_BYTES
        assert n * len(data) > 4 * WH_EVENTS_BATCH_BYTES
        s.kill("agreements", signal.SIGTERM)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        db = sqlite3.connect(os.path.join(s.data_dir, "agreements.db"))
        db.executemany("INSERT INTO wh_outbox(id, type, org_id, occurred_at, data)"
                       " VALUES (?, 'agreement.expiring', ?, ?, ?)",
                       (("01FAULTLARGE%014d" % i, "01JEMPLOYER000000000000000", now, data)
                        for i in range(n)))
        db.commit()
        db.close()
        s.start_process("agreements")
        wait_for(lambda: outbox(s) == 0, timeout=60, what="the large events sent", s=s)
        assert count(s, "notifications", "SELECT count(*) FROM events"
                     " WHERE id LIKE '01FAULTLARGE%'") == n
        assert count(s, "agreements", "SELECT count(*) FROM wh_outbox") == 0

        # An event over the largest message on its own is kept as rejected,
        # and the one after it goes out.
        s.kill("agreements", signal.SIGTERM)
        db = sqlite3.connect(os.path.join(s.data_dir, "agreements.db"))
        org = {"organization_id": "01JEMPLOYER000000000000000", "name": "Amt", "kind": "employer"}
        huge = msgpack.packb(dict(org, name="N" * (WH_MSG_MAX_BYTES + 1)))
        db.executemany("INSERT INTO wh_outbox(id, type, org_id, occurred_at, data, request_id)"
                       " VALUES (?, 'organization.updated', ?, ?, ?, 'rename-amt')",
                       [("01FAULTHUGE00000000000000%d" % i, "01JEMPLOYER000000000000000", now, d)
                        for i, d in enumerate((huge, msgpack.packb(org)))])
        db.commit()
        db.close()
        s.start_process("agreements")
        wait_for(lambda: outbox(s) == 0, timeout=30, what="the stream past the huge event", s=s)
        assert count(s, "agreements", "SELECT count(*) FROM wh_outbox WHERE state = 1"
                     " AND id = '01FAULTHUGE000000000000000' AND last_status = 413") == 1
        assert count(s, "notifications", "SELECT count(*) FROM events"
                     " WHERE id = '01FAULTHUGE000000000000001'") == 1
        # The operator finds the rejection under the event and its request.
        lines = [json.loads(x) for x in s.logs().splitlines() if "rejected by the consumer" in x]
        assert [(x["request_id"], "01FAULTHUGE000000000000000" in x["msg"]) for x in lines] == \
            [("rename-amt", True)], lines


if __name__ == "__main__":
    run([test_backlog_bounded_and_exactly_once_across_kills, test_large_events_split_by_bytes])
