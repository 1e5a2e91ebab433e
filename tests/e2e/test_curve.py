"""The broker link over tcp is CurveZMQ with a ZAP allow-list: a stack over
CURVE works with generated keys and with keys given by environment; a peer
with no key or an unknown key cannot connect, so it can neither register as
a service, nor receive a request, nor inject a request; a listed key admits
registration only as the service it is listed for; and tcp without keys is
refused at start unless WH_BROKER_INSECURE=1."""

import os
import stat
import tempfile
import shutil
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

from stack import Stack, free_port, run

VERSION = b"\x01"
SVC = {"agreements": 1, "surveys": 2, "screening": 3, "notifications": 4}


class CurveStack(Stack):
    """Starts the services once the gateway has written its public key."""

    def start(self, wait_ready=True):
        self.start_process("gateway")
        path = os.path.join(self.data_dir, "curve", "broker.pub")
        deadline = time.time() + 15
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.02)
        for s in self.services:
            self.start_process(s)
        if wait_ready:
            self.wait_ready()


def tcp_env(port):
    ep = "tcp://127.0.0.1:%d" % port
    return {"WH_BROKER_BIND": ep, "WH_BROKER_CONNECT": ep}


def read_key(path):
    with open(path) as f:
        return f.read().strip()


class Peer:
    """A raw DEALER on the broker's endpoint that claims to be `name`:
    heartbeats as it and asks the broker to forward a request."""

    def __init__(self, ctx, ep, name, server_key=None, keypair=None):
        self.name = name.encode()
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        if server_key:
            pub, sec = keypair
            self.sock.curve_serverkey = server_key.encode()
            self.sock.curve_publickey = pub
            self.sock.curve_secretkey = sec
        self.mon = self.sock.get_monitor_socket()
        self.sock.connect(ep)

    def poke(self):
        # One frame each: [version, command, target, correlation (8)] + payload.
        self.sock.send(VERSION + b"H\0" + b"\0" * 8 + self.name, zmq.NOBLOCK)
        target = bytes([SVC["notifications"]])
        self.sock.send(VERSION + b"Q" + target + b"\x07" * 8 + b"\x80", zmq.NOBLOCK)

    def wait_event(self, wanted, timeout=15):
        """Pokes until a monitor event in `wanted` arrives; returns it."""
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            try:
                self.poke()
            except zmq.Again:
                pass
            if self.mon.poll(100):
                ev = recv_monitor_message(self.mon)["event"]
                seen.append(ev)
                if ev in wanted:
                    return ev
        raise AssertionError("no %r among monitor events %r" % (wanted, seen))

    def received(self):
        out = []
        while self.sock.poll(0):
            out.append(self.sock.recv_multipart())
        return out

    def close(self):
        self.sock.disable_monitor()
        self.mon.close()
        self.sock.close()


FAILED = {zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
          zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_DISCONNECTED}


def wait_log(st, key, text, timeout=15):
    deadline = time.time() + timeout
    path = os.path.join(st.data_dir, key + ".log")
    while time.time() < deadline:
        with open(path, errors="replace") as f:
            if text in f.read():
                return
        time.sleep(0.05)
    raise AssertionError("%r not in %s's log\n%s" % (text, key, st.logs()))


def test_curve_stack_and_refused_peers():
    port = free_port()
    ep = "tcp://127.0.0.1:%d" % port
    with CurveStack(env=tcp_env(port)) as st:
        o = st.org(name="Over CURVE")
        assert st.get("/v1/organizations/" + o["id"]).json()["name"] == "Over CURVE"
        keys = os.path.join(st.data_dir, "curve")
        for f in ["broker.key", "broker.pub"] + [s + ".key" for s in SVC] + \
                 [s + ".pub" for s in SVC]:
            mode = stat.S_IMODE(os.stat(os.path.join(keys, f)).st_mode)
            assert mode == 0o600, (f, oct(mode))
        broker_pub = read_key(os.path.join(keys, "broker.pub"))

        ctx = zmq.Context()
        peers = []
        try:
            # The real agreements goes: a registered impostor would get its requests.
            st.kill("agreements", sig=15)
            st.wait_ready(want={"agreements": 0})

            no_key = Peer(ctx, ep, "agreements")
            unknown = Peer(ctx, ep, "agreements", broker_pub, zmq.curve_keypair())
            peers += [no_key, unknown]
            assert no_key.wait_event(FAILED) in FAILED
            assert unknown.wait_event({zmq.EVENT_HANDSHAKE_FAILED_AUTH}) \
                == zmq.EVENT_HANDSHAKE_FAILED_AUTH
            wait_log(st, "gateway", "refused a peer on the broker socket")

            # A listed key (surveys') connects, but does not admit registration
            # as another service.
            sv_sec = read_key(os.path.join(keys, "surveys.key")).encode()
            sv_pub = zmq.curve_public(sv_sec)
            other = Peer(ctx, ep, "agreements", broker_pub, (sv_pub, sv_sec))
            peers.append(other)
            assert other.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED}) == \
                zmq.EVENT_HANDSHAKE_SUCCEEDED
            other.poke()
            wait_log(st, "gateway", "does not admit it as the service it names")

            r = st.get("/v1/organizations")
            assert r.status == 503, r
            assert st.get("/readyz", token=None).json()["services"]["agreements"] == 0
            # The forwarded request of the admitted peer is answered (by the
            # broker or the service); the refused peers never get a frame.
            deadline = time.time() + 15
            got = []
            while not got and time.time() < deadline:
                other.poke()
                if other.sock.poll(100):
                    got = other.received()
            assert got and all(len(m) == 1 and m[0][:2] == VERSION + b"A" for m in got), got
            assert no_key.received() == [] and unknown.received() == []
        finally:
            for p in peers:
                p.close()
            ctx.term()
        st.start_process("agreements")
        st.wait_ready()
        assert st.get("/v1/organizations/" + o["id"]).status == 200


def test_keys_from_environment():
    """Containers: every key given by environment, no key directory shared."""
    port = free_port()
    b_pub, b_sec = zmq.curve_keypair()
    pairs = {s: zmq.curve_keypair() for s in SVC}
    allowed = " ".join("%s:%s" % (s, p.decode()) for s, (p, _) in pairs.items())
    st = Stack(env=tcp_env(port))
    try:
        st.start_process("gateway", env={"WH_CURVE_SECRET_KEY": b_sec.decode(),
                                         "WH_CURVE_ALLOWED_KEYS": allowed,
                                         "WH_CURVE_DIR": os.path.join(st.data_dir, "gw")})
        for s, (_, sec) in pairs.items():
            st.start_process(s, env={"WH_CURVE_SECRET_KEY": sec.decode(),
                                     "WH_BROKER_PUBLIC_KEY": b_pub.decode(),
                                     "WH_CURVE_DIR": os.path.join(st.data_dir, s)})
        st.wait_ready()
        o = st.org(name="Env keys")
        assert st.get("/v1/organizations/" + o["id"]).status == 200
        # Nothing was generated: the keys came from the environment.
        assert not os.path.exists(os.path.join(st.data_dir, "curve"))
        # A service whose key is not in the list never registers.
        st.start_process("surveys", key="surveys-2",
                         env={"WH_BROKER_PUBLIC_KEY": b_pub.decode(),
                              "WH_CURVE_DIR": os.path.join(st.data_dir, "s2")})
        wait_log(st, "gateway", "refused a peer on the broker socket")
        assert st.get("/readyz", token=None).json()["services"]["surveys"] == 1
    finally:
        st.stop()
        shutil.rmtree(st.data_dir, ignore_errors=True)


def test_tcp_without_keys_refused_unless_insecure():
    port = free_port()
    st = Stack(env=tcp_env(port))
    try:
        rc, err = st.refused_start("agreements")
        assert rc != 0 and b"WH_BROKER_PUBLIC_KEY" in err, (rc, err)
        # Its own pair is there to be listed, even though it did not start.
        assert os.path.exists(os.path.join(st.data_dir, "curve", "agreements.pub"))
        bad = Stack(env=dict(tcp_env(port), WH_CURVE_SECRET_KEY="short"), data_dir=st.data_dir)
        rc, err = bad.refused_start("gateway")
        assert rc != 0 and b"WH_CURVE_SECRET_KEY" in err, (rc, err)
    finally:
        shutil.rmtree(st.data_dir, ignore_errors=True)
    with Stack(env=dict(tcp_env(free_port()), WH_BROKER_INSECURE="1")) as st:
        assert st.org(name="Plain tcp")["name"] == "Plain tcp"
        assert not os.path.exists(os.path.join(st.data_dir, "curve"))


if __name__ == "__main__":
    run([test_curve_stack_and_refused_peers, test_keys_from_environment,
         test_tcp_without_keys_refused_unless_insecure])
