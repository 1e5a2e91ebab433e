"""The console's networks and sick-leave views in Chromium for a member's
coordinator: the published benchmark of a network of six organisations as
a table (each figure the API's) with a box per dimension, too few organisations for
quartiles said in words, the message for a year without one, and the insurer's sick-leave figures by unit and by ICD-10
chapter with a suppressed group read as such, and beside each unit of a
survey's results; each view passes axe-core's
WCAG 2.1 A/AA rules and reflows at 360 and 1280 px."""

import json
import os

from browserlib import journey, shots_dir  # first: it puts tests/e2e on the path
import networklib as nl  # noqa: E402
import sickleavelib as sk  # noqa: E402
import surveylib as sl  # noqa: E402
from stack import run  # noqa: E402


def survey_with_units(s, org):
    """A closed survey of org with the units the sick-leave figures name."""
    units = [(k, k, None) for k in UNITS]
    r = s.post("/v1/surveys", sl.survey_body(org, units=units))
    assert r.status == 201, r
    sid = r.json()["id"]
    sl.run_survey(s, sid, sl.generate(11, {k: 6 for k in UNITS}))
    return sid


UNITS = {"Bau": (120, 40, 610), "Jugend": (80, 25, 300), "Werkstatt": (30, 9, 90)}


def test_console_networks_sickleave():
    years = nl.Years()
    try:
        with years.stack(nl.IN_YEAR) as s:
            orgs = [s.org("Behörde %d" % i)["id"] for i in range(6)]
            nid = nl.network(s, orgs)
            r = s.post("/v1/networks/%s/templates" % nid, nl.template_body())
            assert r.status == 201, r
            tid = r.json()["id"]
            for i, org in enumerate(orgs):
                nl.fill(s, org, tid, sl.generate(300 + i, {None: 6 + i}))
            sid = survey_with_units(s, orgs[0])
            # A second network of five: too few organisations for quartiles.
            small = nl.network(s, orgs[:5], name="Kleines Netzwerk")
            small_tid = s.post("/v1/networks/%s/templates" % small,
                               nl.template_body("Kurzbefragung")).json()["id"]
            for i, org in enumerate(orgs[:5]):
                nl.fill(s, org, small_tid, sl.generate(400 + i, {None: 6}))
        with years.stack(nl.AFTER_YEAR) as s:
            r = s.post("/v1/networks/%s/benchmarks" % nid, {"template_id": tid, "year": nl.YEAR})
            assert r.status == 201, r
            r = s.post("/v1/networks/%s/benchmarks" % small,
                       {"template_id": small_tid, "year": nl.YEAR})
            assert r.status == 201, r
            assert all(d["p25"] is None for d in r.json()["dimensions"]), r.json()
            coord = s.token("coordinator", [orgs[0]])
            bench = s.get("/v1/networks/%s/benchmarks/%d?template_id=%s" % (nid, nl.YEAR, tid),
                          token=coord).json()
            assert all(d["p25"] is not None for d in bench["dimensions"]), bench
            assert all(len(d["own"]) == 1 for d in bench["dimensions"]), bench

            insurer = s.org("AOK Test", kind="insurer")["id"]
            r = sk.post(s, insurer, sk.csv(sk.unit_rows(orgs[0], "2025-Q1", UNITS,
                                                        chapters=("V", "XIII"))))
            assert r.status == 201, r
            by_unit = sk.get(s, orgs[0], "2025-Q1", token=coord).json()
            by_chapter = sk.get(s, orgs[0], "2025-Q1", by="icd_chapter", token=coord).json()
            assert any(i["suppressed"] for i in by_unit["items"]), by_unit
            res = s.get("/v1/surveys/%s/results?sick_leave_period=2025-Q1" % sid,
                        token=coord).json()
            assert res["sick_leave_period"] == "2025-Q1", res
            out = journey("console_networks_sickleave.mjs", s, coord=coord, network=nid,
                          template=tid, small=small, small_template=small_tid, year=nl.YEAR, bench=json.dumps(bench),
                          unit=json.dumps(by_unit), chapter=json.dumps(by_chapter),
                          survey=sid, results=json.dumps(res))
            assert "console networks and sick-leave journey ok" in out, out
    finally:
        years.close()
    for name in ("networks-benchmark", "networks-few", "networks-none", "sickleave-unit", "sickleave-chapter",
                 "sickleave-results"):
        for w in (360, 1280):
            assert os.path.getsize(os.path.join(shots_dir(), "console-%s-%d.png" % (name, w)))


if __name__ == "__main__":
    run([test_console_networks_sickleave])
