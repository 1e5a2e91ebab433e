"""Logs an operator can follow (docs/ARCHITECTURE.md, "Logs").

A stack runs through what produces most log lines: a survey with codes in
clear and by e-mail and answers given with them, screening results with an
urgent alert, webhook and e-mail deliveries, an agreement reminder, and a
delivery that fails. Then every line every process wrote is read and must be
one JSON object with time (RFC 3339, UTC, milliseconds), level, service and
msg; a request id the client chose must appear in the gateway's line and in
the lines of the service that owns the operation, and follow the event it
emitted into the notifications service's delivery lines; each delivery
attempt and each reminder has its line; and no secret the test knows
(tokens, codes, the webhook secret, answers, scores, e-mail addresses,
screening subjects) appears in any line.

Start-up errors are lines of the same shape, also when their text holds
quotes, newlines or bytes that are not UTF-8."""

import datetime
import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import tempfile

from agreementlib import CONTACT, Parties, body as agreement_body
from notificationslib import Mailbox, Receiver, subscribe
from stack import ADMIN_TOKEN, Stack, run, wait_for
import surveylib as sl

PROCESSES = ("gateway", "agreements", "surveys", "screening", "notifications")
LEVELS = {"debug", "info", "warn", "error"}
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
CODE_RE = re.compile(r"[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}")
PUBLIC = "https://wh.example.org"

# Request ids the client sets, one per flow followed through the logs.
RID_AGREEMENT = "logs-e2e.agreement-1"
RID_CODES = "logs-e2e.codes-1"
RID_URGENT = "logs-e2e.urgent-1"
RID_ANSWER = "logs-e2e.answer-1"
RID_UPDATE = "logs-e2e.update-1"
# Health data and personal data the test sends: none may reach a log.
SUBJECT_URGENT = "pseudonym-urgent-7f3a9c"
SUBJECT_PLAIN = "pseudonym-plain-2b8e51"
CONTACT_ADDR = "rosa.reminder@contacts.example.org"
SUBSCRIBER_ADDR = "ole.subscriber@mail.example.org"
RECIPIENTS = ["emma.%d@codes.example.org" % i for i in range(3)]


def records(path, service):
    """Every line of one process's log, each parsed and checked for shape."""
    out = []
    with open(path, "rb") as fh:
        data = fh.read()
    assert data.endswith(b"\n") or not data, (path, data[-200:])
    for raw in data.split(b"\n")[:-1]:
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("%s: not a JSON line (%s): %r" % (path, e, raw[:300])) from None
        assert isinstance(rec, dict), (path, raw)
        check_shape(rec, service, raw)
        out.append(rec)
    return out


def check_shape(rec, service, raw):
    assert set(rec) <= {"time", "level", "service", "request_id", "msg"}, raw
    assert {"time", "level", "service", "msg"} <= set(rec), raw
    assert TIME_RE.fullmatch(rec["time"]), raw
    assert rec["level"] in LEVELS, raw
    assert rec["service"] == service, (service, raw)
    assert isinstance(rec["msg"], str) and rec["msg"], raw
    if "request_id" in rec:
        assert isinstance(rec["request_id"], str) and 0 < len(rec["request_id"]) <= 64, raw


def masked(addr):
    local, _, domain = addr.partition("@")
    return "%s***@%s***%s" % (local[0], domain[0], domain[domain.rfind("."):])


def term_due(term, days_before):
    """The day a notice reminder is due: days_before the notice deadline."""
    ends = datetime.date.fromisoformat(term["ends_on"])
    return str(ends - datetime.timedelta(days=term["notice_days"] + days_before))


def lines_with(recs, rid, *words):
    return [r for r in recs if r.get("request_id") == rid and all(w in r["msg"] for w in words)]


def test_every_line_is_json_and_followable():
    box = Mailbox()
    hooks = Receiver()
    failing = Receiver(answer=lambda n: 503)
    secrets = [ADMIN_TOKEN, CONTACT_ADDR, SUBSCRIBER_ADDR, SUBJECT_URGENT, SUBJECT_PLAIN]
    secrets += RECIPIENTS
    env = {"WH_SMTP_URL": "smtp://127.0.0.1:%d" % box.port, "WH_RETRY_SCALE": "0.0001",
           "WH_MAIL_FROM": "workhealth <noreply@wh.example.org>", "WH_PUBLIC_URL": PUBLIC}
    try:
        # The real clock (webhook receivers check the signature's time): the
        # agreement below ends in 120 days with 90 days' notice, so its
        # notice deadline is in 30 days. At creation the 30-day reminder is
        # due and sent, the overdue 90-day one skipped.
        today = datetime.date.today()
        term = {"signed_on": str(today - datetime.timedelta(days=210)),
                "starts_on": str(today - datetime.timedelta(days=200)),
                "ends_on": str(today + datetime.timedelta(days=120)), "notice_days": 90,
                "reminder_days": [90, 30, 7]}
        with Stack(env=env) as s:
            p = Parties(s)
            org = p.e
            coord = s.token("coordinator", [org])
            occ = s.token("occupational_health", [org])
            integ = s.token("integration", [org])
            secrets += [coord, occ, integ]

            # Subscriptions: a working webhook for alerts and updates, a
            # receiver that always fails, and an e-mail subscriber.
            sub = subscribe(s, org, hooks.url, events=("alert.created",), token=occ)
            hooks.secret = sub["secret"]
            bad = subscribe(s, org, failing.url)
            failing.secret = bad["secret"]
            mail_sub = subscribe(s, org, SUBSCRIBER_ADDR, channel="email")
            secrets += [sub["secret"], bad["secret"]]

            # The agreement whose creation sends a reminder to its contact.
            contact = dict(CONTACT, email=CONTACT_ADDR)
            r = s.post("/v1/agreements",
                       agreement_body(p, title="Kooperation Logs", contacts=[contact], **term),
                       token=coord, headers={"X-Request-Id": RID_AGREEMENT})
            assert r.status == 201 and r.header("X-Request-Id") == RID_AGREEMENT, r
            agreement_id = r.json()["id"]

            # An update: one delivery to the failing receiver, one mail.
            r = s.patch("/v1/organizations/" + org, {"name": "Bezirksamt Mitte (Logs)"},
                        headers={"X-Request-Id": RID_UPDATE})
            assert r.status == 200, r

            # A survey: codes in clear and by e-mail, answers with them.
            issuer = sl.issuer(s)
            secrets.append(issuer)
            r = s.post("/v1/surveys", sl.survey_body(org, languages=("de", "en")), token=coord)
            assert r.status == 201, r
            sid = r.json()["id"]
            assert s.post("/v1/surveys/%s/open" % sid, token=coord).status == 200
            r = s.post("/v1/surveys/%s/codes" % sid, {"count": 3, "unit": "B2"}, token=issuer)
            assert r.status == 201, r
            clear_codes = r.json()["codes"]
            r = s.post("/v1/surveys/%s/codes" % sid,
                       {"delivery": "email", "recipients": RECIPIENTS, "unit": "A1"},
                       token=coord, headers={"X-Request-Id": RID_CODES})
            assert r.status == 202, r
            wait_for(lambda: sum(1 for m in box.messages if m[1][0] in RECIPIENTS) == 3,
                     what="three code mails", s=s)
            mailed_codes = []
            for _, rcpts, content in box.messages:
                if rcpts[0] in RECIPIENTS:
                    msg = email.message_from_bytes(content, policy=email.policy.default)
                    mailed_codes += CODE_RE.findall(msg.get_content())[:1]
                    secrets.append(str(msg["Subject"]))
            assert len(set(mailed_codes)) == 3, mailed_codes
            secrets += clear_codes + mailed_codes
            answers = []
            for i, code in enumerate(clear_codes + mailed_codes):
                a = {"wl1": 1 + i % 5, "le1": 7 + i % 4, "su2": 2}
                answers.append(a)
                r = s.post("/v1/public/surveys/%s/responses" % sid,
                           {"code": code, "language": "de", "answers": a}, token=None,
                           headers={"X-Request-Id": RID_ANSWER} if i == 0 else None)
                assert r.status == 201, r

            # Screening: an ordinary result and an urgent one (self-harm
            # item above zero), which opens an urgent alert.
            r = s.post("/v1/screenings",
                       {"org_id": org, "instrument": "who5", "subject": SUBJECT_PLAIN,
                        "taken_at": "2025-08-30T08:00:00Z", "answers": [1, 1, 1, 1, 1]},
                       token=integ)
            assert r.status == 201, r
            scores = [r.json()["score"], r.json()["raw_score"]]
            r = s.post("/v1/screenings",
                       {"org_id": org, "instrument": "phq9", "subject": SUBJECT_URGENT,
                        "taken_at": "2025-08-31T08:00:00Z", "answers": [3] * 8 + [2]},
                       token=integ, headers={"X-Request-Id": RID_URGENT})
            assert r.status == 201 and r.json()["flags"] == ["self_harm"], r
            scores += [r.json()["score"], r.json()["raw_score"]]
            alert_id = r.json()["alert_id"]
            # (The who5 result is at risk too: its alert is the first.)
            wait_for(lambda: alert_id in [g[1]["data"]["alert_id"] for g in hooks.got],
                     what="the urgent alert's webhook", s=s)

            # The reminder mail, the subscriber's mail, the failing webhook
            # given up on after its whole (scaled) schedule.
            wait_for(lambda: any(m[1] == [CONTACT_ADDR] for m in box.messages),
                     what="the reminder mail", s=s)
            wait_for(lambda: any(m[1] == [SUBSCRIBER_ADDR] for m in box.messages),
                     what="the subscriber's mail", s=s)
            wait_for(lambda: s.get("/v1/deliveries?subscription_id=%s&status=failed"
                                   % bad["id"]).json()["items"],
                     what="the failing delivery given up", s=s)
            s.stop()
            recs = {k: records(os.path.join(s.data_dir, k + ".log"), k) for k in PROCESSES}
    finally:
        box.close()
        hooks.close()
        failing.close()

    every = [r for k in PROCESSES for r in recs[k]]
    gw, agr, srv, scr, notif = (recs[k] for k in PROCESSES)

    # A request followed through the stack: the gateway's access line, the
    # owning service's request line and what it logged meanwhile, the
    # notifications service's lines for the event it emitted.
    assert lines_with(gw, RID_AGREEMENT, "POST /v1/agreements 201"), gw[-5:]
    assert lines_with(agr, RID_AGREEMENT, "AGREEMENTS_CREATE 201"), agr[-10:]
    rem = lines_with(agr, RID_AGREEMENT, "reminder sent:", "agreement=" + agreement_id,
                     "rule=notice", "days_before=30", "due=%s " % term_due(term, 30))
    assert len(rem) == 1, [r["msg"] for r in agr if "reminder" in r["msg"]]
    assert len(lines_with(agr, RID_AGREEMENT, "reminder skipped:", "agreement=" + agreement_id,
                          "rule=notice", "days_before=90", "due=%s " % term_due(term, 90),
                          "event=-")) == 1, [r["msg"] for r in agr if "reminder" in r["msg"]]
    event_id = re.search(r"event=(\w+)", rem[0]["msg"]).group(1)
    contact_mail = lines_with(notif, RID_AGREEMENT, "delivery attempt:", "channel=email",
                              "event=" + event_id, "type=agreement.expiring",
                              "to=" + masked(CONTACT_ADDR), "outcome=delivered",
                              "smtp_code=250", "status=delivered")
    assert len(contact_mail) == 1, [r for r in notif if "delivery attempt" in r["msg"]]
    assert "subscription=-" in contact_mail[0]["msg"]  # a contact, not a subscriber
    assert re.search(r"attempt=1 .*duration_ms=\d+", contact_mail[0]["msg"]), contact_mail

    assert lines_with(gw, RID_URGENT, "POST /v1/screenings 201")
    assert lines_with(scr, RID_URGENT, "SCREENINGS_CREATE 201"), scr[-5:]
    alert_hook = lines_with(notif, RID_URGENT, "delivery attempt:", "channel=webhook",
                            "subscription=" + sub["id"], "type=alert.created",
                            "to=127.0.0.1:%d" % hooks.port, "http_status=204",
                            "status=delivered")
    assert len(alert_hook) == 1, [r for r in notif if "alert.created" in r["msg"]]

    assert lines_with(gw, RID_CODES, "POST /v1/surveys/{id}/codes 202")
    assert lines_with(srv, RID_CODES, "SURVEYS_CODES 202")
    code_mails = lines_with(notif, RID_CODES, "code mail attempt:", "survey=" + sid,
                            "status=delivered")
    assert len(code_mails) == 3, [r for r in notif if "code mail" in r["msg"]]
    assert lines_with(srv, RID_ANSWER, "PUBLIC_RESPONSES_CREATE 201")
    assert lines_with(gw, RID_ANSWER, "POST /v1/public/surveys/{id}/responses 201")

    # The failing receiver: a line per attempt, retried, then given up, each
    # under the request whose event it delivers.
    assert lines_with(gw, RID_UPDATE, "PATCH /v1/organizations/{id} 200")
    assert lines_with(agr, RID_UPDATE, "ORGS_PATCH 200")
    tries = [r["msg"] for r in notif if "delivery attempt:" in r["msg"]
             and "subscription=" + bad["id"] in r["msg"] and r.get("request_id") == RID_UPDATE]
    assert len(tries) == 8, tries  # SCHEDULE_MAX_ATTEMPTS
    assert all("outcome=http_error http_status=503" in t for t in tries), tries
    assert all("status=pending next_in_ms=" in t for t in tries[:-1]), tries
    assert "attempt=8 " in tries[-1] and tries[-1].endswith("status=failed"), tries
    assert [r["level"] for r in notif if r["msg"] == tries[-1]] == ["warn"]
    # The subscriber's mail names its subscription and masks the address.
    assert [r for r in notif if "subscription=" + mail_sub["id"] in r["msg"]
            and "to=" + masked(SUBSCRIBER_ADDR) in r["msg"] and "status=delivered" in r["msg"]]

    # Nothing secret or personal in any line, in any field.
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in every)
    for secret in secrets:
        assert secret not in text, "a log line holds %r" % secret
    for a in answers:
        for key, value in a.items():
            for form in ('"%s": %d' % (key, value), '%s=%d' % (key, value),
                         '%s: %d' % (key, value), '"%s":%d' % (key, value)):
                assert form not in text, "a log line holds the answer %r" % form
    for v in scores:
        assert not re.search(r"score\W{0,3}%s\b" % re.escape(str(v)), text), v
    assert "answers" not in text and "subject" not in text.lower(), [
        r["msg"] for r in every if "answers" in r["msg"] or "subject" in r["msg"].lower()]


def refused(bin_name, env):
    """Runs a binary that must refuse to start; its exit status and stderr."""
    bin_dir = os.environ.get("WH_BIN_DIR", os.path.join(os.getcwd(), "build"))
    p = subprocess.run([os.path.join(bin_dir, "wh-" + bin_name)], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.stdout == b"", p.stdout
    return p.returncode, p.stderr


def test_start_up_errors_are_json_lines():
    """A configuration error and a store that cannot be opened, in a data
    directory whose name holds a quote, a newline and a byte that is not
    UTF-8: each line is still one JSON object, the path in it readable."""
    base = tempfile.mkdtemp(prefix="wh-logs-")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WH_")}
        env.update({"WH_LOG_LEVEL": "info", "WH_ADMIN_TOKEN": ADMIN_TOKEN})
        rc, err = refused("gateway", dict(env, WH_DATA_DIR=base, WH_NOW="not a time"))
        assert rc != 0
        lines = [json.loads(ln) for ln in err.decode().splitlines()]
        assert lines, err
        for rec in lines:
            check_shape(rec, "gateway", rec)
        assert lines[-1]["level"] == "error" and "WH_NOW" in lines[-1]["msg"], lines

        odd = os.path.join(os.fsencode(base), b'say "hi"\nnext\xff')
        os.makedirs(os.path.join(odd, b"surveys.db"))  # a directory: sqlite cannot open it
        env_b = {k.encode(): v.encode() for k, v in env.items()}
        env_b[b"WH_DATA_DIR"] = odd
        rc, err = refused("surveys", env_b)
        assert rc != 0
        raw = err.split(b"\n")
        assert raw[-1] == b"", err
        lines = [json.loads(ln.decode("utf-8")) for ln in raw[:-1]]
        assert lines, err
        for rec in lines:
            check_shape(rec, "surveys", rec)
        store = [r["msg"] for r in lines if "cannot open store" in r["msg"]]
        assert store and 'say "hi"\nnext\ufffd/surveys.db' in store[0], lines
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    run([test_every_line_is_json_and_followable, test_start_up_errors_are_json_lines])
