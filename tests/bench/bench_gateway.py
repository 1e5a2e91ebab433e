"""Benchmark: the request path against nginx, measured in the same run.

Starts Debian's nginx serving a static 200-byte JSON file and the workhealth
stack, then runs wrk alternately against each (ROUNDS rounds, 64
connections) and prints req/s, p50 and p99 as medians over the rounds, and
the ratios. Client and servers share the machine's cores, so absolute
figures mean little; the ratios are the result. Also prints the stack's
idle RSS (all five processes) and the time from start to ready.

Run: /usr/bin/python3 tests/bench/bench_gateway.py [build-dir]
Targets: >= 70 % of nginx's req/s, p99 <= 2x nginx's, RSS <= 30 MB,
ready <= 1 s.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from stack import Stack, free_port  # noqa: E402

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
DURATION = os.environ.get("BENCH_DURATION", "5s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
THREADS = "2"


def start_nginx(tmp):
    port = free_port()
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    # nginx's workers drop to www-data: the document root must be readable.
    os.chmod(tmp, 0o755)
    os.chmod(root, 0o755)
    body = ('{"id":"01JD0000000000000000000000","name":"Bezirksamt Mitte","kind":"employer",'
            '"employees":1600,"region":"Berlin","sector":null,"created_at":"2026-01-01"}')
    body = body + " " * (200 - len(body))
    with open(os.path.join(root, "org.json"), "w") as f:
        f.write(body)
    os.chmod(os.path.join(root, "org.json"), 0o644)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""
worker_processes auto;
error_log %(tmp)s/nginx-error.log;
pid %(tmp)s/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 1000000;
  client_body_temp_path %(tmp)s/body;
  proxy_temp_path %(tmp)s/proxy;
  fastcgi_temp_path %(tmp)s/fastcgi;
  uwsgi_temp_path %(tmp)s/uwsgi;
  scgi_temp_path %(tmp)s/scgi;
  server { listen 127.0.0.1:%(port)d; root %(root)s; }
}
""" % {"tmp": tmp, "port": port, "root": root})
    p = subprocess.Popen(["/usr/sbin/nginx", "-c", conf, "-p", tmp, "-g", "daemon off;"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            import urllib.request
            urllib.request.urlopen("http://127.0.0.1:%d/org.json" % port, timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    return p, "http://127.0.0.1:%d/org.json" % port


def ms(value, unit):
    f = float(value)
    return f * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, headers=()):
    cmd = ["wrk", "-t", THREADS, "-c", str(CONNECTIONS), "-d", DURATION, "--latency"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict((p, ms(v, u)) for p, v, u in
               re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit("wrk saw %s non-2xx responses from %s" % (errors.group(1), url))
    return rps, lat["50"], lat["99"]


def mem_kb(pid, field):
    """Rss or Pss of a process from smaps_rollup, in KiB. RSS counts shared
    library pages in every process that maps them; PSS divides them among
    the processes, so the PSS sum is what the five really occupy."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    if len(sys.argv) > 1:
        os.environ["WH_BIN_DIR"] = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="wh-bench-")
    nginx, nginx_url = start_nginx(tmp)
    try:
        # Access logs off on both sides: nginx's config says access_log off.
        stack = Stack(env={"WH_LOG_LEVEL": "warn"})
        t0 = time.monotonic()
        stack.start(wait_ready=False)
        stack.wait_ready(timeout=10)
        ready_s = time.monotonic() - t0
        try:
            org = stack.org()
            time.sleep(1.0)
            rss = sum(mem_kb(p.pid, "Rss") for p in stack.procs.values())
            pss = sum(mem_kb(p.pid, "Pss") for p in stack.procs.values())
            url = "http://127.0.0.1:%d/v1/organizations/%s" % (stack.port, org["id"])
            auth = ["Authorization: Bearer " + stack.admin]
            wrk(url, auth)  # warm-up
            results = {"nginx": [], "stack": []}
            for _ in range(ROUNDS):
                results["nginx"].append(wrk(nginx_url))
                results["stack"].append(wrk(url, auth))
        finally:
            stack.stop()
            shutil.rmtree(stack.data_dir, ignore_errors=True)
    finally:
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3))
           for k, v in results.items()}
    print("%d connections, %s x %d rounds, medians" % (CONNECTIONS, DURATION, ROUNDS))
    print("%-28s %10s %9s %9s" % ("", "req/s", "p50 ms", "p99 ms"))
    print("%-28s %10.0f %9.3f %9.3f" % (("nginx static 200 B",) + med["nginx"]))
    print("%-28s %10.0f %9.3f %9.3f" % (("GET /v1/organizations/{id}",) + med["stack"]))
    rps_ratio = med["stack"][0] / med["nginx"][0]
    p99_ratio = med["stack"][2] / med["nginx"][2]
    print("ratio req/s stack/nginx: %.2f (target >= 0.70)" % rps_ratio)
    print("ratio p99 stack/nginx:   %.2f (target <= 2.00)" % p99_ratio)
    print("idle RSS, five processes: %.1f MB summed, %.1f MB PSS (target <= 30)"
          % (rss / 1024.0, pss / 1024.0))
    print("start to ready: %.3f s (target <= 1)" % ready_s)


if __name__ == "__main__":
    main()
