"""Every named limit of a survey, crossed through the whole stack: each is
accepted at its value and refused one past it with the field a client can
act on; and the timer's per-tick limit on transitions, crossed more than
twice over, still opens every survey that is due."""

import datetime
import os
import shutil
import sqlite3
import tempfile

import surveylib as sl
from stack import Stack, pointers, run

SERVICES = ("agreements", "surveys")
SURVEY_MAX_TITLE = 200            # services/surveys/survey.h
SURVEY_MIN_THRESHOLD = 5
SURVEY_MAX_THRESHOLD = 100
SURVEY_MAX_DUE_PER_TICK = 100
DEF_MAX_KEY = 64                  # services/surveys/definition.h
DEF_MAX_TEXT = 2000
DEF_MAX_NAME = 200
DEF_MAX_DIMENSIONS = 50
DEF_MAX_QUESTIONS = 200
DEF_MAX_UNITS = 500
DEF_MAX_UNIT_DEPTH = 8
CODES_MAX_PER_REQUEST = 5000      # services/surveys/codes.h
CODES_MAX_PER_SURVEY = 200000


def crossing(s, org_id, name, change, pointer):
    """change(body, n) sets the limited thing to n; the body is accepted at
    the limit and refused one past it."""
    def attempt(over):
        b = sl.survey_body(org_id)
        change(b, over)
        return s.post("/v1/surveys", b)
    r = attempt(False)
    assert r.status == 201, (name, r)
    r = attempt(True)
    assert r.status == 422 and pointers(r) == [pointer], (name, r)


def test_definition_limits():
    with Stack(services=SERVICES) as s:
        org = s.org()["id"]

        def title(b, over):
            b["title"] = "ü" * (SURVEY_MAX_TITLE + over)  # characters, not bytes
        crossing(s, org, "title", title, "/title")

        def threshold_max(b, over):
            b["anonymity_threshold"] = SURVEY_MAX_THRESHOLD + over
        crossing(s, org, "threshold", threshold_max, "/anonymity_threshold")

        def threshold_min(b, over):
            b["anonymity_threshold"] = SURVEY_MIN_THRESHOLD - over
        crossing(s, org, "threshold", threshold_min, "/anonymity_threshold")

        def key(b, over):  # a leaf unit: no other entry names it
            b["units"][-1]["key"] = "k" * (DEF_MAX_KEY + over)
        crossing(s, org, "key", key, "/units/%d/key" % (len(sl.UNITS) - 1))

        def text(b, over):
            b["questions"][0]["text"]["de"] = "ä" * (DEF_MAX_TEXT + over)
        crossing(s, org, "text", text, "/questions/0/text/de")

        def unit_name(b, over):
            b["units"][0]["name"] = "ö" * (DEF_MAX_NAME + over)
        crossing(s, org, "unit name", unit_name, "/units/0/name")

        def dim_title(b, over):
            b["dimensions"][0]["title"]["sv"] = "å" * (DEF_MAX_NAME + over)
        crossing(s, org, "dimension title", dim_title, "/dimensions/0/title/sv")

        def dimensions(b, over):
            n = DEF_MAX_DIMENSIONS + over
            dims = [dict(b["dimensions"][0], key="d%d" % i) for i in range(n)]
            b["dimensions"] = dims
            b["questions"] = [dict(b["questions"][0], key="q%d" % i, dimension="d%d" % i)
                              for i in range(n)]
        crossing(s, org, "dimensions", dimensions, "/dimensions")

        def questions(b, over):
            qs = b["questions"]  # keeps every dimension with questions
            b["questions"] = [dict(qs[i % len(qs)], key="q%d" % i)
                              for i in range(DEF_MAX_QUESTIONS + over)]
        crossing(s, org, "questions", questions, "/questions")

        def units(b, over):
            b["units"] = [{"key": "u%d" % i, "name": "Unit %d" % i}
                          for i in range(DEF_MAX_UNITS + over)]
        crossing(s, org, "units", units, "/units")

        def depth(b, over):
            n = DEF_MAX_UNIT_DEPTH + over
            b["units"] = [{"key": "l%d" % i, "name": "Level %d" % i,
                           **({"parent": "l%d" % (i - 1)} if i else {})} for i in range(n)]
        crossing(s, org, "depth", depth, "/units/%d/parent" % DEF_MAX_UNIT_DEPTH)


def test_codes_per_survey():
    """Codes per request and per survey: the survey takes exactly
    CODES_MAX_PER_SURVEY codes, then not one more."""
    with Stack(services=SERVICES) as s:
        org = s.org()["id"]
        sv = s.post("/v1/surveys", sl.survey_body(org)).json()
        path = "/v1/surveys/%s/codes" % sv["id"]
        r = s.post(path, {"count": CODES_MAX_PER_REQUEST + 1})
        assert r.status == 422 and pointers(r) == ["/count"], r
        r = s.post(path, {"count": CODES_MAX_PER_REQUEST}, timeout=60)
        assert r.status == 201 and len(r.json()["codes"]) == CODES_MAX_PER_REQUEST, r
        # The other 194,999 are counted into the store directly: issuing
        # them through the API takes minutes under a sanitizer build, and
        # the limit is checked against this count.
        db = sqlite3.connect(os.path.join(s.data_dir, "surveys.db"), timeout=10)
        with db:
            n = db.execute("UPDATE survey_code_counts SET issued = issued + ?"
                           " WHERE survey_id = ? AND unit = ''",
                           (CODES_MAX_PER_SURVEY - 1 - CODES_MAX_PER_REQUEST, sv["id"])).rowcount
        db.close()
        assert n == 1, n
        assert s.get("/v1/surveys/" + sv["id"]).json()["codes_issued"] == CODES_MAX_PER_SURVEY - 1
        r = s.post(path, {"count": 2})  # one past the limit
        assert r.status == 422, r
        r = s.post(path, {"count": 1})  # exactly at it
        assert r.status == 201, r
        assert s.get("/v1/surveys/" + sv["id"]).json()["codes_issued"] == CODES_MAX_PER_SURVEY
        r = s.post(path, {"count": 1})
        assert r.status == 422, r
        print("per-survey limit refused with: %s" % r.json()["errors"])


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_due_per_tick():
    """More than two ticks' worth of surveys due at one instant: every one
    opens, no tick opens more than SURVEY_MAX_DUE_PER_TICK."""
    n = 2 * SURVEY_MAX_DUE_PER_TICK + 50
    start = datetime.datetime(2031, 5, 4, 8, 0, 0, tzinfo=datetime.timezone.utc)
    opens = start + datetime.timedelta(hours=1)
    d = tempfile.mkdtemp(prefix="wh-due-")
    try:
        with Stack(services=SERVICES, now=iso(start), data_dir=d) as s:
            org = s.org()["id"]
            ids = []
            for i in range(n):
                r = s.post("/v1/surveys", sl.survey_body(org, title="S%d" % i, opens_at=iso(opens)))
                assert r.status == 201, r
                ids.append(r.json()["id"])
        # Started again past opens_at: every survey is due at once.
        later = opens + datetime.timedelta(minutes=5)
        with Stack(services=SERVICES, now=iso(later), data_dir=d) as s:
            def states():
                got = []
                cursor = None
                while True:
                    q = "/v1/surveys?limit=500" + ("&cursor=" + cursor if cursor else "")
                    r = s.get(q)
                    assert r.status == 200, r
                    got += r.json()["items"]
                    cursor = r.json()["next_cursor"]
                    if not cursor:
                        return got
            import time
            deadline = time.time() + 60
            while True:
                items = states()
                if all(x["state"] == "open" for x in items) or time.time() > deadline:
                    break
                time.sleep(0.2)
            assert len(items) == n and all(x["state"] == "open" for x in items), \
                sorted({x["state"] for x in items})
            # Transitions of one tick are instants apart, ticks a second:
            # group the opening instants by the gaps between them.
            at = sorted(datetime.datetime.fromisoformat(x["opened_at"].replace("Z", "+00:00"))
                        for x in items)
            groups = [1]
            for a, b in zip(at, at[1:]):
                if (b - a).total_seconds() > 0.2:
                    groups.append(0)
                groups[-1] += 1
            print("opened per tick: %s" % groups)
            assert max(groups) <= SURVEY_MAX_DUE_PER_TICK, groups
            assert len(groups) >= 3, groups
            assert s.get("/v1/surveys/" + ids[-1]).json()["state"] == "open"
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run([test_definition_limits, test_codes_per_survey, test_due_per_tick])
