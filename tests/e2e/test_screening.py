"""Screening results end to end: the instrument listing, scoring on the
server, validation with a pointer per item, pseudonyms, who may push and
read (403 by role, 404 across organisations), batch semantics, and
idempotency by (org_id, external_id) and by Idempotency-Key."""

import screeninglib as sl
from stack import Stack, run


def test_instruments_listing():
    with Stack(services=sl.SERVICES) as s:
        t = sl.Tenant(s)
        for token in (t.integ, t.coord, t.oh, "admin"):
            r = s.get("/v1/screening/instruments", token=token)
            assert r.status == 200, r
        items = r.json()["items"]
        assert [i["id"] for i in items] == ["who5", "pss10", "keds", "phq9", "gad7"]
        who5 = items[0]
        assert who5["items"] == 5 and who5["answer_range"] == {"min": 0, "max": 5}
        assert who5["score"]["scale"] == "percentage" and who5["score"]["max"] == 100
        assert [(b["band"], b["min"], b["max"], b["at_risk"]) for b in who5["bands"]] == [
            ("likely_depression", 0, 28, True), ("poor_wellbeing", 32, 48, True),
            ("adequate", 52, 100, False)]
        pss = items[1]
        assert pss["reversed_items"] == [4, 5, 7, 8]
        assert [(b["band"], b["raw_min"], b["raw_max"]) for b in pss["bands"]] == [
            ("low", 0, 13), ("moderate", 14, 26), ("high", 27, 40)]
        keds = items[2]
        assert keds["at_risk"]["raw_min"] == 19 and keds["answer_range"]["max"] == 6
        phq = items[3]
        assert phq["critical_items"] == [
            {"item": 9, "above": 0, "flag": "self_harm", "urgent": True}]
        assert phq["at_risk"]["raw_min"] == 10 and phq["at_risk"]["raw_max"] == 27
        assert items[4]["bands"][-1] == {"band": "severe", "min": 15, "max": 21,
                                        "raw_min": 15, "raw_max": 21, "at_risk": True,
                                        "risk": "at_risk"}
        assert all(i["source"] for i in items)
        assert s.get("/v1/screening/instruments", token=None).status == 401


def test_push_scores_and_validates():
    with Stack(services=sl.SERVICES) as s:
        t = sl.Tenant(s)
        # WHO-5 is reported as raw x 4: 15 -> 60 (not (15 - 5) x 4 = 40).
        r = sl.push(s, t, sl.item(t.id, "p-1", "who5", answers=[3, 3, 3, 3, 3]))
        assert {k: r[k] for k in ("instrument", "score", "raw_score", "band", "at_risk",
                                  "flags", "alert_id")} == {
            "instrument": "who5", "score": 60, "raw_score": 15, "band": "adequate",
            "at_risk": False, "flags": [], "alert_id": None}
        assert len(r["id"]) == 26
        # PSS-10 reverses items 4, 5, 7 and 8.
        r = sl.push(s, t, sl.item(t.id, "p-2", "pss10", answers=[0] * 10))
        assert (r["raw_score"], r["band"], r["at_risk"]) == (16, "moderate", False)
        r = sl.push(s, t, sl.item(t.id, "p-3", "pss10", answers=[4, 4, 4, 1, 4, 4, 4, 4, 4, 4],
                                  unit="Kita", language="de"))
        assert (r["raw_score"], r["band"], r["at_risk"]) == (27, "high", True)
        assert r["alert_id"] is not None

        # Every invalid answer has its own pointer; nothing is stored.
        r = s.post("/v1/screenings", sl.item(t.id, "p-4", "who5", answers=[0, 6, 2, -1]),
                   token=t.integ)
        assert r.status == 422, r
        assert r.header("Content-Type") == "application/problem+json"
        errs = r.json()["errors"]
        assert [e["pointer"] for e in errs] == ["/answers/1", "/answers/3", "/answers/4"], errs
        assert errs[0]["detail"] == "item 2 must be between 0 and 5"
        r = s.post("/v1/screenings", sl.item(t.id, "p-4", "gad7", answers=[0] * 8),
                   token=t.integ)
        assert r.status == 422 and r.json()["errors"] == [
            {"pointer": "/answers/7", "detail": "gad7 has only 7 items"}], r
        r = s.post("/v1/screenings", sl.item(t.id, "p-4", "phq9", answers=[0] * 8 + [None]),
                   token=t.integ)
        assert r.status == 422 and [e["pointer"] for e in r.json()["errors"]] == ["/answers/8"]
        r = s.post("/v1/screenings", sl.item(t.id, "p-4", "phq9", answers=[0] * 8 + [1.5]),
                   token=t.integ)
        assert r.status == 422 and [e["pointer"] for e in r.json()["errors"]] == ["/answers/8"]

        # Pseudonyms only: e-mail addresses and names are refused, without
        # the value being echoed.
        for subject in ("anna.schmidt@bezirksamt.de", "Anna Schmidt"):
            r = s.post("/v1/screenings", sl.item(t.id, subject), token=t.integ)
            assert r.status == 422, r
            assert [e["pointer"] for e in r.json()["errors"]] == ["/subject"]
            assert b"anna" not in r.body.lower()
        assert "e-mail" in s.post("/v1/screenings", sl.item(t.id, "x@y.org"),
                                  token=t.integ).json()["errors"][0]["detail"]

        # Unknown fields, unknown instruments, missing and ill-typed fields.
        r = s.post("/v1/screenings", dict(sl.item(t.id, "p-5"), name="x"), token=t.integ)
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/name", r
        r = s.post("/v1/screenings", sl.item(t.id, "p-5", "phq9", answers=[0] * 9) |
                   {"instrument": "bdi2"}, token=t.integ)
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/instrument", r
        r = s.post("/v1/screenings", {"answers": "no"}, token=t.integ)
        assert r.status == 422
        assert sorted(e["pointer"] for e in r.json()["errors"]) == [
            "/answers", "/instrument", "/org_id", "/subject", "/taken_at"], r
        r = s.post("/v1/screenings", sl.item(t.id, "p-5", taken_at="2030-01-01T00:00:00Z",
                                             language="German"), token=t.integ)
        assert r.status == 422
        assert sorted(e["pointer"] for e in r.json()["errors"]) == ["/language", "/taken_at"]

        stored = sl.query(s, "SELECT subject, instrument, answers, raw_score, score FROM "
                             "screenings ORDER BY id")
        assert stored == [("p-1", "who5", "[3,3,3,3,3]", 15, 60),
                          ("p-2", "pss10", "[0,0,0,0,0,0,0,0,0,0]", 16, 16),
                          ("p-3", "pss10", "[4,4,4,1,4,4,4,4,4,4]", 27, 27)], stored


def test_roles_and_tenants():
    with Stack(services=sl.SERVICES) as s:
        a = sl.Tenant(s, "Bezirksamt Mitte")
        b = sl.Tenant(s, "Klinikum Nord")
        r = sl.push(s, a, sl.item(a.id, "p-1", at_risk=True))
        sid, aid = r["id"], r["alert_id"]
        # Roles that may not push.
        for token in (a.coord, a.tokens["consultant"], "admin"):
            assert s.post("/v1/screenings", sl.item(a.id, "p-9"), token=token).status == 403
            assert s.post("/v1/screenings/batch", {"items": []}, token=token).status == 403
        # Occupational health may push too.
        assert s.post("/v1/screenings", sl.item(a.id, "p-2"), token=a.oh).status == 201
        # Individual results and alerts: occupational health only.
        for token in (a.integ, a.coord, a.tokens["consultant"], "admin"):
            assert s.get("/v1/screenings/" + sid, token=token).status == 403
            assert s.get("/v1/screenings?subject=p-1", token=token).status == 403
            assert s.get("/v1/alerts", token=token).status == 403
            assert s.get("/v1/alerts/" + aid, token=token).status == 403
            assert s.post("/v1/alerts/%s/acknowledge" % aid, token=token).status == 403
        assert s.get("/v1/screenings/" + sid, token=a.oh).status == 200
        # Another organisation's data is not found, never forbidden.
        assert s.get("/v1/screenings/" + sid, token=b.oh).status == 404
        assert s.get("/v1/screenings?subject=p-1&org_id=" + a.id, token=b.oh).status == 404
        assert s.get("/v1/alerts?org_id=" + a.id, token=b.oh).status == 404
        assert s.get("/v1/alerts/" + aid, token=b.oh).status == 404
        assert s.post("/v1/alerts/%s/acknowledge" % aid, token=b.oh).status == 404
        assert s.post("/v1/screenings", sl.item(a.id, "p-3"), token=b.integ).status == 404
        assert s.delete("/v1/subjects/p-1?org_id=" + a.id, token=b.integ).status == 404
        stats = "/v1/screening/stats?period=2025-03&org_id=" + a.id
        assert s.get(stats, token=b.coord).status == 404
        assert s.patch("/v1/screening/settings/" + a.id, {"retention_days": 9},
                       token=b.oh).status == 404
        # b's own lists are empty: the token scopes the default organisation.
        assert s.get("/v1/alerts", token=b.oh).json() == {"items": [], "next_cursor": None}
        # Statistics: not for integrations; the audit log: admin only.
        assert s.get(stats, token=a.integ).status == 403
        assert s.get(stats, token=a.coord).status == 200
        assert s.get("/v1/screening/audit", token=a.oh).status == 403
        assert s.get("/v1/screening/audit", token="admin").status == 200
        assert s.delete("/v1/subjects/p-1?org_id=" + a.id, token=a.coord).status == 403
        assert s.patch("/v1/screening/settings/" + a.id, {"retention_days": 9},
                       token=a.coord).status == 403
        # Nothing of the refused attempts was stored.
        assert sl.query(s, "SELECT count(*) FROM screenings")[0][0] == 2


def test_batch():
    with Stack(services=sl.SERVICES) as s:
        a = sl.Tenant(s, "Bezirksamt Mitte")
        b = sl.Tenant(s, "Klinikum Nord")
        items = [
            sl.item(a.id, "p-1", external_id="ext-1"),
            sl.item(a.id, "p-2", "who5", answers=[1, 9, 1, 1, 1]),
            sl.item(a.id, "p@x.de"),
            sl.item(b.id, "p-3"),
            sl.item(a.id, "p-1", external_id="ext-1"),
            sl.item(a.id, "p-4", "phq9", answers=[0, 0, 0, 0, 0, 0, 0, 0, 2]),
            "not an object",
            sl.item(a.id, "p-1", external_id="ext-1", answers=[1] * 9),
        ]
        r = s.post("/v1/screenings/batch", {"items": items}, token=a.integ)
        assert r.status == 200, r
        out = r.json()["items"]
        assert [i["status"] for i in out] == [201, 422, 422, 404, 200, 201, 422, 409], out
        assert out[4]["id"] == out[0]["id"] and out[4] == dict(out[0], status=200)
        assert out[1]["error"]["errors"] == [
            {"pointer": "/items/1/answers/1", "detail": "item 2 must be between 0 and 5"}]
        assert out[1]["error"]["type"] == "/problems/validation"
        assert out[1]["error"]["status"] == 422
        assert out[2]["error"]["errors"][0]["pointer"] == "/items/2/subject"
        assert out[3]["error"]["type"] == "/problems/not-found"
        assert out[5]["flags"] == ["self_harm"] and out[5]["at_risk"] is True
        assert out[5]["alert_id"] is not None
        assert out[6]["error"]["errors"][0]["pointer"] == "/items/6"
        assert out[7]["error"]["type"] == "/problems/conflict"
        assert "id" not in out[1]
        assert sl.query(s, "SELECT count(*) FROM screenings")[0][0] == 2
        assert sl.query(s, "SELECT count(*) FROM alerts")[0][0] == 1
        # Limits of the batch itself.
        r = s.post("/v1/screenings/batch", {"items": [sl.item(a.id, "p")] * 1001}, token=a.integ)
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/items", r
        r = s.post("/v1/screenings/batch", {"items": [], "x": 1}, token=a.integ)
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/x", r
        assert s.post("/v1/screenings/batch", {}, token=a.integ).status == 422
        assert s.post("/v1/screenings/batch", {"items": []}, token=a.integ).json() == {
            "items": []}
        # A full batch of 1,000.
        full = [sl.item(a.id, "s-%d" % i, "gad7", at_risk=i % 5 == 0, external_id="f-%d" % i,
                        unit="U%d" % (i % 7)) for i in range(1000)]
        r = s.post("/v1/screenings/batch", {"items": full}, token=a.integ)
        assert r.status == 200, r
        out = r.json()["items"]
        assert len(out) == 1000 and all(i["status"] == 201 for i in out)
        assert sum(1 for i in out if i["alert_id"]) == 200
        r = s.post("/v1/screenings/batch", {"items": full}, token=a.integ)
        assert [i["status"] for i in r.json()["items"]] == [200] * 1000
        assert sl.query(s, "SELECT count(*) FROM screenings")[0][0] == 1002
        assert sl.query(s, "SELECT count(*) FROM alerts")[0][0] == 201


def test_idempotency():
    with Stack(services=sl.SERVICES) as s:
        t = sl.Tenant(s)
        body = sl.item(t.id, "p-1", at_risk=True, external_id="his-77")
        first = s.post("/v1/screenings", body, token=t.integ)
        assert first.status == 201
        again = s.post("/v1/screenings", body, token=t.integ)
        assert again.status == 200 and again.json() == first.json()
        # Occupational health repeating the integration's result is the same
        # result too: the key is the organisation's.
        assert s.post("/v1/screenings", body, token=t.oh).json() == first.json()
        other = dict(body, answers=[0] * 9)
        r = s.post("/v1/screenings", other, token=t.integ)
        assert r.status == 409 and r.json()["type"] == "/problems/conflict", r
        # Idempotency-Key: same status and body, nothing new stored.
        plain = sl.item(t.id, "p-2", "keds", at_risk=True)
        h = {"Idempotency-Key": "k-1"}
        r1 = s.post("/v1/screenings", plain, token=t.integ, headers=h)
        r2 = s.post("/v1/screenings", plain, token=t.integ, headers=h)
        assert r1.status == r2.status == 201 and r1.body == r2.body
        r3 = s.post("/v1/screenings", dict(plain, subject="p-3"), token=t.integ, headers=h)
        assert r3.status == 422 and r3.json()["type"] == "/problems/idempotency-key-reused"
        batch = {"items": [sl.item(t.id, "p-4"), sl.item(t.id, "p-5", at_risk=True)]}
        b1 = s.post("/v1/screenings/batch", batch, token=t.integ, headers={"Idempotency-Key": "b"})
        b2 = s.post("/v1/screenings/batch", batch, token=t.integ, headers={"Idempotency-Key": "b"})
        assert b1.status == b2.status == 200 and b1.body == b2.body
        assert [i["status"] for i in b2.json()["items"]] == [201, 201]
        assert sl.query(s, "SELECT subject FROM screenings ORDER BY id") == [
            ("p-1",), ("p-2",), ("p-4",), ("p-5",)]
        assert sl.query(s, "SELECT count(*) FROM alerts")[0][0] == 3
        # Every reply kept for a key is linked to the results it carries.
        assert sl.query(s, "SELECT count(*) FROM idem_refs")[0][0] == 3


if __name__ == "__main__":
    run([test_instruments_listing, test_push_scores_and_validates, test_roles_and_tenants,
         test_batch, test_idempotency])
