/* Cooperation agreements between an employer and an insurer: the handlers
 * of the resource (create, list, read, merge patch, delete of drafts), its
 * lifecycle (sign, terminate, renew with links both ways), its history and
 * its reminders. The record itself is agreement.h.
 *
 * Tenant scope: a token sees an agreement when it covers its employer or
 * its insurer; anything else is 404. State: draft -> signed -> terminated
 * | renewed (the table in rules.h); illegal transitions are 409 with the
 * reason. Computed on every read from today's date: phase, days_remaining,
 * notice_deadline and conditions_met.
 *
 * The modules of this service; each uses only those on the lines below it
 * (in brackets), so nothing calls up and there is no circle:
 *
 *   main.c           wiring: operations to handlers, the reminder job
 *   report.c         the prevention report             (activities, agreement)
 *   calendar.c       the iCalendar feed                (agreement, ical)
 *   activities.c     activities of an agreement        (agreements, agreement)
 *   agreements.c     the handlers declared here        (reminders, agreement, rules)
 *   reminders.c      the reminder step, scan and job   (agreement, organizations.h's limit)
 *   organizations.c  organisations
 *   agreement.c      the record: load, store, copy,    (rules)
 *                    history, renewal; no replies
 *   rules.c ical.c   pure: dates, schedule, the state table; iCalendar text
 */
#ifndef AGREEMENTS_AGREEMENTS_H
#define AGREEMENTS_AGREEMENTS_H

#include <stdbool.h>

#include "agreement.h"
#include "dispatch.h"

void agr_create(wh_ctx_t *c);
void agr_list(wh_ctx_t *c);
void agr_get(wh_ctx_t *c);
void agr_patch(wh_ctx_t *c);
void agr_delete(wh_ctx_t *c);
void agr_sign(wh_ctx_t *c);
void agr_terminate(wh_ctx_t *c);
void agr_renew(wh_ctx_t *c);
void agr_history(wh_ctx_t *c);
void agr_reminders(wh_ctx_t *c);

/* Loads the agreement named by the path's {id} if the principal may see
 * it; otherwise answers 404 and returns false. */
bool agr_load_visible(wh_ctx_t *c, agr_t *a);

#endif
