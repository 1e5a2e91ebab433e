"""E-mail is limited per organisation (WH_MAIL_PER_ORG_HOUR): a flood of mail
for one organisation is cut at the hour's limit, another organisation's mail
still goes out at once, and the mail over the limit waits, pending, and is
sent later: nothing is dropped."""

import shutil
import time

from notificationslib import Mailbox, deliveries, subscribe
from stack import Stack, run, wait_for


def test_flood_of_one_org_is_limited_others_pass():
    box = Mailbox()
    try:
        env = {"WH_SMTP_URL": "smtp://127.0.0.1:%d" % box.port, "WH_MAIL_PER_ORG_HOUR": "3"}
        with Stack(env=env) as s:
            a = s.org(name="Flutamt")
            b = s.org(name="Stadtwerke")
            flood = ["person%d@example.org" % i for i in range(8)]
            for addr in flood:
                subscribe(s, a["id"], addr, channel="email", language="de")
            subscribe(s, b["id"], "kim@example.org", channel="email", language="sv")
            s.patch("/v1/organizations/" + a["id"], {"name": "Flutamt (neu)"})
            time.sleep(0.3)  # a's mail is due first
            s.patch("/v1/organizations/" + b["id"], {"name": "Stadtwerke (neu)"})

            def rcpts():
                return [r for _, rs, _ in box.messages for r in rs]
            wait_for(lambda: "kim@example.org" in rcpts(), what="b's mail", s=s)
            wait_for(lambda: len([r for r in rcpts() if r in flood]) >= 3,
                     what="a's first three", s=s)
            time.sleep(1.5)  # more than one scan of the engine
            sent_a = [r for r in rcpts() if r in flood]
            assert len(sent_a) == 3, sent_a
            mine = [d for d in deliveries(s) if d["target"] in flood]
            assert len(mine) == 8, mine
            states = sorted((d["status"], len(d["attempts"])) for d in mine)
            assert states == [("delivered", 1)] * 3 + [("pending", 0)] * 5, states
            assert "reached 3 e-mails this hour" in s.logs()

            # Nothing is lost: the deferred mail is still there and goes out
            # once the limit allows (here: after a restart with a higher one).
            s.stop()
            s.extra_env["WH_MAIL_PER_ORG_HOUR"] = "100"
            s.start()
            wait_for(lambda: sorted(r for r in rcpts() if r in flood) == sorted(flood),
                     what="the rest of a's mail", s=s)
            # The outcome is stored a moment after the mail server took it.
            wait_for(lambda: all(d["status"] == "delivered" for d in deliveries(s)),
                     what="every delivery recorded", s=s)
            assert len(rcpts()) == 9, rcpts()
    finally:
        box.close()


ENGINE_MAIL_ORGS = 1024  # services/notifications/engine.h


def test_more_organisations_than_tracked():
    """The engine tracks the hour of ENGINE_MAIL_ORGS organisations. With
    that many at their limit, one more organisation's mail waits (and the
    log says why) rather than one of them being forgotten and let through."""
    box = Mailbox()
    try:
        env = {"WH_SMTP_URL": "smtp://127.0.0.1:%d" % box.port, "WH_MAIL_PER_ORG_HOUR": "1",
               "WH_LOG_LEVEL": "warn"}
        with Stack(env=env) as s:
            orgs = []
            for i in range(ENGINE_MAIL_ORGS + 1):
                o = s.org(name="Amt %d" % i)
                subscribe(s, o["id"], "m%d@example.org" % i, channel="email", language="de")
                orgs.append(o)
            for o in orgs[:ENGINE_MAIL_ORGS]:
                assert s.patch("/v1/organizations/" + o["id"], {"employees": 7}).status == 200
            wait_for(lambda: len(box.messages) == ENGINE_MAIL_ORGS,
                     timeout=120, what="a mail for each", s=s)
            last = orgs[-1]
            s.patch("/v1/organizations/" + last["id"], {"employees": 7})
            s.patch("/v1/organizations/" + orgs[0]["id"], {"employees": 8})
            time.sleep(1.5)  # more than one scan of the engine
            assert len(box.messages) == ENGINE_MAIL_ORGS, len(box.messages)
            pending = {d["target"]: d for d in deliveries(s, status="pending")}
            assert set(pending) == {"m0@example.org", "m%d@example.org" % ENGINE_MAIL_ORGS}, \
                pending
            assert all(d["attempts"] == [] for d in pending.values())
            assert "%d organisations reached their e-mail limit this hour" % ENGINE_MAIL_ORGS \
                in s.logs()
    finally:
        box.close()


def test_bad_limit_is_refused():
    """WH_MAIL_PER_ORG_HOUR must be a positive integer: the service does not
    start with anything else (checked like WH_WEBHOOK_ALLOW)."""
    for bad in ("0", "-1", "ten", "1000001"):
        s = Stack(env={"WH_MAIL_PER_ORG_HOUR": bad}, services=("notifications",))
        try:
            rc, err = s.refused_start("notifications")
            assert rc != 0 and b"WH_MAIL_PER_ORG_HOUR" in err, (bad, err)
        finally:
            shutil.rmtree(s.data_dir, ignore_errors=True)

if __name__ == "__main__":
    run([test_flood_of_one_org_is_limited_others_pass, test_more_organisations_than_tracked,
         test_bad_limit_is_refused])
