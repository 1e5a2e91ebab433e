"""Survey results end to end: a generated data set over a three-level unit
tree answered through the public endpoint, results checked against an
independent calculation, an attacker that tries to recover every suppressed
cell (and small groups) from parent minus visible siblings at every level,
response rates, hot spots and resources, compare_to against an earlier
wave, and the CSV export parsed with Python's csv module."""

import csv
import io

import surveylib as sl
from stack import Stack, run

SERVICES = ("agreements", "surveys", "notifications")
K = 5
# Hundreds of responses from one test client: lift the per-address limit.
ENV = {"WH_PUBLIC_BURST": "100000"}

# Respondents who chose each unit itself (None: no unit). Chosen so that
# every level has primary suppressions, own groups at parents, and siblings
# whose complements matter.
OWN = {None: 3, "A": 2, "B": 0, "C": 4,
       "A1": 1, "A2": 6, "A3": 9,
       "B1": 0, "B2": 12,
       "A1a": 7, "A1b": 3, "A2a": 2,
       "B1a": 8, "B1b": 3, "B1c": 11}
# A second wave: different sizes, same tree.
OWN2 = {None: 0, "A": 5, "B": 1, "C": 7,
        "A1": 0, "A2": 9, "A3": 6,
        "B1": 2, "B2": 10,
        "A1a": 8, "A1b": 8, "A2a": 1,
        "B1a": 9, "B1b": 6, "B1c": 4}


def run_wave(s, org_id, own, seed, title, extra_codes=3):
    """Creates, fills and closes one survey; returns (survey id, people,
    codes issued per unit)."""
    r = s.post("/v1/surveys", sl.survey_body(org_id, title=title, threshold=K))
    assert r.status == 201, r
    sid = r.json()["id"]
    people = sl.generate(seed, own)
    issued = {}
    codes = {}
    for unit, n in own.items():
        body = {"count": n + extra_codes}
        if unit:
            body["unit"] = unit
        r = s.post("/v1/surveys/%s/codes" % sid, body, token=sl.issuer(s))
        assert r.status == 201, r
        codes[unit] = list(r.json()["codes"])
        issued[unit] = n + extra_codes
    assert s.post("/v1/surveys/%s/open" % sid).status == 200
    for i, (unit, answers) in enumerate(people):
        body = {"code": codes[unit].pop(), "language": ["de", "en", "sv"][i % 3],
                "answers": answers}
        r = s.post("/v1/public/surveys/%s/responses" % sid, body, token=None)
        assert r.status == 201, r
    assert s.post("/v1/surveys/%s/close" % sid).status == 200
    return sid, people, issued


def check_figures(res, people, issued):
    par = sl.parents()
    exp = sl.expected(people, par)
    pub = sl.cells(res)
    dims = {d["key"]: d for d in sl.DIMENSIONS}
    shown_cells = 0
    for node, e in pub.items():
        want = exp[node]
        # Subtree codes issued, for the response rate.
        iss = sum(n for u, n in issued.items() if node in sl.ancestors(u, par)) \
            if node is not None else sum(issued.values())
        if want["n"] < K:
            assert e["suppressed"] and e["n"] is None and e["response_rate"] is None, (node, e)
        if not e["suppressed"]:
            assert e["n"] == want["n"], (node, e["n"], want["n"])
            assert e["response_rate"] == round(min(1.0, want["n"] / iss), 3), (node, e)
        else:
            assert e["n"] is None and e["response_rate"] is None
        for d in e["dimensions"]:
            scores = want[d["dimension"]]
            if len(scores) < K or e["suppressed"]:
                assert d["suppressed"], (node, d)
            if d["suppressed"]:
                assert d == {"dimension": d["dimension"], "n": None, "mean": None, "sd": None,
                             "distribution": None, "band": None, "suppressed": True,
                             **({"change": None} if "change" in d else {})}, d
                continue
            shown_cells += 1
            st = sl.stats(scores, dims[d["dimension"]]["higher_is_better"])
            assert d["n"] == st["n"], (node, d, st)
            assert sl.near(d["mean"], st["mean"]), (node, d, st)
            assert sl.near(d["sd"], st["sd"]), (node, d, st)
            assert d["distribution"] == st["distribution"], (node, d, st)
            assert d["band"] == st["band"], (node, d, st)
    return shown_cells


def check_attack(res, people):
    par = sl.parents()
    own_counts = {}
    own_dim = {}
    for unit, answers in people:
        own_counts[unit] = own_counts.get(unit, 0) + 1
        for dk in sl.respondent_scores(answers):
            own_dim.setdefault(dk, {})
            own_dim[dk][unit] = own_dim[dk].get(unit, 0) + 1
    pub = sl.cells(res)
    hidden = sum(e["suppressed"] for e in pub.values())
    assert hidden >= 6, "the data set should force suppressions at every level"
    levels = {sl.ancestors(u, par).__len__() - 1 for u in pub if u and pub[u]["suppressed"]}
    assert levels == {1, 2, 3}, levels
    rec, small = sl.attack(res, par, K, own_counts, "n")
    assert not rec and not small, (rec, small)
    for d in sl.DIMENSIONS:
        rec, small = sl.attack(res, par, K, own_dim.get(d["key"], {}), d["key"])
        assert not rec and not small, (d["key"], rec, small)


def check_attack_works_on_naive(people):
    """The same attacker against primary suppression alone recovers cells:
    the attack is real, and the service's complementary suppression is what
    stops it."""
    par = sl.parents()
    exp = sl.expected(people, par)
    naive = {"total": None, "units": []}
    for node, e in exp.items():
        entry = {"unit": node, "n": e["n"] if e["n"] >= K else None, "suppressed": e["n"] < K,
                 "dimensions": []}
        if node is None:
            naive["total"] = entry
        else:
            naive["units"].append(entry)
    own_counts = {}
    for unit, _ in people:
        own_counts[unit] = own_counts.get(unit, 0) + 1
    rec, small = sl.attack(naive, par, K, own_counts, "n")
    assert rec or small
    for node, value in rec:
        assert exp[node]["n"] == value  # and the recovered values are right


def check_highlights(res):
    dims = {d["key"]: d for d in sl.DIMENSIONS}
    shown = []
    for node, e in sl.cells(res).items():
        for d in e["dimensions"]:
            if not d["suppressed"]:
                fav = d["mean"] if dims[d["dimension"]]["higher_is_better"] else 100 - d["mean"]
                shown.append((fav, node, d["dimension"], d["band"]))
    for h in res["hotspots"] + res["resources"]:
        assert (h["unit"], h["dimension"]) in {(x[1], x[2]) for x in shown}, h
    hot = [(h["unit"], h["dimension"]) for h in res["hotspots"]]
    assert all(h["band"] in ("red", "amber") for h in res["hotspots"])
    assert all(h["band"] == "green" for h in res["resources"])
    assert len(hot) == min(10, sum(1 for x in shown if x[3] != "green"))
    # Worst first: the favourable scores do not decrease along the list.
    favs = []
    for h in res["hotspots"]:
        fav = h["mean"] if dims[h["dimension"]]["higher_is_better"] else 100 - h["mean"]
        favs.append(fav)
    assert favs == sorted(favs), favs
    worst = min(shown)
    if worst[3] != "green":
        assert sl.near(favs[0], worst[0]), (favs, worst)


def test_results_three_levels():
    with Stack(services=SERVICES, env=ENV) as s:
        org = s.org()
        sid, people, issued = run_wave(s, org["id"], OWN, 7, "Welle 1")
        r = s.get("/v1/surveys/%s/results?by=unit" % sid)
        assert r.status == 200, r
        res = r.json()
        assert res["survey_id"] == sid and res["anonymity_threshold"] == K
        assert res["bands"] == {"green_min": 62.5, "red_below": 37.5}
        assert [u["unit"] for u in res["units"]] == [k for k, _, _ in sl.UNITS]
        assert {u["unit"]: u["parent"] for u in res["units"]} == sl.parents()
        shown = check_figures(res, people, issued)
        assert shown >= 10, shown
        check_attack(res, people)
        check_attack_works_on_naive(people)
        check_highlights(res)
        # The same figures again (results are a pure function of closed data).
        assert s.get("/v1/surveys/%s/results" % sid).json() == res
        assert s.get("/v1/surveys/%s/results?by=team" % sid).status == 422


def test_compare_and_csv():
    with Stack(services=SERVICES, env=ENV) as s:
        org = s.org()
        sid1, people1, _ = run_wave(s, org["id"], OWN, 7, "Welle 1")
        sid2, people2, issued2 = run_wave(s, org["id"], OWN2, 8, "Welle 2")
        r = s.get("/v1/surveys/%s/results?compare_to=%s" % (sid2, sid1))
        assert r.status == 200, r
        res = r.json()
        assert res["compare_to"] == sid1
        check_figures(res, people2, issued2)
        prev = sl.cells(s.get("/v1/surveys/%s/results" % sid1).json())
        changes = 0
        for node, e in sl.cells(res).items():
            for d in e["dimensions"]:
                pd = next(x for x in prev[node]["dimensions"] if x["dimension"] == d["dimension"])
                if d["suppressed"] or pd["suppressed"]:
                    assert d["change"] is None, (node, d, pd)
                else:
                    changes += 1
                    assert sl.near(d["change"], d["mean"] - pd["mean"], 0.11), (node, d, pd)
        assert changes >= 5
        # An earlier wave must be earlier, closed and of the same organisation.
        assert s.get("/v1/surveys/%s/results?compare_to=%s" % (sid1, sid2)).status == 422
        other = s.org(name="Andere Verwaltung")
        r = s.post("/v1/surveys", sl.survey_body(other["id"]))
        sid3 = r.json()["id"]
        assert s.get("/v1/surveys/%s/results?compare_to=%s" % (sid2, sid3)).status == 422
        assert s.get("/v1/surveys/%s/results?compare_to=01J00000000000000000000000" % sid2
                     ).status == 422

        # CSV: the same figures as the JSON, parsed by Python's csv module.
        r = s.get("/v1/surveys/%s/results.csv?compare_to=%s" % (sid2, sid1))
        assert r.status == 200, r
        assert r.header("Content-Type").startswith("text/csv"), r.headers
        rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8"), newline="")))
        header = ["unit", "unit_name", "parent", "level", "dimension", "n", "mean", "sd", "band",
                  "suppressed", "response_rate", "dist_0_20", "dist_20_40", "dist_40_60",
                  "dist_60_80", "dist_80_100", "change"]
        assert list(rows[0].keys()) == header
        assert len(rows) == (len(sl.UNITS) + 1) * (1 + len(sl.DIMENSIONS))
        pub = sl.cells(res)
        for row in rows:
            assert None not in row.values(), row  # every row has all 17 fields
            node = row["unit"] or None
            e = pub[node]
            if node:
                unit = next(u for u in res["units"] if u["unit"] == node)
                assert row["unit_name"] == unit["name"]
                assert row["parent"] == (unit["parent"] or "")
                assert int(row["level"]) == unit["level"]
            if not row["dimension"]:
                assert row["suppressed"] == ("true" if e["suppressed"] else "false")
                assert row["n"] == ("" if e["n"] is None else str(e["n"]))
                rr = e["response_rate"]
                assert row["response_rate"] == ("" if rr is None else "%.3f" % rr)
                continue
            d = next(x for x in e["dimensions"] if x["dimension"] == row["dimension"])
            if d["suppressed"]:
                assert row["suppressed"] == "true"
                assert all(row[h] == "" for h in header[5:9] + header[10:]), row
                continue
            assert row["suppressed"] == "false"
            assert int(row["n"]) == d["n"]
            assert float(row["mean"]) == d["mean"] and float(row["sd"]) == d["sd"]
            assert row["band"] == d["band"]
            assert [int(row[h]) for h in header[11:16]] == d["distribution"]
            if d["change"] is None:
                assert row["change"] == ""
            else:
                assert float(row["change"]) == d["change"]


def test_csv_escaping():
    """Unit names with separators, quotes and formula characters survive a
    round trip through the csv module and are never formulas."""
    units = [("X", 'Amt "X", Nord', None), ("Y", "=HYPERLINK(\"http://x\")", None),
             ("Z", "+Zentrale; Haus 2", None)]
    with Stack(services=SERVICES, env=ENV) as s:
        org = s.org()
        r = s.post("/v1/surveys", sl.survey_body(org["id"], units=units))
        assert r.status == 201, r
        sid = r.json()["id"]
        codes = s.post("/v1/surveys/%s/codes" % sid, {"count": 12},
                       token=sl.issuer(s)).json()["codes"]
        assert s.post("/v1/surveys/%s/open" % sid).status == 200
        for i, c in enumerate(codes):
            r = s.post("/v1/public/surveys/%s/responses" % sid,
                       {"code": c, "language": "de", "unit": "XYZ"[i % 3],
                        "answers": {"wl1": 1 + i % 5}}, token=None)
            assert r.status == 201, r
        assert s.post("/v1/surveys/%s/close" % sid).status == 200
        r = s.get("/v1/surveys/%s/results.csv" % sid)
        rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8"), newline="")))
        names = {row["unit"]: row["unit_name"] for row in rows if row["unit"]}
        assert names == {"X": 'Amt "X", Nord', "Y": "'=HYPERLINK(\"http://x\")",
                         "Z": "'+Zentrale; Haus 2"}, names


if __name__ == "__main__":
    run([test_results_three_levels, test_compare_and_csv, test_csv_escaping])
