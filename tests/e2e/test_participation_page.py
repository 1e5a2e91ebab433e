"""The participation page over HTTP: every state (code form, questionnaire,
errors, thank-you, unknown/used code, unknown survey, not yet open, closed)
with its status, the languages (lang=, Accept-Language, the survey's own),
the page headers (strict CSP, no-store, no-referrer, never a cookie), the
form's limits crossed, survey text escaped, Post/Redirect/Get without the
code in any address after the submit, nothing of a code in the logs, and
the public rate limit."""

import re
import urllib.parse

import surveylib as sl
from stack import Stack, query, run

SERVICES = ("agreements", "surveys")
FORM = "application/x-www-form-urlencoded"
FORM_MAX_BYTES = 64 * 1024      # services/gateway/form.h
FORM_MAX_FIELDS = 256           # services/gateway/form.h
FORM_MAX_NAME_BYTES = 128       # services/gateway/form.h
FORM_MAX_VALUE_BYTES = 1024     # services/gateway/form.h
EVIL = "Befragung <script>alert('x')</script> & \"mehr\""
UNITS = [("A", "Amt A", None), ("A1", "Team A1", "A"), ("A2", "Team A2", "A"),
         ("B", "Amt B", None)]


def page(s, path, headers=None):
    return s.get(path, token=None, headers=headers)


def post(s, sid, fields, content_type=FORM, raw=None):
    data = raw if raw is not None else urllib.parse.urlencode(fields).encode()
    return s.request("POST", "/s/%s" % sid, token=None, raw=data,
                     headers={"Content-Type": content_type})


def html(r):
    return r.body.decode()


def title(r):
    m = re.search(r"<title>(.*?)</title>", html(r), re.S)
    assert m, r
    return m.group(1)


def all_answers(value=3):
    return {"q." + q["key"]: value if q["scale"]["max"] >= value else q["scale"]["max"]
            for q in sl.QUESTIONS}


def assert_page_headers(r):
    assert r.header("Content-Type") == "text/html; charset=utf-8", r
    csp = r.header("Content-Security-Policy")
    assert csp and "script-src 'self'" in csp and "style-src 'self'" in csp, csp
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp, csp
    assert r.header("Cache-Control") == "no-store", r
    assert r.header("Referrer-Policy") == "no-referrer", r
    assert r.header("X-Frame-Options") == "DENY", r
    assert r.header("Set-Cookie") is None, r
    body = html(r)
    assert body.startswith("<!DOCTYPE html>"), body[:100]
    # No third party: every address the page names is its own.
    for url in re.findall(r'(?:href|src|action)="([^"]*)"', body):
        assert url.startswith("/") or url.startswith("#") or url == "data:,", url


def make_survey(s, org, **extra):
    body = sl.survey_body(org["id"], title=EVIL, languages=("de", "en"), units=UNITS, **extra)
    body["questions"][0]["text"]["de"] = "Zu viel <b>zu tun</b> & \"Eile\""
    r = s.post("/v1/surveys", body)
    assert r.status == 201, r
    return r.json()["id"]


def issue(s, sid, n, unit=None):
    body = {"count": n}
    if unit:
        body["unit"] = unit
    r = s.post("/v1/surveys/%s/codes" % sid, body, token=sl.issuer(s))
    assert r.status == 201, r
    return r.json()["codes"]


def test_participation_page():
    with Stack(services=SERVICES) as s:
        org = s.org()
        sid = make_survey(s, org)
        code, code2 = issue(s, sid, 2)
        code_a1 = issue(s, sid, 1, unit="A1")[0]

        # Not open yet: 409 and says so, the code stays good.
        r = page(s, "/s/%s?c=%s" % (sid, code))
        assert r.status == 409, r
        assert_page_headers(r)
        assert title(r) == "Befragung noch nicht geöffnet", title(r)
        assert s.post("/v1/surveys/%s/open" % sid).status == 200

        # No code: the form to type one; an empty one is an error; a wrong one 403.
        r = page(s, "/s/%s" % sid)
        assert r.status == 200 and title(r) == "Teilnahmecode eingeben", r
        assert_page_headers(r)
        assert '<form class="code-form" method="get" action="/s/%s">' % sid in html(r)
        assert 'name="c"' in html(r) and 'for="code"' in html(r)
        r = page(s, "/s/%s?c=+&lang=en" % sid)
        assert r.status == 422 and title(r) == "Error: Enter your participation code", title(r)
        assert 'id="error-summary"' in html(r) and 'aria-invalid="true"' in html(r)
        r = page(s, "/s/%s?c=ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ" % sid)
        assert r.status == 403, r
        assert title(r) == "Fehler: Code unbekannt oder bereits verwendet", title(r)
        assert 'value="ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"' in html(r)
        r = page(s, "/s/%s?c=%s" % (sid, "Z" * 65))
        assert r.status == 403, r

        # Unknown survey, a malformed id, an unknown page under /s/.
        for path in ("/s/%s?c=%s" % ("0" * 26, code), "/s/a.b", "/s/%s/other" % sid,
                     "/s/" + "a" * 65, "/s/"):
            r = page(s, path)
            assert r.status == 404 and title(r) == "Befragung nicht gefunden", (path, r)
            assert_page_headers(r)

        # The questionnaire: the survey's first language, text escaped, one
        # fieldset per question and one for the unit.
        r = page(s, "/s/%s?c=%s" % (sid, code))
        assert r.status == 200, r
        assert_page_headers(r)
        body = html(r)
        assert '<html lang="de">' in body
        assert "<script>alert" not in body and "<b>zu tun" not in body
        assert "Befragung &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;mehr&quot;" \
            in body
        assert "Zu viel &lt;b&gt;zu tun&lt;/b&gt; &amp; &quot;Eile&quot;" in body
        assert title(r).startswith("Fragebogen – Befragung &lt;script&gt;"), title(r)
        assert body.count("<fieldset") == len(sl.QUESTIONS) + 1
        assert body.count("<legend>") == len(sl.QUESTIONS) + 1
        assert body.count('type="radio" id="q6-') == 11  # le1: 0 to 10
        assert 'name="unit"' in body and "Amt A › Team A1" in body
        assert '<form class="survey" method="post" action="/s/%s">' % sid in body
        assert '<input type="hidden" name="c" value="%s">' % code in body
        # Links to the survey's languages only, keeping the code.
        assert 'href="/s/%s?c=%s&amp;lang=en" lang="en" hreflang="en"' % (sid, code) in body
        assert "lang=sv" not in body

        # Languages: lang=, Accept-Language, and the survey's first where
        # neither is one of its languages.
        for q, al, want in (("&lang=en", None, "en"), ("", "en-GB,en;q=0.9", "en"),
                            ("", "sv, en;q=0.5", "en"), ("&lang=sv", None, "de"),
                            ("", "sv", "de"), ("&lang=de", "en", "de"), ("&lang=xx", None, "de"),
                            ("", "en, de", "en"), ("", "de;q=0, en;q=0.1", "en"),
                            ("", "de-AT;q=0.4, en-US;q=0.8", "en")):
            h = {"Accept-Language": al} if al else None
            r = page(s, "/s/%s?c=%s%s" % (sid, code, q), headers=h)
            assert r.status == 200 and '<html lang="%s">' % want in html(r), (q, al, r)
        r = page(s, "/s/%s?c=%s&lang=en" % (sid, code))
        assert "Too much to do (en)" in html(r) and title(r).startswith("Questionnaire – "), title(r)
        # Pages that know no survey offer all three.
        r = page(s, "/s/%s?lang=sv" % sid)
        assert title(r) == "Ange din deltagarkod" and '<html lang="sv">' in html(r), r

        # A submit with answers missing: 422, the summary and each error by
        # its question, the answers given kept, the code still unused.
        partial = {"c": code, "lang": "de", "q.wl1": "2", "q.le1": "11", "unit": "A2"}
        r = post(s, sid, partial)
        assert r.status == 422, r
        assert_page_headers(r)
        body = html(r)
        assert title(r).startswith("Fehler: Fragebogen"), title(r)
        assert 'id="error-summary" role="alert" tabindex="-1" autofocus' in body
        assert '<a href="#q2-1">Frage 2: Bitte wählen Sie eine Antwort.</a>' in body
        assert '<a href="#q1-1">' not in body
        assert '<a href="#q6-0">Frage 6: Bitte wählen Sie eine Antwort.</a>' in body  # 11 > 10
        assert 'id="q1-2" name="q.wl1" value="2" checked' in body
        assert 'value="A2" checked' in body
        assert body.count('class="error"') == len(sl.QUESTIONS) - 1
        assert 'aria-describedby="q2-hint q2-error"' in body
        # A unit not offered is an error of its own.
        r = post(s, sid, dict(all_answers(), c=code, lang="de", unit="nowhere"))
        assert r.status == 422 and '<a href="#unit-0">' in html(r), r
        assert query(s, "SELECT count(*) FROM survey_responses", name="surveys") == [(0,)]

        # The whole questionnaire: 303 to the thank-you page, without the code.
        r = post(s, sid, dict(all_answers(), c=code, lang="en", unit="A1"))
        assert r.status == 303, r
        assert r.header("Location") == "/s/%s/thanks?lang=en" % sid, r.headers
        assert r.header("Set-Cookie") is None and r.header("Cache-Control") == "no-store"
        r = page(s, r.header("Location"))
        assert r.status == 200 and title(r) == "Thank you", r
        assert 'href="/s/%s/thanks?lang=sv"' % sid in html(r) and "?c=" not in html(r), r
        assert_page_headers(r)
        rows = query(s, "SELECT unit, answers FROM survey_responses", name="surveys")
        assert len(rows) == 1 and rows[0][0] == 1, rows  # A1, the second unit
        # The same code again: used.
        r = post(s, sid, dict(all_answers(), c=code, lang="de"))
        assert r.status == 403 and "bereits verwendet" in title(r), r
        r = page(s, "/s/%s?c=%s" % (sid, code))
        assert r.status == 403, r

        # A code for a team without sub-teams: no unit to choose.
        r = page(s, "/s/%s?c=%s" % (sid, code_a1))
        assert r.status == 200 and 'name="unit"' not in html(r), r
        assert html(r).count("<fieldset") == len(sl.QUESTIONS)

        # The form's limits, each at its value and one past it.
        fields = dict(all_answers(), c=code2, lang="de")
        base = urllib.parse.urlencode(fields)
        r = post(s, sid, None, raw=(base + "&" * (FORM_MAX_BYTES + 1 - len(base))).encode())
        assert r.status == 413 and title(r) == "Ungültige Anfrage", r
        extra = FORM_MAX_FIELDS - len(fields)
        r = post(s, sid, None, raw=(base + "".join("&x%d=1" % i for i in range(extra + 1)))
                 .encode())
        assert r.status == 413, r
        r = post(s, sid, None, raw=(base + "&" + "n" * (FORM_MAX_NAME_BYTES + 1) + "=1").encode())
        assert r.status == 413, r
        r = post(s, sid, None, raw=(base + "&v=" + "v" * (FORM_MAX_VALUE_BYTES + 1)).encode())
        assert r.status == 413, r
        r = post(s, sid, None, raw=(base + "&v=%zz").encode())
        assert r.status == 400, r
        r = post(s, sid, None, content_type="application/json", raw=b"{}")
        assert r.status == 415, r
        r = s.request("PUT", "/s/%s" % sid, token=None)
        assert r.status == 405 and r.header("Allow") == "GET, HEAD, POST", r
        # At every limit at once the submit goes through.
        raw = (base + "".join("&x%d=1" % i for i in range(extra - 1)) +
               "&" + "n" * FORM_MAX_NAME_BYTES + "=" + "v" * FORM_MAX_VALUE_BYTES)
        raw += "&" * (FORM_MAX_BYTES - len(raw))
        assert len(raw) == FORM_MAX_BYTES
        r = post(s, sid, None, raw=raw.encode())
        assert r.status == 303, r

        # Closed: the remaining codes have expired.
        assert s.post("/v1/surveys/%s/close" % sid).status == 200
        r = page(s, "/s/%s?c=%s&lang=en" % (sid, code_a1))
        assert r.status == 409 and title(r) == "Survey closed", r
        assert "expired" in html(r)

        # The routes count in /metrics; no code reaches a log.
        m = s.get("/metrics", token=None).body.decode()
        for route in ("page_participate", "page_participate_submit", "page_participate_thanks"):
            assert 'route="%s"' % route in m, route
        logs = s.logs()
        for c in (code, code2, code_a1):
            assert c not in logs and c.replace("-", "") not in logs, c
        assert "/s/{survey_id}" in logs


DEF_MAX_QUESTIONS = 200  # services/surveys/definition.h = PARTICIPATE_MAX_QUESTIONS
DEF_MAX_UNITS = 500      # services/surveys/definition.h = PARTICIPATE_MAX_UNITS
DEF_MAX_UNIT_DEPTH = 8   # services/surveys/definition.h = PARTICIPATE_MAX_UNIT_DEPTH
DEF_SCALE_MAX = 100      # services/surveys/definition.h: 101 points = PARTICIPATE_MAX_SCALE
PAGE_QUESTIONS = 10      # services/gateway/participate.h: PARTICIPATE_PAGE_QUESTIONS


def one_dimension_body(org, n, first_max=4):
    """A survey in English of n questions k0..k<n-1>, all measuring
    workload, on a scale of 0-4 (the first one 0-first_max)."""
    body = sl.survey_body(org["id"], languages=("en",), units=[])
    body["dimensions"] = [d for d in body["dimensions"] if d["key"] == "workload"]
    body["questions"] = [
        {"key": "k%d" % i, "dimension": "workload", "text": {"en": "Question %d" % i},
         "scale": {"min": 0, "max": first_max if i == 0 else 4}} for i in range(n)]
    return body


def open_with_code(s, body):
    """Creates the survey, issues one code and opens it: (survey id, code)."""
    r = s.post("/v1/surveys", body)
    assert r.status == 201, r
    sid = r.json()["id"]
    code = issue(s, sid, 1)[0]
    assert s.post("/v1/surveys/%s/open" % sid).status == 200
    return sid, code


def test_at_the_service_limits():
    """The largest questionnaire the service takes is shown page by page and
    can be submitted: as many questions and units as it allows, a scale of
    0-100, every answer carried back to the last page."""
    with Stack(services=SERVICES) as s:
        org = s.org()
        body = one_dimension_body(org, DEF_MAX_QUESTIONS, first_max=DEF_SCALE_MAX)
        # Flat units, and a chain as deep as the service allows (labelled
        # with every ancestor).
        body["units"] = [{"key": "u%d" % i, "name": "Unit %d" % i}
                         for i in range(DEF_MAX_UNITS - DEF_MAX_UNIT_DEPTH)]
        body["units"] += [dict({"key": "c%d" % i, "name": "C%d" % i},
                               **({"parent": "c%d" % (i - 1)} if i else {}))
                          for i in range(DEF_MAX_UNIT_DEPTH)]
        sid, code = open_with_code(s, body)
        r = page(s, "/s/%s?c=%s" % (sid, code))
        assert r.status == 200, r
        text = html(r)
        pages = DEF_MAX_QUESTIONS // PAGE_QUESTIONS
        assert "Page 1 of %d" % pages in title(r)
        assert text.count("<fieldset") == PAGE_QUESTIONS + 1
        assert text.count('type="radio" id="q1-') == DEF_SCALE_MAX + 1
        assert text.count('name="unit"') == DEF_MAX_UNITS + 1
        assert ">%s</label>" % " › ".join("C%d" % i for i in range(DEF_MAX_UNIT_DEPTH)) in text
        fields = {"q.k%d" % i: 2 for i in range(DEF_MAX_QUESTIONS)}
        fields.update(c=code, lang="en", unit="c%d" % (DEF_MAX_UNIT_DEPTH - 1))
        fields["q.k0"] = DEF_SCALE_MAX
        # The last page's form: every other answer as a hidden field.
        r = post(s, sid, dict(fields, page=pages - 1, nav="next"))
        assert r.status == 200 and "Page %d of %d" % (pages, pages) in title(r), r
        last = html(r)
        assert last.count('type="hidden" name="q.') == DEF_MAX_QUESTIONS - PAGE_QUESTIONS
        assert '<input type="hidden" name="q.k0" value="%d">' % DEF_SCALE_MAX in last
        r = post(s, sid, dict(fields, page=pages, nav="submit"))
        assert r.status == 303, r


def paged_survey(s, org):
    """sl.paged_survey_body: pages of 8, 10 and 4 questions; every answer 5
    scores 100."""
    body = sl.paged_survey_body(org["id"])
    r = s.post("/v1/surveys", body)
    assert r.status == 201, r
    return r.json()["id"], [q["key"] for q in body["questions"]]


def shown(r):
    """The question keys of the page's radios, in order."""
    return list(dict.fromkeys(re.findall(r'type="radio" id="q\d+-\d+" name="q\.([^"]+)"',
                                         html(r))))


def hidden(r):
    return dict(re.findall(r'<input type="hidden" name="q\.([^"]+)" value="(\d+)">', html(r)))


def checked(r):
    return dict(re.findall(r'name="q\.([^"]+)" value="(\d+)" checked', html(r)))


def test_paged_questionnaire():
    """A questionnaire longer than a page: one dimension's block kept
    together where it fits, progress in the title and the heading, answers
    carried between pages in the form only, Back and a language switch that
    keep them, each page checked before the next, the whole checked again
    at the last, and one response stored."""
    with Stack(services=SERVICES) as s:
        org = s.org()
        sid, keys = paged_survey(s, org)
        codes = issue(s, sid, 5)
        assert s.post("/v1/surveys/%s/open" % sid).status == 200
        code = codes[0]
        base = {"c": code, "lang": "de"}

        r = page(s, "/s/%s?c=%s" % (sid, code))
        assert r.status == 200, r
        assert_page_headers(r)
        assert title(r) == "Fragebogen – Seite 1 von 3 – Beschäftigtenbefragung 2025", title(r)
        assert re.search(r'<h1>[^<]*<span class="progress">Seite 1 von 3</span></h1>', html(r))
        assert shown(r) == keys[:8]
        assert 'name="unit"' in html(r) and 'class="langs"' in html(r)
        assert 'value="next">Weiter</button>' in html(r) and 'value="back"' not in html(r)
        assert '<input type="hidden" name="page" value="1">' in html(r)

        # Page 1 with one answer missing: 422, only that question in the summary.
        first = {"q." + k: 5 for k in keys[:8]}
        r = post(s, sid, dict(base, page=1, nav="next", unit="A",
                              **{k: v for k, v in first.items() if k != "q.support1"}))
        assert r.status == 422 and title(r).startswith("Fehler: Fragebogen – Seite 1 von 3"), r
        assert html(r).count('<li><a href="#q') == 1 and 'href="#q6-1"' in html(r)
        assert shown(r) == keys[:8]

        # Complete: page 2, the first page's answers and unit carried hidden.
        r = post(s, sid, dict(base, page=1, nav="next", unit="A", **first))
        assert r.status == 200 and "Seite 2 von 3" in title(r), r
        assert shown(r) == keys[8:18]
        assert hidden(r) == {k: "5" for k in keys[:8]}
        assert '<input type="hidden" name="unit" value="A">' in html(r)
        assert 'class="langs"' not in html(r)  # a link would lose the answers
        assert 'name="switch" value="en" lang="en">English</button>' in html(r)
        assert 'name="switch" value="de" lang="de" aria-current="true">Deutsch</button>' in html(r)
        assert html(r).index('value="next"') < html(r).index('value="back"')

        # Half of page 2, then English: the same page, nothing lost, no errors.
        half = {"q." + k: 4 for k in keys[8:13]}
        carried = dict(base, page=2, unit="A", **first, **half)
        r = post(s, sid, dict(carried, switch="en"))
        assert r.status == 200 and title(r).startswith("Questionnaire – Page 2 of 3"), r
        assert 'lang="en"' in html(r) and "error-summary" not in html(r)
        assert checked(r) == {k: "4" for k in keys[8:13]}
        assert hidden(r) == {k: "5" for k in keys[:8]}
        # Back: page 1 with its answers checked, page 2's half kept hidden.
        r = post(s, sid, dict(carried, lang="en", nav="back"))
        assert r.status == 200 and "Page 1 of 3" in title(r), r
        assert checked(r) == {k: "5" for k in keys[:8]}
        assert hidden(r) == {k: "4" for k in keys[8:13]}
        # Page 1 again, its later pages' answers in the form: buttons, not links.
        assert 'class="langs"' not in html(r) and 'name="switch" value="de"' in html(r)
        assert 'value="A" checked' in html(r)

        # Page 2 complete, page 3 is the last: its button submits.
        second = {"q." + k: 5 for k in keys[8:18]}
        r = post(s, sid, dict(base, lang="en", page=2, nav="next", unit="A", **first, **second))
        assert r.status == 200 and "Page 3 of 3" in title(r), r
        assert shown(r) == keys[18:]
        assert 'value="submit">Submit answers</button>' in html(r)
        third = {"q." + k: 5 for k in keys[18:]}
        # A hidden answer lost on the way (or changed off the scale): the
        # page it belongs to comes back with its error, nothing is stored.
        everything = dict(base, lang="en", unit="A", **first, **second, **third)
        broken = dict(everything, page=3, nav="submit")
        broken["q.workload2"] = "9"
        r = post(s, sid, broken)
        assert r.status == 422 and "Page 1 of 3" in title(r), r
        assert 'href="#q3-1"' in html(r)
        # Tampered page numbers are kept within the questionnaire.
        r = post(s, sid, dict(everything, page=99, nav="back"))
        assert r.status == 200 and "Page 2 of 3" in title(r), r
        r = post(s, sid, dict(everything, page=3, nav="submit"))
        assert r.status == 303, r
        assert page(s, "/s/%s?c=%s" % (sid, code)).status == 403  # the code is used

        # Four more the same way over the API: every dimension scores 100
        # with n = 5, so every answer of the paged one arrived as given.
        for c in codes[1:]:
            r = s.post("/v1/public/surveys/%s/responses" % sid,
                       {"code": c, "language": "de", "unit": "A",
                        "answers": {k: 5 for k in keys}}, token=None)
            assert r.status == 201, r
        assert s.post("/v1/surveys/%s/close" % sid).status == 200
        res = s.get("/v1/surveys/%s/results?by=unit" % sid).json()
        total = res["total"]
        assert total["n"] == 5, total
        assert {d["dimension"]: (d["n"], d["mean"]) for d in total["dimensions"]} == {
            d: (5, 100.0) for d in ("workload", "support", "leadership", "extra")}, total


def test_page_size_limit():
    """PARTICIPATE_PAGE_QUESTIONS questions are one page; one more makes two
    (the one dimension split), the second holding the question left."""
    with Stack(services=SERVICES) as s:
        org = s.org()
        for n, pages in ((PAGE_QUESTIONS, 1), (PAGE_QUESTIONS + 1, 2)):
            sid, code = open_with_code(s, one_dimension_body(org, n))
            r = page(s, "/s/%s?c=%s" % (sid, code))
            assert r.status == 200, r
            assert len(shown(r)) == PAGE_QUESTIONS, shown(r)
            if pages == 1:
                assert "Page " not in title(r) and 'value="submit"' in html(r), title(r)
                continue
            assert "Page 1 of 2" in title(r), title(r)
            answers = {"q.k%d" % i: 3 for i in range(PAGE_QUESTIONS)}
            r = post(s, sid, dict(answers, c=code, lang="en", page=1, nav="next"))
            assert r.status == 200 and "Page 2 of 2" in title(r), r
            assert shown(r) == ["k%d" % PAGE_QUESTIONS], shown(r)


def test_rate_limit():
    with Stack(services=SERVICES, env={"WH_PUBLIC_BURST": "3", "WH_PUBLIC_RATE_PER_S": "1"}) as s:
        seen = [page(s, "/s/%s" % ("0" * 26), headers={"Accept-Language": "en"})
                for _ in range(5)]
        assert [r.status for r in seen[:3]] == [404] * 3, seen
        r = seen[-1]
        assert r.status == 429 and title(r) == "Too many requests", r
        assert int(r.header("Retry-After")) >= 1, r
        assert_page_headers(r)


if __name__ == "__main__":
    run([test_participation_page, test_paged_questionnaire, test_page_size_limit,
         test_at_the_service_limits, test_rate_limit])
