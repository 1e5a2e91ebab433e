"""Fixtures for the notifications end-to-end tests: a webhook receiver that
checks every signature itself, an SMTP server (aiosmtpd), subscriptions and
the deliveries an operator reads back."""

import base64
import hashlib
import hmac
import json
import threading
import time

from stack import free_port, reply, serve_posts, stop_http

# Standard Webhooks: a signature is refused when its timestamp is further
# than this from the receiver's clock.
WEBHOOK_TOLERANCE_S = 300


class Receiver:
    """A webhook receiver that verifies the Standard Webhooks signature of
    every request independently and records what arrived. `answer(n)` gives
    the status for the n-th request (0-based)."""

    def __init__(self, port=0, answer=None):
        self.secret = None
        self.got = []  # (webhook_id, body dict) of requests with a valid signature
        self.bad = []  # requests whose signature did not verify
        self.count = 0
        self.answer = answer or (lambda n: 204)
        self.lock = threading.Lock()
        self.server = serve_posts(self._post, port)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hooks/workhealth" % self.port

    def _post(self, h, body):
        with self.lock:
            n = self.count
            self.count += 1
            ok = self.verify(h.headers, body)
            if ok:
                self.got.append((h.headers["webhook-id"], json.loads(body)))
            else:
                self.bad.append((dict(h.headers), body))
        reply(h, self.answer(n) if ok else 401)

    def verify(self, headers, body):
        """Standard Webhooks: HMAC-SHA256 over "id.timestamp.body" with the
        base64-decoded secret after "whsec_"; the header may list several
        space-separated "v1,<sig>" entries; the timestamp must be recent."""
        msg_id = headers.get("webhook-id")
        ts = headers.get("webhook-timestamp")
        sigs = headers.get("webhook-signature", "")
        if not (msg_id and ts and self.secret and headers.get("Content-Type") == "application/json"):
            return False
        if abs(time.time() - int(ts)) > WEBHOOK_TOLERANCE_S:
            return False
        key = base64.b64decode(self.secret[len("whsec_"):])
        mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256)
        want = base64.b64encode(mac.digest()).decode()
        for entry in sigs.split(" "):
            version, _, sig = entry.partition(",")
            if version == "v1" and hmac.compare_digest(sig, want):
                return True
        return False

    def ids(self):
        with self.lock:
            return [g[0] for g in self.got]

    def close(self):
        stop_http(self.server)


class Mailbox:
    """An SMTP server on loopback that keeps every message as (mail_from,
    rcpt_tos, content) and answers DATA with reply(n) for the n-th message
    (0-based; "250 OK" unless given)."""

    def __init__(self, reply=None):
        from aiosmtpd.controller import Controller
        self.messages = []
        self.count = 0
        outer = self
        answer = reply or (lambda n: "250 OK")

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                n = outer.count
                outer.count += 1
                outer.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                       envelope.content))
                return answer(n)

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()


# Only updates by default: an organisation's own organization.created may
# reach notifications after the subscription made right after it, and so may
# or may not be delivered.
def subscribe(s, org_id, target, events=("organization.updated",),
              channel="webhook", language="en", token="admin"):
    r = s.post("/v1/subscriptions", {"org_id": org_id, "events": list(events),
                                      "channel": channel, "target": target,
                                      "language": language}, token=token)
    assert r.status == 201, r
    return r.json()


def deliveries(s, **params):
    """Every delivery (all pages), filtered by the query parameters given."""
    q = "".join("&%s=%s" % kv for kv in params.items())
    items, cursor = [], None
    while True:
        r = s.get("/v1/deliveries?limit=500" + q + ("&cursor=" + cursor if cursor else ""))
        assert r.status == 200, r
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items
