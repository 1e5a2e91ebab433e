/* Alerts: a result at risk opens one for the organisation's occupational
 * health service, so that the person is offered support.
 *
 * States: open -> acknowledged -> support_offered -> closed (outcome
 * accepted, declined or no_contact); closing is allowed from acknowledged
 * too, and every other transition is 409. A subject has at most one active
 * (not closed) alert: a new result while one is active attaches to it, and
 * a critical flag makes it urgent. An alert left open past the
 * organisation's limit (default 24 h, urgent 1 h) escalates, once: the
 * escalation and its event are one transaction, so a restart neither loses
 * nor repeats it. Events (alert.created, alert.escalated) carry only the
 * alert id and its urgency, never a subject, score or answer. */
#ifndef SCREENING_ALERTS_H
#define SCREENING_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatch.h"
#include "id.h"
#include "service.h"

#define SCR_ALERT_MAX_NOTE     2000
#define SCR_ESCALATE_BATCH     256  /* alerts escalated per round */
#define SCR_ESCALATION_TICK_MS 1000 /* how often due alerts are looked for */

/* Links a new result of subject to its active alert, or opens one when the
 * result is at risk. alert_id gets the alert's id, or "" when there is none.
 * Runs in the caller's transaction; 0 or a negative WH_E* code. */
int alert_for_result(wh_store_t *store, wh_str_t org, wh_str_t subject, bool at_risk, bool urgent,
                     int64_t now_ms, char alert_id[WH_ID_LEN + 1]);

/* Which of the subjects in json (a JSON array of strings) have an active
 * alert in org: found(ud, k) for each such subject, k its index in the
 * array. One statement for a batch's subjects instead of a lookup for
 * each; the caller's transaction keeps the answer true while it lasts.
 * 0 or a negative WH_E* code. */
int alerts_active_among(wh_store_t *store, wh_str_t org, const char *json, size_t json_len,
                        void (*found)(void *ud, int64_t k), void *ud);

/* True when some alert is due for escalation at now_ms (a read; no
 * transaction needed). */
bool alerts_due(wh_store_t *store, int64_t now_ms);
/* Escalates every alert due at now_ms and emits alert.escalated for each,
 * in the caller's transaction. Returns how many, or a negative code. */
int alerts_escalate_due(wh_store_t *store, int64_t now_ms);
/* Registers the escalation as a job of the service, every
 * SCR_ESCALATION_TICK_MS on the service clock (WH_NOW honoured), so that an
 * alert due while the service was down escalates at the next start, once. */
int alerts_every(wh_service_t *s);

void alerts_list(wh_ctx_t *c);
void alerts_get(wh_ctx_t *c);
void alerts_acknowledge(wh_ctx_t *c);
void alerts_offer_support(wh_ctx_t *c);
void alerts_close(wh_ctx_t *c);

#endif
