"""The console in Chromium for an administrator: agreements (phase, days to
the notice deadline, activities and reminders), the insurer's prevention
report as SVG charts each with its table, and notifications; each view
passes axe-core's WCAG 2.1 A/AA rules at 360 and 1280 px."""

import os

from browserlib import journey, shots_dir  # first: it puts tests/e2e on the path
import agreementlib as al  # noqa: E402
from stack import Stack, run, wait_for  # noqa: E402

NOW = "2025-06-02T09:00:00Z"


def test_console_programme():
    with Stack(now=NOW) as s:
        p = al.Parties(s)
        sub = s.post("/v1/subscriptions", {"org_id": p.e, "events": ["organization.updated"],
                                           "channel": "email", "target": "bgm@example.org",
                                           "language": "de"})
        assert sub.status == 201, sub
        a = s.post("/v1/agreements", al.body(p, signed_on="2024-11-21",
                                             focus_areas=["stress_management", "movement"]))
        assert a.status == 201, a
        aid = a.json()["id"]
        for kind, title, n in (("health_day", "Gesundheitstag", 25), ("workshop", "Workshop", 15)):
            r = s.post("/v1/agreements/%s/activities" % aid,
                       {"kind": kind, "title": title, "focus_area": "stress_management",
                        "planned_on": "2025-05-20", "status": "done", "participants": n})
            assert r.status == 201, r
        # An event to deliver.
        assert s.patch("/v1/organizations/" + p.e, {"region": "Berlin"}).status == 200
        wait_for(lambda: s.get("/v1/deliveries").json()["items"], s=s, what="a delivery")
        out = journey("console_programme.mjs", s, admin=s.admin, agreement=aid, insurer=p.i,
                      year=2025)
        assert "console programme journey ok" in out, out
    for name in ("agreements", "agreement", "report", "deliveries"):
        for w in (360, 1280):
            assert os.path.getsize(os.path.join(shots_dir(), "console-%s-%d.png" % (name, w)))


if __name__ == "__main__":
    run([test_console_programme])
