/* Participation codes mailed straight to employees (internal operation
 * CODES_MAIL, called by the surveys service for delivery "email").
 *
 * The call carries the survey (id, organisation, title, languages) and up
 * to CODES_MAIL_MAX_ITEMS {to, code} pairs. They are held in this process's
 * memory only, never in the store and never in a log line, and each is sent
 * as one e-mail through WH_SMTP_URL (the same SMTP settings as the delivery
 * engine) with the personal link WH_PUBLIC_URL/s/{survey_id}?c={code} in
 * each of the survey's languages. A transient failure is tried again on the
 * first CODES_MAIL_MAX_ATTEMPTS steps of the delivery schedule
 * (schedule.h); the pair is overwritten and freed as soon as its mail was
 * accepted or finally refused. Nothing about it is listed in deliveries: the
 * counts sent and failed are all that remain.
 *
 * The call is answered 202 once the pairs are queued, 503 when no mail
 * server is configured or CODES_MAIL_MAX_QUEUED pairs are waiting (the
 * caller tries again, then withdraws the codes), 422 when the body is
 * malformed. A restart loses what is queued: those codes are never mailed,
 * which is the price of not writing addresses to disk. */
#ifndef NOTIFICATIONS_CODES_MAIL_H
#define NOTIFICATIONS_CODES_MAIL_H

#include <stdint.h>

#include "dispatch.h"
#include "service.h"

#define CODES_MAIL_MAX_ITEMS    1000  /* pairs in one call */
#define CODES_MAIL_MAX_QUEUED   50000 /* pairs held in memory */
#define CODES_MAIL_MAX_SESSIONS 4     /* SMTP transfers at once */
#define CODES_MAIL_MAX_ATTEMPTS 5     /* at once, then 5 s, 5 min, 30 min, 2 h (scaled) */
#define CODES_MAIL_MAX_CODE     32

int codes_mail_start(wh_service_t *s);
void codes_mail_stop(void);
void codes_mail_accept(wh_ctx_t *c);
/* Mails sent and finally failed since the start. */
void codes_mail_counts(int64_t *sent, int64_t *failed);

#endif
