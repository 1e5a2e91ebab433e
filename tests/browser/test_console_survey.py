"""The console in Chromium: a coordinator signs in (by keyboard, through
the error summary), creates and opens a survey, issues codes per unit,
answers come in through the public API, the survey is closed, the four-eyes
rule is shown to the coordinator who saw the codes, and a second
coordinator sees the heat map with hidden cells marked in text; every view
passes axe-core's WCAG 2.1 A/AA rules at 360 and 1280 px."""

import os

from browserlib import journey, shots_dir
from stack import Stack, run


def test_console_survey():
    with Stack() as s:
        org = s.org("Bezirksamt Mitte")
        a = s.token("coordinator", [org["id"]], label="Koordination A")
        b = s.token("coordinator", [org["id"]], label="Koordination B")
        out = journey("console_survey.mjs", s, coordA=a, coordB=b)
        assert "console survey journey ok" in out, out
    for name in ("signin", "surveys", "survey", "codes", "results"):
        for w in (360, 1280):
            assert os.path.getsize(os.path.join(shots_dir(), "console-%s-%d.png" % (name, w)))


if __name__ == "__main__":
    run([test_console_survey])
