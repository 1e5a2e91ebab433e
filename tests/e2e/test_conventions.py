"""The API conventions every endpoint shares, checked on organisations:
problem details, content types, unknown fields, Idempotency-Key, ETag and
If-Match, JSON merge patch, cursor pagination, 404/405, X-Request-Id and the
OpenAPI document."""

import glob
import json
import os
import re

from stack import Stack, assert_problem, run

PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
ORG = {"name": "Bezirksamt Mitte", "kind": "employer", "employees": 1600}


def org_count(s):
    return len(s.get("/v1/organizations?limit=500").json()["items"])


def test_malformed_json_and_content_type():
    with Stack() as s:
        for raw in (b'{"name": ', b"{'name': 'x'}", b"", b"[1,2", b'{"a":1}x', b"\xff\xfe{}"):
            r = s.post("/v1/organizations", raw=raw,
                       headers={"Content-Type": "application/json"})
            assert_problem(r, 400, "/problems/malformed-json", [], title="Bad Request")
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                      "multipart/form-data; boundary=x"):
            r = s.post("/v1/organizations", raw=json.dumps(ORG).encode(),
                       headers={"Content-Type": ctype})
            assert_problem(r, 415, "/problems/unsupported-media-type", [],
                           title="Unsupported Media Type")
        # No Content-Type at all.
        r = s.post("/v1/organizations", raw=json.dumps(ORG).encode())
        assert_problem(r, 415, "/problems/unsupported-media-type", [])
        # Parameters and case are allowed; merge-patch+json is JSON too.
        for ctype in ("application/json; charset=utf-8", "Application/JSON"):
            r = s.post("/v1/organizations", raw=json.dumps(ORG).encode(),
                       headers={"Content-Type": ctype})
            assert r.status == 201, (ctype, r)
        org = r.json()
        r = s.patch("/v1/organizations/" + org["id"], raw=b'{"employees": 7}',
                    headers={"Content-Type": "application/merge-patch+json"})
        assert r.status == 200 and r.json()["employees"] == 7, r
        # A JSON body that is not an object.
        r = s.post("/v1/organizations", raw=b"[1]",
                   headers={"Content-Type": "application/json"})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "", "detail": "must be an object"}])
        assert org_count(s) == 2


def test_validation_errors():
    with Stack() as s:
        r = s.post("/v1/organizations", dict(ORG, foo=1))
        p = assert_problem(r, 422, "/problems/validation",
                           [{"pointer": "/foo", "detail": "unknown field"}],
                           title="Unprocessable Content")
        assert p["detail"] == "1 invalid field", p
        # A key needing JSON-pointer escaping.
        r = s.post("/v1/organizations", dict(ORG, **{"a/b~c": 1}))
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/a~1b~0c", "detail": "unknown field"}])
        # Several problems at once, each with its pointer.
        r = s.post("/v1/organizations", {"name": "", "kind": "school", "employees": -1,
                                         "region": 5, "sector": None, "extra": True})
        p = assert_problem(r, 422, "/problems/validation", [
            {"pointer": "/extra", "detail": "unknown field"},
            {"pointer": "/name", "detail": "must not be empty"},
            {"pointer": "/kind", "detail": "must be one of employer, insurer"},
            {"pointer": "/employees", "detail": "must be between 0 and 10000000"},
            {"pointer": "/region", "detail": "must be a string"},
        ])
        assert p["detail"] == "5 invalid fields", p
        # Missing required fields.
        r = s.post("/v1/organizations", {})
        assert_problem(r, 422, "/problems/validation", [
            {"pointer": "/name", "detail": "is required"},
            {"pointer": "/kind", "detail": "is required"},
            {"pointer": "/employees", "detail": "is required"},
        ])
        r = s.post("/v1/organizations", {"name": "x", "kind": "employer", "employees": 1.5})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/employees", "detail": "must be an integer"}])
        r = s.post("/v1/organizations", {"name": None, "kind": "employer", "employees": 1})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/name", "detail": "must not be null"}])
        assert org_count(s) == 0


def test_body_on_get():
    with Stack() as s:
        r = s.request("GET", "/v1/organizations", raw=b'{"x":1}',
                      headers={"Content-Type": "application/json"})
        assert_problem(r, 400, "/problems/unexpected-body", [])
        org = s.org()
        r = s.request("GET", "/v1/organizations/" + org["id"], raw=b"x")
        assert_problem(r, 400, "/problems/unexpected-body", [])
        r = s.request("DELETE", "/v1/tokens/7ZZZZZZZZZZZZZZZZZZZZZZZZZ", raw=b"{}")
        assert_problem(r, 400, "/problems/unexpected-body", [])


def test_idempotency_key():
    with Stack() as s:
        h = {"Idempotency-Key": "create-mitte-1"}
        r1 = s.post("/v1/organizations", ORG, headers=h)
        assert r1.status == 201, r1
        r2 = s.post("/v1/organizations", ORG, headers=h)
        assert r2.status == 201, r2
        assert r2.body == r1.body
        assert r2.header("ETag") == r1.header("ETag") == '"%s.1"' % r1.json()["id"]
        assert r2.header("Content-Type") == "application/json"
        assert s.get("/v1/organizations").json()["items"] == [r1.json()]
        # The same key with another body.
        r3 = s.post("/v1/organizations", dict(ORG, employees=1601), headers=h)
        assert_problem(r3, 422, "/problems/idempotency-key-reused", [])
        assert org_count(s) == 1
        # Whitespace in the JSON does not make it another body.
        raw = b'{ "name" : "Bezirksamt Mitte",\n "kind":"employer", "employees":1600 }'
        r4 = s.post("/v1/organizations", raw=raw,
                    headers=dict(h, **{"Content-Type": "application/json"}))
        assert (r4.status, r4.body) == (201, r1.body), r4
        # Another key creates another organisation.
        r5 = s.post("/v1/organizations", ORG, headers={"Idempotency-Key": "create-mitte-2"})
        assert r5.status == 201 and r5.json()["id"] != r1.json()["id"], r5
        assert org_count(s) == 2
        # A failed request is not recorded: fixing it under the same key works.
        h3 = {"Idempotency-Key": "create-3"}
        bad = s.post("/v1/organizations", dict(ORG, employees=-5), headers=h3)
        assert bad.status == 422, bad
        good = s.post("/v1/organizations", ORG, headers=h3)
        assert good.status == 201, good
        assert org_count(s) == 3
        # Keys are scoped to the token: the same key from another admin token
        # is a new request.
        other = s.token("admin", [], label="second admin")
        r6 = s.post("/v1/organizations", ORG, headers=h, token=other)
        assert r6.status == 201 and r6.json()["id"] != r1.json()["id"], r6
        assert org_count(s) == 4
        # Overlong key.
        r7 = s.post("/v1/organizations", ORG, headers={"Idempotency-Key": "k" * 256})
        assert_problem(r7, 422, "/problems/validation", [
            {"parameter": "Idempotency-Key", "detail": "must be 1 to 255 characters"}])
        assert org_count(s) == 4
        # Token creation honours it too, but its answer holds the token,
        # shown once: the repeat creates nothing and is 409.
        th = {"Idempotency-Key": "token-1"}
        body = {"role": "coordinator", "org_ids": [r1.json()["id"]], "label": "k"}
        t1 = s.post("/v1/tokens", body, headers=th)
        t2 = s.post("/v1/tokens", body, headers=th)
        assert t1.status == 201, t1
        assert_problem(t2, 409, "/problems/secret-shown-once")
        assert len(s.get("/v1/tokens").json()["items"]) == 3  # bootstrap, second admin, k


def test_etag_and_if_match():
    with Stack() as s:
        org = s.org(region="Berlin", sector="public administration")
        oid = org["id"]
        r = s.get("/v1/organizations/" + oid)
        etag1 = '"%s.1"' % oid
        assert r.header("ETag") == etag1, r.headers
        r = s.patch("/v1/organizations/" + oid, {"employees": 1700},
                    headers={"If-Match": etag1})
        assert r.status == 200, r
        etag2 = '"%s.2"' % oid
        assert r.header("ETag") == etag2, r.headers
        assert r.json()["employees"] == 1700
        assert s.get("/v1/organizations/" + oid).header("ETag") == etag2
        # Stale If-Match.
        r = s.patch("/v1/organizations/" + oid, {"employees": 1}, headers={"If-Match": etag1})
        p = assert_problem(r, 412, "/problems/precondition-failed", [],
                           title="Precondition Failed")
        assert s.get("/v1/organizations/" + oid).json()["employees"] == 1700
        # A weak validator never matches; a list containing the current one does.
        r = s.patch("/v1/organizations/" + oid, {"employees": 1},
                    headers={"If-Match": "W/" + etag2})
        assert r.status == 412, r
        r = s.patch("/v1/organizations/" + oid, {"employees": 1800},
                    headers={"If-Match": etag1 + ", " + etag2})
        assert r.status == 200 and r.header("ETag") == '"%s.3"' % oid, r
        r = s.patch("/v1/organizations/" + oid, {"employees": 1900}, headers={"If-Match": "*"})
        assert r.status == 200 and r.header("ETag") == '"%s.4"' % oid, r
        # Without If-Match the patch applies unconditionally.
        r = s.patch("/v1/organizations/" + oid, {"employees": 2000})
        assert r.status == 200 and r.header("ETag") == '"%s.5"' % oid, r
        assert "current ETag" in p["detail"], p

        # Merge patch: absent keeps, null clears, a value sets.
        before = s.get("/v1/organizations/" + oid).json()
        r = s.patch("/v1/organizations/" + oid, {"region": None})
        assert r.status == 200, r
        after = r.json()
        assert after["region"] is None
        for k in ("id", "name", "kind", "employees", "sector", "created_at"):
            assert after[k] == before[k], (k, before, after)
        assert s.get("/v1/organizations/" + oid).json() == after
        r = s.patch("/v1/organizations/" + oid, {"region": "Brandenburg", "name": "BA Mitte"})
        after2 = r.json()
        assert (after2["region"], after2["name"], after2["sector"]) == (
            "Brandenburg", "BA Mitte", "public administration"), after2
        r = s.patch("/v1/organizations/" + oid, {})
        assert r.status == 200, r
        assert {k: v for k, v in r.json().items() if k != "updated_at"} == \
            {k: v for k, v in after2.items() if k != "updated_at"}
        # Required fields cannot be cleared; unknown fields are rejected.
        r = s.patch("/v1/organizations/" + oid, {"name": None, "bogus": 1})
        assert_problem(r, 422, "/problems/validation", [
            {"pointer": "/bogus", "detail": "unknown field"},
            {"pointer": "/name", "detail": "must not be null"}])
        assert s.get("/v1/organizations/" + oid).json()["name"] == "BA Mitte"
        # Patching an unknown organisation.
        r = s.patch("/v1/organizations/7ZZZZZZZZZZZZZZZZZZZZZZZZZ", {"employees": 1})
        assert_problem(r, 404, "/problems/not-found", [])


def test_pagination():
    with Stack() as s:
        created = [s.org(name="Org %d" % i)["id"] for i in range(7)]
        seen, cursors = [], []
        path = "/v1/organizations?limit=3"
        pages = 0
        while True:
            r = s.get(path)
            assert r.status == 200, r
            body = r.json()
            assert set(body) == {"items", "next_cursor"}
            pages += 1
            seen += [o["id"] for o in body["items"]]
            if body["next_cursor"] is None:
                break
            cursors.append(body["next_cursor"])
            path = "/v1/organizations?limit=3&cursor=" + body["next_cursor"]
            assert pages < 10
        assert pages == 3, pages
        assert seen == created, (seen, created)
        assert len(set(seen)) == 7
        # Page sizes 3, 3, 1.
        r = s.get("/v1/organizations?cursor=%s&limit=3" % cursors[1])
        assert len(r.json()["items"]) == 1 and r.json()["next_cursor"] is None
        # Exactly one page's worth: no next page is announced.
        r = s.get("/v1/organizations?limit=7")
        assert len(r.json()["items"]) == 7 and r.json()["next_cursor"] is None, r
        r = s.get("/v1/organizations?limit=500")
        assert r.status == 200 and len(r.json()["items"]) == 7
        r = s.get("/v1/organizations")  # default limit 50
        assert [o["id"] for o in r.json()["items"]] == created
        # Bad parameters.
        for q in ("limit=0", "limit=501", "limit=-1", "limit=abc", "limit="):
            r = s.get("/v1/organizations?" + q)
            assert_problem(r, 422, "/problems/validation", [
                {"parameter": "limit", "detail": "must be an integer from 1 to 500"}])
        for c in ("garbage", "", "7ZZZZZZZZZZZZZZZZZZZZZZZZZZ"):
            r = s.get("/v1/organizations?cursor=" + c)
            assert_problem(r, 422, "/problems/validation", [
                {"parameter": "cursor", "detail": "is not a cursor from a previous page"}])
        r = s.get("/v1/organizations?limit=0&cursor=garbage")
        p = assert_problem(r, 422, "/problems/validation")
        assert [e["parameter"] for e in p["errors"]] == ["limit", "cursor"], p
        r = s.get("/v1/tokens?limit=501")
        assert_problem(r, 422, "/problems/validation", [
            {"parameter": "limit", "detail": "must be an integer from 1 to 500"}])
        # A parameter given twice is ambiguous.
        r = s.get("/v1/organizations?limit=1&limit=2")
        assert_problem(r, 400, "about:blank", [])


def test_unknown_path_and_method():
    with Stack() as s:
        for path in ("/v1/nothing", "/v2/organizations", "/nothing", "/v1/organizations/x/y",
                     "/v1/organizations/"):
            r = s.get(path)
            assert_problem(r, 404, "/problems/not-found", [], title="Not Found")
        # "/" is the console's page (tests/e2e/test_console_session.py); it,
        # the orchestrator's addresses and the pages' files take GET and
        # HEAD only, and say so.
        for path in ("/", "/healthz", "/readyz", "/metrics", "/assets/participate.css"):
            r = s.post(path, {})
            assert_problem(r, 405, "about:blank", [], title="Method Not Allowed")
            assert r.header("Allow") == "GET, HEAD", (path, r.headers)
        r = s.request("DELETE", "/")
        assert r.status == 405 and r.header("Allow") == "GET, HEAD", r
        # A file the pages do not have is not there for any method.
        assert s.post("/assets/nothing.css", {}).status == 404
        # Unknown paths are 404 even without a token.
        assert_problem(s.get("/v1/nothing", token=None), 404, "/problems/not-found", [])
        r = s.delete("/v1/organizations")
        assert_problem(r, 405, "about:blank", [], title="Method Not Allowed")
        assert r.header("Allow") == "POST, GET", r.headers
        r = s.request("PUT", "/v1/organizations/7ZZZZZZZZZZZZZZZZZZZZZZZZZ", body=ORG)
        assert_problem(r, 405, "about:blank", [])
        assert r.header("Allow") == "GET, PATCH", r.headers
        r = s.post("/v1/tokens/7ZZZZZZZZZZZZZZZZZZZZZZZZZ", {})
        assert r.status == 405 and r.header("Allow") == "DELETE", r
        r = s.post("/v1/openapi.json", {}, token=None)
        assert r.status == 405 and r.header("Allow") == "GET", r


def test_request_id():
    with Stack() as s:
        r = s.get("/v1/organizations", headers={"X-Request-Id": "client-req.42:a_b"})
        assert r.header("X-Request-Id") == "client-req.42:a_b", r.headers
        # Also on errors, and on errors found before routing.
        r = s.get("/v1/nothing", headers={"X-Request-Id": "abc-404"})
        assert r.status == 404 and r.header("X-Request-Id") == "abc-404"
        r = s.get("/v1/organizations", token=None, headers={"X-Request-Id": "abc-401"})
        assert r.status == 401 and r.header("X-Request-Id") == "abc-401"
        r = s.get("/healthz", token=None, headers={"X-Request-Id": "abc-health"})
        assert r.header("X-Request-Id") == "abc-health"
        ids = set()
        for path in ("/v1/organizations", "/healthz", "/v1/nothing"):
            r = s.get(path)
            rid = r.header("X-Request-Id")
            assert rid and re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", rid), (path, rid)
            ids.add(rid)
        assert len(ids) == 3
        # An unusable id (too long, or with characters that do not belong in a
        # log line) is replaced by a generated one.
        for bad in ("x" * 65, "a b", "a\"b", "<script>"):
            r = s.get("/v1/organizations", headers={"X-Request-Id": bad})
            rid = r.header("X-Request-Id")
            assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", rid), (bad, rid)
        r = s.get("/v1/organizations", headers={"X-Request-Id": "x" * 64})
        assert r.header("X-Request-Id") == "x" * 64


def public_ops():
    """(NAME, method, path) of every operation with an HTTP path, from the
    wire contract's table (proto/ops.h and the per-service files it
    includes); internal operations have no path."""
    ops = []
    for f in sorted(glob.glob(os.path.join(PROTO, "ops*.h"))):
        with open(f) as fh:
            ops += re.findall(r'X\((\w+),\s*"(\w+)",\s*"([^"]+)"', fh.read())
    assert len(ops) >= 8, ops
    return ops


def test_openapi():
    with Stack() as s:
        r = s.get("/v1/openapi.json", token=None)
        assert r.status == 200, r
        assert r.header("Content-Type") == "application/json", r.headers
        doc = r.json()
        assert doc["openapi"].startswith("3.1"), doc.get("openapi")
        for name, method, path in public_ops():
            assert path in doc["paths"], (path, sorted(doc["paths"]))
            op = doc["paths"][path].get(method.lower())
            assert op is not None, (method, path)
            assert op["operationId"] == name.lower(), op
        # With a token it is the same document.
        assert s.get("/v1/openapi.json").body == r.body


def test_action_accepts_empty_object():
    """Actions without parameters take no body or `{}` (what generated
    clients send), and nothing else."""
    import surveylib
    with Stack() as s:
        org = s.org()
        sv = s.post("/v1/surveys", surveylib.survey_body(org["id"])).json()
        json_h = {"Content-Type": "application/json"}
        r = s.request("POST", "/v1/surveys/%s/open" % sv["id"], raw=b' {\n} ', headers=json_h)
        assert r.status == 200 and r.json()["state"] == "open", r
        r = s.request("POST", "/v1/surveys/%s/close" % sv["id"], raw=b'{"now":true}',
                      headers=json_h)
        assert_problem(r, 400, "/problems/unexpected-body", [])
        r = s.request("POST", "/v1/surveys/%s/close" % sv["id"], raw=b'[]', headers=json_h)
        assert_problem(r, 400, "/problems/unexpected-body", [])
        r = s.request("POST", "/v1/surveys/%s/close" % sv["id"], raw=b'{}', headers=json_h)
        assert r.status == 200 and r.json()["state"] == "closed", r
        tok = s.post("/v1/tokens", {"label": "t", "role": "coordinator",
                                    "org_ids": [org["id"]]}).json()
        r = s.request("DELETE", "/v1/tokens/" + tok["id"], raw=b"{}", headers=json_h)
        assert r.status == 204, r


if __name__ == "__main__":
    run([test_malformed_json_and_content_type, test_validation_errors, test_body_on_get,
         test_idempotency_key, test_etag_and_if_match, test_pagination,
         test_unknown_path_and_method, test_request_id, test_openapi,
         test_action_accepts_empty_object])
