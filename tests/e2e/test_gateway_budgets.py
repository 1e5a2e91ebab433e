"""Clients that try to hold the gateway's memory or its connection slots, and
HTTP the gateway's parser (Debian's llhttp 8.1) would let through, all
against the full stack with raw sockets:

- slow readers pipelining large GETs: the gateway's resident memory stays
  bounded (WH_HTTP_MAX_CONN_QUEUED_BYTES, WH_HTTP_MAX_QUEUED_BYTES) and other
  clients are still served;
- silent sockets on a gateway of 20 connections are closed after
  WH_HTTP_FIRST_BYTE_TIMEOUT_MS, and a real client then gets a slot;
- WH_HTTP_MAX_CONNECTIONS_PER_ADDR crossed from one address while another
  address is served;
- no CRLF after chunk data, header continuation lines, whitespace before a
  header's colon and oversized chunk extensions are refused.

Memory is VmRSS and VmHWM of the gateway from /proc/<pid>/status."""

import os
import shutil
import socket
import tempfile
import time

from agreementlib import Parties, days, seed
from stack import Stack, raw_http, read_to_close, run, wait_for
from test_limits import (assert_http_problem, get_req, healthz_eventually, parse_all,
                         read_responses)

MIB = 1024 * 1024
NOW = "2025-08-01T10:00:00Z"
# The attack: this many connections, each pipelining PIPELINE requests for a
# calendar feed of about 1 MiB and reading nothing. Each connection sends its
# requests once the previous one's have been answered, so that what grows is
# what the gateway holds for readers, not a queue in the service (a burst at
# once is test_busy_service_not_dropped).
CONNECTIONS = 16
PIPELINE = 16
# What the gateway may grow by, well under the CONNECTIONS * PIPELINE MiB it
# would hold if it kept every response.
MAX_GROWTH = 100 * MIB


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def seed_agreements(d, p, n):
    """n signed agreements straight into the stopped service's store, enough
    for a calendar feed of about 1 MiB."""
    seed(d, p, n, lambda i: days("2025-12-31") + i)


def metric(s, name):
    for line in s.get("/metrics", token=None).body.decode().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError("no metric " + name)


def slow_reader(port):
    """A connection that reads almost nothing: a tiny receive buffer, set
    before connecting so that the window stays small."""
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(10)
    c.connect(("127.0.0.1", port))
    return c


def wait_answered(s):
    """Until the gateway has answered every request but the one asking."""
    deadline = time.time() + 60
    while time.time() < deadline:
        if metric(s, "wh_http_requests_in_flight") <= 1 and metric(s, "wh_broker_pending") == 0:
            return
        time.sleep(0.05)
    raise AssertionError("requests still in flight")


def test_slow_readers_memory_bounded():
    d = tempfile.mkdtemp(prefix="wh-gw-budget-")
    try:
        with Stack(data_dir=d, now=NOW) as s:
            p = Parties(s)
        seed_agreements(d, p, 1300)
        # Under AddressSanitizer freed memory waits in a quarantine (256 MiB
        # by default) before it is reused; keep it small so that what is
        # measured is what the gateway holds. Without ASan this is ignored.
        asan = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8"
        with Stack(data_dir=d, now=NOW, services=("agreements",),
                   env={"ASAN_OPTIONS": asan.lstrip(":")}) as s:
            pid = s.procs["gateway"].pid
            path = "/v1/agreements/calendar.ics"
            for _ in range(3):  # warm up: the gateway has served this before
                r = s.get(path)
                assert r.status == 200, r
            size = len(r.body)
            assert size > 900 * 1024, size
            base_rss = status_kib(pid, "VmRSS")
            base_hwm = status_kib(pid, "VmHWM")
            request = get_req(path, [("Authorization", "Bearer " + s.admin)], close=False)
            held = []
            try:
                for _ in range(CONNECTIONS):
                    c = slow_reader(s.port)
                    held.append(c)
                    c.sendall(request * PIPELINE)
                    wait_answered(s)
                # Every request has been answered (or refused) by the
                # gateway, while nobody read.
                assert metric(s, "wh_service_instances{service=\"agreements\"}") == 1
                rss = status_kib(pid, "VmRSS")
                hwm = status_kib(pid, "VmHWM")
                print("gateway: baseline %.1f MiB (peak %.1f), with %d slow readers of %d x "
                      "%.0f KiB: %.1f MiB, peak %.1f MiB" % (
                          base_rss / MIB, base_hwm / MIB, CONNECTIONS, PIPELINE, size / 1024,
                          rss / MIB, hwm / MIB))
                assert hwm - base_rss < MAX_GROWTH, (base_rss, hwm)
                assert rss - base_rss < MAX_GROWTH, (base_rss, rss)
                shed = metric(s, "wh_http_shed_total")
                assert shed > 0, shed
                # Meanwhile another client is served.
                assert s.get("/healthz", token=None).status == 200
                r = s.get("/v1/organizations")
                assert r.status == 200 and len(r.json()["items"]) == 2, r
                # A slow reader that reads after all gets whole responses in
                # order: the feed, or a 503 it may repeat.
                c = held.pop()
                c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                rs = read_responses(c, PIPELINE, timeout=30)
                c.close()
                assert rs[0].status == 200 and len(rs[0].body) == size, rs[0]
                for x in rs:
                    assert x.status in (200, 503), x
                    if x.status == 503:
                        assert x.header("Retry-After") == "1", x
                        assert x.header("Connection") == "keep-alive", x
                    else:
                        assert len(x.body) == size, x
                assert any(x.status == 503 for x in rs), [x.status for x in rs]
            finally:
                for c in held:
                    c.close()
            # Once the readers are gone, the memory they held is free for
            # others: the feed is served again.
            deadline = time.time() + 10
            while metric(s, "wh_http_queued_bytes") > 0 and time.time() < deadline:
                time.sleep(0.1)
            r = s.get(path)
            assert r.status == 200 and len(r.body) == size, r
    finally:
        shutil.rmtree(d, ignore_errors=True)


SLOTS = 20


def test_silent_sockets_closed():
    env = {"WH_HTTP_MAX_CONNECTIONS": str(SLOTS), "WH_HTTP_FIRST_BYTE_TIMEOUT_MS": "1000"}
    with Stack(env=env) as s:
        time.sleep(0.3)  # the readiness probe's connections finish closing
        silent = [socket.create_connection(("127.0.0.1", s.port), timeout=10)
                  for _ in range(SLOTS)]
        try:
            # Every slot is taken.
            data = raw_http(s.port, get_req("/healthz"), read_timeout=5)
            p = assert_http_problem(parse_all(data)[0], 503, "Service Unavailable")
            assert p["detail"] == "too many open connections", p
            # Each silent socket is closed without a response, long before
            # the idle timeout of 60 s.
            for c in silent:
                c.settimeout(15)
                assert c.recv(1) == b""
        finally:
            for c in silent:
                c.close()
        r = healthz_eventually(s.port, 5)
        assert r.status == 200, r
        # Blank lines are not a request: such a socket is closed too.
        assert raw_http(s.port, b"\r\n\r\n", read_timeout=15) == b""
        # A client that asked is not bound by it: a second request after
        # more than the first-byte timeout is answered on the same socket.
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        try:
            c.sendall(get_req("/healthz", close=False))
            assert read_responses(c, 1)[0].status == 200
            time.sleep(1.5)
            c.sendall(get_req("/healthz", close=False))
            assert read_responses(c, 1)[0].status == 200
        finally:
            c.close()


def connect_from(port, source):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(10)
    c.bind((source, 0))
    c.connect(("127.0.0.1", port))
    return c


def ask_from(port, source, path):
    """The response to one GET of path on a new connection from source."""
    c = connect_from(port, source)
    try:
        c.sendall(get_req(path))
        return parse_all(read_to_close(c))[0]
    finally:
        c.close()


def test_per_address_cap():
    with Stack(env={"WH_HTTP_MAX_CONNECTIONS_PER_ADDR": "4"}) as s:
        time.sleep(0.3)
        held = []
        try:
            for _ in range(4):
                c = connect_from(s.port, "127.0.0.1")
                c.sendall(get_req("/healthz", close=False))
                assert read_responses(c, 1)[0].status == 200
                held.append(c)
            # The fifth from the same address is told and closed.
            p = assert_http_problem(ask_from(s.port, "127.0.0.1", "/healthz"), 503,
                                    "Service Unavailable")
            assert p["detail"] == "too many open connections from this address", p
            # Another address is served.
            other = connect_from(s.port, "127.0.0.2")
            other.sendall(get_req("/healthz", close=False))
            assert read_responses(other, 1)[0].status == 200
            held.append(other)
            # (The limit holds for the test's own requests too: ask from a
            # third address.)
            m = ask_from(s.port, "127.0.0.3", "/metrics").body.decode()
            rejected = [l for l in m.splitlines()
                        if l.startswith("wh_http_connections_rejected_total ")]
            assert rejected and int(rejected[0].split()[1]) >= 1, rejected
            # One closes; the address may open another.
            held.pop(0).close()
            wait_for(lambda: ask_from(s.port, "127.0.0.1", "/healthz").status == 200,
                     what="a connection from the address once one closed")
        finally:
            for c in held:
                c.close()


def post_chunked(token, chunks):
    return (("POST /v1/organizations HTTP/1.1\r\nHost: localhost\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % token).encode() + chunks)


def test_http_leniency_refused():
    with Stack() as s:
        body = b'{"name":"Erste","kind":"employer","employees":10}'
        # Well-formed chunked: created.
        ok = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        r = parse_all(raw_http(s.port, post_chunked(s.admin, ok)))[0]
        assert r.status == 201, r
        # Two bytes other than CRLF after the chunk data: what would be read
        # as a request smuggled inside the body by a lenient proxy.
        bad = b"%x\r\n%sXX0\r\n\r\n" % (len(body), body)
        r = parse_all(raw_http(s.port, post_chunked(s.admin, bad)))[0]
        p = assert_http_problem(r, 400, "Bad Request")
        assert p["detail"] == "malformed request: no CRLF after the data of a chunk", p
        # A header continued on the next line (obs-fold).
        r = parse_all(raw_http(s.port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                               b"X-Folded: a\r\n b\r\n\r\n"))[0]
        p = assert_http_problem(r, 400, "Bad Request")
        assert p["detail"] == "malformed request: a header continued on another line", p
        # Whitespace between a header's name and its colon.
        r = parse_all(raw_http(s.port, b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"))[0]
        p = assert_http_problem(r, 400, "Bad Request")
        assert p["detail"] == "malformed request: whitespace in a header name", p
        # A chunk extension larger than what headers may take.
        huge = b"%x;e=%s\r\n%s\r\n0\r\n\r\n" % (len(body), b"v" * (20 * 1024), body)
        r = parse_all(raw_http(s.port, post_chunked(s.admin, huge)))[0]
        p = assert_http_problem(r, 431, "Request Header Fields Too Large")
        assert "chunk extensions" in p["detail"] and "16384" in p["detail"], p
        # Nothing of those reached a service.
        assert len(s.get("/v1/organizations").json()["items"]) == 1


def test_busy_service_not_dropped():
    """A burst of large reads keeps a service busy for longer than the
    broker's liveness window (CONNECTIONS x PIPELINE feeds of ~1 MiB, sent at
    once): the instance still counts as alive, since it keeps sending signs
    of life between requests, and no request is answered "no instance"."""
    import threading
    d = tempfile.mkdtemp(prefix="wh-gw-busy-")
    try:
        with Stack(data_dir=d, now=NOW) as s:
            p = Parties(s)
        seed_agreements(d, p, 1300)
        with Stack(data_dir=d, now=NOW, services=("agreements",)) as s:
            path = "/v1/agreements/calendar.ics"
            request = get_req(path, [("Authorization", "Bearer " + s.admin)], close=False)
            conns = [socket.create_connection(("127.0.0.1", s.port), timeout=10)
                     for _ in range(CONNECTIONS)]
            results, errors = [], []

            def read_all(c):
                try:
                    results.extend(read_responses(c, PIPELINE, timeout=120))
                except Exception as e:  # reported to the main thread below
                    errors.append(repr(e))

            threads = [threading.Thread(target=read_all, args=(c,)) for c in conns]
            for t in threads:
                t.start()
            for c in conns:
                c.sendall(request * PIPELINE)
            for t in threads:
                t.join(180)
            for c in conns:
                c.close()
            assert not errors, errors
            assert len(results) == CONNECTIONS * PIPELINE, len(results)
            statuses = {}
            for r in results:
                statuses[r.status] = statuses.get(r.status, 0) + 1
                # 503 only as the gateway's own shedding of queued bytes;
                # 504 where the burst outlasts a request's deadline.
                assert r.status in (200, 503, 504), r
                if r.status == 503:
                    assert b"no instance" not in r.body, r
            print("busy burst: %r" % statuses)
            # Answered as they are done, not all at the end of the burst
            # (which would be past every request's deadline).
            assert statuses.get(200, 0) >= CONNECTIONS, statuses
            assert "instance lost" not in s.logs()
            assert metric(s, "wh_service_instances{service=\"agreements\"}") == 1
            assert s.get(path).status == 200
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run([test_slow_readers_memory_bounded, test_silent_sockets_closed, test_per_address_cap,
         test_http_leniency_refused, test_busy_service_not_dropped])
