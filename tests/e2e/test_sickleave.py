"""The insurer's sick-leave figures end to end: the text/csv import (all or
nothing, a pointer per bad field), reading per unit and per ICD-10 chapter
with rates checked against an independent calculation, the sector figure,
overlapping periods, roles, tenants and every named limit crossed."""

import socket
import time

import sickleavelib as sk
from stack import Stack, assert_problem, pointers, raw_http, run


def setup(s):
    insurer = s.org("AOK Test", kind="insurer")["id"]
    employer = s.org("Bezirksamt Nord")["id"]
    return insurer, employer


def test_happy_path_by_unit_and_chapter():
    with Stack() as s:
        insurer, org = setup(s)
        # A consultant is bound to its insurer and the employers it serves.
        consultant = s.token("consultant", [insurer, org])
        units = {"Bau": (120, 40, 610), "Jugend": (80, 25, 300), "Ordnung": (60, 20, 200)}
        rows = sk.unit_rows(org, "2025-Q1", units, chapters=("V", "XIII"))
        r = sk.post(s, insurer, sk.csv(rows), token=consultant)
        assert r.status == 201, r
        body = r.json()
        assert body["rows"] == len(rows) == 9 and body["periods"] == 1, body
        assert body["insurer_id"] == insurer and body["id"]

        coord = s.token("coordinator", [org])
        r = sk.get(s, org, "2025-Q1", token=coord)
        assert r.status == 200, r
        got = r.json()
        assert got["org_id"] == org and got["period"] == "2025-Q1" and got["by"] == "unit"
        assert got["sector"] is None, got
        items = sk.by_unit(got)
        assert list(items) == [None, "Bau", "Jugend", "Ordnung"], items
        for name, (insured, cases, days) in units.items():
            it = items[name]
            assert it == {"unit": name, "icd_chapter": None, "period": "2025-Q1",
                          "insured": insured, "cases": cases, "days": days,
                          "rate": sk.rate(days, insured, "2025-Q1"), "suppressed": False}, it
        total = items[None]
        assert total["insured"] == 260 and total["days"] == 1110 and total["cases"] == 85
        assert total["rate"] == sk.rate(1110, 260, "2025-Q1") == 4.74, total

        r = sk.get(s, org, "2025-Q1", by="icd_chapter", token=coord)
        assert r.status == 200, r
        items = r.json()["items"]
        assert [(i["icd_chapter"], i["unit"]) for i in items] == \
            [(ch, u) for ch in ("V", "XIII") for u in (None, "Bau", "Jugend", "Ordnung")], items
        v_org = items[0]
        assert v_org["days"] == 610 // 3 + 300 // 3 + 200 // 3 and v_org["insured"] == 260
        assert v_org["rate"] == sk.rate(v_org["days"], 260, "2025-Q1")

        # The importing insurer's consultant reads too; the admin as well.
        assert sk.get(s, org, "2025-Q1", token=consultant).status == 200
        assert sk.get(s, org, "2025-Q1").status == 200
        # Another period has no figures: 404.
        assert_problem(sk.get(s, org, "2025-Q2", token=coord), 404, "/problems/not-found")


def test_month_year_periods_and_rate_days():
    with Stack() as s:
        insurer, org = setup(s)
        rows = [(org, "A", "2024-02", 100, 10, 290, ""),   # leap year: 29 days
                (org, "A", "2023", 100, 50, 3650, "")]
        r = sk.post(s, insurer, sk.csv(rows))
        assert r.status == 201 and r.json()["periods"] == 2, r
        assert sk.get(s, org, "2024-02").json()["items"][1]["rate"] == 10.0
        assert sk.get(s, org, "2023").json()["items"][1]["rate"] == 10.0


def test_validation_errors_store_nothing():
    with Stack() as s:
        insurer, org = setup(s)
        good = (org, "A", "2025-01", 100, 10, 50, "")
        bad_rows = [
            good,
            ("not-an-id", "A", "2025-01", 100, 10, 50, ""),          # 1 org_id
            (org, "", "2025-01", 100, 10, 50, ""),                   # 2 unit
            (org, "B", "2025-13", 100, 10, 50, ""),                  # 3 period
            (org, "C", "2025-01", 0, 0, 0, ""),                      # 4 insured
            (org, "D", "2025-01", 100, "x", 50, ""),                 # 5 cases
            (org, "E", "2025-01", 100, 10, -1, ""),                  # 6 days
            (org, "F", "2025-01", 100, 10, 50, "XXIII"),             # 7 icd_chapter
            (org, "G", "2025-01", 10, 10, 311, ""),                  # 8 days > 10 x 31
            (org, "H", "2025-01", 100, 60, 50, ""),                  # 9 cases > days
            (org, "J", "2099-01", 100, 10, 50, ""),                  # 10 not ended
        ]
        r = sk.post(s, insurer, sk.csv(bad_rows))
        assert pointers(r) == ["/rows/1/org_id", "/rows/2/unit", "/rows/3/period",
                               "/rows/4/insured", "/rows/5/cases", "/rows/6/days",
                               "/rows/7/icd_chapter", "/rows/8/days", "/rows/9/cases",
                               "/rows/10/period"], r.json()
        assert_problem(r, 422, "/problems/validation")
        assert sk.get(s, org, "2025-01").status == 404

        # Rows against each other.
        cross = [
            (org, "A", "2025-01", 100, 10, 50, ""),
            (org, "A", "2025-01", 100, 5, 20, "V"),
            (org, "A", "2025-01", 100, 5, 20, "V"),     # 2 repeats row 1
            (org, "A", "2025-01", 90, 5, 20, "XIII"),   # 3 insured differs from total
            (org, "A", "2025-01", 100, 5, 60, "I"),     # 4 more days than the total
            (org, "B", "2025-01", 100, 5, 20, "V"),     # 5 no total row
            (org, "C", "2025-Q1", 100, 5, 20, ""),      # 6 overlaps 2025-01
        ]
        r = sk.post(s, insurer, sk.csv(cross))
        assert sorted(pointers(r)) == sorted(["/rows/2", "/rows/3/insured", "/rows/4/days",
                                              "/rows/5/icd_chapter", "/rows/6/period"]), r.json()
        assert sk.get(s, org, "2025-01").status == 404

        # Malformed CSV: the gateway names the place.
        r = sk.post(s, insurer, b"org_id,unit\n1,\"open\n")
        p = assert_problem(r, 422, "/problems/validation")
        assert p["errors"][0]["pointer"] == "/rows/0/unit", p
        r = sk.post(s, insurer, (sk.HEADER + "\n%s,A,2025-01,100\n" % org).encode())
        assert pointers(r) == ["/rows/0"], r.json()
        r = sk.post(s, insurer, b"org,unit,period,insured,cases,days,icd_chapter\n")
        assert pointers(r) == ["/header"], r.json()
        r = sk.post(s, insurer, (sk.HEADER + "\n").encode())
        assert pointers(r) == ["/rows"], r.json()
        r = sk.post(s, insurer, b"")
        assert pointers(r) == ["/header"], r.json()
        # Not text/csv: 415; JSON is not taken either.
        assert_problem(sk.post(s, insurer, sk.csv([good]), ctype="application/json"), 415,
                       "/problems/unsupported-media-type")
        # insurer_id is required and must be an id.
        r = s.request("POST", "/v1/sick-leave/imports", raw=sk.csv([good]),
                      headers={"Content-Type": "text/csv"})
        assert pointers(r) == ["insurer_id"], r.json()

        # After all that, the good row alone imports.
        r = sk.post(s, insurer, sk.csv([good]))
        assert r.status == 201 and r.json()["rows"] == 1, r


def test_overlapping_periods_and_reimport_conflict():
    with Stack() as s:
        insurer, org = setup(s)
        other_insurer = s.org("TK Test", kind="insurer")["id"]
        r = sk.post(s, insurer, sk.csv(sk.unit_rows(org, "2025-Q1", {"A": (100, 10, 50)})))
        assert r.status == 201, r
        for period in ("2025-Q1", "2025-02", "2025", "2025-03"):
            rows = sk.unit_rows(org, period, {"A": (99, 10, 50)})
            r = sk.post(s, insurer, sk.csv(rows))
            p = assert_problem(r, 409, "/problems/conflict")
            assert "2025-Q1" in p["detail"] and org in p["detail"], p
            # Another insurer cannot add figures of the same days either.
            assert sk.post(s, other_insurer, sk.csv(rows)).status == 409
        # The adjacent quarter is fine.
        r = sk.post(s, insurer, sk.csv(sk.unit_rows(org, "2025-Q2", {"A": (100, 10, 50)})))
        assert r.status == 201, r
        # A conflict stores nothing of the file's other rows.
        org2 = s.org("Bezirksamt Süd")["id"]
        rows = (sk.unit_rows(org2, "2025-Q1", {"A": (100, 10, 50)}) +
                sk.unit_rows(org, "2025-01", {"A": (100, 10, 50)}))
        assert sk.post(s, insurer, sk.csv(rows)).status == 409
        assert sk.get(s, org2, "2025-Q1").status == 404


def test_roles_and_tenants():
    with Stack() as s:
        insurer, org = setup(s)
        other_org = s.org("Bezirksamt West")["id"]
        other_insurer = s.org("TK Test", kind="insurer")["id"]
        body = sk.csv(sk.unit_rows(org, "2025-Q1", {"A": (100, 10, 50)}))
        coord = s.token("coordinator", [org])
        occ = s.token("occupational_health", [org])
        foreign = s.token("consultant", [other_insurer])
        assert_problem(sk.post(s, insurer, body, token=coord), 403, "/problems/forbidden")
        assert_problem(sk.post(s, insurer, body, token=occ), 403, "/problems/forbidden")
        # A consultant of another insurer cannot import in this one's name.
        assert_problem(sk.post(s, insurer, body, token=foreign), 404, "/problems/not-found")
        assert sk.post(s, insurer, body, token=None).status == 401
        # Only for the employers on its token: no insurer can put figures into
        # another's employer, or block that employer's period for it.
        own = s.token("consultant", [insurer])
        r = sk.post(s, insurer, body, token=own)
        assert pointers(r) == ["/rows/0/org_id"], r.json()
        r = sk.post(s, insurer, sk.csv(sk.unit_rows(other_org, "2025-Q1", {"A": (100, 10, 50)})),
                    token=s.token("consultant", [insurer, org]))
        assert pointers(r) == ["/rows/0/org_id"], r.json()
        assert sk.post(s, insurer, body, token=s.token("consultant", [insurer, org])).status == 201
        # Reading: the organisation's own people and the importing insurer.
        assert sk.get(s, org, "2025-Q1", token=coord).status == 200
        assert_problem(sk.get(s, org, "2025-Q1", token=occ), 403, "/problems/forbidden")
        assert_problem(sk.get(s, org, "2025-Q1", token=foreign), 404, "/problems/not-found")
        other_coord = s.token("coordinator", [other_org])
        assert_problem(sk.get(s, org, "2025-Q1", token=other_coord), 404, "/problems/not-found")
        # Query parameters.
        r = s.get("/v1/sick-leave?org_id=x&period=2025-Q5&by=team")
        assert pointers(r) == ["org_id", "period", "by"], r.json()


def test_sector_shown_from_ten_employers_of_one_import():
    with Stack() as s:
        insurer = s.org("AOK Test", kind="insurer")["id"]
        orgs = [s.org("Amt %d" % i)["id"] for i in range(11)]
        rows = []
        for i, org in enumerate(orgs[:9]):
            rows += [r + ("public",) for r in
                     sk.unit_rows(org, "2025-Q1", {"A": (100 + i, 10, 100 * (i + 1))})]
        rows.append((orgs[9], "A", "2025-Q1", 100, 10, 50, "", "health"))
        assert sk.post(s, insurer, sk.csv(rows, sector=True)).status == 201
        got = sk.get(s, orgs[0], "2025-Q1").json()["sector"]
        assert got == {"name": "public", "orgs": 9, "rate": None}, got
        # A tenth employer in another import does not join that figure:
        # the sector figure of an import never changes.
        r = sk.post(s, insurer, sk.csv([(orgs[10], "A", "2025-Q1", 100, 10, 50, "",
                                         "public")], sector=True))
        assert r.status == 201, r
        assert sk.get(s, orgs[0], "2025-Q1").json()["sector"]["orgs"] == 9

        # Ten employers of one sector in one import: the rate over them all.
        rows = []
        days = insured = 0
        for i, org in enumerate(orgs[:10]):
            rows += [r + ("public",) for r in
                     sk.unit_rows(org, "2025-Q2", {"A": (100 + i, 10, 100 * (i + 1))})]
            days += 100 * (i + 1)
            insured += 100 + i
        assert sk.post(s, insurer, sk.csv(rows, sector=True)).status == 201
        got = sk.get(s, orgs[3], "2025-Q2").json()["sector"]
        assert got == {"name": "public", "orgs": 10,
                       "rate": sk.rate(days, insured, "2025-Q2")}, got
        # One organisation with two sectors in one file is refused.
        rows = [(orgs[0], "A", "2024-01", 100, 1, 1, "", "public"),
                (orgs[0], "A", "2024-02", 100, 1, 1, "", "health")]
        assert pointers(sk.post(s, insurer, sk.csv(rows, sector=True))) == ["/rows/1/sector"]


def test_named_limits_crossed():
    with Stack(env={"WH_HTTP_MAX_IMPORT_BYTES": "2000000",
                    "WH_HTTP_MAX_LARGE_HELD_BYTES": "3000000"}) as s:
        insurer, org = setup(s)
        # Unit names: SL_MAX_UNIT characters, then one more.
        ok = "ü" * sk.SL_MAX_UNIT
        r = sk.post(s, insurer, sk.csv([(org, ok, "2025-01", 100, 1, 1, "")]))
        assert r.status == 201, r
        r = sk.post(s, insurer, sk.csv([(org, ok + "x", "2025-02", 100, 1, 1, "")]))
        assert pointers(r) == ["/rows/0/unit"], r.json()
        # Sector: SL_MAX_SECTOR characters, then one more.
        r = sk.post(s, insurer, sk.csv([(org, "A", "2025-03", 100, 1, 1, "",
                                         "s" * (sk.SL_MAX_SECTOR + 1))], sector=True))
        assert pointers(r) == ["/rows/0/sector"], r.json()
        # A field over CSVTAB_MAX_FIELD_BYTES is refused by the gateway.
        r = sk.post(s, insurer, sk.csv([(org, "x" * (sk.CSVTAB_MAX_FIELD_BYTES + 1),
                                         "2025-03", 100, 1, 1, "")]))
        p = assert_problem(r, 422, "/problems/limit")
        assert p["errors"][0]["pointer"] == "/rows/0/unit", p
        # Insured: SL_MAX_INSURED, then one more.
        r = sk.post(s, insurer, sk.csv([(org, "A", "2025-04", sk.SL_MAX_INSURED, 1, 1, ""),
                                        (org, "B", "2025-04", sk.SL_MAX_INSURED + 1, 1, 1, "")]))
        assert pointers(r) == ["/rows/1/insured"], r.json()
        # Units per organisation and period: SL_MAX_UNITS, then one more.
        rows = [(org, "U%d" % i, "2025-05", 100, 1, 1, "") for i in range(sk.SL_MAX_UNITS + 1)]
        r = sk.post(s, insurer, sk.csv(rows))
        assert len(pointers(r)) == 1 and pointers(r)[0].endswith("/unit"), r.json()
        r = sk.post(s, insurer, sk.csv(rows[:-1]))
        assert r.status == 201 and r.json()["rows"] == sk.SL_MAX_UNITS, r
        # Bad cells: each counted in the detail, the first REPLY_MAX_ERRORS
        # listed; checking stops at SL_MAX_ERRORS_SCAN, and the detail says so.
        def bad_rows(n):
            return sk.csv([(org, "A%d" % i, "2025-09", 100, "x", 1, "") for i in range(n)])
        for n, detail in (
                (120, "120 invalid fields (first ones listed)"),
                (sk.SL_MAX_ERRORS_SCAN - 1,
                 "%d invalid fields (first ones listed)" % (sk.SL_MAX_ERRORS_SCAN - 1)),
                (sk.SL_MAX_ERRORS_SCAN,
                 "%d invalid fields (first ones listed)" % sk.SL_MAX_ERRORS_SCAN),
                (sk.SL_MAX_ERRORS_SCAN + 1,
                 "%d invalid fields or more: checking stopped there (the first %d listed)" % (
                     sk.SL_MAX_ERRORS_SCAN, sk.REPLY_MAX_ERRORS))):
            p = assert_problem(sk.post(s, insurer, bad_rows(n)), 422, "/problems/validation")
            assert p["detail"] == detail, (n, p["detail"])
            assert [e["pointer"] for e in p["errors"]] == [
                "/rows/%d/cases" % i for i in range(sk.REPLY_MAX_ERRORS)], p
        # The body limit of this route (lowered here to 2,000,000 bytes, over
        # the 1 MiB of JSON bodies): a body of that size is read, one byte
        # more is 413.
        body = sk.csv([(org, "A", "2025-06", 100, 1, 1, "")])
        r = sk.post(s, insurer, body + b"\n" * (2000000 - len(body)))
        assert pointers(r) == ["/rows/1"], r.json()
        r = sk.post(s, insurer, body + b"\n" * (2000000 + 1 - len(body)))
        assert r.status == 413, r
        # Large bodies being received at once share WH_HTTP_MAX_LARGE_HELD_BYTES
        # (lowered to 3,000,000): while one of 2,000,000 bytes is coming in,
        # another of 1,500,000 is 503 with Retry-After before it is read; a
        # small one still passes, and once the first is answered it is free.
        def head(n):
            return ("POST /v1/sick-leave/imports?insurer_id=%s HTTP/1.1\r\nHost: x\r\n"
                    "Authorization: Bearer %s\r\nContent-Type: text/csv\r\n"
                    "Content-Length: %d\r\n\r\n" % (insurer, s.admin, n)).encode()
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        slow.sendall(head(2000000) + body)
        time.sleep(1.0)  # its headers are in before the next request
        got = raw_http(s.port, head(1500000) + body, read_timeout=5)
        assert got.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in got, got
        r = sk.post(s, insurer, sk.csv([(org, "A", "2025-07", 100, 1, 1, "")]))
        assert r.status == 201, r
        slow.sendall(b"\n" * (2000000 - len(body)))
        assert slow.recv(65536).startswith(b"HTTP/1.1 422 ")
        slow.close()
        r = sk.post(s, insurer, sk.csv([(org, "A", "2025-08", 100, 1, 1, "")]) +
                    b"\n" * 1500000)
        assert r.status == 422, r


def test_row_limit_and_speed():
    with Stack() as s:
        insurer = s.org("AOK Test", kind="insurer")["id"]
        # 100,000 rows over 200 employers of 50 units with ten chapter rows
        # each: past the JSON body limit, within the import's.
        orgs = [s.org("Amt %d" % i)["id"] for i in range(200)]
        chapters = ["", "I", "II", "IV", "V", "IX", "X", "XI", "XIII", "XIX"]
        rows = [(org, "Unit %02d" % u, "2025-Q1", 130, 10 if ch else 40, 30 if ch else 500, ch)
                for org in orgs for u in range(50) for ch in chapters]
        assert len(rows) == sk.CSVTAB_MAX_ROWS
        body = sk.csv(rows)
        assert len(body) > 1024 * 1024
        start = time.monotonic()
        r = sk.post(s, insurer, body)
        took = time.monotonic() - start
        assert r.status == 201 and r.json()["rows"] == sk.CSVTAB_MAX_ROWS, r
        assert r.json()["periods"] == 200
        assert took < 10, took
        got = sk.by_unit(sk.get(s, orgs[7], "2025-Q1").json())
        assert got["Unit 13"]["days"] == 500 and got[None]["insured"] == 50 * 130
        # One row more is refused by the gateway, naming the row.
        rows.append((orgs[0], "Unit 99", "2025-Q2", 130, 10, 30, ""))
        r = sk.post(s, insurer, sk.csv(rows))
        p = assert_problem(r, 422, "/problems/limit")
        assert p["errors"][0]["pointer"] == "/rows/100000", p


if __name__ == "__main__":
    run([test_happy_path_by_unit_and_chapter, test_month_year_periods_and_rate_days,
         test_validation_errors_store_nothing, test_overlapping_periods_and_reimport_conflict,
         test_roles_and_tenants, test_sector_shown_from_ten_employers_of_one_import,
         test_named_limits_crossed, test_row_limit_and_speed])
