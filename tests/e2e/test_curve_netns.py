"""Two hosts in network namespaces this test creates, joined by a veth pair:
the gateway in one, the four services in the other, each side with its own
data directory and keys given by environment. Every client runs inside a
namespace. The stack works over CURVE; a service with a key not listed, or
given the wrong broker key, fails closed: it never registers. Needs root
(ip netns); skipped otherwise."""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import zmq

from stack import ADMIN_TOKEN, SERVICES, run

BIN = os.environ.get("WH_BIN_DIR", os.path.join(os.getcwd(), "build"))


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Hosts:
    def __init__(self):
        tag = "%d%d" % (os.getpid() % 10000, random.randrange(100))
        self.gw, self.svc = "whgw" + tag, "whsv" + tag
        self.net = "10.%d.%d" % (random.randrange(64, 250), random.randrange(1, 250))
        self.dir = tempfile.mkdtemp(prefix="wh-netns-")
        self.procs = []

    def __enter__(self):
        sh("ip", "netns", "add", self.gw)
        sh("ip", "netns", "add", self.svc)
        a, b = "vg" + self.gw[4:], "vs" + self.gw[4:]
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        sh("ip", "link", "set", a, "netns", self.gw)
        sh("ip", "link", "set", b, "netns", self.svc)
        for ns, dev, ip in ((self.gw, a, 1), (self.svc, b, 2)):
            sh("ip", "-n", ns, "addr", "add", "%s.%d/24" % (self.net, ip), "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if exc[0] is not None:
            sys.stderr.write(self.logs())
        for ns in (self.gw, self.svc):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def start(self, ns, name, key, env):
        data = os.path.join(self.dir, key)
        os.makedirs(data, exist_ok=True)
        e = dict(os.environ, WH_DATA_DIR=data, WH_LOG_LEVEL="info", **env)
        log = open(os.path.join(self.dir, key + ".log"), "ab")
        p = subprocess.Popen(["ip", "netns", "exec", ns, os.path.join(BIN, "wh-" + name)],
                             env=e, stdout=log, stderr=log)
        log.close()
        self.procs.append(p)
        return p

    def logs(self):
        out = []
        for f in sorted(os.listdir(self.dir)):
            if f.endswith(".log"):
                with open(os.path.join(self.dir, f), errors="replace") as fh:
                    out.append("--- %s\n%s" % (f, fh.read()[-3000:]))
        return "\n".join(out)

    def http(self, method, path, body=None):
        """curl inside the gateway's namespace; (status, body)."""
        cmd = ["ip", "netns", "exec", self.gw, "curl", "-s", "-o", "-", "-w", "\n%{http_code}",
               "-X", method, "-H", "Authorization: Bearer " + ADMIN_TOKEN,
               "http://127.0.0.1:8080" + path]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data", body]
        r = subprocess.run(cmd, capture_output=True, timeout=30)
        text = r.stdout.decode()
        head, _, code = text.rpartition("\n")
        return int(code or 0), head

    def wait_services(self, want, timeout=20):
        import json
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            code, body = self.http("GET", "/readyz")
            try:
                last = json.loads(body).get("services", {})
            except ValueError:
                last = None
            if last and all(last.get(k) == v for k, v in want.items()):
                return
            time.sleep(0.1)
        raise AssertionError("services %r, wanted %r\n%s" % (last, want, self.logs()))

    def wait_log(self, key, text, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(os.path.join(self.dir, key + ".log"), errors="replace") as f:
                if text in f.read():
                    return
            time.sleep(0.05)
        raise AssertionError("%r not in %s's log\n%s" % (text, key, self.logs()))


def test_two_hosts_over_curve():
    if os.geteuid() != 0:
        print("skip: network namespaces need root")
        return
    b_pub, b_sec = zmq.curve_keypair()
    pairs = {s: zmq.curve_keypair() for s in SERVICES}
    allowed = " ".join("%s:%s" % (s, p.decode()) for s, (p, _) in pairs.items())
    with Hosts() as h:
        ep = "tcp://%s.1:5555" % h.net
        h.start(h.gw, "gateway", "gateway", {
            "WH_HTTP_ADDR": "127.0.0.1:8080", "WH_ADMIN_TOKEN": ADMIN_TOKEN,
            "WH_BROKER_BIND": ep, "WH_CURVE_SECRET_KEY": b_sec.decode(),
            "WH_CURVE_ALLOWED_KEYS": allowed})
        for s, (_, sec) in pairs.items():
            h.start(h.svc, s, s, {"WH_BROKER_CONNECT": ep, "WH_CURVE_SECRET_KEY": sec.decode(),
                                  "WH_BROKER_PUBLIC_KEY": b_pub.decode()})
        h.wait_services({s: 1 for s in SERVICES})
        code, body = h.http("POST", "/v1/organizations",
                            '{"name":"Across hosts","kind":"employer","employees":10}')
        assert code == 201, (code, body)

        # The real agreements goes; two impostors try to take its place.
        h.procs[1].send_signal(signal.SIGTERM)
        h.procs[1].wait(timeout=10)
        h.wait_services({"agreements": 0})
        other_pub, other_sec = zmq.curve_keypair()
        h.start(h.svc, "agreements", "unlisted", {
            "WH_BROKER_CONNECT": ep, "WH_CURVE_SECRET_KEY": other_sec.decode(),
            "WH_BROKER_PUBLIC_KEY": b_pub.decode()})
        h.wait_log("gateway", "refused a peer on the broker socket")
        wrong_broker, _ = zmq.curve_keypair()
        h.start(h.svc, "agreements", "wrong-broker-key", {
            "WH_BROKER_CONNECT": ep, "WH_CURVE_SECRET_KEY": pairs["agreements"][1].decode(),
            "WH_BROKER_PUBLIC_KEY": wrong_broker.decode()})
        h.wait_log("wrong-broker-key", "serving")
        # Both run, neither registered: requests for agreements are refused.
        code, _ = h.http("GET", "/v1/organizations")
        assert code == 503, code
        h.wait_services({"agreements": 0, "surveys": 1})
        assert all(p.poll() is None for p in h.procs[-2:])


if __name__ == "__main__":
    run([test_two_hosts_over_curve])
