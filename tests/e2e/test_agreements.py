"""Cooperation agreements through the gateway: the representation and its
computed fields, validation with a pointer per error and every named bound
crossed, the lifecycle with its 409s and history, If-Match, filters and
paging, roles and tenants, and activities. WH_NOW is 2025-09-01."""

import json

import stack
from agreementlib import CONTACT, Parties, body, query
from stack import Stack, run

NOW = "2025-09-01T10:00:00Z"

FULL = {"title": "BGF-Kooperation 2025", "signed_on": "2024-11-21", "auto_renew": False,
        "employees_covered": 1600,
        "focus_areas": ["stress_management", "work_design", "networking"],
        "support": {"financial_eur": 15000, "advisory": True},
        "conditions": [{"text": "approved budget", "met": False}],
        "contacts": [CONTACT], "reminder_days": [90, 30, 7]}


def pointers(r):
    return sorted(stack.pointers(r))


def test_create_read_and_defaults():
    with Stack(now=NOW) as s:
        p = Parties(s)
        r = s.post("/v1/agreements", body(p, **FULL))
        assert r.status == 201, r
        a = r.json()
        assert r.header("ETag") == '"%s.1"' % a["id"]
        expected = dict(body(p, **FULL))
        expected.update({"id": a["id"], "state": "signed", "renews": None, "renewed_by": None,
                         "terminated_on": None, "termination_reason": None, "phase": "active",
                         "days_remaining": 121, "notice_deadline": "2025-10-02",
                         "conditions_met": False, "created_at": a["created_at"],
                         "updated_at": a["created_at"]})
        assert a == expected, json.dumps(a, indent=1)
        assert a["created_at"].startswith("2025-09-01T10:00:")
        r = s.get("/v1/agreements/" + a["id"])
        assert r.status == 200 and r.json() == a and r.header("ETag") == '"%s.1"' % a["id"]
        # The least a draft needs, and its defaults.
        r = s.post("/v1/agreements", body(p, starts_on="2026-01-01", ends_on="2026-06-30",
                                          notice_days=0))
        assert r.status == 201, r
        d = r.json()
        assert (d["state"], d["signed_on"], d["auto_renew"], d["employees_covered"],
                d["focus_areas"], d["support"], d["conditions"], d["contacts"],
                d["reminder_days"], d["phase"], d["days_remaining"], d["notice_deadline"],
                d["conditions_met"]) == (
            "draft", None, False, None, [], {"financial_eur": 0, "advisory": False}, [], [],
            [90, 30, 7], "upcoming", 302, "2026-06-30", True)
        # A contact's language defaults to German; role may be left out.
        r = s.post("/v1/agreements", body(p, contacts=[{"name": "Bo", "email": "bo@x.se"}]))
        assert r.json()["contacts"] == [{"name": "Bo", "email": "bo@x.se", "role": None,
                                         "language": "de"}], r
        # Idempotency-Key: the same request answers the first response.
        k = {"Idempotency-Key": "create-1"}
        r1 = s.post("/v1/agreements", body(p, title="Once"), headers=k)
        r2 = s.post("/v1/agreements", body(p, title="Once"), headers=k)
        assert r1.status == r2.status == 201 and r1.body == r2.body
        r3 = s.post("/v1/agreements", body(p, title="Other"), headers=k)
        assert r3.status == 422, r3
        titles = [x["title"] for x in s.get("/v1/agreements?limit=500").json()["items"]]
        assert titles.count("Once") == 1
        # Unknown ids are 404 in problem+json.
        r = s.get("/v1/agreements/01K000000000000000000000ZZ")
        assert r.status == 404 and r.header("Content-Type") == "application/problem+json"


def test_validation_and_bounds():
    with Stack(now=NOW) as s:
        p = Parties(s)
        post = lambda **kw: s.post("/v1/agreements", body(p, **kw))
        # Many errors at once, one pointer each.
        r = s.post("/v1/agreements", {
            "employer_id": p.i, "insurer_id": "01K000000000000000000000ZZ", "title": "",
            "starts_on": "2025-02-30", "ends_on": "2025-12-31", "notice_days": -1,
            "focus_areas": ["movement", "yoga", "movement"],
            "contacts": [{"name": "A", "email": "not-an-address", "language": "fr"}],
            "reminder_days": [0, 30, 30, 366], "support": {"financial_eur": -5, "cash": 1},
            "conditions": [{"met": "yes"}], "colour": "red"})
        assert pointers(r) == sorted([
            "/employer_id", "/insurer_id", "/title", "/starts_on", "/notice_days",
            "/focus_areas/1", "/focus_areas/2", "/contacts/0/email", "/contacts/0/language",
            "/reminder_days/0", "/reminder_days/2", "/reminder_days/3",
            "/support/financial_eur", "/support/cash", "/conditions/0/text",
            "/conditions/0/met", "/colour"]), r.json()
        errs = {e["pointer"]: e["detail"] for e in r.json()["errors"]}
        assert errs["/employer_id"] == "must be an organisation of kind employer"
        assert errs["/insurer_id"] == "no such organisation"
        assert r.header("Content-Type") == "application/problem+json"
        # Required fields.
        r = s.post("/v1/agreements", {})
        assert pointers(r) == ["/employer_id", "/ends_on", "/insurer_id", "/notice_days",
                               "/starts_on", "/title"]
        # Dates across fields.
        assert pointers(post(ends_on="2025-01-01")) == ["/ends_on"]
        assert pointers(post(ends_on="2024-12-31")) == ["/ends_on"]
        r = post(ends_on="2025-03-01", notice_days=90)
        assert pointers(r) == ["/notice_days"]
        assert r.json()["errors"][0]["detail"] == (
            "puts the notice deadline (2024-12-01) before starts_on (2025-01-01)")
        assert post(ends_on="2025-03-31", notice_days=89).status == 201  # deadline 2025-01-01
        assert pointers(post(signed_on="2025-09-02")) == ["/signed_on"]  # in the future
        assert post(signed_on="2025-09-01").status == 201
        # Every named bound, at the bound and one past it.
        ok_bad = [
            ("title", "t" * 200, "t" * 201, "/title"),
            ("notice_days", 730, 731, "/notice_days", {"ends_on": "2027-12-31"}),
            ("employees_covered", 10000000, 10000001, "/employees_covered"),
            ("reminder_days", list(range(1, 11)), list(range(1, 12)), "/reminder_days"),
            ("reminder_days", [365], [366], "/reminder_days/0"),
            ("reminder_days", [1], [0], "/reminder_days/0"),
            ("conditions", [{"text": "c%d" % i} for i in range(20)],
             [{"text": "c%d" % i} for i in range(21)], "/conditions"),
            ("conditions", [{"text": "x" * 2000}], [{"text": "x" * 2001}], "/conditions/0/text"),
            ("contacts", [dict(CONTACT, email="c%d@example.org" % i) for i in range(20)],
             [dict(CONTACT, email="c%d@example.org" % i) for i in range(21)], "/contacts"),
            ("contacts", [dict(CONTACT, name="n" * 200)], [dict(CONTACT, name="n" * 201)],
             "/contacts/0/name"),
            ("contacts", [dict(CONTACT, role="r" * 200)], [dict(CONTACT, role="r" * 201)],
             "/contacts/0/role"),
            ("contacts", [dict(CONTACT, email="a" * 64 + "@example.org")],
             [dict(CONTACT, email="a" * 65 + "@example.org")], "/contacts/0/email"),
            ("support", {"financial_eur": 1000000000}, {"financial_eur": 1000000001},
             "/support/financial_eur"),
        ]
        for field, ok, bad, ptr, *more in ok_bad:
            extra = more[0] if more else {}
            r = post(**dict(extra, **{field: ok}))
            assert r.status == 201, (field, r)
            assert pointers(post(**dict(extra, **{field: bad}))) == [ptr], field
        # focus_areas: 21 entries cross the list bound before anything else.
        assert pointers(post(focus_areas=["movement"] * 21)) == ["/focus_areas"]
        all9 = ["work_design", "healthy_leadership", "movement", "nutrition",
                "addiction_prevention", "stress_management", "physical_strain", "networking",
                "other"]
        assert post(focus_areas=all9).json()["focus_areas"] == all9
        # Term of at most ten years (3660 days).
        assert post(starts_on="2025-01-01", ends_on="2035-01-09").status == 201
        assert pointers(post(starts_on="2025-01-01", ends_on="2035-01-10")) == ["/ends_on"]
        # Type errors.
        assert pointers(post(auto_renew="yes", notice_days="90")) == ["/auto_renew",
                                                                       "/notice_days"]
        # Strings with control characters.
        assert pointers(post(title="a\u0007b")) == ["/title"]


def test_lifecycle_conflicts_and_history():
    with Stack(now=NOW) as s:
        p = Parties(s)
        coord = s.token("coordinator", [p.e], label="lead")
        coord_id = [t for t in s.get("/v1/tokens").json()["items"] if t["label"] == "lead"][0]["id"]
        r = s.post("/v1/agreements", body(p, **dict(FULL, signed_on=None)), token=coord)
        assert r.status == 201 and r.json()["state"] == "draft", r
        a = r.json()
        aid = a["id"]
        path = "/v1/agreements/" + aid
        # A draft cannot be terminated or renewed.
        r = s.post(path + "/terminate", {"effective_on": "2025-10-01"})
        assert r.status == 409 and "draft" in r.json()["detail"], r
        r = s.post(path + "/renew", {"ends_on": "2026-12-31"})
        assert r.status == 409 and "sign it" in r.json()["detail"], r
        # Its term can change while it is a draft.
        r = s.patch(path, {"notice_days": 60}, token=coord)
        assert r.status == 200 and r.json()["notice_deadline"] == "2025-11-01", r
        # Sign: today unless told.
        r = s.post(path + "/sign", {}, token=coord)
        assert r.status == 200 and (r.json()["state"], r.json()["signed_on"]) == (
            "signed", "2025-09-01"), r
        r = s.post(path + "/sign", {})
        assert r.status == 409 and r.json()["detail"] == (
            "the agreement is signed already; only a draft can be signed"), r
        r = s.delete(path)
        assert r.status == 409 and "only drafts" in r.json()["detail"], r
        # Term and parties of a signed agreement: 409; other fields change.
        r = s.patch(path, {"ends_on": "2026-03-31"})
        assert r.status == 409 and "renewal or termination" in r.json()["detail"], r
        r = s.patch(path, {"title": "BGF 2025", "conditions": [{"text": "budget",
                                                                  "met": True}]})
        assert r.status == 200 and r.json()["conditions_met"] is True, r
        # Renew: successor linked both ways, predecessor renewed.
        r = s.post(path + "/renew", {"ends_on": "2026-12-31", "employees_covered": 1700,
                                     "focus_areas": ["movement"]}, token=coord)
        assert r.status == 201, r
        b = r.json()
        assert (b["state"], b["starts_on"], b["ends_on"], b["signed_on"], b["renews"],
                b["employees_covered"], b["focus_areas"], b["title"], b["notice_days"]) == (
            "signed", "2026-01-01", "2026-12-31", "2025-09-01", aid, 1700, ["movement"],
            "BGF 2025", 60), b
        old = s.get(path).json()
        assert (old["state"], old["renewed_by"]) == ("renewed", b["id"])
        r = s.post(path + "/renew", {"ends_on": "2027-12-31"})
        assert r.status == 409 and b["id"] in r.json()["detail"], r
        r = s.post(path + "/terminate", {"effective_on": "2025-10-01"})
        assert r.status == 409 and "terminate its successor" in r.json()["detail"], r
        # Terminate the successor: effective date inside its term.
        bp = "/v1/agreements/" + b["id"]
        r = s.post(bp + "/terminate", {"effective_on": "2027-01-01"})
        assert pointers(r) == ["/effective_on"]
        r = s.post(bp + "/terminate", {"reason": "x"})
        assert pointers(r) == ["/effective_on"]
        r = s.post(bp + "/terminate", {"effective_on": "2026-06-30",
                                       "reason": "merged with another programme"})
        assert r.status == 200, r
        t = r.json()
        assert (t["state"], t["terminated_on"], t["termination_reason"], t["phase"],
                t["days_remaining"]) == ("terminated", "2026-06-30",
                                         "merged with another programme", "upcoming", 302), t
        assert s.post(bp + "/terminate", {"effective_on": "2026-06-30"}).status == 409
        assert s.post(bp + "/renew", {"ends_on": "2027-12-31"}).status == 409
        assert s.get(bp + "/reminders").json() == {"items": []}
        # History: who, when, what.
        h = s.get(path + "/history").json()["items"]
        assert [x["action"] for x in h] == ["created", "updated", "signed", "updated", "renewed"]
        assert h[0]["who"] == {"token_id": coord_id, "role": "coordinator"}
        assert h[0]["changes"]["title"] == {"from": None, "to": "BGF-Kooperation 2025"}
        assert "renews" not in h[0]["changes"]  # unset fields are not listed
        assert h[1]["changes"] == {"notice_days": {"from": 90, "to": 60}}
        assert h[2]["changes"] == {"state": {"from": "draft", "to": "signed"},
                                   "signed_on": {"from": None, "to": "2025-09-01"}}
        assert h[3]["who"]["role"] == "admin" and h[3]["who"]["token_id"]
        assert set(h[3]["changes"]) == {"title", "conditions"}
        assert h[4]["changes"] == {"state": {"from": "signed", "to": "renewed"},
                                   "renewed_by": {"from": None, "to": b["id"]}}
        assert all(x["at"].startswith("2025-09-01T") for x in h)
        hb = s.get(bp + "/history").json()["items"]
        assert [x["action"] for x in hb] == ["created", "terminated"]
        assert hb[1]["changes"] == {
            "state": {"from": "signed", "to": "terminated"},
            "terminated_on": {"from": None, "to": "2026-06-30"},
            "termination_reason": {"from": None, "to": "merged with another programme"}}
        # History pages.
        r = s.get(path + "/history?limit=2")
        assert len(r.json()["items"]) == 2 and r.json()["next_cursor"]
        # Deleting a draft.
        r = s.post("/v1/agreements", body(p))
        did = r.json()["id"]
        assert s.delete("/v1/agreements/" + did).status == 204
        assert s.get("/v1/agreements/" + did).status == 404
        assert s.delete("/v1/agreements/" + did).status == 404
        # Its history stays in the store, ending with the deletion.
        assert [r[0] for r in query(s, "SELECT action FROM agreement_history"
                                       " WHERE agreement_id = ? ORDER BY id", (did,))] == [
            "created", "deleted"]


def test_if_match():
    with Stack(now=NOW) as s:
        p = Parties(s)
        a = s.post("/v1/agreements", body(p)).json()
        path = "/v1/agreements/" + a["id"]
        stale = '"%s.1"' % a["id"]
        r = s.patch(path, {"title": "v2"}, headers={"If-Match": stale})
        assert r.status == 200 and r.header("ETag") == '"%s.2"' % a["id"], r
        r = s.patch(path, {"title": "v3"}, headers={"If-Match": stale})
        assert r.status == 412 and r.header("Content-Type") == "application/problem+json", r
        assert s.get(path).json()["title"] == "v2"
        assert s.post(path + "/sign", {}, headers={"If-Match": stale}).status == 412
        assert s.delete(path, headers={"If-Match": stale}).status == 412
        r = s.post(path + "/sign", {}, headers={"If-Match": '"%s.2"' % a["id"]})
        assert r.status == 200 and r.header("ETag") == '"%s.3"' % a["id"], r
        # Merge patch: null clears, absent keeps.
        r = s.patch(path, {"employees_covered": 10, "support": {"advisory": True}})
        assert r.json()["support"] == {"financial_eur": 0, "advisory": True}
        r = s.patch(path, {"employees_covered": None, "support": {"financial_eur": 5}})
        assert (r.json()["employees_covered"], r.json()["support"]) == (
            None, {"financial_eur": 5, "advisory": True}), r
        r = s.patch(path, {"state": "draft"})
        assert pointers(r) == ["/state"]


def test_filters_and_paging():
    with Stack(now=NOW) as s:
        p = Parties(s)
        e2 = s.org("Klinikum Nord", "employer", 900)["id"]
        i2 = s.org("TK", "insurer", 100)["id"]
        ids = {}

        def mk(label, **kw):
            r = s.post("/v1/agreements", body(p, title=label, **kw))
            assert r.status == 201, r
            ids[label] = r.json()["id"]
            return r.json()

        # Today is 2025-09-01.
        mk("ends-in-30", signed_on="2025-01-01", ends_on="2025-10-01", notice_days=30,
           focus_areas=["movement"])
        mk("ends-in-90", signed_on="2025-01-01", ends_on="2025-11-30", focus_areas=["nutrition"])
        mk("ends-in-91", signed_on="2025-01-01", ends_on="2025-12-01",
           focus_areas=["movement", "nutrition"])
        mk("ends-today", signed_on="2025-01-01", ends_on="2025-09-01", notice_days=30)
        mk("ended", signed_on="2024-01-01", starts_on="2024-01-01", ends_on="2024-12-31")
        mk("draft-soon", ends_on="2025-10-01", notice_days=30)
        mk("upcoming", signed_on="2025-08-01", starts_on="2026-01-01", ends_on="2026-12-31",
           employer_id=e2)
        mk("other-insurer", signed_on="2025-01-01", insurer_id=i2, employer_id=e2)
        t = mk("terminated", signed_on="2025-01-01", ends_on="2025-10-15", notice_days=10)
        s.post("/v1/agreements/%s/terminate" % t["id"], {"effective_on": "2025-08-31"})

        def titles(q):
            r = s.get("/v1/agreements?limit=500&" + q)
            assert r.status == 200, r
            return sorted(x["title"] for x in r.json()["items"])

        assert titles("expiring_within_days=90") == ["ends-in-30", "ends-in-90", "ends-today"]
        assert titles("expiring_within_days=0") == ["ends-today"]
        assert titles("expiring_within_days=91") == ["ends-in-30", "ends-in-90", "ends-in-91",
                                                     "ends-today"]
        assert titles("phase=upcoming") == ["upcoming"]
        assert titles("phase=expired") == ["ended", "terminated"]
        assert len(titles("phase=active")) == 6
        assert titles("state=draft") == ["draft-soon"]
        assert titles("state=terminated") == ["terminated"]
        assert titles("focus_area=movement") == ["ends-in-30", "ends-in-91"]
        assert titles("focus_area=nutrition&expiring_within_days=90") == ["ends-in-90"]
        assert titles("employer_id=" + e2) == ["other-insurer", "upcoming"]
        assert titles("insurer_id=" + i2) == ["other-insurer"]
        assert titles("employer_id=%s&insurer_id=%s" % (e2, p.i)) == ["upcoming"]
        assert titles("employer_id=%s&state=signed&phase=active" % e2) == ["other-insurer"]
        # Pages of 4 through all nine, in id order, each once.
        seen, cursor = [], None
        while True:
            r = s.get("/v1/agreements?limit=4" + ("&cursor=" + cursor if cursor else ""))
            page = r.json()
            assert len(page["items"]) <= 4
            seen += [x["id"] for x in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == sorted(ids.values()) and len(seen) == 9
        for q, param in [("state=open", "state"), ("phase=past", "phase"),
                         ("focus_area=yoga", "focus_area"),
                         ("expiring_within_days=-1", "expiring_within_days"),
                         ("expiring_within_days=3661", "expiring_within_days"),
                         ("limit=501", "limit"), ("cursor=zzz", "cursor")]:
            r = s.get("/v1/agreements?" + q)
            assert pointers(r) == [param], (q, r)
        assert s.get("/v1/agreements?expiring_within_days=3660").status == 200


def test_roles_and_tenants():
    with Stack(now=NOW) as s:
        p = Parties(s)
        e2 = s.org("Klinikum Nord", "employer", 900)["id"]
        i2 = s.org("TK", "insurer", 100)["id"]
        a1 = s.post("/v1/agreements", body(p, title="A1", signed_on="2025-01-01")).json()
        a2 = s.post("/v1/agreements", body(p, title="A2", employer_id=e2)).json()
        a3 = s.post("/v1/agreements", body(p, title="A3", employer_id=e2, insurer_id=i2)).json()
        coord = s.token("coordinator", [p.e])
        cons = s.token("consultant", [p.i])
        occ = s.token("occupational_health", [p.e])
        integ = s.token("integration", [p.e])
        cons2 = s.token("consultant", [i2])

        def visible(tok):
            r = s.get("/v1/agreements", token=tok)
            assert r.status == 200, r
            return sorted(x["title"] for x in r.json()["items"])

        assert visible(coord) == ["A1"]
        assert visible(cons) == ["A1", "A2"]  # the insurer's side sees both employers
        assert visible(occ) == ["A1"]
        assert visible(cons2) == ["A3"]
        assert s.get("/v1/agreements/" + a2["id"], token=coord).status == 404
        assert s.get("/v1/agreements/%s/history" % a2["id"], token=coord).status == 404
        assert s.get("/v1/agreements/%s/reminders" % a3["id"], token=cons).status == 404
        assert s.patch("/v1/agreements/" + a2["id"], {"title": "x"}, token=coord).status == 404
        assert s.get("/v1/agreements/" + a1["id"], token=occ).status == 200
        # Read-only and no access.
        assert s.patch("/v1/agreements/" + a1["id"], {"title": "x"}, token=occ).status == 403
        assert s.post("/v1/agreements", body(p), token=occ).status == 403
        assert s.get("/v1/agreements", token=integ).status == 403
        assert s.get("/v1/agreements/calendar.ics", token=integ).status == 403
        # Creating: the token must cover one party; the other need only exist.
        r = s.post("/v1/agreements", body(p, employer_id=e2, insurer_id=i2), token=coord)
        assert pointers(r) == ["/employer_id", "/insurer_id"]
        assert r.json()["errors"][0]["detail"] == (
            "this token covers neither the employer nor the insurer")
        r = s.post("/v1/agreements", body(p, insurer_id=i2), token=coord)
        assert r.status == 201, r
        r = s.post("/v1/agreements", body(p, employer_id=e2), token=cons)
        assert r.status == 201, r
        # Changing the parties to ones outside the token: the same rule.
        r = s.patch("/v1/agreements/" + r.json()["id"], {"insurer_id": i2}, token=cons)
        assert pointers(r) == ["/employer_id", "/insurer_id"]
        # The report is the insurer's.
        q = "/v1/reports/prevention?year=2025&insurer_id="
        assert s.get(q + p.i, token=coord).status == 403
        assert s.get(q + p.i, token=occ).status == 403
        assert s.get(q + p.i, token=cons2).status == 404
        assert s.get(q + p.i, token=cons).status == 200
        assert s.get(q + p.e).status == 404  # an employer is no insurer
        # The role matrix is in the OpenAPI document.
        doc = s.get("/v1/openapi.json", token=None).json()
        ops = doc["paths"]
        assert ops["/v1/agreements"]["get"]["x-roles"] == [
            "admin", "coordinator", "consultant", "occupational_health"]
        assert ops["/v1/agreements/{id}"]["patch"]["x-roles"] == [
            "admin", "coordinator", "consultant"]
        assert ops["/v1/reports/prevention"]["get"]["x-roles"] == ["admin", "consultant"]
        assert "integration: no access" in ops["/v1/agreements"]["get"]["description"]
        cal = ops["/v1/agreements/calendar.ics"]["get"]
        assert list(cal["responses"]["200"]["content"]) == ["text/calendar"]
        # Every operation takes X-Request-Id, by reference; then its own.
        assert cal["parameters"][0] == {"$ref": "#/components/parameters/RequestId"}
        assert [x["name"] for x in cal["parameters"][1:]] == ["employer_id", "insurer_id", "feed"]
        rep = ops["/v1/reports/prevention"]["get"]["responses"]["200"]["content"]
        assert list(rep) == ["application/json", "text/csv"]
        assert "limit" in [x["name"] for x in ops["/v1/agreements"]["get"]["parameters"][1:]]


def test_activities():
    with Stack(now=NOW) as s:
        p = Parties(s)
        a = s.post("/v1/agreements", body(p, signed_on="2025-01-01")).json()
        other = s.post("/v1/agreements", body(p, employer_id=s.org("X", "employer", 1)["id"]))
        coord = s.token("coordinator", [p.e])
        base = "/v1/agreements/%s/activities" % a["id"]
        r = s.post(base, {"kind": "health_day", "title": "Gesundheitstag",
                          "focus_area": "movement", "planned_on": "2025-10-15",
                          "participants": 120}, token=coord)
        assert r.status == 201, r
        act = r.json()
        assert {k: v for k, v in act.items() if k not in ("id", "created_at", "updated_at")} == {
            "agreement_id": a["id"], "kind": "health_day", "title": "Gesundheitstag",
            "focus_area": "movement", "planned_on": "2025-10-15", "status": "planned",
            "participants": 120}
        assert r.header("ETag") == '"%s.1"' % act["id"]
        for kind in ("workshop", "course", "leadership_training", "survey",
                     "sick_leave_analysis", "steering_group_meeting", "consultation", "other"):
            r = s.post(base, {"kind": kind, "title": kind, "planned_on": "2025-11-01",
                              "status": "done"})
            assert r.status == 201 and r.json()["focus_area"] is None, r
        r = s.post(base, {"kind": "party", "title": "", "planned_on": "2025-13-01",
                          "status": "maybe", "participants": -1, "focus_area": "yoga", "x": 1})
        assert pointers(r) == ["/focus_area", "/kind", "/participants", "/planned_on",
                               "/status", "/title", "/x"]
        assert pointers(s.post(base, {"kind": "course", "title": "t" * 201,
                                      "planned_on": "2025-11-01"})) == ["/title"]
        assert pointers(s.post(base, {"kind": "course", "title": "t",
                                      "planned_on": "2025-11-01",
                                      "participants": 1000001})) == ["/participants"]
        assert s.post(base, {"kind": "course", "title": "t", "planned_on": "2025-11-01",
                             "participants": 1000000}).status == 201
        r = s.get(base + "?status=done&limit=3")
        assert len(r.json()["items"]) == 3 and r.json()["next_cursor"], r
        assert len(s.get(base + "?status=done&limit=500").json()["items"]) == 8
        assert [x["kind"] for x in s.get(base + "?kind=health_day").json()["items"]] == [
            "health_day"]
        assert pointers(s.get(base + "?status=open")) == ["status"]
        # PATCH with If-Match.
        ap = "/v1/activities/" + act["id"]
        r = s.patch(ap, {"status": "done", "participants": 130},
                    headers={"If-Match": '"%s.1"' % act["id"]}, token=coord)
        assert r.status == 200 and (r.json()["status"], r.json()["participants"]) == (
            "done", 130), r
        assert s.patch(ap, {"status": "cancelled"},
                       headers={"If-Match": '"%s.1"' % act["id"]}).status == 412
        r = s.patch(ap, {"focus_area": None})
        assert r.status == 200 and r.json()["focus_area"] is None
        assert s.get(ap, token=coord).json()["participants"] == 130
        # Tenants and roles.
        oth = "/v1/agreements/%s/activities" % other.json()["id"]
        assert s.get(oth, token=coord).status == 404
        assert s.post(oth, {"kind": "course", "title": "t", "planned_on": "2025-11-01"},
                      token=coord).status == 404
        oid = s.post(oth, {"kind": "course", "title": "t", "planned_on": "2025-11-01"}).json()["id"]
        assert s.get("/v1/activities/" + oid, token=coord).status == 404
        assert s.patch("/v1/activities/" + oid, {"title": "y"}, token=coord).status == 404
        occ = s.token("occupational_health", [p.e])
        assert s.get(base, token=occ).status == 200
        assert s.patch(ap, {"title": "y"}, token=occ).status == 403


if __name__ == "__main__":
    run([test_create_read_and_defaults, test_validation_and_bounds,
         test_lifecycle_conflicts_and_history, test_if_match, test_filters_and_paging,
         test_roles_and_tenants, test_activities])
