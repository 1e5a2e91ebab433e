"""deploy/run-stack.sh (what `make run` starts) keeps the stack serving.

- Every process of the stack in turn, the gateway included, is killed with
  SIGKILL while writers create organisations (the agreements store) and
  tokens (the gateway's store): the launcher restarts it, the stack serves
  again, and every write that was acknowledged is there at the end.
- A process that fails at every start is a crash loop: the launcher stops
  the whole stack and says why.
- SIGTERM to the launcher, or Ctrl-C (SIGINT to its process group), stops
  everything, also while a restart is pending: no process of the launcher's
  process group is left.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from stack import (SANITIZER_MARKS, SERVICES, Stack, Worker, _die_with_parent,  # noqa: E402
                   join_all, run)

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                        "run-stack.sh")
STARTED = re.compile(r"started wh-(\w+) \(pid (\d+)\)")


def group_members(pgid):
    """Pids of the live processes in process group pgid. A zombie has ended
    already; one whose parent has gone waits for the machine's init to reap
    it, which in some containers takes its time."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d))
    return out


def describe(pids):
    out = []
    for p in pids:
        try:
            with open("/proc/%d/cmdline" % p, "rb") as fh:
                out.append("%d %s" % (p, fh.read().replace(b"\0", b" ").decode(errors="replace")))
        except OSError:
            out.append("%d (gone)" % p)
    return out


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Supervised(Stack):
    """The stack as run-stack.sh runs it: the stack helpers' requests and
    readiness checks, with the launcher as the only process the test starts.
    The launcher leads a process group of its own, so that the test can
    find every process it left behind."""

    def __init__(self, env=None, bin_dir=None):
        super().__init__(env=env, bin_dir=bin_dir)
        self.launcher = None
        self.log_path = os.path.join(self.data_dir, "launcher.log")

    def start(self, wait_ready=True):
        e = self.env()
        e.setdefault("WH_STOP_GRACE", "10")
        with open(self.log_path, "ab") as log:
            self.launcher = subprocess.Popen([LAUNCHER, self.bin_dir], env=e, stdout=log,
                                             stderr=log, start_new_session=True,
                                             preexec_fn=_die_with_parent)
        if wait_ready:
            self.wait_ready(timeout=30)

    def log(self):
        with open(self.log_path, errors="replace") as fh:
            return fh.read()

    def launcher_lines(self):
        """The launcher's own lines, as "run-stack.sh: <msg>" (the file holds
        every process's JSON lines; each line, the launcher's too, must be
        one JSON object)."""
        out = []
        # (A line still being written is left for the next look.)
        for ln in self.log().split("\n")[:-1]:
            rec = json.loads(ln)
            if rec["service"] == "run-stack":
                out.append("run-stack.sh: " + rec["msg"])
        return out

    def pids(self):
        """Name -> pid of each process the launcher started last."""
        out = {}
        for ln in self.launcher_lines():
            m = STARTED.search(ln)
            if m:
                out[m.group(1)] = int(m.group(2))
        return out

    def wait_exit(self, timeout=60):
        try:
            return self.launcher.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("launcher still running after %d s\n%s" % (timeout, self.log()))

    def stop(self, check=True):
        if self.launcher is None:
            return
        pgid = self.launcher.pid
        if self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGTERM)
            try:
                self.launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        left = group_members(pgid)
        if left:
            os.killpg(pgid, signal.SIGKILL)
            self.launcher.wait()
        if check and not self.checked:
            self.checked = True
            assert not left, "processes left behind: %r\n%s" % (left, self.log())
            found = self.problems()
            assert not found, "\n".join(found)
            assert self.launcher.returncode == 0, "launcher exited with %d\n%s" % (
                self.launcher.returncode, self.log())

    def problems(self):
        """Sanitizer reports in the shared log (the processes' exits are
        the launcher's to judge, and the tests check what it said)."""
        lines = self.log().splitlines()
        hits = [i for i, ln in enumerate(lines) if any(m in ln for m in SANITIZER_MARKS)]
        return ["a process wrote a sanitizer report:\n" + "\n".join(lines[hits[0]:hits[0] + 40])
                ] if hits else []

    def logs(self):
        try:
            return "--- launcher.log\n" + self.log()[-6000:]
        except OSError:
            return ""


def fast_restarts(**extra):
    env = {"WH_RESTART_DELAY_MS": "100", "WH_RESTART_MAX_MS": "400"}
    env.update(extra)
    return env


def test_kill_each_under_writes():
    with Supervised(env=fast_restarts()) as s:
        home = s.org()["id"]  # the organisation the new tokens cover
        acked_orgs = {}    # org id -> name, answered 201
        acked_tokens = set()
        unanswered = []    # (path, body, key) with no known outcome
        lock = threading.Lock()
        stop = threading.Event()
        failed = threading.Event()

        def writer(kind):
            i = 0
            while not stop.is_set() and not failed.is_set():
                key = "%s-%d" % (kind, i)
                i += 1
                if kind == "org":
                    path, body = "/v1/organizations", {"name": "Org " + key, "kind": "employer",
                                                        "employees": i}
                else:
                    path, body = "/v1/tokens", {"role": "coordinator", "org_ids": [home],
                                                "label": key}
                try:
                    r = s.post(path, body, headers={"Idempotency-Key": key}, timeout=5)
                except OSError:
                    with lock:
                        unanswered.append((path, body, key))
                    time.sleep(0.1)  # the gateway may be down: no busy loop
                    continue
                with lock:
                    if r.status == 201:
                        if kind == "org":
                            acked_orgs[r.json()["id"]] = body["name"]
                        else:
                            acked_tokens.add(r.json()["id"])
                    elif r.status in (503, 504):
                        unanswered.append((path, body, key))
                    else:
                        raise AssertionError("%s: unexpected %r" % (key, r))

        def acked():
            with lock:
                return len(acked_orgs) + len(acked_tokens)

        workers = [Worker(writer, (k,), failed, name=k + "-writer") for k in ("org", "token")]
        for w in workers:
            w.start()
        try:
            for name in ("gateway",) + SERVICES:
                wait_for(lambda: acked() >= 10 or failed.is_set(), 30, "first writes")
                old = s.pids()[name]
                os.kill(old, signal.SIGKILL)
                wait_for(lambda: s.pids()[name] != old or failed.is_set(), 30,
                         "wh-%s to be restarted" % name)
                s.wait_ready(timeout=30)
                # The stack serves again: writes are acknowledged after the restart.
                before = acked()
                wait_for(lambda: acked() >= before + 10 or failed.is_set(), 30,
                         "writes after wh-%s restarted" % name)
                assert not failed.is_set()
        finally:
            stop.set()
            join_all(workers, timeout=60)

        restarted = {m.group(1) for m in
                     (re.search(r"wh-(\w+) \(pid \d+\) was killed by SIGKILL .*restarting", ln)
                      for ln in s.launcher_lines()) if m}
        assert restarted == {"gateway"} | set(SERVICES), s.launcher_lines()

        # Unanswered requests, repeated with their key, settle to one result
        # (a token's secret is never stored, so a repeat of a token that was
        # created says so instead of answering 201 again).
        for path, body, key in unanswered:
            r = s.post(path, body, headers={"Idempotency-Key": key})
            assert r.status == 201 or (
                r.status == 409 and r.json()["type"] == "/problems/secret-shown-once"), (key, r)

        for org_id, name in acked_orgs.items():
            r = s.get("/v1/organizations/" + org_id)
            assert r.status == 200 and r.json()["name"] == name, "acknowledged %s lost: %r" % (
                org_id, r)
        listed, cursor = set(), ""
        while True:
            r = s.get("/v1/tokens?limit=500" + ("&cursor=" + cursor if cursor else ""))
            assert r.status == 200, r
            listed |= {t["id"] for t in r.json()["items"]}
            cursor = r.json().get("next_cursor")
            if not cursor:
                break
        lost = acked_tokens - listed
        assert not lost, "acknowledged tokens lost: %r" % sorted(lost)
        print("acknowledged %d organisations and %d tokens, %d unanswered; all kept"
              % (len(acked_orgs), len(acked_tokens), len(unanswered)))
        s.stop()
        assert s.launcher_lines()[-1] == "run-stack.sh: stopped", s.launcher_lines()[-3:]


def test_crash_loop_stops_the_stack():
    bin_dir = tempfile.mkdtemp(prefix="wh-bin-")
    try:
        real = os.environ.get("WH_BIN_DIR", os.path.join(os.getcwd(), "build"))
        for name in ("gateway",) + SERVICES:
            os.symlink(os.path.join(os.path.abspath(real), "wh-" + name),
                       os.path.join(bin_dir, "wh-" + name))
        broken = os.path.join(bin_dir, "wh-screening")
        os.unlink(broken)
        with open(broken, "w") as fh:
            # (A log line as the real binaries write them: the launcher's
            # log must hold JSON lines only.)
            fh.write("#!/bin/sh\necho '{\"time\":\"2025-01-01T00:00:00.000Z\",\"level\":"
                     "\"error\",\"service\":\"screening\",\"msg\":\"cannot start\"}' >&2\n"
                     "exit 3\n")
        os.chmod(broken, 0o755)

        s = Supervised(env=fast_restarts(WH_CRASH_LIMIT="4"), bin_dir=bin_dir)
        try:
            s.start(wait_ready=False)
            rc = s.wait_exit(timeout=60)
            lines = s.launcher_lines()
            assert rc == 1, (rc, lines)
            loop = [ln for ln in lines if "crash loop" in ln]
            assert len(loop) == 1 and "wh-screening" in loop[0] and "exited with status 3" in loop[0], lines
            assert lines[-1] == "run-stack.sh: stopped after a failure", lines[-3:]
            restarts = [ln for ln in lines if "wh-screening" in ln and "restarting it in" in ln]
            assert len(restarts) == 3, lines
            # The delay doubles: 0.1, 0.2, then the 0.4 s ceiling.
            assert [re.search(r"in ([\d.]+) s", ln).group(1) for ln in restarts] == [
                "0.100", "0.200", "0.400"], restarts
            assert group_members(s.launcher.pid) == []
        finally:
            s.stop(check=False)
            shutil.rmtree(s.data_dir, ignore_errors=True)
    finally:
        shutil.rmtree(bin_dir, ignore_errors=True)


def test_stop_while_a_restart_is_pending():
    """Ctrl-C in a terminal: SIGINT to the whole process group, while one
    process waits a long restart delay."""
    with Supervised(env={"WH_RESTART_DELAY_MS": "60000"}) as s:
        os.kill(s.pids()["surveys"], signal.SIGKILL)
        wait_for(lambda: any("restarting it in 60.000 s" in ln for ln in s.launcher_lines()),
                 30, "the restart to be scheduled")
        os.killpg(s.launcher.pid, signal.SIGINT)
        rc = s.wait_exit(timeout=60)
        assert rc == 0, (rc, s.launcher_lines())
        assert "run-stack.sh: SIGINT: stopping the stack" in s.launcher_lines()
        left = group_members(s.launcher.pid)
        assert left == [], describe(left)


if __name__ == "__main__":
    run([test_kill_each_under_writes, test_crash_loop_stops_the_stack,
         test_stop_while_a_restart_is_pending])
