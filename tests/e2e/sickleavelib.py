"""Helpers for the sick-leave tests: CSV files of the insurer's figures, the
import request, and the rate computed independently of the service."""

import calendar

HEADER = "org_id,unit,period,insured,cases,days,icd_chapter"
SL_MIN_INSURED = 50       # services/surveys/sickleave.h
SL_MIN_SECTOR_ORGS = 10
SL_MAX_UNIT = 100
SL_MAX_SECTOR = 100
SL_MAX_UNITS = 500
SL_MAX_INSURED = 1000000
SL_MAX_ERRORS_SCAN = 1000
REPLY_MAX_ERRORS = 50     # services/runtime/reply.h: WH_REPLY_MAX_ERRORS
CSVTAB_MAX_ROWS = 100000  # proto/csvtab.h
CSVTAB_MAX_FIELD_BYTES = 256
GATEWAY_MAX_IMPORT_BYTES = 16 * 1024 * 1024  # services/gateway/gateway.h


def csv(rows, sector=False):
    """rows: tuples (org, unit, period, insured, cases, days, chapter[, sector])."""
    lines = [HEADER + (",sector" if sector else "")]
    lines += [",".join(str(x) for x in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def unit_rows(org, period, units, chapters=()):
    """Total rows for units {name: (insured, cases, days)}, and for each
    chapter in chapters a row with a third of the cases and days."""
    out = []
    for name, (insured, cases, days) in units.items():
        out.append((org, name, period, insured, cases, days, ""))
        for ch in chapters:
            out.append((org, name, period, insured, cases // 3, days // 3, ch))
    return out


def post(s, insurer, body, token="admin", ctype="text/csv", headers=None):
    h = {"Content-Type": ctype}
    h.update(headers or {})
    return s.request("POST", "/v1/sick-leave/imports?insurer_id=%s" % insurer, raw=body,
                     token=token, headers=h, timeout=60)


def get(s, org, period, by=None, token="admin"):
    q = "/v1/sick-leave?org_id=%s&period=%s" % (org, period)
    if by:
        q += "&by=" + by
    return s.get(q, token=token)


def days_in(period):
    y = int(period[:4])
    if len(period) == 4:
        return 366 if calendar.isleap(y) else 365
    if period[5] == "Q":
        q = int(period[6])
        return sum(calendar.monthrange(y, m)[1] for m in range(3 * q - 2, 3 * q + 1))
    return calendar.monthrange(y, int(period[5:7]))[1]


def rate(days, insured, period):
    return round(days / (insured * days_in(period)) * 100, 2)


def by_unit(body):
    return {i["unit"]: i for i in body["items"]}
