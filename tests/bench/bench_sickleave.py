"""Benchmark: the insurer's sick-leave figures through the stack against
bare SQLite on the same disk, measured in the same run.

1. Import of 100,000 rows (200 employers x 50 units x a total and nine
   ICD-10 chapters, one year) as one text/csv POST /v1/sick-leave/imports:
   the gateway turns the CSV into a table, the surveys service checks every
   cell and the rows against each other and the stored periods, and inserts
   them in one transaction (synchronous=FULL). Against sickleave_bare
   inserting the same rows from the same file into the same schema in one
   transaction. Target: a few seconds.
2. The figures of one employer with 6,500 insured staff in 50 units
   (GET /v1/sick-leave?by=unit, and by=icd_chapter), sequential requests
   on one keep-alive connection, against sickleave_bare running the plain
   SQL aggregate (units and total) on the same rows.

Medians of ROUNDS rounds (default 3); each round imports another year.
Build without sanitizers for figures worth quoting:
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build-bench
Run: /usr/bin/python3 tests/bench/bench_sickleave.py build-bench
(--quick: one small round, as the test that keeps this working.)"""

import http.client
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from stack import Stack  # noqa: E402

QUICK = "--quick" in sys.argv
ROUNDS = 1 if QUICK else int(os.environ.get("BENCH_ROUNDS", "3"))
EMPLOYERS = 20 if QUICK else 200
UNITS = 50
INSURED = 130  # x 50 units = 6,500 staff
CHAPTERS = ["", "I", "II", "IV", "V", "IX", "X", "XI", "XIII", "XIX"]
READS = 20 if QUICK else 300


def csv_rows(orgs, period):
    out = ["org_id,unit,period,insured,cases,days,icd_chapter"]
    for i, org in enumerate(orgs):
        for u in range(UNITS):
            insured = INSURED if i == 0 else 40 + (u * 7 + i) % 200
            for ch in CHAPTERS:
                cases, days = (60, 900) if ch == "" else (6, 80)
                out.append("%s,Unit %02d,%s,%d,%d,%d,%s" % (org, u, period, insured, cases, days,
                                                            ch))
    return ("\n".join(out) + "\n").encode()


def bare(bin_dir, *args):
    return subprocess.run([os.path.join(bin_dir, "sickleave_bare")] + [str(a) for a in args],
                          capture_output=True, text=True, check=True).stdout


def reads(port, token, path, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        r.read()
        times.append(time.perf_counter() - t)
        assert r.status == 200, r.status
    c.close()
    return statistics.median(times) * 1e6


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if args:
        os.environ["WH_BIN_DIR"] = os.path.abspath(args[0])
    bin_dir = os.environ.get("WH_BIN_DIR", os.path.join(os.getcwd(), "build"))
    with Stack(env={"WH_LOG_LEVEL": "warn"}) as s:
        insurer = s.org("AOK Bench", kind="insurer")["id"]
        orgs = [s.org("Amt %d" % i)["id"] for i in range(EMPLOYERS)]
        csv_path = os.path.join(s.data_dir, "bench.csv")
        db = os.path.join(s.data_dir, "bare.db")
        imp = {"service": [], "bare": []}
        for rnd in range(ROUNDS):
            period = str(2015 + rnd)
            body = csv_rows(orgs, period)
            with open(csv_path, "wb") as f:
                f.write(body)
            t = time.perf_counter()
            r = s.request("POST", "/v1/sick-leave/imports?insurer_id=%s" % insurer, raw=body,
                          headers={"Content-Type": "text/csv"}, timeout=120)
            imp["service"].append(time.perf_counter() - t)
            assert r.status == 201, r
            rows = r.json()["rows"]
            m = re.match(r"rows (\d+) seconds ([\d.]+)", bare(bin_dir, "insert", db, csv_path))
            assert int(m.group(1)) == rows
            imp["bare"].append(float(m.group(2)))
        svc, raw = statistics.median(imp["service"]), statistics.median(imp["bare"])
        print("sick-leave import, %d rows (%.1f MB CSV), median of %d rounds:"
              % (rows, len(body) / 1e6, ROUNDS))
        print("  service %.3f s (%.0f rows/s)   bare SQLite %.3f s (%.0f rows/s)   ratio %.1fx"
              % (svc, rows / svc, raw, rows / raw, svc / raw))

        period = str(2015 + ROUNDS - 1)
        ndays = 366 if int(period) % 4 == 0 else 365
        token = s.token("coordinator", [orgs[0]])
        base = "/v1/sick-leave?org_id=%s&period=%s" % (orgs[0], period)
        med = {"unit": [], "icd_chapter": [], "bare": []}
        for _ in range(ROUNDS):
            med["unit"].append(reads(s.port, token, base + "&by=unit", READS))
            med["icd_chapter"].append(reads(s.port, token, base + "&by=icd_chapter", READS))
            out = bare(bin_dir, "aggregate", db, orgs[0], period, ndays, READS)
            med["bare"].append(float(re.match(r"median_us ([\d.]+)", out).group(1)))
        u, c, b = (statistics.median(med[k]) for k in ("unit", "icd_chapter", "bare"))
        print("one employer, %d staff in %d units, median request latency (%d reads x %d rounds):"
              % (UNITS * INSURED, UNITS, READS, ROUNDS))
        print("  by=unit %.0f us   by=icd_chapter %.0f us   bare SQL aggregate %.0f us   "
              "ratios %.1fx / %.1fx" % (u, c, b, u / b, c / b))


if __name__ == "__main__":
    main()
