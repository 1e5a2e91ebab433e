"""Screening alerts end to end: a result at risk opens an alert, later
results attach to it, a critical flag makes it urgent; the state machine
with its 409s; alert events that carry no health data; escalation past the
organisation's limit, timed with WH_NOW across restarts of the whole stack,
exactly once."""

import datetime
import shutil
import tempfile
import time

import screeninglib as sl
from stack import Stack, events, run, wait_for

T0 = datetime.datetime(2025, 3, 3, 8, 0, 0, tzinfo=datetime.timezone.utc)


def at(delta):
    return (T0 + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def alerts(s, t, query=""):
    r = s.get("/v1/alerts" + query, token=t.oh)
    assert r.status == 200, r
    return r.json()["items"]


def test_lifecycle():
    with Stack(services=sl.SERVICES) as s:
        t = sl.Tenant(s)
        # At risk: an alert opens. Not at risk, nothing open: none.
        r1 = sl.push(s, t, sl.item(t.id, "p-1", "gad7", at_risk=True))
        assert r1["alert_id"] and r1["at_risk"]
        assert sl.push(s, t, sl.item(t.id, "p-2", "gad7"))["alert_id"] is None
        # A later result of p-1, at risk or not, attaches to the open alert.
        r2 = sl.push(s, t, sl.item(t.id, "p-1", "who5", at_risk=False))
        r3 = sl.push(s, t, sl.item(t.id, "p-1", "keds", at_risk=True))
        assert r2["alert_id"] == r3["alert_id"] == r1["alert_id"]
        items = alerts(s, t)
        assert len(items) == 1
        a = items[0]
        assert a["id"] == r1["alert_id"] and a["org_id"] == t.id and a["subject"] == "p-1"
        assert a["state"] == "open" and a["urgent"] is False
        assert a["screening_ids"] == [r1["id"], r2["id"], r3["id"]]
        assert a["opened_at"] and a["acknowledged_at"] is None and a["escalated_at"] is None
        aid = a["id"]
        base = "/v1/alerts/" + aid

        # Transitions out of order are 409; the state machine in order.
        assert s.post(base + "/offer-support", {"note": "x"}, token=t.oh).status == 409
        r = s.post(base + "/close", {"outcome": "accepted"}, token=t.oh)
        assert r.status == 409 and r.json()["type"] == "/problems/conflict", r
        r = s.post(base + "/acknowledge", token=t.oh, headers={"If-Match": '"nope"'})
        assert r.status == 412, r
        r = s.post(base + "/acknowledge", token=t.oh)
        assert r.status == 200 and r.json()["state"] == "acknowledged", r
        assert r.json()["acknowledged_at"] is not None
        etag = r.header("ETag")
        assert s.post(base + "/acknowledge", token=t.oh).status == 409
        r = s.post(base + "/offer-support", {"note": "Gespräch angeboten", "x": 1}, token=t.oh)
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/x"
        r = s.post(base + "/offer-support", {"note": "Gespräch angeboten"}, token=t.oh,
                   headers={"If-Match": etag})
        assert r.status == 200, r
        assert r.json()["state"] == "support_offered"
        assert r.json()["note"] == "Gespräch angeboten"
        assert s.post(base + "/offer-support", {}, token=t.oh).status == 409
        r = s.post(base + "/close", {"outcome": "maybe"}, token=t.oh)
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/outcome"
        r = s.post(base + "/close", {"outcome": "accepted"}, token=t.oh)
        assert r.status == 200 and r.json()["state"] == "closed", r
        assert r.json()["outcome"] == "accepted" and r.json()["closed_at"]
        for path, body in (("/acknowledge", None), ("/offer-support", {}),
                           ("/close", {"outcome": "declined"})):
            assert s.post(base + path, body, token=t.oh).status == 409
        assert s.get(base, token=t.oh).json()["state"] == "closed"
        assert s.get("/v1/alerts/01JD0000000000000000000000", token=t.oh).status == 404

        # Closing from acknowledged directly, with no_contact.
        r4 = sl.push(s, t, sl.item(t.id, "p-1", "phq9", at_risk=True))
        assert r4["alert_id"] not in (None, aid)
        b = "/v1/alerts/" + r4["alert_id"]
        assert s.post(b + "/acknowledge", token=t.oh).status == 200
        r = s.post(b + "/close", {"outcome": "no_contact"}, token=t.oh)
        assert r.status == 200 and r.json()["outcome"] == "no_contact"

        # Urgent: PHQ-9 item 9 above zero whatever the total.
        r5 = sl.push(s, t, sl.item(t.id, "p-5", "phq9", answers=[0] * 8 + [1]))
        assert r5["flags"] == ["self_harm"] and r5["at_risk"] is True
        u = s.get("/v1/alerts/" + r5["alert_id"], token=t.oh).json()
        assert u["urgent"] is True and u["state"] == "open"
        # A critical result attaching to an ordinary alert makes it urgent.
        r6 = sl.push(s, t, sl.item(t.id, "p-6", "who5", at_risk=True))
        r7 = sl.push(s, t, sl.item(t.id, "p-6", "phq9", answers=[3] * 9))
        assert r7["alert_id"] == r6["alert_id"]
        assert s.get("/v1/alerts/" + r6["alert_id"], token=t.oh).json()["urgent"] is True

        # Filters and pages.
        assert [a["subject"] for a in alerts(s, t, "?state=open")] == ["p-5", "p-6"]
        assert len(alerts(s, t, "?state=closed")) == 2
        assert s.get("/v1/alerts?state=gone", token=t.oh).status == 422
        r = s.get("/v1/alerts?limit=3", token=t.oh).json()
        assert len(r["items"]) == 3 and r["next_cursor"] == r["items"][2]["id"]
        r = s.get("/v1/alerts?limit=3&cursor=" + r["next_cursor"], token=t.oh).json()
        assert len(r["items"]) == 1 and r["next_cursor"] is None

        # Events reached the notifications service and carry no health data.
        wait_for(lambda: sl.outbox_drained(s), what="the outbox to drain")
        created = events(s, "alert.created")
        assert len(created) == 4, created
        for e in created:
            assert e["org_id"] == t.id
            for secret in (b"p-1", b"p-5", b"p-6", b"score", b"band", b"answers", b"subject"):
                assert secret not in e["raw"], e
            assert "alert_id" in e["data"] and "urgent" in e["data"], e


def test_alerts_in_a_batch():
    """A batch looks up its subjects' active alerts once, before its first
    item: a result still attaches to an alert opened before the batch or
    earlier in it, and to no closed one."""
    with Stack(services=sl.SERVICES) as s:
        t = sl.Tenant(s)
        # Before the batch: an open alert for p-1, a closed one for p-c.
        open_id = sl.push(s, t, sl.item(t.id, "p-1", at_risk=True))["alert_id"]
        closed_id = sl.push(s, t, sl.item(t.id, "p-c", at_risk=True))["alert_id"]
        base = "/v1/alerts/" + closed_id
        assert s.post(base + "/acknowledge", token=t.oh).status == 200
        assert s.post(base + "/close", {"outcome": "declined"}, token=t.oh).status == 200
        items = [
            sl.item(t.id, "p-2"),                  # no alert
            sl.item(t.id, "p-1"),                  # the open one
            sl.item(t.id, "p-c"),                  # the closed one is no longer active
            sl.item(t.id, "p-3", at_risk=True),    # opens one
            sl.item(t.id, "p-3"),                  # attaches to it
            sl.item(t.id, "p-4"),
            sl.item(t.id, "p-4", answers=[0] * 8 + [1]),  # urgent: opens one
            sl.item(t.id, "p-4"),                  # attaches to it
            sl.item(t.id, "p-2"),                  # still none
            sl.item(t.id, "p 5"),                  # not a pseudonym: 422
            sl.item(t.id, "p-1", "gad7"),
        ]
        r = s.post("/v1/screenings/batch", {"items": items}, token=t.integ)
        assert r.status == 200, r
        out = r.json()["items"]
        assert [i["status"] for i in out] == [201] * 9 + [422, 201], out
        ids = [i.get("alert_id") for i in out]
        assert ids[0] is None and ids[2] is None and ids[5] is None and ids[8] is None, ids
        assert ids[1] == ids[10] == open_id, ids
        assert ids[3] and ids[4] == ids[3] and ids[3] not in (open_id, closed_id), ids
        assert ids[6] and ids[7] == ids[6] and ids[6] != ids[3], ids
        assert s.get("/v1/alerts/" + ids[6], token=t.oh).json()["urgent"] is True
        a = s.get("/v1/alerts/" + open_id, token=t.oh).json()
        assert a["screening_ids"][1:] == [out[1]["id"], out[10]["id"]], a


def test_escalation_across_restarts():
    """Alerts escalate once past their limit on the service clock (WH_NOW),
    whether the service was running or down when the limit passed."""
    data_dir = tempfile.mkdtemp(prefix="wh-e2e-esc-")
    try:
        with Stack(services=sl.SERVICES, now=at(datetime.timedelta()), data_dir=data_dir) as s:
            t = sl.Tenant(s)
            fast = sl.Tenant(s, "Klinikum Nord")
            r = s.patch("/v1/screening/settings/" + fast.id, {"escalate_after_hours": 2},
                        token=fast.oh)
            assert r.status == 200 and r.json()["escalate_after_hours"] == 2, r
            normal = sl.push(s, t, sl.item(t.id, "p-normal", "gad7", at_risk=True))["alert_id"]
            urgent = sl.push(s, t, sl.item(t.id, "p-urgent", "phq9", answers=[0] * 8 + [2]))
            urgent = urgent["alert_id"]
            handled = sl.push(s, t, sl.item(t.id, "p-handled", "gad7", at_risk=True))["alert_id"]
            assert s.post("/v1/alerts/%s/acknowledge" % handled, token=t.oh).status == 200
            quick = sl.push(s, fast, sl.item(fast.id, "p-quick", "keds", at_risk=True))
            quick = quick["alert_id"]
            time.sleep(1.5)
            assert sl.query(s, "SELECT count(*) FROM alerts WHERE escalated_ms IS NOT NULL") == [
                (0,)]
            tokens = (t.oh, fast.oh)

        def escalated(s):
            rows = sl.query(s, "SELECT id, escalated_ms FROM alerts WHERE escalated_ms IS NOT "
                               "NULL ORDER BY id")
            return dict(rows)

        # 59 minutes later: nothing is due yet.
        with Stack(services=sl.SERVICES, now=at(datetime.timedelta(minutes=59)),
                   data_dir=data_dir) as s:
            time.sleep(1.5)
            assert escalated(s) == {}
        # 61 minutes: the urgent one (1 h) escalates, once.
        with Stack(services=sl.SERVICES, now=at(datetime.timedelta(minutes=61)),
                   data_dir=data_dir) as s:
            wait_for(lambda: urgent in escalated(s), what="the urgent escalation")
            time.sleep(1.2)
            first = escalated(s)
            assert set(first) == {urgent}, first
            a = s.get("/v1/alerts/" + urgent, token=tokens[0]).json()
            assert a["escalated_at"].startswith("2025-03-03T09:01:")
            assert a["state"] == "open"  # escalation is not a state
        # 2 h 1 min: the organisation with a 2 h limit.
        with Stack(services=sl.SERVICES, now=at(datetime.timedelta(hours=2, minutes=1)),
                   data_dir=data_dir) as s:
            wait_for(lambda: quick in escalated(s), what="the 2 h escalation")
            assert set(escalated(s)) == {urgent, quick}
            assert escalated(s)[urgent] == first[urgent]
        # 25 h: the ordinary one (24 h); the acknowledged one never.
        with Stack(services=sl.SERVICES, now=at(datetime.timedelta(hours=25)),
                   data_dir=data_dir) as s:
            wait_for(lambda: normal in escalated(s), what="the 24 h escalation")
            time.sleep(1.2)
            assert set(escalated(s)) == {urgent, quick, normal}
            wait_for(lambda: sl.outbox_drained(s), what="the outbox to drain")
            ev = events(s, "alert.escalated")
            assert len(ev) == 3, ev
            for aid in (urgent, quick, normal):
                assert sum(1 for e in ev if aid.encode() in e["raw"]) == 1
            assert not any(handled.encode() in e["raw"] for e in ev)
            before = escalated(s)
        # A day later still: nothing escalates twice.
        with Stack(services=sl.SERVICES, now=at(datetime.timedelta(hours=49)),
                   data_dir=data_dir) as s:
            time.sleep(2.0)
            assert escalated(s) == before
            wait_for(lambda: sl.outbox_drained(s), what="the outbox to drain")
            assert len(events(s, "alert.escalated")) == 3
            # Acknowledging an escalated alert works as usual.
            r = s.post("/v1/alerts/%s/acknowledge" % normal, token=tokens[0])
            assert r.status == 200 and r.json()["escalated_at"] is not None
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    run([test_lifecycle, test_alerts_in_a_batch, test_escalation_across_restarts])
