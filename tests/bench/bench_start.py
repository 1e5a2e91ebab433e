"""Benchmark: from launching deploy/run-stack.sh to /readyz answering 200.

Each round starts the whole stack with deploy/run-stack.sh on a free port,
asks /readyz every POLL_S until it answers 200, and stops the stack
(SIGTERM to the script, which stops its processes). Two data directories:
empty (a first start: stores created, migrations run, admin token
generated) and populated (the same directory after a stack has stored
organisations, subscriptions and events in it). Printed per case: the
median of ROUNDS and, from the JSON lines the processes log, when each one
was started and when it was serving, measured from the launch, which shows
what the time goes to. After the last round of each case the proportional
set size (PSS) of the five idle processes is read from
/proc/<pid>/smaps_rollup. A third case starts the four services
SERVICES_FIRST_S before the gateway (on the populated directory) and
measures from the gateway's start: how soon the services find it.

  /usr/bin/python3 tests/bench/bench_start.py [BIN_DIR]
Target: start-to-ready <= 0.5 s.
"""

import calendar
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from stack import free_port  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
POLL_S = 0.005
SERVICES_FIRST_S = 2.0  # how long the services wait for a gateway in the third case
TIMEOUT_S = 30
TOKEN = "bench-admin-token-0123456789"
NAMES = ("gateway", "agreements", "surveys", "screening", "notifications")


def get(port, path, method="GET", body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Authorization": "Bearer " + TOKEN,
                           "Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def launch(bin_dir, data_dir):
    port = free_port()
    env = dict(os.environ, WH_DATA_DIR=data_dir, WH_HTTP_ADDR="127.0.0.1:%d" % port,
               WH_ADMIN_TOKEN=TOKEN, WH_LOG_LEVEL="info")
    log = open(os.path.join(data_dir, "..", os.path.basename(data_dir) + ".log"), "ab")
    t0 = time.time()
    p = subprocess.Popen([os.path.join(ROOT, "deploy", "run-stack.sh"), bin_dir], env=env,
                         stdout=log, stderr=log)
    log.close()
    return p, port, t0


def wait_ready(p, port, t0):
    while time.time() - t0 < TIMEOUT_S:
        if p.poll() is not None:
            raise AssertionError("run-stack.sh exited with %d" % p.returncode)
        try:
            if get(port, "/readyz")[0] == 200:
                return time.time() - t0
        except OSError:
            pass
        time.sleep(POLL_S)
    raise AssertionError("not ready after %d s" % TIMEOUT_S)


def children(pid):
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def pss_mib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)


def parse_ts(s):
    secs = calendar.timegm((int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]),
                            int(s[14:16]), int(s[17:19]), 0, 0, 0))
    return secs + int(s[20:23]) / 1000.0


def milestones(log_path, offset, t0):
    """{what: ms after t0} from the log lines written since offset."""
    out = {}
    with open(log_path, "rb") as f:
        f.seek(offset)
        for raw in f:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            t = (parse_ts(rec["time"]) - t0) * 1000.0
            svc, msg = rec.get("service"), rec.get("msg", "")
            if svc == "run-stack" and msg.startswith("started wh-"):
                out.setdefault("started " + msg.split()[1][3:], t)
            elif "serving; broker" in msg or msg.startswith("listening on"):
                out.setdefault("serving " + svc, t)
    return out


def measure(bin_dir, dirs, label):
    """One round per data directory of dirs; the median start-to-ready (s),
    the medians of the milestones (ms) and the PSS after the last round."""
    times, marks, pss = [], [], {}
    for i, data_dir in enumerate(dirs):
        os.makedirs(data_dir, exist_ok=True)
        log_path = os.path.join(data_dir, "..", os.path.basename(data_dir) + ".log")
        offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        p, port, t0 = launch(bin_dir, data_dir)
        try:
            times.append(wait_ready(p, port, t0))
            if i == len(dirs) - 1:
                time.sleep(1.0)  # idle
                for pid in children(p.pid):
                    with open("/proc/%d/comm" % pid) as f:
                        pss[f.read().strip()] = pss_mib(pid)
        finally:
            stop(p)
        marks.append(milestones(log_path, offset, t0))
        print("%s, round %d: ready after %.0f ms" % (label, i + 1, times[-1] * 1000), flush=True)
    keys = sorted({k for m in marks for k in m}, key=lambda k: statistics.median(
        m[k] for m in marks if k in m))
    return statistics.median(times), {k: statistics.median(m[k] for m in marks if k in m)
                                      for k in keys}, pss


def services_first(bin_dir, data_dir, delay_s):
    """The four services started delay_s before the gateway (as compose or
    Kubernetes may start them, or as a gateway restart leaves them):
    milliseconds from the gateway's start to /readyz 200."""
    port = free_port()
    env = dict(os.environ, WH_DATA_DIR=data_dir, WH_HTTP_ADDR="127.0.0.1:%d" % port,
               WH_ADMIN_TOKEN=TOKEN, WH_LOG_LEVEL="warn")
    procs = [subprocess.Popen([os.path.join(bin_dir, "wh-" + n)], env=env,
                              stderr=subprocess.DEVNULL) for n in NAMES[1:]]
    try:
        time.sleep(delay_s)
        t0 = time.time()
        procs.append(subprocess.Popen([os.path.join(bin_dir, "wh-gateway")], env=env,
                                      stderr=subprocess.DEVNULL))
        return wait_ready(procs[-1], port, t0) * 1000
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)


def populate(bin_dir, data_dir):
    p, port, t0 = launch(bin_dir, data_dir)
    try:
        wait_ready(p, port, t0)
        for i in range(200):
            st, body = get(port, "/v1/organizations", "POST",
                           {"name": "Amt %d" % i, "kind": "employer", "employees": 100 + i})
            assert st == 201, (st, body)
        org = json.loads(body)["id"]
        for i in range(50):
            st, _ = get(port, "/v1/organizations/" + org, "PATCH", {"employees": 200 + i})
            assert st == 200, st
    finally:
        stop(p)


def main():
    bin_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                              os.environ.get("WH_BIN_DIR", "build"))
    tmp = tempfile.mkdtemp(prefix="wh-bench-start-")
    try:
        results = {}
        # A new directory per round: each is a first start.
        results["empty"] = measure(bin_dir, [os.path.join(tmp, "empty%d" % i)
                                             for i in range(ROUNDS)], "empty")
        full = os.path.join(tmp, "populated")
        os.makedirs(full)
        populate(bin_dir, full)
        results["populated"] = measure(bin_dir, [full] * ROUNDS, "populated")
        late = [services_first(bin_dir, full, SERVICES_FIRST_S) for _ in range(ROUNDS)]
        print()
        for label, (t, m, pss) in results.items():
            print("%s data dir: start-to-ready %.0f ms (median of %d; target <= 500 ms)"
                  % (label, t * 1000, ROUNDS))
            for k, v in m.items():
                print("  %-24s %6.0f ms" % (k, v))
            print("  idle PSS: " + ", ".join("%s %.1f MiB" % (k, v) for k, v in sorted(pss.items()))
                  + "; total %.1f MiB" % sum(pss.values()))
        print("services started %.0f s before the gateway: ready %.0f ms after the gateway's"
              " start (median of %d)" % (SERVICES_FIRST_S, statistics.median(late), ROUNDS))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
