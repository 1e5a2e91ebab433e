"""The gateway's HTTP limits and deadlines, crossed through the full stack
with raw sockets: header bytes, URL length, header count, body size,
connection count, keep-alive, pipelining, slow clients and idle
connections."""

import http.client
import json
import select
import socket
import threading
import time

from stack import Stack, raw_http, read_to_close, run

MAX_HEADER_BYTES = 16 * 1024
MAX_URL_BYTES = 8 * 1024
MAX_HEADERS = 64
MAX_BODY = 1024 * 1024


class Raw:
    """One parsed HTTP/1.1 response."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:200])


def parse_one(data):
    """Parses one response (with Content-Length) from the start of data;
    returns (Raw, rest) or (None, data) when it is not complete yet."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None, data
    lines = data[:end].decode("latin-1").split("\r\n")
    version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
    assert version == "HTTP/1.1", lines[0]
    headers = []
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers.append((k.strip(), v.strip()))
    r = Raw(int(status), reason, headers, b"")
    n = int(r.header("Content-Length") or 0)
    if len(data) < end + 4 + n:
        return None, data
    r.body = data[end + 4:end + 4 + n]
    return r, data[end + 4 + n:]


def parse_all(data):
    out = []
    while data:
        r, data = parse_one(data)
        assert r is not None, "incomplete response: %r" % data[:300]
        out.append(r)
    return out


def read_responses(sock, n, timeout=10.0):
    """Reads exactly n responses from a kept-alive socket."""
    sock.settimeout(timeout)
    buf, out = b"", []
    while len(out) < n:
        r, buf = parse_one(buf)
        if r is not None:
            out.append(r)
            continue
        chunk = sock.recv(65536)
        assert chunk, "connection closed after %d responses" % len(out)
        buf += chunk
    assert buf == b"", buf
    return out


def healthz_eventually(port, timeout):
    """GET /healthz on a new connection until it is 200 or timeout seconds
    have passed; the last response."""
    deadline = time.time() + timeout
    while True:
        r = parse_all(raw_http(port, get_req("/healthz")))[0]
        if r.status == 200 or time.time() > deadline:
            return r
        time.sleep(0.05)


def assert_http_problem(r, status, reason):
    """An error the HTTP layer answers itself, closing the connection."""
    assert r.status == status, r
    assert r.reason == reason, r
    assert r.header("Content-Type") == "application/problem+json", r
    assert r.header("Connection") == "close", r
    p = r.json()
    assert p["type"] == "about:blank", p
    assert p["title"] == reason, p
    assert p["status"] == status, p
    assert isinstance(p["detail"], str) and p["detail"], p
    assert p["errors"] == [], p
    return p


def one(port, data, **kw):
    rs = parse_all(raw_http(port, data, **kw))
    assert len(rs) == 1, rs
    return rs[0]


def get_req(path, headers=(), close=True):
    h = "".join("%s: %s\r\n" % kv for kv in headers)
    return ("GET %s HTTP/1.1\r\nHost: localhost\r\n%s%s\r\n" % (
        path, h, "Connection: close\r\n" if close else "")).encode()


def test_header_bytes():
    with Stack() as s:
        # Under the limit: 15 headers of 1000 bytes.
        fill = [("X-Fill-%d" % i, "a" * 990) for i in range(15)]
        r = one(s.port, get_req("/healthz", fill))
        assert r.status == 200 and r.json() == {"status": "ok"}, r
        # 20 such headers: each one small, together over 16 KiB.
        fill = [("X-Fill-%d" % i, "a" * 990) for i in range(20)]
        p = assert_http_problem(one(s.port, get_req("/healthz", fill)), 431,
                                "Request Header Fields Too Large")
        assert "16384" in p["detail"], p
        # One header value over the limit.
        r = one(s.port, get_req("/healthz", [("X-Big", "b" * (MAX_HEADER_BYTES + 1))]))
        assert_http_problem(r, 431, "Request Header Fields Too Large")
        # One header name over the limit.
        r = one(s.port, get_req("/healthz", [("X" * (MAX_HEADER_BYTES + 1), "v")]))
        assert_http_problem(r, 431, "Request Header Fields Too Large")
        # Through the whole path, with authentication: a big header does not
        # hide the token.
        fill = [("Authorization", "Bearer " + s.admin)] + [
            ("X-Fill-%d" % i, "a" * 990) for i in range(15)]
        r = one(s.port, get_req("/v1/organizations", fill))
        assert r.status == 200 and r.json() == {"items": [], "next_cursor": None}, r
        assert s.get("/healthz").status == 200


def test_url_length():
    with Stack() as s:
        base = "/healthz?"
        r = one(s.port, get_req(base + "a" * (MAX_URL_BYTES - len(base))))
        assert r.status == 200, r
        r = one(s.port, get_req(base + "a" * (MAX_URL_BYTES - len(base) + 1)))
        p = assert_http_problem(r, 414, "URI Too Long")
        assert "8192" in p["detail"], p
        r = one(s.port, get_req("/v1/organizations/" + "A" * 10000,
                                [("Authorization", "Bearer " + s.admin)]))
        assert_http_problem(r, 414, "URI Too Long")
        assert s.get("/healthz").status == 200


def test_header_count():
    with Stack() as s:
        # Host, Connection and 62 more: exactly the limit.
        r = one(s.port, get_req("/healthz", [("X-H%d" % i, "v") for i in range(MAX_HEADERS - 2)]))
        assert r.status == 200, r
        r = one(s.port, get_req("/healthz", [("X-H%d" % i, "v") for i in range(MAX_HEADERS - 1)]))
        p = assert_http_problem(r, 431, "Request Header Fields Too Large")
        assert "64" in p["detail"], p
        m = s.get("/metrics", token=None).body.decode()
        assert "wh_http_limit_errors_total 1\n" in m, m


def post_head(length, path="/v1/organizations", token=None, extra=""):
    return ("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "Authorization: Bearer %s\r\nContent-Length: %d\r\n%s\r\n" % (
                path, token, length, extra)).encode()


def padded_org(size):
    body = json.dumps({"name": "Padded", "kind": "employer", "employees": 3}).encode()
    return body + b" " * (size - len(body))


def test_body_size():
    with Stack() as s:
        # Exactly the limit: the JSON path takes it and creates the org.
        r = s.post("/v1/organizations", raw=padded_org(MAX_BODY),
                   headers={"Content-Type": "application/json"})
        assert r.status == 201, r
        assert r.json()["name"] == "Padded"
        # Exactly the limit with a string too long for a name: a 422 from the
        # service, not a 413.
        body = json.dumps({"name": "n" * 1000, "kind": "employer", "employees": 3}).encode()
        r = s.post("/v1/organizations", raw=body + b" " * (MAX_BODY - len(body)),
                   headers={"Content-Type": "application/json"})
        assert r.status == 422, r
        assert r.json()["errors"] == [{"pointer": "/name",
                                       "detail": "must be at most 200 characters"}], r
        # One byte over: refused on the headers, before the body is read.
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        try:
            sock.sendall(post_head(MAX_BODY + 1, token=s.admin))
            data = read_to_close(sock)
        finally:
            sock.close()
        p = assert_http_problem(parse_all(data)[0], 413, "Content Too Large")
        assert str(MAX_BODY) in p["detail"], p
        # The same with the whole body sent: the client still reads the 413
        # (not a reset) because the server discards what it does not read.
        data = raw_http(s.port, post_head(MAX_BODY + 1, token=s.admin) +
                        padded_org(MAX_BODY + 1), read_timeout=10)
        assert_http_problem(parse_all(data)[0], 413, "Content Too Large")
        # Chunked: one chunk over the limit, or many that add up to more.
        head = ("POST /v1/organizations HTTP/1.1\r\nHost: localhost\r\n"
                "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" % s.admin).encode()
        data = raw_http(s.port, head + b"%x\r\n" % (MAX_BODY + 1))
        assert_http_problem(parse_all(data)[0], 413, "Content Too Large")
        piece = b" " * 65536
        data = raw_http(s.port, head + (b"%x\r\n%s\r\n" % (len(piece), piece)) * 17,
                        read_timeout=10)
        assert_http_problem(parse_all(data)[0], 413, "Content Too Large")
        # Chunked under the limit is fine.
        body = padded_org(1000)
        data = raw_http(s.port, head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") +
                        b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        r = parse_all(data)[0]
        assert r.status == 201, r
        assert len(s.get("/v1/organizations").json()["items"]) == 2


def test_body_size_configured():
    with Stack(env={"WH_HTTP_MAX_BODY_BYTES": "2048"}) as s:
        r = s.post("/v1/organizations", raw=padded_org(2048),
                   headers={"Content-Type": "application/json"})
        assert r.status == 201, r
        r = s.post("/v1/organizations", raw=padded_org(2049),
                   headers={"Content-Type": "application/json"})
        assert r.status == 413, r
        assert r.header("Content-Type") == "application/problem+json"
        assert r.json()["status"] == 413
        assert "2048" in r.json()["detail"], r


def test_connection_limit():
    with Stack(env={"WH_HTTP_MAX_CONNECTIONS": "8"}) as s:
        # Let the connections of the readiness probe finish closing.
        time.sleep(0.3)
        held = []
        try:
            for _ in range(8):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
                c.sendall(get_req("/healthz", close=False))
                r = read_responses(c, 1)[0]
                assert r.status == 200 and r.header("Connection") == "keep-alive", r
                held.append(c)
            # The ninth is told at once and closed.
            data = raw_http(s.port, b"", read_timeout=5)
            p = assert_http_problem(parse_all(data)[0], 503, "Service Unavailable")
            assert p["detail"] == "too many open connections", p
            # A ninth that sends a request gets the same answer.
            data = raw_http(s.port, get_req("/healthz"), read_timeout=5)
            assert_http_problem(parse_all(data)[0], 503, "Service Unavailable")
            # The eight still work.
            for c in held:
                c.sendall(get_req("/healthz", close=False))
                assert read_responses(c, 1)[0].status == 200
            # Closing one makes room for another.
            held.pop().close()
            r = healthz_eventually(s.port, 3)
            assert r.status == 200, r
            c = held[0]
            c.sendall(get_req("/metrics", close=False))
            m = read_responses(c, 1)[0].body.decode()
            assert "wh_http_connections_open 8\n" in m or "wh_http_connections_open 7\n" in m, m
            rejected = [l for l in m.splitlines()
                        if l.startswith("wh_http_connections_rejected_total ")]
            assert rejected and int(rejected[0].split()[1]) >= 2, rejected
        finally:
            for c in held:
                c.close()


def test_keep_alive():
    with Stack() as s:
        org = s.org()
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        h = {"Authorization": "Bearer " + s.admin}
        c.request("GET", "/v1/organizations/" + org["id"], headers=h)
        r1 = c.getresponse()
        b1 = r1.read()
        assert r1.status == 200 and json.loads(b1) == org
        assert r1.getheader("Connection") == "keep-alive"
        sock1 = c.sock
        local1 = sock1.getsockname()
        c.request("POST", "/v1/organizations", body=json.dumps(
            {"name": "Zweite", "kind": "insurer", "employees": 10}),
            headers=dict(h, **{"Content-Type": "application/json"}))
        r2 = c.getresponse()
        b2 = r2.read()
        assert r2.status == 201, b2
        assert c.sock is sock1 and c.sock.getsockname() == local1
        c.request("GET", "/v1/organizations", headers=h)
        r3 = c.getresponse()
        assert [o["name"] for o in json.loads(r3.read())["items"]] == [org["name"], "Zweite"]
        assert c.sock is sock1
        # An HTTP/1.0 request is answered and closed.
        data = raw_http(s.port, b"GET /healthz HTTP/1.0\r\n\r\n")
        r = parse_all(data)[0]
        assert r.status == 200 and r.header("Connection") == "close", r
        c.close()


def test_pipelining():
    with Stack() as s:
        a = s.org(name="Erste")
        b = s.org(name="Zweite")
        auth = [("Authorization", "Bearer " + s.admin)]
        data = (get_req("/v1/organizations/" + a["id"], auth, close=False) +
                get_req("/healthz", close=False) +
                get_req("/v1/organizations/" + b["id"], auth, close=False) +
                get_req("/v1/nothing", auth, close=False) +
                get_req("/v1/organizations?limit=1", auth, close=True))
        rs = parse_all(raw_http(s.port, data, read_timeout=10))
        assert [r.status for r in rs] == [200, 200, 200, 404, 200], rs
        assert rs[0].json() == a
        assert rs[1].json() == {"status": "ok"}
        assert rs[2].json() == b
        assert rs[3].json()["type"] == "/problems/not-found"
        assert rs[4].json() == {"items": [a], "next_cursor": a["id"]}
        assert [r.header("Connection") for r in rs] == ["keep-alive"] * 4 + ["close"]
        assert rs[0].header("ETag") == '"%s.1"' % a["id"]
        assert rs[2].header("ETag") == '"%s.1"' % b["id"]
        # Three GETs in one send on a connection that stays open: answered in
        # the order asked, the broker round trips and the local answer mixed.
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        try:
            burst = (get_req("/v1/organizations/" + b["id"], auth, close=False) +
                     get_req("/v1/organizations/" + a["id"], auth, close=False) +
                     get_req("/healthz", close=False))
            sock.sendall(burst)
            rs = read_responses(sock, 3)
            assert [r.json().get("name", r.json().get("status")) for r in rs] == [
                "Zweite", "Erste", "ok"], rs
        finally:
            sock.close()


def test_slow_headers_and_bodies():
    env = {"WH_HTTP_HEADER_TIMEOUT_MS": "1000", "WH_HTTP_BODY_TIMEOUT_MS": "1000"}
    with Stack(env=env) as s:
        result = {}

        def dribble():
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            start = time.time()
            msg = get_req("/healthz", [("X-Slow", "z" * 200)])
            data = b""
            try:
                for i in range(len(msg)):
                    try:
                        sock.sendall(msg[i:i + 1])
                    except OSError:
                        break
                    ready, _, _ = select.select([sock], [], [], 0.2)
                    if ready:
                        break
                    if time.time() - start > 8:
                        break
                result["sent"] = i
                result["cut"] = time.time() - start
                sock.settimeout(5)
                while True:
                    try:
                        chunk = sock.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    data += chunk
            finally:
                sock.close()
            result["data"] = data

        t = threading.Thread(target=dribble)
        t.start()
        # Meanwhile another client is served normally.
        time.sleep(0.4)
        t0 = time.time()
        r = s.get("/v1/organizations")
        assert r.status == 200, r
        assert time.time() - t0 < 0.5
        t.join(15)
        assert not t.is_alive()
        assert 0.8 <= result["cut"] <= 1.8, result
        print("slow client: %d bytes sent, cut after %.2fs, %r" % (
            result["sent"], result["cut"], result["data"][:40]))
        assert result["sent"] < 12, result  # about 5 bytes in 1 s, never the whole request
        # The client stops sending once the answer is there, so it always
        # gets it: the 408, not a bare close.
        p = assert_http_problem(parse_all(result["data"])[0], 408, "Request Timeout")
        assert "1000 ms" in p["detail"], p

        # A body that stops arriving.
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        try:
            start = time.time()
            sock.sendall(post_head(100, token=s.admin) + b'{"name":')
            data = read_to_close(sock)
            took = time.time() - start
        finally:
            sock.close()
        assert 0.8 <= took <= 1.8 + 2.0, took  # the deadline, then at most the linger
        assert_http_problem(parse_all(data)[0], 408, "Request Timeout")
        m = s.get("/metrics", token=None).body.decode()
        assert "wh_http_timeouts_total 2\n" in m, m


def test_idle_keep_alive():
    with Stack(env={"WH_HTTP_IDLE_TIMEOUT_MS": "1000"}) as s:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        try:
            sock.sendall(get_req("/healthz", close=False))
            r = read_responses(sock, 1)[0]
            assert r.status == 200 and r.header("Connection") == "keep-alive"
            # Still usable a little later.
            time.sleep(0.5)
            sock.sendall(get_req("/healthz", close=False))
            assert read_responses(sock, 1)[0].status == 200
            start = time.time()
            sock.settimeout(5)
            assert sock.recv(1) == b""
            took = time.time() - start
        finally:
            sock.close()
        assert 0.8 <= took <= 1.8, took
        # A connection that never sends a byte is closed after the same time,
        # without a response.
        start = time.time()
        assert raw_http(s.port, b"", read_timeout=5) == b""
        assert 0.8 <= time.time() - start <= 1.8


if __name__ == "__main__":
    run([test_header_bytes, test_url_length, test_header_count, test_body_size,
         test_body_size_configured, test_connection_limit, test_keep_alive, test_pipelining,
         test_slow_headers_and_bodies, test_idle_keep_alive])
