"""Every response of a broad sweep over the API matches the served OpenAPI
document: for each operation in the document at least one success and one
error, each checked by openapi_check against the schema for its path,
method, status and content type. Any mismatch fails the test, and so does
an operation the sweep did not reach both ways, so that a new operation
needs its schemas and a place in this sweep."""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler

import agreementlib as al
import networklib as nl
import openapi_check
import screeninglib as scr
import surveylib as sl
from stack import Stack, run, serve_http, stop_http

NO_ID = "01JD0000000000000000000000"
ENV = {"WH_RETRY_SCALE": "0.0001"}


class Sweep:
    """Sends requests through the stack and checks every response."""

    def __init__(self, s):
        self.s = s
        self.mismatches = []
        self.unexpected = []  # (method, path, wanted, response)
        self.checked = 0
        self.seen = {}  # operationId -> set of status classes
        self.dump = [] if os.environ.get("WH_OPENAPI_DUMP") else None
        openapi_check.load(s.port)

    def req(self, method, path, body=None, want=None, **kw):
        r = self.s.request(method, path, body=body, **kw)
        try:
            op = openapi_check.check(method, path, r.status, r.headers, r.body)
        except openapi_check.Mismatch as e:
            self.mismatches.append(str(e))
            op = "?"
        if op:
            self.checked += 1
            self.seen.setdefault(op, set()).add(r.status // 100)
        if op and r.status < 300 and kw.get("raw") is None:
            try:
                openapi_check.check_request(method, path, body)
            except openapi_check.Mismatch as e:
                self.mismatches.append(str(e))
        if self.dump is not None:
            self.dump.append({"op": op, "method": method, "path": path, "status": r.status,
                              "type": r.header("Content-Type"), "etag": r.header("ETag"),
                              "body": r.body.decode("utf-8", "replace")[:3000]})
        if want is not None and r.status != want:
            self.unexpected.append("%s %s: wanted %d, got %r" % (method, path, want, r))
        return r

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.req("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)


class Failing(BaseHTTPRequestHandler):
    """A webhook receiver that always fails, so that deliveries end failed."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def wait_for(fn, what, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def gateway_and_agreements(w):
    s = w.s
    w.get("/v1/openapi.json", token=None, want=200)
    w.get("/v1/openapi.json?x=1", token=None)  # query parameters are ignored: 200
    w.get("/v1/openapi.json", token=None, raw=b"x", headers={"Content-Type": "text/plain"},
          want=400)
    # Tokens.
    r = w.post("/v1/tokens", {"role": "coordinator", "org_ids": [NO_ID], "label": "sweep",
                              "expires_at": "2099-01-01T00:00:00Z"}, want=201)
    tid = r.json()["id"]
    w.post("/v1/tokens", {"role": "boss", "org_ids": [], "label": "x"}, want=422)
    w.post("/v1/tokens", {"role": "admin", "org_ids": [], "label": "x", "extra": 1}, want=422)
    w.post("/v1/tokens", raw=b"{", headers={"Content-Type": "application/json"}, want=400)
    w.post("/v1/tokens", raw=b"{}", headers={"Content-Type": "text/plain"})
    w.get("/v1/tokens", want=200)
    w.get("/v1/tokens?limit=1", want=200)
    w.get("/v1/tokens", token=None, want=401)
    w.get("/v1/tokens?limit=0", want=422)
    w.delete("/v1/tokens/" + tid, want=204)
    w.delete("/v1/tokens/" + tid)
    # The console's session.
    r = w.post("/v1/session", want=201)
    cookie = r.header("Set-Cookie").split(";", 1)[0]
    csrf = r.json()["csrf_token"]
    w.get("/v1/session", token=None, headers={"Cookie": cookie}, want=200)
    w.get("/v1/session", want=200)
    w.get("/v1/session", token=None, want=401)
    w.delete("/v1/session", token=None, headers={"Cookie": cookie}, want=403)
    w.delete("/v1/session", want=404)
    w.delete("/v1/session", token=None, want=204,
             headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-origin"})
    w.post("/v1/session", token=None, want=401)
    # Organisations.
    p = al.Parties(s)
    w.post("/v1/organizations", {"name": "Werk Süd", "kind": "employer", "employees": 40,
                                 "region": "Bayern", "sector": None}, want=201)
    w.post("/v1/organizations", {"name": "", "kind": "club", "employees": -1}, want=422)
    w.get("/v1/organizations", want=200)
    w.get("/v1/organizations?kind=employer&limit=1", want=200)
    w.get("/v1/organizations?kind=club", want=422)
    w.get("/v1/organizations/" + p.e, want=200)
    w.get("/v1/organizations/" + NO_ID, want=404)
    w.patch("/v1/organizations/" + p.e, {"region": "Berlin"}, want=200)
    w.patch("/v1/organizations/" + p.e, {"region": "x"}, headers={"If-Match": '"nope"'},
            want=412)
    w.patch("/v1/organizations/" + p.e, {"employees": "many"}, want=422)
    coord = s.token("coordinator", [p.e])
    cons = s.token("consultant", [p.i])
    occ = s.token("occupational_health", [p.e])
    integ = s.token("integration", [p.e])
    w.post("/v1/organizations", {"name": "x", "kind": "employer", "employees": 1},
           token=coord, want=403)
    # Agreements.
    full = al.body(p, signed_on="2024-11-21", auto_renew=False, employees_covered=1600,
                   focus_areas=["stress_management", "work_design"],
                   support={"financial_eur": 15000, "advisory": True},
                   conditions=[{"text": "approved budget", "met": False}],
                   contacts=[al.CONTACT], reminder_days=[90, 30, 7])
    signed = w.post("/v1/agreements", full, want=201).json()
    draft = w.post("/v1/agreements", al.body(p, title="Entwurf"), token=coord, want=201).json()
    w.post("/v1/agreements", al.body(p, ends_on="2024-01-01", colour="red"), want=422)
    w.post("/v1/agreements", al.body(p), token=integ, want=403)
    w.get("/v1/agreements", want=200)
    w.get("/v1/agreements?employer_id=%s&state=signed&phase=expired&focus_area=work_design"
          "&expiring_within_days=30&limit=1" % p.e, want=200)
    w.get("/v1/agreements?state=lost", want=422)
    w.get("/v1/agreements/calendar.ics", want=200)
    w.get("/v1/agreements/calendar.ics?insurer_id=" + p.i, token=cons, want=200)
    w.get("/v1/agreements/calendar.ics", token=None, want=401)
    w.get("/v1/agreements/calendar.ics", token=integ, want=403)
    # Calendar feeds.
    feed = w.post("/v1/calendar-feeds", {"label": "sweep"}, token=cons, want=201).json()
    w.post("/v1/calendar-feeds", {"label": "x", "org_ids": [p.e]}, token=cons, want=422)
    w.post("/v1/calendar-feeds", {"label": "x"}, token=occ, want=403)
    w.get("/v1/calendar-feeds", token=cons, want=200)
    w.get("/v1/calendar-feeds", token=None, want=401)
    w.get(feed["url"][feed["url"].index("/v1/"):], token=None, want=200)
    w.get("/v1/agreements/calendar.ics?feed=whf_unknown", token=None, want=404)
    w.delete("/v1/calendar-feeds/" + feed["id"], token=coord, want=404)
    w.delete("/v1/calendar-feeds/" + feed["id"], token=cons, want=204)
    w.get("/v1/agreements/" + signed["id"], want=200)
    w.get("/v1/agreements/" + draft["id"], token=occ, want=200)
    w.get("/v1/agreements/" + NO_ID, want=404)
    w.patch("/v1/agreements/" + draft["id"], {"title": "Entwurf 2", "employees_covered": None},
            want=200)
    w.patch("/v1/agreements/" + signed["id"], {"ends_on": "2026-12-31"}, want=409)
    w.patch("/v1/agreements/" + draft["id"], {"colour": "red"}, want=422)
    w.post("/v1/agreements/%s/sign" % draft["id"], {"signed_on": "2024-12-01"}, want=200)
    w.post("/v1/agreements/%s/sign" % draft["id"], {"signed_on": "2024-12-01"}, want=409)
    w.post("/v1/agreements/%s/sign" % signed["id"], {"signed_on": "soon"}, want=422)
    w.get("/v1/agreements/%s/history" % draft["id"], want=200)
    w.get("/v1/agreements/%s/history" % NO_ID, want=404)
    w.get("/v1/agreements/%s/reminders" % signed["id"], want=200)
    w.get("/v1/agreements/%s/reminders" % NO_ID, want=404)
    renewed = w.post("/v1/agreements/%s/renew" % signed["id"],
                     {"ends_on": "2026-12-31", "title": "BGF-Kooperation 2026"}, want=201).json()
    w.post("/v1/agreements/%s/renew" % signed["id"], {"ends_on": "2027-12-31"}, want=409)
    w.get("/v1/agreements/" + signed["id"], want=200)
    w.post("/v1/agreements/%s/terminate" % renewed["id"],
           {"effective_on": "2026-06-30", "reason": "budget cut"}, want=200)
    w.post("/v1/agreements/%s/terminate" % renewed["id"], {"effective_on": "2026-06-30"},
           want=409)
    w.post("/v1/agreements/%s/terminate" % draft["id"], {}, want=422)
    gone = w.post("/v1/agreements", al.body(p, title="Weg damit"), want=201).json()
    w.delete("/v1/agreements/" + gone["id"], want=204)
    w.delete("/v1/agreements/" + signed["id"], want=409)
    w.delete("/v1/agreements/" + gone["id"], want=404)
    # Activities.
    act = w.post("/v1/agreements/%s/activities" % signed["id"],
                 {"kind": "health_day", "title": "Gesundheitstag", "focus_area": "movement",
                  "planned_on": "2025-05-12", "status": "done", "participants": 120},
                 want=201).json()
    w.post("/v1/agreements/%s/activities" % signed["id"],
           {"kind": "party", "title": "x", "planned_on": "2025-05-12"}, want=422)
    w.get("/v1/agreements/%s/activities" % signed["id"], want=200)
    w.get("/v1/agreements/%s/activities?status=done&kind=health_day" % signed["id"], want=200)
    w.get("/v1/agreements/%s/activities" % NO_ID, want=404)
    w.get("/v1/activities/" + act["id"], want=200)
    w.get("/v1/activities/" + NO_ID, want=404)
    w.patch("/v1/activities/" + act["id"], {"participants": None, "status": "cancelled"},
            want=200)
    w.patch("/v1/activities/" + act["id"], {"status": "maybe"}, want=422)
    # Prevention report, JSON and CSV.
    w.get("/v1/reports/prevention?insurer_id=%s&year=2025" % p.i, want=200)
    w.get("/v1/reports/prevention?insurer_id=%s&year=2025" % p.i, token=cons,
          headers={"Accept": "text/csv"}, want=200)
    w.get("/v1/reports/prevention?insurer_id=%s&year=nine" % p.i, want=422)
    w.get("/v1/reports/prevention?insurer_id=%s&year=2025" % p.i, token=coord, want=403)
    return p


def surveys(w, p):
    s = w.s
    org = p.e
    coord = s.token("coordinator", [org])
    body = sl.survey_body(org)
    sv = w.post("/v1/surveys", body, token=coord, want=201).json()
    sid = sv["id"]
    w.post("/v1/surveys", dict(body, colour="red"), want=422)
    w.post("/v1/surveys", body, token=s.token("consultant", [p.i]), want=403)
    w.get("/v1/surveys", want=200)
    w.get("/v1/surveys?org_id=%s&state=draft&limit=1" % org, want=200)
    w.get("/v1/surveys?state=nope", want=422)
    w.get("/v1/surveys/" + sid, want=200)
    w.get("/v1/surveys/" + NO_ID, want=404)
    w.patch("/v1/surveys/" + sid, {"title": "Befragung 2025"}, token=coord, want=200)
    w.patch("/v1/surveys/" + sid, {"title": 5}, want=422)
    w.post("/v1/surveys/%s/close" % sid, want=409)
    w.get("/v1/public/surveys/%s?code=NOPE" % sid, token=None)
    w.post("/v1/surveys/%s/open" % sid, token=coord, want=200)
    w.post("/v1/surveys/%s/open" % sid, token=coord, want=409)
    w.patch("/v1/surveys/" + sid, {"questions": []}, want=409)
    issuer = sl.issuer(s)
    codes = w.post("/v1/surveys/%s/codes" % sid, {"count": 12}, token=issuer,
                   want=201).json()["codes"]
    w.post("/v1/surveys/%s/codes" % sid, {"count": 2, "unit": "A1", "delivery": "print"},
           token=issuer, want=201)
    w.post("/v1/surveys/%s/codes" % sid, {"delivery": "email", "unit": "B",
                                          "recipients": ["a@example.org", "b@example.org"]},
           token=coord, want=202)
    w.post("/v1/surveys/%s/codes" % sid, {"count": 0}, token=issuer, want=422)
    w.post("/v1/surveys/%s/codes" % sid, {"count": 1, "unit": "Z9"}, token=issuer)
    w.get("/v1/public/surveys/%s?code=%s&lang=en" % (sid, codes[0]), token=None, want=200)
    w.get("/v1/public/surveys/%s?code=%s" % (sid, codes[0]), token=None, want=200)
    w.get("/v1/public/surveys/%s?code=%s&lang=xx" % (sid, codes[0]), token=None, want=422)
    w.get("/v1/public/surveys/%s?code=WRONGCODE1" % sid, token=None, want=403)
    for i, code in enumerate(codes[:8]):
        w.post("/v1/public/surveys/%s/responses" % sid,
               {"code": code, "unit": ["A1", "A1a", "B"][i % 3], "language": "de",
                "answers": {"wl1": 1 + i % 5, "su1": 3, "le1": 7}}, token=None, want=201)
    w.post("/v1/public/surveys/%s/responses" % sid,
           {"code": codes[0], "language": "de", "answers": {"wl1": 3}}, token=None, want=403)
    w.post("/v1/public/surveys/%s/responses" % sid,
           {"code": codes[8], "language": "de", "answers": {"wl1": 99}}, token=None, want=422)
    w.get("/v1/surveys/%s/results" % sid, want=409)  # open: no results yet
    w.post("/v1/surveys/%s/close" % sid, token=coord, want=200)
    w.post("/v1/public/surveys/%s/responses" % sid,
           {"code": codes[9], "language": "de", "answers": {"wl1": 3}}, token=None, want=409)
    w.get("/v1/surveys/%s/results" % sid, want=200)
    w.get("/v1/surveys/%s/results?by=unit" % sid, want=200)
    w.get("/v1/surveys/%s/results" % sid, token=issuer, want=403)
    w.get("/v1/surveys/%s/results.csv" % sid, want=200)
    w.get("/v1/surveys/%s/results.csv" % NO_ID, want=404)
    later = w.post("/v1/surveys", sl.survey_body(org), want=201).json()
    w.post("/v1/surveys/%s/open" % later["id"], want=200)
    w.post("/v1/surveys/%s/close" % later["id"], want=200)
    w.get("/v1/surveys/%s/results?by=unit&compare_to=%s" % (later["id"], sid), want=200)
    w.get("/v1/surveys/%s/results?compare_to=%s" % (later["id"], NO_ID), want=422)
    return sid


def sick_leave(w, p, sid):
    """The sick-leave import (text/csv) and reads, also beside survey sid's
    results (its organisation is p.e, units A, B, C)."""
    s = w.s
    consultant = s.token("consultant", [p.i, p.e])  # its insurer and the employer
    rows = ["org_id,unit,period,insured,cases,days,icd_chapter,sector"]
    for unit, insured in (("A", 120), ("B", 80), ("C", 30)):
        rows += ["%s,%s,2025-Q1,%d,20,300,,public" % (p.e, unit, insured),
                 "%s,%s,2025-Q1,%d,5,90,V,public" % (p.e, unit, insured)]
    body = ("\n".join(rows) + "\n").encode()

    def imp(raw, **kw):
        return w.req("POST", "/v1/sick-leave/imports?insurer_id=%s" % p.i, raw=raw,
                     headers={"Content-Type": "text/csv"}, **kw)
    imp(body, token=consultant, want=201)
    imp(body, token=consultant, want=409)
    imp(body.replace(b",300,", b",x,"), want=422)
    imp(b"org_id\n\"open\n", want=422)
    imp(body, token=s.token("coordinator", [p.e]), want=403)
    base = "/v1/sick-leave?org_id=%s&period=2025-Q1" % p.e
    w.get(base, want=200)
    w.get(base + "&by=icd_chapter", token=consultant, want=200)
    w.get(base.replace("2025-Q1", "2024"), want=404)
    w.get(base + "&by=sector", want=422)
    w.get("/v1/surveys/%s/results?sick_leave_period=2025-Q1" % sid, want=200)
    w.get("/v1/surveys/%s/results?sick_leave_period=2025-Q7" % sid, want=422)


def networks(w):
    """Networks on stacks of their own: a benchmark needs surveys closed in a
    year that has ended, and the clock is read at start (networklib)."""
    years = nl.Years()
    try:
        with years.stack(nl.IN_YEAR) as s:
            n = Sweep(s)
            orgs = [s.org("Behörde %d" % i)["id"] for i in range(5)]
            coord = s.token("coordinator", orgs[:1])
            nid = n.post("/v1/networks", {"name": "Netzwerk"}, want=201).json()["id"]
            n.post("/v1/networks", {"name": ""}, want=422)
            for org in orgs:
                n.post("/v1/networks/%s/members/%s" % (nid, org), want=200)
            n.post("/v1/networks/%s/members/%s" % (NO_ID, orgs[0]), want=404)
            n.delete("/v1/networks/%s/members/%s" % (nid, orgs[4]), want=204)
            n.delete("/v1/networks/%s/members/%s" % (nid, orgs[4]), want=404)
            n.post("/v1/networks/%s/members/%s" % (nid, orgs[4]), {}, want=200)
            n.get("/v1/networks", token=coord, want=200)
            n.get("/v1/networks?limit=0", want=422)
            n.get("/v1/networks/" + nid, token=coord, want=200)
            n.get("/v1/networks/" + NO_ID, want=404)
            tid = n.post("/v1/networks/%s/templates" % nid, nl.template_body(), token=coord,
                         want=201).json()["id"]
            n.post("/v1/networks/%s/templates" % nid, {"title": "x"}, want=422)
            n.get("/v1/networks/%s/templates" % nid, want=200)
            n.get("/v1/networks/%s/templates" % NO_ID, want=404)
            for i, org in enumerate(orgs):
                sid = n.post("/v1/surveys", {"org_id": org, "title": "Befragung",
                                             "template_id": tid}, want=201).json()["id"]
                codes = s.post("/v1/surveys/%s/codes" % sid, {"count": 5},
                               token=sl.issuer(s)).json()["codes"]
                s.post("/v1/surveys/%s/open" % sid)
                for j, (_, answers) in enumerate(sl.generate(i, {None: 5})):
                    s.post("/v1/public/surveys/%s/responses" % sid,
                           {"code": codes[j], "language": "de", "answers": answers}, token=None)
                s.post("/v1/surveys/%s/close" % sid)
            n.post("/v1/networks/%s/benchmarks" % nid, {"template_id": tid, "year": nl.YEAR},
                   want=409)
        with years.stack(nl.AFTER_YEAR) as s:
            m = Sweep(s)
            path = "/v1/networks/%s/benchmarks" % nid
            m.post(path, {"template_id": tid, "year": nl.YEAR}, token=s.token("coordinator",
                                                                               orgs[:1]), want=201)
            m.post(path, {"template_id": tid, "year": nl.YEAR}, want=409)
            m.get("%s/%d?template_id=%s" % (path, nl.YEAR, tid), want=200)
            m.get("%s/%d?template_id=%s" % (path, nl.YEAR - 1, tid), want=404)
        for x in (n, m):
            w.mismatches += x.mismatches
            w.unexpected += x.unexpected
            w.checked += x.checked
            for op, classes in x.seen.items():
                w.seen.setdefault(op, set()).update(classes)
    finally:
        years.close()


def screening(w):
    s = w.s
    t = scr.Tenant(s)
    other = scr.Tenant(s, "Anderswo")
    w.get("/v1/screening/instruments", token=t.integ, want=200)
    w.get("/v1/screening/instruments", token=None, want=401)
    ok = w.post("/v1/screenings", scr.item(t.id, "p-1", "who5", external_id="ext-1",
                                           unit="A", language="de"),
                token=t.integ, want=201).json()
    w.post("/v1/screenings", scr.item(t.id, "p-1", "who5", external_id="ext-1", unit="A",
                                      language="de"), token=t.integ, want=200)
    risk = w.post("/v1/screenings", scr.item(t.id, "p-2", "phq9", at_risk=True),
                  token=t.integ, want=201).json()
    urgent = w.post("/v1/screenings", scr.item(t.id, "p-3", "phq9",
                                               answers=[0] * 8 + [2]), token=t.oh,
                    want=201).json()
    w.post("/v1/screenings", scr.item(t.id, "p-4", "who5", answers=[0, 6, 2, -1]),
           token=t.integ, want=422)
    w.post("/v1/screenings", scr.item(t.id, "p-4"), token=t.coord, want=403)
    items = [scr.item(t.id, "p-5", "gad7"), scr.item(t.id, "p-6", "gad7", at_risk=True),
             scr.item(t.id, "p-7", "gad7", answers=[9]), scr.item(other.id, "p-8")]
    w.post("/v1/screenings/batch", {"items": items}, token=t.integ)
    w.post("/v1/screenings/batch", {"items": [], "x": 1}, token=t.integ, want=422)
    w.get("/v1/screenings/" + ok["id"], token=t.oh, want=200)
    w.get("/v1/screenings/" + ok["id"], token=other.oh, want=404)
    w.get("/v1/screenings?subject=p-1", token=t.oh, want=200)
    w.get("/v1/screenings?subject=p-1&org_id=" + t.id + "&limit=1", token=t.oh, want=200)
    w.get("/v1/screenings?subject=p-1", token=t.integ, want=403)
    w.get("/v1/alerts", token=t.oh, want=200)
    w.get("/v1/alerts?org_id=%s&state=open&limit=1" % t.id, token=t.oh, want=200)
    w.get("/v1/alerts?state=gone", token=t.oh, want=422)
    aid, uid = risk["alert_id"], urgent["alert_id"]
    w.get("/v1/alerts/" + aid, token=t.oh, want=200)
    w.get("/v1/alerts/" + NO_ID, token=t.oh, want=404)
    w.post("/v1/alerts/%s/offer-support" % aid, {"note": "x"}, token=t.oh, want=409)
    w.post("/v1/alerts/%s/acknowledge" % aid, token=t.oh, want=200)
    w.post("/v1/alerts/%s/acknowledge" % aid, token=t.oh, want=409)
    w.post("/v1/alerts/%s/acknowledge" % uid, token=t.oh, want=200)
    w.post("/v1/alerts/%s/offer-support" % aid, {"note": "Gespräch angeboten", "x": 1},
           token=t.oh, want=422)
    w.post("/v1/alerts/%s/offer-support" % aid, {"note": "Gespräch angeboten"}, token=t.oh,
           want=200)
    w.post("/v1/alerts/%s/close" % aid, {"outcome": "maybe"}, token=t.oh, want=422)
    w.post("/v1/alerts/%s/close" % aid, {"outcome": "accepted"}, token=t.oh, want=200)
    w.post("/v1/alerts/%s/close" % uid, {"outcome": "no_contact"}, token=t.oh, want=200)
    w.get("/v1/alerts/" + aid, token=t.oh, want=200)
    stats = "/v1/screening/stats?period=2025-03&org_id=" + t.id
    w.get(stats, token=t.coord, want=200)
    w.get(stats + "&by=unit&instrument=who5", token=t.coord, want=200)
    w.get(stats, token=other.coord, want=404)
    w.get("/v1/screening/stats?period=2099-01&org_id=" + t.id, token=t.coord, want=409)
    w.get("/v1/screening/stats?period=last-week&org_id=" + t.id, token=t.coord, want=422)
    w.get("/v1/screening/settings/" + t.id, token=t.oh, want=200)
    w.get("/v1/screening/settings/" + t.id, token=t.coord, want=403)
    w.patch("/v1/screening/settings/" + t.id, {"retention_days": 400, "stats_threshold": 12},
            token=t.oh, want=200)
    w.patch("/v1/screening/settings/" + t.id, {"retention_days": None}, token=t.oh, want=200)
    w.patch("/v1/screening/settings/" + t.id, {"stats_threshold": 1}, token=t.oh, want=422)
    w.get("/v1/screening/audit", want=200)
    w.get("/v1/screening/audit?limit=2", want=200)
    w.get("/v1/screening/audit", token=t.oh, want=403)
    w.delete("/v1/subjects/p-1?org_id=" + t.id, token=t.integ, want=204)
    w.delete("/v1/subjects/p-1?org_id=" + t.id, token=other.integ, want=404)
    w.delete("/v1/subjects/p-1", token=t.coord, want=403)


def notifications(w, p):
    s = w.s
    rx = serve_http(Failing)
    try:
        url = "http://127.0.0.1:%d/hook" % rx.server_address[1]
        coord = s.token("coordinator", [p.e])
        sub = w.post("/v1/subscriptions", {"org_id": p.e, "events": ["organization.updated"],
                                           "channel": "webhook", "target": url},
                     token=coord, want=201).json()
        w.post("/v1/subscriptions", {"org_id": p.e, "events": ["survey.opened"],
                                     "channel": "email", "target": "hr@example.org",
                                     "language": "de"}, want=201)
        w.post("/v1/subscriptions", {"org_id": p.e, "events": ["nope"], "channel": "fax",
                                     "target": "x"}, want=422)
        w.post("/v1/subscriptions", {"org_id": p.e, "events": ["survey.opened"],
                                     "channel": "email", "target": "a@b.org"},
               token=s.token("integration", [p.e]), want=403)
        w.get("/v1/subscriptions", want=200)
        w.get("/v1/subscriptions?org_id=%s&limit=1" % p.e, token=coord, want=200)
        w.get("/v1/subscriptions?limit=501", want=422)
        w.get("/v1/subscriptions/" + sub["id"], want=200)
        w.get("/v1/subscriptions/" + NO_ID, want=404)
        s.patch("/v1/organizations/" + p.e, {"name": "Bezirksamt Mitte (neu)"})
        w.get("/v1/deliveries", want=200)

        def failed():
            r = s.get("/v1/deliveries?status=failed&subscription_id=" + sub["id"])
            return r.json()["items"]
        d = wait_for(failed, "a failed delivery")
        w.get("/v1/deliveries?status=failed&event_type=organization.updated&limit=1", want=200)
        w.get("/v1/deliveries?status=lost", want=422)
        w.post("/v1/deliveries/%s/retry" % d[0]["id"], want=200)
        w.post("/v1/deliveries/%s/retry" % d[0]["id"])
        w.post("/v1/deliveries/%s/retry" % NO_ID, want=404)
        w.delete("/v1/subscriptions/" + sub["id"], token=coord, want=204)
        w.delete("/v1/subscriptions/" + sub["id"], want=404)
    finally:
        stop_http(rx)


def backups(w):
    for name in ("gateway", "agreements", "surveys", "screening", "notifications"):
        w.post("/v1/backups/sweep/" + name, want=201)
        w.post("/v1/backups/sweep/" + name, want=409)
        w.post("/v1/backups/-bad/" + name, want=400)
        w.post("/v1/backups/sweep/" + name, token=None, want=401)
        w.post("/v1/backups/sweep/%s/prune?keep=3" % name, want=200)
        w.post("/v1/backups/sweep/%s/prune?keep=0" % name, want=400)
        w.post("/v1/backups/none/%s/prune?keep=3" % name, want=409)


def checker_catches(w):
    """The check itself fails on what it must: an undocumented field, a
    missing or wrongly null one, another media type, an undocumented
    status, a body where none is documented."""
    org = w.s.get("/v1/organizations").json()["items"][0]
    path = "/v1/organizations/" + org["id"]
    json_h = [("Content-Type", "application/json"), ("ETag", '"%s.1"' % org["id"]),
              ("X-Request-Id", "check-1")]

    def fails(status, headers, value):
        body = value if isinstance(value, bytes) else json.dumps(value).encode()
        try:
            openapi_check.check("GET", path, status, headers, body)
        except openapi_check.Mismatch:
            return True
        return False
    assert not fails(200, json_h, org)
    assert fails(200, json_h, dict(org, colour="red"))
    assert fails(200, json_h, {k: v for k, v in org.items() if k != "region"})
    assert fails(200, json_h, dict(org, name=None))
    assert fails(200, json_h, dict(org, employees="many"))
    assert fails(200, [("Content-Type", "text/plain")] + json_h[1:], org)
    assert fails(200, [json_h[0], json_h[2]], org)  # no ETag
    assert fails(200, json_h[:2], org)  # no X-Request-Id
    assert fails(299, json_h, org)
    assert fails(404, [("Content-Type", "application/problem+json")], {"title": "x"})
    assert openapi_check.check("DELETE", "/v1/tokens/x", 204, json_h[2:], b"") == "tokens_delete"
    try:
        openapi_check.check("DELETE", "/v1/tokens/x", 204, json_h, b"{}")
        raise AssertionError("a body on a 204 passed")
    except openapi_check.Mismatch:
        pass
    assert openapi_check.check("GET", "/healthz", 200, [], b"{}") is None


def examples_valid():
    """Every example in the document's schemas is valid by its schema."""
    bad = []
    for name, schema in openapi_check.document()["components"]["schemas"].items():
        v = openapi_check.validator({"$ref": "#/components/schemas/" + name})
        for i, ex in enumerate(schema.get("examples", [])):
            bad += ["%s example %d: %s" % (name, i, e.message) for e in v.iter_errors(ex)]
    assert not bad, "\n".join(bad)


def test_sweep_matches_document():
    with Stack(env=ENV) as s:
        w = Sweep(s)
        try:
            p = gateway_and_agreements(w)
            sid = surveys(w, p)
            sick_leave(w, p, sid)
            networks(w)
            screening(w)
            notifications(w, p)
            backups(w)
            checker_catches(w)
            examples_valid()
        finally:
            if w.dump is not None:
                with open(os.environ["WH_OPENAPI_DUMP"], "w") as f:
                    json.dump(w.dump, f, indent=1, ensure_ascii=False)
        doc = openapi_check.document()
        ops = {op["operationId"] for item in doc["paths"].values() for op in item.values()
               if isinstance(op, dict) and "operationId" in op}
        missing = sorted("%s %s" % (op, want) for op in ops for want, cls in
                         (("success", {2}), ("error", {4, 5}))
                         if not (w.seen.get(op, set()) & cls))
        print("responses checked: %d over %d operations" % (w.checked, len(ops)),
              file=sys.stderr)
        assert not w.unexpected, "unexpected statuses:\n" + "\n".join(w.unexpected)
        assert not w.mismatches, "%d mismatches:\n%s" % (len(w.mismatches),
                                                       "\n".join(w.mismatches))
        assert not missing, "not reached: " + ", ".join(missing)


if __name__ == "__main__":
    run([test_sweep_matches_document])
