/* Per-organisation screening settings: retention of results, the escalation
 * limits of alerts and the anonymity threshold of statistics. An
 * organisation without a stored row has the defaults; the row appears with
 * the first PATCH. */
#ifndef SCREENING_SETTINGS_H
#define SCREENING_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatch.h"

#define SCR_ESCALATE_HOURS_DEFAULT        24
#define SCR_ESCALATE_URGENT_HOURS_DEFAULT 1
#define SCR_ESCALATE_HOURS_MAX            (30 * 24)
#define SCR_STATS_THRESHOLD_DEFAULT       10
#define SCR_STATS_THRESHOLD_MIN           5   /* never below, whatever an organisation asks */
#define SCR_STATS_THRESHOLD_MAX           128 /* SUPPRESS_MAX_K, what suppression can hold */
#define SCR_RETENTION_DAYS_MAX            36500

typedef struct scr_settings {
    int64_t retention_days; /* 0: kept until erased */
    int64_t escalate_after_hours;
    int64_t escalate_urgent_after_hours;
    int64_t stats_threshold;
    int64_t version; /* 0 for the defaults */
    int64_t updated_ms;
} scr_settings_t;

/* The organisation's settings, or the defaults. */
int settings_load(wh_store_t *store, wh_str_t org, scr_settings_t *out);

/* GET and PATCH /v1/screening/settings/{org_id} */
void settings_get(wh_ctx_t *c);
void settings_patch(wh_ctx_t *c);

#endif
