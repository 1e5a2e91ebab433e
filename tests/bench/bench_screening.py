"""Benchmark: the screening service's durable writes against bare SQLite on
the same disk, measured in the same run.

1. POST /v1/screenings at 64 connections (wrk with screening_post.lua, a
   distinct result per request, one in five at risk and so opening an
   alert and an outbox event), against sqlite_bare committing one row per
   transaction with synchronous=FULL into the same schema. Every 201 the
   service gives is committed with synchronous=FULL too: the service runs
   the requests that arrive together in one transaction (group commit).
   Targets: >= 8x the bare rate, p99 <= 20 ms.
2. Ingest of 100,000 results through POST /v1/screenings/batch (100
   batches of 1,000 over BATCH_CONNECTIONS connections) against
   sqlite_bare inserting the same rows 1,000 per transaction. Target:
   >= 50 % of the bare rate. Both sides start every round from the same
   state, an empty store: each batch round runs against a stack of its
   own, started after the POST rounds' stack (and the previous round's)
   has stopped, as sqlite_bare starts each round from a new file.

Rounds alternate between the two sides so that both see the same disk.
Client and servers share the machine's cores. Build without sanitizers:
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build-bench
Run: /usr/bin/python3 tests/bench/bench_screening.py build-bench
"""

import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from stack import Stack  # noqa: E402
import screeninglib as sl  # noqa: E402

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
DURATION = os.environ.get("BENCH_DURATION", "10s")
BARE_SECONDS = os.environ.get("BENCH_BARE_SECONDS", "5")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BATCH_TOTAL = int(os.environ.get("BENCH_BATCH_TOTAL", "100000"))
BATCH_SIZE = 1000
BATCH_CONNECTIONS = int(os.environ.get("BENCH_BATCH_CONNECTIONS", "4"))
THREADS = "2"


def ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def bare(bin_dir, data_dir, *args):
    out = subprocess.run([os.path.join(bin_dir, "sqlite_bare"), args[0],
                          os.path.join(data_dir, "bare.db")] + [str(a) for a in args[1:]],
                         capture_output=True, text=True, check=True).stdout
    m = re.match(r"rows (\d+) seconds ([\d.]+) rate ([\d.]+)", out)
    return int(m.group(1)), float(m.group(2)), float(m.group(3))


def wrk(stack, org, token, run, duration=DURATION):
    env = dict(os.environ, BENCH_ORG=org, BENCH_TOKEN=token, BENCH_RUN=str(run))
    cmd = ["wrk", "-t", THREADS, "-c", str(CONNECTIONS), "-d", duration, "--latency",
           "-s", os.path.join(HERE, "screening_post.lua"),
           "http://127.0.0.1:%d/v1/screenings" % stack.port]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict((p, ms(v, u)) for p, v, u in
               re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit("wrk saw %s non-2xx responses:\n%s" % (errors.group(1), out))
    return rps, lat["50"], lat["99"]


def counting_syncs(pid, fn):
    """Runs fn() while perf counts the fdatasync calls of process pid; returns
    (fn's result, the count or None when perf cannot count them)."""
    if not shutil.which("perf"):
        return fn(), None
    p = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "syscalls:sys_enter_fdatasync",
                          "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(0.2)
    try:
        result = fn()
    finally:
        p.send_signal(signal.SIGINT)
        err = p.communicate()[1]
    m = re.search(r"^(\d+),", err, re.M)
    return result, int(m.group(1)) if m else None


def batch_bodies(org, run):
    bodies = []
    for b in range(BATCH_TOTAL // BATCH_SIZE):
        items = []
        for j in range(BATCH_SIZE):
            n = b * BATCH_SIZE + j
            risky = n % 5 == 0
            items.append({"org_id": org, "external_id": "x-%d-%d" % (run, n),
                          "instrument": "phq9", "subject": "b-%d-%d" % (run, n),
                          "unit": "U%d" % (n % 20), "taken_at": "2025-03-01T08:00:00Z",
                          "language": "de",
                          "answers": [2, 2, 2, 2, 2, 0, 0, 0, 0] if risky
                          else [1, 0, 1, 0, 1, 0, 0, 1, 0]})
        bodies.append(json.dumps({"items": items}).encode())
    return bodies


def ingest(stack, token, bodies):
    """Sends every body over BATCH_CONNECTIONS keep-alive connections; returns
    the wall time from the first byte sent to the last reply read."""
    queue = list(enumerate(bodies))
    lock = threading.Lock()
    failures = []

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop(0)
            c.request("POST", "/v1/screenings/batch", body=body,
                      headers={"Authorization": "Bearer " + token,
                               "Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.status != 200 or data.count(b'"status":201') != BATCH_SIZE:
                failures.append((r.status, data[:300]))
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(BATCH_CONNECTIONS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    if failures:
        raise SystemExit("batch ingest failed: %r" % failures[:3])
    return elapsed


def post_rounds(bin_dir):
    """The POST rounds, on a stack of their own."""
    stack = Stack(services=sl.SERVICES, env={"WH_LOG_LEVEL": "warn"})
    stack.start()
    try:
        t = sl.Tenant(stack)
        wrk(stack, t.id, t.integ, 0, "2s")  # warm-up
        single = {"bare": [], "stack": []}
        per_sync = []
        pid = stack.procs["screening"].pid
        for rnd in range(1, ROUNDS + 1):
            single["bare"].append(bare(bin_dir, stack.data_dir, "single", BARE_SECONDS)[2])
            before = sl.query(stack, "SELECT count(*) FROM screenings")[0][0]
            res, syncs = counting_syncs(pid, lambda: wrk(stack, t.id, t.integ, rnd))
            single["stack"].append(res)
            done = sl.query(stack, "SELECT count(*) FROM screenings")[0][0] - before
            if syncs:
                per_sync.append(done / syncs)
        stored = sl.query(stack, "SELECT count(*) FROM screenings")[0][0]
        alerts = sl.query(stack, "SELECT count(*) FROM alerts")[0][0]
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)
    return single, per_sync, stored, alerts


def batch_rounds(bin_dir):
    """The batch rounds, each on a fresh stack whose store starts empty, as
    sqlite_bare's file does. Returns the rates and the results stored in
    the last round."""
    batch = {"bare": [], "stack": []}
    stored = 0
    for rnd in range(1, ROUNDS + 1):
        stack = Stack(services=sl.SERVICES, env={"WH_LOG_LEVEL": "warn"})
        stack.start()
        try:
            t = sl.Tenant(stack)
            bodies = batch_bodies(t.id, rnd)
            batch["bare"].append(bare(bin_dir, stack.data_dir, "batch", BATCH_TOTAL,
                                      BATCH_SIZE)[2])
            batch["stack"].append(BATCH_TOTAL / ingest(stack, t.integ, bodies))
            stored = sl.query(stack, "SELECT count(*) FROM screenings")[0][0]
        finally:
            stack.stop()
            shutil.rmtree(stack.data_dir, ignore_errors=True)
    return batch, stored


def main():
    if len(sys.argv) > 1:
        os.environ["WH_BIN_DIR"] = os.path.abspath(sys.argv[1])
    bin_dir = os.environ.get("WH_BIN_DIR", os.path.join(os.getcwd(), "build"))
    # Access logs off, as a benchmark of the write path; the stores sit on
    # the same file system as the bare baseline's.
    load = os.getloadavg()[0]
    single, per_sync, stored, alerts = post_rounds(bin_dir)
    batch, batch_stored = batch_rounds(bin_dir)

    bare_rate = statistics.median(single["bare"])
    rps = statistics.median(r[0] for r in single["stack"])
    p50 = statistics.median(r[1] for r in single["stack"])
    p99 = statistics.median(r[2] for r in single["stack"])
    print("POST /v1/screenings: %d connections, %s x %d rounds, medians"
          % (CONNECTIONS, DURATION, ROUNDS))
    print("  bare SQLite, 1 row per commit (synchronous=FULL): %8.0f rows/s  %s"
          % (bare_rate, " ".join("%.0f" % x for x in single["bare"])))
    print("  service through the gateway:                      %8.0f req/s   %s"
          % (rps, " ".join("%.0f" % r[0] for r in single["stack"])))
    print("  latency p50 %.2f ms, p99 %.2f ms (target p99 <= 20 ms)" % (p50, p99))
    print("  ratio service/bare: %.1fx (target >= 8x)" % (rps / bare_rate))
    if per_sync:
        # Every commit of the service is an fdatasync of its WAL (outbox
        # bookkeeping and checkpoints included), so this is the group commit.
        print("  results stored per fdatasync of the screening service: %.1f"
              % statistics.median(per_sync))
    bb = statistics.median(batch["bare"])
    bs = statistics.median(batch["stack"])
    print("Batch ingest of %d results, %d per request over %d connections, %d rounds, medians"
          % (BATCH_TOTAL, BATCH_SIZE, BATCH_CONNECTIONS, ROUNDS))
    print("  bare SQLite, %d rows per commit:  %8.0f rows/s  %s"
          % (BATCH_SIZE, bb, " ".join("%.0f" % x for x in batch["bare"])))
    print("  service through the gateway:       %8.0f rows/s  %s"
          % (bs, " ".join("%.0f" % x for x in batch["stack"])))
    print("  ratio service/bare: %.0f %% (target >= 50 %%)" % (100.0 * bs / bb))
    print("stored %d results, %d alerts by POST, %d by a batch round (each a fresh store);"
          " load average %.2f before, %.2f after, %d cores"
          % (stored, alerts, batch_stored, load, os.getloadavg()[0], os.cpu_count()))


if __name__ == "__main__":
    main()
