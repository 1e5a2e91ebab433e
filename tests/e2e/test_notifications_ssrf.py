"""Webhooks cannot be pointed inward. Without WH_WEBHOOK_ALLOW a subscription
to a loopback, link-local (cloud metadata), private, multicast or unspecified
address, in any spelling, is refused with 422; a name that resolves to such
an address is accepted (names are resolved when sending) but never connected
to, and the tenant's delivery log says the same for it as for a closed port,
so it cannot be used to scan ports. With WH_WEBHOOK_ALLOW=127.0.0.1/32 (the
test stacks' default) loopback receivers get their webhooks. Only loopback
targets are used."""

import json
import shutil
import socket
import tempfile

from notificationslib import Receiver, deliveries, subscribe
from stack import Stack, free_port, reply, run, serve_posts, stop_http, wait_for

NO_ALLOW = {"WH_WEBHOOK_ALLOW": ""}

REFUSED_TARGETS = [
    "http://127.0.0.1:%d/hook",
    "http://localhost:%d/hook",
    "http://LOCALHOST.:%d/hook",
    "http://api.localhost:%d/hook",
    "http://0x7f000001:%d/hook",
    "http://2130706433:%d/hook",
    "http://0177.0.0.1:%d/hook",
    "http://127.1:%d/hook",
    "http://[::1]:%d/hook",
    "http://[::ffff:127.0.0.1]:%d/hook",
    "http://[::ffff:7f00:1]:%d/hook",
    "http://0.0.0.0:%d/hook",
    "http://[::]:%d/hook",
    "http://169.254.169.254:%d/latest/meta-data/",
    "http://[fd00:ec2::254]:%d/latest/meta-data/",
    "http://[fe80::1]:%d/hook",
    "http://10.0.0.1:%d/hook",
    "http://172.16.0.1:%d/hook",
    "http://192.168.0.1:%d/hook",
    "http://100.64.0.1:%d/hook",
    "http://224.0.0.1:%d/hook",
    "https://[fc00::1]:%d/hook",
]


def loopback_name():
    """A name other than localhost that this machine resolves to a loopback
    address (its own host name, from /etc/hosts), or None."""
    name = socket.gethostname()
    try:
        addrs = {ai[4][0] for ai in socket.getaddrinfo(name, 80, socket.AF_INET)}
    except OSError:
        return None
    if name and addrs and all(a.startswith("127.") for a in addrs):
        return name
    return None


def tried_once_each(s, n):
    """{subscription_id: delivery} once there are n deliveries, each
    attempted at least once; None before."""
    ds = deliveries(s)
    return len(ds) == n and all(d["attempts"] for d in ds) and \
        {d["subscription_id"]: d for d in ds}


def first_attempt(d):
    """(status, outcome, http_status) of a delivery's first attempt."""
    x = d["attempts"][0]
    return (d["status"], x["outcome"], x.get("http_status"))


def post_sub(s, org_id, target):
    return s.post("/v1/subscriptions", {"org_id": org_id, "events": ["organization.updated"],
                                        "channel": "webhook", "target": target})


def test_refused_at_creation():
    rx = Receiver(answer=lambda n: 401)
    try:
        with Stack(env=NO_ALLOW) as s:
            org = s.org()
            for t in REFUSED_TARGETS:
                r = post_sub(s, org["id"], t % rx.port)
                assert r.status == 422, (t, r)
                errs = r.json()["errors"]
                assert [e["pointer"] for e in errs] == ["/target"], (t, errs)
                assert errs[0]["detail"].startswith("must not point to an internal address ("), errs
            assert s.get("/v1/subscriptions").json()["items"] == []
            # A public name passes: it is judged when it is resolved.
            subscribe(s, org["id"], "https://hooks.example.org/in")
            s.patch("/v1/organizations/" + org["id"], {"name": "Bezirksamt Mitte (neu)"})
            wait_for(lambda: any(d["attempts"] for d in deliveries(s)), what="an attempt", s=s)
        assert rx.count == 0
    finally:
        rx.close()


def test_resolved_loopback_never_connected():
    """A name that resolves to loopback (as a rebinding name would at the
    moment of sending) gets nothing, and an open port answering 401 and a
    closed port look alike in the tenant's log."""
    name = loopback_name()
    if not name:
        print("  skipped: no host name that resolves to loopback here")
        return
    rx = Receiver(answer=lambda n: 401)
    closed = free_port()
    try:
        with Stack(env=NO_ALLOW) as s:
            org = s.org()
            coord = s.token("coordinator", [org["id"]])
            open_sub = subscribe(s, org["id"], "http://%s:%d/hooks" % (name, rx.port),
                                 token=coord)
            closed_sub = subscribe(s, org["id"], "http://%s:%d/hooks" % (name, closed),
                                   token=coord)
            s.patch("/v1/organizations/" + org["id"], {"name": "Bezirksamt Mitte (neu)"})
            by = wait_for(lambda: tried_once_each(s, 2), what="an attempt each", s=s)
            a, b = by[open_sub["id"]], by[closed_sub["id"]]
            assert first_attempt(a) == first_attempt(b) == \
                ("pending", "connect_failed", None), (a, b)
            r = s.get("/v1/deliveries?subscription_id=" + open_sub["id"], token=coord)
            assert r.status == 200 and r.json()["items"][0]["attempts"][0]["outcome"] == \
                "connect_failed", r
            logs = s.logs()
            assert "refused to connect to 127." in logs and "loopback" in logs, logs[-3000:]
        assert rx.count == 0, rx.count
    finally:
        rx.close()


def test_checked_again_at_connect_time():
    """Subscriptions made while the operator allowed loopback are refused at
    connect time once the allowance is gone (this needs no name that
    resolves to loopback): nothing is sent, and the open port answering 401
    and the closed port look alike."""
    rx = Receiver(answer=lambda n: 401)
    closed = free_port()
    d = tempfile.mkdtemp(prefix="wh-ssrf-")
    try:
        with Stack(env={"WH_WEBHOOK_ALLOW": "127.0.0.1/32"}, data_dir=d) as s:
            org = s.org()
            open_sub = subscribe(s, org["id"], "http://127.0.0.1:%d/hooks" % rx.port)
            closed_sub = subscribe(s, org["id"], "http://127.0.0.1:%d/hooks" % closed)
        with Stack(env=NO_ALLOW, data_dir=d) as s:
            s.patch("/v1/organizations/" + org["id"], {"name": "Bezirksamt Mitte (neu)"},
                    headers={"X-Request-Id": "rename-mitte"})
            by = wait_for(lambda: tried_once_each(s, 2), what="an attempt each", s=s)
            assert first_attempt(by[open_sub["id"]]) == first_attempt(by[closed_sub["id"]]) == (
                "pending", "connect_failed", None), by
            logs = s.logs()
            assert "refused to connect to 127.0.0.1, a loopback address" in logs
            # The operator finds each refusal under the request that caused it.
            lines = [json.loads(x) for x in logs.splitlines() if "refused to connect" in x]
            assert len(lines) >= 2 and all(x["request_id"] == "rename-mitte" for x in lines), \
                lines
        assert rx.count == 0, rx.count
    finally:
        rx.close()
        shutil.rmtree(d, ignore_errors=True)


def test_allowed_ranges_deliver():
    """The operator's WH_WEBHOOK_ALLOW lets loopback receivers in (the test
    stacks' default), in IPv4-mapped form too; other ranges stay refused."""
    rx = Receiver()
    try:
        with Stack(env={"WH_WEBHOOK_ALLOW": "127.0.0.1/32"}) as s:
            org = s.org()
            sub = subscribe(s, org["id"], rx.url)
            rx.secret = sub["secret"]
            r = post_sub(s, org["id"], "http://[::ffff:127.0.0.1]:%d/x" % rx.port)
            assert r.status == 201, r
            for t in ("http://127.0.0.2:%d/", "http://169.254.169.254:%d/", "http://0.0.0.0:%d/"):
                r = post_sub(s, org["id"], t % rx.port)
                assert r.status == 422, (t, r)
            s.patch("/v1/organizations/" + org["id"], {"name": "Bezirksamt Mitte (neu)"})
            wait_for(lambda: len(rx.got) >= 1, what="the webhook", s=s)
    finally:
        rx.close()


def test_redirects_not_followed():
    """A receiver cannot send the delivery elsewhere: a redirect is an
    outcome, never followed (here even to an allowed address)."""
    target = Receiver()
    srv = serve_posts(lambda h, body: reply(h, 307, [("Location", target.url)]))
    try:
        with Stack() as s:
            org = s.org()
            subscribe(s, org["id"], "http://127.0.0.1:%d/hook" % srv.server_address[1])
            s.patch("/v1/organizations/" + org["id"], {"name": "Bezirksamt Mitte (neu)"})
            d = wait_for(lambda: [x for x in deliveries(s) if x["attempts"]],
                         what="an attempt", s=s)
            a = d[0]["attempts"][0]
            assert (a["outcome"], a["http_status"]) == ("redirect", 307), d
        assert target.count == 0
    finally:
        stop_http(srv)
        target.close()


def test_bad_allow_list_stops_the_service():
    """A WH_WEBHOOK_ALLOW that does not parse is an operator error: the
    service says so and does not start, rather than guess."""
    s = Stack(env={"WH_WEBHOOK_ALLOW": "10.0.0.0/33"}, services=("notifications",))
    try:
        rc, err = s.refused_start("notifications")
        assert rc != 0, rc
        assert b"WH_WEBHOOK_ALLOW" in err, err
    finally:
        shutil.rmtree(s.data_dir, ignore_errors=True)


if __name__ == "__main__":
    run([test_refused_at_creation, test_resolved_loopback_never_connected,
         test_checked_again_at_connect_time,
         test_allowed_ranges_deliver, test_redirects_not_followed,
         test_bad_allow_list_stops_the_service])
