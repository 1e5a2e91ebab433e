"""Fixtures for the screening end-to-end tests: organisations with a token
per role, result bodies, and direct looks into the stores (read-only, with
Python's sqlite3 module) to check what the service keeps."""

import functools
import random
import time

import stack

# The screening service takes organisation ids from the tokens that cover
# them and never asks the agreements service, so these tests run without it.
SERVICES = ("screening", "notifications")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def org_id():
    """A fresh organisation id (a ULID)."""
    ms = int(time.time() * 1000)
    head = "".join(CROCKFORD[(ms >> (5 * (9 - i))) & 31] for i in range(10))
    return head + "".join(random.choice(CROCKFORD) for _ in range(16))


class Tenant:
    """An organisation and a token for every role that works with it."""

    def __init__(self, s, name="Bezirksamt Mitte"):
        self.name = name
        self.id = org_id()
        self.tokens = {}
        self.token_ids = {}
        for role in ("integration", "occupational_health", "coordinator", "consultant"):
            t = s.new_token(role, [self.id], label=role)
            self.tokens[role] = t["token"]
            self.token_ids[role] = t["id"]

    @property
    def integ(self):
        return self.tokens["integration"]

    @property
    def oh(self):
        return self.tokens["occupational_health"]

    @property
    def coord(self):
        return self.tokens["coordinator"]


ANSWERS = {
    # instrument: (not at risk, at risk)
    "who5": ([4, 4, 3, 3, 3], [1, 1, 1, 1, 1]),
    "pss10": ([1, 1, 1, 3, 3, 1, 3, 3, 1, 1], [4, 4, 4, 0, 0, 4, 0, 0, 4, 4]),
    "keds": ([1] * 9, [3] * 9),
    "phq9": ([0] * 9, [2, 2, 2, 2, 2, 0, 0, 0, 0]),
    "gad7": ([0] * 7, [2, 2, 2, 2, 2, 0, 0]),
}


def item(org_id, subject, instrument="phq9", at_risk=False, answers=None,
         taken_at="2025-03-01T08:00:00Z", **extra):
    body = {"org_id": org_id, "instrument": instrument, "subject": subject,
            "taken_at": taken_at,
            "answers": answers if answers is not None else ANSWERS[instrument][at_risk]}
    body.update(extra)
    return body


def push(s, tenant, body, status=201, **kw):
    r = s.post("/v1/screenings", body, token=tenant.integ, **kw)
    assert r.status == status, r
    return r.json()


# The screening service's store, unless another service is named.
db = functools.partial(stack.db, name="screening")
query = functools.partial(stack.query, name="screening")


def outbox_drained(s):
    return query(s, "SELECT count(*) FROM wh_outbox WHERE state = 0")[0][0] == 0
