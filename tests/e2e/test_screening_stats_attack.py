"""An attacker against screening statistics (docs/DOMAIN.md, "Statistics that
cannot be differenced").

Ten people per PHQ-9 band take the questionnaire by 20 March, one more
person (the victim) on the 21st. A coordinator wants the victim's band. The
old API answered any window: stats?to=…-20 and stats?to=…-21 differed by
the victim alone, with every cell above the threshold. Here the stack's
clock (WH_NOW) is moved through the month and beyond: before the first
results, while they arrive, after the victim's, on the last evening of the
month, in the grace week, at the first minute after it, after a result
pushed too late, and after the year has closed, with an erasure and a
retention purge at the end. At every moment the attacker asks for every
period (closed, open, future, empty), in every view, every malformed
period and every window with from/to. It must find that:
- only closed periods are answered (200), open or future ones are 409,
  windows and malformed periods 422;
- every answer for a period is the same at every later moment (frozen);
- no two published tables differ by fewer than k people in a way that
  shows a band, and no shown total has hidden bands holding 1 to k - 1
  people, so that no small group, and so no one person, is isolated."""

import datetime
import itertools
import json
from zoneinfo import ZoneInfo

import screeninglib as sl
from stack import Stack, run

TZ = ZoneInfo("Europe/Berlin")
GRACE_DAYS = 7
K = 10
BANDS = ["minimal", "mild", "moderate", "moderately_severe", "severe"]
# PHQ-9 answers with sums 0, 5, 10, 16 and 21; item 9 stays 0.
ANSWERS = {"minimal": [0] * 9, "mild": [1] * 5 + [0] * 4, "moderate": [2] * 5 + [0] * 4,
           "moderately_severe": [2] * 8 + [0], "severe": [3] * 7 + [0, 0]}
VICTIM_BAND = "moderately_severe"

PERIODS = ["2024", "2024-Q4", "2024-12", "2025", "2025-Q1", "2025-Q2", "2025-02", "2025-03",
           "2025-04", "2026", "2026-Q1", "2026-01"]
MALFORMED = ["2025-3", "2025-13", "2025-00", "2025-Q5", "2025-Q0", "2025-q1", "2025-H1",
             "2025-W12", "2025-03-21", "25", "2025-M03", "1969", "2025-03%20", "", "2025-Q1x"]
WINDOWS = ["from=2025-03-01&to=2025-03-20", "from=2025-03-01&to=2025-03-21",
           "to=2025-03-20", "to=2025-03-21", "from=2025-03-21",
           "period=2025-03&to=2025-03-20", "period=2025-03&from=2025-03-21",
           "period=2025-Q1&from=2025-01-01&to=2025-03-31"]
VIEWS = ["", "&by=unit", "&instrument=phq9", "&instrument=phq9&by=unit"]


def period_bounds(p):
    """First day and the day after the last of a period, as dates."""
    year = int(p[:4])
    if len(p) == 4:
        return datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)
    if p[5] == "Q":
        m0 = 3 * int(p[6]) - 2
    else:
        m0 = int(p[5:7])
    m1 = m0 + (3 if p[5] == "Q" else 1)
    end = datetime.date(year + 1, 1, 1) if m1 == 13 else datetime.date(year, m1, 1)
    return datetime.date(year, m0, 1), end


def closes(p):
    """The instant the period closes: local midnight after its last day plus the grace."""
    day = period_bounds(p)[1] + datetime.timedelta(days=GRACE_DAYS)
    return datetime.datetime(day.year, day.month, day.day, tzinfo=TZ)


def instant(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


class Attacker:
    def __init__(self, s, tenant):
        self.s = s
        self.t = tenant
        self.first = {}      # (period, view) -> first 200 body
        self.tables = {}     # canonical JSON of a published phq9 table by unit -> where seen
        self.asked = 0

    def get(self, query):
        self.asked += 1
        return self.s.get("/v1/screening/stats?org_id=%s&%s" % (self.t.id, query),
                          token=self.t.coord)

    def attack(self, now):
        self.attack_windows(now)
        self.attack_periods(now)

    def attack_windows(self, now):
        """The original attack: any window other than a period. Whatever is
        answered joins the tables compared; then every answer must be 422."""
        statuses = []
        for p in MALFORMED:
            statuses.append(("period=" + p, self.get("period=" + p)))
        for w in WINDOWS:
            for view in ("", "&by=unit&instrument=phq9"):
                statuses.append((w + view, self.get(w + view)))
        for q, r in statuses:
            if r.status == 200 and "by=unit" in q:
                for ins in r.json()["instruments"]:
                    self.tables.setdefault(json.dumps(ins, sort_keys=True), (now, q))
        self.difference_all()
        for q, r in statuses:
            assert r.status == 422, (now, q, r)

    def attack_periods(self, now):
        when = instant(now)
        for p, view in itertools.product(PERIODS, VIEWS):
            r = self.get("period=" + p + view)
            if when < closes(p):
                assert r.status == 409, (now, p, r)
                assert r.json()["type"].endswith("period-open"), r
                continue
            assert r.status == 200, (now, p, r)
            body = r.json()
            assert body["period"] == p and body["threshold"] == K, body
            # Frozen: the same answer at every moment after the first.
            first = self.first.setdefault((p, view), body)
            assert body == first, ("changed", now, p, view, first, body)
            for ins in body["instruments"]:
                self.check_table(ins)
                if ins["instrument"] == "phq9" and "units" in ins:
                    self.tables.setdefault(json.dumps(ins, sort_keys=True), (now, p))
        self.difference_all()

    @staticmethod
    def rows(ins):
        """Each total of a table with its bands: the organisation, then every unit."""
        out = [("org", ins["n"], ins["bands"])]
        for u in ins.get("units", []):
            out.append(("unit:%s" % u["unit"], u["n"], u["bands"]))
        return out

    def check_table(self, ins):
        """Within one table: hidden bands of a shown total hold 0 or >= k."""
        for name, n, bands in self.rows(ins):
            for b in bands:
                assert (b["n"] is None) == b["suppressed"]
                assert b["n"] is None or b["n"] >= K, (name, b)
            if n is None:
                continue
            assert n >= K
            hidden = [b for b in bands if b["n"] is None]
            rest = n - sum(b["n"] for b in bands if b["n"] is not None)
            assert hidden or rest == 0
            if len(hidden) == 1:
                raise AssertionError("one hidden band is the total minus the others: %r" % name)
            assert rest == 0 or rest >= K, ("hidden bands hold a small group", name, rest)

    def difference_all(self):
        """Across tables: two totals that differ by 1 to k - 1 people must not
        show a band that changed between them (that band would hold the
        difference, e.g. the one person who came on the 21st)."""
        tables = [json.loads(k) for k in self.tables]
        for a, b in itertools.combinations(tables, 2):
            rows_b = {name: (n, bands) for name, n, bands in self.rows(b)}
            for name, na, bands_a in self.rows(a):
                if name not in rows_b:
                    continue
                nb, bands_b = rows_b[name]
                if na is None or nb is None or not 1 <= abs(na - nb) < K:
                    continue
                for x, y in zip(bands_a, bands_b):
                    assert x["n"] is None or y["n"] is None or x["n"] == y["n"], (
                        "isolated", name, x["band"], na, nb)


def restart(s, now):
    s.stop()
    s.now = now
    s.start()


def background(t, days):
    """Ten people per band over the month's first 20 days, one per band every
    other day, so that each half of the month holds five per band."""
    items = []
    for i, band in itertools.product(range(10), BANDS):
        day = 1 + (2 * i + BANDS.index(band) % 2)
        if day in days:
            items.append(sl.item(t.id, "p-%s-%d" % (band, i), "phq9", answers=ANSWERS[band],
                                 unit="A", taken_at="2025-03-%02dT09:00:00Z" % day))
    return items


def push_all(s, t, items):
    r = s.post("/v1/screenings/batch", {"items": items}, token=t.integ)
    assert r.status == 200 and all(i["status"] == 201 for i in r.json()["items"]), r
    return r.json()["items"]


def test_every_window_every_moment():
    with Stack(services=sl.SERVICES, now="2025-03-10T20:00:00Z") as s:
        t = sl.Tenant(s)
        a = Attacker(s, t)
        a.attack(s.now)
        first_half = background(t, range(1, 11))
        push_all(s, t, first_half)
        a.attack(s.now)

        restart(s, "2025-03-20T20:00:00Z")
        second_half = background(t, range(11, 21))
        assert len(first_half) + len(second_half) == 50
        push_all(s, t, second_half)
        a.attack(s.now)

        restart(s, "2025-03-21T12:00:00Z")
        sl.push(s, t, sl.item(t.id, "victim", "phq9", answers=ANSWERS[VICTIM_BAND], unit="A",
                              taken_at="2025-03-21T09:00:00Z"))
        a.attack(s.now)

        # The last evening of March, the next day, the last minute of the
        # grace week: March is not closed.
        for now in ("2025-03-31T21:30:00Z", "2025-04-01T12:00:00Z", "2025-04-07T21:59:00Z"):
            restart(s, now)
            a.attack(now)

        # The first minute after the grace: March and Q1 are published.
        restart(s, "2025-04-07T22:00:30Z")
        a.attack(s.now)
        march = a.first[("2025-03", "&instrument=phq9&by=unit")]["instruments"][0]
        assert march["n"] == 51, march
        assert a.first[("2025-Q1", "&instrument=phq9&by=unit")]["instruments"][0] == march

        # A result for March that arrives after March closed is stored but
        # counts nowhere: not in March, not in the year published later.
        restart(s, "2025-04-09T12:00:00Z")
        sl.push(s, t, sl.item(t.id, "late-1", "phq9", answers=ANSWERS["severe"], unit="A",
                              taken_at="2025-03-28T09:00:00Z"))
        a.attack(s.now)

        for now in ("2025-07-02T12:00:00Z", "2026-01-07T22:59:00Z", "2026-01-08T12:00:00Z"):
            restart(s, now)
            a.attack(now)
        year = a.first[("2025", "&instrument=phq9&by=unit")]["instruments"][0]
        assert year == march, (year, march)

        # After every period holding March is published: an erasure and a
        # retention purge change no published figure.
        assert s.delete("/v1/subjects/victim?org_id=" + t.id, token=t.integ).status == 204
        r = s.patch("/v1/screening/settings/" + t.id, {"retention_days": 1}, token=t.oh)
        assert r.status == 200, r
        assert sl.query(s, "SELECT count(*) FROM screenings WHERE org_id = ?", (t.id,)) == [(0,)]
        a.attack(s.now)
        restart(s, "2026-04-08T12:00:00Z")
        a.attack(s.now)
        assert a.asked > 1000
        # Nothing below the threshold is kept in the store: suppressed
        # figures are stored as NULL.
        small = sl.query(s, "SELECT count(*) FROM stats_figures WHERE n < ?", (K,))
        assert small == [(0,)], small


def test_month_and_quarter_frozen_together():
    """March and Q1 close at the same instant. Asking for March alone
    freezes Q1 too, so that erasing the victim afterwards cannot make Q1
    differ from March by that one person."""
    with Stack(services=sl.SERVICES, now="2025-03-21T12:00:00Z") as s:
        t = sl.Tenant(s)
        push_all(s, t, background(t, range(1, 21)))
        sl.push(s, t, sl.item(t.id, "victim", "phq9", answers=ANSWERS[VICTIM_BAND], unit="A",
                              taken_at="2025-03-21T09:00:00Z"))
        restart(s, "2025-04-08T12:00:00Z")
        a = Attacker(s, t)
        r = a.get("period=2025-03&instrument=phq9&by=unit")
        assert r.status == 200 and r.json()["instruments"][0]["n"] == 51, r
        march = r.json()["instruments"][0]
        assert s.delete("/v1/subjects/victim?org_id=" + t.id, token=t.integ).status == 204
        r = a.get("period=2025-Q1&instrument=phq9&by=unit")
        assert r.status == 200 and r.json()["instruments"][0] == march, r
        a.tables = {json.dumps(march, sort_keys=True): 1,
                    json.dumps(r.json()["instruments"][0], sort_keys=True): 2}
        a.difference_all()


MAX_UNITS = 400  # SCR_STATS_MAX_UNITS


def test_units_limit():
    """A period's table has at most SCR_STATS_MAX_UNITS units: at the limit it
    is published, one past it the period is 409 and nothing is stored. A
    month at the limit is published even when its quarter, frozen with it,
    is past it."""
    with Stack(services=sl.SERVICES, now="2025-02-20T12:00:00Z") as s:
        at, past = sl.Tenant(s), sl.Tenant(s, "Klinikum Nord")
        sl.push(s, at, sl.item(at.id, "u-feb", "phq9", unit="U-feb",
                               taken_at="2025-02-05T09:00:00Z"))
        restart(s, "2025-03-25T12:00:00Z")
        for t, n in ((at, MAX_UNITS), (past, MAX_UNITS + 1)):
            push_all(s, t, [sl.item(t.id, "u-%d" % i, "phq9", unit="U%03d" % i,
                                    taken_at="2025-03-05T09:00:00Z") for i in range(n)])
        restart(s, "2025-04-09T12:00:00Z")
        q = "/v1/screening/stats?instrument=phq9&by=unit&period=%s&org_id=%s"
        r = s.get(q % ("2025-03", at.id), token=at.coord)
        assert r.status == 200, r
        ins = r.json()["instruments"][0]
        assert ins["n"] == MAX_UNITS and len(ins["units"]) == MAX_UNITS, ins["n"]
        assert all(u["n"] is None for u in ins["units"]), "one person per unit"
        for period, t in (("2025-Q1", at), ("2025-03", past), ("2025-Q1", past)):
            for _ in range(2):
                r = s.get(q % (period, t.id), token=t.coord)
                assert r.status == 409 and r.json()["type"].endswith("too-many-units"), r
        r = s.get(q % ("2025-02", at.id), token=at.coord)
        assert r.status == 200 and r.json()["instruments"][0]["units"][0]["unit"] == "U-feb"
        assert sl.query(s, "SELECT period FROM stats_periods WHERE org_id = ? ORDER BY period",
                        (at.id,)) == [("2025-02",), ("2025-03",)]
        for table in ("stats_periods", "stats_figures"):
            assert sl.query(s, "SELECT count(*) FROM %s WHERE org_id = ?" % table,
                            (past.id,)) == [(0,)]


if __name__ == "__main__":
    run([test_every_window_every_moment, test_month_and_quarter_frozen_together,
         test_units_limit])
