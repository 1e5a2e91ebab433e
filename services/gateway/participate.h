/* The participation page an employee opens from a link or QR code:
 * `GET /s/{survey_id}?c={code}&lang=`, its form's `POST /s/{survey_id}` and
 * the thank-you page `GET /s/{survey_id}/thanks?lang=`, rendered here as
 * HTML from the surveys service's public operations (the same ones as
 * `/v1/public/surveys/...`, asked through the broker).
 *
 * It works without JavaScript: plain forms, native radio buttons, one
 * fieldset per question, a long questionnaire in pages, errors next to each
 * question and in a summary at the top; the code travels in the form's body, and after a successful
 * submit the browser is sent (303) to a thank-you address without it. The
 * page sets no cookie, and nothing of a code or an answer reaches a log.
 * Texts are in German, English and Swedish: `lang`, else Accept-Language,
 * else the survey's first language. Rate limiting, the security headers and
 * the access log are the gateway's (gateway.c). */
#ifndef GATEWAY_PARTICIPATE_H
#define GATEWAY_PARTICIPATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"

#define PARTICIPATE_PREFIX "/s/"
/* A survey id in the path (ids are WH_ID_LEN characters; anything longer is
 * no survey). */
#define PARTICIPATE_MAX_ID_BYTES 64
/* A code as typed (with dashes, spaces); longer is no code (code.h's
 * CODE_MAX_INPUT in the surveys service). */
#define PARTICIPATE_MAX_CODE_BYTES 64
/* Questions and units one page shows (the service's own limits,
 * DEF_MAX_QUESTIONS and DEF_MAX_UNITS); a survey with more is answered 502. */
#define PARTICIPATE_MAX_QUESTIONS 200
#define PARTICIPATE_MAX_UNITS     500
/* Levels of a unit's label ("Amt A › Team A1"): the service's
 * DEF_MAX_UNIT_DEPTH below the organisation. */
#define PARTICIPATE_MAX_UNIT_DEPTH 8
/* Points of one question's scale shown as radio buttons. */
#define PARTICIPATE_MAX_SCALE 101
/* Questions on one page of a long questionnaire: whole blocks of the
 * questionnaire (one dimension each) while they fit, so a longer one is
 * answered page by page, its progress in the heading and the title. Answers
 * of the other pages travel in the form as hidden fields and nothing is
 * kept on the server before the last page's submit. */
#define PARTICIPATE_PAGE_QUESTIONS 10

enum { PAGE_ROUTE_FORM, PAGE_ROUTE_SUBMIT, PAGE_ROUTE_THANKS };

/* A rendered page: the status, text/html body and the few headers that
 * vary (NULL when absent). */
typedef struct page_reply {
    int status;
    const char *location;    /* 303 */
    const char *allow;       /* 405 */
    const char *retry_after; /* 429, 503 */
    const char *body;
    size_t len;
} page_reply_t;

typedef void (*participate_done_fn)(void *ud, const page_reply_t *r);

typedef struct participate_req {
    broker_t *broker;
    uint64_t timeout_ms;
    const char *request_id;
    const char *method;
    const char *path;  /* starts with PARTICIPATE_PREFIX */
    const char *query; /* "" when absent */
    const char *content_type;
    const char *accept_language;
    const char *body;
    size_t body_len;
} participate_req_t;

/* True for a path of these pages. */
bool participate_path(const char *path);
/* Which of the pages a method and path ask for (PAGE_ROUTE_*), for metrics. */
int participate_route(const char *method, const char *path);
/* Answers r through done (exactly once, possibly later, after a broker
 * round trip); r's strings need live only until this returns. */
void participate_handle(const participate_req_t *r, participate_done_fn done, void *ud);
/* The page for a client over the rate limit: 429 with Retry-After wait_s. */
void participate_too_many(const participate_req_t *r, int wait_s, participate_done_fn done,
                          void *ud);

#endif
