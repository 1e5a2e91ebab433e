"""Benchmark: 100,000 agreements. Lists the ones expiring within 90 days
(page of 50) through the gateway, and times the reminder scan.

The agreements are written straight into a stopped service's store (the
real schema, migrated by the service itself) in the steady state that
daily scans leave behind: reminders before today recorded as sent, and
next_due the first date still to come. The service is then started on
"today", so its start-up scan does what is due that day; it logs the scan's
time, which is read from the log. A second start on the same day shows the
scan with nothing due.

Run against an optimised build for figures worth quoting:
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
  cmake --build build-bench --target wh-gateway wh-agreements
  WH_BIN_DIR=build-bench /usr/bin/python3 tests/bench/bench_agreements.py [n]
"""

import datetime
import http.client
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from stack import Stack  # noqa: E402

TODAY = datetime.date(2025, 9, 1)
EPOCH = datetime.date(1970, 1, 1)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FOCUS = ["work_design", "healthy_leadership", "movement", "nutrition", "addiction_prevention",
         "stress_management", "physical_strain", "networking", "other"]


def days(d):
    return (d - EPOCH).days


def ulid(i):
    """Sortable ids in the service's alphabet (not random; unique)."""
    s = ""
    for _ in range(16):
        s = CROCKFORD[i % 32] + s
        i //= 32
    return "01K0000000" + s


def mp_str(s):
    b = s.encode()
    return bytes([0xA0 | len(b)]) + b if len(b) < 32 else bytes([0xD9, len(b)]) + b


def contact_blob(i):
    m = bytes([0x84]) + mp_str("name") + mp_str("Kontakt %d" % i) + mp_str("email") + \
        mp_str("k%d@example.org" % i) + mp_str("role") + bytes([0xC0]) + mp_str("language") + \
        mp_str("de")
    return bytes([0x91]) + m


def seed(db_path, employers, insurers, n, rnd):
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous=OFF")
    now = "2025-08-31T10:00:00.000Z"
    rows, rems = [], []
    for i in range(n):
        aid = ulid(i)
        starts = datetime.date(2024, 1, 1) + datetime.timedelta(days=rnd.randrange(0, 731))
        ends = starts + datetime.timedelta(days=rnd.choice([181, 364, 365, 729]))
        notice = rnd.choice([30, 60, 90])
        r = rnd.random()
        state = "signed" if r < 0.8 else "draft" if r < 0.9 else "terminated" if r < 0.95 \
            else "renewed"
        focus = rnd.sample(FOCUS, rnd.randint(0, 3))
        mask = sum(1 << FOCUS.index(f) for f in focus)
        next_due = None
        if state == "signed":
            deadline = ends - datetime.timedelta(days=notice)
            items = [("notice", b, deadline - datetime.timedelta(days=b)) for b in (90, 30, 7, 0)]
            items.append(("expired", 0, ends + datetime.timedelta(days=1)))
            for kind, b, due in items:
                if due < TODAY:
                    rems.append((aid, kind, b, days(due), "sent", now, None, now))
            future = [days(due) for _, _, due in items if due >= TODAY]
            next_due = min(future) if future else None
        rows.append((aid, rnd.choice(employers), rnd.choice(insurers), "Vereinbarung %d" % i,
                     state, days(starts) - 10 if state != "draft" else None, days(starts),
                     days(ends), notice, 0, rnd.choice([None, 50, 400, 1600]), ",".join(focus),
                     mask, rnd.choice([0, 5000, 15000]), 1, b"\x90", contact_blob(i),
                     "90,30,7", None, None,
                     days(ends) - 30 if state == "terminated" else None,
                     "reason" if state == "terminated" else None, next_due, 1, now, now))
    db.execute("BEGIN")
    db.executemany("INSERT INTO agreements(id, employer_id, insurer_id, title, state, signed_on,"
                   " starts_on, ends_on, notice_days, auto_renew, employees_covered, focus_areas,"
                   " focus_mask, financial_eur, advisory, conditions, contacts, reminder_days,"
                   " renews, renewed_by, terminated_on, termination_reason, next_due, version,"
                   " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                   " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO agreement_reminders VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rems)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    due_today = db.execute("SELECT count(*) FROM agreements WHERE next_due <= ?",
                           (days(TODAY),)).fetchone()[0]
    plan = db.execute("EXPLAIN QUERY PLAN SELECT id FROM agreements WHERE next_due <= ?1"
                      " ORDER BY next_due LIMIT ?2", (days(TODAY), 500)).fetchall()
    db.close()
    return due_today, plan


def scan_line(data_dir, day, nth):
    path = os.path.join(data_dir, "agreements.log")
    deadline = time.time() + 120
    while time.time() < deadline:
        with open(path, errors="replace") as f:
            lines = [json.loads(l)["msg"] for l in f if "reminder scan for %s:" % day in l]
        if len(lines) >= nth:
            return lines[nth - 1]
        time.sleep(0.05)
    raise AssertionError("no scan logged")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    rnd = random.Random(4)
    d = tempfile.mkdtemp(prefix="wh-bench-agr-")
    try:
        now = TODAY.isoformat() + "T10:00:00Z"
        with Stack(data_dir=d, now=now, services=("agreements",)) as s:
            employers = [s.org("Arbeitgeber %d" % i, "employer", 100)["id"] for i in range(200)]
            insurers = [s.org("Kasse %d" % i, "insurer", 1000)["id"] for i in range(10)]
        t0 = time.time()
        due, plan = seed(os.path.join(d, "agreements.db"), employers, insurers, n, rnd)
        print("seeded %d agreements in %.1f s; %d due on %s" % (n, time.time() - t0, due, TODAY))
        print("scan query plan: %s" % "; ".join(r[-1] for r in plan))
        with Stack(data_dir=d, now=now, services=("agreements",)) as s:
            # The stack that created the organisations logged the first scan of
            # the day (on an empty store); this start's is the second.
            first = scan_line(d, TODAY.isoformat(), 2)
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            hdr = {"Authorization": "Bearer " + s.admin}
            coord = s.token("consultant", [insurers[0]])

            def timed(path, token=None, runs=51):
                h = {"Authorization": "Bearer " + token} if token else hdr
                ts = []
                for _ in range(runs):
                    t = time.perf_counter()
                    c.request("GET", path, headers=h)
                    r = c.getresponse()
                    body = r.read()
                    ts.append(time.perf_counter() - t)
                    assert r.status == 200, body[:300]
                return statistics.median(ts) * 1e3, json.loads(body)

            ms, page = timed("/v1/agreements?expiring_within_days=90&limit=50")
            assert len(page["items"]) == 50 and page["next_cursor"]
            print("GET /v1/agreements?expiring_within_days=90&limit=50: median %.2f ms "
                  "(51 runs, admin)" % ms)
            ms2, _ = timed("/v1/agreements?expiring_within_days=90&limit=50&cursor=" +
                           page["next_cursor"])
            print("  next page: median %.2f ms" % ms2)
            ms3, p3 = timed("/v1/agreements?expiring_within_days=90&limit=50", token=coord)
            print("  as a consultant of one insurer (%d items): median %.2f ms"
                  % (len(p3["items"]), ms3))
            ms4, _ = timed("/v1/agreements?employer_id=%s&limit=50" % employers[0])
            print("  ?employer_id= (index walk): median %.2f ms" % ms4)
            ms5, _ = timed("/v1/agreements?limit=50")
            print("  no filter: median %.2f ms" % ms5)
            c.close()
        print("reminder scan at start, %d due of %d: %s" % (due, n, first))
        with Stack(data_dir=d, now=now, services=("agreements",)):
            print("the same day again, nothing due: %s" % scan_line(d, TODAY.isoformat(), 3))
        nxt = (TODAY + datetime.timedelta(days=1)).isoformat()
        with Stack(data_dir=d, now=nxt + "T10:00:00Z", services=("agreements",)):
            print("the next day: %s" % scan_line(d, nxt, 1))
        # Down for a month: every reminder of those 30 days is caught up at
        # once (the nearest sent, the rest skipped).
        later = (TODAY + datetime.timedelta(days=31)).isoformat()
        with Stack(data_dir=d, now=later + "T10:00:00Z", services=("agreements",)):
            print("after 30 days down: %s" % scan_line(d, later, 1))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
