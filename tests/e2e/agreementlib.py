"""Helpers for the agreements end-to-end tests: parties, request bodies, and
reading what the services stored (events decoded from msgpack with a small
decoder here, so that the tests need nothing beyond the standard library)."""

import os
import sqlite3
import struct
import time


def mp_decode(b):
    """Decodes one msgpack value (the subset the services write)."""
    v, i = _mp(b, 0)
    assert i == len(b), "trailing bytes"
    return v


def _mp(b, i):
    t = b[i]
    i += 1
    if t <= 0x7F:
        return t, i
    if 0x80 <= t <= 0x8F:
        return _map(b, i, t & 0x0F)
    if 0x90 <= t <= 0x9F:
        return _arr(b, i, t & 0x0F)
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        return b[i:i + n].decode(), i + n
    if t >= 0xE0:
        return t - 0x100, i
    fixed = {0xC0: None, 0xC2: False, 0xC3: True}
    if t in fixed:
        return fixed[t], i
    ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
            0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
    if t in ints:
        f = ints[t]
        n = struct.calcsize(f)
        return struct.unpack(f, b[i:i + n])[0], i + n
    lens = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}
    if t in lens:
        f = lens[t]
        k = struct.calcsize(f)
        n = struct.unpack(f, b[i:i + k])[0]
        i += k
        raw = b[i:i + n]
        return (raw.decode() if t >= 0xD9 else bytes(raw)), i + n
    if t in (0xDC, 0xDD, 0xDE, 0xDF):
        f = ">H" if t in (0xDC, 0xDE) else ">I"
        k = struct.calcsize(f)
        n = struct.unpack(f, b[i:i + k])[0]
        return (_arr if t in (0xDC, 0xDD) else _map)(b, i + k, n)
    raise ValueError("msgpack type 0x%02x" % t)


def _arr(b, i, n):
    out = []
    for _ in range(n):
        v, i = _mp(b, i)
        out.append(v)
    return out, i


def _map(b, i, n):
    out = {}
    for _ in range(n):
        k, i = _mp(b, i)
        v, i = _mp(b, i)
        out[k] = v
    return out, i


def query(s, sql, args=(), name="agreements"):
    path = os.path.join(s.data_dir, name + ".db")
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def events(s, type_=None, agreement_id=None):
    """Events the agreements service emitted: those the notifications
    service received (its events table) and those still in the agreements
    outbox, each once, as dicts {id, type, org_id, data}."""
    seen = {}
    # The outbox first: an event leaves it only after the notifications
    # service has stored it, so read in this order none is missed.
    sources = [("agreements", "SELECT id, type, org_id, data FROM wh_outbox"),
               ("notifications", "SELECT id, type, org_id, data FROM events")]
    for name, sql in sources:
        if not os.path.exists(os.path.join(s.data_dir, name + ".db")):
            continue
        try:
            rows = query(s, sql, name=name)
        except sqlite3.OperationalError:
            continue
        for eid, typ, org, data in rows:
            seen[eid] = {"id": eid, "type": typ, "org_id": org, "data": mp_decode(bytes(data))}
    out = [e for e in seen.values()
           if (type_ is None or e["type"] == type_)
           and (agreement_id is None or e["data"].get("agreement_id") == agreement_id)]
    return sorted(out, key=lambda e: e["id"])


def delivered(s, event_ids):
    """True once the notifications service holds every one of event_ids."""
    if not event_ids:
        return True
    try:
        got = {r[0] for r in query(s, "SELECT id FROM events", name="notifications")}
    except sqlite3.OperationalError:
        return False
    return set(event_ids) <= got


def wait_for(fn, timeout=15.0, what="condition"):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def wait_scanned(s, day):
    """Waits until the agreements service logged its start-up scan for day
    (YYYY-MM-DD) and returns that log line."""
    path = os.path.join(s.data_dir, "agreements.log")

    def line():
        with open(path, errors="replace") as f:
            lines = [l for l in f if "reminder scan for %s:" % day in l]
        return lines[-1] if lines else None
    return wait_for(line, what="the reminder scan of " + day)


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
