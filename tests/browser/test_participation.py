"""The participation page in Chromium: an employee completes a survey from
a code by keyboard alone (Tab, Space and Enter), and one of three pages
(Next, Back, the language switched on a later page), once with JavaScript
and once without; axe-core finds no WCAG 2.1 A/AA violation on any state of
the page; each state reflows at 320 CSS px and is photographed at 360 and
1280 px (build/browser-shots/participate-*.png)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

import surveylib as sl  # noqa: E402
from browserlib import journey, shots_dir  # noqa: E402
from stack import Stack, query, run  # noqa: E402

UNITS = [("A", "Amt A", None), ("A1", "Team A1", "A"), ("B", "Amt B", None)]
STATES = ("code", "code-missing", "code-invalid", "not-found", "not-open", "closed",
          "questionnaire", "errors", "thanks", "paged-1", "paged-2")


def survey(s, org, title, state):
    r = s.post("/v1/surveys", sl.survey_body(org["id"], title=title, units=UNITS))
    assert r.status == 201, r
    sid = r.json()["id"]
    r = s.post("/v1/surveys/%s/codes" % sid, {"count": 2}, token=sl.issuer(s))
    assert r.status == 201, r
    codes = r.json()["codes"]
    for step in {"draft": (), "open": ("open",), "closed": ("open", "close")}[state]:
        assert s.post("/v1/surveys/%s/%s" % (sid, step)).status == 200
    return sid, codes


def test_participation():
    with Stack(services=("agreements", "surveys")) as s:
        org = s.org()
        sid, codes = survey(s, org, "Beschäftigtenbefragung 2026", "open")
        draft, draft_codes = survey(s, org, "Befragung später", "draft")
        closed, closed_codes = survey(s, org, "Befragung früher", "closed")
        states = {
            "code": ["/s/%s" % sid, 200],
            "code-missing": ["/s/%s?c=" % sid, 422],
            "code-invalid": ["/s/%s?c=ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ" % sid, 403],
            "not-found": ["/s/%s?c=%s" % ("0" * 26, codes[0]), 404],
            "not-open": ["/s/%s?c=%s" % (draft, draft_codes[0]), 409],
            "closed": ["/s/%s?c=%s" % (closed, closed_codes[0]), 409],
            "questionnaire": ["/s/%s?c=%s" % (sid, codes[0]), 200],
        }
        r = s.post("/v1/surveys", sl.paged_survey_body(org["id"]))
        assert r.status == 201, r
        paged_sid = r.json()["id"]
        r = s.post("/v1/surveys/%s/codes" % paged_sid, {"count": 2}, token=sl.issuer(s))
        assert r.status == 201, r
        paged_codes = r.json()["codes"]
        assert s.post("/v1/surveys/%s/open" % paged_sid).status == 200
        out = journey("participation.mjs", s, sid=sid, codes=codes, states=states,
                      questions=len(sl.QUESTIONS), pagedSid=paged_sid, pagedCodes=paged_codes,
                      pagedPages=list(sl.PAGED_PAGES))
        assert "participation ok" in out, out
        # The four journeys were recorded, every code is used.
        assert query(s, "SELECT count(*) FROM survey_responses", name="surveys") == [(4,)]
        for name in STATES:
            for w in (360, 1280):
                p = os.path.join(shots_dir(), "participate-%s-%d.png" % (name, w))
                assert os.path.getsize(p) > 0, p


if __name__ == "__main__":
    run([test_participation])
