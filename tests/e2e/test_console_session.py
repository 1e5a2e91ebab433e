"""The console's sessions: an API token exchanged for a session cookie
(POST /v1/session) that then authenticates /v1 requests in its place;
the cookie's attributes (HttpOnly, SameSite=Strict, Path=/, Secure and
the __Host- name under an https public URL), the CSRF token and origin
check on every change made with the cookie, sign-out and token revocation
ending sessions at once, idle and absolute expiry, the limit of sessions
per token, and GET / answering the sign-in page or the app by session."""

import re
import time

from stack import Stack, assert_problem, query, run

LIMIT = 20  # CONSOLE_MAX_PER_TOKEN in services/gateway/console.h


def origin(s):
    return "http://127.0.0.1:%d" % s.port


def sign_in(s, token, headers=None):
    r = s.post("/v1/session", token=token, headers=headers)
    assert r.status == 201, r
    cookie = r.header("Set-Cookie")
    name, value = cookie.split(";", 1)[0].split("=", 1)
    return r, name + "=" + value


def with_cookie(s, method, path, cookie, csrf=None, body=None, org=True, extra=None):
    h = {"Cookie": cookie}
    if csrf:
        h["X-CSRF-Token"] = csrf
    if org is True:
        h["Origin"] = origin(s)
        h["Sec-Fetch-Site"] = "same-origin"
    h.update(extra or {})
    return s.request(method, path, body=body, token=None, headers=h)


def test_sign_in_cookie_and_who_am_i():
    with Stack(services=("agreements",)) as s:
        org = s.org()
        tok = s.new_token("coordinator", [org["id"]], label="HR Mitte")
        r, cookie = sign_in(s, tok["token"])
        set_cookie = r.header("Set-Cookie")
        assert re.fullmatch(r"wh_session=whs_[A-Za-z0-9_-]{43}; Path=/; HttpOnly; "
                            r"SameSite=Strict", set_cookie), set_cookie
        assert r.header("Cache-Control") == "no-store", r.headers
        b = r.json()
        assert b["token_id"] == tok["id"] and b["role"] == "coordinator", b
        assert b["org_ids"] == [org["id"]] and b["label"] == "HR Mitte", b
        assert re.fullmatch(r"[0-9a-f]{64}", b["csrf_token"]), b
        assert b["expires_at"] and b["idle_expires_at"], b

        who = with_cookie(s, "GET", "/v1/session", cookie, org=False)
        assert who.status == 200, who
        assert who.json()["csrf_token"] == b["csrf_token"], who
        assert who.json()["expires_at"] == b["expires_at"], who
        # The cookie reads what the token reads, without a CSRF token.
        got = with_cookie(s, "GET", "/v1/organizations/" + org["id"], cookie, org=False)
        assert got.status == 200 and got.json()["id"] == org["id"], got
        # With a bearer token, who-am-i has no session.
        bw = s.get("/v1/session", token=tok["token"])
        assert bw.status == 200 and bw.json()["csrf_token"] is None, bw
        assert bw.json()["role"] == "coordinator", bw

        # The store keeps a hash of the secret, never the secret.
        secret = cookie.split("=", 1)[1]
        rows = query(s, "SELECT hash, token_id FROM sessions", name="gateway")
        assert len(rows) == 1 and rows[0][1] == tok["id"], rows
        assert rows[0][0] != secret and secret not in rows[0][0], rows

        # Wrong or missing token: 401; an integration has no pages: 403.
        assert_problem(s.post("/v1/session", token="wh_nope"), 401, "/problems/unauthorized")
        assert_problem(s.post("/v1/session", token=None), 401, "/problems/unauthorized")
        integ = s.token("integration", [org["id"]])
        assert_problem(s.post("/v1/session", token=integ), 403, "/problems/forbidden")
        # A session is not a way to make more sessions.
        assert_problem(with_cookie(s, "POST", "/v1/session", cookie, b["csrf_token"]), 401,
                       "/problems/unauthorized")
        # A garbage cookie beside a bearer token changes nothing.
        ok = s.get("/v1/session", token=tok["token"], headers={"Cookie": "wh_session=junk"})
        assert ok.status == 200, ok
        assert_problem(with_cookie(s, "GET", "/v1/session", "wh_session=whs_forged", org=False),
                       401, "/problems/unauthorized")

        # GET /: the sign-in page without a session, the app with one.
        page = s.get("/", token=None)
        assert page.status == 200 and b'id="signin"' in page.body, page
        assert "script-src 'self'" in page.header("Content-Security-Policy"), page.headers
        assert page.header("Cache-Control") == "no-store", page.headers
        app = s.get("/", token=None, headers={"Cookie": cookie})
        assert app.status == 200 and b'id="app"' in app.body, app
        assert b'id="signin"' not in app.body, app


def test_changes_need_csrf_and_same_origin():
    with Stack(services=()) as s:
        r, cookie = sign_in(s, s.admin)
        csrf = r.json()["csrf_token"]
        body = {"role": "coordinator", "org_ids": ["01JD0000000000000000000000"], "label": "x"}
        # No header, a wrong one, a foreign origin, a cross-site fetch, no
        # origin at all: 403, and nothing was created.
        assert_problem(with_cookie(s, "POST", "/v1/tokens", cookie, None, body), 403, "/problems/csrf")
        assert_problem(with_cookie(s, "POST", "/v1/tokens", cookie, "0" * 64, body), 403, "/problems/csrf")
        assert_problem(with_cookie(s, "POST", "/v1/tokens", cookie, csrf, body,
                                   extra={"Origin": "https://evil.example"}), 403, "/problems/csrf")
        assert_problem(with_cookie(s, "POST", "/v1/tokens", cookie, csrf, body,
                                   extra={"Sec-Fetch-Site": "cross-site"}), 403, "/problems/csrf")
        assert_problem(with_cookie(s, "POST", "/v1/tokens", cookie, csrf, body, org=False), 403,
                       "/problems/csrf")
        assert len(s.get("/v1/tokens").json()["items"]) == 1
        # The session's own token from the same origin: done.
        made = with_cookie(s, "POST", "/v1/tokens", cookie, csrf, body)
        assert made.status == 201, made
        # Origin alone, or Sec-Fetch-Site alone, is enough when it is ours.
        assert with_cookie(s, "DELETE", "/v1/tokens/" + made.json()["id"], cookie, csrf,
                           org=False, extra={"Origin": origin(s)}).status == 204
        # Another session's CSRF token is not this one's.
        r2, cookie2 = sign_in(s, s.admin)
        assert r2.json()["csrf_token"] != csrf
        assert_problem(with_cookie(s, "POST", "/v1/tokens", cookie, r2.json()["csrf_token"],
                                   body), 403, "/problems/csrf")
        # Signing in from a foreign page is refused too (login CSRF).
        assert_problem(s.post("/v1/session", headers={"Origin": "https://evil.example"}), 403,
                       "/problems/csrf")
        assert_problem(s.post("/v1/session", headers={"Sec-Fetch-Site": "cross-site"}), 403,
                       "/problems/csrf")
        assert s.post("/v1/session", headers={"Origin": origin(s)}).status == 201


def test_sign_out_and_revocation_end_sessions():
    with Stack(services=()) as s:
        org = "01JD0000000000000000000000"
        tok = s.new_token("consultant", [org])
        r, cookie = sign_in(s, tok["token"])
        csrf = r.json()["csrf_token"]
        r2, cookie2 = sign_in(s, tok["token"])
        # Sign-out needs the CSRF token like any change.
        assert_problem(with_cookie(s, "DELETE", "/v1/session", cookie), 403, "/problems/csrf")
        out = with_cookie(s, "DELETE", "/v1/session", cookie, csrf)
        assert out.status == 204, out
        assert re.fullmatch(r"wh_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
                            out.header("Set-Cookie")), out.headers
        # Ended on the server: the old cookie is refused even if a browser kept it.
        assert_problem(with_cookie(s, "GET", "/v1/session", cookie, org=False), 401,
                       "/problems/unauthorized")
        assert with_cookie(s, "GET", "/v1/session", cookie2, org=False).status == 200
        assert len(query(s, "SELECT id FROM sessions", name="gateway")) == 1
        # A bearer token has no session to end.
        assert_problem(s.delete("/v1/session", token=tok["token"]), 404, "/problems/not-found")
        # Revoking the token ends its sessions with the next request.
        assert s.delete("/v1/tokens/" + tok["id"]).status == 204
        assert_problem(with_cookie(s, "GET", "/v1/session", cookie2, org=False), 401,
                       "/problems/unauthorized")
        assert b'id="signin"' in s.get("/", token=None, headers={"Cookie": cookie2}).body


def test_idle_and_absolute_expiry():
    env = {"WH_SESSION_IDLE_S": "3", "WH_SESSION_MAX_S": "7"}
    with Stack(services=(), env=env) as s:
        used, c_used = sign_in(s, s.admin)
        idle, c_idle = sign_in(s, s.admin)
        t0 = time.time()
        b = used.json()
        # expires_at is sign-in + WH_SESSION_MAX_S, idle_expires_at last use + idle.
        assert b["expires_at"] != b["idle_expires_at"], b
        # Used every second, one session outlives the idle time...
        while time.time() - t0 < 4.5:
            assert with_cookie(s, "GET", "/v1/session", c_used, org=False).status == 200
            time.sleep(1)
        # ...while the other, unused, has ended.
        assert_problem(with_cookie(s, "GET", "/v1/session", c_idle, org=False), 401,
                       "/problems/unauthorized")
        while time.time() - t0 < 6:
            assert with_cookie(s, "GET", "/v1/session", c_used, org=False).status == 200
            time.sleep(1)
        # However busy, it ends WH_SESSION_MAX_S after sign-in.
        time.sleep(max(0.0, 7.3 - (time.time() - t0)))
        assert_problem(with_cookie(s, "GET", "/v1/session", c_used, org=False), 401,
                       "/problems/unauthorized")
        # Ended sessions leave the store at the next sign-in.
        sign_in(s, s.admin)
        assert len(query(s, "SELECT id FROM sessions", name="gateway")) == 1


def test_sessions_per_token_limit():
    with Stack(services=()) as s:
        org = "01JD0000000000000000000000"
        tok = s.token("coordinator", [org])
        other = s.token("coordinator", [org])
        _, c_other = sign_in(s, other)
        cookies = [sign_in(s, tok)[1] for _ in range(LIMIT)]
        assert all(with_cookie(s, "GET", "/v1/session", c, org=False).status == 200
                   for c in cookies)
        # One more: the oldest of that token ends, the others and another
        # token's session stay.
        cookies.append(sign_in(s, tok)[1])
        assert_problem(with_cookie(s, "GET", "/v1/session", cookies[0], org=False), 401,
                       "/problems/unauthorized")
        assert all(with_cookie(s, "GET", "/v1/session", c, org=False).status == 200
                   for c in cookies[1:])
        assert with_cookie(s, "GET", "/v1/session", c_other, org=False).status == 200
        assert len(query(s, "SELECT id FROM sessions", name="gateway")) == LIMIT + 1


def test_https_public_url_secure_host_cookie():
    public = "https://health.example.org"
    with Stack(services=(), env={"WH_PUBLIC_URL": public}) as s:
        r, cookie = sign_in(s, s.admin)
        assert re.fullmatch(r"__Host-wh_session=whs_[A-Za-z0-9_-]{43}; Path=/; HttpOnly; "
                            r"SameSite=Strict; Secure", r.header("Set-Cookie")), r.headers
        csrf = r.json()["csrf_token"]
        # The plain name is not read under https.
        plain = "wh_session=" + cookie.split("=", 1)[1]
        assert_problem(with_cookie(s, "GET", "/v1/session", plain, org=False), 401,
                       "/problems/unauthorized")
        # Behind a TLS proxy the page's origin is the public URL's.
        body = {"role": "admin", "org_ids": [], "label": "proxy"}
        made = with_cookie(s, "POST", "/v1/tokens", cookie, csrf, body, org=False,
                           extra={"Origin": public})
        assert made.status == 201, made
        out = with_cookie(s, "DELETE", "/v1/session", cookie, csrf, org=False,
                          extra={"Origin": public})
        assert out.status == 204, out
        assert out.header("Set-Cookie").endswith("; Max-Age=0; Secure"), out.headers


if __name__ == "__main__":
    run([test_sign_in_cookie_and_who_am_i, test_changes_need_csrf_and_same_origin,
         test_sign_out_and_revocation_end_sessions, test_idle_and_absolute_expiry,
         test_sessions_per_token_limit, test_https_public_url_secure_host_cookie])
