/* Reminders of agreement deadlines, exactly once per term.
 *
 * Each signed agreement has a schedule (rules.h): notice reminders before
 * and on the notice deadline, then on ends_on + 1 either agreement.expired
 * or, with auto_renew, the successor. What was sent or skipped is recorded
 * in agreement_reminders under the key (agreement, kind, days_before), in
 * the same transaction as the event that the outbox then delivers, so a
 * reminder happens once whatever restarts in between. agreements.next_due
 * holds the first day with something to do; the scan reads only rows with
 * next_due <= today through a partial index, so it costs the due
 * agreements, not all of them. It runs at start and then every
 * AGR_SCAN_INTERVAL_MS, in batches of its own transactions; handlers that
 * sign, create, renew or change a signed agreement run the same step for
 * it in their own transaction, so that a late signing is caught up at once. */
#ifndef AGREEMENTS_REMINDERS_H
#define AGREEMENTS_REMINDERS_H

#include <stdint.h>

#include "agreements.h"
#include "outbox.h"
#include "service.h"

#define AGR_SCAN_INTERVAL_MS (3600 * 1000) /* at least hourly */
#define AGR_SCAN_BATCH       500           /* due agreements per transaction */

typedef struct reminders_stats {
    int64_t agreements; /* processed */
    int64_t sent, skipped, renewed;
    double ms;
} reminders_stats_t;

/* Does what is due today for a (as stored now) and records next_due; in
 * the caller's transaction, which should reload a afterwards. Successors
 * created by auto_renew are processed in turn, at most
 * AGR_MAX_RENEWALS_PER_SCAN of them. stats may be NULL. */
int reminders_process(wh_store_t *store, const agr_t *a, int32_t today, const agr_who_t *who,
                      reminders_stats_t *stats);
/* Processes every agreement due on or before today, in batches of
 * AGR_SCAN_BATCH each in its own transaction (the caller must not hold
 * one), until none is left. */
int reminders_scan(wh_store_t *store, int32_t today, reminders_stats_t *stats);

/* Runs the scan now and every AGR_SCAN_INTERVAL_MS, kicking the outbox
 * after each. */
int reminders_start(wh_service_t *s, wh_outbox_t *ob);
void reminders_stop(void);

void reminders_list(wh_ctx_t *c);

#endif
