"""Survey codes that nobody sees (docs/DOMAIN.md, "Statistics that cannot be differenced").

The attack: a coordinator issues 5 codes for a unit in clear, gives one
away, answers with the other 4 (answers they know), and after the survey
closes reads the fifth person's answer from the unit's results (the cell has
5 respondents, the threshold). Now the token that received codes in clear or
on a printed sheet gets 403 on that survey's results and CSV (and as
compare_to), while codes sent by e-mail are seen by nobody: the reply holds
counts, the mails go straight to a real SMTP server (aiosmtpd), and no
address (nor code) is left in any store file, WAL or log afterwards. The
printed sheet carries one QR code per slip, decoded here with zbarimg.
Named limits: recipients per request, slips per sheet."""

import email
import email.policy
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import zlib

import surveylib as sl
from notificationslib import Mailbox
from stack import Stack, run, wait_for

SERVICES = ("agreements", "surveys", "notifications")
PUBLIC = "https://wh.example.org"
SCALE = {"WH_RETRY_SCALE": "0.0001"}
MAX_RECIPIENTS = 10000  # CODES_MAX_RECIPIENTS
MAX_PRINT = 100         # CODES_MAX_PRINT
CODE_RE = re.compile(r"[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}")


def mail_env(box, **extra):
    env = dict(SCALE, WH_SMTP_URL="smtp://127.0.0.1:%d" % box.port,
               WH_MAIL_FROM="workhealth <noreply@wh.example.org>", WH_PUBLIC_URL=PUBLIC + "/")
    env.update(extra)
    return env


def open_survey(s, org_id, token, languages=("de", "en", "sv")):
    r = s.post("/v1/surveys", sl.survey_body(org_id, languages=languages), token=token)
    assert r.status == 201, r
    sid = r.json()["id"]
    assert s.post("/v1/surveys/%s/open" % sid, token=token).status == 200
    return sid


def respond(s, sid, code, answers, unit=None):
    body = {"code": code, "language": "de", "answers": answers}
    if unit:
        body["unit"] = unit
    return s.post("/v1/public/surveys/%s/responses" % sid, body, token=None)


def problem(r, status, slug):
    assert r.status == status, r
    assert r.json()["type"] == "/problems/" + slug, r.json()


def test_issuer_cannot_subtract_own_answers():
    """The attack of issue 9: 5 codes in clear, 4 burnt with known answers,
    the fifth answer read back from the unit's mean. The issuing token gets
    403 on the results and the CSV; a consultant reads them."""
    with Stack(services=SERVICES) as s:
        org = s.org()
        coord = s.token("coordinator", [org["id"]])
        cons = s.token("consultant", [org["id"]])
        sid = open_survey(s, org["id"], coord)
        r = s.post("/v1/surveys/%s/codes" % sid, {"count": 5, "unit": "B2"}, token=coord)
        assert r.status == 201, r
        five = r.json()["codes"]
        # The one given away: its holder answers wl1 = 5.
        assert respond(s, sid, five[0], {"wl1": 5}, unit="B2").status == 201
        # The coordinator burns the other four with wl1 = 1.
        for c in five[1:]:
            assert respond(s, sid, c, {"wl1": 1}, unit="B2").status == 201
        path = "/v1/surveys/" + sid
        # Results exist only once the survey is closed.
        problem(s.get(path + "/results", token=cons), 409, "results-not-available")
        assert s.post(path + "/close", token=coord).status == 200
        for suffix in ("/results", "/results?by=unit", "/results.csv"):
            problem(s.get(path + suffix, token=coord), 403, "codes-issuer-cannot-read-results")
        # Another person reads them.
        res = s.get(path + "/results", token=cons)
        assert res.status == 200, res
        assert res.json()["total"]["n"] == 5
        assert s.get(path + "/results.csv", token=cons).status == 200
        # Nor through a later wave's comparison: the change against this
        # survey gives its figures away.
        sid2 = open_survey(s, org["id"], "admin")
        assert s.post("/v1/surveys/%s/close" % sid2).status == 200
        problem(s.get("/v1/surveys/%s/results?compare_to=%s" % (sid2, sid), token=coord), 403,
                "codes-issuer-cannot-read-results")
        assert r.json()["delivery"] == "clear"
        # The survey keeps how many codes were issued, per unit and how;
        # never which token or code.
        sv = s.get(path, token=cons).json()
        assert sv["codes"] == {"issued": 5, "clear": 5, "print": 0, "email": 0,
                               "units": [{"unit": "B2", "issued": 5, "clear": 5, "print": 0,
                                          "email": 0}]}, sv["codes"]


def test_email_codes_are_seen_by_nobody():
    """delivery email: the reply holds counts only, each address gets its
    own code and link by mail, the codes work, the issuer may read the
    results, and the survey counts them as e-mailed."""
    box = Mailbox()
    try:
        with Stack(services=SERVICES, env=mail_env(box)) as s:
            org = s.org()
            coord = s.token("coordinator", [org["id"]])
            sid = open_survey(s, org["id"], coord, languages=("de", "en"))
            people = ["anna.%d@example.org" % i for i in range(6)]
            r = s.post("/v1/surveys/%s/codes" % sid,
                       {"delivery": "email", "recipients": people, "unit": "A1"}, token=coord)
            assert r.status == 202, r
            assert r.json() == {"survey_id": sid, "unit": "A1", "delivery": "email",
                                "count": 6}, r.json()
            assert not CODE_RE.search(r.body.decode()), r.body
            wait_for(lambda: len(box.messages) == 6, what="six mails", s=s)
            got = {}
            for mail_from, rcpts, content in box.messages:
                assert mail_from == "noreply@wh.example.org"
                assert len(rcpts) == 1
                msg = email.message_from_bytes(content, policy=email.policy.default)
                assert msg["To"] == rcpts[0]
                assert msg["Subject"] == "Ihr Zugangscode: Beschäftigtenbefragung 2025", \
                    msg["Subject"]
                text = msg.get_content()
                codes = set(CODE_RE.findall(text))
                assert len(codes) == 1, text
                code = codes.pop()
                for lang in ("de", "en"):
                    link = "%s/s/%s?c=%s&lang=%s" % (PUBLIC, sid, code, lang)
                    assert link in text, (link, text)
                assert "anonymen Befragung" in text and "anonymous survey" in text
                got[rcpts[0]] = code
            assert sorted(got) == sorted(people)
            assert len(set(got.values())) == 6
            for i, code in enumerate(got.values()):
                assert respond(s, sid, code, {"wl1": 1 + i % 5}).status == 201
            # A used code is gone.
            assert respond(s, sid, code, {"wl1": 1}).status == 403
            sv = s.get("/v1/surveys/" + sid, token=coord).json()
            assert sv["codes"]["email"] == 6 and sv["codes"]["clear"] == 0, sv["codes"]
            assert sv["codes"]["units"] == [{"unit": "A1", "issued": 6, "clear": 0, "print": 0,
                                             "email": 6}], sv["codes"]
            assert s.post("/v1/surveys/%s/close" % sid, token=coord).status == 200
            res = s.get("/v1/surveys/%s/results" % sid, token=coord)
            assert res.status == 200, res
            assert res.json()["total"]["n"] == 6
    finally:
        box.close()


def data_files(d):
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            if os.path.isfile(p):
                with open(p, "rb") as fh:
                    yield p, fh.read()


def test_addresses_in_no_store_or_log():
    """After the mails are sent, no address and no code is in any file of
    the data directory: the stores, their WAL and SHM files, and every
    service's log at debug level (the idempotency record keeps a hash of the
    request with the addresses counted, not hashed)."""
    box = Mailbox()
    data_dir = tempfile.mkdtemp(prefix="wh-e2e-")
    try:
        env = mail_env(box, WH_LOG_LEVEL="debug")
        people = ["zq-%d-7731@mitte.example.org" % i for i in range(12)]
        with Stack(services=SERVICES, env=env, data_dir=data_dir) as s:
            org = s.org()
            coord = s.token("coordinator", [org["id"]])
            sid = open_survey(s, org["id"], coord)
            r = s.post("/v1/surveys/%s/codes" % sid, {"delivery": "email", "recipients": people},
                       token=coord, headers={"Idempotency-Key": "mail-1"})
            assert r.status == 202, r
            wait_for(lambda: len(box.messages) == 12, what="twelve mails", s=s)
            codes = [CODE_RE.search(c.decode()).group(0) for _, _, c in box.messages]
            # A replay is refused without sending again.
            r = s.post("/v1/surveys/%s/codes" % sid, {"delivery": "email", "recipients": people},
                       token=coord, headers={"Idempotency-Key": "mail-1"})
            problem(r, 409, "codes-already-issued")
            # Invalid and repeated addresses are named by position only.
            r = s.post("/v1/surveys/%s/codes" % sid,
                       {"delivery": "email", "recipients": [people[0], "nobody", people[0]]},
                       token=coord)
            assert r.status == 422
            errs = {e["pointer"]: e["detail"] for e in r.json()["errors"]}
            assert errs == {"/recipients/1": "is not an e-mail address",
                            "/recipients/2": "appears more than once (as /recipients/0)"}, errs
            assert "zq-" not in r.body.decode()
            time.sleep(0.5)

            def leaks():
                found = []
                for path, data in data_files(data_dir):
                    for needle in [p.encode() for p in people] + [b"zq-0-7731", b"7731@mitte"]:
                        if needle in data:
                            found.append((path, needle))
                    for c in codes:
                        if c.encode() in data or c.replace("-", "").encode() in data:
                            found.append((path, c))
                return found

            assert leaks() == [], leaks()
            # The scan does read the stores: what is meant to be stored is
            # found (the survey's title, the organisation's name).
            stored = b"".join(d for p, d in data_files(data_dir) if ".db" in p)
            assert "Beschäftigtenbefragung 2025".encode() in stored
            assert b"Bezirksamt Mitte" in stored
        # And after a clean stop (checkpointed WAL, final log lines).
        assert leaks() == [], leaks()
        assert any(f.endswith(".db") for f in os.listdir(data_dir))
    finally:
        box.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def svg_to_png(svg, path, scale=6):
    """Renders the sheet's QR SVG as a greyscale PNG, written with zlib
    alone. The path strokes each run of dark modules through its middle:
    "M x y.5" starts a row, "m dx 0" moves on, "h n" draws n modules."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    grid = [[255] * size for _ in range(size)]
    d = re.search(r'<path[^>]* d="([^"]*)"', svg).group(1)
    tokens = re.findall(r"M(\d+) (\d+)\.5|m(\d+) 0|h(\d+)", d)
    assert "".join("M%s %s.5" % (a, b) if a else "m%s 0" % c if c else "h%s" % n
                   for a, b, c, n in tokens) == d, d[:200]
    x = y = 0
    for a, b, c, n in tokens:
        if a:
            x, y = int(a), int(b)
        elif c:
            x += int(c)
        else:
            for i in range(int(n)):
                grid[y][x + i] = 0
            x += int(n)
    rows = b""
    for row in grid:
        line = bytes(v for v in row for _ in range(scale))
        rows += (b"\x00" + line) * scale
    w = size * scale

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, w, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def test_print_sheet_with_qr_codes():
    """delivery print: an HTML sheet, one slip per code, each with a QR code
    that zbarimg decodes to the participation link of the slip's code; the
    codes work; the token that printed them may not read the results."""
    with Stack(services=SERVICES, env={"WH_PUBLIC_URL": PUBLIC}) as s:
        org = s.org()
        coord = s.token("coordinator", [org["id"]])
        cons = s.token("consultant", [org["id"]])
        sid = open_survey(s, org["id"], coord)
        r = s.post("/v1/surveys/%s/codes" % sid, {"delivery": "print", "count": 3, "unit": "A"},
                   token=coord)
        assert r.status == 201, r
        assert r.header("Content-Type").startswith("text/html"), r.headers
        html = r.body.decode("utf-8")
        assert html.startswith("<!DOCTYPE html>") and '<html lang="de">' in html
        assert "Amt A" in html and "Beschäftigtenbefragung 2025" in html
        slips = re.findall(r'<div class="slip">(.*?)</div></div>', html, re.S)
        assert len(slips) == 3, html[:2000]
        tmp = tempfile.mkdtemp(prefix="wh-qr-")
        try:
            codes = []
            for i, slip in enumerate(slips):
                code = re.search(r'<p class="code">([^<]+)</p>', slip).group(1)
                assert CODE_RE.fullmatch(code), code
                assert "%s/s/%s" % (PUBLIC, sid) in slip
                svg = re.search(r"<svg.*?</svg>", slip, re.S).group(0)
                png = os.path.join(tmp, "slip%d.png" % i)
                svg_to_png(svg, png)
                out = subprocess.run(["zbarimg", "--raw", "-q", png], capture_output=True,
                                     text=True, timeout=30)
                assert out.returncode == 0, out
                assert out.stdout.strip() == "%s/s/%s?c=%s" % (PUBLIC, sid, code), out.stdout
                codes.append(code)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        assert len(set(codes)) == 3
        for c in codes:
            assert respond(s, sid, c, {"wl1": 2}).status == 201
        sv = s.get("/v1/surveys/" + sid, token=cons).json()
        assert sv["codes"]["print"] == 3 and sv["codes"]["units"][0]["unit"] == "A"
        assert s.post("/v1/surveys/%s/close" % sid, token=coord).status == 200
        problem(s.get("/v1/surveys/%s/results" % sid, token=coord), 403,
                "codes-issuer-cannot-read-results")
        assert s.get("/v1/surveys/%s/results" % sid, token=cons).status == 200


def test_named_limits():
    """recipients: at most CODES_MAX_RECIPIENTS per request; slips: at most
    CODES_MAX_PRINT per sheet. At the recipients limit with no mail server
    the notifications service refuses the handoff, and the surveys service
    withdraws the codes (counts back to 0) without logging an address."""
    with Stack(services=SERVICES, env=SCALE) as s:
        org = s.org()
        sid = open_survey(s, org["id"], s.admin)
        path = "/v1/surveys/%s/codes" % sid
        over = ["p%05d@ex.org" % i for i in range(MAX_RECIPIENTS + 1)]
        r = s.post(path, {"delivery": "email", "recipients": over})
        assert r.status == 422, r
        assert [e["pointer"] for e in r.json()["errors"]] == ["/recipients"], r.json()
        r = s.post(path, {"delivery": "email", "recipients": over[:MAX_RECIPIENTS]}, timeout=60)
        assert r.status == 202, r
        assert r.json()["count"] == MAX_RECIPIENTS
        wait_for(lambda: s.get("/v1/surveys/" + sid).json()["codes"]["issued"] == 0,
                 what="the codes withdrawn", s=s)
        assert "withdrawn" in s.logs()
        assert "@ex.org" not in s.logs()
        # Field rules of the delivery methods.
        r = s.post(path, {"delivery": "email", "recipients": [], "count": 1})
        assert r.status == 422
        assert {e["pointer"] for e in r.json()["errors"]} == {"/count", "/recipients"}, r.json()
        r = s.post(path, {"delivery": "clear", "count": 1, "recipients": ["a@b.de"]})
        assert [e["pointer"] for e in r.json()["errors"]] == ["/recipients"], r.json()
        r = s.post(path, {"delivery": "fax", "count": 1})
        assert [e["pointer"] for e in r.json()["errors"]] == ["/delivery"], r.json()
        r = s.post(path, {"delivery": "print", "count": MAX_PRINT + 1})
        assert r.status == 422 and r.json()["errors"][0]["pointer"] == "/count", r
        r = s.post(path, {"delivery": "print", "count": MAX_PRINT}, token=sl.issuer(s),
                   timeout=60)
        assert r.status == 201, r
        assert r.body.decode().count('<div class="slip">') == MAX_PRINT
        assert s.get("/v1/surveys/" + sid).json()["codes"]["print"] == MAX_PRINT


if __name__ == "__main__":
    run([test_issuer_cannot_subtract_own_answers, test_email_codes_are_seen_by_nobody,
         test_addresses_in_no_store_or_log, test_print_sheet_with_qr_codes, test_named_limits])
