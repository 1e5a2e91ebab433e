"""Privacy of screening data end to end: the audit trail of every read of
individual data, erasure of a pseudonym that leaves nothing behind (checked
in every table and column and in the raw bytes of the store's files),
retention per organisation, settings with If-Match, and statistics under
the anonymity threshold with complementary suppression."""

import os

import screeninglib as sl
from stack import Stack, run, wait_for


def file_bytes(s, name="screening"):
    out = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = os.path.join(s.data_dir, name + ".db" + suffix)
        if os.path.exists(p):
            with open(p, "rb") as f:
                out += f.read()
    return out


def occurrences(s, needle):
    """(table, column) pairs holding needle anywhere in the screening store."""
    c = sl.db(s)
    try:
        found = []
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            for col in [r[1] for r in c.execute("PRAGMA table_info(%s)" % t)]:
                n = c.execute("SELECT count(*) FROM %s WHERE instr(CAST(%s AS BLOB), ?) > 0"
                              % (t, col), (needle,)).fetchone()[0]
                if n:
                    found.append((t, col))
        return found
    finally:
        c.close()


def test_audit_trail():
    with Stack(services=sl.SERVICES) as s:
        a = sl.Tenant(s, "Bezirksamt Mitte")
        b = sl.Tenant(s, "Klinikum Nord")
        r1 = sl.push(s, a, sl.item(a.id, "p-1", "phq9", at_risk=True))
        r2 = sl.push(s, a, sl.item(a.id, "p-1", "who5"))
        sl.push(s, a, sl.item(a.id, "p-2", "gad7"))
        rb = sl.push(s, b, sl.item(b.id, "p-1", "gad7"))
        assert s.get("/v1/screening/stats?period=2025-03&org_id=" + a.id,
                     token=a.coord).status == 200
        r = s.get("/v1/screening/audit", token="admin")
        assert r.json() == {"items": [], "next_cursor": None}, "pushes are not reads"

        assert s.get("/v1/screenings/" + r1["id"], token=a.oh).status == 200
        r = s.get("/v1/screenings?subject=p-1", token=a.oh)
        assert [x["id"] for x in r.json()["items"]] == [r1["id"], r2["id"]]
        assert r.json()["items"][0]["answers"] == sl.ANSWERS["phq9"][True]
        assert r.json()["items"][0]["subject"] == "p-1"
        assert s.get("/v1/alerts", token=a.oh).status == 200
        aid = r1["alert_id"]
        assert s.post("/v1/alerts/%s/acknowledge" % aid, token=a.oh).status == 200
        assert s.get("/v1/alerts/" + aid, token=a.oh).status == 200
        # Failed reads read nothing and are not recorded.
        assert s.get("/v1/screenings/" + rb["id"], token=a.oh).status == 404
        assert s.get("/v1/screenings/" + r1["id"], token=a.integ).status == 403
        assert s.get("/v1/screenings/" + rb["id"], token=b.oh).status == 200

        r = s.get("/v1/screening/audit?org_id=" + a.id, token="admin")
        assert r.status == 200, r
        items = r.json()["items"]
        assert [(i["action"], i["resource_ids"], i["count"]) for i in items] == [
            ("screening.read", [r1["id"]], 1),
            ("screening.list", [r1["id"], r2["id"]], 2),
            ("alert.list", [aid], 1),
            ("alert.acknowledge", [aid], 1),
            ("alert.read", [aid], 1)], items
        for i in items:
            assert i["org_id"] == a.id and i["role"] == "occupational_health"
            assert i["token_id"] == a.token_ids["occupational_health"]
            assert len(i["request_id"]) > 0 and i["at"].endswith("Z")
        assert b"p-1" not in r.body, "the audit log names records, never subjects"
        r = s.get("/v1/screening/audit?org_id=" + b.id, token="admin")
        assert [(i["action"], i["resource_ids"]) for i in r.json()["items"]] == [
            ("screening.read", [rb["id"]])]
        r = s.get("/v1/screening/audit?limit=4", token="admin").json()
        assert len(r["items"]) == 4 and r["next_cursor"]
        r = s.get("/v1/screening/audit?limit=4&cursor=" + r["next_cursor"], token="admin").json()
        assert len(r["items"]) == 2 and r["next_cursor"] is None
        assert s.get("/v1/screening/audit?org_id=x", token="admin").status == 422


def test_erasure_leaves_nothing():
    with Stack(services=sl.SERVICES) as s:
        a = sl.Tenant(s, "Bezirksamt Mitte")
        b = sl.Tenant(s, "Klinikum Nord")
        gone = "erase-me-7f3a91"
        note = "note-geheim-4711"
        r1 = s.post("/v1/screenings", sl.item(a.id, gone, "phq9", at_risk=True, unit="Kita"),
                    token=a.integ, headers={"Idempotency-Key": "single-1"})
        assert r1.status == 201
        r1 = r1.json()
        batch = {"items": [sl.item(a.id, gone, "who5", at_risk=True, external_id="his-1"),
                           sl.item(a.id, "keep-1", "who5", at_risk=True)]}
        rb = s.post("/v1/screenings/batch", batch, token=a.integ,
                    headers={"Idempotency-Key": "batch-1"})
        assert rb.status == 200
        erased_ids = [r1["id"], rb.json()["items"][0]["id"]]
        keep = s.post("/v1/screenings", sl.item(a.id, "keep-1", "gad7"), token=a.integ,
                      headers={"Idempotency-Key": "single-keep"})
        assert keep.status == 201
        sl.push(s, a, sl.item(a.id, "shared-9", "keds"))
        in_b = sl.push(s, b, sl.item(b.id, "shared-9", "keds", at_risk=True))
        aid = r1["alert_id"]
        assert s.post("/v1/alerts/%s/acknowledge" % aid, token=a.oh).status == 200
        assert s.post("/v1/alerts/%s/offer-support" % aid, {"note": note},
                      token=a.oh).status == 200
        assert s.get("/v1/screenings?subject=" + gone, token=a.oh).status == 200
        assert occurrences(s, gone.encode()), "the subject is stored before erasure"

        # Admin needs org_id; integration and occupational health may erase.
        assert s.delete("/v1/subjects/" + gone, token="admin").status == 422
        r = s.delete("/v1/subjects/%s?org_id=%s" % (gone, a.id), token=a.integ)
        assert r.status == 204 and r.body == b"", r
        assert s.delete("/v1/subjects/%s?org_id=%s" % (gone, a.id), token=a.oh).status == 204
        assert s.delete("/v1/subjects/shared-9?org_id=" + a.id, token="admin").status == 204

        # Gone through the API ...
        assert s.get("/v1/screenings?subject=" + gone, token=a.oh).json()["items"] == []
        for sid in erased_ids:
            assert s.get("/v1/screenings/" + sid, token=a.oh).status == 404
        assert s.get("/v1/alerts/" + aid, token=a.oh).status == 404
        assert s.get("/v1/screenings?subject=shared-9", token=a.oh).json()["items"] == []
        # ... while other subjects and the other organisation keep theirs.
        assert len(s.get("/v1/screenings?subject=keep-1", token=a.oh).json()["items"]) == 2
        assert s.get("/v1/screenings/" + in_b["id"], token=b.oh).status == 200
        assert s.get("/v1/alerts/" + in_b["alert_id"], token=b.oh).status == 200
        # A repeat of the single push's key is no longer answered from a
        # stored reply (it was deleted with the result it carried) ...
        assert sl.query(s, "SELECT key FROM wh_idempotency ORDER BY key") == [("single-keep",)]
        assert sl.query(s, "SELECT count(*) FROM idem_refs")[0][0] == 1

        # ... and not in any table or column of the store (the outbox has
        # sent the alert's events by then: they named only the alert),
        wait_for(lambda: sl.outbox_drained(s), what="the outbox to drain")
        for needle in (gone.encode(), note.encode()):
            assert occurrences(s, needle) == [], (needle, occurrences(s, needle))
        for sid in erased_ids:
            found = occurrences(s, sid.encode())
            assert found == [("audit", "resource_ids")], found
        assert occurrences(s, aid.encode()) == [("audit", "resource_ids")]
        # ... nor in the bytes of its files, free pages and WAL included,
        # once the log has been truncated (within a tick of the erasure).
        wait_for(lambda: gone.encode() not in file_bytes(s) and
                    note.encode() not in file_bytes(s), timeout=5,
                    what="the erased subject to leave the store's files")
        # Events never carried it.
        assert gone.encode() not in file_bytes(s, "notifications")
        erase = [i for i in s.get("/v1/screening/audit?org_id=" + a.id, token="admin")
                 .json()["items"] if i["action"] == "subject.erase"]
        assert [(i["role"], i["count"]) for i in erase] == [
            ("integration", 3), ("occupational_health", 0), ("admin", 1)], erase
        # The logs never name it either.
        assert gone not in s.logs()
        data_dir = s.data_dir
        s.stop()
        with open(os.path.join(data_dir, "screening.db"), "rb") as f:
            assert gone.encode() not in f.read(), "nor after a clean stop"


def test_retention_and_settings():
    with Stack(services=sl.SERVICES, now="2025-06-01T10:00:00Z") as s:
        t = sl.Tenant(s)
        path = "/v1/screening/settings/" + t.id
        r = s.get(path, token=t.oh)
        assert r.status == 200 and r.json() == {
            "org_id": t.id, "retention_days": None, "escalate_after_hours": 24,
            "escalate_urgent_after_hours": 1, "stats_threshold": 10, "updated_at": None}, r
        assert r.header("ETag") == '"%s.0"' % t.id
        old = "2025-01-10T09:00:00Z"
        closed = sl.push(s, t, sl.item(t.id, "p-old", "gad7", at_risk=True, taken_at=old))
        still_open = s.post("/v1/screenings", sl.item(t.id, "p-open", "gad7", at_risk=True,
                                                      taken_at=old),
                            token=t.integ, headers={"Idempotency-Key": "old-1"}).json()
        recent = sl.push(s, t, sl.item(t.id, "p-new", "gad7", taken_at="2025-05-25T09:00:00Z"))
        base = "/v1/alerts/" + closed["alert_id"]
        assert s.post(base + "/acknowledge", token=t.oh).status == 200
        assert s.post(base + "/close", {"outcome": "declined"}, token=t.oh).status == 200

        for body in ({"retention_days": 0}, {"stats_threshold": 4},
                     {"escalate_urgent_after_hours": 48}, {"escalate_after_hours": 0},
                     {"nope": 1}, {"retention_days": "30"}):
            r = s.patch(path, body, token=t.oh)
            assert r.status == 422, (body, r)
        assert s.patch(path, {"retention_days": 30}, token=t.oh,
                       headers={"If-Match": '"%s.7"' % t.id}).status == 412
        r = s.patch(path, {"retention_days": 30}, token=t.oh,
                    headers={"If-Match": '"%s.0"' % t.id})
        assert r.status == 200, r
        assert r.json()["retention_days"] == 30 and r.json()["updated_at"].startswith("2025-06-01")
        assert r.header("ETag") == '"%s.1"' % t.id
        # Results older than 30 days are gone at once; the closed alert went
        # with its last result, the open one stays to be handled.
        rows = sl.query(s, "SELECT id FROM screenings")
        assert rows == [(recent["id"],)], rows
        assert s.get(base, token=t.oh).status == 404
        a = s.get("/v1/alerts/" + still_open["alert_id"], token=t.oh).json()
        assert a["state"] == "open" and a["screening_ids"] == []
        assert sl.query(s, "SELECT count(*) FROM wh_idempotency")[0][0] == 0
        assert sl.query(s, "SELECT count(*) FROM idem_refs")[0][0] == 0
        wait_for(lambda: b"p-old" not in file_bytes(s), timeout=5,
                    what="purged results to leave the store's files")
        r = s.patch(path, {"retention_days": None, "stats_threshold": 5}, token=t.oh)
        assert r.status == 200 and r.json()["retention_days"] is None
        assert r.json()["stats_threshold"] == 5
        assert s.patch(path, {"retention_days": 30}, token="admin").status == 200


# PHQ-9 answers per band.
MINIMAL, MILD, MODERATE = [0] * 9, [1] * 5 + [0] * 4, [2] * 5 + [0] * 4
SEVERE = [3] * 7 + [0, 0]


def restart(s, now):
    """Restarts the stack on the same stores with the clock set to now."""
    s.stop()
    s.now = now
    s.start()


def test_stats_suppression():
    # Results count in statistics only when they arrived in time for their
    # month, so each is pushed while the stack's clock is in that month.
    with Stack(services=sl.SERVICES, now="2025-02-25T12:00:00Z") as s:
        t = sl.Tenant(s)
        small = sl.Tenant(s, "Praxis Klein")
        # An earlier result of s-00: only the latest one in the period counts.
        sl.push(s, t, sl.item(t.id, "s-00", "phq9", answers=SEVERE, unit="A",
                              taken_at="2025-02-20T09:00:00Z"))
        restart(s, "2025-03-25T12:00:00Z")
        day = "2025-03-05T09:00:00Z"
        people = ([("A", MINIMAL)] * 15 + [("A", MILD)] * 12 + [("A", MODERATE)] * 2 +
                  [("B", MINIMAL)] * 11 + [("B", MILD)] * 10)
        items = [sl.item(t.id, "s-%02d" % i, "phq9", answers=ans, unit=unit, taken_at=day)
                 for i, (unit, ans) in enumerate(people)]
        items += [sl.item(small.id, "k-%d" % i, "phq9", answers=MINIMAL) for i in range(7)]
        r = s.post("/v1/screenings/batch", {"items": items[:50]}, token=t.integ)
        assert all(i["status"] == 201 for i in r.json()["items"]), r
        r = s.post("/v1/screenings/batch", {"items": items[50:]}, token=small.integ)
        assert all(i["status"] == 201 for i in r.json()["items"]), r
        restart(s, "2026-01-10T12:00:00Z")

        def band(n):
            return [{"band": b, "n": x, "suppressed": x is None} for b, x in zip(
                ["minimal", "mild", "moderate", "moderately_severe", "severe"], n)]

        # Bands 26 and 22 with three hidden bands holding the 2 moderate
        # people would show a group of 2; mild (22) is hidden with them, and
        # so is A's mild (12) beside A's 2 moderate. B's hidden bands hold
        # nobody, which isolates no one.
        want = {
            "instrument": "phq9", "n": 50, "suppressed": False,
            "bands": band([26, None, None, None, None]),
            "units": [
                {"unit": "A", "n": 29, "suppressed": False,
                 "bands": band([15, None, None, None, None])},
                {"unit": "B", "n": 21, "suppressed": False,
                 "bands": band([11, 10, None, None, None])},
            ]}
        q = "/v1/screening/stats?org_id=%s&instrument=phq9&period=" % t.id
        for token in (t.coord, t.tokens["consultant"], "admin", t.oh):
            r = s.get(q + "2025-03&by=unit", token=token)
            assert r.status == 200, r
        body = r.json()
        assert body["threshold"] == 10 and body["by"] == "unit"
        assert body["period"] == "2025-03" and body["from"] == "2025-03-01"
        assert body["to"] == "2025-03-31" and body["frozen_at"].endswith("Z")
        assert body["instruments"] == [want], body["instruments"]
        assert b"s-0" not in r.body
        # Without units: the same suppressed figures, so that the two views
        # cannot be combined.
        r = s.get(q + "2025-03", token=t.coord).json()
        assert r["instruments"] == [{k: v for k, v in want.items() if k != "units"}]
        # The quarter and the year hold the same latest results: the same
        # table. February holds s-00's earlier result alone: nothing shown.
        for period in ("2025-Q1", "2025"):
            r = s.get(q + period + "&by=unit", token=t.coord).json()
            assert r["instruments"] == [want] and r["period"] == period, (period, r)
        r = s.get(q + "2025-02&by=unit", token=t.coord).json()
        only = r["instruments"][0]
        assert only["n"] is None and only["suppressed"] is True
        assert only["units"] == [{"unit": "A", "n": None, "suppressed": True,
                                  "bands": band([None] * 5)}]
        # Every instrument when none is named; those without data show nothing.
        r = s.get("/v1/screening/stats?period=2025-03&org_id=" + t.id, token=t.coord).json()
        assert [i["instrument"] for i in r["instruments"]] == [
            "who5", "pss10", "keds", "phq9", "gad7"]
        assert r["instruments"][0]["n"] is None and r["instruments"][3]["n"] == 50
        # A small organisation: seven people, nothing shown.
        r = s.get("/v1/screening/stats?period=2025-03&instrument=phq9",
                  token=small.coord).json()
        assert r["org_id"] == small.id and r["instruments"][0]["n"] is None
        assert all(b["n"] is None for b in r["instruments"][0]["bands"])
        # The threshold may be lowered to 5, never below. A published period
        # keeps the threshold and figures it was published with; one not yet
        # published is computed with the new threshold (here the same
        # complements are needed).
        assert s.patch("/v1/screening/settings/" + t.id, {"stats_threshold": 4},
                       token=t.oh).status == 422
        assert s.patch("/v1/screening/settings/" + t.id, {"stats_threshold": 5},
                       token=t.oh).status == 200
        r = s.get(q + "2025-03&by=unit", token=t.coord).json()
        assert r["threshold"] == 10 and r["instruments"] == [want]
        r = s.get(q + "2025-H1&by=unit", token=t.coord)
        assert r.status == 422
        r = s.get(q + "2025-01&by=unit", token=t.coord).json()
        assert r["threshold"] == 5 and r["frozen_at"] is None, r
        for bad in ("&period=2025-03&by=team", "&period=2025-13", "&period=2025-03&instrument=bdi",
                    "&from=2025-03-01&to=2025-03-31", "&period=2025-03&to=2025-03-20", "",
                    "&period=2025-3", "&period=25"):
            r = s.get("/v1/screening/stats?org_id=%s%s" % (t.id, bad), token=t.coord)
            assert r.status == 422, (bad, r)
        # Periods that have not ended: 409.
        for period in ("2999", "2999-Q1", "2999-01"):
            r = s.get(q + period, token=t.coord)
            assert r.status == 409 and r.json()["type"].endswith("period-open"), r
        # The threshold's bounds: 5 and 128 (what the suppression holds).
        assert s.patch("/v1/screening/settings/" + t.id, {"stats_threshold": 129},
                       token=t.oh).status == 422
        assert s.patch("/v1/screening/settings/" + t.id, {"stats_threshold": 128},
                       token=t.oh).status == 200
        r = s.get(q + "2024&by=unit", token=t.coord).json()
        assert r["threshold"] == 128 and r["frozen_at"] is None, r
        # The contract as served says so.
        doc = s.get("/v1/openapi.json", token=None).json()
        op = doc["paths"]["/v1/screening/stats"]["get"]
        assert "period" in op["description"] and "409" in op["description"], op


if __name__ == "__main__":
    run([test_audit_trail, test_erasure_leaves_nothing, test_retention_and_settings,
         test_stats_suppression])
