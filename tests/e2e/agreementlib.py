"""Helpers for the agreements end-to-end tests: parties, request bodies, and
reading what the services stored."""

import datetime
import functools
import os
import sqlite3

import stack
from stack import query, wait_for


# The agreements service's store, unless another service is named.
query = functools.partial(query, name="agreements")


def events(s, type_=None, agreement_id=None):
    """Events the agreements service emitted (received by the notifications
    service or still in its outbox), those of one agreement when given."""
    match = {"agreement_id": agreement_id} if agreement_id else {}
    return stack.events(s, type_, source="agreements", **match)


def delivered(s, event_ids):
    """True once the notifications service holds every one of event_ids."""
    if not event_ids:
        return True
    try:
        got = {r[0] for r in query(s, "SELECT id FROM events", name="notifications")}
    except sqlite3.OperationalError:
        return False
    return set(event_ids) <= got


def scan_lines(data_dir, day):
    """The lines of agreements.log in data_dir that report a reminder scan
    for day (YYYY-MM-DD), oldest first; [] before the log exists."""
    path = os.path.join(data_dir, "agreements.log")
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [l for l in f if "reminder scan for %s:" % day in l]


def wait_scan(data_dir, day, nth):
    """The nth scan line of day (1-based), once it is logged."""
    return wait_for(lambda: scan_lines(data_dir, day)[nth - 1:nth],
                    what="scan %d of %s" % (nth, day))[0]


EPOCH = datetime.date(1970, 1, 1)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def days(iso_date):
    """An ISO date as the store keeps it: days since 1970-01-01."""
    return (datetime.date.fromisoformat(iso_date) - EPOCH).days


def ulid(i):
    """A well-formed, ordered agreement id for seeded row i."""
    s = ""
    for _ in range(16):
        s = CROCKFORD[i % 32] + s
        i //= 32
    return "01K0000000" + s


def seed(d, p, n, ends_of, next_due=None):
    """n signed agreements of parties p straight into the stopped agreements
    service's store in data directory d, agreement i ending on day
    ends_of(i) (days since 1970), each with reminders due at next_due."""
    db = sqlite3.connect(os.path.join(d, "agreements.db"))
    now = "2025-08-01T10:00:00.000Z"
    db.executemany(
        "INSERT INTO agreements(id, employer_id, insurer_id, title, state, signed_on, starts_on,"
        " ends_on, notice_days, auto_renew, employees_covered, focus_areas, focus_mask,"
        " financial_eur, advisory, conditions, contacts, reminder_days, next_due, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, 'signed', ?, ?, ?, 90, 0, NULL, '', 0, 0, 0, ?, ?,"
        " '90,30,7', ?, ?, ?)",
        [(ulid(i), p.e, p.i, "Seed %d" % i, days("2024-12-01"), days("2025-01-01"),
          ends_of(i), b"\x90", b"\x90", next_due, now, now) for i in range(n)])
    db.commit()
    db.close()


class Parties:
    """An employer and an insurer, and tokens of each role for them."""

    def __init__(self, s, employer="Bezirksamt Mitte", insurer="AOK Nordost", employees=1600):
        self.s = s
        self.employer = s.org(employer, "employer", employees)
        self.insurer = s.org(insurer, "insurer", 250000)
        self.e = self.employer["id"]
        self.i = self.insurer["id"]


def body(p, **over):
    b = {"employer_id": p.e, "insurer_id": p.i, "title": "BGF-Kooperation 2025",
         "starts_on": "2025-01-01", "ends_on": "2025-12-31", "notice_days": 90}
    b.update(over)
    return b


CONTACT = {"name": "Anna Schmidt", "email": "anna.schmidt@example.org", "role": "coordinator",
           "language": "de"}
