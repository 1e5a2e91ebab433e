"""The iCalendar feed read by an independent parser (Debian's
python3-icalendar) and the prevention report's figures on a seeded data set,
computed here independently from what the API returns. WH_NOW is
2025-09-01."""

import csv
import datetime
import io
import random

import icalendar

from agreementlib import Parties, body
from stack import Stack, run

NOW = "2025-09-01T10:00:00Z"
FOCUS = ["work_design", "healthy_leadership", "movement", "nutrition", "addiction_prevention",
         "stress_management", "physical_strain", "networking", "other"]
KINDS = ["health_day", "workshop", "course", "leadership_training", "survey",
         "sick_leave_analysis", "steering_group_meeting", "consultation", "other"]

TRICKY = ('Kooperation Süd; Phase 2, "Gesund\\Arbeiten" — ein sehr langer Titel, der '
          'über mehrere Zeilen gefaltet werden muss')


def test_calendar_feed():
    with Stack(now=NOW) as s:
        p = Parties(s)
        e2 = s.org("Klinikum Nord", "employer", 900)["id"]
        a = s.post("/v1/agreements", body(p, title=TRICKY, signed_on="2025-01-10",
                                          auto_renew=True)).json()
        b = s.post("/v1/agreements", body(p, title="Zweite", employer_id=e2, signed_on="2025-02-01",
                                          starts_on="2025-03-01", ends_on="2026-02-28",
                                          notice_days=60)).json()
        s.post("/v1/agreements", body(p, title="Entwurf"))  # drafts have no deadlines
        t = s.post("/v1/agreements", body(p, title="Beendet", signed_on="2025-01-01")).json()
        s.post("/v1/agreements/%s/terminate" % t["id"], {"effective_on": "2025-09-30"})

        r = s.get("/v1/agreements/calendar.ics")
        assert r.status == 200, r
        assert r.header("Content-Type") == "text/calendar; charset=utf-8"
        raw = r.body
        # Every line ends in CRLF and holds at most 75 octets; the long
        # title was folded.
        assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
        lines = raw.split(b"\r\n")[:-1]
        assert max(len(l) for l in lines) <= 75
        assert any(l.startswith(b" ") for l in lines)
        cal = icalendar.Calendar.from_ical(raw)
        assert str(cal["VERSION"]) == "2.0" and "workhealth" in str(cal["PRODID"])
        ev = {str(e["UID"]): e for e in cal.walk("VEVENT")}
        assert sorted(ev) == sorted(["%s-notice@agreements.workhealth" % a["id"],
                                     "%s-end@agreements.workhealth" % a["id"],
                                     "%s-notice@agreements.workhealth" % b["id"],
                                     "%s-end@agreements.workhealth" % b["id"]])
        n = ev["%s-notice@agreements.workhealth" % a["id"]]
        assert str(n["SUMMARY"]) == "Notice deadline: " + TRICKY
        assert n.decoded("DTSTART") == datetime.date(2025, 10, 2)
        assert n.decoded("DTEND") == datetime.date(2025, 10, 3)
        assert n["DTSTART"].params["VALUE"] == "DATE"
        assert "renews automatically" in str(n["DESCRIPTION"])
        assert TRICKY in str(n["DESCRIPTION"])
        # DTSTAMP is the event's last revision: the agreement's updated_at to
        # the second (the clock runs on from WH_NOW, so it is not WH_NOW
        # itself on a busy machine).
        updated = s.get("/v1/agreements/%s" % a["id"]).json()["updated_at"]
        stamp = datetime.datetime.fromisoformat(updated.replace("Z", "+00:00"))
        assert n.decoded("DTSTAMP") == stamp.replace(microsecond=0)
        assert stamp - datetime.datetime(2025, 9, 1, 10, tzinfo=datetime.timezone.utc) < \
            datetime.timedelta(minutes=5)
        assert int(n["SEQUENCE"]) == 0
        e = ev["%s-end@agreements.workhealth" % b["id"]]
        assert str(e["SUMMARY"]) == "Agreement ends: Zweite"
        assert e.decoded("DTSTART") == datetime.date(2026, 2, 28)
        assert e.decoded("DTEND") == datetime.date(2026, 3, 1)
        assert ev["%s-notice@agreements.workhealth" % b["id"]].decoded(
            "DTSTART") == datetime.date(2025, 12, 30)
        # Stable: the same feed again is byte for byte the same; a change
        # keeps the UIDs and raises SEQUENCE.
        assert s.get("/v1/agreements/calendar.ics").body == raw
        s.patch("/v1/agreements/" + a["id"], {"title": "Neu"})
        cal2 = icalendar.Calendar.from_ical(s.get("/v1/agreements/calendar.ics").body)
        ev2 = {str(x["UID"]): x for x in cal2.walk("VEVENT")}
        assert sorted(ev2) == sorted(ev)
        n2 = ev2["%s-notice@agreements.workhealth" % a["id"]]
        assert (str(n2["SUMMARY"]), int(n2["SEQUENCE"])) == ("Notice deadline: Neu", 1)
        # Filters and scope.
        uids = lambda q, **kw: sorted(str(x["UID"]).split("-")[0] for x in icalendar.Calendar
                                      .from_ical(s.get("/v1/agreements/calendar.ics" + q,
                                                       **kw).body).walk("VEVENT"))
        assert uids("?employer_id=" + e2) == [b["id"], b["id"]]
        assert uids("?employer_id=" + p.e) == [a["id"], a["id"]]
        assert uids("?insurer_id=" + p.i) == sorted([a["id"]] * 2 + [b["id"]] * 2)
        coord = s.token("coordinator", [e2])
        assert uids("", token=coord) == [b["id"], b["id"]]
        occ = s.token("occupational_health", [p.e])
        assert uids("", token=occ) == [a["id"], a["id"]]
        # A token without agreements gets an empty but valid calendar.
        none = s.token("coordinator", [s.org("Leer", "employer", 1)["id"]])
        r = s.get("/v1/agreements/calendar.ics", token=none)
        c = icalendar.Calendar.from_ical(r.body)
        assert r.status == 200 and c.walk("VEVENT") == []


def d(s):
    return datetime.date.fromisoformat(s)


def expected_report(agreements, activities, insurer, year):
    y0, y1 = datetime.date(year, 1, 1), datetime.date(year, 12, 31)

    def end(a):
        return d(a["terminated_on"]) if a["state"] == "terminated" else d(a["ends_on"])

    active = [a for a in agreements if a["insurer_id"] == insurer and a["state"] != "draft"
              and d(a["starts_on"]) <= y1 and end(a) >= y0]
    ids = {a["id"] for a in active}
    staff = {}
    for a in active:
        staff[a["employer_id"]] = max(staff.get(a["employer_id"], 0),
                                      a["employees_covered"] or 0)
    done = [x for x in activities if x["status"] == "done" and x["agreement_id"] in ids
            and y0 <= d(x["planned_on"]) <= y1]
    part = lambda xs: sum(x["participants"] or 0 for x in xs)
    return {
        "insurer_id": insurer, "year": year,
        "agreements_active": len(active),
        "agreements_new": sum(1 for a in active if d(a["starts_on"]) >= y0 and not a["renews"]),
        "organizations": len({a["employer_id"] for a in active}),
        "employees_covered": sum(staff.values()),
        "activities_done": len(done), "participants": part(done),
        "by_kind": [{"kind": k, "activities_done": len([x for x in done if x["kind"] == k]),
                     "participants": part([x for x in done if x["kind"] == k])} for k in KINDS],
        "by_focus_area": [{"focus_area": f,
                           "agreements": sum(1 for a in active if f in a["focus_areas"]),
                           "activities_done": len([x for x in done if x["focus_area"] == f]),
                           "participants": part([x for x in done if x["focus_area"] == f])}
                          for f in FOCUS],
    }


def test_prevention_report():
    rnd = random.Random(20250901)
    with Stack(now=NOW) as s:
        p = Parties(s)
        employers = [p.e] + [s.org("Arbeitgeber %d" % i, "employer", 100 * i)["id"]
                             for i in range(1, 6)]
        other_insurer = s.org("TK", "insurer", 1)["id"]
        made = []
        for i in range(40):
            year = rnd.choice([2023, 2024, 2025])
            start = datetime.date(year, rnd.choice([1, 4, 7]), 1)
            length = rnd.choice([180, 364, 500])
            ins = p.i if rnd.random() < 0.8 else other_insurer
            b = body(p, title="A%d" % i, employer_id=rnd.choice(employers), insurer_id=ins,
                     starts_on=start.isoformat(),
                     ends_on=(start + datetime.timedelta(days=length)).isoformat(),
                     notice_days=30, employees_covered=rnd.choice([None, 50, 200, 1600]),
                     focus_areas=rnd.sample(FOCUS, rnd.randint(0, 3)))
            if rnd.random() < 0.85:
                b["signed_on"] = (start - datetime.timedelta(days=10)).isoformat()
            r = s.post("/v1/agreements", b)
            assert r.status == 201, r
            made.append(r.json())
        # Some terminated, some renewed (the successors start the next day).
        for a in made[:6]:
            if a["state"] == "signed":
                eff = (d(a["starts_on"]) + datetime.timedelta(days=20)).isoformat()
                assert s.post("/v1/agreements/%s/terminate" % a["id"],
                              {"effective_on": eff}).status == 200
        for a in made[6:12]:
            if a["state"] == "signed":
                end = (d(a["ends_on"]) + datetime.timedelta(days=365)).isoformat()
                r = s.post("/v1/agreements/%s/renew" % a["id"],
                           {"ends_on": end, "employees_covered": 2000,
                            "signed_on": min(a["ends_on"], "2025-09-01")})
                assert r.status == 201, r
        listing = s.get("/v1/agreements?limit=500").json()["items"]
        acts = []
        for a in listing:
            for _ in range(rnd.randint(0, 4)):
                r = s.post("/v1/agreements/%s/activities" % a["id"], {
                    "kind": rnd.choice(KINDS), "title": "x",
                    "focus_area": rnd.choice(FOCUS + [None]),
                    "planned_on": datetime.date(rnd.choice([2024, 2025]), rnd.randint(1, 12),
                                                rnd.randint(1, 28)).isoformat(),
                    "status": rnd.choice(["planned", "done", "done", "cancelled"]),
                    "participants": rnd.choice([None, 0, 12, 30, 250])})
                assert r.status == 201, r
                acts.append(r.json())
        agreements = [s.get("/v1/agreements/" + a["id"]).json() for a in listing]
        assert sum(1 for a in agreements if a["state"] == "renewed") >= 2
        assert sum(1 for a in agreements if a["state"] == "terminated") >= 2
        cons = s.token("consultant", [p.i])
        for year in (2023, 2024, 2025, 2026):
            want = expected_report(agreements, acts, p.i, year)
            r = s.get("/v1/reports/prevention?insurer_id=%s&year=%d" % (p.i, year), token=cons)
            assert r.status == 200 and r.header("Content-Type") == "application/json", r
            assert r.json() == want, (year, r.json(), want)
            # CSV: the same figures, one measure per row.
            r = s.get("/v1/reports/prevention?insurer_id=%s&year=%d" % (p.i, year),
                      headers={"Accept": "text/csv"})
            assert r.status == 200, r
            assert r.header("Content-Type") == "text/csv; charset=utf-8; header=present"
            assert r.body.endswith(b"\r\n")
            rows = list(csv.DictReader(io.StringIO(r.body.decode(), newline="")))
            got = {(x["measure"], x["dimension"], x["key"]): int(x["value"]) for x in rows}
            assert all(x["insurer_id"] == p.i and x["year"] == str(year) for x in rows)
            for m in ("agreements_active", "agreements_new", "organizations",
                      "employees_covered", "activities_done", "participants"):
                assert got[(m, "", "")] == want[m], (year, m)
            for k in want["by_kind"]:
                assert got[("activities_done", "kind", k["kind"])] == k["activities_done"]
                assert got[("participants", "kind", k["kind"])] == k["participants"]
            for f in want["by_focus_area"]:
                assert got[("agreements", "focus_area", f["focus_area"])] == f["agreements"]
                assert got[("activities_done", "focus_area", f["focus_area"])] == f[
                    "activities_done"]
                assert got[("participants", "focus_area", f["focus_area"])] == f["participants"]
            assert len(rows) == 6 + 2 * len(KINDS) + 3 * len(FOCUS)
        # The figures are not all zero: the seed exercises every part.
        w = expected_report(agreements, acts, p.i, 2025)
        assert w["agreements_active"] > 5 and w["agreements_new"] > 0 and w["participants"] > 0
        # Accept with several types still picks CSV when it names it; JSON
        # otherwise; the year defaults to today's.
        r = s.get("/v1/reports/prevention?insurer_id=" + p.i,
                  headers={"Accept": "application/json;q=0.5, text/csv"})
        assert r.header("Content-Type").startswith("text/csv")
        r = s.get("/v1/reports/prevention?insurer_id=" + p.i, headers={"Accept": "*/*"})
        assert r.json()["year"] == 2025
        for q, param in [("year=2025", "insurer_id"), ("insurer_id=%s&year=25" % p.i, "year"),
                         ("insurer_id=%s&year=1899" % p.i, "year")]:
            r = s.get("/v1/reports/prevention?" + q)
            assert r.status == 422 and r.json()["errors"][0]["parameter"] == param, r


if __name__ == "__main__":
    run([test_calendar_feed, test_prevention_report])
