"""The console in Chromium for occupational health: the alert queue with
the urgent alert first and its time to escalation, one alert worked from
open to closed by the page's buttons, and the store agreeing; each state
of the page passes axe-core's WCAG 2.1 A/AA rules at 360 and 1280 px."""

import os

from browserlib import journey, shots_dir  # first: it puts tests/e2e on the path
import screeninglib as scr  # noqa: E402
from stack import Stack, run  # noqa: E402


def test_console_alerts():
    with Stack() as s:
        t = scr.Tenant(s)
        normal = scr.push(s, t, scr.item(t.id, "p-1001", at_risk=True))["alert_id"]
        urgent = scr.push(s, t, scr.item(t.id, "p-1002", answers=[0] * 8 + [2]))["alert_id"]
        assert normal and urgent
        out = journey("console_alerts.mjs", s, oh=t.oh, urgent=urgent, normal=normal)
        assert "console alerts journey ok" in out, out
        a = s.get("/v1/alerts/" + urgent, token=t.oh).json()
        assert a["state"] == "closed" and a["outcome"] == "accepted", a
        assert a["note"] == "Rückruf vereinbart", a
        assert s.get("/v1/alerts/" + normal, token=t.oh).json()["state"] == "open"
    for w in (360, 1280):
        assert os.path.getsize(os.path.join(shots_dir(), "console-alerts-%d.png" % w))


if __name__ == "__main__":
    run([test_console_alerts])
