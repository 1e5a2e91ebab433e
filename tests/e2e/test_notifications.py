"""Notifications end to end: subscriptions, signed webhooks to a real HTTP
receiver that checks every signature with its own HMAC code, e-mail to a real
SMTP server (aiosmtpd), retries and manual retry, malformed events in the
producer's outbox, and SIGKILL of producer and consumer in the middle of a
stream. The agreements service's organization.created/updated events are the
producer. WH_RETRY_SCALE=0.0001 runs the whole retry schedule (about 28 hours)
in about ten seconds."""

import base64
import email
import email.policy
import os
import signal
import sqlite3
import threading
import time

import msgpack

from notificationslib import Mailbox, Receiver, deliveries, subscribe
from stack import Stack, Worker, free_port, run, wait_for

SCALE = {"WH_RETRY_SCALE": "0.0001"}


def test_subscriptions():
    with Stack() as s:
        org = s.org()
        other = s.org(name="Stadtwerke")
        sub = subscribe(s, org["id"], "https://hooks.example.org/in",
                        events=["organization.created", "organization.updated"])
        assert sub["secret"].startswith("whsec_") and len(sub["secret"]) == 50, sub
        assert len(base64.b64decode(sub["secret"][6:])) == 32
        assert sub["events"] == ["organization.created", "organization.updated"]
        assert sub["channel"] == "webhook" and sub["language"] == "en"
        # The secret is shown once: never in a read.
        r = s.get("/v1/subscriptions/" + sub["id"])
        assert r.status == 200 and "secret" not in r.json(), r
        expect = dict(sub)
        del expect["secret"]
        assert r.json() == expect
        r = s.get("/v1/subscriptions?org_id=" + org["id"])
        assert r.json() == {"items": [expect], "next_cursor": None}, r
        mail = subscribe(s, org["id"], "anna@example.org", channel="email", language="sv")
        assert "secret" not in mail

        # Validation: one pointer per problem.
        r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["nope", "survey.opened",
                                                                          "survey.opened"],
                                         "channel": "webhook", "target": "ftp://x.org/"})
        assert r.status == 422, r
        ptrs = {e["pointer"] for e in r.json()["errors"]}
        assert ptrs == {"/events/0", "/events/2", "/target"}, r.json()
        r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["survey.opened"],
                                         "channel": "email", "target": "not-an-address"})
        assert r.status == 422 and {e["pointer"] for e in r.json()["errors"]} == {
            "/target", "/language"}, r
        r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["survey.opened"] * 21,
                                         "channel": "webhook", "target": "https://x.org/"})
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/events", r
        r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["survey.opened"],
                                         "channel": "webhook", "target": "https://u:p@x.org/"})
        assert r.status == 422, r
        r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["survey.opened"],
                                         "channel": "webhook", "target": "https://x.org/",
                                         "colour": "blue"})
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/colour", r

        # Tenancy and roles.
        coord = s.token("coordinator", [org["id"]])
        occ = s.token("occupational_health", [org["id"]])
        integ = s.token("integration", [org["id"]])
        r = s.post("/v1/subscriptions", {"org_id": other["id"], "events": ["survey.opened"],
                                         "channel": "webhook", "target": "https://x.org/"},
                   token=coord)
        assert r.status == 404, r
        r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["alert.created"],
                                         "channel": "webhook", "target": "https://x.org/"},
                   token=coord)
        assert r.status == 403, r
        alert_sub = subscribe(s, org["id"], "https://occ.example.org/hook",
                              events=["alert.created", "alert.escalated"], token=occ)
        assert s.get("/v1/subscriptions", token=integ).status == 403
        r = s.delete("/v1/subscriptions/" + alert_sub["id"], token=coord)
        assert r.status == 403, r
        other_sub = subscribe(s, other["id"], "https://x.org/")
        assert s.get("/v1/subscriptions/" + other_sub["id"], token=coord).status == 404
        assert s.delete("/v1/subscriptions/" + other_sub["id"], token=coord).status == 404
        ids = [x["id"] for x in s.get("/v1/subscriptions", token=coord).json()["items"]]
        assert ids == [sub["id"], mail["id"], alert_sub["id"]], ids
        # Paging.
        r = s.get("/v1/subscriptions?limit=2").json()
        assert len(r["items"]) == 2 and r["next_cursor"] == mail["id"], r
        r = s.get("/v1/subscriptions?limit=2&cursor=" + r["next_cursor"]).json()
        assert [x["id"] for x in r["items"]] == [alert_sub["id"], other_sub["id"]], r

        assert s.delete("/v1/subscriptions/" + sub["id"], token=coord).status == 204
        assert s.get("/v1/subscriptions/" + sub["id"]).status == 404
        assert s.delete("/v1/subscriptions/" + alert_sub["id"], token=occ).status == 204


def test_webhook_signed_and_listed():
    rx = Receiver()
    try:
        with Stack(env=SCALE) as s:
            org = s.org()
            sub = subscribe(s, org["id"], rx.url)
            rx.secret = sub["secret"]
            s.patch("/v1/organizations/" + org["id"], {"name": "Bezirksamt Mitte (neu)"})
            wait_for(lambda: len(rx.got) == 1, what="one webhook", s=s)
            wid, body = rx.got[0]
            assert body["type"] == "organization.updated", body
            assert body["data"] == {"organization_id": org["id"],
                                    "name": "Bezirksamt Mitte (neu)", "kind": "employer"}, body
            assert body["timestamp"].endswith("Z")
            assert rx.bad == []
            d = wait_for(lambda: [x for x in deliveries(s, status="delivered")],
                         what="delivered", s=s)
            assert len(d) == 1 and d[0]["id"] == wid, d
            assert d[0]["subscription_id"] == sub["id"] and d[0]["target"] == rx.url
            assert d[0]["event_type"] == "organization.updated" and d[0]["channel"] == "webhook"
            assert [(a["outcome"], a["http_status"]) for a in d[0]["attempts"]] == [
                ("delivered", 204)], d
            # Filters.
            assert deliveries(s, status="pending") == []
            assert deliveries(s, event_type="organization.created") == []
            assert len(deliveries(s, subscription_id=sub["id"])) == 1
            assert s.get("/v1/deliveries?status=lost").status == 422
            assert s.get("/v1/deliveries?event_type=org.nope").status == 422
            # A delivered delivery cannot be retried.
            r = s.post("/v1/deliveries/%s/retry" % wid)
            assert r.status == 409, r
            # Another organisation's coordinator sees nothing of it.
            other = s.org(name="Anderswo")
            coord = s.token("coordinator", [other["id"]])
            r = s.get("/v1/deliveries", token=coord)
            assert r.status == 200 and r.json()["items"] == [], r
            assert s.post("/v1/deliveries/%s/retry" % wid, token=coord).status == 404
    finally:
        rx.close()


def test_500_then_recovers():
    rx = Receiver(answer=lambda n: 500 if n < 2 else 200)
    try:
        with Stack(env=SCALE) as s:
            org = s.org()
            rx.secret = subscribe(s, org["id"], rx.url)["secret"]
            s.patch("/v1/organizations/" + org["id"], {"employees": 1700})
            wait_for(lambda: rx.count >= 3, what="three attempts", s=s)
            ids = rx.ids()
            assert len(ids) == 3 and len(set(ids)) == 1, ids  # the same webhook-id each time
            d = wait_for(lambda: deliveries(s, status="delivered"), what="delivered", s=s)
            assert d[0]["id"] == ids[0]
            assert [(a["outcome"], a["http_status"]) for a in d[0]["attempts"]] == [
                ("http_error", 500), ("http_error", 500), ("delivered", 200)], d
            time.sleep(0.3)
            assert rx.count == 3
    finally:
        rx.close()


def test_receiver_gone_then_manual_retry():
    port = free_port()  # nothing listens here yet
    url = "http://127.0.0.1:%d/hooks/workhealth" % port
    with Stack(env=SCALE) as s:
        org = s.org()
        secret = subscribe(s, org["id"], url)["secret"]
        s.patch("/v1/organizations/" + org["id"], {"employees": 1800})
        d = wait_for(lambda: deliveries(s, status="failed"), timeout=40, what="failed", s=s)
        assert len(d) == 1, d
        attempts = d[0]["attempts"]
        assert len(attempts) == 8, attempts
        assert all(a["outcome"] == "connect_failed" and a["http_status"] is None
                   for a in attempts), attempts
        times = [a["at"] for a in attempts]
        assert times == sorted(times)
        rx = Receiver(port=port)
        rx.secret = secret
        try:
            r = s.post("/v1/deliveries/%s/retry" % d[0]["id"])
            assert r.status == 200 and r.json()["status"] == "pending", r
            wait_for(lambda: rx.got, what="the retried webhook", s=s)
            assert rx.ids() == [d[0]["id"]]
            d2 = wait_for(lambda: deliveries(s, status="delivered"), what="delivered", s=s)
            assert len(d2[0]["attempts"]) == 9 and d2[0]["attempts"][-1]["outcome"] == "delivered"
        finally:
            rx.close()


def test_4xx_fails_at_once():
    rx = Receiver(answer=lambda n: 410)
    try:
        with Stack(env=SCALE) as s:
            org = s.org()
            rx.secret = subscribe(s, org["id"], rx.url)["secret"]
            s.patch("/v1/organizations/" + org["id"], {"employees": 10})
            d = wait_for(lambda: deliveries(s, status="failed"), what="failed", s=s)
            assert [(a["outcome"], a["http_status"]) for a in d[0]["attempts"]] == [
                ("http_error", 410)], d
            time.sleep(0.3)
            assert rx.count == 1
    finally:
        rx.close()


def test_email_in_three_languages():
    box = Mailbox()
    try:
        env = dict(SCALE, WH_SMTP_URL="smtp://127.0.0.1:%d" % box.port,
                   WH_MAIL_FROM="workhealth <noreply@wh.example.org>",
                   WH_PUBLIC_URL="https://wh.example.org/")
        with Stack(env=env) as s:
            org = s.org(name="Klinikum Süd")
            for lang, addr in (("de", "anna@example.org"), ("en", "ben@example.org"),
                               ("sv", "cecilia@example.se")):
                subscribe(s, org["id"], addr, channel="email", language=lang)
            s.patch("/v1/organizations/" + org["id"], {"name": "Klinikum Süd-Ost"})
            wait_for(lambda: len(box.messages) == 3, what="three mails", s=s)
            by_rcpt = {}
            for mail_from, rcpts, content in box.messages:
                assert mail_from == "noreply@wh.example.org", mail_from
                msg = email.message_from_bytes(content, policy=email.policy.default)
                by_rcpt[rcpts[0]] = msg
            link = "https://wh.example.org/v1/organizations/" + org["id"]
            want = {
                "anna@example.org": ("Organisation geändert: Klinikum Süd-Ost",
                                     "die Angaben zur Organisation Klinikum Süd-Ost (Arbeitgeber) "
                                     "wurden geändert."),
                "ben@example.org": ("Organisation updated: Klinikum Süd-Ost",
                                    "the details of the organisation Klinikum Süd-Ost (employer) "
                                    "have been updated."),
                "cecilia@example.se": ("Organisation ändrad: Klinikum Süd-Ost",
                                       "Uppgifterna om organisationen Klinikum Süd-Ost "
                                       "(arbetsgivare) har ändrats."),
            }
            # The mail server has them; the outcomes are written just after.
            wait_for(lambda: len(deliveries(s, status="delivered")) == 3,
                     what="three delivered", s=s)
            d = {x["target"]: x for x in deliveries(s, status="delivered")}
            for rcpt, (subject, line) in want.items():
                msg = by_rcpt[rcpt]
                assert msg["Subject"] == subject, (msg["Subject"], subject)
                assert msg["From"] == "workhealth <noreply@wh.example.org>"
                assert msg["To"] == rcpt
                assert msg["Message-ID"] == "<%s@workhealth>" % d[rcpt]["id"], msg["Message-ID"]
                assert msg.get_content_type() == "text/plain"
                assert msg.get_content_charset() == "utf-8"
                text = msg.get_content()
                assert line in text, text
                assert link in text, text
                assert d[rcpt]["attempts"][0]["outcome"] == "delivered"
                assert d[rcpt]["attempts"][0]["smtp_status"] == 250, d[rcpt]
    finally:
        box.close()


def test_email_waits_for_smtp():
    """Without WH_SMTP_URL an e-mail delivery stays pending (and the log says
    why); once the service runs with a mail server it goes out."""
    box = Mailbox()
    try:
        with Stack(env=SCALE) as s:
            org = s.org()
            subscribe(s, org["id"], "anna@example.org", channel="email", language="de")
            s.patch("/v1/organizations/" + org["id"], {"employees": 5})
            wait_for(lambda: deliveries(s, status="pending"), what="a pending delivery", s=s)
            time.sleep(0.5)
            d = deliveries(s)
            assert len(d) == 1 and d[0]["status"] == "pending" and d[0]["attempts"] == [], d
            assert "WH_SMTP_URL is not set" in s.logs()
            s.kill("notifications", signal.SIGTERM)
            s.start_process("notifications",
                            env={"WH_SMTP_URL": "smtp://127.0.0.1:%d" % box.port})
            wait_for(lambda: box.messages, what="the mail", s=s)
            wait_for(lambda: deliveries(s, status="delivered"), what="delivered", s=s)
    finally:
        box.close()


def test_malformed_events_do_not_stop_the_stream():
    rx = Receiver()
    try:
        with Stack(env=SCALE) as s:
            org = s.org()
            rx.secret = subscribe(s, org["id"], rx.url)["secret"]
            s.kill("agreements", signal.SIGTERM)
            db = sqlite3.connect(os.path.join(s.data_dir, "agreements.db"))
            rows = [
                # an unknown type
                ("01JBADTYPE0000000000000000", "organization.exploded", org["id"],
                 msgpack.packb({"organization_id": org["id"], "name": "x", "kind": "employer"})),
                # a known type without a required field
                ("01JBADDATA0000000000000000", "organization.updated", org["id"],
                 msgpack.packb({"organization_id": org["id"], "kind": "employer"})),
                # not a map at all
                ("01JBADBLOB0000000000000000", "organization.updated", org["id"], b"\xc0"),
            ]
            for rid, typ, oid, data in rows:
                db.execute("INSERT INTO wh_outbox(id, type, org_id, occurred_at, data)"
                           " VALUES (?, ?, ?, '2025-01-01T00:00:00.000Z', ?)",
                           (rid, typ, oid, data))
            db.commit()
            s.start_process("agreements")
            s.wait_ready()
            for i in range(3):
                r = s.patch("/v1/organizations/" + org["id"], {"employees": 100 + i})
                assert r.status == 200, r
            wait_for(lambda: len(rx.got) == 3, what="three good events", s=s)
            assert [g[1]["data"]["name"] for g in rx.got] == ["Bezirksamt Mitte"] * 3
            states = wait_for(lambda: [
                r for r in db.execute("SELECT id, state, last_status FROM wh_outbox"
                                      " ORDER BY id").fetchall()
                if r[1] == 1] if len(db.execute("SELECT id FROM wh_outbox").fetchall()) == 3
                else None, what="the bad rows rejected", s=s)
            assert states == [("01JBADBLOB0000000000000000", 1, 422),
                              ("01JBADDATA0000000000000000", 1, 422),
                              ("01JBADTYPE0000000000000000", 1, 422)], states
            db.close()
            assert rx.bad == []
    finally:
        rx.close()


def test_sigkill_producer_and_consumer_mid_stream():
    rx = Receiver()
    total = 300
    try:
        with Stack(env=SCALE) as s:
            # Subscriptions are per organisation, so the stream is of updates
            # to one organisation: each PATCH is one organization.updated.
            anchor = s.org(name="Anchor")
            rx.secret = subscribe(s, anchor["id"], rx.url)["secret"]
            done = threading.Event()
            sent = []

            def producer():
                i = 0
                while i < total:
                    try:
                        r = s.patch("/v1/organizations/" + anchor["id"],
                                    {"employees": i}, timeout=5)
                    except OSError:
                        r = None
                    if r is not None and r.status == 200:
                        sent.append(i)
                        i += 1
                    elif r is None or r.status in (503, 504):
                        time.sleep(0.02)  # the service is being restarted
                    else:
                        raise AssertionError("update %d: unexpected %r" % (i, r))
                done.set()

            t = Worker(producer, failed=done, name="producer")
            t.start()
            wait_for(lambda: len(sent) >= total // 3 or t.error, what="a third of the stream", s=s)
            if t.error:
                t.join(10)
            s.kill("agreements")
            time.sleep(0.3)
            s.start_process("agreements")
            wait_for(lambda: len(sent) >= 2 * total // 3 or t.error,
                     timeout=30, what="two thirds of the stream", s=s)
            if t.error:
                t.join(10)
            s.kill("notifications")
            time.sleep(0.3)
            s.start_process("notifications")
            assert done.wait(60), "producer stalled\n" + s.logs()
            t.join(10)  # raises what the producer ran into
            # An update whose reply was lost in the kill may have been
            # committed and then sent again by the producer thread: the
            # organisation's version counts the updates really committed.
            etag = s.get("/v1/organizations/" + anchor["id"]).header("ETag")
            committed = int(etag.strip('"').split(".")[1]) - 1
            assert total <= committed <= total + 3, committed
            wait_for(lambda: len(set(rx.ids())) >= committed, timeout=40, what="every event", s=s)
            time.sleep(0.5)
            ids = rx.ids()
            distinct = set(ids)
            assert len(distinct) == committed, (len(distinct), committed)
            assert rx.bad == []
            # None twice by webhook-id: every event has exactly one delivery,
            # so one webhook-id; a repeat of an id (an attempt cut off by the
            # kill) is what a receiver dedupes.
            r = s.get("/v1/deliveries?limit=500").json()
            items = r["items"]
            assert len(items) == committed and r["next_cursor"] is None, len(items)
            assert len({x["event_id"] for x in items}) == committed
            assert {x["id"] for x in items} == distinct
            assert all(x["status"] == "delivered" for x in items)
            print("  %d webhooks for %d events (%d repeats of an id)" % (
                len(ids), committed, len(ids) - len(distinct)))
    finally:
        rx.close()


if __name__ == "__main__":
    run([test_subscriptions, test_webhook_signed_and_listed, test_500_then_recovers,
         test_receiver_gone_then_manual_retry, test_4xx_fails_at_once,
         test_email_in_three_languages, test_email_waits_for_smtp,
         test_malformed_events_do_not_stop_the_stream,
         test_sigkill_producer_and_consumer_mid_stream])
