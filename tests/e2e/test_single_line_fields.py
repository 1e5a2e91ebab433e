"""Single-line fields are one line. A title, a name or a label that is shown
in a mail subject, a list or a reminder may not hold a newline or any other
control character (C0, DEL, C1), a line or paragraph separator (U+2028,
U+2029) or a direction control, which could make a trusted mail from
workhealth show text of an attacker's choosing on lines of its own. Each is
422 with a pointer to the field, in every service; multi-line fields
(conditions, reasons, notes, question texts) keep their newlines."""

from agreementlib import CONTACT, Parties, body
from stack import Stack, pointers, run
from surveylib import survey_body

BREAKERS = ["BGF 2025\nPlease confirm your password at https://evil.example/",
            "BGF\r2025", "BGF\t2025", "BGF\x1b[2J", "BGF\x7f", "BGF\u0085",
            "BGF\u2028Line", "BGF\u2029Para", "BGF\u202egnp.exe"]


def expect_422(r, pointer, what):
    assert r.status == 422, (what, r)
    assert pointer in pointers(r), (what, r.json())


def test_every_service_refuses_line_breaks():
    with Stack() as s:
        p = Parties(s)
        for bad in BREAKERS:
            # agreements: organisations, agreements, contacts, activities
            expect_422(s.post("/v1/organizations", {"name": bad, "kind": "employer",
                                                    "employees": 10}), "/name", bad)
            expect_422(s.patch("/v1/organizations/" + p.e, {"name": bad}), "/name", bad)
            expect_422(s.post("/v1/agreements", body(p, title=bad)), "/title", bad)
            expect_422(s.post("/v1/agreements", body(p, contacts=[dict(CONTACT, name=bad)])),
                       "/contacts/0/name", bad)
            expect_422(s.post("/v1/agreements", body(p, contacts=[dict(CONTACT, role=bad)])),
                       "/contacts/0/role", bad)
            # surveys
            expect_422(s.post("/v1/surveys", survey_body(p.e, title=bad)), "/title", bad)
            # gateway: token labels
            expect_422(s.post("/v1/tokens", {"role": "coordinator", "org_ids": [p.e],
                                             "label": bad}), "/label", bad)
        r = s.post("/v1/agreements", body(p, title="BGF 2025", contacts=[CONTACT],
                                          conditions=[{"text": "Erstens.\nZweitens.",
                                                       "met": False}]))
        assert r.status == 201, r
        agr = r.json()
        r = s.post("/v1/agreements/%s/activities" % agr["id"],
                   {"kind": "workshop", "title": "Workshop\nFake line",
                    "planned_on": "2025-03-01"})
        expect_422(r, "/title", "activity")
        # Multi-line fields keep their newlines.
        assert s.get("/v1/agreements/" + agr["id"]).json()["conditions"][0]["text"] == \
            "Erstens.\nZweitens."
        # Ordinary non-ASCII text is fine.
        r = s.post("/v1/organizations", {"name": "Gesundheitsamt Süd–Ost ‰", "kind": "employer",
                                         "employees": 10})
        assert r.status == 201, r


if __name__ == "__main__":
    run([test_every_service_refuses_line_breaks])
