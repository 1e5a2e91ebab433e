#include "codes_mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "http_client.h"
#include "id.h"
#include "log.h"
#include "mail.h"
#include "schedule.h"

static const char *const fields[] = {"survey_id", "org_id", "title", "languages", "items", NULL};
static const char *const item_fields[] = {"to", "code", NULL};
static const char *const langs[] = {"de", "en", "sv", NULL};

/* Subject and text per language, in pieces around the title, the link and
 * the code. */
static const struct text {
    const char *subject, *invite, *or_code, *once;
} TEXTS[] = {
    {"Ihr Zugangscode: ",
     "Sie sind zur anonymen Befragung \"%T\" eingeladen. Ihr persönlicher Link:",
     "Oder öffnen Sie die Befragung und geben Sie diesen Code ein: ",
     "Der Code gilt für eine Teilnahme. Er wurde direkt an Sie geschickt und von niemandem "
     "sonst gesehen; Ihre Antworten lassen sich nicht mit dieser Adresse verbinden."},
    {"Your participation code: ",
     "You are invited to the anonymous survey \"%T\". Your personal link:",
     "Or open the survey and enter this code: ",
     "The code is valid for one participation. It was sent straight to you and seen by nobody "
     "else; your answers cannot be linked to this address."},
    {"Din deltagarkod: ", "Du är inbjuden till den anonyma enkäten \"%T\". Din personliga länk:",
     "Eller öppna enkäten och ange den här koden: ",
     "Koden gäller för ett deltagande. Den skickades direkt till dig och har inte setts av någon "
     "annan; dina svar kan inte kopplas till den här adressen."},
};

/* s with each "%T" replaced by the title. */
static void put_with_title(wh_buf_t *b, const char *s, const char *title)
{
    const char *t;
    while ((t = strstr(s, "%T"))) {
        wh_buf_append(b, s, (size_t)(t - s));
        wh_buf_puts(b, title);
        s = t + 2;
    }
    wh_buf_puts(b, s);
}

struct survey {
    int refs;
    char id[WH_ID_LEN + 1];
    char org_id[WH_ID_LEN + 1];
    char request_id[WH_LOG_MAX_REQUEST_ID + 1]; /* the request that issued the codes */
    char *title;
    int n_langs;
    int langs[3];
};

struct job {
    struct job *next;
    struct survey *sv;
    char to[MAIL_MAX_ADDRESS + 1];
    char code[CODES_MAIL_MAX_CODE + 1];
    int attempts;
    int64_t next_ms;
    uint64_t started_ns; /* of the attempt, for its log line */
    CURL *easy;
    struct curl_slist *rcpt;
    wh_buf_t payload;
    mail_upload_t upload;
};

static struct {
    wh_service_t *svc;
    wh_http_client_t *http;
    uv_timer_t timer;
    bool timer_open, stopping;
    char *smtp_url;
    long smtp_ssl;
    char mail_from[320];
    char envelope_from[MAIL_MAX_ADDRESS + 3];
    char base_url[512];
    double scale;
    struct job *ready, *ready_tail; /* due, in order */
    struct job *waiting;            /* to be tried again later */
    int64_t queued;                 /* jobs held, in flight included */
    int in_flight;
    int64_t sent, failed;
} M;

static void survey_unref(struct survey *sv)
{
    if (sv && --sv->refs == 0) {
        free(sv->title);
        free(sv);
    }
}

static void job_free(struct job *j)
{
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->rcpt);
    if (j->payload.data)
        explicit_bzero(j->payload.data, j->payload.cap);
    wh_buf_close(&j->payload);
    survey_unref(j->sv);
    explicit_bzero(j, sizeof *j);
    free(j);
    M.queued--;
}

void codes_mail_counts(int64_t *sent, int64_t *failed)
{
    *sent = M.sent;
    *failed = M.failed;
}

int codes_mail_start(wh_service_t *s)
{
    memset(&M, 0, sizeof M);
    M.svc = s;
    const wh_config_t *cfg = wh_service_config(s);
    M.scale = cfg->retry_scale;
    if (cfg->public_url)
        snprintf(M.base_url, sizeof M.base_url, "%s", cfg->public_url);
    else
        snprintf(M.base_url, sizeof M.base_url, "http://%s", cfg->http_addr);
    size_t n = strlen(M.base_url);
    while (n > 0 && M.base_url[n - 1] == '/')
        M.base_url[--n] = '\0';
    snprintf(M.mail_from, sizeof M.mail_from, "%s", cfg->mail_from);
    if (!mail_envelope_from(M.mail_from, M.envelope_from, sizeof M.envelope_from))
        return WH_EINVAL; /* the engine has said why */
    if (cfg->smtp_url && *cfg->smtp_url &&
        mail_smtp_url(cfg->smtp_url, &M.smtp_url, &M.smtp_ssl) != 0)
        return WH_EINVAL; /* the engine has said why */
    int rc = wh_http_client_new(wh_service_loop(s), &M.http);
    if (rc != 0)
        return rc;
    uv_timer_init(wh_service_loop(s), &M.timer);
    M.timer_open = true;
    return 0;
}

static void free_list(struct job *j)
{
    while (j) {
        struct job *next = j->next;
        job_free(j);
        j = next;
    }
}

void codes_mail_stop(void)
{
    if (!M.svc)
        return;
    M.stopping = true;
    wh_http_client_destroy(&M.http); /* in-flight jobs end in on_done */
    if (M.queued > 0)
        wh_log_warn("%lld participation code mails not sent at shutdown; they are dropped",
                    (long long)M.queued);
    free_list(M.ready);
    free_list(M.waiting);
    M.ready = M.ready_tail = M.waiting = NULL;
    if (M.timer_open)
        uv_close((uv_handle_t *)&M.timer, NULL);
    M.timer_open = false;
    free(M.smtp_url);
    M.smtp_url = NULL;
}

static void push_ready(struct job *j)
{
    j->next = NULL;
    if (M.ready_tail)
        M.ready_tail->next = j;
    else
        M.ready = j;
    M.ready_tail = j;
}

static void pump(void);

static void on_done(void *ud, CURL *easy, CURLcode rc)
{
    struct job *j = ud;
    M.in_flight--;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    if (M.stopping) {
        job_free(j);
        return;
    }
    verdict_t v = schedule_judge_smtp(rc, code);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
    curl_slist_free_all(j->rcpt);
    j->rcpt = NULL;
    bool failed = v.kind == VERDICT_FAIL ||
                  (v.kind != VERDICT_DELIVERED && j->attempts >= CODES_MAIL_MAX_ATTEMPTS);
    /* One line per attempt, under the request that issued the codes: the
     * survey and the outcome only, never the address (not even masked, as
     * the engine's lines have it: these addresses are forgotten) nor the
     * code. */
    wh_log(failed ? WH_LOG_WARN : WH_LOG_INFO, j->sv->request_id[0] ? j->sv->request_id : NULL,
           "code mail attempt: survey=%s attempt=%d outcome=%s smtp_code=%ld duration_ms=%.0f "
           "status=%s",
           j->sv->id, j->attempts, v.outcome, code, (double)(uv_hrtime() - j->started_ns) / 1e6,
           v.kind == VERDICT_DELIVERED ? "delivered"
           : failed                    ? "failed"
                                       : "pending");
    if (v.kind == VERDICT_DELIVERED) {
        M.sent++;
        job_free(j);
    } else if (failed) {
        M.failed++;
        job_free(j);
    } else {
        uint32_t r;
        wh_random_bytes(&r, sizeof r);
        j->next_ms =
            wh_clock_now_ms() + schedule_delay_ms(j->attempts, M.scale, (double)r / 4294967296.0);
        j->next = M.waiting;
        M.waiting = j;
    }
    pump();
}

/* The message: subject in the survey's first language, the text in each. */
static int compose(struct job *j)
{
    char link[1024];
    int ln = snprintf(link, sizeof link, "%s/s/%s?c=%s", M.base_url, j->sv->id, j->code);
    if (ln < 0 || (size_t)ln >= sizeof link)
        return WH_ELIMIT;
    wh_buf_t subject, body;
    wh_buf_init(&subject);
    wh_buf_init(&body);
    wh_buf_puts(&subject, TEXTS[j->sv->langs[0]].subject);
    wh_buf_puts(&subject, j->sv->title);
    for (int i = 0; i < j->sv->n_langs; i++) {
        const struct text *t = &TEXTS[j->sv->langs[i]];
        if (i)
            wh_buf_puts(&body, "\n----\n\n");
        put_with_title(&body, t->invite, j->sv->title);
        wh_buf_printf(&body, "\n%s&lang=%s\n\n%s%s\n%s\n", link, langs[j->sv->langs[i]], t->or_code,
                      j->code, t->once);
    }
    char id[WH_ID_LEN + 1];
    wh_id_new(id);
    int rc = wh_buf_failed(&subject) || wh_buf_failed(&body)
                 ? WH_ENOMEM
                 : mail_compose(&j->payload, M.mail_from, j->to, subject.data, subject.len,
                                body.data, body.len, id, wh_clock_now_ms());
    if (body.data)
        explicit_bzero(body.data, body.cap);
    explicit_bzero(link, sizeof link);
    wh_buf_close(&subject);
    wh_buf_close(&body);
    return rc;
}

static int start(struct job *j)
{
    wh_buf_reset(&j->payload);
    j->upload = (mail_upload_t){&j->payload, 0};
    int rc = compose(j);
    if (rc != 0)
        return rc;
    char rcpt[MAIL_MAX_ADDRESS + 3];
    snprintf(rcpt, sizeof rcpt, "<%s>", j->to);
    j->rcpt = curl_slist_append(NULL, rcpt);
    explicit_bzero(rcpt, sizeof rcpt);
    j->easy = curl_easy_init();
    if (!j->rcpt || !j->easy)
        return WH_ENOMEM;
    CURL *c = j->easy;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_URL, M.smtp_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, M.smtp_ssl);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, M.envelope_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, j->rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_upload_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &j->upload);
    curl_easy_setopt(c, CURLOPT_INFILESIZE, (long)j->payload.len);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    j->attempts++;
    j->started_ns = uv_hrtime();
    return wh_http_client_add(M.http, c, on_done, j);
}

static void on_timer(uv_timer_t *t)
{
    (void)t;
    pump();
}

static void pump(void)
{
    if (M.stopping || !M.http)
        return;
    int64_t now = wh_clock_now_ms(), next = INT64_MAX;
    for (struct job **p = &M.waiting; *p;) {
        struct job *j = *p;
        if (j->next_ms <= now) {
            *p = j->next;
            push_ready(j);
        } else {
            if (j->next_ms < next)
                next = j->next_ms;
            p = &j->next;
        }
    }
    while (M.ready && M.in_flight < CODES_MAIL_MAX_SESSIONS) {
        struct job *j = M.ready;
        M.ready = j->next;
        if (!M.ready)
            M.ready_tail = NULL;
        j->next = NULL;
        if (start(j) != 0) {
            M.failed++;
            wh_log(WH_LOG_ERROR, j->sv->request_id[0] ? j->sv->request_id : NULL,
                   "survey %s: a participation code mail could not be built", j->sv->id);
            job_free(j);
            continue;
        }
        M.in_flight++;
    }
    if (next != INT64_MAX && M.timer_open)
        uv_timer_start(&M.timer, on_timer, (uint64_t)(next > now ? next - now : 1), 0);
}

static bool code_ok(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 ||
        o->via.str.size > CODES_MAIL_MAX_CODE)
        return false;
    for (uint32_t i = 0; i < o->via.str.size; i++) {
        char ch = o->via.str.ptr[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || ch == '-'))
            return false;
    }
    return true;
}

void codes_mail_accept(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, fields))
        return;
    wh_str_t id = {0}, org = {0}, title = {0};
    const msgpack_object *ls = NULL, *items = NULL;
    wh_valid_str(&v, "survey_id", WH_V_REQUIRED, WH_ID_LEN, WH_ID_LEN, &id);
    wh_valid_str(&v, "org_id", WH_V_REQUIRED, WH_ID_LEN, WH_ID_LEN, &org);
    wh_valid_str(&v, "title", WH_V_REQUIRED, 1, 1000, &title);
    int lang_idx[3], n_langs = 0;
    if (wh_valid_array(&v, "languages", WH_V_REQUIRED, 3, &ls) == WH_V_SET) {
        for (uint32_t i = 0; i < ls->via.array.size; i++) {
            int k = -1;
            for (int l = 0; langs[l]; l++)
                if (wh_msg_str_eq(&ls->via.array.ptr[i], langs[l]))
                    k = l;
            if (k < 0)
                wh_reply_field(c->rep, "/languages", "must be de, en or sv");
            else
                lang_idx[n_langs++] = k;
        }
        if (n_langs == 0)
            wh_reply_field(c->rep, "/languages", "must name at least one language");
    }
    if (wh_valid_array(&v, "items", WH_V_REQUIRED, CODES_MAIL_MAX_ITEMS, &items) == WH_V_SET)
        for (uint32_t i = 0; i < items->via.array.size; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "/items/%u", i);
            wh_valid_t iv;
            if (!wh_valid_init(&iv, c->rep, &items->via.array.ptr[i], prefix))
                continue;
            wh_valid_only(&iv, item_fields);
            const msgpack_object *to = wh_msg_get(&items->via.array.ptr[i], "to");
            const msgpack_object *code = wh_msg_get(&items->via.array.ptr[i], "code");
            if (!to || to->type != MSGPACK_OBJECT_STR ||
                !wh_valid_email(to->via.str.ptr, to->via.str.size))
                wh_reply_field(c->rep, prefix, "to is not an e-mail address");
            if (!code || !code_ok(code))
                wh_reply_field(c->rep, prefix, "code is not a participation code");
        }
    if (wh_reply_invalid(c->rep))
        return;
    uint32_t n = items->via.array.size;
    if (!M.smtp_url || !M.http) {
        wh_reply_problem(c->rep, 503, "mail-unavailable", "no mail server is configured");
        return;
    }
    if (M.queued + n > CODES_MAIL_MAX_QUEUED) {
        wh_reply_problem(c->rep, 503, "mail-queue-full", "too many code mails are waiting");
        c->rep->retry_after_s = 5;
        return;
    }
    struct survey *sv = calloc(1, sizeof *sv);
    char *t = sv ? strndup(title.p, title.n) : NULL;
    if (!t) {
        free(sv);
        wh_reply_problem(c->rep, 503, "out-of-memory", "out of memory");
        return;
    }
    sv->title = t;
    snprintf(sv->id, sizeof sv->id, "%.*s", (int)id.n, id.p);
    snprintf(sv->org_id, sizeof sv->org_id, "%.*s", (int)org.n, org.p);
    snprintf(sv->request_id, sizeof sv->request_id, "%s", c->req->id);
    memcpy(sv->langs, lang_idx, sizeof lang_idx);
    sv->n_langs = n_langs;
    sv->refs = 1;
    uint32_t queued = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct job *j = calloc(1, sizeof *j);
        if (!j)
            break;
        const msgpack_object *to = wh_msg_get(&items->via.array.ptr[i], "to");
        const msgpack_object *code = wh_msg_get(&items->via.array.ptr[i], "code");
        memcpy(j->to, to->via.str.ptr, to->via.str.size);
        memcpy(j->code, code->via.str.ptr, code->via.str.size);
        j->sv = sv;
        sv->refs++;
        wh_buf_init(&j->payload);
        M.queued++;
        push_ready(j);
        queued++;
    }
    survey_unref(sv);
    if (queued < n) {
        wh_reply_problem(c->rep, 503, "out-of-memory", "out of memory");
        return;
    }
    msgpack_packer *pk = wh_reply_ok(c->rep, 202);
    msgpack_pack_map(pk, 1);
    wh_msg_kv_int(pk, "queued", queued);
    /* Sending starts on the next turn of the loop, after this reply. */
    if (M.timer_open)
        uv_timer_start(&M.timer, on_timer, 0, 0);
}
