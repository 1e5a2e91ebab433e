"""Shared pieces of the network tests: forming a network, filling members'
surveys from its template, moving the clock past the year's end, and an
independent calculation of a benchmark from the raw answers, following
docs/DOMAIN.md ("Networks of organisations"), not the service's code.

A benchmark exists only after its year, and the clock (WH_NOW) is read at
start: the tests run one stack in the year, stop it, and start another on
the same data directory in January of the next year."""

import math
import os
import shutil
import tempfile

import surveylib as sl
from stack import Stack

SERVICES = ("agreements", "surveys", "notifications")
# Many responses from one test client: lift the per-address limit.
ENV = {"WH_PUBLIC_BURST": "100000"}
IN_YEAR = "2025-11-10T10:00:00Z"
AFTER_YEAR = "2026-01-12T10:00:00Z"
YEAR = 2025
K = 5
BENCH_MIN_ORGS = 5   # services/surveys/benchmark.h
BENCH_GROUP_MIN = 3


class Years:
    """Stacks on one data directory: in the year, then after it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wh-e2e-net-")

    def stack(self, now):
        return Stack(services=SERVICES, env=ENV, now=now, data_dir=self.dir)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def template_body(title="Gesunde Verwaltung 2025"):
    b = sl.survey_body("x")
    return {"title": title, "languages": b["languages"], "dimensions": b["dimensions"],
            "questions": b["questions"]}


def network(s, members, name="Behördennetzwerk Koblenz"):
    r = s.post("/v1/networks", {"name": name, "description": "Gesunde Verwaltung"})
    assert r.status == 201, r
    nid = r.json()["id"]
    for org in members:
        r = s.post("/v1/networks/%s/members/%s" % (nid, org), {})
        assert r.status == 200, r
    return nid


def fill(s, org_id, template_id, people, token="admin", close=True, threshold=K):
    """A survey of org_id from the template, answered by people
    [(None, answers)], closed; returns its id."""
    r = s.post("/v1/surveys", {"org_id": org_id, "title": "Befragung", "template_id": template_id,
                               "anonymity_threshold": threshold}, token=token)
    assert r.status == 201, r
    sid = r.json()["id"]
    assert r.json()["template_id"] == template_id
    sl.run_survey(s, sid, [(None, answers) for _, answers in people], close=close)
    return sid


def org_means(people):
    """{dimension: mean of respondent scores, n} for one organisation."""
    out = {}
    for d in sl.DIMENSIONS:
        scores = [sc[d["key"]] for sc in (sl.respondent_scores(a) for _, a in people)
                  if d["key"] in sc]
        out[d["key"]] = (sum(scores) / len(scores) if scores else None, len(scores))
    return out


def quartiles(values):
    """Micro-aggregated quartiles: sorted values in groups of at least
    BENCH_GROUP_MIN, each replaced by its group's mean, then linear
    interpolation; None below two groups."""
    v = sorted(values)
    n = len(v)
    groups = n // BENCH_GROUP_MIN
    if groups < 2:
        return None
    agg = [0.0] * n
    for g in range(groups):
        lo, hi = g * n // groups, (g + 1) * n // groups
        m = sum(v[lo:hi]) / (hi - lo)
        for i in range(lo, hi):
            agg[i] = m
    out = []
    for p in (0.25, 0.5, 0.75):
        pos = p * (n - 1)
        i = int(math.floor(pos))
        frac = pos - i
        out.append(agg[i] + frac * (agg[i + 1] - agg[i]) if i + 1 < n else agg[i])
    return out


def expected(figures):
    """figures: {org: {dim: (mean, n)}} of the contributing organisations.
    {dim: {"orgs", "mean", "q" (or None), "own": {org: mean}}} for the
    dimensions shown."""
    out = {}
    for d in sl.DIMENSIONS:
        k = d["key"]
        vals = {o: f[k][0] for o, f in figures.items() if f[k][1] >= K}
        if len(vals) < BENCH_MIN_ORGS:
            continue
        out[k] = {"orgs": len(vals), "mean": sum(vals.values()) / len(vals),
                  "q": quartiles(list(vals.values())), "own": vals}
    return out


def quarter(v, q):
    return 1 if v <= q[0] else 2 if v <= q[1] else 3 if v <= q[2] else 4
