"""Bearer tokens end to end: authentication, roles, organisation scoping,
revocation, expiry and the validation of POST /v1/tokens."""

import datetime
import hashlib
import http.client
import time

from stack import Stack, assert_problem, run

ROLES = ("admin", "coordinator", "consultant", "occupational_health", "integration")
TOKEN_FIELDS = {"id", "role", "org_ids", "label", "expires_at", "created_at", "token"}
LISTED_FIELDS = TOKEN_FIELDS - {"token"}


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def assert_401(r):
    assert_problem(r, 401, "/problems/unauthorized", [])
    assert r.header("WWW-Authenticate") == 'Bearer realm="workhealth"', r.headers
    assert r.json()["title"] == "Unauthorized"


def test_missing_and_wrong_token():
    with Stack() as s:
        assert_401(s.get("/v1/organizations", token=None))
        assert_401(s.get("/v1/organizations", token="wh_not-a-real-token-at-all"))
        assert_401(s.get("/v1/tokens", token=None))
        assert_401(s.post("/v1/organizations", {"name": "x", "kind": "employer",
                                                "employees": 1}, token=None))
        # Not a bearer scheme, or a bearer scheme without a token.
        assert_401(s.get("/v1/organizations", token=None,
                         headers={"Authorization": "Basic YWRtaW46YWRtaW4="}))
        assert_401(s.get("/v1/organizations", token=None, headers={"Authorization": "Bearer "}))
        # The admin token differs from a wrong one only in its last character.
        assert_401(s.get("/v1/organizations", token=s.admin[:-1] + "X"))
        assert s.get("/v1/organizations").status == 200
        # Nothing was created by the rejected POST.
        assert s.get("/v1/organizations").json() == {"items": [], "next_cursor": None}


def test_create_tokens_for_each_role():
    with Stack() as s:
        org = s.org()
        secrets = set()
        for role in ROLES:
            r = s.post("/v1/tokens", {"role": role, "org_ids": [org["id"]],
                                      "label": "for " + role})
            assert r.status == 201, r
            assert r.header("Content-Type") == "application/json"
            t = r.json()
            assert set(t) == TOKEN_FIELDS, t
            assert t["role"] == role
            assert t["label"] == "for " + role
            assert t["expires_at"] is None
            assert len(t["id"]) == 26
            assert t["token"].startswith("wh_") and len(t["token"]) > 40, t
            secrets.add(t["token"])
            # An admin token covers every organisation; its list stays empty.
            assert t["org_ids"] == ([] if role == "admin" else [org["id"]]), t
            # Every new token authenticates at once; roles beyond admin may
            # read their organisation but not the token store.
            assert s.get("/v1/organizations/" + org["id"], token=t["token"]).status == 200
            r = s.get("/v1/tokens", token=t["token"])
            if role == "admin":
                assert r.status == 200, r
            else:
                assert_problem(r, 403, "/problems/forbidden", [])
        assert len(secrets) == len(ROLES)
        r = s.get("/v1/tokens")
        assert [t["role"] for t in r.json()["items"]] == ["admin"] + list(ROLES)  # bootstrap first


def test_coordinator_scope():
    with Stack() as s:
        mine = s.org(name="Bezirksamt Mitte")
        also_mine = s.org(name="Bezirksamt Pankow")
        other = s.org(name="AOK Nordost", kind="insurer", employees=9000)
        coord = s.token("coordinator", [mine["id"], also_mine["id"]])

        r = s.post("/v1/organizations", {"name": "Neu", "kind": "employer", "employees": 5},
                   token=coord)
        assert_problem(r, 403, "/problems/forbidden", [])
        assert r.json()["title"] == "Forbidden"

        r = s.get("/v1/organizations/" + mine["id"], token=coord)
        assert r.status == 200, r
        assert r.json() == mine
        assert r.header("ETag") == '"%s.1"' % mine["id"]

        # Another tenant's organisation is indistinguishable from a missing one.
        r = s.get("/v1/organizations/" + other["id"], token=coord)
        p_other = assert_problem(r, 404, "/problems/not-found", [])
        r = s.get("/v1/organizations/7ZZZZZZZZZZZZZZZZZZZZZZZZZ", token=coord)
        p_missing = assert_problem(r, 404, "/problems/not-found", [])
        assert p_other == p_missing, (p_other, p_missing)
        r = s.patch("/v1/organizations/" + other["id"], {"employees": 1}, token=coord)
        assert_problem(r, 404, "/problems/not-found", [])
        assert s.get("/v1/organizations/" + other["id"]).json() == other  # unchanged

        r = s.get("/v1/organizations", token=coord)
        assert r.status == 200, r
        assert r.json() == {"items": [mine, also_mine], "next_cursor": None}
        # The admin sees all three.
        assert [o["id"] for o in s.get("/v1/organizations").json()["items"]] == [
            mine["id"], also_mine["id"], other["id"]]

        # Token administration is the admin's alone.
        r = s.post("/v1/tokens", {"role": "admin", "org_ids": [], "label": "escalate"},
                   token=coord)
        assert_problem(r, 403, "/problems/forbidden", [])
        assert_problem(s.get("/v1/tokens", token=coord), 403, "/problems/forbidden", [])


def test_token_list_has_no_secrets():
    with Stack() as s:
        org = s.org()
        r = s.post("/v1/tokens", {"role": "consultant", "org_ids": [org["id"]],
                                  "label": "Beraterin"})
        created = r.json()
        r = s.get("/v1/tokens")
        assert r.status == 200, r
        body = r.json()
        assert set(body) == {"items", "next_cursor"}
        assert body["next_cursor"] is None
        assert len(body["items"]) == 2, body
        for t in body["items"]:
            assert set(t) == LISTED_FIELDS, t
        boot = [t for t in body["items"] if t["id"] != created["id"]][0]
        assert boot["role"] == "admin" and boot["org_ids"] == [], boot
        listed = [t for t in body["items"] if t["id"] == created["id"]][0]
        expect = dict(created)
        del expect["token"]
        assert listed == expect, (listed, expect)
        # Neither the secret nor the admin's secret nor a hash of either
        # appears anywhere in the answer.
        text = r.body.decode()
        assert created["token"] not in text
        assert s.admin not in text
        assert "hash" not in text
        for secret in (created["token"], s.admin):
            assert hashlib.sha256(secret.encode()).hexdigest() not in text


def test_revocation_is_immediate():
    with Stack() as s:
        org = s.org()
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]],
                                  "label": "leaving"})
        t = r.json()
        assert s.get("/v1/organizations", token=t["token"]).status == 200
        r = s.delete("/v1/tokens/" + t["id"])
        assert r.status == 204, r
        assert r.body == b""
        assert r.header("Content-Type") is None, r.headers
        assert_401(s.get("/v1/organizations", token=t["token"]))
        listed = [x["id"] for x in s.get("/v1/tokens").json()["items"]]
        assert len(listed) == 1 and t["id"] not in listed, listed
        # Revoking again, or an unknown id, is 404.
        assert_problem(s.delete("/v1/tokens/" + t["id"]), 404, "/problems/not-found", [])
        assert_problem(s.delete("/v1/tokens/7ZZZZZZZZZZZZZZZZZZZZZZZZZ"), 404,
                       "/problems/not-found", [])

        # A revoked admin token can no longer revoke or create.
        a = s.post("/v1/tokens", {"role": "admin", "org_ids": [], "label": "ops"}).json()
        assert s.get("/v1/tokens", token=a["token"]).status == 200
        assert s.delete("/v1/tokens/" + a["id"], token=a["token"]).status == 204
        assert_401(s.get("/v1/tokens", token=a["token"]))

        # Revocation on a kept-alive connection takes effect on its next request.
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        t2 = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]],
                                   "label": "keepalive"}).json()
        h = {"Authorization": "Bearer " + t2["token"]}
        c.request("GET", "/v1/organizations", headers=h)
        r1 = c.getresponse()
        r1.read()
        assert r1.status == 200
        assert s.delete("/v1/tokens/" + t2["id"]).status == 204
        c.request("GET", "/v1/organizations", headers=h)
        r2 = c.getresponse()
        r2.read()
        assert r2.status == 401, r2.status
        c.close()


def test_expiry():
    with Stack() as s:
        org = s.org()
        past = rfc3339(time.time() - 60)
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]],
                                  "label": "old", "expires_at": past})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/expires_at", "detail": "must be in the future"}])
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]],
                                  "label": "old", "expires_at": "tomorrow"})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/expires_at", "detail": "must be an RFC 3339 date-time"}])

        # Expiring two to three seconds from now (whole seconds).
        expires = int(time.time()) + 3
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]],
                                  "label": "short", "expires_at": rfc3339(expires)})
        assert r.status == 201, r
        t = r.json()
        assert t["expires_at"] == rfc3339(expires).replace("Z", ".000Z"), t
        assert s.get("/v1/organizations", token=t["token"]).status == 200
        listed = [x for x in s.get("/v1/tokens").json()["items"] if x["id"] == t["id"]]
        assert listed[0]["expires_at"] == t["expires_at"]
        time.sleep(max(0.0, expires - time.time()) + 0.2)
        assert_401(s.get("/v1/organizations", token=t["token"]))

        # A null expires_at means no expiry.
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]],
                                  "label": "forever", "expires_at": None})
        assert r.status == 201, r
        assert r.json()["expires_at"] is None


def test_create_validation():
    with Stack() as s:
        org = s.org()
        r = s.post("/v1/tokens", {"role": "superuser", "org_ids": [org["id"]], "label": "x"})
        assert_problem(r, 422, "/problems/validation", [
            {"pointer": "/role", "detail": "must be one of admin, coordinator, consultant, "
                                           "occupational_health, integration"}])
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": ["not-an-id", org["id"],
                                                                     42], "label": "x"})
        assert_problem(r, 422, "/problems/validation", [
            {"pointer": "/org_ids/0", "detail": "must be an organization id"},
            {"pointer": "/org_ids/2", "detail": "must be an organization id"}])
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]]})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/label", "detail": "is required"}])
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]], "label": ""})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/label", "detail": "must not be empty"}])
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [], "label": "x"})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/org_ids", "detail": "must name at least one organization"}])
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": "all", "label": "x"})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/org_ids", "detail": "must be an array"}])
        r = s.post("/v1/tokens", {})
        p = assert_problem(r, 422, "/problems/validation")
        assert [e["pointer"] for e in p["errors"]] == ["/role", "/org_ids", "/label"], p
        assert all(e["detail"] == "is required" for e in p["errors"]), p
        assert p["detail"] == "3 invalid fields", p
        r = s.post("/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]], "label": "x",
                                  "secret": "mine"})
        assert_problem(r, 422, "/problems/validation",
                       [{"pointer": "/secret", "detail": "unknown field"}])
        # None of these created a token.
        assert len(s.get("/v1/tokens").json()["items"]) == 1


if __name__ == "__main__":
    run([test_missing_and_wrong_token, test_create_tokens_for_each_role, test_coordinator_scope,
         test_token_list_has_no_secrets, test_revocation_is_immediate, test_expiry,
         test_create_validation])
