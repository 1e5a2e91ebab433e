"""Every named limit of the screening service, crossed through the whole
stack: result fields, the alert note and the settings bounds are accepted at
their value and refused one past it with the field named; and the
escalation round, which takes SCR_ESCALATE_BATCH alerts at a time, escalates
more than two batches' worth that fall due at once."""

import datetime
import shutil
import tempfile

import screeninglib as sl
from stack import Stack, pointers, run, wait_for

SCR_MAX_SUBJECT = 128             # services/screening/screenings.h
SCR_MAX_EXTERNAL_ID = 128
SCR_MAX_UNIT = 100
SCR_ALERT_MAX_NOTE = 2000         # services/screening/alerts.h
SCR_ESCALATE_BATCH = 256
SCR_ESCALATE_HOURS_MAX = 30 * 24  # services/screening/settings.h
SCR_STATS_THRESHOLD_MIN = 5
SCR_STATS_THRESHOLD_MAX = 128
SCR_RETENTION_DAYS_MAX = 36500
SCR_BATCH_MAX = 1000              # services/screening/screenings.h


def test_result_fields():
    with Stack(services=sl.SERVICES) as s:
        t = sl.Tenant(s)
        for field, limit in (("subject", SCR_MAX_SUBJECT), ("external_id", SCR_MAX_EXTERNAL_ID),
                             ("unit", SCR_MAX_UNIT)):
            body = sl.item(t.id, "p-" + field)
            body[field] = "x" * limit
            r = s.post("/v1/screenings", body, token=t.integ)
            assert r.status == 201, (field, r)
            body[field] = "y" * (limit + 1)
            r = s.post("/v1/screenings", body, token=t.integ)
            assert r.status == 422 and pointers(r) == ["/" + field], (field, r)
            # The same limit inside a batch names the item.
            r = s.post("/v1/screenings/batch", {"items": [body]}, token=t.integ)
            assert r.status == 200, r
            out = r.json()["items"][0]
            assert out["status"] == 422, out
            assert [e["pointer"] for e in out["error"]["errors"]] == ["/items/0/" + field], out
        stored = sl.query(s, "SELECT max(length(subject)), max(length(external_id)),"
                             " max(length(unit)) FROM screenings")
        assert stored == [(SCR_MAX_SUBJECT, SCR_MAX_EXTERNAL_ID, SCR_MAX_UNIT)], stored
        # A full batch, and one item more.
        items = [sl.item(t.id, "b-%d" % i) for i in range(SCR_BATCH_MAX)]
        r = s.post("/v1/screenings/batch", {"items": items}, token=t.integ, timeout=60)
        assert r.status == 200 and len(r.json()["items"]) == SCR_BATCH_MAX, r
        r = s.post("/v1/screenings/batch", {"items": items + [items[0]]}, token=t.integ)
        assert r.status == 422 and pointers(r) == ["/items"], r


def test_alert_note():
    with Stack(services=sl.SERVICES) as s:
        t = sl.Tenant(s)
        ids = [sl.push(s, t, sl.item(t.id, "p-%d" % i, "gad7", at_risk=True))["alert_id"]
               for i in range(2)]
        for a in ids:
            assert s.post("/v1/alerts/%s/acknowledge" % a, token=t.oh).status == 200
        r = s.post("/v1/alerts/%s/offer-support" % ids[0], {"note": "ü" * (SCR_ALERT_MAX_NOTE + 1)},
                   token=t.oh)
        assert r.status == 422 and pointers(r) == ["/note"], r
        r = s.post("/v1/alerts/%s/offer-support" % ids[0], {"note": "ü" * SCR_ALERT_MAX_NOTE},
                   token=t.oh)
        assert r.status == 200 and r.json()["note"] == "ü" * SCR_ALERT_MAX_NOTE, r
        r = s.post("/v1/alerts/%s/offer-support" % ids[1], {"note": "n" * (SCR_ALERT_MAX_NOTE + 1)},
                   token=t.oh)
        assert r.status == 422 and pointers(r) == ["/note"], r
        assert s.get("/v1/alerts/" + ids[1], token=t.oh).json()["state"] == "acknowledged"


def test_settings_bounds():
    with Stack(services=sl.SERVICES) as s:
        t = sl.Tenant(s)
        path = "/v1/screening/settings/" + t.id
        cases = [
            ({"retention_days": SCR_RETENTION_DAYS_MAX}, {"retention_days": SCR_RETENTION_DAYS_MAX + 1}),
            ({"retention_days": 1}, {"retention_days": 0}),
            ({"escalate_after_hours": SCR_ESCALATE_HOURS_MAX},
             {"escalate_after_hours": SCR_ESCALATE_HOURS_MAX + 1}),
            ({"escalate_urgent_after_hours": SCR_ESCALATE_HOURS_MAX},
             {"escalate_urgent_after_hours": SCR_ESCALATE_HOURS_MAX + 1}),
            ({"escalate_urgent_after_hours": 1}, {"escalate_urgent_after_hours": 0}),
            ({"escalate_after_hours": 1, "escalate_urgent_after_hours": 1},
             {"escalate_after_hours": 0}),
            ({"stats_threshold": SCR_STATS_THRESHOLD_MAX},
             {"stats_threshold": SCR_STATS_THRESHOLD_MAX + 1}),
            ({"stats_threshold": SCR_STATS_THRESHOLD_MIN},
             {"stats_threshold": SCR_STATS_THRESHOLD_MIN - 1}),
        ]
        for at_limit, past in cases:
            if "escalate_urgent_after_hours" in at_limit and "escalate_after_hours" not in at_limit:
                # urgent may not be later than ordinary escalation
                assert s.patch(path, {"escalate_after_hours": SCR_ESCALATE_HOURS_MAX},
                               token=t.oh).status == 200
            r = s.patch(path, at_limit, token=t.oh)
            assert r.status == 200, (at_limit, r)
            for k, v in at_limit.items():
                assert r.json()[k] == v, (at_limit, r)
            before = s.get(path, token=t.oh).json()
            r = s.patch(path, past, token=t.oh)
            assert r.status == 422 and pointers(r) == ["/" + next(iter(past))], (past, r)
            assert s.get(path, token=t.oh).json() == before


def test_escalation_over_several_batches():
    """2 x SCR_ESCALATE_BATCH + 1 alerts fall due while the service is down:
    at the next start every one escalates, each once."""
    n = 2 * SCR_ESCALATE_BATCH + 1
    t0 = datetime.datetime(2025, 3, 3, 8, 0, tzinfo=datetime.timezone.utc)
    d = tempfile.mkdtemp(prefix="wh-esc-batch-")
    try:
        with Stack(services=sl.SERVICES, now=t0.strftime("%Y-%m-%dT%H:%M:%SZ"), data_dir=d) as s:
            t = sl.Tenant(s)
            items = [sl.item(t.id, "p-%d" % i, "gad7", at_risk=True) for i in range(n)]
            r = s.post("/v1/screenings/batch", {"items": items}, token=t.integ, timeout=60)
            assert r.status == 200, r
            assert all(x["status"] == 201 and x["alert_id"] for x in r.json()["items"])
            assert sl.query(s, "SELECT count(*) FROM alerts WHERE escalated_ms IS NULL") == [(n,)]
        later = t0 + datetime.timedelta(hours=25)
        with Stack(services=sl.SERVICES, now=later.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   data_dir=d) as s:
            wait_for(lambda: sl.query(s, "SELECT count(*) FROM alerts WHERE escalated_ms"
                                            " IS NOT NULL") == [(n,)],
                        timeout=30, what="every alert escalated")
            events = sl.query(s, "SELECT count(*) FROM wh_outbox WHERE type = 'alert.escalated'")
            print("escalated %d alerts; %d of their events not yet relayed" % (n, events[0][0]))
            assert "%d alerts escalated" % n in s.logs(), s.logs()[-2000:]
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run([test_result_fields, test_alert_note, test_settings_bounds,
         test_escalation_over_several_batches])
