#include "calendar.h"

#include <stdio.h>
#include <string.h>

#include "agreement.h"
#include "ical.h"

static const char SQL_CAL[] =
    "SELECT " AGR_COLUMNS " FROM agreements WHERE state = 'signed'"
    " AND (?1 IS NULL OR employer_id = ?1) AND (?2 IS NULL OR insurer_id = ?2)"
    " AND (?3 IS NULL OR employer_id IN (SELECT value FROM json_each(?3))"
    "      OR insurer_id IN (SELECT value FROM json_each(?3)))"
    " ORDER BY ends_on DESC, id";

/* "20250101" */
static void ical_date(int32_t day, char out[9])
{
    char d[WH_DATE_LEN];
    wh_date_format(day, d);
    memcpy(out, d, 4);
    memcpy(out + 4, d + 5, 2);
    memcpy(out + 6, d + 8, 2);
    out[8] = '\0';
}

/* "2025-09-01T10:00:00.000Z" -> "20250901T100000Z" */
static void ical_stamp(const char *rfc3339, char out[17])
{
    static const int from[] = {0, 1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 14, 15, 17, 18};
    size_t n = strlen(rfc3339);
    for (int i = 0; i < 15; i++)
        out[i] = (size_t)from[i] < n ? rfc3339[from[i]] : '0';
    out[15] = 'Z';
    out[16] = '\0';
}

static void event(wh_buf_t *out, const agr_t *a, const char *role, int32_t day, const char *summary,
                  const char *description)
{
    char v[128], d[9], stamp[17];
    ical_prop(out, "BEGIN", "VEVENT");
    snprintf(v, sizeof v, "%s-%s@%s", a->id, role, CAL_UID_DOMAIN);
    ical_prop(out, "UID", v);
    ical_stamp(a->updated_at, stamp);
    ical_prop(out, "DTSTAMP", stamp);
    ical_prop(out, "LAST-MODIFIED", stamp);
    snprintf(v, sizeof v, "%lld", (long long)(a->version - 1));
    ical_prop(out, "SEQUENCE", v);
    /* All-day: DTEND is exclusive, the day after (RFC 5545, 3.6.1). */
    ical_date(day, d);
    ical_prop(out, "DTSTART;VALUE=DATE", d);
    ical_date(day + 1, d);
    ical_prop(out, "DTEND;VALUE=DATE", d);
    ical_prop_text(out, "SUMMARY", summary, strlen(summary));
    ical_prop_text(out, "DESCRIPTION", description, strlen(description));
    ical_prop(out, "TRANSP", "TRANSPARENT");
    ical_prop(out, "END", "VEVENT");
}

static void agreement_events(wh_buf_t *out, const agr_t *a)
{
    wh_buf_t s, d;
    wh_buf_init(&s);
    wh_buf_init(&d);
    char ends[WH_DATE_LEN], deadline[WH_DATE_LEN];
    int32_t nd = agr_notice_deadline(a->ends_on, a->notice_days);
    wh_date_format(a->ends_on, ends);
    wh_date_format(nd, deadline);
    wh_buf_printf(&s, "Notice deadline: %s", a->title);
    wh_buf_printf(&d,
                  "Last day to give notice on or to renew the cooperation agreement \"%s\","
                  " which ends on %s.\n%s",
                  a->title, ends,
                  a->auto_renew ? "It renews automatically for the same term unless notice is "
                                  "given."
                                : "It expires unless it is renewed.");
    event(out, a, "notice", nd, s.data ? s.data : "", d.data ? d.data : "");
    wh_buf_reset(&s);
    wh_buf_reset(&d);
    wh_buf_printf(&s, "Agreement ends: %s", a->title);
    wh_buf_printf(&d, "Last day of the cooperation agreement \"%s\" (notice deadline %s).",
                  a->title, deadline);
    event(out, a, "end", a->ends_on, s.data ? s.data : "", d.data ? d.data : "");
    wh_buf_close(&s);
    wh_buf_close(&d);
}

void cal_feed(wh_ctx_t *c)
{
    wh_str_t employer = wh_request_param(c->req, "employer_id");
    wh_str_t insurer = wh_request_param(c->req, "insurer_id");
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_CAL);
    wh_stmt_bind_str(st, 1, employer);
    wh_stmt_bind_str(st, 2, insurer);
    wh_request_bind_scope(st, 3, c->req);
    wh_buf_t out;
    wh_buf_init(&out);
    /* No METHOD: for a calendar without one, RFC 5545 (3.8.7.2) makes
     * DTSTAMP the time the event was last revised, which is what is given
     * here, so that reading the feed again yields the same bytes. */
    ical_prop(&out, "BEGIN", "VCALENDAR");
    ical_prop(&out, "VERSION", "2.0");
    ical_prop(&out, "PRODID", "-//workhealth//agreements//EN");
    ical_prop(&out, "CALSCALE", "GREGORIAN");
    ical_prop(&out, "X-WR-CALNAME", "Agreement deadlines");
    agr_t a;
    agr_init(&a);
    static const char end[] = "END:VCALENDAR\r\n";
    wh_buf_t one;
    wh_buf_init(&one);
    while (sqlite3_step(st) == SQLITE_ROW) {
        agr_from_row(st, &a);
        wh_buf_reset(&one);
        agreement_events(&one, &a);
        if (out.len + one.len + sizeof end > CAL_MAX_BYTES)
            break;
        wh_buf_append(&out, one.data, one.len);
    }
    wh_buf_close(&one);
    agr_close(&a);
    ical_prop(&out, "END", "VCALENDAR");
    if (wh_buf_failed(&out))
        wh_reply_problem(c->rep, 503, "unavailable", "out of memory");
    else
        wh_reply_raw(c->rep, 200, "text/calendar; charset=utf-8", out.data, out.len);
    wh_buf_close(&out);
}
