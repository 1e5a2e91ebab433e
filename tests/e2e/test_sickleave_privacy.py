"""A coordinator tries to learn the sick leave of a unit whose figures are
suppressed (fewer than 50 insured): from the organisation's total minus
the units shown, from the view by chapter against the view by unit, from
survey results beside sick leave, and from a second import of overlapping
days. Every attempt must leave the hidden unit inside a group of at least
50 insured people, or be refused."""

import sickleavelib as sk
import surveylib as sl
from stack import Stack, assert_problem, run

# Four units; "Kita" (45 insured) is under the threshold. Without
# complementary suppression, total - Bau - Ordnung - Jugend = Kita.
UNITS = {"Bau": (200, 60, 900), "Jugend": (60, 22, 410), "Kita": (45, 30, 700),
         "Ordnung": (300, 80, 1300)}
CHAPTERS = ("V", "XIII")


def residual(items, field, unit_items):
    """What an observer derives: the organisation's figure minus every unit
    shown. None when the organisation's figure is hidden."""
    total = items[None]
    if total["suppressed"]:
        return None
    return total[field] - sum(i[field] for u, i in unit_items.items()
                              if u is not None and not i["suppressed"])


def check_no_unit_isolated(items):
    hidden = [u for u, i in items.items() if u is not None and i["suppressed"]]
    shown_insured = sum(i["insured"] for u, i in items.items()
                        if u is not None and not i["suppressed"])
    hidden_insured = sum(UNITS[u][0] for u in hidden)
    # The hidden units together: never one alone, never under the threshold.
    assert len(hidden) != 1, items
    assert hidden_insured == 0 or hidden_insured >= sk.SL_MIN_INSURED, items
    if not items[None]["suppressed"]:
        assert items[None]["insured"] - shown_insured == hidden_insured
    return hidden


def imported(s):
    insurer = s.org("AOK Test", kind="insurer")["id"]
    org = s.org("Bezirksamt Nord")["id"]
    rows = sk.unit_rows(org, "2025-Q1", UNITS, chapters=CHAPTERS)
    assert sk.post(s, insurer, sk.csv(rows)).status == 201
    return insurer, org, s.token("coordinator", [org])


def test_parent_minus_siblings():
    with Stack() as s:
        _, org, coord = imported(s)
        items = sk.by_unit(sk.get(s, org, "2025-Q1", token=coord).json())
        assert items["Kita"]["suppressed"] and items["Kita"]["days"] is None, items
        assert all(items["Kita"][f] is None for f in ("insured", "cases", "days", "rate"))
        hidden = check_no_unit_isolated(items)
        # The smallest shown sibling is suppressed with it: Jugend.
        assert hidden == ["Jugend", "Kita"], hidden
        for field in ("days", "cases"):
            got = residual(items, field, items)
            assert got != UNITS["Kita"][2 if field == "days" else 1], (field, got)
            assert got == sum(UNITS[u][2 if field == "days" else 1] for u in hidden)


def test_by_chapter_against_by_unit():
    with Stack() as s:
        _, org, coord = imported(s)
        by_unit = sk.by_unit(sk.get(s, org, "2025-Q1", token=coord).json())
        items = sk.get(s, org, "2025-Q1", by="icd_chapter", token=coord).json()["items"]
        for ch in CHAPTERS:
            cells = {i["unit"]: i for i in items if i["icd_chapter"] == ch}
            # The same units are hidden in both views.
            assert {u for u, i in cells.items() if i["suppressed"]} == \
                {u for u, i in by_unit.items() if i["suppressed"]}, (ch, cells)
            got = residual(cells, "days", cells)
            assert got == sum(UNITS[u][2] // 3 for u in ("Jugend", "Kita")), (ch, got)
            assert got != UNITS["Kita"][2] // 3
            # Mixing views: the chapter cells of shown units and the
            # organisation's total by unit give no more than the group.
            assert cells[None]["insured"] == by_unit[None]["insured"]


def test_survey_results_beside_sick_leave():
    with Stack() as s:
        _, org, coord = imported(s)
        units = [(k, k, None) for k in UNITS]
        body = sl.survey_body(org, units=units)
        r = s.post("/v1/surveys", body, token=coord)
        assert r.status == 201, r
        sid = r.json()["id"]
        sl.run_survey(s, sid, sl.generate(7, {k: 6 for k in UNITS}))
        r = s.get("/v1/surveys/%s/results?sick_leave_period=2025-Q1" % sid, token=coord)
        assert r.status == 200, r
        res = r.json()
        assert res["sick_leave_period"] == "2025-Q1"
        beside = {u["unit"]: u["sick_leave"] for u in res["units"]}
        beside[None] = res["total"]["sick_leave"]
        direct = sk.by_unit(sk.get(s, org, "2025-Q1", token=coord).json())
        # Exactly the figures GET /v1/sick-leave shows, suppression included.
        assert beside == direct, (beside, direct)
        assert beside["Kita"]["suppressed"] and beside["Jugend"]["suppressed"]
        # Without the parameter the results are as before; a bad period is 422.
        r = s.get("/v1/surveys/%s/results" % sid, token=coord)
        assert "sick_leave_period" not in r.json() and "sick_leave" not in r.json()["units"][0]
        r = s.get("/v1/surveys/%s/results?sick_leave_period=2025-Q9" % sid, token=coord)
        assert_problem(r, 422, "/problems/validation")
        # A period without figures: null beside every unit.
        r = s.get("/v1/surveys/%s/results?sick_leave_period=2024" % sid, token=coord)
        assert all(u["sick_leave"] is None for u in r.json()["units"]), r.json()


def test_second_import_and_overlapping_periods():
    with Stack() as s:
        insurer, org, coord = imported(s)
        other = s.org("TK Test", kind="insurer")["id"]
        # The same quarter again with Kita one person larger, its months, the
        # year around it: each would let the difference reveal Kita. Refused,
        # whoever imports.
        bigger = dict(UNITS, Kita=(46, 31, 720))
        for period in ("2025-Q1", "2025-01", "2025-03", "2025"):
            rows = sk.unit_rows(org, period, bigger)
            for who in (insurer, other):
                assert_problem(sk.post(s, who, sk.csv(rows)), 409, "/problems/conflict")
        # Within one file: the quarter of one unit and a month of another.
        org2 = s.org("Bezirksamt Süd")["id"]
        rows = (sk.unit_rows(org2, "2025-Q2", {"A": (100, 1, 1)}) +
                sk.unit_rows(org2, "2025-05", {"B": (100, 1, 1)}))
        r = sk.post(s, insurer, sk.csv(rows))
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/rows/1/period", r
        # What is stored is unchanged: the first import's figures.
        items = sk.by_unit(sk.get(s, org, "2025-Q1", token=coord).json())
        assert items[None]["insured"] == sum(u[0] for u in UNITS.values())
        for period in ("2025-01", "2025"):
            assert sk.get(s, org, period, token=coord).status == 404


def test_small_organisation_shows_nothing():
    with Stack() as s:
        insurer = s.org("AOK Test", kind="insurer")["id"]
        org = s.org("Kleines Amt")["id"]
        rows = sk.unit_rows(org, "2025-Q1", {"A": (30, 5, 40), "B": (19, 3, 10)}, ("V",))
        assert sk.post(s, insurer, sk.csv(rows)).status == 201
        for by in ("unit", "icd_chapter"):
            items = sk.get(s, org, "2025-Q1", by=by).json()["items"]
            assert items and all(i["suppressed"] and i["days"] is None for i in items), items


def test_chapter_of_one_hidden_unit():
    """A chapter only one hidden unit has rows for: the organisation's
    figure for it minus the units shown would be that unit's, and the list
    would say which unit. Every hidden unit is listed under every chapter
    of the organisation, so the difference belongs to at least two."""
    units = {"Bau": (200, 60, 900), "Jugend": (60, 22, 410), "Kita": (45, 30, 700),
             "Ordnung": (300, 80, 1300)}
    with Stack() as s:
        insurer = s.org("AOK Test", kind="insurer")["id"]
        org = s.org("Bezirksamt Nord")["id"]
        rows = sk.unit_rows(org, "2025-Q1", units, chapters=("XIII",))
        rows.append((org, "Kita", "2025-Q1", 45, 3, 77, "V"))  # Kita alone has chapter V
        assert sk.post(s, insurer, sk.csv(rows)).status == 201
        coord = s.token("coordinator", [org])
        items = sk.get(s, org, "2025-Q1", by="icd_chapter", token=coord).json()["items"]
        v = [i for i in items if i["icd_chapter"] == "V"]
        hidden = sorted(i["unit"] for i in v if i["unit"] and i["suppressed"])
        shown = [i for i in v if i["unit"] and not i["suppressed"]]
        assert len(hidden) >= 2 and "Kita" in hidden and not shown, v
        assert all(i["days"] is None and i["cases"] is None for i in v if i["suppressed"]), v


if __name__ == "__main__":
    run([test_parent_minus_siblings, test_by_chapter_against_by_unit,
         test_survey_results_beside_sick_leave, test_second_import_and_overlapping_periods,
         test_small_organisation_shows_nothing, test_chapter_of_one_hidden_unit])
