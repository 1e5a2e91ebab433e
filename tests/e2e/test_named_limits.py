"""Every limit the API puts on what clients send, crossed through the whole
stack: each is accepted at its value and refused one past it, with the
problem a client can act on."""

import shutil

from stack import Stack, pointers, run

ORG_MAX_NAME = 200           # services/agreements/organizations.h
AUTH_MAX_LABEL = 200         # services/gateway/auth.h
WH_IDEM_MAX_KEY = 255        # services/runtime/dispatch.h
GATEWAY_MAX_REQUEST_ID = 64  # services/gateway/gateway.h
WH_ENV_MAX_ORGS = 1000       # proto/envelope.h
WH_JSON_MAX_DEPTH = 31       # common/json.h (one level below the envelope's 32)
ROUTER_MAX_PARAMS = 32       # services/gateway/router.h
WH_PAGE_MAX = 500            # services/runtime/valid.h
AUTH_MAX_TOKEN_BYTES = 128   # services/gateway/auth.h (with the terminating NUL)


def test_limits():
    with Stack() as s:
        # Organisation name, counted in characters (not bytes).
        r = s.post("/v1/organizations", {"name": "ä" * ORG_MAX_NAME, "kind": "employer",
                                         "employees": 1})
        assert r.status == 201, r
        r = s.post("/v1/organizations", {"name": "ä" * (ORG_MAX_NAME + 1), "kind": "employer",
                                         "employees": 1})
        assert r.status == 422 and pointers(r) == ["/name"], r
        org = s.org()

        # Token label.
        body = {"role": "coordinator", "org_ids": [org["id"]], "label": "x" * AUTH_MAX_LABEL}
        assert s.post("/v1/tokens", body).status == 201
        body["label"] += "x"
        r = s.post("/v1/tokens", body)
        assert r.status == 422 and pointers(r) == ["/label"], r

        # Organisations in one token.
        ids = [org["id"]] * WH_ENV_MAX_ORGS
        r = s.post("/v1/tokens", {"role": "consultant", "org_ids": ids, "label": "many"})
        assert r.status == 201, r
        r = s.post("/v1/tokens", {"role": "consultant", "org_ids": ids + [org["id"]],
                                  "label": "too many"})
        assert r.status == 422 and pointers(r) == ["/org_ids"], r

        # Idempotency-Key length.
        new = {"name": "Keyed", "kind": "insurer", "employees": 5}
        r = s.post("/v1/organizations", new, headers={"Idempotency-Key": "k" * WH_IDEM_MAX_KEY})
        assert r.status == 201, r
        r = s.post("/v1/organizations", new,
                   headers={"Idempotency-Key": "k" * (WH_IDEM_MAX_KEY + 1)})
        assert r.status == 422 and pointers(r) == ["Idempotency-Key"], r

        # X-Request-Id: echoed up to its limit, replaced by a fresh id past it.
        rid = "r" * GATEWAY_MAX_REQUEST_ID
        assert s.get("/healthz", headers={"X-Request-Id": rid}).header("X-Request-Id") == rid
        got = s.get("/healthz", headers={"X-Request-Id": rid + "r"}).header("X-Request-Id")
        assert got != rid + "r" and len(got) == 26, got

        # JSON nesting depth: the body object itself is one level.
        def nested(depth):
            v = 1
            for _ in range(depth - 1):
                v = [v]
            return {"name": "Deep", "kind": "employer", "employees": 1, "region": v}
        r = s.post("/v1/organizations", nested(WH_JSON_MAX_DEPTH))
        assert r.status == 422 and pointers(r) == ["/region"], r  # deep but well-formed
        r = s.post("/v1/organizations", nested(WH_JSON_MAX_DEPTH + 1))
        assert r.status == 422 and r.json()["type"] == "/problems/limit", r

        # Query parameters per request.
        q = "&".join("p%d=1" % i for i in range(ROUTER_MAX_PARAMS))
        assert s.get("/v1/organizations?" + q).status == 200
        q += "&p%d=1" % ROUTER_MAX_PARAMS
        assert s.get("/v1/organizations?" + q).status == 400

        # Page size.
        assert s.get("/v1/organizations?limit=%d" % WH_PAGE_MAX).status == 200
        r = s.get("/v1/organizations?limit=%d" % (WH_PAGE_MAX + 1))
        assert r.status == 422 and pointers(r) == ["limit"], r


def test_token_length():
    longest = "a" * (AUTH_MAX_TOKEN_BYTES - 1)
    with Stack(env={"WH_ADMIN_TOKEN": longest}, services=("agreements",)) as s:
        s.admin = longest
        assert s.get("/v1/tokens").status == 200
        # A bearer longer than any token can be is refused before a lookup.
        r = s.get("/v1/tokens", token=longest + "a")
        assert r.status == 401, r
    # An admin token past the limit stops the gateway at start.
    s = Stack(env={"WH_ADMIN_TOKEN": longest + "a"})
    try:
        p = s.start_process("gateway")
        s.expect_exit("gateway", 1)
        assert p.wait(timeout=10) == 1
    finally:
        s.stop()
        shutil.rmtree(s.data_dir, ignore_errors=True)


if __name__ == "__main__":
    run([test_limits, test_token_length])
