#include "calendar.h"

#include <stdio.h>
#include <string.h>

#include "agreement.h"
#include "ical.h"
#include "id.h"

/* The signed agreements in scope, those ending last first; with a cursor
 * (?4 ends_on, ?5 id of the last agreement of the previous page), those
 * after it in that order. */
static const char SQL_CAL[] =
    "SELECT " AGR_COLUMNS " FROM agreements WHERE state = 'signed'"
    " AND (?1 IS NULL OR employer_id = ?1) AND (?2 IS NULL OR insurer_id = ?2)"
    " AND (?3 IS NULL OR employer_id IN (SELECT value FROM json_each(?3))"
    "      OR insurer_id IN (SELECT value FROM json_each(?3)))"
    " AND (?4 IS NULL OR ends_on < ?4 OR (ends_on = ?4 AND id > ?5))"
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

/* The calendar's first and last lines. No METHOD: for a calendar without
 * one, RFC 5545 (3.8.7.2) makes DTSTAMP the time the event was last
 * revised, which is what is given here, so that reading the feed again
 * yields the same bytes. */
static void calendar_head(wh_buf_t *out)
{
    ical_prop(out, "BEGIN", "VCALENDAR");
    ical_prop(out, "VERSION", "2.0");
    ical_prop(out, "PRODID", "-//workhealth//agreements//EN");
    ical_prop(out, "CALSCALE", "GREGORIAN");
    ical_prop(out, "X-WR-CALNAME", "Agreement deadlines");
}

static const char CAL_TAIL[] = "END:VCALENDAR\r\n";

/* Appends the events of the agreements in scope after the cursor (ends_on
 * and id; none when id is NULL), whole agreements only, while out stays
 * within budget bytes. Returns true when an agreement was left out, with
 * last_end and last_id naming the last one written (last_id empty when
 * none was). */
static bool page_events(wh_ctx_t *c, int32_t after_end, const char *after_id, size_t budget,
                        wh_buf_t *out, int32_t *last_end, char last_id[WH_ID_LEN + 1])
{
    wh_str_t employer = wh_request_param(c->req, "employer_id");
    wh_str_t insurer = wh_request_param(c->req, "insurer_id");
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_CAL);
    wh_stmt_bind_str(st, 1, employer);
    wh_stmt_bind_str(st, 2, insurer);
    wh_request_bind_scope(st, 3, c->req);
    if (after_id) {
        sqlite3_bind_int(st, 4, after_end);
        wh_stmt_bind_text(st, 5, after_id);
    }
    last_id[0] = '\0';
    bool more = false;
    agr_t a;
    agr_init(&a);
    wh_buf_t one;
    wh_buf_init(&one);
    while (sqlite3_step(st) == SQLITE_ROW) {
        agr_from_row(st, &a);
        wh_buf_reset(&one);
        agreement_events(&one, &a);
        if (out->len + one.len > budget) {
            more = true;
            break;
        }
        wh_buf_append(out, one.data, one.len);
        *last_end = a.ends_on;
        memcpy(last_id, a.id, sizeof a.id);
    }
    wh_buf_close(&one);
    agr_close(&a);
    return more;
}

void cal_feed(wh_ctx_t *c)
{
    wh_buf_t out;
    wh_buf_init(&out);
    calendar_head(&out);
    int32_t end;
    char id[WH_ID_LEN + 1];
    page_events(c, 0, NULL, CAL_MAX_BYTES - (sizeof CAL_TAIL - 1), &out, &end, id);
    wh_buf_puts(&out, CAL_TAIL);
    if (wh_buf_failed(&out))
        wh_reply_problem(c->rep, 503, "unavailable", "out of memory");
    else
        wh_reply_raw(c->rep, 200, "text/calendar; charset=utf-8", out.data, out.len);
    wh_buf_close(&out);
}

/* "<ends_on as days>.<id>" */
static bool parse_cursor(wh_str_t s, int32_t *end, char id[WH_ID_LEN + 1])
{
    const char *dot = s.p ? memchr(s.p, '.', s.n) : NULL;
    if (!dot || dot == s.p || (size_t)(dot - s.p) > 7)
        return false;
    int32_t v = 0;
    bool neg = *s.p == '-';
    for (const char *p = s.p + neg; p < dot; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    size_t n = s.n - (size_t)(dot + 1 - s.p);
    if (dot == s.p + neg || !wh_id_valid(dot + 1, n))
        return false;
    *end = neg ? -v : v;
    memcpy(id, dot + 1, n);
    id[n] = '\0';
    return true;
}

static void pack_bin(msgpack_packer *pk, const char *key, const char *data, size_t n)
{
    wh_msg_pack_str(pk, key);
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, data, n);
}

void cal_page(wh_ctx_t *c)
{
    wh_str_t cursor = wh_request_param(c->req, "cursor");
    wh_str_t max = wh_request_param(c->req, "max_bytes");
    int32_t after_end = 0;
    char after_id[WH_ID_LEN + 1];
    if (cursor.p && !parse_cursor(cursor, &after_end, after_id)) {
        wh_reply_problem(c->rep, 400, "invalid-cursor", "the cursor is not one this feed gave");
        return;
    }
    size_t budget = WH_CALENDAR_PAGE_MAX_BYTES;
    if (max.p) {
        size_t v = 0;
        for (size_t i = 0; i < max.n && i < 10; i++)
            v = max.p[i] >= '0' && max.p[i] <= '9' ? v * 10 + (size_t)(max.p[i] - '0') : 0;
        if (v < budget)
            budget = v;
    }
    wh_buf_t events, head;
    wh_buf_init(&events);
    wh_buf_init(&head);
    calendar_head(&head);
    int32_t last_end = 0;
    char last_id[WH_ID_LEN + 1];
    bool more =
        page_events(c, after_end, cursor.p ? after_id : NULL, budget, &events, &last_end, last_id);
    if (wh_buf_failed(&events) || wh_buf_failed(&head)) {
        wh_reply_problem(c->rep, 503, "unavailable", "out of memory");
    } else {
        msgpack_packer *pk = wh_reply_ok(c->rep, 200);
        msgpack_pack_map(pk, 4);
        pack_bin(pk, "head", head.data, head.len);
        pack_bin(pk, "events", events.data ? events.data : "", events.len);
        pack_bin(pk, "tail", CAL_TAIL, sizeof CAL_TAIL - 1);
        wh_msg_pack_str(pk, "next_cursor");
        if (!more) {
            msgpack_pack_nil(pk);
        } else if (last_id[0]) {
            char next[32 + WH_ID_LEN];
            snprintf(next, sizeof next, "%ld.%s", (long)last_end, last_id);
            wh_msg_pack_str(pk, next);
        } else {
            /* Not even one agreement fitted: the cursor stays where it was. */
            wh_msg_pack_wstr(pk, cursor.p ? cursor : (wh_str_t){"", 0});
        }
    }
    wh_buf_close(&events);
    wh_buf_close(&head);
}
