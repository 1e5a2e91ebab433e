#include "engine.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "hset.h"
#include "http_client.h"
#include "id.h"
#include "log.h"
#include "mail.h"
#include "netguard.h"
#include "schedule.h"
#include "subscriptions.h"
#include "templates.h"
#include "webhook.h"

/* Due pending deliveries in time order; ?2 says whether e-mail is sent at
 * all; ?3 lists the hosts whose queue is full, ?5 the organisations whose
 * mail is over the hour's limit (JSON arrays; "" stands for no
 * organisation). Claimed rows come back too and are skipped in memory,
 * hence the limit ?4 counts them. */
static const char SQL_DUE[] =
    "SELECT seq, host, channel = 'email', coalesce(org_id, '') FROM deliveries"
    " WHERE status = 'pending' AND next_ms <= ?1 AND (?2 OR channel = 'webhook')"
    "   AND host NOT IN (SELECT value FROM json_each(?3))"
    "   AND (channel = 'webhook' OR coalesce(org_id, '') NOT IN (SELECT value FROM json_each(?5)))"
    " ORDER BY next_ms LIMIT ?4";
static const char SQL_NEXT_DUE[] =
    "SELECT min(next_ms) FROM deliveries"
    " WHERE status = 'pending' AND next_ms > ?1 AND (?2 OR channel = 'webhook')";
static const char SQL_LOAD[] =
    "SELECT d.id, d.channel, d.target, d.language, d.round, e.type, e.org_id, e.occurred_at,"
    " e.data, s.secret, d.subscription_id, e.request_id, e.id"
    " FROM deliveries d JOIN events e ON e.id = d.event_id"
    " LEFT JOIN subscriptions s ON s.id = d.subscription_id"
    " WHERE d.seq = ?1 AND d.status = 'pending'";
static const char SQL_ATTEMPT_INSERT[] =
    "INSERT INTO delivery_attempts(delivery_seq, n, at, outcome, http_status, smtp_status)"
    " SELECT seq, attempts + 1, ?2, ?3, ?4, ?5 FROM deliveries WHERE seq = ?1";
/* A delivery cancelled meanwhile (its subscription deleted) keeps its
 * status; the attempt is recorded all the same. */
static const char SQL_OUTCOME_UPDATE[] =
    "UPDATE deliveries SET attempts = attempts + 1, updated_at = ?2,"
    " status = CASE WHEN status = 'pending' THEN ?3 ELSE status END,"
    " round = ?4, next_ms = ?5 WHERE seq = ?1";
static const char SQL_PENDING_MAIL[] =
    "SELECT count(*) FROM deliveries WHERE status = 'pending' AND channel = 'email'";

struct host {
    char key[SUB_MAX_HOST];
    int in_flight;
    int queued;
    struct job *head, *tail;
    struct host *next;
};

struct job {
    engine_t *e;
    struct host *h;
    struct job *next;
    int64_t seq;
    char id[WH_ID_LEN + 1];
    bool email;
    int round; /* attempts so far in this schedule */
    char *target;
    char *secret;
    wh_buf_t payload;           /* the webhook body or the whole e-mail */
    mail_upload_t upload;       /* e-mail bytes handed to curl */
    webhook_transfer_t webhook; /* a webhook's transfer state */
    int64_t started_ms;
    uint64_t started_ns; /* for the attempt's duration in the log */
    /* For the log line of each attempt: the subscription (empty for a
     * contact's mail), the event and the request that emitted it. */
    char subscription[WH_ID_LEN + 1];
    char event[WH_ID_LEN + 1];
    char request_id[WH_LOG_MAX_REQUEST_ID + 1];
    char event_type[64];
    CURL *easy;
    struct curl_slist *headers;
};

/* One organisation's mail in its current hour. */
struct mail_org {
    char org[WH_ID_LEN + 1]; /* "" for events of no organisation */
    int64_t window_start;    /* 0: a free slot */
    int started;
    bool told; /* the deferral is logged once an hour */
};

struct outcome {
    int64_t seq;
    int64_t at_ms;
    const char *outcome; /* a string constant */
    long http_status;    /* 0: none */
    long smtp_status;
    const char *status; /* pending | delivered | failed */
    int round;
    int64_t next_ms;
};

/* The set of claimed seqs: deliveries in memory or with an outcome not yet
 * written. Allocated whole at the start: it holds 3/4 of its slots, more
 * than ENGINE_MAX_JOBS + OUTCOME_SLOTS, so a claim never fails. */
#define CLAIM_SLOTS 16384 /* > 2 * (ENGINE_MAX_JOBS + ENGINE_MAX_OUTCOMES) */
/* Outcomes can pass ENGINE_MAX_OUTCOMES (which stops new work) by what is
 * in flight then. */
#define OUTCOME_SLOTS (ENGINE_MAX_OUTCOMES + ENGINE_MAX_INFLIGHT)
_Static_assert(CLAIM_SLOTS / 4 * 3 > ENGINE_MAX_JOBS + OUTCOME_SLOTS, "claims can fill up");

struct engine {
    wh_service_t *svc;
    wh_store_t *store;
    uv_loop_t *loop;
    wh_http_client_t *http;
    uv_idle_t pump;
    uv_timer_t wake;
    uv_timer_t flush_timer;
    int open_handles;
    bool stopping;
    struct host *hosts;
    int n_jobs;
    int in_flight;
    struct outcome *outcomes;
    int n_outcomes;
    wh_hset_t claims; /* of int64_t seqs */
    /* configuration */
    double scale;
    char base_url[512];
    char mail_from[320];
    mail_smtp_t smtp_server;
    bool smtp;
    int mail_per_org_hour;
    struct mail_org mail_orgs[ENGINE_MAIL_ORGS];
    int64_t mail_orgs_full_logged_ms;
};

/* --- claims ------------------------------------------------------------ */

static bool claimed(const engine_t *e, int64_t seq)
{
    return wh_hset_get(&e->claims, &seq) != NULL;
}

static void claim(engine_t *e, int64_t seq)
{
    wh_hset_how_t how;
    int err;
    if (!wh_hset_put(&e->claims, &seq, &how, &err))
        wh_log_error("delivery claims: %s", wh_strerror(err));
}

static void unclaim(engine_t *e, int64_t seq)
{
    wh_hset_del(&e->claims, &seq);
}

/* --- mail per organisation ------------------------------------------------- */

/* The organisation's hour, begun now if the last one is over; NULL when
 * every slot holds an organisation at its limit in a running hour (only
 * more than ENGINE_MAIL_ORGS organisations mailing within one hour get
 * there): the new one's mail then waits until a slot is free, so that no
 * organisation over its limit is ever forgotten. Otherwise a slot under its
 * limit is reused, the oldest first (that organisation may then start up
 * to one more hour's limit). */
static struct mail_org *mail_org_get(engine_t *e, const char *org, int64_t now)
{
    struct mail_org *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < ENGINE_MAIL_ORGS; i++) {
        struct mail_org *m = &e->mail_orgs[i];
        if (m->window_start && now - m->window_start >= ENGINE_MAIL_WINDOW_MS)
            m->window_start = 0; /* the hour is over */
        if (m->window_start && strcmp(m->org, org) == 0)
            return m;
        if (!m->window_start && !free_slot)
            free_slot = m;
        if (m->window_start && m->started < e->mail_per_org_hour &&
            (!oldest || m->window_start < oldest->window_start))
            oldest = m;
    }
    struct mail_org *m = free_slot ? free_slot : oldest;
    if (!m) {
        if (now - e->mail_orgs_full_logged_ms >= 60 * 1000) {
            wh_log_warn("%d organisations reached their e-mail limit this hour; mail of "
                        "others waits for the next hour",
                        ENGINE_MAIL_ORGS);
            e->mail_orgs_full_logged_ms = now;
        }
        return NULL;
    }
    snprintf(m->org, sizeof m->org, "%s", org);
    m->window_start = now;
    m->started = 0;
    m->told = false;
    return m;
}

/* The organisations at their limit now, as a JSON array into out. */
static void mail_orgs_full(engine_t *e, int64_t now, wh_buf_t *out)
{
    wh_buf_putc(out, '[');
    bool first = true;
    for (int i = 0; i < ENGINE_MAIL_ORGS; i++) {
        struct mail_org *m = &e->mail_orgs[i];
        if (!m->window_start || now - m->window_start >= ENGINE_MAIL_WINDOW_MS ||
            m->started < e->mail_per_org_hour)
            continue;
        if (!first)
            wh_buf_putc(out, ',');
        first = false;
        wh_buf_json_str(out, m->org, strlen(m->org));
    }
    wh_buf_putc(out, ']');
}

/* Counts one mail for org; false (and the delivery stays pending) when the
 * organisation has reached its limit for the hour. */
static bool mail_org_take(engine_t *e, const char *org, int64_t now)
{
    struct mail_org *m = mail_org_get(e, org, now);
    if (!m)
        return false;
    if (m->started >= e->mail_per_org_hour) {
        if (!m->told)
            wh_log_warn("organisation %s reached %d e-mails this hour (WH_MAIL_PER_ORG_HOUR); "
                        "its further mail waits for the next hour",
                        org[0] ? org : "(none)", e->mail_per_org_hour);
        m->told = true;
        return false;
    }
    m->started++;
    return true;
}

/* A mail counted but not taken up after all. */
static void mail_org_give_back(engine_t *e, const char *org, int64_t now)
{
    struct mail_org *m = mail_org_get(e, org, now);
    if (m && m->started > 0)
        m->started--;
}

/* --- hosts and jobs ------------------------------------------------------ */

static struct host *host_get(engine_t *e, const char *key, bool create)
{
    for (struct host *h = e->hosts; h; h = h->next)
        if (strcmp(h->key, key) == 0)
            return h;
    if (!create)
        return NULL;
    struct host *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    size_t n = strnlen(key, sizeof h->key - 1);
    memcpy(h->key, key, n);
    h->key[n] = '\0';
    h->next = e->hosts;
    e->hosts = h;
    return h;
}

/* Hosts with nothing queued or in flight are forgotten. */
static void hosts_prune(engine_t *e)
{
    for (struct host **p = &e->hosts; *p;) {
        struct host *h = *p;
        if (h->in_flight == 0 && h->queued == 0) {
            *p = h->next;
            free(h);
        } else {
            p = &h->next;
        }
    }
}

static void job_free(struct job *j)
{
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
    free(j->target);
    if (j->secret) {
        memset(j->secret, 0, strlen(j->secret));
        free(j->secret);
    }
    wh_buf_close(&j->payload);
    free(j);
}

static void schedule_flush(engine_t *e);

/* An address as the log shows it: the first character of its local part
 * and of its domain, and the domain's last label ("j***@e***.org"), never
 * the whole address. */
static void mask_address(const char *addr, char *out, size_t cap)
{
    const char *at = strrchr(addr, '@');
    if (!at || at == addr || !at[1]) {
        snprintf(out, cap, "***");
        return;
    }
    const char *tld = strrchr(at + 1, '.');
    snprintf(out, cap, "%c***@%c***%s", addr[0], at[1], tld && tld[1] ? tld : "");
}

/* One line per attempt (or giving up before one), under the request that
 * emitted the event: which delivery, channel and subscription, the attempt
 * in its schedule, the outcome with the HTTP status or SMTP code, how long
 * it took and what happens next. The receiver is named by its host (a
 * webhook) or a masked address (e-mail): never a URL's path or query, a
 * secret, a whole address or anything of the message. */
static void log_attempt(const struct job *j, const struct outcome *o)
{
    int level = o->status[0] == 'f' ? WH_LOG_WARN : WH_LOG_INFO;
    if (!wh_log_enabled(level))
        return;
    char to[SUB_MAX_HOST + 16];
    if (j->email && j->target)
        mask_address(j->target, to, sizeof to);
    else
        snprintf(to, sizeof to, "%s", j->h ? j->h->key : "?");
    char next[64] = "";
    if (o->status[0] == 'p')
        snprintf(next, sizeof next, " next_in_ms=%lld",
                 (long long)(o->next_ms - wh_clock_now_ms()));
    double ms = j->started_ns ? (double)(uv_hrtime() - j->started_ns) / 1e6 : 0;
    wh_log(level, j->request_id[0] ? j->request_id : NULL,
           "delivery attempt: delivery=%s channel=%s subscription=%s event=%s type=%s to=%s "
           "attempt=%d outcome=%s %s=%ld duration_ms=%.0f status=%s%s",
           j->id, j->email ? "email" : "webhook", j->subscription[0] ? j->subscription : "-",
           j->event[0] ? j->event : "-", j->event_type[0] ? j->event_type : "-", to, o->round,
           o->outcome, j->email ? "smtp_code" : "http_status",
           j->email ? o->smtp_status : o->http_status, ms, o->status, next);
}

/* Records the outcome of an attempt (or of giving up before one). */
static void record(engine_t *e, struct job *j, verdict_t v, long http_status, long smtp_status)
{
    if (e->n_outcomes == OUTCOME_SLOTS) {
        /* The store has refused outcomes for a while: this one is dropped
         * and the delivery, still pending and due, is sent again later. */
        unclaim(e, j->seq);
        return;
    }
    struct outcome *o = &e->outcomes[e->n_outcomes++];
    memset(o, 0, sizeof *o);
    o->seq = j->seq;
    o->at_ms = j->started_ms ? j->started_ms : wh_clock_now_ms();
    o->outcome = v.outcome;
    o->http_status = http_status;
    o->smtp_status = smtp_status;
    o->round = j->round + 1;
    if (v.kind == VERDICT_DELIVERED) {
        o->status = "delivered";
    } else if (v.kind == VERDICT_FAIL || o->round >= SCHEDULE_MAX_ATTEMPTS) {
        o->status = "failed";
    } else {
        uint32_t r;
        wh_random_bytes(&r, sizeof r);
        int64_t delay = v.retry_after_s > 0
                            ? v.retry_after_s * 1000
                            : schedule_delay_ms(o->round, e->scale, (double)r / 4294967296.0);
        o->status = "pending";
        o->next_ms = wh_clock_now_ms() + delay;
    }
    log_attempt(j, o);
    schedule_flush(e);
}

/* --- sending --------------------------------------------------------------- */

static void dispatch(engine_t *e);

static void on_done(void *ud, CURL *easy, CURLcode rc)
{
    struct job *j = ud;
    engine_t *e = j->e;
    long code = 0;
    curl_off_t retry_after = -1;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after);
    j->h->in_flight--;
    e->in_flight--;
    e->n_jobs--;
    if (rc == CURLE_ABORTED_BY_CALLBACK && e->stopping) {
        /* Stopping: the delivery stays pending and due. */
        job_free(j);
        return;
    }
    verdict_t v = j->email ? schedule_judge_smtp(rc, code)
                           : schedule_judge_http(rc, code, (int64_t)retry_after);
    if (rc != CURLE_OK && v.kind != VERDICT_DELIVERED)
        wh_log(WH_LOG_DEBUG, j->request_id[0] ? j->request_id : NULL, "delivery %s: %s", j->id,
               curl_easy_strerror(rc));
    record(e, j, v, j->email ? 0 : code, j->email ? code : 0);
    job_free(j);
    if (!e->stopping)
        dispatch(e);
}

static int start_webhook(struct job *j)
{
    j->webhook =
        (webhook_transfer_t){.id = j->id, .request_id = j->request_id[0] ? j->request_id : NULL};
    if (!j->secret)
        return WH_EINVAL;
    return webhook_curl_setup(j->easy, &j->webhook, j->target, j->secret, j->started_ms / 1000,
                              &j->payload, &j->headers);
}

static int start_mail(engine_t *e, struct job *j)
{
    j->upload = (mail_upload_t){&j->payload, 0};
    return mail_curl_setup(j->easy, &e->smtp_server, j->target, &j->upload, &j->headers);
}

static void start(engine_t *e, struct job *j)
{
    j->started_ms = wh_clock_now_ms();
    j->started_ns = uv_hrtime();
    j->easy = curl_easy_init();
    int rc = j->easy ? 0 : WH_ENOMEM;
    if (rc == 0) {
        curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
        rc = j->email ? start_mail(e, j) : start_webhook(j);
    }
    if (rc == 0)
        rc = wh_http_client_add(e->http, j->easy, on_done, j);
    if (rc != 0) {
        e->n_jobs--;
        verdict_t v = {VERDICT_RETRY, "error", 0};
        if (rc == WH_EINVAL)
            v = (verdict_t){VERDICT_FAIL, "no_signing_secret", 0};
        record(e, j, v, 0, 0);
        job_free(j);
        return;
    }
    j->h->in_flight++;
    e->in_flight++;
}

/* Starts queued jobs while the limits allow, host by host in turn. */
static void dispatch(engine_t *e)
{
    bool progress = true;
    while (progress && e->in_flight < ENGINE_MAX_INFLIGHT && e->n_outcomes < ENGINE_MAX_OUTCOMES) {
        progress = false;
        for (struct host *h = e->hosts;
             h && e->in_flight < ENGINE_MAX_INFLIGHT && e->n_outcomes < ENGINE_MAX_OUTCOMES;
             h = h->next) {
            if (!h->head || h->in_flight >= ENGINE_MAX_PER_HOST)
                continue;
            struct job *j = h->head;
            h->head = j->next;
            if (!h->head)
                h->tail = NULL;
            h->queued--;
            start(e, j);
            progress = true;
        }
    }
}

/* --- reading due deliveries ---------------------------------------------------- */

/* Builds the job of one claimed delivery from the store; NULL when it is
 * no longer pending. A delivery that cannot be built is recorded as failed. */
static struct job *load(engine_t *e, int64_t seq, struct host *h)
{
    sqlite3_stmt *st = wh_store_stmt(e->store, SQL_LOAD);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, seq);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return NULL;
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        sqlite3_reset(st);
        return NULL;
    }
    j->e = e;
    j->h = h;
    j->seq = seq;
    wh_stmt_col_copy(st, 0, j->id, sizeof j->id);
    j->email = strcmp((const char *)sqlite3_column_text(st, 1), "email") == 0;
    j->target = strdup((const char *)sqlite3_column_text(st, 2));
    const char *lang = (const char *)sqlite3_column_text(st, 3);
    j->round = sqlite3_column_int(st, 4);
    const char *type = (const char *)sqlite3_column_text(st, 5);
    const char *org = (const char *)sqlite3_column_text(st, 6);
    const char *occurred = (const char *)sqlite3_column_text(st, 7);
    const char *secret = (const char *)sqlite3_column_text(st, 9);
    j->secret = secret ? strdup(secret) : NULL;
    wh_stmt_col_copy(st, 10, j->subscription, sizeof j->subscription);
    wh_stmt_col_copy(st, 11, j->request_id, sizeof j->request_id);
    wh_stmt_col_copy(st, 12, j->event, sizeof j->event);
    snprintf(j->event_type, sizeof j->event_type, "%s", type ? type : "");
    wh_buf_init(&j->payload);
    wh_msg_t m;
    int rc = wh_msg_decode(sqlite3_column_blob(st, 8), (size_t)sqlite3_column_bytes(st, 8), &m);
    const char *why = "render_failed";
    if (rc == 0 && !j->email) {
        rc = webhook_body(&j->payload, type, occurred, m.root);
    } else if (rc == 0) {
        wh_buf_t subject, body;
        wh_buf_init(&subject);
        wh_buf_init(&body);
        rc = template_render(type, lang, org, m.root, e->base_url, &subject, &body);
        if (rc == 0)
            rc = mail_compose(&j->payload, e->mail_from, j->target, subject.data, subject.len,
                              body.data, body.len, j->id, wh_clock_now_ms());
        wh_buf_close(&subject);
        wh_buf_close(&body);
    }
    if (m.root)
        wh_msg_close(&m);
    sqlite3_reset(st);
    if (rc == 0 && !j->target)
        rc = WH_ENOMEM;
    if (rc != 0) {
        /* (type's text went with the statement's reset: the copy.) */
        wh_log(WH_LOG_ERROR, j->request_id[0] ? j->request_id : NULL,
               "delivery %s (%s): cannot build the message: %s", j->id, j->event_type,
               wh_strerror(rc));
        claim(e, seq);
        record(e, j, (verdict_t){VERDICT_FAIL, why, 0}, 0, 0);
        job_free(j);
        return NULL;
    }
    return j;
}

static void on_wake(uv_timer_t *t);

static void arm_wake(engine_t *e, int64_t now)
{
    int64_t wait = ENGINE_TICK_MS;
    sqlite3_stmt *st = wh_store_stmt(e->store, SQL_NEXT_DUE);
    if (st) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int(st, 2, e->smtp);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            int64_t d = sqlite3_column_int64(st, 0) - now;
            if (d < wait)
                wait = d < 1 ? 1 : d;
        }
        sqlite3_reset(st);
    }
    uv_timer_start(&e->wake, on_wake, (uint64_t)wait, 0);
}

#define SCAN_MAX 4096 /* new deliveries taken per scan */

/* Reads due deliveries not yet claimed into the hosts' queues. */
static void scan(engine_t *e)
{
    int64_t now = wh_clock_now_ms();
    int room = ENGINE_MAX_JOBS - e->n_jobs;
    if (room > SCAN_MAX)
        room = SCAN_MAX;
    /* A delivery that cannot be built is an outcome at once. */
    if (room > ENGINE_MAX_OUTCOMES - e->n_outcomes)
        room = ENGINE_MAX_OUTCOMES - e->n_outcomes;
    if (room > 0 && e->n_outcomes < ENGINE_MAX_OUTCOMES) {
        wh_buf_t full;
        wh_buf_init(&full);
        wh_buf_putc(&full, '[');
        for (struct host *h = e->hosts; h; h = h->next)
            if (h->queued >= ENGINE_MAX_QUEUED_PER_HOST) {
                if (full.len > 1)
                    wh_buf_putc(&full, ',');
                wh_buf_json_str(&full, h->key, strlen(h->key));
            }
        wh_buf_putc(&full, ']');
        wh_buf_t orgs_full;
        wh_buf_init(&orgs_full);
        mail_orgs_full(e, now, &orgs_full);
        static int64_t seqs[SCAN_MAX];
        static char keys[SCAN_MAX][SUB_MAX_HOST];
        static char mail_org[SCAN_MAX][WH_ID_LEN + 1]; /* "" too for webhooks */
        static bool is_mail[SCAN_MAX];
        int n = 0;
        sqlite3_stmt *st = wh_store_stmt(e->store, SQL_DUE);
        if (st && !wh_buf_failed(&full) && !wh_buf_failed(&orgs_full)) {
            sqlite3_bind_int64(st, 1, now);
            sqlite3_bind_int(st, 2, e->smtp);
            sqlite3_bind_text(st, 3, full.data, (int)full.len, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 4, (int64_t)wh_hset_count(&e->claims) + room);
            sqlite3_bind_text(st, 5, orgs_full.data, (int)orgs_full.len, SQLITE_TRANSIENT);
            while (n < room && sqlite3_step(st) == SQLITE_ROW) {
                int64_t seq = sqlite3_column_int64(st, 0);
                if (claimed(e, seq))
                    continue;
                /* The limit is counted here, when a mail is taken up; one
                 * over it stays pending, unclaimed, for a later hour. */
                const char *org = (const char *)sqlite3_column_text(st, 3);
                is_mail[n] = sqlite3_column_int(st, 2);
                if (is_mail[n] && !mail_org_take(e, org, now))
                    continue;
                snprintf(mail_org[n], sizeof mail_org[n], "%s", is_mail[n] ? org : "");
                seqs[n] = seq;
                wh_stmt_col_copy(st, 1, keys[n], sizeof keys[n]);
                n++;
            }
            sqlite3_reset(st);
        }
        wh_buf_close(&full);
        wh_buf_close(&orgs_full);
        for (int i = 0; i < n; i++) {
            struct host *h = host_get(e, keys[i], true);
            struct job *j =
                h && h->queued < ENGINE_MAX_QUEUED_PER_HOST ? load(e, seqs[i], h) : NULL;
            if (!j) {
                if (is_mail[i])
                    mail_org_give_back(e, mail_org[i], now);
                continue;
            }
            claim(e, j->seq);
            e->n_jobs++;
            h->queued++;
            if (h->tail)
                h->tail->next = j;
            else
                h->head = j;
            h->tail = j;
        }
    }
    dispatch(e);
    hosts_prune(e);
    arm_wake(e, now);
}

/* --- writing outcomes ---------------------------------------------------------- */

static void on_flush_timer(uv_timer_t *t);

static void flush(engine_t *e)
{
    if (e->n_outcomes == 0)
        return;
    if (wh_store_begin(e->store) != 0) {
        wh_log_error("cannot write %d delivery outcomes now; trying again", e->n_outcomes);
        uv_timer_start(&e->flush_timer, on_flush_timer, 10 * ENGINE_FLUSH_MS, 0);
        return;
    }
    bool ok = true;
    for (int i = 0; ok && i < e->n_outcomes; i++) {
        struct outcome *o = &e->outcomes[i];
        char at[WH_RFC3339_LEN], now[WH_RFC3339_LEN];
        wh_clock_format_rfc3339(o->at_ms, at);
        wh_clock_format_rfc3339(wh_clock_now_ms(), now);
        sqlite3_stmt *a = wh_store_stmt(e->store, SQL_ATTEMPT_INSERT);
        sqlite3_stmt *u = a ? wh_store_stmt(e->store, SQL_OUTCOME_UPDATE) : NULL;
        if (!u) {
            ok = false;
            break;
        }
        sqlite3_bind_int64(a, 1, o->seq);
        wh_stmt_bind_text(a, 2, at);
        wh_stmt_bind_text(a, 3, o->outcome);
        if (o->http_status)
            sqlite3_bind_int64(a, 4, o->http_status);
        if (o->smtp_status)
            sqlite3_bind_int64(a, 5, o->smtp_status);
        ok = sqlite3_step(a) == SQLITE_DONE;
        sqlite3_reset(a);
        sqlite3_bind_int64(u, 1, o->seq);
        wh_stmt_bind_text(u, 2, now);
        wh_stmt_bind_text(u, 3, o->status);
        sqlite3_bind_int(u, 4, o->round);
        sqlite3_bind_int64(u, 5, o->next_ms);
        ok = ok && sqlite3_step(u) == SQLITE_DONE;
        sqlite3_reset(u);
    }
    if (!ok || wh_store_commit(e->store) != 0) {
        wh_store_rollback(e->store);
        wh_log_error("cannot write %d delivery outcomes now; trying again", e->n_outcomes);
        uv_timer_start(&e->flush_timer, on_flush_timer, 10 * ENGINE_FLUSH_MS, 0);
        return;
    }
    for (int i = 0; i < e->n_outcomes; i++)
        unclaim(e, e->outcomes[i].seq);
    e->n_outcomes = 0;
}

/* --- the loop's callbacks -------------------------------------------------------- */

static void on_pump(uv_idle_t *h);

static void kick(engine_t *e)
{
    if (!e->stopping && !uv_is_active((uv_handle_t *)&e->pump))
        uv_idle_start(&e->pump, on_pump);
}

static void on_pump(uv_idle_t *h)
{
    engine_t *e = h->data;
    uv_idle_stop(h);
    if (e->n_outcomes >= ENGINE_FLUSH_BATCH)
        flush(e);
    scan(e);
}

static void on_wake(uv_timer_t *t)
{
    kick(t->data);
}

static void on_flush_timer(uv_timer_t *t)
{
    engine_t *e = t->data;
    flush(e);
    kick(e);
}

static void schedule_flush(engine_t *e)
{
    if (e->stopping)
        return;
    if (e->n_outcomes >= ENGINE_FLUSH_BATCH)
        kick(e);
    else if (!uv_is_active((uv_handle_t *)&e->flush_timer))
        uv_timer_start(&e->flush_timer, on_flush_timer, ENGINE_FLUSH_MS, 0);
}

static void on_commit(void *ud)
{
    kick(ud);
}

/* --- configuration, start and stop ----------------------------------------------- */

static int configure(engine_t *e, const wh_config_t *cfg)
{
    e->scale = cfg->retry_scale;
    if (e->scale != 1.0)
        wh_log_info("retry schedule scaled by %g (WH_RETRY_SCALE)", e->scale);
    if (!netguard_load(cfg->webhook_allow))
        return WH_EINVAL;
    e->mail_per_org_hour = ENGINE_MAIL_PER_ORG_HOUR;
    const char *limit = cfg->mail_per_org_hour;
    if (limit && *limit) {
        char *end;
        long v = strtol(limit, &end, 10);
        if (*end != '\0' || v < 1 || v > ENGINE_MAIL_PER_ORG_HOUR_MAX) {
            wh_log_error("WH_MAIL_PER_ORG_HOUR must be an integer from 1 to %d",
                         ENGINE_MAIL_PER_ORG_HOUR_MAX);
            return WH_EINVAL;
        }
        e->mail_per_org_hour = (int)v;
    }
    if (cfg->public_url)
        snprintf(e->base_url, sizeof e->base_url, "%s", cfg->public_url);
    else
        snprintf(e->base_url, sizeof e->base_url, "http://%s", cfg->http_addr);
    size_t n = strlen(e->base_url);
    while (n > 0 && e->base_url[n - 1] == '/')
        e->base_url[--n] = '\0';
    snprintf(e->mail_from, sizeof e->mail_from, "%s", cfg->mail_from);
    if (!mail_envelope_from(e->mail_from, e->smtp_server.envelope_from,
                            sizeof e->smtp_server.envelope_from)) {
        wh_log_error("WH_MAIL_FROM is not an address (addr or Name <addr>)");
        return WH_EINVAL;
    }
    if (cfg->smtp_url && *cfg->smtp_url) {
        int rc = mail_smtp_url(cfg->smtp_url, &e->smtp_server.url, &e->smtp_server.use_ssl);
        if (rc != 0) {
            wh_log_error("WH_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://..., "
                         "optionally with ?starttls=required|try|off");
            return rc;
        }
        e->smtp = true;
    } else {
        int64_t pending = 0;
        sqlite3_stmt *st = wh_store_stmt(e->store, SQL_PENDING_MAIL);
        if (st && sqlite3_step(st) == SQLITE_ROW)
            pending = sqlite3_column_int64(st, 0);
        if (st)
            sqlite3_reset(st);
        wh_log_warn("WH_SMTP_URL is not set: e-mail deliveries stay pending until it is "
                    "(%lld pending now)",
                    (long long)pending);
    }
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    engine_t *e = h->data;
    if (--e->open_handles == 0) {
        wh_hset_close(&e->claims);
        free(e->outcomes);
        free(e->smtp_server.url);
        free(e);
    }
}

int engine_start(wh_service_t *s, engine_t **out)
{
    engine_t *e = calloc(1, sizeof *e);
    if (!e)
        return WH_ENOMEM;
    e->svc = s;
    e->store = wh_service_store(s);
    e->loop = wh_service_loop(s);
    e->outcomes = calloc(OUTCOME_SLOTS, sizeof *e->outcomes);
    const wh_hset_opts_t claims = {.key_len = sizeof(int64_t),
                                   .entry_size = sizeof(int64_t),
                                   .slots = CLAIM_SLOTS,
                                   .max_slots = CLAIM_SLOTS};
    int rc = e->outcomes ? wh_hset_init(&e->claims, &claims) : WH_ENOMEM;
    if (rc == 0)
        rc = configure(e, wh_service_config(s));
    if (rc == 0)
        rc = wh_http_client_new(e->loop, &e->http);
    if (rc != 0) {
        wh_hset_close(&e->claims);
        free(e->outcomes);
        free(e->smtp_server.url);
        free(e);
        return rc;
    }
    uv_idle_init(e->loop, &e->pump);
    uv_timer_init(e->loop, &e->wake);
    uv_timer_init(e->loop, &e->flush_timer);
    e->pump.data = e->wake.data = e->flush_timer.data = e;
    e->open_handles = 3;
    wh_service_on_commit(s, on_commit, e);
    kick(e);
    *out = e;
    return 0;
}

void engine_stop(engine_t **e_p)
{
    engine_t *e = *e_p;
    if (!e)
        return;
    *e_p = NULL;
    e->stopping = true;
    wh_http_client_destroy(&e->http);
    for (struct host *h = e->hosts; h; h = h->next)
        while (h->head) {
            struct job *j = h->head;
            h->head = j->next;
            job_free(j);
        }
    flush(e);
    while (e->hosts) {
        struct host *h = e->hosts;
        e->hosts = h->next;
        free(h);
    }
    uv_close((uv_handle_t *)&e->pump, on_closed);
    uv_close((uv_handle_t *)&e->wake, on_closed);
    uv_close((uv_handle_t *)&e->flush_timer, on_closed);
}
