"""Processes failing and coming back: a killed service (503, then served
again after its restart), several instances of one service sharing the load,
a frozen instance (504, then dropped), a frozen gateway reconnected to, a
restarted gateway rejoined by the running services, and a clean SIGTERM
shutdown."""

import http.client
import os
import re
import signal
import socket
import time

from stack import SERVICES, Stack, run


def instances(s, service):
    text = s.get("/metrics", token=None).body.decode()
    m = re.search(r'^wh_service_instances\{service="%s"\} (\d+)$' % service, text, re.M)
    assert m, text
    return int(m.group(1))


def wait_instances(s, service, n, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        got = instances(s, service)
        if got == n:
            return
        assert time.time() < deadline, "%s: %d instances, want %d\n%s" % (
            service, got, n, s.logs())
        time.sleep(0.05)


def stopped(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def holds_write_lock(pid, db_path):
    """Whether pid holds the SQLite WAL write lock of db_path (an fcntl lock
    on byte 120 of its -shm file)."""
    ino = os.stat(db_path + "-shm").st_ino
    with open("/proc/locks") as f:
        for line in f:
            x = line.split()
            if "->" in x:
                continue  # a waiter, not a holder
            if x[3] == "WRITE" and x[4] == str(pid) and \
                    int(x[5].rsplit(":", 1)[1]) == ino and x[6] == "120":
                return True
    return False


def freeze(s, key):
    """SIGSTOPs one instance at a moment when it holds no write transaction
    on the store it shares with another instance. (An instance frozen
    inside one blocks the other instance's store calls, and with them its
    event loop and heartbeats, for the store's busy timeout: a separate
    failure, not the one exercised here.)"""
    p = s.procs[key]
    db = os.path.join(s.data_dir, "agreements.db")
    for _ in range(100):
        p.send_signal(signal.SIGSTOP)
        while not stopped(p.pid):
            time.sleep(0.001)
        if not holds_write_lock(p.pid, db):
            return
        p.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("%s never left its write transaction" % key)


def assert_unavailable(r):
    assert r.status == 503, r
    assert r.header("Content-Type") == "application/problem+json", r.headers
    assert r.header("Retry-After") == "1", r.headers
    p = r.json()
    assert p["type"] == "/problems/unavailable" and p["status"] == 503, p
    assert p["title"] == "Service Unavailable", p


def test_service_killed_and_restarted():
    with Stack() as s:
        org = s.org()
        gateway = s.procs["gateway"]
        s.kill("agreements")  # SIGKILL
        killed = time.time()
        while True:
            r = s.get("/v1/organizations/" + org["id"], timeout=10)
            if r.status == 503:
                break
            assert time.time() - killed < 3, r
        assert time.time() - killed < 3, time.time() - killed
        assert_unavailable(r)
        # Every service-backed call is refused at once now; the gateway's own
        # operations still work.
        t0 = time.time()
        assert_unavailable(s.get("/v1/organizations"))
        r = s.post("/v1/organizations", {"name": "Neu", "kind": "employer", "employees": 1},
                   headers={"Idempotency-Key": "during-outage"})
        assert_unavailable(r)
        assert time.time() - t0 < 1.0
        assert s.get("/v1/tokens").status == 200
        assert s.get("/healthz", token=None).status == 200
        r = s.get("/readyz", token=None)
        assert r.status == 503, r
        assert r.json() == {"services": {"agreements": 0, "surveys": 1, "screening": 1,
                                         "notifications": 1}, "status": "not ready"}, r
        assert instances(s, "agreements") == 0

        s.start_process("agreements")
        r = s.wait_ready()
        assert r.status == 200 and r.json()["status"] == "ready", r
        r = s.get("/v1/organizations/" + org["id"])
        assert r.status == 200 and r.json() == org, r
        # The creation refused during the outage goes through now, once.
        r = s.post("/v1/organizations", {"name": "Neu", "kind": "employer", "employees": 1},
                   headers={"Idempotency-Key": "during-outage"})
        assert r.status == 201, r
        assert [o["name"] for o in s.get("/v1/organizations").json()["items"]] == [
            org["name"], "Neu"]
        # The gateway was never restarted.
        assert s.procs["gateway"] is gateway and gateway.poll() is None


def test_two_instances_share_the_load():
    with Stack() as s:
        # The second instance runs with its clock in another year, so that the
        # organisations each instance creates can be told apart.
        s.start_process("agreements", key="agreements2", env={"WH_NOW": "2031-01-01T00:00:00Z"})
        s.wait_ready(want={"agreements": 2})
        r = s.get("/readyz", token=None)
        assert r.json()["services"]["agreements"] == 2, r
        assert instances(s, "agreements") == 2

        def by_instance(orgs):
            second = [o for o in orgs if o["created_at"].startswith("2031-")]
            return len(orgs) - len(second), len(second)

        made = []
        for i in range(40):
            r = s.post("/v1/organizations", {"name": "Org %d" % i, "kind": "employer",
                                             "employees": i})
            assert r.status == 201, r
            made.append(r.json())
        first, second = by_instance(made)
        assert first >= 10 and second >= 10, (first, second)
        # Both instances read every organisation (one store), whichever
        # of them answers.
        for _ in range(6):
            r = s.get("/v1/organizations?limit=100")
            assert r.status == 200, r
            assert sorted(o["id"] for o in r.json()["items"]) == sorted(o["id"] for o in made)

        def served_alone_while_frozen(frozen, label, dropped_within_s=None):
            """Freezes the instance under key frozen and returns how many of
            ten new organisations (first, second) each instance made once
            the broker has dropped the frozen one."""
            freeze(s, frozen)
            try:
                t_stop = time.time()
                wait_instances(s, "agreements", 1, timeout=4)
                if dropped_within_s:
                    assert time.time() - t_stop < dropped_within_s
                more = []
                for i in range(10):
                    r = s.post("/v1/organizations", {"name": "%s %d" % (label, i),
                                                     "kind": "employer", "employees": 1},
                               timeout=5)
                    assert r.status == 201, r
                    more.append(r.json())
                return by_instance(more)
            finally:
                s.procs[frozen].send_signal(signal.SIGCONT)

        # Freeze the first: once the broker drops it, the other serves alone.
        assert served_alone_while_frozen("agreements", "Frozen", dropped_within_s=3.5) == (0, 10)
        wait_instances(s, "agreements", 2, timeout=4)
        # And the other way round.
        assert served_alone_while_frozen("agreements2", "Thawed") == (10, 0)
        wait_instances(s, "agreements", 2, timeout=4)

        # Killing one of two: ZeroMQ reports the disconnect, so the broker
        # drops it well before four silent heartbeats would, and the other
        # serves everything.
        s.kill("agreements2")
        wait_instances(s, "agreements", 1, timeout=1.0)
        for i in range(10):
            r = s.get("/v1/organizations?limit=1", timeout=5)
            assert r.status == 200, r
        assert s.get("/readyz", token=None).status == 200


def test_frozen_instance_deadline():
    with Stack(env={"WH_REQUEST_TIMEOUT_MS": "800"}) as s:
        org = s.org()
        p = s.procs["agreements"]
        p.send_signal(signal.SIGSTOP)
        try:
            t0 = time.time()
            r = s.get("/v1/organizations/" + org["id"], timeout=10)
            took = time.time() - t0
            assert r.status == 504, r
            assert r.header("Content-Type") == "application/problem+json"
            body = r.json()
            assert body["type"] == "/problems/deadline" and body["status"] == 504, body
            assert body["title"] == "Gateway Timeout", body
            assert 0.75 <= took <= 1.5, took
            # Silent for more than four heartbeats: dropped, so 503 at once.
            wait_instances(s, "agreements", 0, timeout=4)
            t0 = time.time()
            assert_unavailable(s.get("/v1/organizations/" + org["id"]))
            assert time.time() - t0 < 0.5
            assert s.get("/readyz", token=None).status == 503
        finally:
            p.send_signal(signal.SIGCONT)
        s.wait_ready(timeout=5)
        r = s.get("/v1/organizations/" + org["id"])
        assert r.status == 200 and r.json() == org, r
        m = s.get("/metrics", token=None).body.decode()
        assert 'wh_http_requests_total{route="ORGS_GET",status="504"} 1' in m, m
        assert 'wh_http_requests_total{route="ORGS_GET",status="503"} 1' in m, m


def test_gateway_frozen():
    """The gateway frozen (SIGSTOP) past the liveness window: each service's
    ZMTP heartbeats time out, it drops the connection and connects anew, and
    once the gateway thaws it serves at once with one instance of each
    service again (the old connections are found gone within a moment)."""
    with Stack() as s:
        org = s.org()
        g = s.procs["gateway"]
        g.send_signal(signal.SIGSTOP)
        try:
            time.sleep(3.0)
        finally:
            g.send_signal(signal.SIGCONT)
        r = s.get("/v1/organizations/" + org["id"], timeout=5)
        assert r.status == 200 and r.json() == org, r
        for name in SERVICES:
            wait_instances(s, name, 1, timeout=2)
        assert s.get("/readyz", token=None).status == 200
        assert "gateway silent" in s.logs(), s.logs()


def test_gateway_restart():
    with Stack() as s:
        org = s.org()
        coord = s.token("coordinator", [org["id"]])
        services = {k: s.procs[k] for k in SERVICES}
        old_port = s.port
        s.kill("gateway")
        r = None
        try:
            r = s.get("/healthz", token=None, timeout=2)
        except OSError:
            pass
        assert r is None, r
        restarted = time.time()
        s.start_process("gateway")
        s.wait_ready(timeout=8)
        assert time.time() - restarted < 5, time.time() - restarted
        assert s.port == old_port
        # Data on both sides of the broker survived: organisations in the
        # service's store, tokens in the gateway's.
        r = s.get("/v1/organizations/" + org["id"])
        assert r.status == 200 and r.json() == org, r
        r = s.get("/v1/organizations", token=coord)
        assert r.status == 200 and r.json()["items"] == [org], r
        assert s.post("/v1/organizations", {"name": "Nach", "kind": "insurer",
                                            "employees": 2}).status == 201
        for k, p in services.items():
            assert s.procs[k] is p and p.poll() is None, k


def test_sigterm_stops_everything():
    with Stack() as s:
        s.org()
        # An idle keep-alive connection must not hold the gateway up.
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        c.request("GET", "/healthz")
        c.getresponse().read()
        # Nor a client half way through its headers.
        half = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        half.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.1)
        procs = dict(s.procs)
        for k in procs:
            s.send(k, signal.SIGTERM)
        deadline = time.time() + 5
        codes = {}
        for k, p in procs.items():
            try:
                codes[k] = p.wait(timeout=max(0.1, deadline - time.time()))
            except Exception:  # noqa: BLE001 - reported below
                codes[k] = "still running after 5 s"
        c.close()
        half.close()
        assert codes == {k: 0 for k in procs}, codes


if __name__ == "__main__":
    run([test_service_killed_and_restarted, test_two_instances_share_the_load,
         test_frozen_instance_deadline, test_gateway_frozen, test_gateway_restart,
         test_sigterm_stops_everything])
