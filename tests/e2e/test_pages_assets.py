"""The pages' static files: served under /assets/ with the page security
headers (a strict Content-Security-Policy, no framing, no sniffing), an
ETag that answers 304, and 404 for anything not there."""

from stack import PROBLEM, Stack, assert_problem, run


def test_assets():
    with Stack() as s:
        r = s.get("/assets/robots.txt", token=None)
        assert r.status == 200, r
        assert r.header("Content-Type") == "text/plain; charset=utf-8", r
        assert r.body.startswith(b"User-agent"), r
        csp = r.header("Content-Security-Policy")
        assert csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
        assert r.header("X-Content-Type-Options") == "nosniff", r
        assert r.header("Referrer-Policy") == "no-referrer", r
        assert r.header("X-Request-Id"), r
        etag = r.header("ETag")
        assert etag and etag.startswith('"'), r
        again = s.get("/assets/robots.txt", token=None, headers={"If-None-Match": etag})
        assert again.status == 304 and again.body == b"", again
        changed = s.get("/assets/robots.txt", token=None, headers={"If-None-Match": '"x"'})
        assert changed.status == 200, changed
        head = s.request("HEAD", "/assets/robots.txt", token=None)
        assert head.status == 200 and head.body == b"", head
        for missing in ("/assets/nothing.css", "/assets/../gateway.db", "/assets/",
                        "/assets/%2e%2e%2fgateway.db"):
            r = s.get(missing, token=None)
            assert_problem(r, 404, "/problems/not-found")
            assert r.header("Content-Type") == PROBLEM, r


if __name__ == "__main__":
    run([test_assets])
