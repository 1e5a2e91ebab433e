"""Start the real workhealth stack on loopback in a temporary data directory.

Used by every end-to-end test: ``with Stack() as s:`` starts the gateway and
the four services from $WH_BIN_DIR (the CMake build directory), waits for
/readyz, and on exit stops every process it started and removes the data
directory. Each stack gets its own free port and data directory, so tests
can run in parallel. Besides the standard library only Debian's
python3-msgpack is used (to read the events the services store); run with
/usr/bin/python3.

The helpers every kind of test needs live here too: wait_for (a test waits
for a condition, never for a time), read-only looks into a service's store
(db, query), the events a service emitted (events), and the pointers of a
422 (pointers). Fixtures of one domain (organisations, tokens, request
bodies) are in agreementlib.py, surveylib.py and screeninglib.py.

Leaving the stack also judges every process it started: the test fails when
a process died without being asked (a crash mid-test is caught even when
nothing queried that service again), exited non-zero after SIGTERM (under
AddressSanitizer a leak exits 23), died by a signal the test did not send,
wrote a sanitizer report into its log, or wrote a line that is not a JSON
log line (docs/ARCHITECTURE.md, "Logs"). A test that means a process to
end by itself says so with expect_exit().
"""

import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import msgpack

import openapi_check

# Every check in these tests is an assert statement, which python -O and
# PYTHONOPTIMIZE remove without a word: refuse to run at all then.
if sys.flags.optimize:
    sys.stderr.write("refusing to run: Python optimisation (-O or PYTHONOPTIMIZE) "
                     "removes every assert of the tests\n")
    sys.exit(2)

SERVICES = ("agreements", "surveys", "screening", "notifications")
# What AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer write
# when they find something; no service logs these words otherwise.
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:")
LOG_TAIL_LINES = 40
# What a process logs once its SIGTERM handler is in place: before that,
# SIGTERM ends it by the default action, which is no fault of its own.
READY_MARKS = ("serving; broker", "listening on")


def _signal_name(n):
    try:
        return signal.Signals(n).name
    except ValueError:
        return "signal %d" % n


def _not_log_line(text, service):
    """The first line of text that is not one JSON log line of service
    ({time, level, service, request_id?, msg}), or None. A last line without
    its newline (a process killed while writing) is not judged."""
    for line in text.split("\n")[:-1]:
        try:
            rec = json.loads(line)
        except ValueError:
            return line
        if not (isinstance(rec, dict) and rec.get("service") == service and
                {"time", "level", "msg"} <= set(rec) <=
                {"time", "level", "service", "request_id", "msg"}):
            return line
    return None


class _Proc:
    """One process the stack started, with what the test did to it."""

    def __init__(self, key, popen, log_path):
        self.key = key
        self.popen = popen
        self.log_path = log_path
        self.log_offset = os.path.getsize(log_path)  # its part of the shared log
        self.hung = False           # killed after not stopping on SIGTERM
        self.sent = set()           # signals the test sent
        self.expected_exit = None   # exit codes the test allows without a signal
        self.died_unasked = None    # exit status seen before the stack stopped it
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


def serve_http(handler, port=0):
    """A threaded HTTP server for handler on a loopback port (0: a free
    one), serving in the background until stop_http."""
    from http.server import ThreadingHTTPServer
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_posts(on_post, port=0):
    """serve_http with a handler that reads each POST's body and calls
    on_post(handler, body), which answers (with reply(), say)."""
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            on_post(self, self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def log_message(self, *args):
            pass
    return serve_http(Handler, port)


def reply(h, status, headers=(), body=b""):
    """Answers the request of handler h."""
    h.send_response(status)
    for k, v in headers:
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def stop_http(server):
    server.shutdown()
    server.server_close()


def _tail(text, n=LOG_TAIL_LINES):
    lines = text.splitlines()[-n:]
    return "\n".join("    " + line for line in lines) if lines else "    (empty)"


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
    def __init__(self, env=None, services=SERVICES, now=None, data_dir=None, bin_dir=None):
        self.bin_dir = bin_dir or os.environ.get("WH_BIN_DIR",
                                                 os.path.join(os.getcwd(), "build"))
        self.extra_env = dict(env or {})
        self.services = services
        self.now = now
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="wh-e2e-")
        self.port = free_port()
        self.procs = {}
        self.started = []  # every _Proc, including those killed and replaced
        self.admin = ADMIN_TOKEN
        self.checked = False

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
        log_path = os.path.join(self.data_dir, key + ".log")
        with open(log_path, "ab") as log:
            entry = _Proc(key, None, log_path)
            p = subprocess.Popen([os.path.join(self.bin_dir, "wh-" + name)], env=e,
                                 stdout=log, stderr=log, preexec_fn=_die_with_parent)
        entry.popen = p
        entry.name = name
        self.procs[key] = p
        self.started.append(entry)
        return p

    def refused_start(self, name, timeout=20):
        """Runs wh-<name> alone with this stack's environment, expecting it to
        refuse to start (a configuration it must not run with); returns its
        exit status and what it wrote to stderr. Fails if it keeps running."""
        p = subprocess.Popen([os.path.join(self.bin_dir, "wh-" + name)], env=self.env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             preexec_fn=_die_with_parent)
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise AssertionError("wh-%s kept running with %r" % (name, self.extra_env))
        return p.returncode, err

    def _entry(self, p):
        for e in self.started:
            if e.popen is p:
                return e
        raise KeyError(p)

    def send(self, key, sig):
        """Send sig to the process under key and remember that the test sent
        it, so that dying by it is not a failure (SIGTERM must still end in
        exit status 0)."""
        p = self.procs[key]
        self._entry(p).sent.add(sig)
        p.send_signal(sig)

    def kill(self, key, sig=signal.SIGKILL):
        """Stop the process under key with sig and wait for it. Its exit is
        judged when the stack stops, like every other process's."""
        name = getattr(self._entry(self.procs[key]), "name", key)
        before = self._instances(name) if key != "gateway" else None
        self.send(key, sig)
        p = self.procs.pop(key)
        p.wait(timeout=10)
        # Until the gateway has noticed: otherwise a wait_ready after a
        # restart could count the dead instance and return at once.
        deadline = time.time() + 5
        while before and time.time() < deadline:
            n = self._instances(name)
            if n is None or n < before:
                break
            time.sleep(0.02)

    def _instances(self, name):
        """Instances of service name the gateway counts; None when it cannot
        be asked."""
        if "gateway" not in self.procs:
            return None
        try:
            return self.get("/readyz", token=None, timeout=2).json().get(
                "services", {}).get(name, 0)
        except Exception:
            return None

    def expect_exit(self, key, *codes):
        """The process under key is meant to end by itself with one of
        codes (for a test of a refused configuration, say)."""
        self._entry(self.procs[key]).expected_exit = set(codes)

    def problems(self):
        """What went wrong with the processes this stack started, each with
        the tail of its log; [] when nothing did. Call after they ended."""
        out = []
        for e in self.started:
            rc = e.popen.returncode
            own_log = self._own_log(e)
            what = None
            if rc is None:
                what = "is still running"
            elif e.hung:
                what = "did not stop within 10 s of SIGTERM and was killed"
            elif e.expected_exit is not None:
                if rc not in e.expected_exit:
                    what = "exited with %d, the test expected %s" % (
                        rc, " or ".join(str(c) for c in sorted(e.expected_exit)))
            elif rc < 0 and -rc in (signal.SIGTERM, signal.SIGINT):
                if any(m in own_log for m in READY_MARKS):
                    what = "died by %s instead of stopping cleanly" % _signal_name(-rc)
            elif rc < 0 and -rc not in e.sent:
                what = "died by %s, which the test did not send" % _signal_name(-rc)
            elif rc > 0:
                what = "exited with %d" % rc
            elif e.died_unasked is not None and not e.sent:
                what = "exited by itself in the middle of the test"
            if what:
                out.append("wh-%s (%s, pid %d) %s; its log ends:\n%s" % (
                    e.name, e.key, e.popen.pid, what, _tail(own_log)))
            lines = own_log.splitlines()
            hits = [i for i, line in enumerate(lines) if any(m in line for m in SANITIZER_MARKS)]
            if hits:
                out.append("wh-%s (%s, pid %d) wrote a sanitizer report:\n%s" % (
                    e.name, e.key, e.popen.pid,
                    "\n".join("    " + line
                              for line in lines[max(0, hits[0] - 1):hits[0] + LOG_TAIL_LINES])))
            else:
                bad = _not_log_line(own_log, e.name)
                if bad is not None:
                    out.append("wh-%s (%s, pid %d) wrote a line that is not a JSON log line "
                               "(docs/ARCHITECTURE.md, \"Logs\"):\n    %r" % (
                                   e.name, e.key, e.popen.pid, bad[:500]))
        return out

    def _own_log(self, e):
        """The part of the (shared, appended) log file that process wrote."""
        try:
            with open(e.log_path, "rb") as fh:
                fh.seek(e.log_offset)
                data = fh.read()
        except OSError:
            return ""
        # The next process under the same key appends after this one ended.
        later = [x.log_offset for x in self.started[self.started.index(e) + 1:]
                 if x.log_path == e.log_path]
        if later:
            data = data[:later[0] - e.log_offset]
        return data.decode(errors="replace")


    def __enter__(self):
        # __exit__ does not run when __enter__ raises: a stack that fails to
        # come up is stopped here, or its processes would outlive the test.
        try:
            self.start()
        except BaseException:
            self.stop(check=False)
            sys.stderr.write(self.logs())
            for line in self.problems():
                sys.stderr.write(line + "\n")
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
        dead = ["%s exited with %d" % (k, p.returncode) for k, p in self.procs.items()
                if p.poll() is not None]
        raise AssertionError("stack not ready: %r %s\n%s" % (last, dead, self.logs()))

    def wait_serving(self, key, timeout=10.0):
        """Wait until the process under key has logged that it serves (its
        signal handlers are in place by then). After a restart, wait_ready
        may still count the instance that was killed."""
        e = self._entry(self.procs[key])
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(m in self._own_log(e) for m in READY_MARKS):
                return
            self.check_alive()
            time.sleep(0.02)
        raise AssertionError("%s not serving after %.0f s\n%s" % (key, timeout, self.logs()))

    def check_alive(self):
        """Fail now if a process the stack runs has ended (a crash that a
        test would otherwise only see when the stack stops)."""
        dead = [(k, p.returncode) for k, p in self.procs.items() if p.poll() is not None]
        if dead:
            raise AssertionError("ended during the test: %s\n%s" % (
                ", ".join("%s (%s)" % (k, _signal_name(-rc) if rc < 0 else "exit %d" % rc)
                          for k, rc in dead), self.logs()))

    def stop(self, check=True):
        """SIGTERM every process still running and wait for each; then,
        with check, raise AssertionError listing every process that did
        not end well (see problems())."""
        for e in self.started:
            rc = e.popen.poll()
            if rc is not None and e.died_unasked is None and e.popen in self.procs.values():
                e.died_unasked = rc
        for key, p in list(self.procs.items()):
            if p.poll() is None:
                self._entry(p).sent.add(signal.SIGTERM)
                p.send_signal(signal.SIGTERM)
        for e in self.started:
            try:
                e.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                e.popen.kill()
                e.popen.wait()
                e.hung = True
        self.procs.clear()
        if check and not self.checked:
            self.checked = True
            found = self.problems()
            if found:
                raise AssertionError("processes of the stack did not end well:\n" +
                                     "\n".join(found))

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop(check=exc_type is None)
        finally:
            if exc_type is not None:
                sys.stderr.write(self.logs())
                for line in self.problems():
                    sys.stderr.write(line + "\n")
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
            resp = Response(r.status, r.getheaders(), r.read())
        finally:
            c.close()
        self.check_contract(method, path, resp)
        return resp

    def check_contract(self, method, path, resp):
        """Every response the suite receives must be one the served OpenAPI
        document describes (tests/e2e/openapi_check.py). The document is
        fetched once per process, from the first gateway that serves it."""
        if openapi_check.document() is None:
            try:
                openapi_check.load(self.port)
            except (OSError, http.client.HTTPException, openapi_check.Mismatch):
                return  # not serving yet, or going away; a later response is checked
        openapi_check.check(method, path, resp.status, resp.headers, resp.body)

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

    def new_token(self, role, org_ids, label="test"):
        """A new token as the admin API returns it (id, token, role...)."""
        r = self.post("/v1/tokens", {"role": role, "org_ids": org_ids, "label": label})
        assert r.status == 201, r
        return r.json()

    def token(self, role, org_ids, label="test"):
        return self.new_token(role, org_ids, label)["token"]


def wait_for(predicate, timeout=30.0, what="condition", s=None, interval=0.05):
    """Calls predicate until it returns something true and returns that;
    after timeout seconds fails with what, and the logs of stack s when
    given."""
    deadline = time.time() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %g s waiting for %s%s" % (
                timeout, what, "\n" + s.logs() if s else ""))
        time.sleep(interval)


def db(s, name):
    """A read-only connection to service name's store in stack s."""
    path = os.path.join(s.data_dir, name + ".db")
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)


def query(s, sql, args=(), name=None):
    """The rows of a read-only query on service name's store."""
    c = db(s, name)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def events(s, type_=None, source=None, **data):
    """Events as dicts {id, type, org_id, data (decoded), raw (the msgpack
    bytes)}, in id order: those the notifications service received and,
    with source, those still in that service's outbox, each once. Keyword
    arguments keep only the events whose data has those values."""
    seen = {}
    # The outbox first: an event leaves it only after the notifications
    # service has stored it, so read in this order none is missed.
    sources = [("notifications", "SELECT id, type, org_id, data FROM events")]
    if source:
        sources.insert(0, (source, "SELECT id, type, org_id, data FROM wh_outbox"))
    for name, sql in sources:
        if not os.path.exists(os.path.join(s.data_dir, name + ".db")):
            continue
        try:
            rows = query(s, sql, name=name)
        except sqlite3.OperationalError:  # not yet created
            continue
        for eid, typ, org, raw in rows:
            raw = bytes(raw)
            seen[eid] = {"id": eid, "type": typ, "org_id": org, "raw": raw,
                         "data": msgpack.unpackb(raw)}
    out = [e for e in seen.values()
           if (type_ is None or e["type"] == type_)
           and all(isinstance(e["data"], dict) and e["data"].get(k) == v
                   for k, v in data.items())]
    return sorted(out, key=lambda e: e["id"])


PROBLEM = "application/problem+json"


def assert_problem(r, status, type_, errors=None, title=None):
    """r is an RFC 9457 problem as the gateway renders every one: status,
    type, a title, a detail and the listed errors (exactly those when
    given); returns it."""
    assert r.status == status, r
    assert r.header("Content-Type") == PROBLEM, r.headers
    p = r.json()
    assert set(p) == {"type", "title", "status", "detail", "errors"}, p
    assert p["type"] == type_, p
    assert p["status"] == status, p
    assert isinstance(p["title"], str) and p["title"], p
    if title is not None:
        assert p["title"] == title, p
    assert isinstance(p["detail"], str), p
    if errors is not None:
        assert p["errors"] == errors, p
    return p


def pointers(r):
    """The JSON pointers (or query parameter names) a 422 names, in order."""
    assert r.status == 422, r
    return [e.get("pointer") or e.get("parameter") for e in r.json()["errors"]]


class Worker(threading.Thread):
    """A thread whose failure fails the test: an exception in target is
    kept, sets the shared `failed` event (so that the main thread and the
    other workers can stop at once), and is raised again by join()."""

    def __init__(self, target, args=(), failed=None, name=None):
        super().__init__(name=name, daemon=True)
        self.fn = target
        self.fn_args = args
        self.failed = failed if failed is not None else threading.Event()
        self.error = None
        self.trace = ""

    def run(self):
        try:
            self.fn(*self.fn_args)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self.error = e
            self.trace = traceback.format_exc()
            self.failed.set()

    def join(self, timeout=None):
        super().join(timeout)
        if self.is_alive():
            raise AssertionError("thread %s still running after %s s" % (self.name, timeout))
        if self.error is not None:
            raise AssertionError("thread %s failed: %s\n%s" % (self.name, self.error,
                                                                self.trace)) from self.error


def join_all(workers, timeout=None):
    """Join every worker, then raise the first failure among them."""
    for w in workers:
        threading.Thread.join(w, timeout)
    for w in workers:
        w.join(0)


def read_to_close(sock):
    """Everything sock receives until the peer closes it."""
    return b"".join(iter(lambda: sock.recv(65536), b""))


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
    """Run test functions, print a summary, exit non-zero on any failure.
    Every test_* function of the calling module must be in tests: one
    missing from the list would otherwise never run, and nobody would know."""
    caller = sys._getframe(1).f_globals
    defined = {n for n, v in caller.items() if n.startswith("test_") and callable(v)}
    missing = sorted(defined - {t.__name__ for t in tests})
    if missing:
        print("FAIL defined but not run: %s" % ", ".join(missing))
        sys.exit(1)
    failed = 0
    for t in tests:
        start = time.time()
        try:
            t()
            print("ok   %s (%.2fs)" % (t.__name__, time.time() - start))
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            traceback.print_exc()
            print("FAIL %s: %s" % (t.__name__, e))
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
