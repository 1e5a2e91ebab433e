"""/metrics for operators: each service's figures, collected by the gateway
over the broker when /metrics is scraped (outbox, inbox, store, deliveries,
alerts, reminders, responses), moving as work is done; `promtool check
metrics` clean; a stopped or killed service shown as wh_service_up 0 while
/metrics still answers; the shipped alert rules (`promtool check rules`) and
Grafana dashboard referring only to metrics a real scrape has."""

import json
import os
import re
import shutil
import signal
import subprocess

import screeninglib as scr
from agreementlib import CONTACT, Parties, body
from notificationslib import Receiver, subscribe
from stack import Stack, Worker, join_all, run, wait_for

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "workhealth.json")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def promtool():
    path = shutil.which("promtool")
    assert path, "promtool is missing: deploy/install-deps.sh installs it (Debian prometheus)"
    return path


def scrape(s, **kw):
    r = s.get("/metrics", token=None, **kw)
    assert r.status == 200, r
    return r.body.decode()


def samples(text):
    """[(name, {label: value}, value)] of every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, line
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def value(text, name, **labels):
    """The sum of the samples of name whose labels include labels (0 if none)."""
    return sum(v for n, l, v in samples(text)
               if n == name and all(l.get(k) == x for k, x in labels.items()))


def figure(s, name, **labels):
    return value(scrape(s), name, **labels)


def check_exposition(text):
    """promtool's judgement, plus HELP and TYPE before every family."""
    p = subprocess.run([promtool(), "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), (
        p.stdout.decode() + p.stderr.decode())
    helped, typed = set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
        elif line.startswith("# TYPE "):
            typed.add(line.split()[2])
    for name, _, _ in samples(text):
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
        assert family in helped and family in typed, name


def test_figures_move():
    rx = Receiver()
    # The stack's clock is in 2025, so its signatures' timestamps are too
    # old for the receiver's tolerance: signatures are tested elsewhere.
    rx.verify = lambda headers, body: True
    try:
        # The day a draft's 90- and 30-day reminders are past and its 7-day
        # one is due: signing it records two skipped and one sent.
        with Stack(env={"WH_RETRY_SCALE": "0.0001"}, now="2025-09-25T10:00:00Z") as s:
            first = scrape(s)
            check_exposition(first)
            for svc in ("agreements", "surveys", "screening", "notifications"):
                assert value(first, "wh_service_up", service=svc) == 1, first
                assert value(first, "wh_store_bytes", service=svc) > 0, first
                assert ('wh_store_wal_bytes{service="%s",' % svc) in first
            for svc in ("agreements", "surveys", "screening"):
                assert ('wh_outbox_backlog{service="%s",' % svc) in first
                assert ('wh_outbox_oldest_age_seconds{service="%s",' % svc) in first
            assert 'wh_inbox_events{service="notifications",' in first

            # A webhook delivery.
            p = Parties(s)
            sub = subscribe(s, p.e, rx.url)
            rx.secret = sub["secret"]
            s.patch("/v1/organizations/" + p.e, {"name": "Bezirksamt Mitte (neu)"})
            wait_for(lambda: figure(s, "wh_notifications_deliveries", status="delivered",
                                    channel="webhook") == 1, what="a delivery counted", s=s)
            assert figure(s, "wh_notifications_delivery_attempts", outcome="delivered") == 1
            assert figure(s, "wh_notifications_subscriptions") == 1

            # Reminders sent and skipped.
            r = s.post("/v1/agreements", body(p, title="Late", contacts=[CONTACT]))
            assert r.status == 201, r
            r = s.post("/v1/agreements/%s/sign" % r.json()["id"], {})
            assert r.status == 200, r
            text = scrape(s)
            assert value(text, "wh_agreements_reminders", status="sent") == 1, text
            assert value(text, "wh_agreements_reminders", status="skipped") == 2, text
            assert value(text, "wh_agreements_agreements") == 1

            # Survey responses.
            from test_surveys import codes, create, respond
            sv = create(s, p.e)
            cs = codes(s, sv["id"], 3)
            assert s.post("/v1/surveys/%s/open" % sv["id"]).status == 200
            for c in cs[:2]:
                assert respond(s, sv["id"], c).status == 201
            text = scrape(s)
            assert value(text, "wh_surveys_responses") == 2, text
            assert value(text, "wh_surveys", state="open") == 1, text

            # A screening result at risk opens an alert.
            t = scr.Tenant(s)
            subject = "metrics-subject-17"
            res = scr.push(s, t, scr.item(t.id, subject, "gad7", at_risk=True))
            assert res["alert_id"], res
            text = scrape(s)
            assert value(text, "wh_screening_alerts_opened") == 1, text
            assert value(text, "wh_screening_alerts", state="open") == 1, text
            assert value(text, "wh_screening_alerts_escalated") == 0
            assert value(text, "wh_screening_results") == 1

            # Events flow: the outboxes drain into the notifications inbox.
            wait_for(lambda: figure(s, "wh_outbox_backlog") == 0, what="outboxes drained", s=s)
            text = scrape(s)
            assert value(text, "wh_inbox_events", service="notifications") > 0, text
            assert value(text, "wh_outbox_oldest_age_seconds") == 0, text
            assert value(text, "wh_http_requests_total", route="SCREENINGS_CREATE") >= 1
            check_exposition(text)
            check_references(text)
            # Counts only: no organisation, subject or token in any label.
            for secret in (p.e, p.i, t.id, subject, sv["id"], sub["id"], rx.url):
                assert secret not in text, secret
            assert len(samples(text)) < 2000, len(samples(text))
    finally:
        rx.close()


def test_missing_service_does_not_block():
    with Stack() as s:
        assert figure(s, "wh_service_up", service="screening") == 1
        # A service that does not answer (stopped, still connected): the
        # scrape gives up on it after its short deadline and answers.
        s.send("screening", signal.SIGSTOP)
        try:
            text = scrape(s)
            assert value(text, "wh_service_up", service="screening") == 0, text
            assert value(text, "wh_service_up", service="agreements") == 1, text
            assert 'service="screening",instance=' not in text
            check_exposition(text)
            # Scrapes asked for together share one round of questions, and
            # each is answered.
            got = []
            workers = [Worker(lambda: got.append(scrape(s))) for _ in range(6)]
            for w in workers:
                w.start()
            join_all(workers, timeout=60)
            assert len(got) == 6
            for text in got:
                assert value(text, "wh_service_up", service="screening") == 0, text
                assert value(text, "wh_service_up", service="agreements") == 1, text
        finally:
            s.send("screening", signal.SIGCONT)
        wait_for(lambda: figure(s, "wh_service_up", service="screening") == 1,
                 what="screening back", s=s)
        # Killed.
        s.kill("surveys")
        text = scrape(s)
        assert value(text, "wh_service_up", service="surveys") == 0, text
        assert value(text, "wh_service_up", service="screening") == 1, text
        check_exposition(text)


def metric_names(expr):
    """Metric names an expression refers to (wh_ identifiers)."""
    return set(re.findall(r"\bwh_[a-zA-Z0-9_]+\b", expr))


def dashboard_exprs():
    found = []

    def walk(o):
        if isinstance(o, dict):
            if isinstance(o.get("expr"), str):
                found.append(o["expr"])
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    with open(DASHBOARD) as f:
        walk(json.load(f))
    return found


def check_references(text):
    """Every wh_ metric the alert rules and the dashboard use is in text, a
    scrape of a stack that has done a little of everything."""
    names = {n for n, _, _ in samples(text)}
    with open(ALERTS) as f:
        exprs = re.findall(r"^\s*expr:\s*(.+(?:\n\s{10}\S.*)*)", f.read(), re.M)
    dash = dashboard_exprs()
    assert len(exprs) >= 4 and len(dash) >= 8, (exprs, dash)
    for e in exprs + dash:
        unknown = metric_names(e) - names
        assert not unknown, (e, unknown)


def test_alert_rules():
    p = subprocess.run([promtool(), "check", "rules", ALERTS], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    with open(ALERTS) as f:
        rules = f.read()
    for alert in ("OutboxBacklogGrowing", "DeliveriesFailing", "AlertsEscalating",
                  "ServiceMissing"):
        assert "alert: " + alert in rules, alert


if __name__ == "__main__":
    run([test_figures_move, test_missing_service_does_not_block, test_alert_rules])
