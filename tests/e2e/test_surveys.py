"""Surveys end to end: creation and validation with pointers, roles and
tenants, frozen definitions and the threshold rules, open/close by request
and at opens_at/closes_at with their events, codes (stored only as hashes),
the public questionnaire and responses (403/409/422), a code used by many
concurrent requests at once, the store holding nothing that links a
response to a code or a time, and the per-address rate limit (429)."""

import datetime
import json
import os
import sqlite3
import threading
import time

import surveylib as sl
from stack import Stack, Worker, join_all, reply, run, serve_posts, stop_http, wait_for

SERVICES = ("agreements", "surveys", "notifications")


def create(s, org_id, token="admin", **extra):
    r = s.post("/v1/surveys", sl.survey_body(org_id, **extra), token=token)
    assert r.status == 201, r
    return r.json()


def codes(s, sid, n, unit=None, token="admin"):
    body = {"count": n}
    if unit:
        body["unit"] = unit
    r = s.post("/v1/surveys/%s/codes" % sid, body,
               token=sl.issuer(s) if token == "admin" else token)
    assert r.status == 201, r
    return r.json()["codes"]


def respond(s, sid, code, answers=None, **extra):
    body = {"code": code, "language": "de",
            "answers": {"wl1": 3} if answers is None else answers}
    body.update(extra)
    return s.post("/v1/public/surveys/%s/responses" % sid, body, token=None)


def pointers(r):
    assert r.status == 422, r
    return {e["pointer"]: e["detail"] for e in r.json()["errors"]}


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def test_create_and_validate():
    with Stack(services=SERVICES) as s:
        org = s.org()
        sv = create(s, org["id"], languages=("de", "en"))
        assert sv["state"] == "draft" and sv["anonymity_threshold"] == 5
        assert sv["languages"] == ["de", "en"]
        assert sv["dimensions"][0] == {"key": "workload", "title": {"de": "Arbeitsmenge",
                                                                    "en": "Workload"},
                                       "higher_is_better": False}
        assert sv["questions"][1] == {"key": "wl2", "dimension": "workload",
                                      "text": {"de": "Enough time (de)",
                                               "en": "Enough time (en)"},
                                      "scale": {"min": 1, "max": 5}, "reverse": True}
        assert sv["units"][3] == {"key": "A1", "name": "Team A1", "parent": "A"}
        assert sv["codes_issued"] == 0 and sv["opened_at"] is None
        r = s.get("/v1/surveys/" + sv["id"])
        assert r.status == 200 and r.json() == sv
        assert r.header("ETag") == '"%s.1"' % sv["id"]

        body = sl.survey_body(org["id"], languages=("de", "en"))
        body["languages"] = ["de", "fr"]
        p = pointers(s.post("/v1/surveys", body))
        assert p == {"/languages/1": "must be one of de, en, sv"}, p

        body = sl.survey_body(org["id"], languages=("de", "en"), threshold=4)
        body["dimensions"][1]["title"] = {"de": "x"}
        body["dimensions"][2]["key"] = "workload"
        body["questions"][0]["scale"] = {"min": 5, "max": 5}
        body["questions"][1]["dimension"] = "nope"
        body["questions"][2]["text"]["fr"] = "x"
        body["units"][4]["parent"] = "ZZ"
        body["extra"] = 1
        p = pointers(s.post("/v1/surveys", body))
        assert p == {
            "/anonymity_threshold": "must be between 5 and 100",
            "/dimensions/1/title/en": "is required",
            "/dimensions/2/key": "is used by another dimension",
            "/questions/0/scale/max": "must be greater than min",
            "/questions/1/dimension": "is not a key of the survey's dimensions",
            "/questions/2/text/fr": "unknown field",
            # "leadership" lost its key to the duplicate above:
            "/questions/5/dimension": "is not a key of the survey's dimensions",
            "/questions/6/dimension": "is not a key of the survey's dimensions",
            "/units/4/parent": "is not a key of another unit",
            "/extra": "unknown field",
        }, p
        body = sl.survey_body(org["id"])
        body["units"][4]["parent"] = "ZZ"
        assert pointers(s.post("/v1/surveys", body)) == {
            "/units/4/parent": "is not a key of another unit"}
        # A cycle, and a tree deeper than eight levels.
        body["units"] = [{"key": "a", "name": "a", "parent": "b"},
                         {"key": "b", "name": "b", "parent": "a"}]
        p = pointers(s.post("/v1/surveys", body))
        assert p["/units/0/parent"] == "makes the units a cycle", p
        body["units"] = [{"key": "u%d" % i, "name": "u", **({"parent": "u%d" % (i - 1)} if i else {})}
                         for i in range(9)]
        assert pointers(s.post("/v1/surveys", body)) == {
            "/units/8/parent": "nests units deeper than 8 levels"}
        body["units"] = body["units"][:8]
        assert s.post("/v1/surveys", body).status == 201
        # A dimension no question measures, and closes before opens.
        body = sl.survey_body(org["id"], opens_at="2099-01-02T00:00:00Z",
                              closes_at="2099-01-01T00:00:00Z")
        body["dimensions"].append({"key": "empty", "title": sl.text("e"), "higher_is_better": True})
        p = pointers(s.post("/v1/surveys", body))
        assert p == {"/dimensions/3": "has no questions",
                     "/closes_at": "closes_at must be after opens_at"}, p
        body = sl.survey_body(org["id"], closes_at="2001-01-01T00:00:00Z")
        assert pointers(s.post("/v1/surveys", body)) == {"/closes_at": "must be in the future"}
        # Another tenant's organisation, and a missing body.
        assert pointers(s.post("/v1/surveys", sl.survey_body("01J00000000000000000000000"),
                               token=s.token("coordinator", [org["id"]]))) == {
            "/org_id": "is not an organisation this token covers"}
        # Idempotency-Key: a repeat returns the first survey.
        h = {"Idempotency-Key": "k1"}
        r1 = s.post("/v1/surveys", sl.survey_body(org["id"]), headers=h)
        r2 = s.post("/v1/surveys", sl.survey_body(org["id"]), headers=h)
        assert r1.status == r2.status == 201 and r1.json() == r2.json()
        items = s.get("/v1/surveys?org_id=%s&state=draft&limit=500" % org["id"]).json()["items"]
        assert "questions" not in items[0] and items[0]["state"] == "draft"
        assert len(items) == 3, len(items)
        assert s.get("/v1/surveys?state=nope").status == 422


def test_roles_and_tenants():
    with Stack(services=SERVICES) as s:
        org, other = s.org(), s.org(name="Andere")
        coord = s.token("coordinator", [org["id"]])
        cons = s.token("consultant", [org["id"]])
        occ = s.token("occupational_health", [org["id"]])
        integ = s.token("integration", [org["id"]])
        coord_other = s.token("coordinator", [other["id"]])
        sv = create(s, org["id"], token=coord)
        sid = sv["id"]
        path = "/v1/surveys/" + sid
        assert s.get(path, token=cons).status == 200
        assert s.post("/v1/surveys", sl.survey_body(org["id"]), token=cons).status == 403
        assert s.patch(path, {"title": "x"}, token=cons).status == 403
        assert s.post(path + "/open", token=cons).status == 403
        assert s.post(path + "/codes", {"count": 1}, token=cons).status == 403
        for t in (occ, integ):
            assert s.get(path, token=t).status == 403
            assert s.get(path + "/results", token=t).status == 403
            assert s.get("/v1/surveys", token=t).status == 403
        assert s.get(path, token=None).status == 401
        # Another tenant: 404, never 403, and not in its list.
        assert s.get(path, token=coord_other).status == 404
        assert s.patch(path, {"title": "x"}, token=coord_other).status == 404
        assert s.post(path + "/codes", {"count": 1}, token=coord_other).status == 404
        assert s.get(path + "/results", token=coord_other).status == 404
        assert s.get("/v1/surveys", token=coord_other).json()["items"] == []
        assert [x["id"] for x in s.get("/v1/surveys", token=cons).json()["items"]] == [sid]
        # The coordinator manages, the consultant reads the results; the
        # coordinator received the codes in clear and may not read them.
        cs = codes(s, sid, 6, token=coord)
        assert s.post(path + "/open", token=coord).status == 200
        for c in cs:
            assert respond(s, sid, c).status == 201
        assert s.post(path + "/close", token=coord).status == 200
        assert s.get(path + "/results", token=cons).status == 200
        assert s.get(path + "/results.csv", token=cons).status == 200
        assert s.get(path + "/results", token=cons).json()["total"]["n"] == 6
        assert s.get(path + "/results", token=coord).status == 403


def test_frozen_and_threshold():
    with Stack(services=SERVICES) as s:
        org = s.org()
        sv = create(s, org["id"], threshold=7)
        sid, path = sv["id"], "/v1/surveys/" + sv["id"]
        # A draft may change everything, the threshold down too (not below 5).
        r = s.patch(path, {"anonymity_threshold": 6, "units": [{"key": "A", "name": "A"}]},
                    headers={"If-Match": '"%s.1"' % sid})
        assert r.status == 200, r
        assert r.json()["units"] == [{"key": "A", "name": "A", "parent": None}]
        assert r.header("ETag") == '"%s.2"' % sid
        assert s.patch(path, {"title": "x"}, headers={"If-Match": '"%s.1"' % sid}).status == 412
        assert pointers(s.patch(path, {"anonymity_threshold": 4})) == {
            "/anonymity_threshold": "must be between 5 and 100"}
        assert pointers(s.patch(path, {"org_id": org["id"]})) == {"/org_id": "unknown field"}
        # Codes for unit A keep it in the tree.
        codes(s, sid, 5, unit="A")
        assert pointers(s.patch(path, {"units": []})) == {
            "/units": "codes were issued for unit 'A'; it must stay"}
        assert pointers(s.patch(path, {"questions": [sl.QUESTIONS[0]]})) == {
            "/dimensions/1": "has no questions", "/dimensions/2": "has no questions"}
        assert s.post(path + "/open").status == 200
        assert s.post(path + "/open").status == 409
        # Open: questions, units, dimensions and languages are frozen...
        for field, value in (("questions", sl.QUESTIONS[:5]), ("units", []),
                             ("dimensions", sl.DIMENSIONS), ("languages", ["de"])):
            r = s.patch(path, {field: value})
            assert r.status == 409, (field, r)
            assert r.json()["type"] == "/problems/frozen"
        assert s.patch(path, {"opens_at": "2099-01-01T00:00:00Z"}).status == 409
        # ...and the threshold may be raised, never lowered.
        r = s.patch(path, {"anonymity_threshold": 5})
        assert pointers(r) == {"/anonymity_threshold":
                               "may be raised but never lowered once the survey is open (it is 6)"}
        r = s.patch(path, {"anonymity_threshold": 8, "title": "Neu"})
        assert r.status == 200 and r.json()["anonymity_threshold"] == 8
        assert s.patch(path, {"anonymity_threshold": 7}).status == 422
        assert s.post(path + "/close").status == 200
        assert s.post(path + "/close").status == 409
        # Closed: only the title; results use the threshold fixed at close.
        assert s.patch(path, {"anonymity_threshold": 9}).status == 409
        assert s.patch(path, {"closes_at": None}).status == 409
        assert s.patch(path, {"title": "Endgültig"}).status == 200
        assert s.get(path + "/results").json()["anonymity_threshold"] == 8
        assert s.post(path + "/codes", {"count": 1}).status == 409


class Hooks:
    """A webhook receiver that records every event body."""

    def __init__(self):
        self.events = []
        self.server = serve_posts(self._post)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]

    def _post(self, h, body):
        self.events.append(json.loads(body))
        reply(h, 204)

    def close(self):
        stop_http(self.server)


def test_schedule_and_events():
    """opens_at and closes_at act by themselves (with WH_NOW set, the
    service's clock starts there), and survey.opened / survey.closed reach
    the notifications service."""
    start = datetime.datetime(2031, 3, 2, 8, 0, 0, tzinfo=datetime.timezone.utc)
    hooks = Hooks()
    try:
        with Stack(services=SERVICES, now=iso(start)) as s:
            org = s.org()
            r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["survey.opened",
                                                                             "survey.closed"],
                                             "channel": "webhook", "target": hooks.url,
                                             "language": "de"})
            assert r.status == 201, r
            # Server time runs from WH_NOW; the org's created_at says where it is.
            now = datetime.datetime.strptime(org["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc)
            sv = create(s, org["id"], opens_at=iso(now + datetime.timedelta(seconds=2)),
                        closes_at=iso(now + datetime.timedelta(seconds=4)))
            path = "/v1/surveys/" + sv["id"]
            cs = codes(s, sv["id"], 2)
            assert respond(s, sv["id"], cs[0]).status == 409  # not open yet
            wait_for(lambda: s.get(path).json().get("state") == "open", what="open")
            assert respond(s, sv["id"], cs[0]).status == 201
            wait_for(lambda: s.get(path).json().get("state") == "closed", what="closed")
            got = s.get(path).json()
            assert got["opened_at"] < got["closed_at"] and got["opened_at"].startswith("2031-03-02")
            r = respond(s, sv["id"], cs[1])
            assert r.status == 409 and r.json()["detail"] == "the survey is closed", r
            events = wait_for(lambda: len(hooks.events) >= 2 and hooks.events, what="events")
            assert [e["type"] for e in events] == ["survey.opened", "survey.closed"]
            for e in events:
                assert e["data"] == {"survey_id": sv["id"], "title": sv["title"]}, e
            # Closing by request emits too.
            sv2 = create(s, org["id"])
            assert s.post("/v1/surveys/%s/open" % sv2["id"]).status == 200
            assert s.post("/v1/surveys/%s/close" % sv2["id"]).status == 200
            wait_for(lambda: len(hooks.events) >= 4, what="events")
            assert {e["data"]["survey_id"] for e in hooks.events[2:]} == {sv2["id"]}
    finally:
        hooks.close()


def test_public_participation():
    with Stack(services=SERVICES) as s:
        org = s.org()
        sv = create(s, org["id"], languages=("de", "sv"))
        sid = sv["id"]
        all_codes = codes(s, sid, 4)
        a1_codes = codes(s, sid, 3, unit="A1")
        assert len(set(all_codes + a1_codes)) == 7
        for c in all_codes:
            assert len(c) == 23 and c[5] == c[11] == c[17] == "-", c
        assert s.get("/v1/surveys/" + sid).json()["codes_issued"] == 7
        pub = "/v1/public/surveys/%s?code=%s" % (sid, all_codes[0])
        assert s.get(pub, token=None).status == 409  # draft
        assert s.post("/v1/surveys/%s/open" % sid).status == 200
        r = s.get(pub + "&lang=sv", token=None)
        assert r.status == 200, r
        q = r.json()
        assert q["language"] == "sv" and q["languages"] == ["de", "sv"] and q["unit"] is None
        assert q["questions"][0] == {"key": "wl1", "text": "Too much to do (sv)",
                                     "scale": {"min": 1, "max": 5}, "block": 0}
        # The block counts up where the dimension changes, and says no more.
        dims = [x["dimension"] for x in sl.QUESTIONS]
        want = [sum(1 for j in range(1, i + 1) if dims[j] != dims[j - 1])
                for i in range(len(dims))]
        assert [x["block"] for x in q["questions"]] == want, q["questions"]
        assert all(set(x) == {"key", "text", "scale", "block"} for x in q["questions"])
        assert len(q["units"]) == len(sl.UNITS)
        assert s.get(pub + "&lang=en", token=None).status == 422
        lower = "/v1/public/surveys/%s?code=%s" % (sid, all_codes[0].lower())
        assert s.get(lower, token=None).status == 200  # codes are case-insensitive
        # A code issued for A1 offers A1 and the units below it only.
        r = s.get("/v1/public/surveys/%s?code=%s" % (sid, a1_codes[0]), token=None).json()
        assert r["unit"] == "A1" and [u["key"] for u in r["units"]] == ["A1", "A1a", "A1b"]
        assert s.get("/v1/public/surveys/%s?code=AAAAA-BBBBB-CCCCC-DDDDD" % sid,
                     token=None).status == 403
        assert s.get("/v1/public/surveys/%s" % sid, token=None).status == 403
        assert s.get("/v1/public/surveys/01J00000000000000000000000?code=x",
                     token=None).status == 404

        # Invalid answers: 422 with a pointer each, and the code stays usable.
        r = respond(s, sid, all_codes[0], {"wl1": 0, "le1": 11, "nope": 1, "su1": "3"},
                    language="en", unit="ZZ")
        assert pointers(r) == {"/answers/wl1": "must be an integer from 1 to 5",
                               "/answers/le1": "must be an integer from 0 to 10",
                               "/answers/nope": "is not a question of this survey",
                               "/answers/su1": "must be an integer from 1 to 5",
                               "/language": "must be one of the survey's languages",
                               "/unit": "is not a unit of this survey"}, r
        assert pointers(respond(s, sid, all_codes[0], {})) == {
            "/answers": "must answer at least one question"}
        assert pointers(respond(s, sid, a1_codes[0], unit="B1")) == {
            "/unit": "is not within the unit this code was issued for"}
        r = respond(s, sid, all_codes[0], {"wl1": 2, "le1": 10}, unit="B1a")
        assert r.status == 201 and r.json() == {"survey_id": sid, "recorded": True}, r
        # Used, unknown and malformed codes look the same.
        for c in (all_codes[0], "AAAAA-BBBBB-CCCCC-DDDDD", "x", None, 42):
            r = respond(s, sid, c)
            assert r.status == 403, (c, r)
            assert r.json()["detail"] == "this participation code is unknown or has been used"
        assert respond(s, sid, a1_codes[0].lower().replace("-", " "), unit="A1b").status == 201
        assert respond(s, sid, a1_codes[1]).status == 201
        assert s.get("/v1/public/surveys/%s?code=%s" % (sid, all_codes[0]),
                     token=None).status == 403

        # What the store holds: hashes of unused codes only, and responses
        # without rowid, time, language, address or any tie to a code.
        db = sqlite3.connect(os.path.join(s.data_dir, "surveys.db"))
        try:
            stored = [r[0] for r in db.execute("SELECT hash FROM survey_codes")]
            assert len(stored) == 4 and all(len(h) == 64 for h in stored)
            for c in all_codes + a1_codes:
                assert c not in json.dumps(stored) and c.replace("-", "") not in json.dumps(stored)
            cols = [r[1] for r in db.execute("PRAGMA table_info(survey_responses)")]
            assert cols == ["survey_id", "token", "unit", "answers"], cols
            ddl = db.execute("SELECT sql FROM sqlite_master WHERE name='survey_responses'"
                             ).fetchone()[0]
            assert "WITHOUT ROWID" in ddl
            rows = db.execute("SELECT unit, answers FROM survey_responses ORDER BY unit").fetchall()
            units = [u for u, _ in rows]
            a1_index = [k for k, _, _ in sl.UNITS].index("A1")
            b1a_index = [k for k, _, _ in sl.UNITS].index("B1a")
            a1b_index = [k for k, _, _ in sl.UNITS].index("A1b")
            assert sorted(units) == sorted([b1a_index, a1b_index, a1_index]), units
            assert all(len(a) == len(sl.QUESTIONS) for _, a in rows)
            # Nothing anywhere in the store names a code in plain text.
            dump = "\n".join(db.iterdump())
            for c in all_codes + a1_codes:
                assert c not in dump and c.replace("-", "") not in dump
        finally:
            db.close()
        # Closing deletes the unused codes too.
        assert s.post("/v1/surveys/%s/close" % sid).status == 200
        db = sqlite3.connect(os.path.join(s.data_dir, "surveys.db"))
        try:
            assert db.execute("SELECT count(*) FROM survey_codes").fetchone()[0] == 0
        finally:
            db.close()
        assert respond(s, sid, all_codes[1]).status == 409
        # Issuing codes: bounds, unknown unit, and a repeated Idempotency-Key.
        sv2 = create(s, org["id"])
        p2 = "/v1/surveys/%s/codes" % sv2["id"]
        assert pointers(s.post(p2, {"count": 0})) == {"/count": "must be between 1 and 5000"}
        assert pointers(s.post(p2, {"count": 5001})) == {"/count": "must be between 1 and 5000"}
        assert pointers(s.post(p2, {"count": 1, "unit": "ZZ"})) == {
            "/unit": "is not a key of the survey's units"}
        h = {"Idempotency-Key": "batch-1"}
        assert s.post(p2, {"count": 2}, headers=h).status == 201
        r = s.post(p2, {"count": 2}, headers=h)
        assert r.status == 409 and r.json()["type"] == "/problems/codes-already-issued", r
        assert s.post(p2, {"count": 3}, headers=h).status == 422
        assert s.get("/v1/surveys/" + sv2["id"]).json()["codes_issued"] == 2
        r = s.post(p2, {"count": 5000})
        assert r.status == 201 and len(set(r.json()["codes"])) == 5000


def test_code_used_concurrently():
    """Each code is sent by several threads at the same moment, to two
    instances of the surveys service sharing one store: exactly one request
    per code stores a response, every other one gets 403."""
    with Stack(services=SERVICES, env={"WH_PUBLIC_BURST": "100000"}) as s:
        s.start_process("surveys", key="surveys-2")
        s.wait_ready(want={"surveys": 2})
        org = s.org()
        sv = create(s, org["id"])
        sid = sv["id"]
        cs = codes(s, sid, 40)
        assert s.post("/v1/surveys/%s/open" % sid).status == 200
        per_code = 4
        results = {}
        barrier = threading.Barrier(per_code * 10)

        def worker(code, slot):
            barrier.wait()
            r = respond(s, sid, code, {"wl1": 1 + slot % 5})
            results[(code, slot)] = r.status

        for batch in range(0, len(cs), 10):
            threads = [Worker(worker, (c, i), name="%s/%d" % (c, i))
                       for c in cs[batch:batch + 10] for i in range(per_code)]
            for t in threads:
                t.start()
            join_all(threads, timeout=60)
            barrier.reset()
        for c in cs:
            statuses = sorted(results[(c, i)] for i in range(per_code))
            assert statuses == [201] + [403] * (per_code - 1), (c, statuses)
        assert s.post("/v1/surveys/%s/close" % sid).status == 200
        assert s.get("/v1/surveys/%s/results" % sid).json()["total"]["n"] == len(cs)


def test_rate_limit():
    env = {"WH_PUBLIC_RATE_PER_S": "1", "WH_PUBLIC_BURST": "5"}
    with Stack(services=SERVICES, env=env) as s:
        org = s.org()
        sv = create(s, org["id"])
        assert s.post("/v1/surveys/%s/open" % sv["id"]).status == 200
        path = "/v1/public/surveys/%s?code=AAAAA-BBBBB-CCCCC-DDDDD" % sv["id"]
        statuses = [s.get(path, token=None).status for _ in range(5)]
        assert statuses == [403] * 5, statuses
        r = s.get(path, token=None)
        assert r.status == 429, r
        assert r.header("Retry-After") == "1"
        assert r.json()["type"] == "/problems/rate-limited"
        r = respond(s, sv["id"], "AAAAA-BBBBB-CCCCC-DDDDD")
        assert r.status == 429
        # Endpoints with a token are not limited per address.
        for _ in range(10):
            assert s.get("/v1/surveys/" + sv["id"]).status == 200
        time.sleep(1.1)
        assert s.get(path, token=None).status == 403


if __name__ == "__main__":
    run([test_create_and_validate, test_roles_and_tenants, test_frozen_and_threshold,
         test_schedule_and_events, test_public_participation, test_code_used_concurrently,
         test_rate_limit])
