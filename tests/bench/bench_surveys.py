"""Benchmark: survey results end to end against the best bare SQL aggregate,
and responses per second through the public endpoint.

1. A survey of 40 questions (10 dimensions) over 50 units (5 departments of
   9 teams) gets 6,500 respondents through POST /v1/public/surveys/{id}/
   responses, is closed, and GET /v1/surveys/{id}/results?by=unit is timed
   end to end through the gateway (HTTP, broker, scoring of every
   respondent, suppression of 11 tables, JSON): the median of ROUNDS
   requests on a keep-alive connection.
2. The same answers, one row per answer (260,000 rows), go into a separate
   SQLite file with a covering index on (unit, question, value); the sqlite3
   shell times the cheapest aggregate that yields mean and standard
   deviation per unit and question (GROUP BY unit, question over the index,
   no sort, no scoring, no suppression, no HTTP): the median of ROUNDS runs
   after a warm-up. Both are printed with their ratio (target: results end
   to end no slower than the bare aggregate, ratio <= 1).
3. Responses per second: wrk with CONNECTIONS connections posts responses,
   each with a code of its own, to a second open survey for DURATION.

Client and servers share the machine's cores. Build without sanitizers:
   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel
Run: /usr/bin/python3 tests/bench/bench_surveys.py [build-dir]
"""

import http.client
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from stack import Stack  # noqa: E402
import surveylib as sl  # noqa: E402

RESPONDENTS = 6500
DEPARTMENTS, TEAMS = 5, 9  # 5 + 45 = 50 units
DIMS, PER_DIM = 10, 4      # 40 questions
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
DURATION = os.environ.get("BENCH_DURATION", "5s")
LOAD_CODES = int(os.environ.get("BENCH_LOAD_CODES", "60000"))
SERVICES = ("agreements", "surveys", "notifications")

WRK_LUA = r"""
-- Each wrk thread posts its own slice of the bodies, one code each.
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  bodies = {}
  local n = 0
  for line in io.lines(args[1]) do
    if n % tonumber(args[2]) == tid then bodies[#bodies + 1] = line end
    n = n + 1
  end
  i = 0
end
function request()
  i = i + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                    bodies[i] or bodies[1])
end
"""


def definition(org_id):
    units = []
    for d in range(DEPARTMENTS):
        units.append({"key": "d%d" % d, "name": "Abteilung %d" % d})
        for t in range(TEAMS):
            units.append({"key": "d%dt%d" % (d, t), "name": "Team %d.%d" % (d, t),
                          "parent": "d%d" % d})
    dims = [{"key": "dim%d" % i, "title": {"de": "Dimension %d" % i},
             "higher_is_better": i % 3 != 0} for i in range(DIMS)]
    qs = [{"key": "q%02d" % (i * PER_DIM + j), "dimension": "dim%d" % i,
           "text": {"de": "Frage %d.%d" % (i, j)}, "scale": {"min": 1, "max": 5},
           "reverse": j == 3} for i in range(DIMS) for j in range(PER_DIM)]
    return {"org_id": org_id, "title": "Befragung", "languages": ["de"], "dimensions": dims,
            "questions": qs, "units": units, "anonymity_threshold": 5}


def answers(rnd):
    return {"q%02d" % q: rnd.randint(1, 5) for q in range(DIMS * PER_DIM) if rnd.random() > 0.05}


def post_all(port, path, bodies, threads=16):
    """Posts bodies over keep-alive connections; returns the statuses."""
    statuses = []
    lock = threading.Lock()
    chunks = [bodies[i::threads] for i in range(threads)]

    def work(chunk):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        got = []
        for b in chunk:
            c.request("POST", path, body=b, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            got.append(r.status)
        c.close()
        with lock:
            statuses.extend(got)

    ts = [threading.Thread(target=work, args=(ch,)) for ch in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return statuses


def issue(s, sid, count, unit=None):
    out = []
    while count > 0:
        n = min(count, 5000)
        body = {"count": n}
        if unit:
            body["unit"] = unit
        # A second token hands out the codes: the one that receives codes
        # in clear may not read the results.
        r = s.post("/v1/surveys/%s/codes" % sid, body, timeout=60, token=sl.issuer(s))
        assert r.status == 201, r
        out += r.json()["codes"]
        count -= n
    return out


def seed(s, org_id):
    """The results survey: 6,500 respondents over the 50 units."""
    r = s.post("/v1/surveys", definition(org_id))
    assert r.status == 201, r
    sid = r.json()["id"]
    rnd = random.Random(42)
    units = [u["key"] for u in definition(org_id)["units"]]
    per_unit = {u: 0 for u in units}
    for i in range(RESPONDENTS):
        per_unit[units[i % len(units)]] += 1
    bodies = []
    for u, n in per_unit.items():
        for c in issue(s, sid, n, u):
            bodies.append(json.dumps({"code": c, "language": "de", "answers": answers(rnd)}))
    assert s.post("/v1/surveys/%s/open" % sid).status == 200
    t0 = time.monotonic()
    statuses = post_all(s.port, "/v1/public/surveys/%s/responses" % sid, bodies)
    seed_s = time.monotonic() - t0
    assert statuses.count(201) == RESPONDENTS, {x: statuses.count(x) for x in set(statuses)}
    assert s.post("/v1/surveys/%s/close" % sid).status == 200
    return sid, seed_s


def time_results(s, sid):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    h = {"Authorization": "Bearer " + s.admin}
    times, size = [], 0
    for i in range(ROUNDS + 2):
        t0 = time.perf_counter()
        c.request("GET", "/v1/surveys/%s/results?by=unit" % sid, headers=h)
        r = c.getresponse()
        body = r.read()
        dt = time.perf_counter() - t0
        assert r.status == 200, body[:300]
        size = len(body)
        if i >= 2:  # two warm-up requests
            times.append(dt)
    c.close()
    res = json.loads(body)
    assert res["total"]["n"] == RESPONDENTS
    return statistics.median(times), size


def bare_sql(s, sid, tmp):
    """Copies the same answers into one row per answer with a covering
    index, and times the aggregate in the sqlite3 shell."""
    src = sqlite3.connect(os.path.join(s.data_dir, "surveys.db"))
    rows = src.execute("SELECT unit, answers FROM survey_responses WHERE survey_id = ?",
                       (sid,)).fetchall()
    src.close()
    path = os.path.join(tmp, "answers.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE answers (respondent INTEGER, unit INTEGER, question INTEGER,"
               " value INTEGER)")
    data = [(i, unit, q, a) for i, (unit, blob) in enumerate(rows)
            for q, a in enumerate(blob) if a != 255]
    db.executemany("INSERT INTO answers VALUES (?, ?, ?, ?)", data)
    db.execute("CREATE INDEX answers_cover ON answers(unit, question, value)")
    db.commit()
    db.execute("ANALYZE")
    db.close()
    query = ("SELECT unit, question, count(*), sum(value), sum(value * value)"
             " FROM answers GROUP BY unit, question;")
    plan = subprocess.run(["sqlite3", path, "EXPLAIN QUERY PLAN " + query], capture_output=True,
                          text=True, check=True).stdout
    assert "COVERING INDEX answers_cover" in plan, plan
    script = ".timer on\n.output /dev/null\n" + (query + "\n") * (ROUNDS + 2)
    out = subprocess.run(["sqlite3", path], input=script, capture_output=True, text=True,
                         check=True)
    real = [float(x) for x in re.findall(r"Run Time: real ([\d.]+)", out.stdout + out.stderr)]
    assert len(real) == ROUNDS + 2, out
    return statistics.median(real[2:]), len(data), plan.strip()


def load(s, org_id, tmp):
    """Responses per second at CONNECTIONS connections with wrk."""
    r = s.post("/v1/surveys", definition(org_id))
    sid = r.json()["id"]
    cs = issue(s, sid, LOAD_CODES)
    assert s.post("/v1/surveys/%s/open" % sid).status == 200
    rnd = random.Random(7)
    bodies = os.path.join(tmp, "bodies.txt")
    with open(bodies, "w") as f:
        for c in cs:
            f.write(json.dumps({"code": c, "language": "de", "answers": answers(rnd)}) + "\n")
    lua = os.path.join(tmp, "post.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    url = "http://127.0.0.1:%d/v1/public/surveys/%s/responses" % (s.port, sid)
    out = subprocess.run(["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", DURATION, "--latency",
                          "-s", lua, url, "--", bodies, "2"], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non2xx = int(non2xx.group(1)) if non2xx else 0
    lat = dict((p, v + u) for p, v, u in
               re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M))
    db = sqlite3.connect(os.path.join(s.data_dir, "surveys.db"))
    stored = db.execute("SELECT count(*) FROM survey_responses WHERE survey_id = ?",
                        (sid,)).fetchone()[0]
    db.close()
    return rps, total, non2xx, stored, lat


def main():
    if len(sys.argv) > 1:
        os.environ["WH_BIN_DIR"] = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="wh-bench-surveys-")
    env = {"WH_LOG_LEVEL": "warn", "WH_PUBLIC_RATE_PER_S": "1000000000",
           "WH_PUBLIC_BURST": "1000000000"}
    try:
        with Stack(services=SERVICES, env=env) as s:
            org = s.org()
            sid, seed_s = seed(s, org["id"])
            e2e_s, size = time_results(s, sid)
            sql_s, n_rows, plan = bare_sql(s, sid, tmp)
            rps, total, non2xx, stored, lat = load(s, org["id"], tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("survey: %d respondents x %d questions over %d units (seeded through the public "
          "endpoint in %.1f s, 16 client threads)" % (RESPONDENTS, DIMS * PER_DIM,
                                                      DEPARTMENTS * (TEAMS + 1), seed_s))
    print("results end to end (GET .../results?by=unit, %d B JSON), median of %d: %8.2f ms"
          % (size, ROUNDS, e2e_s * 1e3))
    print("bare SQL aggregate, %d answer rows, covering index, median of %d:  %8.2f ms"
          % (n_rows, ROUNDS, sql_s * 1e3))
    print("  plan: %s" % plan.replace("\n", " | "))
    print("ratio end to end / bare SQL: %.2f (target <= 1.00)" % (e2e_s / sql_s))
    print("responses through the public endpoint, %d connections, %s: %.0f responses/s "
          "(p50 %s, p99 %s; %d requests, %d non-2xx, %d stored)"
          % (CONNECTIONS, DURATION, rps, lat.get("50"), lat.get("99"), total, non2xx, stored))


if __name__ == "__main__":
    main()
