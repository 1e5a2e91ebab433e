"""Each reminder mail says who entered the recipient's address: the role of
the token that last set the agreement's contacts and its organisation (a
coordinator is the employer's, a consultant the insurer's), so that someone
who receives mail about an agreement they do not know can tell whom to ask."""

import email
import email.policy
import shutil
import tempfile
import time

from agreementlib import CONTACT, Parties, body
from notificationslib import Mailbox
from stack import Stack, run, wait_for


def text_of(content):
    return email.message_from_bytes(content, policy=email.policy.default).get_content()


def test_reminder_says_who_entered_the_address():
    box = Mailbox()
    d = tempfile.mkdtemp(prefix="wh-rem-mail-")
    try:
        env = {"WH_SMTP_URL": "smtp://127.0.0.1:%d" % box.port}
        made = {}
        # The notice deadline of every agreement below is 2025-10-02. On
        # 2025-09-01 the 90-day reminder is overdue and goes out at creation.
        with Stack(env=env, now="2025-09-01T10:00:00Z", data_dir=d) as s:
            p = Parties(s)
            coord = s.token("coordinator", [p.e])
            cons = s.token("consultant", [p.i])
            for who, token, addr, lang in (
                    ("coordinator", coord, "anna@example.org", "de"),
                    ("consultant", cons, "ben@example.org", "en"),
                    ("consultant", cons, "dora@example.org", "en"),
                    ("admin", "admin", "cecilia@example.se", "sv")):
                contact = dict(CONTACT, email=addr, language=lang)
                r = s.post("/v1/agreements", body(p, title="BGF " + addr, signed_on="2025-05-20",
                                                  contacts=[contact]), token=token)
                assert r.status == 201, r
                made[addr] = r.json()
            # Ben's contact, entered by the consultant, changed by the
            # coordinator: the last one to set the contacts is named.
            a = made["ben@example.org"]
            r = s.get("/v1/agreements/" + a["id"], token=coord)
            r = s.patch("/v1/agreements/" + a["id"],
                        {"contacts": [dict(CONTACT, email="ben@example.org", language="en",
                                           name="Ben Berg")]},
                        token=coord, headers={"If-Match": r.header("ETag")})
            assert r.status == 200, r
            wait_for(lambda: len(box.messages) >= 4, what="the 90-day reminders", s=s)
            time.sleep(0.3)
            assert len(box.messages) == 4, [m[1] for m in box.messages]
            del box.messages[:]
        # 2025-09-25: the 7-day reminder of each is due (the 30-day one was
        # missed and is skipped).
        with Stack(env=env, now="2025-09-25T10:00:00Z", data_dir=d) as s:
            wait_for(lambda: len(box.messages) >= 4, what="four reminders", s=s)
            time.sleep(0.3)
            assert len(box.messages) == 4, [m[1] for m in box.messages]
            by = {rcpts[0]: " ".join(text_of(content).split())
                  for _, rcpts, content in box.messages}
            assert ("Sie erhalten diese Erinnerung, weil das Gesundheitsmanagement von "
                    "Bezirksamt Mitte Ihre Adresse als Kontakt für diese Vereinbarung "
                    "eingetragen hat.") in by["anna@example.org"], by["anna@example.org"]
            assert ("You receive this reminder because the health-management coordinator of "
                    "Bezirksamt Mitte entered your address as a contact for this agreement."
                    ) in by["ben@example.org"], by["ben@example.org"]
            assert ("You receive this reminder because the health-promotion consultant of "
                    "AOK Nordost entered your address as a contact for this agreement."
                    ) in by["dora@example.org"], by["dora@example.org"]
            assert ("Du får den här påminnelsen eftersom administratörerna av workhealth har "
                    "angett din adress som kontakt för avtalet."
                    ) in by["cecilia@example.se"], by["cecilia@example.se"]
    finally:
        box.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run([test_reminder_says_who_entered_the_address])
