"""Instructions per request of one process, counted by callgrind: load on
the machine does not change them, unlike wall-clock rates. Runs the stack
with that process under valgrind, switches instrumentation on for the
workload only, and prints the count per request (or per result for a
batch). tests/bench/README.md, section Profiles, quotes its figures.

Run: /usr/bin/python3 tests/bench/profile_callgrind.py MODE PROCESS [build-dir]
  MODE     get (GET /v1/organizations/{id}), post (POST /v1/screenings,
           one in five at risk) or batch (POST /v1/screenings/batch of
           1,000 results)
  PROCESS  gateway, agreements or screening
Then: callgrind_annotate --inclusive=yes <the file it names>
PROFILE_N sets the requests (get, post) or results (batch); default 2000.
"""

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from stack import Stack  # noqa: E402
import screeninglib as sl  # noqa: E402
import bench_screening as bs  # noqa: E402

N = int(os.environ.get("PROFILE_N", "2000"))


def main():
    mode, who = sys.argv[1], sys.argv[2]
    build = os.path.abspath(sys.argv[3] if len(sys.argv) > 3 else "build")
    wrap = tempfile.mkdtemp(prefix="wh-callgrind-")
    out = os.path.join(wrap, "callgrind.%s.%s" % (mode, who))
    # A bin directory whose wh-<who> runs the real one under valgrind.
    for f in os.listdir(build):
        if f.startswith("wh-") or f == "pages":
            os.symlink(os.path.join(build, f), os.path.join(wrap, f))
    os.unlink(os.path.join(wrap, "wh-" + who))
    with open(os.path.join(wrap, "wh-" + who), "w") as f:
        f.write("#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no"
                " --callgrind-out-file=%s %s \"$@\"\n" % (out, os.path.join(build, "wh-" + who)))
    os.chmod(os.path.join(wrap, "wh-" + who), 0o755)
    env = {"WH_LOG_LEVEL": "warn", "WH_REQUEST_TIMEOUT_MS": "60000"}
    stack = Stack(env=env, bin_dir=wrap) if mode == "get" else \
        Stack(services=sl.SERVICES, env=env, bin_dir=wrap)
    stack.start(wait_ready=False)
    try:
        stack.wait_ready(timeout=60)
        time.sleep(2)  # valgrind is slow to settle
        if mode == "get":
            path, token = "/v1/organizations/" + stack.org()["id"], stack.admin
        else:
            tenant = sl.Tenant(stack)
            token = tenant.integ
        c = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=120)

        def request(method, path, body=None):
            c.request(method, path, body=body, headers={
                "Authorization": "Bearer " + token, "Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.status >= 300:
                raise SystemExit("%s %s: %d %s" % (method, path, r.status, data[:200]))

        if mode == "get":
            for _ in range(50):  # warm-up: the token cache, the statements
                request("GET", path)
        pid = str(stack.procs[who].pid)
        subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
        if mode == "get":
            for _ in range(N):
                request("GET", path)
        elif mode == "post":
            for i in range(N):
                request("POST", "/v1/screenings", json.dumps({
                    "org_id": tenant.id, "external_id": "e-%d" % i, "instrument": "phq9",
                    "subject": "s-%d" % i, "unit": "U%d" % (i % 20),
                    "taken_at": "2025-03-01T08:00:00Z", "language": "de",
                    "answers": [2, 2, 2, 2, 2, 0, 0, 0, 0] if i % 5 == 0
                    else [1, 0, 1, 0, 1, 0, 0, 1, 0]}))
        else:
            bs.BATCH_TOTAL = N
            for body in bs.batch_bodies(tenant.id, 1):
                request("POST", "/v1/screenings/batch", body)
        subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
    finally:
        stack.stop(check=False)
        shutil.rmtree(stack.data_dir, ignore_errors=True)
    dump = out + ".1"
    with open(dump) as f:
        total = next(int(line.split()[1]) for line in f if line.startswith("totals:"))
    print("%s %s: %.0f instructions per %s (%d); profile in %s"
          % (mode, who, total / N, "result" if mode == "batch" else "request", N, dump))


if __name__ == "__main__":
    main()
