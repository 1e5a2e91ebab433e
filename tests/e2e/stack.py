"""Start the real workhealth stack on loopback in a temporary data directory.

Used by every end-to-end test: ``with Stack() as s:`` starts the gateway and
the four services from $WH_BIN_DIR (the CMake build directory), waits for
/readyz, and on exit stops every process it started and removes the data
directory. Each stack gets its own free port and data directory, so tests
can run in parallel. Only the standard library is used; run with
/usr/bin/python3.
"""

import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SERVICES = ("agreements", "surveys", "screening", "notifications")
ADMIN_TOKEN = "e2e-admin-token-0123456789"


def _die_with_parent():
    """Runs in the child before exec: the kernel kills it when the test
    process dies, even by SIGKILL from a test runner's timeout, so no stack
    outlives its test. The signal follows the forking thread, so start
    processes from the main thread, not from a worker thread that ends."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Stack:
    def __init__(self, env=None, services=SERVICES, now=None, data_dir=None):
        self.bin_dir = os.environ.get("WH_BIN_DIR", os.path.join(os.getcwd(), "build"))
        self.extra_env = dict(env or {})
        self.services = services
        self.now = now
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="wh-e2e-")
        self.port = free_port()
        self.procs = {}
        self.admin = ADMIN_TOKEN

    # -- processes -------------------------------------------------------
    def env(self):
        e = dict(os.environ)
        e.update({
            "WH_DATA_DIR": self.data_dir,
            "WH_HTTP_ADDR": "127.0.0.1:%d" % self.port,
            "WH_ADMIN_TOKEN": ADMIN_TOKEN,
            "WH_LOG_LEVEL": "info",
            "WH_WEBHOOK_ALLOW": "127.0.0.1/32",  # test receivers listen on loopback
        })
        if self.now:
            e["WH_NOW"] = self.now
        e.update(self.extra_env)
        return e

    def start_process(self, name, key=None, env=None):
        """Start wh-<name> under `key` (default: name); `env` adds variables
        for this process only."""
        key = key or name
        e = self.env()
        e.update(env or {})
        with open(os.path.join(self.data_dir, key + ".log"), "ab") as log:
            p = subprocess.Popen([os.path.join(self.bin_dir, "wh-" + name)], env=e,
                                 stdout=log, stderr=log, preexec_fn=_die_with_parent)
        self.procs[key] = p
        return p

    def kill(self, key, sig=signal.SIGKILL):
        p = self.procs.pop(key)
        p.send_signal(sig)
        p.wait(timeout=10)

    def __enter__(self):
        # __exit__ does not run when __enter__ raises: a stack that fails to
        # come up is stopped here, or its processes would outlive the test.
        try:
            self.start()
        except BaseException:
            self.stop()
            sys.stderr.write(self.logs())
            if self.own_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)
            raise
        return self

    def start(self, wait_ready=True):
        self.start_process("gateway")
        for s in self.services:
            self.start_process(s)
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout=10.0, want=None):
        """Wait until /readyz shows every wanted service with >= 1 instance
        (or exactly `want` instances per service when given as a dict)."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                r = self.get("/readyz", token=None)
                last = r
                svc = r.json().get("services", {})
                if want:
                    if all(svc.get(k) == v for k, v in want.items()):
                        return r
                elif all(svc.get(s, 0) >= 1 for s in self.services):
                    return r
            except (OSError, ValueError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise AssertionError("stack not ready: %r\n%s" % (last, self.logs()))

    def stop(self):
        for key, p in list(self.procs.items()):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for key, p in list(self.procs.items()):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if exc_type is not None:
            sys.stderr.write(self.logs())
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return False

    def logs(self):
        out = []
        for f in sorted(os.listdir(self.data_dir)):
            if f.endswith(".log"):
                with open(os.path.join(self.data_dir, f), errors="replace") as fh:
                    out.append("--- %s\n%s" % (f, fh.read()[-4000:]))
        return "\n".join(out)

    # -- HTTP ------------------------------------------------------------
    def request(self, method, path, body=None, token="admin", headers=None, raw=None,
                timeout=15):
        h = {}
        if token == "admin":
            token = self.admin
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- fixtures ----------------------------------------------------------
    def org(self, name="Bezirksamt Mitte", kind="employer", employees=1600, **extra):
        body = {"name": name, "kind": kind, "employees": employees}
        body.update(extra)
        r = self.post("/v1/organizations", body)
        assert r.status == 201, r
        return r.json()

    def token(self, role, org_ids, label="test"):
        r = self.post("/v1/tokens", {"role": role, "org_ids": org_ids, "label": label})
        assert r.status == 201, r
        return r.json()["token"]


def raw_http(port, data, read_timeout=5.0, shutdown=False):
    """Send raw bytes and read until the server closes or read_timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    try:
        s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


def run(tests):
    """Run test functions, print a summary, exit non-zero on any failure."""
    failed = 0
    for t in tests:
        start = time.time()
        try:
            t()
            print("ok   %s (%.2fs)" % (t.__name__, time.time() - start))
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            import traceback
            traceback.print_exc()
            print("FAIL %s: %s" % (t.__name__, e))
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
