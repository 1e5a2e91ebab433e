"""Calendar feeds: a secret address a calendar program reads without any
header (POST/GET/DELETE /v1/calendar-feeds), read here by an independent
parser (Debian's python3-icalendar). The secret opens that one GET and
nothing else; a feed dies with its deletion and with its token; a feed of
5,000 agreements holds them all, and the gateway's limit on a feed
(WH_CALENDAR_MAX_BYTES) keeps the agreements ending last when crossed."""

import os
import shutil
import tempfile
import urllib.parse

import icalendar

from agreementlib import Parties, body, days, seed, ulid
from stack import Stack, assert_problem, run

NOW = "2025-09-01T10:00:00Z"
FEED_FIELDS = {"id", "label", "org_ids", "created_at", "url"}


def path_of(s, url):
    """The path and query of a feed URL given under the stack's address."""
    base = "http://127.0.0.1:%d" % s.port
    assert url.startswith(base + "/v1/agreements/calendar.ics?feed=whf_"), url
    return url[len(base):]


def secret_of(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["feed"][0]


def agreement_ids(r):
    """The agreement ids a calendar reply shows, each with both its events."""
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(r.body)
    uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
    ids = {u.split("-")[0] for u in uids}
    assert sorted(uids) == sorted("%s-%s@agreements.workhealth" % (i, k)
                                  for i in ids for k in ("notice", "end")), uids
    return ids


def gateway_bytes(s):
    out = b""
    for suffix in ("", "-wal"):
        p = os.path.join(s.data_dir, "gateway.db" + suffix)
        if os.path.exists(p):
            with open(p, "rb") as f:
                out += f.read()
    return out


def test_feed_by_url():
    with Stack(now=NOW) as s:
        a = Parties(s)
        b = Parties(s, "Klinikum Nord", "TK Berlin")
        agr_a = s.post("/v1/agreements", body(a, signed_on="2025-01-10")).json()
        agr_b = s.post("/v1/agreements", body(b, title="B", signed_on="2025-01-10")).json()
        cons = s.new_token("consultant", [a.i], "consultant A")

        # Created with a secret URL, shown once, kept out of replays.
        key = {"Idempotency-Key": "feed-once-1"}
        r = s.post("/v1/calendar-feeds", {"label": "Fristen"}, token=cons["token"], headers=key)
        assert r.status == 201, r
        feed = r.json()
        assert set(feed) == FEED_FIELDS and feed["org_ids"] == [a.i], feed
        url = feed["url"]
        secret = secret_of(url)
        r = s.post("/v1/calendar-feeds", {"label": "Fristen"}, token=cons["token"], headers=key)
        assert_problem(r, 409, "/problems/secret-shown-once")
        assert secret not in r.body.decode()
        assert secret.encode() not in gateway_bytes(s)

        # Read with no header at all: the deadlines of A's agreement only.
        r = s.get(path_of(s, url), token=None)
        assert agreement_ids(r) == {agr_a["id"]}
        cal = icalendar.Calendar.from_ical(r.body)
        ends = [e for e in cal.walk("VEVENT") if str(e["UID"]).endswith("-end@agreements.workhealth")]
        assert str(ends[0].decoded("DTSTART")) == "2025-12-31"
        # Filters narrow it as they do the bearer route.
        assert agreement_ids(s.get(path_of(s, url) + "&employer_id=" + b.e, token=None)) == set()

        # Narrowed to some of the token's organisations; never beyond them.
        coord = s.new_token("coordinator", [a.e, b.e], "coordinator A+B")
        r = s.post("/v1/calendar-feeds", {"label": "nur B", "org_ids": [b.e]},
                   token=coord["token"])
        assert r.status == 201, r
        assert agreement_ids(s.get(path_of(s, r.json()["url"]), token=None)) == {agr_b["id"]}
        r = s.post("/v1/calendar-feeds", {"label": "fremd", "org_ids": [b.i]},
                   token=cons["token"])
        assert_problem(r, 422, "/problems/validation")
        assert r.json()["errors"][0]["pointer"] == "/org_ids/0", r.json()
        # An admin may name any organisation; without org_ids, every one.
        r = s.post("/v1/calendar-feeds", {"label": "admin B", "org_ids": [b.i]})
        assert r.status == 201, r
        admin_b = r.json()
        assert agreement_ids(s.get(path_of(s, admin_b["url"]), token=None)) == {agr_b["id"]}
        r = s.post("/v1/calendar-feeds", {"label": "admin all"})
        assert r.status == 201 and r.json()["org_ids"] == [], r
        assert agreement_ids(s.get(path_of(s, r.json()["url"]), token=None)) == {
            agr_a["id"], agr_b["id"]}
        # Roles that may not create feeds.
        for role, org in (("occupational_health", a.e), ("integration", a.e)):
            t = s.token(role, [org])
            assert s.post("/v1/calendar-feeds", {"label": "x"}, token=t).status == 403

        # The secret opens nothing else: not as ?feed= elsewhere, not as a
        # bearer token, not even the calendar itself as a bearer token.
        for p in ("/v1/agreements?feed=" + secret, "/v1/agreements/%s?feed=%s" % (agr_a["id"], secret),
                  "/v1/calendar-feeds?feed=" + secret, "/v1/organizations?feed=" + secret):
            assert_problem(s.get(p, token=None), 401, "/problems/unauthorized")
        assert_problem(s.get("/v1/agreements", token=secret), 401, "/problems/unauthorized")
        assert_problem(s.get("/v1/agreements/calendar.ics", token=secret), 401,
                       "/problems/unauthorized")
        # A wrong or unknown secret is 404, as for an address that is not there.
        for bad in ("whf_" + "A" * 43, secret[:-1], "", "x" * 500):
            assert_problem(s.get("/v1/agreements/calendar.ics?feed=" + bad, token=None), 404,
                           "/problems/not-found")
        assert secret not in s.logs()

        # Listed without secrets: a token sees its own, an admin all.
        r = s.get("/v1/calendar-feeds", token=cons["token"])
        assert r.status == 200, r
        items = r.json()["items"]
        assert [f["id"] for f in items] == [feed["id"]] and "url" not in items[0], items
        assert set(items[0]) == FEED_FIELDS - {"url"}
        assert len(s.get("/v1/calendar-feeds").json()["items"]) == 4
        assert secret not in s.get("/v1/calendar-feeds").body.decode()

        # Someone else's feed is not there to delete; the owner's goes at once.
        assert_problem(s.delete("/v1/calendar-feeds/" + feed["id"], token=coord["token"]), 404,
                       "/problems/not-found")
        assert s.get(path_of(s, url), token=None).status == 200
        assert s.delete("/v1/calendar-feeds/" + feed["id"], token=cons["token"]).status == 204
        assert_problem(s.get(path_of(s, url), token=None), 404, "/problems/not-found")
        assert s.get("/v1/calendar-feeds", token=cons["token"]).json()["items"] == []
        # An admin deletes any feed.
        assert s.delete("/v1/calendar-feeds/" + admin_b["id"]).status == 204
        assert s.get(path_of(s, admin_b["url"]), token=None).status == 404

        # Revoking the token that created a feed ends the feed with it.
        r = s.post("/v1/calendar-feeds", {"label": "bis zum Widerruf"}, token=coord["token"])
        other = r.json()["url"]
        assert s.get(path_of(s, other), token=None).status == 200
        assert s.delete("/v1/tokens/" + coord["id"]).status == 204
        assert_problem(s.get(path_of(s, other), token=None), 404, "/problems/not-found")


def test_feed_ends_when_its_token_expires():
    d = tempfile.mkdtemp(prefix="wh-feeds-")
    try:
        with Stack(data_dir=d, now=NOW) as s:
            a = Parties(s)
            agr = s.post("/v1/agreements", body(a, signed_on="2025-01-10")).json()
            r = s.post("/v1/tokens", {"role": "consultant", "org_ids": [a.i], "label": "kurz",
                                      "expires_at": "2025-09-02T00:00:00Z"})
            assert r.status == 201, r
            r = s.post("/v1/calendar-feeds", {"label": "kurz"}, token=r.json()["token"])
            assert r.status == 201, r
            url = r.json()["url"]
            assert agreement_ids(s.get(path_of(s, url), token=None)) == {agr["id"]}
            feed_path = path_of(s, url)
        with Stack(data_dir=d, now="2025-09-03T10:00:00Z") as s:
            assert_problem(s.get(feed_path, token=None), 404,
                           "/problems/not-found")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_five_thousand_agreements_in_one_feed():
    d = tempfile.mkdtemp(prefix="wh-feeds-")
    try:
        with Stack(data_dir=d, now=NOW) as s:
            p = Parties(s)
        # More than three times what one reply of the service holds (1 MiB).
        seed(d, p, 5000, lambda i: days("2025-12-31") + i % 700)
        with Stack(data_dir=d, now=NOW, services=("agreements",)) as s:
            t = s.token("consultant", [p.i], "insurer")
            r = s.post("/v1/calendar-feeds", {"label": "alle"}, token=t)
            assert r.status == 201, r
            r = s.get(path_of(s, r.json()["url"]), token=None, timeout=120)
            assert len(r.body) > 3 * 1024 * 1024, len(r.body)
            assert agreement_ids(r) == {ulid(i) for i in range(5000)}
            # The bearer route is served the same way.
            r = s.get("/v1/agreements/calendar.ics", token=t, timeout=120)
            assert len(agreement_ids(r)) == 5000
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_feed_limit_keeps_the_last_that_fit():
    limit = 300 * 1024
    d = tempfile.mkdtemp(prefix="wh-feeds-")
    try:
        with Stack(data_dir=d, now=NOW) as s:
            p = Parties(s)
        seed(d, p, 1000, lambda i: days("2025-12-31") + i)
        with Stack(data_dir=d, now=NOW, services=("agreements",),
                   env={"WH_CALENDAR_MAX_BYTES": str(limit)}) as s:
            r = s.post("/v1/calendar-feeds", {"label": "alle"})
            feed = path_of(s, r.json()["url"])
            r = s.get(feed, token=None)
            kept = agreement_ids(r)
            # Those ending last, whole, as many as the limit holds: the
            # next one would have crossed it.
            assert sorted(kept) == [ulid(i) for i in range(1000 - len(kept), 1000)], len(kept)
            assert limit - 1200 < len(r.body) <= limit, len(r.body)
            assert len(kept) < 1000
            assert s.get("/v1/agreements/calendar.ics").body == r.body
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_feeds_held_at_once_are_bounded():
    """WH_CALENDAR_MAX_HELD_BYTES (CALFEED_MAX_HELD_BYTES): what the feeds
    being joined hold together. A feed that would take them over it is 503
    with Retry-After, and what it held is given back at once."""
    d = tempfile.mkdtemp(prefix="wh-feeds-")
    try:
        with Stack(data_dir=d, now=NOW) as s:
            a = Parties(s)
            b = Parties(s, "Klinikum Nord", "TK Berlin")
            small = s.post("/v1/agreements", body(b, signed_on="2025-01-10")).json()
        seed(d, a, 300, lambda i: days("2025-12-31") + i)
        with Stack(data_dir=d, now=NOW, services=("agreements",),
                   env={"WH_CALENDAR_MAX_HELD_BYTES": "100000"}) as s:
            big = path_of(s, s.post("/v1/calendar-feeds", {"label": "alle"}).json()["url"])
            few = path_of(s, s.post("/v1/calendar-feeds", {"label": "B", "org_ids": [b.e]})
                          .json()["url"])
            for _ in range(3):
                r = s.get(big, token=None)
                assert_problem(r, 503, "/problems/unavailable")
                assert r.header("Retry-After") == "1", r.headers
                assert "calendar feeds" in r.json()["detail"], r
                assert agreement_ids(s.get(few, token=None)) == {small["id"]}
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run([test_feed_by_url, test_feed_ends_when_its_token_expires,
         test_five_thousand_agreements_in_one_feed, test_feed_limit_keeps_the_last_that_fit,
         test_feeds_held_at_once_are_bounded])
