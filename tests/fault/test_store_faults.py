"""No client is ever told "stored" for a write that was not committed, on
every error path of the service loop (services/runtime/service.c), and the service
keeps serving once the fault clears.

The faults are made in the store itself, from outside the service, by the
means SQLite gives any second connection; the service binaries are the
production ones, with no switch for tests:
- BEGIN fails: another connection holds the write lock longer than the
  service's busy timeout;
- a statement fails half way through a request: a trigger aborts the
  request's second statement (its event), after its first one (the row)
  ran;
- COMMIT fails: a trigger leaves a deferred foreign-key violation, which
  SQLite checks only at COMMIT, so the whole batch's transaction is lost;
- fsync fails: a library preloaded into the service (fsync_fault.c, built
  beside the tests) fails fsync while a flag file exists, so COMMIT fails
  where it syncs the write-ahead log;
- fsync is slow: the same library holds fsync while another flag file
  exists, longer than the broker's liveness window, so the service's loop
  sends no heartbeat meanwhile.
Requests are made into one batch by holding the service with SIGSTOP while
they queue, as a busy service would see them.
"""

import os
import re
import signal
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from stack import Stack, Worker, join_all, run  # noqa: E402

SERVICES = ("agreements",)
BATCH = 8


def connect(s):
    db = sqlite3.connect(os.path.join(s.data_dir, "agreements.db"), isolation_level=None,
                         timeout=10)
    db.execute("PRAGMA foreign_keys=ON")
    return db


def stored_names(db):
    return {row[0] for row in db.execute("SELECT name FROM organizations")}


def create(s, name, key=None, timeout=15):
    h = {"Idempotency-Key": key} if key else {}
    return s.post("/v1/organizations", {"name": name, "kind": "employer", "employees": 3},
                  headers=h, timeout=timeout)


def one_batch(s, names):
    """Sends one create per name while the service is stopped, so that it
    reads them all at once when it resumes: one batch, one transaction.
    Returns {name: status}."""
    got = {}
    lock = threading.Lock()

    def send(name):
        r = create(s, name, key="key-" + name)
        with lock:
            got[name] = r.status

    p = s.procs["agreements"]
    p.send_signal(signal.SIGSTOP)
    try:
        workers = [Worker(send, (n,), name=n) for n in names]
        for w in workers:
            w.start()
        time.sleep(0.6)  # every request reaches the service's queue
    finally:
        p.send_signal(signal.SIGCONT)
    join_all(workers, timeout=30)
    return got


def assert_nothing_unstored_acknowledged(db, got):
    names = stored_names(db)
    for name, status in got.items():
        if 200 <= status < 300:
            assert name in names, "%s answered %d but not stored" % (name, status)
        else:
            assert name not in names, "%s answered %d but stored" % (name, status)


def test_begin_fails():
    """The write lock is held elsewhere past the busy timeout: BEGIN fails,
    the write is answered 503 and not stored; reads go on meanwhile; the
    write succeeds once the lock is released."""
    with Stack(services=SERVICES) as s:
        db = connect(s)
        holder = connect(s)
        holder.execute("BEGIN IMMEDIATE")
        try:
            r = create(s, "Blocked")
            assert r.status == 503, r
            assert r.json()["type"] == "/problems/store-unavailable", r
            assert s.get("/v1/organizations").status == 200  # readers are not held up
        finally:
            holder.execute("ROLLBACK")
        assert "Blocked" not in stored_names(db)
        r = create(s, "Blocked")
        assert r.status == 201, r
        assert "Blocked" in stored_names(db)


def test_statement_fails_mid_request():
    """The request's event cannot be written after its row was: the request
    fails as a whole (its row is rolled back with it), and the others of its
    batch are stored and acknowledged."""
    with Stack(services=SERVICES) as s:
        db = connect(s)
        db.execute("CREATE TRIGGER fault_stmt BEFORE INSERT ON wh_outbox"
                   " WHEN instr(NEW.data, CAST('Faulty' AS BLOB)) > 0"
                   " BEGIN SELECT RAISE(ABORT, 'injected fault'); END")
        names = ["Faulty"] + ["Neighbour %d" % i for i in range(BATCH - 1)]
        got = one_batch(s, names)
        print("statement fault:", got)
        assert got["Faulty"] == 500, got
        assert all(got[n] == 201 for n in names[1:]), got
        assert_nothing_unstored_acknowledged(db, got)
        events = db.execute("SELECT count(*) FROM wh_outbox WHERE"
                            " instr(data, CAST('Faulty' AS BLOB)) > 0").fetchone()[0]
        assert events == 0
        db.execute("DROP TRIGGER fault_stmt")
        r = create(s, "Faulty", key="key-Faulty")
        assert r.status == 201, r
        assert "Faulty" in stored_names(db)


def test_commit_fails():
    """COMMIT fails: every request of the batch was run and had its reply
    packed, and every one of them is answered 503, none stored. Repeated
    with its Idempotency-Key after the fault is gone, each is stored once."""
    with Stack(services=SERVICES) as s:
        db = connect(s)
        db.executescript(
            "CREATE TABLE fault_parent(id INTEGER PRIMARY KEY);"
            "CREATE TABLE fault_child(parent INTEGER REFERENCES fault_parent(id)"
            " DEFERRABLE INITIALLY DEFERRED);"
            "CREATE TRIGGER fault_commit AFTER INSERT ON organizations"
            " WHEN NEW.name = 'Doomed' BEGIN INSERT INTO fault_child VALUES (-1); END;")
        before = stored_names(db)
        names = ["Doomed"] + ["Batchmate %d" % i for i in range(BATCH - 1)]
        got = one_batch(s, names)
        print("commit fault:", got)
        assert got["Doomed"] == 503, got
        assert_nothing_unstored_acknowledged(db, got)
        # The batch was one transaction: its neighbours were lost with it,
        # and their replies say so.
        assert sum(1 for n in names[1:] if got[n] == 503) >= 1, got
        assert stored_names(db) == before | {n for n in names if got[n] == 201}
        assert db.execute("SELECT count(*) FROM fault_child").fetchone()[0] == 0
        db.executescript("DROP TRIGGER fault_commit;")
        for n in names:
            r = create(s, n, key="key-" + n)
            assert r.status == 201, (n, r)
        rows = db.execute("SELECT name, count(*) FROM organizations GROUP BY name").fetchall()
        assert all(c == 1 for _, c in rows), rows
        assert set(names) <= stored_names(db)


def fsync_fault(variable, name):
    """A flag file's path in a new directory (not created yet) and the
    environment that preloads fsync_fault.c with variable naming it."""
    flag = os.path.join(tempfile.mkdtemp(prefix="wh-fsync-"), name)
    lib = os.path.join(os.environ.get("WH_BIN_DIR", "build"), "libwh_fsync_fault.so")
    assert os.path.exists(lib), lib
    return flag, {"LD_PRELOAD": lib, variable: flag,
                  # An AddressSanitizer build wants its runtime first; the
                  # preload comes first instead, which is harmless here.
                  "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
                  ":verify_asan_link_order=0"}


def test_fsync_fails():
    """fsync fails at COMMIT: the write is answered 503 and no client sees
    it; the service keeps serving once fsync works again. What a failed
    fsync left in the log may still be recovered after a crash (SQLite
    cannot take back frames it wrote), so a 503 here means "not known to be
    stored", as after a crash: repeated with its Idempotency-Key after the
    crash and recovery, the request yields exactly one organisation."""
    flag, env = fsync_fault("WH_FAULT_FSYNC_FILE", "fail")
    try:
        with Stack(services=SERVICES, env=env) as s:
            db = connect(s)
            assert create(s, "Synced").status == 201
            open(flag, "w").close()
            r = create(s, "Unsynced", key="key-unsynced")
            assert r.status == 503, r
            assert r.json()["type"] == "/problems/store-unavailable", r
            assert "Unsynced" not in stored_names(db)
            assert s.get("/v1/organizations").status == 200
            os.unlink(flag)
            r = create(s, "After the fault")
            assert r.status == 201, r
            # A crash now, and WAL recovery at the next start.
            s.kill("agreements", signal.SIGKILL)
            s.start_process("agreements")
            s.wait_serving("agreements")
            deadline = time.time() + 10
            while True:
                r = create(s, "Unsynced", key="key-unsynced")
                if r.status != 503 or time.time() > deadline:
                    break
                time.sleep(0.1)  # until the broker has the new instance
            assert r.status == 201, r
            rows = db.execute("SELECT name, count(*) FROM organizations GROUP BY name").fetchall()
            assert dict(rows) == {"Synced": 1, "Unsynced": 1, "After the fault": 1}, rows
    finally:
        if os.path.exists(flag):
            os.unlink(flag)
        os.rmdir(os.path.dirname(flag))


def test_fsync_slow():
    """A commit whose fsync takes 3 s, longer than the broker's 2 s liveness
    window: the service's loop sends no heartbeat meanwhile, but its socket
    stays connected, so the broker waits for it. The write is answered 201
    once it is on disk, not 503 while it is being stored, and the requests
    that arrived meanwhile are served after it."""
    flag, env = fsync_fault("WH_FAULT_FSYNC_SLOW_FILE", "slow")
    try:
        with Stack(services=SERVICES) as s:
            # Only the service syncs slowly (the gateway's store stays fast).
            s.kill("agreements", signal.SIGKILL)
            s.start_process("agreements", env=env)
            s.wait_serving("agreements")
            db = connect(s)
            deadline = time.time() + 10
            while True:  # until the broker has the new instance
                r = create(s, "Before", key="key-before")
                if r.status != 503 or time.time() > deadline:
                    break
                time.sleep(0.05)
            assert r.status == 201, r
            got = {}

            def slow_write():
                got["write"] = create(s, "Slow", key="key-slow", timeout=20)

            def read_meanwhile():
                time.sleep(0.5)
                got["read"] = s.get("/v1/organizations", timeout=20)

            open(flag, "w").close()
            workers = [Worker(slow_write, (), name="write"),
                       Worker(read_meanwhile, (), name="read")]
            for w in workers:
                w.start()
            time.sleep(3.0)
            assert not got, got  # both wait for the disk
            m = s.get("/metrics", token=None).body.decode()
            assert 'wh_service_instances{service="agreements"} 1' in m, m
            os.unlink(flag)
            join_all(workers, timeout=20)
            assert got["write"].status == 201, got["write"]
            assert "Slow" in stored_names(db)
            r = got["read"]
            assert r.status == 200, r
            assert "Before" in [o["name"] for o in r.json()["items"]], r.json()
            m = s.get("/metrics", token=None).body.decode()
            assert not re.search(r'route="ORGS_[A-Z]+",status="50[34]"', m), m
            assert "silent for" in s.logs(), s.logs()
    finally:
        if os.path.exists(flag):
            os.unlink(flag)
        os.rmdir(os.path.dirname(flag))


if __name__ == "__main__":
    run([test_begin_fails, test_statement_fails_mid_request, test_commit_fails,
         test_fsync_fails, test_fsync_slow])
