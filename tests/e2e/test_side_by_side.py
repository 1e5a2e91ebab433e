"""Two stacks with their own data directories and ports run at once on one
machine without clashing: each sees only its own organisations and tokens."""

from stack import Stack, run


def test_two_stacks():
    with Stack() as a, Stack() as b:
        assert a.port != b.port and a.data_dir != b.data_dir
        ra = a.get("/readyz", token=None)
        rb = b.get("/readyz", token=None)
        assert ra.status == rb.status == 200, (ra, rb)
        want = {"agreements": 1, "surveys": 1, "screening": 1, "notifications": 1}
        assert ra.json()["services"] == rb.json()["services"] == want, (ra, rb)

        in_a = [a.org(name="A %d" % i) for i in range(3)]
        in_b = [b.org(name="B %d" % i, kind="insurer") for i in range(2)]
        assert a.get("/v1/organizations").json() == {"items": in_a, "next_cursor": None}
        assert b.get("/v1/organizations").json() == {"items": in_b, "next_cursor": None}
        for o in in_b:
            assert a.get("/v1/organizations/" + o["id"]).status == 404
        for o in in_a:
            assert b.get("/v1/organizations/" + o["id"]).status == 404

        # Tokens are per stack too.
        ta = a.token("coordinator", [in_a[0]["id"]])
        assert a.get("/v1/organizations", token=ta).json()["items"] == [in_a[0]]
        assert b.get("/v1/organizations", token=ta).status == 401
        assert len(a.get("/v1/tokens").json()["items"]) == 2
        assert len(b.get("/v1/tokens").json()["items"]) == 1

        # Each broker serves its own services: stopping one stack's
        # agreements leaves the other untouched.
        a.kill("agreements")
        a.wait_ready(want={"agreements": 0}, timeout=5)
        assert a.get("/v1/organizations").status == 503
        assert b.get("/v1/organizations").json()["items"] == in_b
        assert b.get("/readyz", token=None).json()["services"] == want

        m = b.get("/metrics", token=None).body.decode()
        assert 'wh_http_requests_total{route="ORGS_CREATE",status="201"} 2' in m, m


if __name__ == "__main__":
    run([test_two_stacks])
