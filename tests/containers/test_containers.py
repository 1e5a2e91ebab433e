"""The container image and compose file, run for real with rootful podman.

Runs deploy/podman.sh as an IT department would (install, setup, image, up),
under a project name and port of its own so that it never touches a stack
that runs on the same host, and checks:

- the image builds (with the debootstrapped base, no registry), and its size;
- compose up reaches /readyz, and how long that takes; the gateway's
  health check passes;
- the API is published on 127.0.0.1 only, and WH_PUBLIC_URL follows WH_PORT;
- data created through the API reads back;
- a service's process killed with SIGKILL is restarted by podman (restart:
  unless-stopped) and still has its data;
- compose down and up again keep every store (named volumes);
- workhealth-backup in the gateway's container copies every store into the
  shared backups volume, and workhealth-restore accepts the set.

At the end the project's containers and volumes are removed (WH_KEEP=1
leaves them). Slow (minutes: the first run debootstraps a base image), so
it is not part of `make test`: `make containers-test` runs it. As root.
"""

import http.client
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from stack import free_port, run  # noqa: E402

PODMAN_SH = os.path.join(ROOT, "deploy", "podman.sh")
PROJECT = os.environ.get("WH_TEST_PROJECT", "whtest")
IMAGE = "localhost/workhealth:test"
ADMIN = "containers-test-admin-token-0123456789"
PORT = free_port()
ENV = dict(os.environ, WH_PROJECT=PROJECT, WH_IMAGE=IMAGE, WH_PORT=str(PORT),
           WH_ADMIN_TOKEN=ADMIN)
for k in ("WH_BIND_ADDR", "WH_PUBLIC_URL"):
    ENV.pop(k, None)
SERVICES = ("agreements", "surveys", "screening", "notifications")
figures = {}


def sh(*args, check=True, timeout=1800):
    print("+ " + " ".join(args), flush=True)
    r = subprocess.run(args, env=ENV, timeout=timeout, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if check and r.returncode != 0:
        raise AssertionError("%s exited with %d:\n%s" % (" ".join(args), r.returncode,
                                                          r.stdout[-6000:]))
    return r.stdout


def podman(*args, check=True):
    return sh("podman", *args, check=check, timeout=300).strip()


def container(name):
    return "%s_%s_1" % (PROJECT, name)


def request(method, path, body=None, token=ADMIN, timeout=10):
    h = {"Authorization": "Bearer " + token} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw.startswith(b"{") else raw)
    finally:
        c.close()


def wait_ready(timeout=300):
    """Seconds until /readyz says ready (every service counted)."""
    start = time.time()
    last = None
    while time.time() - start < timeout:
        try:
            st, body = request("GET", "/readyz", token=None, timeout=3)
            last = (st, body)
            if st == 200:
                return time.time() - start
        except (OSError, http.client.HTTPException, ValueError) as e:
            last = e
        time.sleep(0.2)
    logs = "\n".join("--- %s\n%s" % (n, podman("logs", "--tail", "30", container(n), check=False))
                     for n in ("gateway",) + SERVICES)
    raise AssertionError("not ready after %d s: %r\n%s" % (timeout, last, logs))


def host_pid_of(name):
    """Host pid of wh-<name> in its container (PID 1 there is an init when
    compose asks for one, and the service its child)."""
    pid = int(podman("inspect", "--format", "{{.State.Pid}}", container(name)))
    for _ in range(2):
        with open("/proc/%d/comm" % pid) as fh:
            if fh.read().strip() == "wh-" + name:
                return pid
        with open("/proc/%d/task/%d/children" % (pid, pid)) as fh:
            kids = fh.read().split()
        assert len(kids) == 1, (name, pid, kids)
        pid = int(kids[0])
    raise AssertionError("no wh-%s process in %s" % (name, container(name)))


def test_image_and_stack():
    t0 = time.time()
    sh(PODMAN_SH, "install", "setup")
    sh(PODMAN_SH, "base")
    t1 = time.time()
    sh(PODMAN_SH, "image")
    figures["image build (s)"] = "%.0f" % (time.time() - t1)
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE))
    figures["image size (MB)"] = "%.1f" % (size / 1e6)

    sh(PODMAN_SH, "purge", check=False)  # a clean project, whatever an earlier run left
    try:
        t2 = time.time()
        sh(PODMAN_SH, "up")
        wait_ready()
        figures["up to ready (s)"] = "%.1f" % (time.time() - t2)

        # The image's own health check (run once here: podman runs it
        # periodically only under systemd).
        podman("healthcheck", "run", container("gateway"))

        # Published on loopback only, and links name the published port.
        ports = podman("port", container("gateway"))
        assert ports.strip() == "8080/tcp -> 127.0.0.1:%d" % PORT, ports
        env = podman("inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}",
                     container("notifications"))
        assert "WH_PUBLIC_URL=http://localhost:%d" % PORT in env.splitlines(), env
        # No secret in the container's configuration beyond what was passed.
        assert "WH_ADMIN_TOKEN" not in env, env

        st, org = request("POST", "/v1/organizations",
                          {"name": "Bezirksamt Mitte", "kind": "employer", "employees": 1600})
        assert st == 201, (st, org)
        st, ins = request("POST", "/v1/organizations",
                          {"name": "AOK Nordost", "kind": "insurer", "employees": 5000})
        assert st == 201, (st, ins)
        st, agr = request("POST", "/v1/agreements", {
            "employer_id": org["id"], "insurer_id": ins["id"], "title": "BGM 2027",
            "starts_on": "2027-01-01", "ends_on": "2028-12-31", "notice_days": 90})
        assert st == 201, (st, agr)
        st, tok = request("POST", "/v1/tokens", {"role": "coordinator", "org_ids": [org["id"]],
                                                 "label": "containers"})
        assert st == 201, (st, tok)

        def data_is_there():
            st, body = request("GET", "/v1/organizations/" + org["id"])
            assert st == 200 and body["name"] == "Bezirksamt Mitte", (st, body)
            st, body = request("GET", "/v1/agreements/" + agr["id"])
            assert st == 200 and body["title"] == "BGM 2027", (st, body)
            # The gateway's own store: the coordinator's token still works.
            st, body = request("GET", "/v1/organizations/" + org["id"], token=tok["token"])
            assert st == 200, (st, body)

        data_is_there()

        # A backup from inside the image: every container copies its store
        # into the shared backups volume, and the restore command accepts
        # the whole set (into the gateway's tmpfs; the root is read-only).
        t5 = time.time()
        out = podman("exec", container("gateway"), "workhealth-backup", "ct1")
        figures["backup of five stores (s)"] = "%.1f" % (time.time() - t5)
        assert out.splitlines()[-1].strip() == "/backups/ct1", out
        files = podman("exec", container("gateway"), "ls", "/backups/ct1").split()
        for n in ("gateway",) + SERVICES:
            assert n + ".db" in files and n + ".json" in files, files
        podman("exec", container("gateway"), "workhealth-restore", "/backups/ct1",
               "/tmp/restored")
        restored = podman("exec", container("gateway"), "ls", "/tmp/restored").split()
        for n in ("gateway",) + SERVICES:
            assert any(f.startswith(n) and f.endswith(".db") for f in restored), restored

        # SIGKILL the agreements process: podman restarts its container.
        before = podman("inspect", "--format", "{{.RestartCount}}", container("agreements"))
        victim = host_pid_of("agreements")
        os.kill(victim, 9)
        t3 = time.time()
        deadline = t3 + 120
        while time.time() < deadline:
            now = podman("inspect", "--format", "{{.State.Status}} {{.RestartCount}}",
                         container("agreements"), check=False)
            if now.startswith("running") and now.split()[-1] != before:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("agreements not restarted: %s" % now)
        wait_ready()
        figures["restart after SIGKILL (s)"] = "%.1f" % (time.time() - t3)
        assert host_pid_of("agreements") != victim
        data_is_there()

        # down and up again: the named volumes keep every store.
        sh(PODMAN_SH, "down")
        assert podman("ps", "-a", "--filter", "name=^%s_" % PROJECT, "--format",
                      "{{.Names}}") == ""
        vols = podman("volume", "ls", "--format", "{{.Name}}").split()
        for n in ("gateway",) + SERVICES:
            assert "%s_%s-data" % (PROJECT, n) in vols, vols
        t4 = time.time()
        sh(PODMAN_SH, "up")
        wait_ready()
        figures["up again to ready (s)"] = "%.1f" % (time.time() - t4)
        data_is_there()
    finally:
        if os.environ.get("WH_KEEP") != "1":
            sh(PODMAN_SH, "purge", check=False)
    figures["whole test (s)"] = "%.0f" % (time.time() - t0)
    for k, v in figures.items():
        print("%-28s %s" % (k, v))


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.stderr.write("the container test needs root (rootful podman)\n")
        sys.exit(2)
    run([test_image_and_stack])
