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
 * it in their own transaction, so that a late signing is caught up at once.
 * This module works on the record (agreement.h) and answers no request. */
#ifndef AGREEMENTS_REMINDERS_H
#define AGREEMENTS_REMINDERS_H

#include <stdint.h>

#include "agreement.h"
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

/* Registers the scan as a job of the service: now and every
 * AGR_SCAN_INTERVAL_MS, for the day of the service clock (WH_NOW). */
int reminders_every(wh_service_t *s);

/* One line of an agreement's reminder list. */
typedef struct reminders_row {
    enum agr_item_kind kind; /* AGR_ITEM_NOTICE or AGR_ITEM_EXPIRED */
    int days_before;         /* notices only */
    int32_t due_on;
    const char *status;           /* "sent", "skipped" or "due" */
    char sent_at[WH_RFC3339_LEN]; /* "" unless sent */
} reminders_row_t;
/* Every key (notice 0..365, expired) at most once. */
#define REMINDERS_MAX_ROWS (AGR_MAX_REMINDER_DAY + 2)

/* The reminders of a in due order: those recorded (sent or skipped) and,
 * for a signed agreement, what of its schedule is not recorded yet (a
 * renewal is not a reminder and is not listed). rows has room for
 * REMINDERS_MAX_ROWS; returns how many it holds. */
int reminders_rows(wh_store_t *store, const agr_t *a, reminders_row_t *rows);

#endif
