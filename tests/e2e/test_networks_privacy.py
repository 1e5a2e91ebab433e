"""A member of a network tries to learn another member's figure from the
benchmark, knowing its own (docs/DOMAIN.md, "Networks of organisations"):

- with five contributors, where quartiles would be single organisations'
  means (the median of five is the third one's): they are withheld;
- with seven, where plain quartiles would again be single means: those
  published are micro-aggregated, equal to an independent calculation, and
  no organisation's figure lies in the span of what is released together
  with the attacker's own (checked by exact linear algebra, for every member
  as the attacker and every dimension);
- by joining and leaving after publication, and by publishing again: the
  benchmark does not change, a second publication is 409, a newcomer sees no
  figure of its own and a leaver sees nothing."""

from fractions import Fraction

import networklib as nl
import surveylib as sl
from stack import assert_problem, run


def near(a, b, tol=0.051):
    return abs(a - b) <= tol


def setup(s, n_orgs, sizes, drop=None, thresholds=None):
    """n_orgs members with a survey each from one template; sizes[i]
    respondents for member i (0: no survey). drop: {i: dimension} whose
    questions member i's respondents all skip. Returns (network, template,
    orgs, coordinator tokens, figures)."""
    orgs = [s.org("Behörde %d" % i)["id"] for i in range(n_orgs)]
    coord = {o: s.token("coordinator", [o]) for o in orgs}
    nid = nl.network(s, orgs)
    tid = s.post("/v1/networks/%s/templates" % nid, nl.template_body()).json()["id"]
    figures = {}
    for i, org in enumerate(orgs):
        if not sizes[i]:
            continue
        people = sl.generate(500 + i, {None: sizes[i]}, skip=0.0)
        if drop and i in drop:
            keys = [q["key"] for q in sl.QUESTIONS if q["dimension"] == drop[i]]
            people = [(u, {k: v for k, v in a.items() if k not in keys}) for u, a in people]
        nl.fill(s, org, tid, people, token=coord[org],
                threshold=(thresholds or {}).get(i, nl.K))
        figures[org] = nl.org_means(people)
    return nid, tid, orgs, coord, figures


def benchmark(s, nid, tid, token):
    r = s.get("/v1/networks/%s/benchmarks/%d?template_id=%s" % (nid, nl.YEAR, tid), token=token)
    assert r.status == 200, r
    return r


def own_results_mean(s, org, coord, dim):
    """What the attacker knows: its own survey's figure for the whole
    organisation, from its own results."""
    sid = [x["id"] for x in s.get("/v1/surveys?org_id=%s" % org, token=coord).json()["items"]][0]
    res = s.get("/v1/surveys/%s/results" % sid, token=coord).json()
    return [d for d in res["total"]["dimensions"] if d["dimension"] == dim][0]["mean"]


def rank(rows):
    """The rank of a matrix of Fractions (Gaussian elimination)."""
    m = [list(r) for r in rows]
    rk, cols = 0, len(m[0]) if m else 0
    for c in range(cols):
        piv = next((i for i in range(rk, len(m)) if m[i][c] != 0), None)
        if piv is None:
            continue
        m[rk], m[piv] = m[piv], m[rk]
        for i in range(len(m)):
            if i != rk and m[i][c] != 0:
                f = m[i][c] / m[rk][c]
                m[i] = [x - f * y for x, y in zip(m[i], m[rk])]
        rk += 1
    return rk


def test_five_contributors_quartiles_withheld():
    years = nl.Years()
    try:
        with years.stack(nl.IN_YEAR) as s:
            # Five members over the threshold, one under it (4 < k = 5), one
            # under its own higher one (8 < k = 10), one without a survey;
            # member 4's respondents skip leadership, which leaves that
            # dimension four organisations.
            nid, tid, orgs, coord, figures = setup(s, 8, [6, 7, 8, 9, 10, 4, 8, 0],
                                                   drop={4: "leadership"}, thresholds={6: 10})
        with years.stack(nl.AFTER_YEAR) as s:
            r = s.post("/v1/networks/%s/benchmarks" % nid, {"template_id": tid, "year": nl.YEAR})
            assert r.status == 201, r
            assert r.json()["members"] == 8 and r.json()["contributors"] == 7
            attacker = orgs[0]
            body = benchmark(s, nid, tid, coord[attacker]).json()
            dims = {d["dimension"]: d for d in body["dimensions"]}
            assert sorted(dims) == ["support", "workload"], body  # leadership: 4 orgs
            for key, d in dims.items():
                assert d["orgs"] == 5, d
                # Plain quartiles of five values are three members' own means.
                five = sorted(figures[o][key][0] for o in orgs[:5])
                assert d["p25"] is None and d["median"] is None and d["p75"] is None, d
                assert near(d["mean"], sum(five) / 5), d
                own = own_results_mean(s, attacker, coord[attacker], key)
                assert [o["org_id"] for o in d["own"]] == [attacker]
                assert d["own"][0]["mean"] == own and d["own"][0]["quartile"] is None
                # What is left after taking its own out is four members' sum.
                rest = 5 * d["mean"] - own
                for o in orgs[1:5]:
                    assert not near(rest, figures[o][key][0], 0.5), (rest, o)
            # Under the threshold: no figure of its own, and not counted.
            for org in orgs[5:7]:
                for d in benchmark(s, nid, tid, coord[org]).json()["dimensions"]:
                    assert d["own"] == [], d
    finally:
        years.close()


def test_seven_contributors_no_single_figure():
    years = nl.Years()
    try:
        with years.stack(nl.IN_YEAR) as s:
            nid, tid, orgs, coord, figures = setup(s, 7, [6, 7, 8, 9, 10, 11, 12])
        with years.stack(nl.AFTER_YEAR) as s:
            r = s.post("/v1/networks/%s/benchmarks" % nid, {"template_id": tid, "year": nl.YEAR},
                       token=coord[orgs[2]])
            assert r.status == 201, r
            exp = nl.expected(figures)
            for attacker in orgs:
                body = benchmark(s, nid, tid, coord[attacker]).json()
                assert len(body["dimensions"]) == 3
                for d in body["dimensions"]:
                    key = d["dimension"]
                    e = exp[key]
                    n = len(e["own"])
                    assert d["orgs"] == n == 7
                    # Plain quartiles would be single members' means (the
                    # median of seven is the fourth one's); the published
                    # ones are those of the micro-aggregated means, exactly.
                    published = [d["p25"], d["median"], d["p75"]]
                    for got, want in zip(published, e["q"]):
                        assert near(got, want), (key, published, e["q"])
                    own = own_results_mean(s, attacker, coord[attacker], key)
                    assert [(o["org_id"], o["mean"]) for o in d["own"]] == [(attacker, own)]
                    # Exactly: everything released is a combination of the
                    # group sums (groups of >= 3 consecutive members) and the
                    # total; with its own column known, no other member's
                    # unit vector lies in their span.
                    order = sorted(e["own"], key=lambda o: e["own"][o])
                    groups = n // nl.BENCH_GROUP_MIN
                    rows = [[Fraction(int(g * n // groups <= i < (g + 1) * n // groups))
                             for i in range(n)] for g in range(groups)]
                    rows.append([Fraction(1)] * n)
                    a = order.index(attacker)
                    known = [[x for i, x in enumerate(r) if i != a] for r in rows]
                    base = rank(known)
                    for j in range(n - 1):
                        unit = [Fraction(int(i == j)) for i in range(n - 1)]
                        assert rank(known + [unit]) > base, (key, attacker, j)
                    # The check can fail: a plain median (the fourth mean)
                    # puts that member's unit vector in the span.
                    if a != 3:
                        plain = [Fraction(int(i == 3)) for i in range(n)]
                        plain = [x for i, x in enumerate(plain) if i != a]
                        unit = [Fraction(int(i == (3 if a > 3 else 2))) for i in range(n - 1)]
                        assert rank(known + [plain] + [unit]) == rank(known + [plain])
    finally:
        years.close()


def test_joining_leaving_and_publishing_again():
    years = nl.Years()
    try:
        with years.stack(nl.IN_YEAR) as s:
            nid, tid, orgs, coord, figures = setup(s, 7, [6, 7, 8, 9, 10, 11, 12])
            # The last member leaves before publication, with its survey closed.
            leaver_before = orgs[6]
            assert s.delete("/v1/networks/%s/members/%s" % (nid, leaver_before)).status == 204
        with years.stack(nl.AFTER_YEAR) as s:
            path = "/v1/networks/%s/benchmarks" % nid
            key = {"Idempotency-Key": "publish-2025"}
            r = s.post(path, {"template_id": tid, "year": nl.YEAR}, headers=key)
            assert r.status == 201, r
            assert r.json()["members"] == 6 and r.json()["contributors"] == 6
            # A retry with the key is the first answer, not a second publication.
            again = s.post(path, {"template_id": tid, "year": nl.YEAR}, headers=key)
            assert again.status == 201 and again.body == r.body, again
            first = benchmark(s, nid, tid, coord[orgs[0]]).body
            exp = nl.expected({o: f for o, f in figures.items() if o != leaver_before})
            for d in benchmark(s, nid, tid, coord[orgs[0]]).json()["dimensions"]:
                assert near(d["mean"], exp[d["dimension"]]["mean"])

            # Membership moves after publication: one rejoins, one leaves.
            assert s.post("/v1/networks/%s/members/%s" % (nid, leaver_before)).status == 200
            leaver_after = orgs[1]
            assert s.delete("/v1/networks/%s/members/%s" % (nid, leaver_after)).status == 204
            # A second publication, by anyone, is refused; nothing changes.
            for token in ("admin", coord[orgs[0]], coord[leaver_before]):
                assert_problem(s.post(path, {"template_id": tid, "year": nl.YEAR}, token=token),
                               409, "/problems/published")
            assert benchmark(s, nid, tid, coord[orgs[0]]).body == first
            # The newcomer sees the network's figures but has none of its own
            # in them; the leaver no longer sees the network.
            for d in benchmark(s, nid, tid, coord[leaver_before]).json()["dimensions"]:
                assert d["own"] == [], d
            assert_problem(s.get("/v1/networks/%s/benchmarks/%d?template_id=%s"
                                 % (nid, nl.YEAR, tid), token=coord[leaver_after]),
                           404, "/problems/not-found")
            # The newcomer's survey from the year cannot be brought in by a
            # later year either: a year is covered once, and 2025 is done.
            assert_problem(s.post(path, {"template_id": tid, "year": nl.YEAR + 1}), 409,
                           "/problems/year-not-ended")
    finally:
        years.close()


if __name__ == "__main__":
    run([test_five_contributors_quartiles_withheld, test_seven_contributors_no_single_figure,
         test_joining_leaving_and_publishing_again])
