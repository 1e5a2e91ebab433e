"""Shared pieces of the survey end-to-end tests: a survey definition with a
three-level unit tree, a generated data set, an independent calculation of
the results from the raw answers, and an attacker that tries to recover
suppressed cells from the published ones.

The calculation follows docs/DOMAIN.md ("Survey scores"), not the service's code: item
score (answer - min) / (max - min) x 100 (100 minus that when reversed), a
respondent's dimension score the mean of their answered items, a unit's
figures over its whole subtree, sample standard deviation, bins of 20
points, band from the favourable score (green >= 62.5, red < 37.5).
"""

import math
import random

DIMENSIONS = [
    {"key": "workload", "title": {"de": "Arbeitsmenge", "en": "Workload", "sv": "Arbetsmängd"},
     "higher_is_better": False},
    {"key": "support", "title": {"de": "Unterstützung", "en": "Support", "sv": "Stöd"},
     "higher_is_better": True},
    {"key": "leadership", "title": {"de": "Führung", "en": "Leadership", "sv": "Ledarskap"},
     "higher_is_better": True},
]


def text(s):
    return {"de": s + " (de)", "en": s + " (en)", "sv": s + " (sv)"}


QUESTIONS = [
    {"key": "wl1", "dimension": "workload", "text": text("Too much to do"),
     "scale": {"min": 1, "max": 5}, "reverse": False},
    {"key": "wl2", "dimension": "workload", "text": text("Enough time"),
     "scale": {"min": 1, "max": 5}, "reverse": True},
    {"key": "wl3", "dimension": "workload", "text": text("Hurried"),
     "scale": {"min": 1, "max": 5}, "reverse": False},
    {"key": "su1", "dimension": "support", "text": text("Colleagues help"),
     "scale": {"min": 1, "max": 5}, "reverse": False},
    {"key": "su2", "dimension": "support", "text": text("Left alone"),
     "scale": {"min": 1, "max": 5}, "reverse": True},
    {"key": "le1", "dimension": "leadership", "text": text("Manager listens"),
     "scale": {"min": 0, "max": 10}, "reverse": False},
    {"key": "le2", "dimension": "leadership", "text": text("Clear goals"),
     "scale": {"min": 0, "max": 10}, "reverse": False},
]

# A three-level tree under the organisation: (key, name, parent).
UNITS = [
    ("A", "Amt A", None), ("B", "Amt B", None), ("C", "Amt C", None),
    ("A1", "Team A1", "A"), ("A2", "Team A2", "A"), ("A3", "Team A3", "A"),
    ("B1", "Team B1", "B"), ("B2", "Team B2", "B"),
    ("A1a", "Gruppe A1a", "A1"), ("A1b", "Gruppe A1b", "A1"), ("A2a", "Gruppe A2a", "A2"),
    ("B1a", "Gruppe B1a", "B1"), ("B1b", "Gruppe B1b", "B1"), ("B1c", "Gruppe B1c", "B1"),
]


def issuer(s):
    """A second admin token that hands out codes in clear. The token that
    receives codes in clear may not read the survey's results (four-eyes),
    and the tests read them with the stack's bootstrap admin."""
    if not hasattr(s, "codes_issuer"):
        s.codes_issuer = s.token("admin", [], label="hands out codes")
    return s.codes_issuer


def survey_body(org_id, title="Beschäftigtenbefragung 2025", threshold=5, units=UNITS,
                languages=("de", "en", "sv"), **extra):
    body = {
        "org_id": org_id, "title": title, "languages": list(languages),
        "dimensions": [dict(d, title={l: d["title"][l] for l in languages}) for d in DIMENSIONS],
        "questions": [dict(q, text={l: q["text"][l] for l in languages}) for q in QUESTIONS],
        "units": [{"key": k, "name": n, **({"parent": p} if p else {})} for k, n, p in units],
        "anonymity_threshold": threshold,
    }
    body.update(extra)
    return body


# A questionnaire longer than a page of the participation form: dimensions
# of 4, 4, 12 and 2 questions make pages of 8 (two whole dimensions), 10
# (the long one split) and 4 (its rest and the last one).
PAGED_SIZES = (("workload", 4), ("support", 4), ("leadership", 12), ("extra", 2))
PAGED_PAGES = (8, 10, 4)


def paged_survey_body(org_id, units=(("A", "Amt A", None), ("B", "Amt B", None))):
    body = survey_body(org_id, languages=("de", "en"), units=units)
    body["dimensions"] = [{"key": d, "title": {"de": d, "en": d}, "higher_is_better": True}
                          for d, _ in PAGED_SIZES]
    body["questions"] = [
        {"key": "%s%d" % (d, i), "dimension": d,
         "text": {"de": "Frage %s %d" % (d, i), "en": "Question %s %d" % (d, i)},
         "scale": {"min": 1, "max": 5}, "reverse": False}
        for d, n in PAGED_SIZES for i in range(n)]
    return body


def run_survey(s, sid, people, close=True):
    """Issues a code for each of people [(unit or None, answers)], opens the
    survey, submits each through the public API and closes it (unless
    close is False)."""
    if people:
        r = s.post("/v1/surveys/%s/codes" % sid, {"count": len(people)}, token=issuer(s))
        assert r.status == 201, r
        codes = list(r.json()["codes"])
    assert s.post("/v1/surveys/%s/open" % sid).status == 200
    for unit, answers in people:
        body = {"code": codes.pop(), "language": "de", "answers": answers}
        if unit is not None:
            body["unit"] = unit
        r = s.post("/v1/public/surveys/%s/responses" % sid, body, token=None)
        assert r.status == 201, r
    if close:
        assert s.post("/v1/surveys/%s/close" % sid).status == 200


def parents(units=UNITS):
    return {k: p for k, _, p in units}


def generate(seed, own_sizes, skip=0.1):
    """Respondents as (unit or None, {question: answer}). own_sizes maps a
    unit key (None for the organisation itself) to how many chose it."""
    rnd = random.Random(seed)
    people = []
    for unit, n in own_sizes.items():
        for _ in range(n):
            answers = {}
            for q in QUESTIONS:
                if rnd.random() < skip:
                    continue
                lo, hi = q["scale"]["min"], q["scale"]["max"]
                answers[q["key"]] = rnd.randint(lo, hi)
            if not answers:
                answers[QUESTIONS[0]["key"]] = 3
            people.append((unit, answers))
    rnd.shuffle(people)
    return people


def item_score(q, a):
    lo, hi = q["scale"]["min"], q["scale"]["max"]
    s = (a - lo) * 100.0 / (hi - lo)
    return 100.0 - s if q["reverse"] else s


def respondent_scores(answers):
    out = {}
    for d in DIMENSIONS:
        vals = [item_score(q, answers[q["key"]]) for q in QUESTIONS
                if q["dimension"] == d["key"] and q["key"] in answers]
        if vals:
            out[d["key"]] = sum(vals) / len(vals)
    return out


def ancestors(unit, par):
    """The unit, its ancestors, and None for the organisation."""
    chain = []
    while unit is not None:
        chain.append(unit)
        unit = par[unit]
    chain.append(None)
    return chain


def expected(people, par):
    """{node: {"n": respondents, dim: [scores...]}} over subtrees; node None
    is the organisation."""
    nodes = {k: {"n": 0, **{d["key"]: [] for d in DIMENSIONS}} for k in list(par) + [None]}
    for unit, answers in people:
        sc = respondent_scores(answers)
        for node in ancestors(unit, par):
            nodes[node]["n"] += 1
            for dk, v in sc.items():
                nodes[node][dk].append(v)
    return nodes


def r1(x):
    return math.floor(x * 10 + 0.5) / 10


def stats(scores, higher_is_better):
    n = len(scores)
    mean = sum(scores) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in scores) / (n - 1)) if n > 1 else 0.0
    bins = [0] * 5
    for x in scores:
        bins[min(4, int(math.floor((x + 1e-9) / 20)))] += 1
    fav = mean if higher_is_better else 100 - mean
    band = "green" if fav >= 62.5 else "red" if fav < 37.5 else "amber"
    return {"n": n, "mean": mean, "sd": sd, "distribution": bins, "band": band}


def near(a, b, tol=0.051):
    return abs(a - b) <= tol


def cells(res):
    """Published results as {node: unit entry}, node None for the total."""
    out = {None: res["total"]}
    for u in res["units"]:
        out[u["unit"]] = u
    return out


def attack(res, par, k, own_counts, field):
    """Tries to recover suppressed cells of one table (field "n" for the
    response counts, or a dimension key) from published cells, using every
    family equation parent = children + own at every level, repeatedly, as
    an observer who even knows which own groups are empty. Returns the list
    of (node, value) recovered for suppressed cells and of small groups
    (1..k-1 respondents) isolated as a remainder."""
    pub = cells(res)

    def published(node):
        e = pub[node]
        if field == "n":
            return None if e["suppressed"] else e["n"]
        d = next(x for x in e["dimensions"] if x["dimension"] == field)
        return None if d["suppressed"] else d["n"]

    children = {node: [c for c, p in par.items() if p == node] for node in pub}
    known = {node: published(node) for node in pub}
    recovered, small = [], []
    changed = True
    while changed:
        changed = False
        for p, kids in children.items():
            if not kids:
                continue
            own_unknown = own_counts.get(p, 0) > 0
            unknown = [c for c in kids if known[c] is None]
            if known[p] is not None:
                rest = known[p] - sum(known[c] for c in kids if known[c] is not None)
                if len(unknown) == 1 and not own_unknown:
                    known[unknown[0]] = rest
                    recovered.append((unknown[0], rest))
                    changed = True
                elif unknown or own_unknown:
                    if 0 < rest < k:
                        small.append((p, rest))
            elif not unknown and not own_unknown:
                known[p] = sum(known[c] for c in kids)
                recovered.append((p, known[p]))
                changed = True
    return recovered, small
