"""Networks of organisations end to end: forming a network, a template its
members build their surveys from, the benchmark published after the year
and checked against an independent calculation from the raw answers, the
event each member hears, roles, tenants (404 for non-members) and every
named limit crossed."""

import networklib as nl
import surveylib as sl
from stack import Stack, assert_problem, events, pointers, run, wait_for

NET_MAX_NAME = 200         # services/surveys/networks.h
NET_MAX_DESCRIPTION = 2000
NET_MAX_MEMBERS = 100
NET_MAX_TEMPLATES = 20
NET_MAX_TITLE = 200


def near(a, b):
    return a is not None and abs(a - b) <= 0.051


def check_benchmark(body, exp, own_orgs):
    assert [d["dimension"] for d in body["dimensions"]] == \
        [d["key"] for d in sl.DIMENSIONS if d["key"] in exp], body
    for d in body["dimensions"]:
        e = exp[d["dimension"]]
        assert d["orgs"] == e["orgs"], (d, e)
        assert near(d["mean"], e["mean"]), (d, e)
        for got, want in zip((d["p25"], d["median"], d["p75"]), e["q"]):
            assert near(got, want), (d, e)
        want_own = sorted(o for o in own_orgs if o in e["own"])
        assert [o["org_id"] for o in d["own"]] == want_own, (d, own_orgs)
        for o in d["own"]:
            assert near(o["mean"], e["own"][o["org_id"]])
            assert o["quartile"] == nl.quarter(o["mean"], (d["p25"], d["median"], d["p75"]))


def test_happy_path():
    years = nl.Years()
    try:
        with years.stack(nl.IN_YEAR) as s:
            orgs = [s.org("Behörde %d" % i)["id"] for i in range(7)]
            coord = {o: s.token("coordinator", [o]) for o in orgs}
            nid = nl.network(s, orgs)
            r = s.get("/v1/networks/%s" % nid, token=coord[orgs[0]])
            assert r.status == 200 and r.json()["members"] == sorted(orgs), r
            assert r.header("ETag")
            # A member's coordinator adds the template.
            r = s.post("/v1/networks/%s/templates" % nid, nl.template_body(),
                       token=coord[orgs[0]])
            assert r.status == 201, r
            tid = r.json()["id"]
            assert [d["key"] for d in r.json()["dimensions"]] == \
                [d["key"] for d in sl.DIMENSIONS]
            r = s.get("/v1/networks/%s/templates" % nid, token=coord[orgs[3]])
            assert r.status == 200 and [t["id"] for t in r.json()["items"]] == [tid], r

            # Members create surveys from it; the definition is the template's.
            figures = {}
            for i, org in enumerate(orgs[:6]):
                people = sl.generate(100 + i, {None: 6 + i})
                sid = nl.fill(s, org, tid, people, token=coord[org])
                figures[org] = nl.org_means(people)
            # A draft from the template has its definition; its dimensions and
            # questions cannot change, even as a draft: it would no longer compare.
            r = s.post("/v1/surveys", {"org_id": orgs[6], "title": "Entwurf",
                                       "template_id": tid, "units": [{"key": "A", "name": "A"}]})
            assert r.status == 201, r
            sv = r.json()
            assert sv["template_id"] == tid and sv["units"] == [{"key": "A", "name": "A",
                                                                 "parent": None}]
            assert [q["key"] for q in sv["questions"]] == [q["key"] for q in sl.QUESTIONS]
            etag = r.header("ETag")
            for field in ("dimensions", "questions", "languages"):
                r = s.patch("/v1/surveys/%s" % sv["id"], {field: sv[field][:1]},
                            headers={"If-Match": etag})
                p = assert_problem(r, 409, "/problems/frozen")
                assert tid in p["detail"], p
            r = s.patch("/v1/surveys/%s" % sv["id"], {"units": []},
                        headers={"If-Match": s.get("/v1/surveys/%s" % sv["id"]).header("ETag")})
            assert r.status == 200 and r.json()["units"] == [], r
            # Giving them beside template_id is refused.
            r = s.post("/v1/surveys", dict(sl.survey_body(orgs[6]), template_id=tid))
            assert r.status == 422 and pointers(r) == ["/languages", "/dimensions",
                                                       "/questions"], r
            # The seventh member's survey is still open: it does not count.
            nl.fill(s, orgs[6], tid, sl.generate(99, {None: 6}), close=False)

            # Not before the year has ended.
            r = s.post("/v1/networks/%s/benchmarks" % nid, {"template_id": tid,
                                                             "year": nl.YEAR})
            assert_problem(r, 409, "/problems/year-not-ended")

        with years.stack(nl.AFTER_YEAR) as s:
            r = s.post("/v1/networks/%s/benchmarks" % nid,
                       {"template_id": tid, "year": nl.YEAR}, token=coord[orgs[1]])
            assert r.status == 201, r
            body = r.json()
            assert body["members"] == 7 and body["contributors"] == 6, body
            assert body["min_orgs"] == 5 and body["year"] == nl.YEAR
            exp = nl.expected(figures)
            assert len(exp) == len(sl.DIMENSIONS)
            check_benchmark(body, exp, [orgs[1]])
            # Each member sees its own figure only; admins none.
            for org in orgs:
                r = s.get("/v1/networks/%s/benchmarks/%d?template_id=%s" % (nid, nl.YEAR, tid),
                          token=coord[org])
                assert r.status == 200, r
                check_benchmark(r.json(), exp, [org])
            r = s.get("/v1/networks/%s/benchmarks/%d?template_id=%s" % (nid, nl.YEAR, tid))
            check_benchmark(r.json(), exp, [])
            # A consultant covering two members sees both of its own.
            both = s.token("consultant", orgs[:2])
            r = s.get("/v1/networks/%s/benchmarks/%d?template_id=%s" % (nid, nl.YEAR, tid),
                      token=both)
            check_benchmark(r.json(), exp, orgs[:2])

            # One event per member, ids and the year only.
            evs = wait_for(lambda: len(events(s, "network.benchmark_published")) == 7 and
                           events(s, "network.benchmark_published"), s=s,
                           what="the benchmark events")
            assert sorted(e["org_id"] for e in evs) == sorted(orgs)
            for e in evs:
                assert e["data"] == {"network_id": nid, "template_id": tid, "year": nl.YEAR}, e
    finally:
        years.close()


def test_roles_and_tenants():
    with Stack(services=nl.SERVICES) as s:
        a, b, outsider = (s.org("Org %s" % x)["id"] for x in "ABC")
        nid = nl.network(s, [a, b])
        coord_a = s.token("coordinator", [a])
        cons_b = s.token("consultant", [b])
        coord_out = s.token("coordinator", [outsider])
        cons_out = s.token("consultant", [outsider])
        occ = s.token("occupational_health", [a])
        tid = s.post("/v1/networks/%s/templates" % nid, nl.template_body()).json()["id"]

        # Members' coordinators and consultants see the network.
        for t in (coord_a, cons_b):
            assert s.get("/v1/networks/%s" % nid, token=t).status == 200
            assert [n["id"] for n in s.get("/v1/networks", token=t).json()["items"]] == [nid]
        # Others: 404, and an empty list.
        for t in (coord_out, cons_out):
            assert_problem(s.get("/v1/networks/%s" % nid, token=t), 404, "/problems/not-found")
            assert_problem(s.get("/v1/networks/%s/templates" % nid, token=t), 404, "/problems/not-found")
            assert_problem(s.get("/v1/networks/%s/benchmarks/2025?template_id=%s" % (nid, tid),
                                 token=t), 404, "/problems/not-found")
            assert s.get("/v1/networks", token=t).json()["items"] == []
        assert_problem(s.post("/v1/networks/%s/templates" % nid, nl.template_body(),
                              token=coord_out), 404, "/problems/not-found")
        assert_problem(s.post("/v1/networks/%s/benchmarks" % nid,
                              {"template_id": tid, "year": 2024}, token=coord_out),
                       404, "/problems/not-found")
        # A non-member cannot build a survey from the template (nor learn it exists).
        r = s.post("/v1/surveys", {"org_id": outsider, "title": "x", "template_id": tid},
                   token=coord_out)
        assert r.status == 422 and pointers(r) == ["/template_id"], r
        r = s.post("/v1/surveys", {"org_id": outsider, "title": "x",
                                   "template_id": "01JD0000000000000000000000"}, token=coord_out)
        assert r.status == 422 and pointers(r) == ["/template_id"], r
        # Nor can a member build one for an organisation its token does not cover.
        r = s.post("/v1/surveys", {"org_id": b, "title": "x", "template_id": tid},
                   token=coord_a)
        assert r.status == 422 and pointers(r) == ["/org_id"], r

        # Roles.
        assert_problem(s.post("/v1/networks", {"name": "x"}, token=coord_a), 403, "/problems/forbidden")
        assert_problem(s.post("/v1/networks/%s/members/%s" % (nid, outsider), {},
                              token=coord_a), 403, "/problems/forbidden")
        assert_problem(s.delete("/v1/networks/%s/members/%s" % (nid, b), token=coord_a),
                       403, "/problems/forbidden")
        assert_problem(s.post("/v1/networks/%s/templates" % nid, nl.template_body(),
                              token=cons_b), 403, "/problems/forbidden")
        assert_problem(s.post("/v1/networks/%s/benchmarks" % nid,
                              {"template_id": tid, "year": 2024}, token=cons_b),
                       403, "/problems/forbidden")
        assert_problem(s.get("/v1/networks/%s" % nid, token=occ), 403, "/problems/forbidden")

        # Members: adding twice changes nothing; removing an outsider is 404.
        r = s.post("/v1/networks/%s/members/%s" % (nid, a))
        assert r.status == 200 and r.json()["members"] == sorted([a, b]), r
        assert_problem(s.delete("/v1/networks/%s/members/%s" % (nid, outsider)), 404,
                       "/problems/not-found")
        assert s.delete("/v1/networks/%s/members/%s" % (nid, b)).status == 204
        assert_problem(s.get("/v1/networks/%s" % nid, token=cons_b), 404, "/problems/not-found")
        r = s.post("/v1/networks/%s/members/not-an-id" % nid)
        assert r.status == 422, r
        # A benchmark not published, a template of another network, an unknown year.
        assert_problem(s.get("/v1/networks/%s/benchmarks/2024?template_id=%s" % (nid, tid)),
                       404, "/problems/not-found")
        other = nl.network(s, [a], name="Anderes Netzwerk")
        r = s.post("/v1/networks/%s/benchmarks" % other, {"template_id": tid, "year": 2024})
        assert r.status == 422 and pointers(r) == ["/template_id"], r
        # A year with nothing to show publishes nothing (and does not use the year up).
        assert_problem(s.post("/v1/networks/%s/benchmarks" % nid,
                              {"template_id": tid, "year": 2024}),
                       409, "/problems/too-few-organisations")
        assert_problem(s.get("/v1/networks/%s/benchmarks/2024?template_id=%s" % (nid, tid)),
                       404, "/problems/not-found")


def test_year_in_local_time():
    """Years are calendar years in the deployment's time zone (TZ, default
    Europe/Berlin): at 23:30 UTC on 31 December it is already the next year
    there, so the year has ended, and a survey closed then belongs to the
    next year's benchmark."""
    with Stack(services=nl.SERVICES, env=dict(nl.ENV, TZ="Europe/Berlin"),
               now="2025-12-31T23:30:00Z") as s:
        orgs = [s.org("Behörde %d" % i)["id"] for i in range(5)]
        nid = nl.network(s, orgs)
        tid = s.post("/v1/networks/%s/templates" % nid, nl.template_body()).json()["id"]
        for i, org in enumerate(orgs):
            nl.fill(s, org, tid, sl.generate(i, {None: 5}))
        r = s.post("/v1/networks/%s/benchmarks" % nid, {"template_id": tid, "year": 2025})
        assert_problem(r, 409, "/problems/too-few-organisations")
        r = s.post("/v1/networks/%s/benchmarks" % nid, {"template_id": tid, "year": 2026})
        assert_problem(r, 409, "/problems/year-not-ended")


def test_limits():
    with Stack(services=nl.SERVICES) as s:
        # Name and description, in characters.
        assert s.post("/v1/networks", {"name": "ä" * NET_MAX_NAME}).status == 201
        r = s.post("/v1/networks", {"name": "ä" * (NET_MAX_NAME + 1)})
        assert r.status == 422 and pointers(r) == ["/name"], r
        r = s.post("/v1/networks", {"name": "x", "description": "ö" * NET_MAX_DESCRIPTION})
        assert r.status == 201, r
        r = s.post("/v1/networks", {"name": "x", "description": "ö" * (NET_MAX_DESCRIPTION + 1)})
        assert r.status == 422 and pointers(r) == ["/description"], r
        r = s.post("/v1/networks", {"name": "x", "members": []})
        assert r.status == 422 and pointers(r) == ["/members"], r

        # Members per network.
        nid = nl.network(s, [])
        ids = ["01JD%022d" % i for i in range(NET_MAX_MEMBERS + 1)]
        for org in ids[:NET_MAX_MEMBERS]:
            assert s.post("/v1/networks/%s/members/%s" % (nid, org)).status == 200
        r = s.post("/v1/networks/%s/members/%s" % (nid, ids[-1]))
        assert_problem(r, 422, "/problems/limit")
        assert len(s.get("/v1/networks/%s" % nid).json()["members"]) == NET_MAX_MEMBERS

        # Templates per network, and a template's title.
        body = nl.template_body("ü" * NET_MAX_TITLE)
        for _ in range(NET_MAX_TEMPLATES):
            r = s.post("/v1/networks/%s/templates" % nid, body)
            assert r.status == 201, r
        assert_problem(s.post("/v1/networks/%s/templates" % nid, body), 422, "/problems/limit")
        other = nl.network(s, [], name="Zweites Netzwerk")
        r = s.post("/v1/networks/%s/templates" % other, nl.template_body("ü" * (NET_MAX_TITLE + 1)))
        assert r.status == 422 and pointers(r) == ["/title"], r
        r = s.get("/v1/networks/%s/templates?limit=500" % nid)
        assert len(r.json()["items"]) == NET_MAX_TEMPLATES

        # Benchmark year.
        tid = s.post("/v1/networks/%s/templates" % other, nl.template_body()).json()["id"]
        for year in (1999, 10000, "2024"):
            r = s.post("/v1/networks/%s/benchmarks" % other, {"template_id": tid, "year": year})
            assert r.status == 422 and pointers(r) == ["/year"], (year, r)
        r = s.get("/v1/networks/%s/benchmarks/1999?template_id=%s" % (other, tid))
        assert r.status == 422, r
        r = s.get("/v1/networks/%s/benchmarks/2024" % other)
        assert r.status == 422, r


if __name__ == "__main__":
    run([test_happy_path, test_roles_and_tenants, test_year_in_local_time, test_limits])
