"""Benchmark: events from a producer's outbox to delivered webhooks.

One webhook subscription (organization.updated of one organisation) points
at Debian's nginx answering 204 (one worker, keep-alive, the body read and
dropped) and logging, per request, the arrival time ($msec, millisecond
resolution) and the webhook-id. nginx keeps up with far more than the stack
sends, so it measures the stack and not itself; it checks no signature (the
e2e tests do). An event's commit time is its occurred_at, written in the
producing transaction just before its commit; the two are joined through the
notifications store (delivery id -> event) after each run.

Two phases, each run ROUNDS times, medians printed:

1. Throughput. The agreements service is stopped, N rows of
   organization.updated are written straight into its outbox (wh_outbox),
   and it is started again: events/s is N over the time from its start to
   the last webhook's arrival (outbox -> relay -> notifications' inbox and
   fan-out -> delivery engine -> receiver).
2. Latency under load. wrk sends PATCH /v1/organizations/{id} for DURATION
   (each is one committed update and one event) over 1 connection (a load
   the machine keeps up with); p50 and p99 of arrival minus occurred_at
   over every event of the run, and the rate of events delivered.
3. Saturation. The same over SATURATION (16) connections on a fresh stack,
   which commits more events than the machine can deliver. Printed: events
   committed and delivered per second while the load ran, how long the
   rest took to drain, p50/p99 of the delay from the commit and from the
   consumer's receipt (what was sent), and, sampled every SAMPLE_S, the
   outbox depth, the consumer's backlog (webhooks due) and its RSS. With
   BENCH_EVENTS_BASELINE=<bin dir of an earlier build> the same is measured
   on that build in the same run and the ratios printed.

Everything shares the machine's cores (wrk, nginx, the gateway and the
services); build without sanitizers for figures worth quoting:
  cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel
  /usr/bin/python3 tests/bench/bench_events.py build-rel
Targets: >= 5,000 events/s; p99 <= 100 ms at 1 connection; at saturation
receipt-to-delivery p99 <= 1 s, the excess waiting in the outbox.
"""

import calendar
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from stack import Stack, free_port  # noqa: E402

N = int(os.environ.get("BENCH_EVENTS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DURATION = os.environ.get("BENCH_DURATION", "10s")
# wrk connections per latency run: 1 keeps the producer below what the
# machine can deliver; SATURATION (16) commits more events than it can deliver.
CONNECTIONS = [c for c in os.environ.get("BENCH_CONNECTIONS", "1").split(",") if c]
SATURATION = os.environ.get("BENCH_SATURATION", "16")
SAMPLE_S = 0.25  # how often outbox depth, backlog and RSS are sampled
# A bin directory built from an earlier revision (say, before batches and
# credits): its saturation figures are measured in the same run and the
# ratios printed.
BASELINE = os.environ.get("BENCH_EVENTS_BASELINE", "")


class Receiver:
    """nginx answering 204 to every POST, logging "$msec $http_webhook_id"."""

    def __init__(self, tmp):
        self.port = free_port()
        self.log = os.path.join(tmp, "webhooks.log")
        os.chmod(tmp, 0o755)
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""
worker_processes 1;
error_log %(tmp)s/nginx-error.log;
pid %(tmp)s/nginx.pid;
events { worker_connections 1024; }
http {
  log_format wh '$msec $http_webhook_id';
  access_log %(log)s wh buffer=256k flush=100ms;
  keepalive_requests 1000000;
  client_body_temp_path %(tmp)s/body;
  proxy_temp_path %(tmp)s/proxy;
  fastcgi_temp_path %(tmp)s/fastcgi;
  uwsgi_temp_path %(tmp)s/uwsgi;
  scgi_temp_path %(tmp)s/scgi;
  server { listen 127.0.0.1:%(port)d; location / { return 204; } }
}
""" % {"tmp": tmp, "port": self.port, "log": self.log})
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-c", conf, "-p", tmp,
                                      "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        self.url = "http://127.0.0.1:%d/hook" % self.port

    def arrivals(self):
        """{webhook-id: first arrival (seconds)} and the number of requests."""
        first, n = {}, 0
        with open(self.log) as f:
            for line in f:
                t, _, wid = line.strip().partition(" ")
                if wid and wid != "-":
                    n += 1
                    first.setdefault(wid, float(t))
        return first, n

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


def parse_ts(s):
    secs = calendar.timegm((int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]),
                            int(s[14:16]), int(s[17:19]), 0, 0, 0))
    return secs + int(s[20:23]) / 1000.0


def msgpack_str(s):
    b = s.encode()
    return (bytes([0xA0 | len(b)]) if len(b) < 32 else bytes([0xD9, len(b)])) + b


def delivered(s):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(s.data_dir, "notifications.db"),
                         uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM deliveries WHERE status = 'delivered'"
                          ).fetchone()[0]
    finally:
        db.close()


def event_times(s, column):
    """{delivery id: its event's column (occurred_at: the producing commit,
    received_at: the consumer's receipt), in seconds}."""
    assert column in ("occurred_at", "received_at"), column
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(s.data_dir, "notifications.db"),
                         uri=True, timeout=10)
    try:
        return {d: parse_ts(t) for d, t in db.execute(
            "SELECT d.id, e.%s FROM deliveries d JOIN events e ON e.id = d.event_id" % column)}
    finally:
        db.close()


def wait_delivered(s, n, timeout):
    deadline = time.time() + timeout
    while delivered(s) < n:
        if time.time() > deadline:
            raise AssertionError("only %d of %d delivered\n%s" % (delivered(s), n, s.logs()))
        time.sleep(0.05)
    time.sleep(0.3)  # nginx flushes its log every 100 ms


def throughput_round(s, rx, org_id, round_no):
    s.kill("agreements", signal.SIGTERM)
    data = (bytes([0x83]) + msgpack_str("organization_id") + msgpack_str(org_id) +
            msgpack_str("name") + msgpack_str("Bezirksamt Mitte") + msgpack_str("kind") +
            msgpack_str("employer"))
    db = sqlite3.connect(os.path.join(s.data_dir, "agreements.db"))
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    base = "01BENCH%05d" % round_no
    db.executemany("INSERT INTO wh_outbox(id, type, org_id, occurred_at, data)"
                   " VALUES (?, 'organization.updated', ?, ?, ?)",
                   ((base + "%014d" % i, org_id, now, data) for i in range(N)))
    db.commit()
    db.close()
    before = delivered(s)
    seen = set(rx.arrivals()[0])
    t0 = time.time()
    s.start_process("agreements")
    wait_delivered(s, before + N, 180)
    first, _ = rx.arrivals()
    new = [t for wid, t in first.items() if wid not in seen]
    assert len(new) == N, (len(new), N)
    return N / (max(new) - t0)


class Sampler(threading.Thread):
    """Every SAMPLE_S during a run: the producer's outbox depth (events not
    yet acknowledged), the consumer's backlog (webhook deliveries due and
    not yet sent) and the consumer's resident set (VmRSS of
    wh-notifications), read without disturbing the stack (read-only
    connections, /proc)."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s = s
        self.pid = s.procs["notifications"].pid
        self.stop = threading.Event()
        self.outbox, self.backlog, self.rss = [], [], []

    def count(self, name, sql, args=()):
        try:
            c = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.s.data_dir, name + ".db"),
                                uri=True, timeout=1)
            try:
                return c.execute(sql, args).fetchone()[0]
            finally:
                c.close()
        except sqlite3.Error:
            return None

    def run(self):
        while not self.stop.wait(SAMPLE_S):
            o = self.count("agreements", "SELECT count(*) FROM wh_outbox WHERE state = 0")
            b = self.count("notifications", "SELECT count(*) FROM deliveries WHERE"
                           " status = 'pending' AND channel = 'webhook' AND next_ms <= ?",
                           (int(time.time() * 1000),))
            if o is not None:
                self.outbox.append(o)
            if b is not None:
                self.backlog.append(b)
            try:
                with open("/proc/%d/status" % self.pid) as f:
                    kb = [int(x.split()[1]) for x in f if x.startswith("VmRSS:")]
                self.rss.append(kb[0] / 1024.0)
            except OSError:
                pass


def pct(xs, q):
    return xs[min(len(xs) - 1, int(len(xs) * q))] if xs else float("nan")


def latency_round(s, rx, org_id, tmp, connections):
    """One wrk run; a dict of its figures (rates in events/s, delays in ms,
    depths in events, RSS in MiB)."""
    lua = os.path.join(tmp, "patch.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "PATCH"\n'
                'wrk.body = \'{"employees": 1700}\'\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["Authorization"] = "Bearer %s"\n' % s.admin)
    before = delivered(s)
    seen = set(rx.arrivals()[0])
    sampler = Sampler(s)
    sampler.start()
    t0 = time.time()
    out = subprocess.run(["wrk", "-t1", "-c" + connections, "-d" + DURATION, "-s", lua,
                          "http://127.0.0.1:%d/v1/organizations/%s" % (s.port, org_id)],
                         capture_output=True, text=True, check=True).stdout
    t_load = time.time()
    requests = int([line for line in out.splitlines() if "requests in" in line][0].split()[0])
    assert "Non-2xx" not in out, out
    # Figures of the load itself: what arrived while wrk ran.
    first, _ = rx.arrivals()
    during = [t for wid, t in first.items() if wid not in seen and t <= t_load]
    wait_delivered(s, before + requests, 300)
    # Requests cut off when wrk stopped were committed but not counted.
    last = -1
    while delivered(s) != last:
        last = delivered(s)
        time.sleep(0.5)
    drained = time.time()
    sampler.stop.set()
    sampler.join()
    first, _ = rx.arrivals()
    commits = event_times(s, "occurred_at")
    received = event_times(s, "received_at")
    new = [(t, wid) for wid, t in first.items() if wid not in seen]
    assert len(new) == last - before, (len(new), last - before)
    lat = sorted((t - commits[wid]) * 1000.0 for t, wid in new)
    sent = sorted((t - received[wid]) * 1000.0 for t, wid in new)
    med = statistics.median
    return {
        "committed/s": requests / (t_load - t0),
        "delivered/s": len(during) / (t_load - t0),
        "drain s": drained - t_load,
        "commit p50": lat[len(lat) // 2], "commit p99": pct(lat, 0.99),
        "sent p50": sent[len(sent) // 2], "sent p99": pct(sent, 0.99),
        "outbox med": med(sampler.outbox) if sampler.outbox else 0,
        "outbox max": max(sampler.outbox, default=0),
        "backlog med": med(sampler.backlog) if sampler.backlog else 0,
        "backlog max": max(sampler.backlog, default=0),
        "rss med": med(sampler.rss) if sampler.rss else 0,
        "rss max": max(sampler.rss, default=0),
    }


FIGURES = ["committed/s", "delivered/s", "drain s", "commit p50", "commit p99", "sent p50",
           "sent p99", "outbox med", "outbox max", "backlog med", "backlog max", "rss med",
           "rss max"]


def describe(r):
    return ("%.0f committed/s, %.0f delivered/s during the load, drained %.1f s after it;"
            " commit-to-delivery p50 %.0f ms p99 %.0f ms; receipt-to-delivery p50 %.0f ms"
            " p99 %.0f ms; outbox median %.0f max %.0f; consumer backlog median %.0f max %.0f;"
            " consumer RSS median %.1f MiB max %.1f MiB" % tuple(r[k] for k in FIGURES))


def saturation(bin_dir, rx, tmp, label):
    """ROUNDS runs at SATURATION connections on a fresh stack from bin_dir;
    the medians of their figures."""
    rounds = []
    with Stack(env={"WH_LOG_LEVEL": "warn"}, bin_dir=bin_dir) as s:
        org = s.org()
        r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["organization.updated"],
                                         "channel": "webhook", "target": rx.url})
        assert r.status == 201, r
        for i in range(ROUNDS):
            rounds.append(latency_round(s, rx, org["id"], tmp, SATURATION))
            print("saturation (%s), %s connections, round %d: %s"
                  % (label, SATURATION, i + 1, describe(rounds[-1])), flush=True)
    return {k: statistics.median(r[k] for r in rounds) for k in FIGURES}


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("WH_BIN_DIR", "build")
    os.environ["WH_BIN_DIR"] = os.path.abspath(bin_dir)
    tmp = tempfile.mkdtemp(prefix="wh-bench-")
    rx = Receiver(tmp)
    med = statistics.median
    with Stack(env={"WH_LOG_LEVEL": "warn"}) as s:
        org = s.org()
        r = s.post("/v1/subscriptions", {"org_id": org["id"], "events": ["organization.updated"],
                                         "channel": "webhook",
                                         "target": rx.url})
        assert r.status == 201, r
        rates = []
        for i in range(ROUNDS):
            rates.append(throughput_round(s, rx, org["id"], i))
            print("throughput round %d: %d events in %.2f s = %.0f events/s"
                  % (i + 1, N, N / rates[-1], rates[-1]), flush=True)
        lats = {}
        for c in CONNECTIONS:
            lats[c] = []
            for i in range(ROUNDS):
                lats[c].append(latency_round(s, rx, org["id"], tmp, c))
                print("latency, %s connection(s), round %d: %s"
                      % (c, i + 1, describe(lats[c][-1])), flush=True)
    sat = saturation(os.path.abspath(bin_dir), rx, tmp, "this build")
    base = saturation(os.path.abspath(BASELINE), rx, tmp, "baseline") if BASELINE else None
    first, requests = rx.arrivals()
    dup = requests - len(first)
    rx.close()
    print("\noutbox -> delivered: %.0f events/s (median of %d rounds of %d; target >= 5000)"
          % (med(rates), ROUNDS, N))
    for c in CONNECTIONS:
        x = lats[c]
        print("PATCH load over %s connection(s), %s: %.0f events/s delivered, commit-to-delivery"
              " p50 %.1f ms, p99 %.1f ms (medians of %d rounds; target p99 <= 100 ms)"
              % (c, DURATION, med(r["delivered/s"] for r in x), med(r["commit p50"] for r in x),
                 med(r["commit p99"] for r in x), ROUNDS))
    print("saturation, PATCH over %s connections, %s, medians of %d rounds:"
          % (SATURATION, DURATION, ROUNDS))
    for k in FIGURES:
        if base:
            ratio = sat[k] / base[k] if base[k] else float("nan")
            print("  %-12s %10.1f   baseline %10.1f   ratio %.2f" % (k, sat[k], base[k], ratio))
        else:
            print("  %-12s %10.1f" % (k, sat[k]))
    print("(commit = from the producing commit, sent = from the consumer's receipt; outbox in"
          " events, backlog in due webhook deliveries, rss in MiB)")
    print("webhooks with a repeated webhook-id: %d" % dup)


if __name__ == "__main__":
    main()
