"""Agreement reminders over time (docs/DOMAIN.md, "Agreement deadlines"): the stack
is started again and again on one data directory with WH_NOW set to later
days, and the test checks on which day each reminder fires, that none fires
twice across restarts, the catch-up after downtime and after late signing,
automatic renewal, and that terminated agreements and drafts get none.

Every agreement below runs 2025-01-01 .. 2025-12-31 with 90 days' notice,
so its notice deadline is 2025-10-02 and it ends on 2025-12-31."""

import os
import shutil
import sqlite3
import tempfile

from agreementlib import (CONTACT, Parties, body, delivered, events, query, scan_lines,
                          wait_scan)
from stack import Stack, run, wait_for


def day_stack(d, day):
    return Stack(data_dir=d, now=day + "T10:00:00Z")


def scanned(s, day, before):
    """Waits for one more start-up scan line of day than `before`."""
    wait_scan(s.data_dir, day, before + 1)


def fired(s, ids):
    """{label: sorted [(type, days_before)]} of every event so far."""
    out = {k: [] for k in ids}
    by_id = {v: k for k, v in ids.items()}
    for e in events(s):
        aid = e["data"].get("agreement_id")
        if aid in by_id:
            out[by_id[aid]].append((e["type"], e["data"].get("days_before")))
    return {k: sorted(v, key=lambda x: (x[0], -1 if x[1] is None else x[1]))
            for k, v in out.items()}


def settle(s):
    """Waits until the notifications service holds every event emitted."""
    def done():
        return delivered(s, [e["id"] for e in events(s)])
    try:
        wait_for(done, timeout=60, what="delivery")
    except AssertionError:
        raise AssertionError("undelivered: %r" % query(
            s, "SELECT id, type, state, attempts, next_ms, last_status FROM wh_outbox"))


def reminders(s, aid):
    r = s.get("/v1/agreements/%s/reminders" % aid)
    assert r.status == 200, r
    return [(x["kind"], x["days_before"], x["due_on"], x["status"]) for x in r.json()["items"]]


def test_reminders_over_a_year():
    d = tempfile.mkdtemp(prefix="wh-agr-rem-")
    try:
        ids = {}
        with day_stack(d, "2025-06-01") as s:
            p = Parties(s)
            signed = {"signed_on": "2025-05-20", "contacts": [CONTACT]}
            for label, extra in [("A", {}),
                                 ("B", {"auto_renew": True, "reminder_days": [30]}),
                                 ("C", {}),
                                 ("F", {"reminder_days": [22, 12]})]:
                b = body(p, title="Agreement " + label, **signed)
                b.update(extra)
                r = s.post("/v1/agreements", b)
                assert r.status == 201, r
                ids[label] = r.json()["id"]
            for label in ("D", "G"):
                r = s.post("/v1/agreements", body(p, title="Draft " + label, contacts=[CONTACT]))
                assert r.status == 201 and r.json()["state"] == "draft", r
                ids[label] = r.json()["id"]
            assert reminders(s, ids["A"]) == [
                ("notice", 90, "2025-07-04", "due"), ("notice", 30, "2025-09-02", "due"),
                ("notice", 7, "2025-09-25", "due"), ("notice", 0, "2025-10-02", "due"),
                ("expired", None, "2026-01-01", "due")]
            assert reminders(s, ids["B"]) == [
                ("notice", 30, "2025-09-02", "due"), ("notice", 0, "2025-10-02", "due")]
            assert reminders(s, ids["F"])[:2] == [
                ("notice", 22, "2025-09-10", "due"), ("notice", 12, "2025-09-20", "due")]
            assert reminders(s, ids["D"]) == []
            assert all(v == [] for v in fired(s, ids).values())
            # The next due date is what the scan's index reads.
            due = dict(query(s, "SELECT title, next_due FROM agreements"))
            assert due["Agreement A"] == due["Agreement C"] == 20273  # 2025-07-04
            assert due["Agreement B"] == 20333 and due["Draft D"] is None  # 2025-09-02

        def step(day, check=None):
            n = len(scan_lines(d, day))
            with day_stack(d, day) as s:
                scanned(s, day, n)
                if check:
                    check(s)
                # Delivered before the stop, so that no event carries a
                # growing retry backoff from one start to the next.
                settle(s)
                return fired(s, ids)

        # The day before the first reminder: nothing.
        assert all(v == [] for v in step("2025-07-03").values())
        # 90 days before the deadline: A and C.
        f = step("2025-07-04")
        assert f["A"] == [("agreement.expiring", 90)] and f["C"] == f["A"], f
        assert f["B"] == f["D"] == f["F"] == f["G"] == []
        # Restarted on the same day: nothing twice.
        assert step("2025-07-04") == f

        def terminate_c(s):
            r = s.post("/v1/agreements/%s/terminate" % ids["C"],
                       {"effective_on": "2025-09-30", "reason": "budget withdrawn"})
            assert r.status == 200 and r.json()["state"] == "terminated", r
            assert reminders(s, ids["C"]) == [("notice", 90, "2025-07-04", "sent")]
        step("2025-07-10", terminate_c)

        f = step("2025-09-02")
        assert f["A"] == [("agreement.expiring", 30), ("agreement.expiring", 90)], f
        assert f["B"] == [("agreement.expiring", 30)], f
        assert f["C"] == [("agreement.expiring", 90)] and f["F"] == [], f

        def sign_g_late(s):
            # Signed on the day the 7-day reminder is due: 90 and 30 were due
            # too, only the nearest the deadline goes out, at once.
            r = s.post("/v1/agreements/%s/sign" % ids["G"], {})
            assert r.status == 200 and r.json()["signed_on"] == "2025-09-25", r
            assert reminders(s, ids["G"])[:4] == [
                ("notice", 90, "2025-07-04", "skipped"), ("notice", 30, "2025-09-02", "skipped"),
                ("notice", 7, "2025-09-25", "sent"), ("notice", 0, "2025-10-02", "due")]
        # Down from 09-02 to 09-25: F's reminders of 09-10 and 09-20 were both
        # missed; only the one of 09-20 is sent, 09-10's is skipped.
        f = step("2025-09-25", sign_g_late)
        assert f["A"] == [("agreement.expiring", 7), ("agreement.expiring", 30),
                          ("agreement.expiring", 90)], f
        assert f["F"] == [("agreement.expiring", 12)], f
        assert f["G"] == [("agreement.expiring", 7)], f
        assert f["B"] == [("agreement.expiring", 30)], f

        def check_f(s):
            assert reminders(s, ids["F"]) == [
                ("notice", 22, "2025-09-10", "skipped"), ("notice", 12, "2025-09-20", "sent"),
                ("notice", 0, "2025-10-02", "sent"), ("expired", None, "2026-01-01", "due")]
        f = step("2025-10-02", check_f)
        for k in ("A", "B", "F", "G"):
            assert ("agreement.expiring", 0) in f[k], (k, f)
        assert f["C"] == [("agreement.expiring", 90)] and f["D"] == [], f

        f = step("2025-12-31")
        assert ("agreement.expired", None) not in f["A"], f

        successor = {}

        def check_year_end(s):
            a = s.get("/v1/agreements/" + ids["B"]).json()
            assert a["state"] == "renewed" and a["renewed_by"], a
            b2 = s.get("/v1/agreements/" + a["renewed_by"]).json()
            assert (b2["state"], b2["starts_on"], b2["ends_on"], b2["renews"], b2["auto_renew"],
                    b2["notice_deadline"], b2["phase"]) == (
                "signed", "2026-01-01", "2026-12-31", ids["B"], True, "2026-10-02", "active"), b2
            assert reminders(s, b2["id"]) == [("notice", 30, "2026-09-02", "due"),
                                              ("notice", 0, "2026-10-02", "due")]
            successor["id"] = b2["id"]
            h = s.get("/v1/agreements/%s/history" % ids["B"]).json()["items"]
            assert h[-1]["action"] == "renewed" and h[-1]["who"] == {"token_id": None,
                                                                     "role": "system"}
            assert h[-1]["changes"]["state"] == {"from": "signed", "to": "renewed"}
            ren = events(s, "agreement.renewed", ids["B"])
            assert len(ren) == 1 and ren[0]["data"] == {
                "agreement_id": ids["B"], "successor_id": b2["id"], "title": "Agreement B",
                "ends_on": "2026-12-31"}, ren
            ex = events(s, "agreement.expired", ids["A"])
            assert len(ex) == 1 and ex[0]["data"] == {
                "agreement_id": ids["A"], "title": "Agreement A", "employer_id": p.e,
                "insurer_id": p.i, "ends_on": "2025-12-31",
                "contacts": [{"name": CONTACT["name"], "email": CONTACT["email"],
                              "language": "de"}], "entered_by_role": "admin"}, ex
            assert ex[0]["org_id"] == p.e
            # Everything reached the notifications service, none rejected.
            settle(s)
            # (An event stays in the outbox until its acknowledgement is back,
            # which under load may come with a later retry: rejected is state 1.)
            assert query(s, "SELECT count(*) FROM wh_outbox WHERE state = 1")[0][0] == 0
        f = step("2026-01-01", check_year_end)
        assert f["A"] == [("agreement.expired", None), ("agreement.expiring", 0),
                          ("agreement.expiring", 7), ("agreement.expiring", 30),
                          ("agreement.expiring", 90)], f
        # Auto-renewed: no expiry, one renewal.
        assert f["B"] == [("agreement.expiring", 0), ("agreement.expiring", 30),
                          ("agreement.renewed", None)], f
        assert f["F"] == [("agreement.expired", None), ("agreement.expiring", 0),
                          ("agreement.expiring", 12)], f
        assert f["C"] == [("agreement.expiring", 90)] and f["D"] == [], f
        # Again on the same day: no second successor, no second expiry.
        def check_again(s):
            assert query(s, "SELECT count(*) FROM agreements WHERE renews = ?",
                         (ids["B"],))[0][0] == 1
            assert query(s, "SELECT count(*) FROM agreements")[0][0] == 7
        assert step("2026-01-01", check_again) == f

        def check_expiring_event(s):
            e = [x for x in events(s, "agreement.expiring", ids["A"])
                 if x["data"]["days_before"] == 7]
            assert len(e) == 1 and e[0]["data"] == {
                "agreement_id": ids["A"], "title": "Agreement A", "employer_id": p.e,
                "insurer_id": p.i, "ends_on": "2025-12-31", "notice_deadline": "2025-10-02",
                "days_before": 7, "auto_renew": False,
                "contacts": [{"name": "Anna Schmidt", "email": "anna.schmidt@example.org",
                              "language": "de"}], "entered_by_role": "admin"}, e
            # The sent rows point at their events.
            rows = query(s, "SELECT days_before, event_id, sent_at FROM agreement_reminders"
                            " WHERE agreement_id = ? AND status = 'sent' AND kind = 'notice'",
                         (ids["A"],))
            assert sorted(r[0] for r in rows) == [0, 7, 30, 90]
            assert all(r[1] and r[2] for r in rows)
        step("2026-01-02", check_expiring_event)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_auto_renewal_catch_up_over_years():
    """Down for more than two terms: each missed term is renewed in turn,
    the current one is in force, and the stale terms' reminders are skipped."""
    d = tempfile.mkdtemp(prefix="wh-agr-renew-")
    try:
        with day_stack(d, "2025-06-01") as s:
            p = Parties(s)
            r = s.post("/v1/agreements", body(p, signed_on="2025-05-01", auto_renew=True,
                                              reminder_days=[30]))
            assert r.status == 201, r
            first = r.json()["id"]
        with day_stack(d, "2027-03-01") as s:
            scanned(s, "2027-03-01", 0)
            chain = [first]
            while True:
                a = s.get("/v1/agreements/" + chain[-1]).json()
                if not a["renewed_by"]:
                    break
                chain.append(a["renewed_by"])
            terms = [(s.get("/v1/agreements/" + i).json()["starts_on"],
                      s.get("/v1/agreements/" + i).json()["ends_on"]) for i in chain]
            assert terms == [("2025-01-01", "2025-12-31"), ("2026-01-01", "2026-12-31"),
                             ("2027-01-01", "2027-12-31")], terms
            assert [s.get("/v1/agreements/" + i).json()["state"] for i in chain] == [
                "renewed", "renewed", "signed"]
            # The terms that ended while the service was down: nothing but the
            # renewals went out.
            assert [e["type"] for e in events(s) if e["data"].get("agreement_id") == first] == [
                "agreement.renewed"]
            assert reminders(s, chain[1]) == [("notice", 30, "2026-09-02", "skipped"),
                                              ("notice", 0, "2026-10-02", "skipped")]
            assert reminders(s, chain[2]) == [("notice", 30, "2027-09-02", "due"),
                                              ("notice", 0, "2027-10-02", "due")]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_one_failing_agreement_does_not_stop_the_scan():
    """An agreement whose reminder cannot be stored (a trigger refuses it)
    is undone and tried again the next day; the others go out."""
    d = tempfile.mkdtemp(prefix="wh-agr-fail-")
    try:
        with day_stack(d, "2025-06-01") as s:
            p = Parties(s)
            good = s.post("/v1/agreements", body(p, title="good", signed_on="2025-05-01")).json()
            bad = s.post("/v1/agreements", body(p, title="bad", signed_on="2025-05-01")).json()
        db = sqlite3.connect(os.path.join(d, "agreements.db"))
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON agreement_reminders"
                   " WHEN NEW.agreement_id = '%s' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                   % bad["id"])
        db.commit()
        db.close()
        with day_stack(d, "2025-07-04") as s:
            scanned(s, "2025-07-04", 0)
            assert reminders(s, good["id"])[0] == ("notice", 90, "2025-07-04", "sent")
            assert reminders(s, bad["id"])[0] == ("notice", 90, "2025-07-04", "due")
            assert [e["data"]["agreement_id"] for e in events(s)
                    if e["type"] == "agreement.expiring"] == [good["id"]]
            assert query(s, "SELECT next_due FROM agreements WHERE id = ?",
                         (bad["id"],))[0][0] == 20274  # 2025-07-05
            with open(os.path.join(d, "agreements.log")) as f:
                assert "reminders of agreement %s failed" % bad["id"] in f.read()
        db = sqlite3.connect(os.path.join(d, "agreements.db"))
        db.execute("DROP TRIGGER refuse")
        db.commit()
        db.close()
        with day_stack(d, "2025-07-05") as s:
            scanned(s, "2025-07-05", 0)
            assert reminders(s, bad["id"])[0] == ("notice", 90, "2025-07-04", "sent")
            assert len(events(s, "agreement.expiring", bad["id"])) == 1
            assert len(events(s, "agreement.expiring", good["id"])) == 1
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run([test_reminders_over_a_year, test_auto_renewal_catch_up_over_years,
         test_one_failing_agreement_does_not_stop_the_scan])
