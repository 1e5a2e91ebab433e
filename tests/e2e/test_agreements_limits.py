"""The agreements' limits, each crossed: the calendar feed's
WH_CALENDAR_MAX_BYTES (the gateway's limit on the feed it joins from the
service's pages: the agreements ending last are kept), the
reminder scan's AGR_SCAN_BATCH (500 due agreements per transaction: more are
all done in the same scan) and AGR_MAX_RENEWALS_PER_SCAN (50 automatic
successors for one agreement at once: the rest follow in the same scan).
Agreements are written straight into the stopped service's store, in its
own schema."""

import shutil
import tempfile

import icalendar

from agreementlib import Parties, body, days, query, seed, ulid, wait_scan
from stack import Stack, run


def test_calendar_keeps_the_last_that_fit():
    d = tempfile.mkdtemp(prefix="wh-agr-lim-")
    try:
        with Stack(data_dir=d, now="2025-08-01T10:00:00Z") as s:
            p = Parties(s)
        # 2,001 agreements ending on 2,001 different days from 2025-12-31 on,
        # more than a feed of 1 MiB holds (and more than one page of the
        # service's).
        seed(d, p, 2001, lambda i: days("2025-12-31") + i)
        with Stack(data_dir=d, now="2025-08-01T10:00:00Z", services=("agreements",),
                   env={"WH_CALENDAR_MAX_BYTES": str(1024 * 1024)}) as s:
            r = s.get("/v1/agreements/calendar.ics")
            assert r.status == 200, r
            cal = icalendar.Calendar.from_ical(r.body)
            kept = sorted({str(e["UID"]).split("-")[0] for e in cal.walk("VEVENT")})
            assert len(cal.walk("VEVENT")) == 2 * len(kept)
            # Those ending last, and as many as the limit holds.
            assert kept == [ulid(i) for i in range(2001 - len(kept), 2001)], len(kept)
            assert 1024 * 1024 - 1200 < len(r.body) <= 1024 * 1024, len(r.body)
            # Filtered to fewer, the feed holds them all.
            r = s.get("/v1/agreements/calendar.ics?employer_id=" + p.e)
            assert len(icalendar.Calendar.from_ical(r.body).walk("VEVENT")) == 2 * len(kept)
            assert s.get("/v1/agreements/calendar.ics?employer_id=" + p.i).body.count(
                b"BEGIN:VEVENT") == 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_scan_batches_and_renewal_chains():
    d = tempfile.mkdtemp(prefix="wh-agr-lim-")
    try:
        with Stack(data_dir=d, now="2025-09-01T10:00:00Z") as s:
            p = Parties(s)
            # Entered on 2025-09-01 for a term of two days that began on
            # 2025-05-01: 61 successors are due at once, more than the 50 a
            # single step makes.
            r = s.post("/v1/agreements", body(p, title="Kurz", signed_on="2025-04-30",
                                              starts_on="2025-05-01", ends_on="2025-05-02",
                                              notice_days=0, reminder_days=[],
                                              auto_renew=True))
            assert r.status == 201, r
            chain_head = r.json()["id"]
            made = query(s, "SELECT count(*) FROM agreements WHERE renews IS NOT NULL")[0][0]
            assert made == 50, made
        # 1,201 agreements whose 30-day reminder is due today (notice
        # deadline 2025-10-01, ends 2025-12-30): three batches of at most 500.
        seed(d, p, 1201, lambda i: days("2025-12-30"), next_due=days("2025-09-01"))
        with Stack(data_dir=d, now="2025-09-01T10:00:00Z", services=("agreements",)) as s:
            line = wait_scan(d, "2025-09-01", 2)
            assert "1202 agreements due, 1202 sent, 1211 skipped, 11 renewed" in line, line
            sent = query(s, "SELECT days_before, status, count(*) FROM agreement_reminders"
                            " WHERE agreement_id IN (SELECT id FROM agreements"
                            " WHERE title LIKE 'Seed %') GROUP BY 1, 2")
            assert sorted(sent) == [(30, "sent", 1201), (90, "skipped", 1201)], sent
            assert query(s, "SELECT count(*) FROM wh_outbox"
                            " WHERE type = 'agreement.expiring'")[0][0] == 1202
            # The chain: 61 renewals in all (50 when it was entered, 11 in
            # the scan), the last term holds today and its deadline (today,
            # with no notice period) is the one reminder sent; the missed
            # terms' deadlines were skipped.
            n = query(s, "SELECT count(*) FROM agreements WHERE title = 'Kurz'")[0][0]
            assert n == 62, n
            ids = [r[0] for r in query(s, "SELECT id FROM agreements WHERE title = 'Kurz'"
                                          " AND state = 'signed'")]
            cur = [s.get("/v1/agreements/" + i).json() for i in ids]
            assert [(a["starts_on"], a["ends_on"]) for a in cur] == [
                ("2025-08-31", "2025-09-01")], cur
            assert s.get("/v1/agreements/" + chain_head).json()["state"] == "renewed"
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run([test_calendar_keeps_the_last_that_fit, test_scan_batches_and_renewal_chains])
