"""Online backups: a backup taken while writes go on holds every write
acknowledged before it began, restores into an empty data directory, and a
stack started there serves it.

Writers create organisations (agreements) and push screening results
(screening) in threads; workhealth-backup runs in the middle. Every write
answered before the command started must be in the restored stack; writes
during the backup go on being answered. Also: the operation is admin only
(403), backup ids are checked (400), a store is copied into a backup once
(409), workhealth-restore refuses a non-empty target and a damaged copy,
and with WH_BACKUP_KEEP workhealth-backup has older copies removed once a
backup is complete.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import screeninglib  # noqa: E402
from stack import Stack, Worker, join_all, run  # noqa: E402

STORES = ("gateway", "agreements", "surveys", "screening", "notifications")
WRITERS = 2
# A write may wait for the copy's slice to reach the disk, never longer
# than this (generous: two cores shared with other tests).
MAX_WRITE_S = 5.0


def tool(s, name, *args, env=None):
    e = dict(os.environ)
    e.update({"WH_HTTP_ADDR": "127.0.0.1:%d" % s.port, "WH_ADMIN_TOKEN": s.admin,
              "WH_DATA_DIR": s.data_dir})
    e.update(env or {})
    return subprocess.run([os.path.join(s.bin_dir, name)] + list(args), env=e,
                          capture_output=True, text=True, timeout=120)


def smoke(s, tenant, org_ids, screening_ids):
    """What a restored stack must do: be ready, know the tokens of the
    backup, serve what was written and take new writes."""
    assert s.get("/healthz", token=None).status == 200
    assert s.get("/readyz", token=None).status == 200
    assert s.get("/v1/openapi.json", token=None).status == 200
    for oid in org_ids[:5] + org_ids[-5:]:
        assert s.get("/v1/organizations/" + oid).status == 200, oid
    for sid in screening_ids[:5] + screening_ids[-5:]:
        r = s.get("/v1/screenings/" + sid, token=tenant.oh)
        assert r.status == 200, (sid, r)
    assert s.post("/v1/organizations", {"name": "After restore", "kind": "employer",
                                        "employees": 3}).status == 201
    screeninglib.push(s, tenant, screeninglib.item(tenant.id, "after-restore"))


def test_backup_during_writes_and_restore():
    target = tempfile.mkdtemp(prefix="wh-restore-")
    os.rmdir(target)  # workhealth-restore creates it
    try:
        with Stack() as s:
            tenant = screeninglib.Tenant(s)
            # Some bulk first, so that the copy takes a while.
            for b in range(3):
                items = [screeninglib.item(tenant.id, "bulk-%d-%d" % (b, i))
                         for i in range(1000)]
                r = s.post("/v1/screenings/batch", {"items": items}, token=tenant.integ,
                           timeout=60)
                assert r.status == 200, r
            acked = []  # (monotonic time of the answer, kind, id)
            slowest = []
            lock = threading.Lock()
            stop = threading.Event()
            failed = threading.Event()

            def writer(n):
                i = 0
                while not stop.is_set() and not failed.is_set():
                    i += 1
                    t0 = time.monotonic()
                    if i % 2:
                        r = s.post("/v1/organizations", {"name": "W%d-%d" % (n, i),
                                                         "kind": "employer", "employees": i})
                        kind, key = "org", "id"
                    else:
                        r = s.post("/v1/screenings",
                                   screeninglib.item(tenant.id, "w%d-%d" % (n, i)),
                                   token=tenant.integ)
                        kind, key = "screening", "id"
                    t1 = time.monotonic()
                    assert r.status == 201, r
                    with lock:
                        acked.append((t1, kind, r.json()[key]))
                        slowest.append(t1 - t0)

            workers = [Worker(writer, (n,), failed) for n in range(WRITERS)]
            for w in workers:
                w.start()
            time.sleep(1.0)
            began = time.monotonic()
            out = tool(s, "workhealth-backup", "mid-load")
            ended = time.monotonic()
            time.sleep(0.5)
            stop.set()
            join_all(workers, timeout=30)
            assert out.returncode == 0, out.stderr
            bdir = out.stdout.strip()
            assert bdir == os.path.join(s.data_dir, "backups", "mid-load"), out
            for name in STORES:
                with open(os.path.join(bdir, name + ".json")) as f:
                    m = json.load(f)
                assert m["service"] == name and m["bytes"] > 0, m
                assert os.stat(os.path.join(bdir, name + ".db")).st_mode & 0o777 == 0o600
            before = [a for a in acked if a[0] < began]
            during = [a for a in acked if began <= a[0] < ended]
            assert len(before) > 10, len(before)
            assert max(slowest) < MAX_WRITE_S, max(slowest)
            print("writes: %d before the backup, %d during it (%.2f s), slowest %.3f s" % (
                len(before), len(during), ended - began, max(slowest)))

            # The same backup id again: each store is copied once.
            r = s.post("/v1/backups/mid-load/agreements", None)
            assert r.status == 409, r

            # Restoring refuses a non-empty target and leaves it alone.
            busy = tool(s, "workhealth-restore", bdir, s.data_dir)
            assert busy.returncode != 0 and "not empty" in busy.stderr, busy

            r = tool(s, "workhealth-restore", bdir, target)
            assert r.returncode == 0, r.stderr
            assert os.stat(target).st_mode & 0o777 == 0o700
            for name in STORES:
                assert os.stat(os.path.join(target, name + ".db")).st_mode & 0o777 == 0o600

        with Stack(data_dir=target) as s2:
            org_ids = [a[2] for a in before if a[1] == "org"]
            screening_ids = [a[2] for a in before if a[1] == "screening"]
            have_orgs = {row[0] for row in _rows(target, "agreements",
                                                 "SELECT id FROM organizations")}
            missing = [o for o in org_ids if o not in have_orgs]
            assert not missing, "acknowledged organisations lost: %r" % missing[:5]
            have_scr = {row[0] for row in _rows(target, "screening",
                                                "SELECT id FROM screenings")}
            missing = [x for x in screening_ids if x not in have_scr]
            assert not missing, "acknowledged screenings lost: %r" % missing[:5]
            smoke(s2, tenant, org_ids, screening_ids)
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _rows(data_dir, name, sql):
    import sqlite3
    c = sqlite3.connect("file:%s?mode=ro" % os.path.join(data_dir, name + ".db"), uri=True,
                        timeout=5)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


def test_admin_only_and_ids_checked():
    with Stack() as s:
        tenant = screeninglib.Tenant(s)
        for name in STORES:
            r = s.post("/v1/backups/b1/%s" % name, None, token=tenant.coord)
            assert r.status == 403, (name, r)
        assert s.post("/v1/backups/b1/screening", None, token=None).status == 401
        long_id = "a" * 65
        for bad in ("-x", ".hidden", "a%20b", "a%2Fb", "..", long_id):
            for name in ("gateway", "screening"):
                r = s.post("/v1/backups/%s/%s" % (bad, name), None)
                assert r.status in (400, 404), (bad, name, r)
                if bad not in ("..", "a%2Fb"):  # these never reach a route
                    assert r.status == 400, (bad, name, r)
        r = s.post("/v1/backups/%s/gateway" % ("a" * 64), None)
        assert r.status == 201, r
        assert r.json()["backup_id"] == "a" * 64
        assert not os.path.exists(os.path.join(s.data_dir, "backups", "-x"))


def test_restore_refuses_a_damaged_backup():
    target = tempfile.mkdtemp(prefix="wh-restore-")
    os.rmdir(target)
    try:
        with Stack() as s:
            out = tool(s, "workhealth-backup", "b2")
            assert out.returncode == 0, out.stderr
            bdir = out.stdout.strip()
            damaged = bdir + "-damaged"
            shutil.copytree(bdir, damaged)
            with open(os.path.join(damaged, "agreements.db"), "r+b") as f:
                f.seek(200)
                b = f.read(1)
                f.seek(200)
                f.write(bytes([b[0] ^ 0xFF]))
            r = tool(s, "workhealth-restore", damaged, target)
            assert r.returncode != 0 and "SHA-256" in r.stderr, r
            assert not os.path.exists(target)
            os.remove(os.path.join(damaged, "surveys.json"))
            r = tool(s, "workhealth-restore", damaged, target)
            assert r.returncode != 0 and "manifest" in r.stderr, r
            # A stack that is not there: the command says so and fails.
            r = tool(s, "workhealth-backup", "b3",
                     env={"WH_HTTP_ADDR": "127.0.0.1:1"})
            assert r.returncode != 0, r
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_old_backups_pruned():
    """WH_BACKUP_KEEP=2 for workhealth-backup: once every store is copied,
    each store keeps its two newest copies and the older ones go, with each
    backup directory left empty. A backup that failed for one store removes
    nothing; a removal cut short is finished by the next; what is not a
    backup of the store (another directory, a link) is left alone. The
    prune operation is admin only and checks its backup and keep."""
    with Stack() as s:
        root = os.path.join(s.data_dir, "backups")
        keep2 = {"WH_BACKUP_KEEP": "2"}
        os.makedirs(os.path.join(root, "notes"))
        with open(os.path.join(root, "notes", "agreements.json"), "w") as f:
            f.write("{}\n")
        for b in ("b1", "b2"):
            out = tool(s, "workhealth-backup", b, env=keep2)
            assert out.returncode == 0, out.stderr
        os.symlink(os.path.join(root, "b1"), os.path.join(root, "a0-link"))
        assert sorted(os.listdir(root)) == ["a0-link", "b1", "b2", "notes"]
        # b3 fails at screening (a file in the way of its copy): nothing is
        # removed, though three stores have a third copy now.
        os.makedirs(os.path.join(root, "b3"))
        open(os.path.join(root, "b3", "screening.db"), "w").close()
        out = tool(s, "workhealth-backup", "b3", env=keep2)
        assert out.returncode == 1 and "incomplete" in out.stderr, out
        assert sorted(os.listdir(root)) == ["a0-link", "b1", "b2", "b3", "notes"]
        # A removal of agreements' copy in b0 was cut short after its
        # manifest was set aside: the next prune finishes it.
        os.makedirs(os.path.join(root, "b0"))
        for name in ("agreements.json.pruning", "agreements.db"):
            open(os.path.join(root, "b0", name), "w").close()
        out = tool(s, "workhealth-backup", "b4", env=keep2)
        assert out.returncode == 0, out.stderr
        assert "older copies removed" in out.stderr, out.stderr
        both = {n: (".db", ".json") for n in STORES}

        def files(b):
            return sorted(os.listdir(os.path.join(root, b)))
        # Each store kept its two newest copies: b4, and b3 where it has one.
        assert sorted(os.listdir(root)) == ["a0-link", "b2", "b3", "b4", "notes"], os.listdir(root)
        assert files("b4") == sorted(n + e for n, es in both.items() for e in es)
        assert files("b3") == sorted(["screening.db"] + [
            n + e for n in ("gateway", "agreements", "surveys") for e in (".db", ".json")])
        assert files("b2") == sorted(n + e for n in ("screening", "notifications")
                                     for e in (".db", ".json"))
        assert files("notes") == ["agreements.json"]
        # The operation itself.
        for q, status in (("keep=0", 400), ("keep=100001", 400), ("keep=x", 400), ("", 400),
                          ("keep=2", 200)):
            r = s.post("/v1/backups/b4/agreements/prune?" + q, None)
            assert r.status == status, (q, r)
        assert r.json() == {"backup_id": "b4", "service": "agreements", "kept": 2,
                            "removed": 0}, r.json()
        r = s.post("/v1/backups/b3/screening/prune?keep=1", None)
        assert r.status == 409, r  # b3 holds no copy of screening
        tenant = screeninglib.Tenant(s)
        r = s.post("/v1/backups/b4/screening/prune?keep=1", None, token=tenant.coord)
        assert r.status == 403, r
        r = s.post("/v1/backups/b4/gateway/prune?keep=1", None)
        assert r.status == 200 and r.json()["removed"] == 1, r
        assert files("b3") == sorted(["screening.db"] + [
            n + e for n in ("agreements", "surveys") for e in (".db", ".json")])
        for bad in ("-1", "x", "100001", "2.5", " 2"):
            out = tool(s, "workhealth-backup", "b9", env={"WH_BACKUP_KEEP": bad})
            assert out.returncode == 2 and "WH_BACKUP_KEEP" in out.stderr, (bad, out)
        assert not os.path.exists(os.path.join(root, "b9"))


if __name__ == "__main__":
    run([test_backup_during_writes_and_restore, test_admin_only_and_ids_checked,
         test_restore_refuses_a_damaged_backup, test_old_backups_pruned])
