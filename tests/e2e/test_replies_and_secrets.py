"""What one tenant's request may cost the others, and what a reply leaves
behind. Lists end at a byte budget with next_cursor, so that no reply
outgrows the 4 MiB a ZeroMQ message may carry (a bigger one used to cost
the agreements instance its connection, and every tenant's request in
flight a 503). Replies that hold a secret shown once (a token, a webhook's
signing secret) are never stored for an Idempotency-Key replay: a replay
is 409. Idempotency records expire in the gateway's store too. An
organisation's kind and employees are the admin's to change."""

import os
import signal
import sqlite3
import threading

from agreementlib import Parties, body, query
from stack import Stack, run, wait_for

# 20 conditions of 2,000 four-byte characters: AGR_MAX_CONDITIONS and
# AGR_MAX_TEXT, about 160 KB of text per agreement.
BIG_TEXT = "\U0001F600" * 2000
N_DRAFTS = 30  # 30 x 160 KB: a 500-item page well over 4 MiB


def big_conditions():
    return [{"text": BIG_TEXT, "met": False} for _ in range(20)]


def instance_lost(s):
    with open(os.path.join(s.data_dir, "gateway.log"), errors="replace") as f:
        return [l for l in f if "instance lost" in l]


def test_big_list_pages_and_others_unharmed():
    with Stack() as s:
        p = Parties(s)
        created = []
        for i in range(N_DRAFTS):
            r = s.post("/v1/agreements", body(p, title="Gross %d" % i,
                                              conditions=big_conditions()))
            assert r.status == 201, r
            created.append(r.json()["id"])

        # Another tenant, busy while the big pages are built.
        other = s.org("Stadtwerke Nord", "employer", 300)
        other_token = s.token("coordinator", [other["id"]])
        stop = threading.Event()
        statuses = []

        def neighbour():
            while not stop.is_set():
                r = s.get("/v1/organizations/" + other["id"], token=other_token)
                statuses.append(r.status)
                r = s.get("/v1/agreements?limit=500", token=other_token)
                statuses.append(r.status)

        t = threading.Thread(target=neighbour)
        t.start()
        try:
            seen = []
            pages = 0
            cursor = None
            while True:
                path = "/v1/agreements?limit=500" + ("&cursor=" + cursor if cursor else "")
                r = s.get(path, timeout=30)
                assert r.status == 200, r
                page = r.json()
                pages += 1
                assert len(page["items"]) < N_DRAFTS, "one page held all %d" % N_DRAFTS
                seen += [a["id"] for a in page["items"]]
                # Each page's conditions came back whole.
                for a in page["items"]:
                    assert a["conditions"] == big_conditions()
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                assert pages <= N_DRAFTS, "paging does not end"
        finally:
            stop.set()
            t.join()
        assert sorted(seen) == sorted(created), (len(seen), len(created))
        assert len(set(seen)) == len(seen)
        assert pages >= 4, pages  # about 1 MiB of rows a page

        # The neighbour never saw the service go away, and it never did.
        assert statuses and set(statuses) == {200}, sorted(set(statuses))
        assert instance_lost(s) == []
        r = s.get("/readyz", token=None)
        assert r.status == 200 and r.json()["services"]["agreements"] == 1, r
        # A smaller limit still pages by count.
        r = s.get("/v1/agreements?limit=2")
        assert r.status == 200 and len(r.json()["items"]) == 2 and r.json()["next_cursor"], r


def gateway_bytes(s):
    out = b""
    for suffix in ("", "-wal"):
        path = os.path.join(s.data_dir, "gateway.db" + suffix)
        if os.path.exists(path):
            with open(path, "rb") as f:
                out += f.read()
    return out


def test_token_secret_not_kept_for_replay():
    with Stack() as s:
        org = s.org()
        req = {"role": "coordinator", "org_ids": [org["id"]], "label": "einmal"}
        key = {"Idempotency-Key": "token-once-1"}
        r = s.post("/v1/tokens", req, headers=key)
        assert r.status == 201, r
        token = r.json()["token"]
        assert s.get("/v1/organizations/" + org["id"], token=token).status == 200
        # Neither the database nor its write-ahead log holds the token.
        assert token.encode() not in gateway_bytes(s)
        rows = query(s, "SELECT status, body FROM wh_idempotency", name="gateway")
        assert rows == [(0, None)], rows
        # The replay is told the secret was shown once, and creates nothing.
        r = s.post("/v1/tokens", req, headers=key)
        assert r.status == 409, r
        pr = r.json()
        assert pr["type"] == "/problems/secret-shown-once", pr
        assert token not in r.body.decode()
        r = s.get("/v1/tokens?limit=500")
        assert [t["label"] for t in r.json()["items"]].count("einmal") == 1, r
        # Another body under the key is still 422.
        r = s.post("/v1/tokens", dict(req, label="anders"), headers=key)
        assert r.status == 422, r
        assert token.encode() not in gateway_bytes(s)


def test_webhook_secret_not_kept_for_replay():
    with Stack() as s:
        org = s.org()
        req = {"org_id": org["id"], "events": ["organization.updated"], "channel": "webhook",
               "target": "https://hooks.example.org/in", "language": "en"}
        key = {"Idempotency-Key": "sub-once-1"}
        r = s.post("/v1/subscriptions", req, headers=key)
        assert r.status == 201, r
        secret = r.json()["secret"]
        rows = query(s, "SELECT status, body FROM wh_idempotency", name="notifications")
        assert rows == [(0, None)], rows
        r = s.post("/v1/subscriptions", req, headers=key)
        assert r.status == 409 and r.json()["type"] == "/problems/secret-shown-once", r
        assert secret not in r.body.decode()
        r = s.get("/v1/subscriptions?org_id=" + org["id"])
        assert len(r.json()["items"]) == 1, r
        # A reply without a secret (e-mail) is replayed as before.
        mail = dict(req, channel="email", target="anna@example.org")
        key2 = {"Idempotency-Key": "sub-mail-1"}
        first = s.post("/v1/subscriptions", mail, headers=key2)
        assert first.status == 201, first
        again = s.post("/v1/subscriptions", mail, headers=key2)
        assert again.status == 201 and again.body == first.body, again


def test_gateway_expires_idempotency_records():
    with Stack(now="2030-03-01T09:00:00Z") as s:
        org = s.org()
        req = {"role": "consultant", "org_ids": [org["id"]], "label": "alt"}
        key = {"Idempotency-Key": "token-expiry-1"}
        assert s.post("/v1/tokens", req, headers=key).status == 201
        assert s.post("/v1/tokens", req, headers=key).status == 409

        def n_records():
            return query(s, "SELECT count(*) FROM wh_idempotency", name="gateway")[0][0]
        assert n_records() == 1
        # A day and an hour later the gateway's sweep removes the record
        # (WH_IDEM_TTL_MS, one day) and the key may be used afresh.
        s.kill("gateway", sig=signal.SIGTERM)
        s.start_process("gateway", env={"WH_NOW": "2030-03-02T10:00:00Z"})
        s.wait_ready()
        wait_for(lambda: n_records() == 0, what="the gateway's idempotency sweep")
        r = s.post("/v1/tokens", req, headers=key)
        assert r.status == 201, r
        assert n_records() == 1


def test_gateway_erases_old_records():
    """A record stored before secrets were kept out (a token in clear) is
    overwritten when it expires, in the database and in its log."""
    with Stack() as s:
        s.kill("gateway", sig=signal.SIGTERM)
        legacy = b"whk_legacy-token-in-clear-0123456789"
        db = sqlite3.connect(os.path.join(s.data_dir, "gateway.db"))
        db.execute("INSERT INTO wh_idempotency(scope, op, key, request_hash, status, body,"
                   " created_at) VALUES ('tok', 'TOKENS_CREATE', 'old', 'h', 201, ?, 0)",
                   (legacy,))
        db.commit()
        db.close()
        assert legacy in gateway_bytes(s)
        s.start_process("gateway")
        s.wait_ready()
        wait_for(lambda: legacy not in gateway_bytes(s), what="the old record's erasure")
        assert query(s, "SELECT count(*) FROM wh_idempotency", name="gateway") == [(0,)]


def test_org_kind_and_employees_admin_only():
    with Stack() as s:
        org = s.org("Bezirksamt Mitte", "employer", 1600)
        coord = s.token("coordinator", [org["id"]])
        path = "/v1/organizations/" + org["id"]
        r = s.patch(path, {"kind": "insurer"}, token=coord)
        assert r.status == 403 and r.json()["type"] == "/problems/forbidden", r
        r = s.patch(path, {"employees": 999999}, token=coord)
        assert r.status == 403, r
        got = s.get(path, token=coord).json()
        assert got["kind"] == "employer" and got["employees"] == 1600, got
        # Other fields stay the coordinator's, and the current kind may be
        # sent back unchanged.
        r = s.patch(path, {"region": "Berlin", "kind": "employer"}, token=coord)
        assert r.status == 200 and r.json()["region"] == "Berlin", r
        # With kind unchanged, the coordinator cannot name another tenant's
        # organisation as employer (the escalation this closes).
        victim = s.org("Stadtwerke Nord", "employer", 300)
        ins = s.org("AOK Nordost", "insurer", 250000)
        r = s.post("/v1/agreements", {"employer_id": victim["id"], "insurer_id": org["id"],
                                      "title": "Uebernahme", "starts_on": "2025-01-01",
                                      "ends_on": "2025-12-31", "notice_days": 90}, token=coord)
        assert r.status in (403, 404, 422), r
        # The admin may change both.
        r = s.patch(path, {"kind": "insurer", "employees": 1700})
        assert r.status == 200 and r.json()["kind"] == "insurer", r
        assert ins["kind"] == "insurer"


if __name__ == "__main__":
    run([test_big_list_pages_and_others_unharmed, test_token_secret_not_kept_for_replay,
         test_webhook_secret_not_kept_for_replay, test_gateway_expires_idempotency_records,
         test_gateway_erases_old_records,
         test_org_kind_and_employees_admin_only])
