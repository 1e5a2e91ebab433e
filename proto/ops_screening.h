/* Operations owned by the screening service (rows of the table in proto/ops.h).
 *
 * Individual results and alerts are health data under professional secrecy:
 * only occupational health reads them, and every such read is written to the
 * audit log, so those reads are marked as writes. Integrations and
 * occupational health push results; coordinators and consultants see only
 * suppressed aggregates; the audit log is the operator's (admin).
 * Statistics are a write: the first read of a closed period stores its
 * figures. */
#ifndef WH_OPS_SCREENING_H
#define WH_OPS_SCREENING_H

#define WH_ROLES_SCR_PUSH (WH_ROLE_INTEGRATION | WH_ROLE_OCC_HEALTH)
#define WH_ROLES_SCR_STATS                                                                         \
    (WH_ROLE_ADMIN | WH_ROLE_COORDINATOR | WH_ROLE_CONSULTANT | WH_ROLE_OCC_HEALTH)
#define WH_ROLES_SCR_SETTINGS (WH_ROLE_ADMIN | WH_ROLE_OCC_HEALTH)
#define WH_ROLES_SCR_ERASE    (WH_ROLE_ADMIN | WH_ROLE_OCC_HEALTH | WH_ROLE_INTEGRATION)

#define WH_OPS_SCREENING(X)                                                                        \
    X(BACKUPS_SCREENING, "POST", "/v1/backups/{backup_id}/screening", WH_SVC_SCREENING,            \
      WH_ROLE_ADMIN, WH_OPF_WRITE)                                                                 \
    X(BACKUPS_PRUNE_SCREENING, "POST", "/v1/backups/{backup_id}/screening/prune",                  \
      WH_SVC_SCREENING, WH_ROLE_ADMIN, WH_OPF_WRITE)                                               \
    X(SCREENING_METRICS, "GET", NULL, WH_SVC_SCREENING, WH_ROLE_SERVICE, 0)                        \
    X(SCR_INSTRUMENTS_LIST, "GET", "/v1/screening/instruments", WH_SVC_SCREENING, WH_ROLES_ANY, 0) \
    X(SCREENINGS_CREATE, "POST", "/v1/screenings", WH_SVC_SCREENING, WH_ROLES_SCR_PUSH,            \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(SCREENINGS_BATCH, "POST", "/v1/screenings/batch", WH_SVC_SCREENING, WH_ROLES_SCR_PUSH,       \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(SCREENINGS_LIST, "GET", "/v1/screenings", WH_SVC_SCREENING, WH_ROLE_OCC_HEALTH,              \
      WH_OPF_WRITE)                                                                                \
    X(SCREENINGS_GET, "GET", "/v1/screenings/{id}", WH_SVC_SCREENING, WH_ROLE_OCC_HEALTH,          \
      WH_OPF_WRITE)                                                                                \
    X(SUBJECTS_DELETE, "DELETE", "/v1/subjects/{subject}", WH_SVC_SCREENING, WH_ROLES_SCR_ERASE,   \
      WH_OPF_WRITE)                                                                                \
    X(ALERTS_LIST, "GET", "/v1/alerts", WH_SVC_SCREENING, WH_ROLE_OCC_HEALTH, WH_OPF_WRITE)        \
    X(ALERTS_GET, "GET", "/v1/alerts/{id}", WH_SVC_SCREENING, WH_ROLE_OCC_HEALTH, WH_OPF_WRITE)    \
    X(ALERTS_ACKNOWLEDGE, "POST", "/v1/alerts/{id}/acknowledge", WH_SVC_SCREENING,                 \
      WH_ROLE_OCC_HEALTH, WH_OPF_WRITE)                                                            \
    X(ALERTS_OFFER_SUPPORT, "POST", "/v1/alerts/{id}/offer-support", WH_SVC_SCREENING,             \
      WH_ROLE_OCC_HEALTH, WH_OPF_BODY | WH_OPF_WRITE)                                              \
    X(ALERTS_CLOSE, "POST", "/v1/alerts/{id}/close", WH_SVC_SCREENING, WH_ROLE_OCC_HEALTH,         \
      WH_OPF_BODY | WH_OPF_WRITE)                                                                  \
    X(SCR_STATS, "GET", "/v1/screening/stats", WH_SVC_SCREENING, WH_ROLES_SCR_STATS, WH_OPF_WRITE) \
    X(SCR_SETTINGS_GET, "GET", "/v1/screening/settings/{org_id}", WH_SVC_SCREENING,                \
      WH_ROLES_SCR_SETTINGS, 0)                                                                    \
    X(SCR_SETTINGS_PATCH, "PATCH", "/v1/screening/settings/{org_id}", WH_SVC_SCREENING,            \
      WH_ROLES_SCR_SETTINGS, WH_OPF_BODY | WH_OPF_WRITE)                                           \
    X(SCR_AUDIT_LIST, "GET", "/v1/screening/audit", WH_SVC_SCREENING, WH_ROLE_ADMIN, 0)

/* Documentation of the rows above for the OpenAPI document (see
 * WH_OPS_AGREEMENTS_DOCS). */
#define WH_SCR_ORG                                                                                 \
    " org_id may be left out by a token that covers exactly one organisation; one the token "      \
    "does not cover is 404."
#define WH_OPS_SCREENING_DOCS(D)                                                                   \
    WH_OP_BACKUP_DOC(D, BACKUPS_SCREENING, "screening")                                            \
    WH_OP_BACKUP_PRUNE_DOC(D, BACKUPS_PRUNE_SCREENING, "screening")                                \
    D(SCR_INSTRUMENTS_LIST, "The built-in screening instruments",                                  \
      "Items, answer ranges, reverse-scored items, score ranges, bands and cut-offs, critical "    \
      "items and their sources. Any role.",                                                        \
      NULL, "200:InstrumentList", NULL, NULL)                                                      \
    D(SCREENINGS_CREATE, "Push a screening result",                                                \
      "The service computes score and raw_score from the answers; invalid answers are 422 "        \
      "with a pointer per item. A result at risk opens an alert, a critical item an urgent "       \
      "one. Idempotent by (org_id, external_id): a repeat answers 200 with the first result. "     \
      "Integration and occupational_health." WH_SCR_ORG,                                           \
      "ScreeningCreate", "201:ScreeningResult 200:ScreeningResult", NULL, NULL)                    \
    D(SCREENINGS_BATCH, "Push up to 1000 screening results",                                       \
      "Each item as a single push, answered in request order with its own status (201 "            \
      "stored, 200 a repeat, else its problem details); the batch itself answers 200. "            \
      "Integration and occupational_health.",                                                      \
      "ScreeningBatch", "200:BatchResult", NULL, NULL)                                             \
    D(SCREENINGS_LIST, "Screening results of a subject",                                           \
      "Occupational health only; every read is written to the audit log." WH_SCR_ORG, NULL,        \
      "200:[Screening]", NULL, "subject! org_id instrument")                                       \
    D(SCREENINGS_GET, "Read a screening result",                                                   \
      "Occupational health only; every read is written to the audit log.", NULL, "200:Screening",  \
      NULL, NULL)                                                                                  \
    D(SUBJECTS_DELETE, "Erase a subject",                                                          \
      "Every result and alert of that pseudonym in the organisation; the erasure itself is "       \
      "audited without the pseudonym." WH_SCR_ORG,                                                 \
      NULL, "204", NULL, "org_id")                                                                 \
    D(ALERTS_LIST, "List alerts",                                                                  \
      "Oldest first; filters org_id and state. Occupational health only; audited.", NULL,          \
      "200:[Alert]", NULL, "org_id state=open|acknowledged|support_offered|closed")                \
    D(ALERTS_GET, "Read an alert", "Occupational health only; audited.", NULL, "200:Alert", NULL,  \
      NULL)                                                                                        \
    D(ALERTS_ACKNOWLEDGE, "Acknowledge an alert",                                                  \
      "From open; stops its escalation. No body, or {}; other states 409.", NULL, "200:Alert",     \
      NULL, NULL)                                                                                  \
    D(ALERTS_OFFER_SUPPORT, "Record that support was offered",                                     \
      "From acknowledged, with an optional note; other states 409.", "AlertNote", "200:Alert",     \
      NULL, NULL)                                                                                  \
    D(ALERTS_CLOSE, "Close an alert",                                                              \
      "From acknowledged or support_offered, with the outcome; other states 409.", "AlertClose",   \
      "200:Alert", NULL, NULL)                                                                     \
    D(SCR_STATS, "Screening statistics of a closed period",                                        \
      "People per band (each in the band of their latest result in the period), for the "          \
      "organisation and, with by=unit, per unit; instrument= names one. period= is required: "     \
      "a month YYYY-MM, a quarter YYYY-Qn or a year YYYY, closed 7 days after its last day "       \
      "(409 before that); from/to and any other window are 422. The first request after the "      \
      "close computes and stores the figures; every later one returns them unchanged (results "    \
      "arriving after their month closed never count). Figures below the organisation's "          \
      "threshold are null with suppressed: true, and further ones are suppressed until no "        \
      "hidden figure and no group of fewer than the threshold can be derived." WH_SCR_ORG,         \
      NULL, "200:ScreeningStats", NULL, "period! org_id by=unit instrument")                       \
    D(SCR_SETTINGS_GET, "An organisation's screening settings",                                    \
      "Retention, escalation limits and the statistics threshold (defaults until changed).", NULL, \
      "200:ScreeningSettings", NULL, NULL)                                                         \
    D(SCR_SETTINGS_PATCH, "Change an organisation's screening settings",                           \
      "JSON merge patch; retention_days null keeps results until erased.",                         \
      "ScreeningSettingsPatch", "200:ScreeningSettings", NULL, NULL)                               \
    D(SCR_AUDIT_LIST, "The audit log of reads of health data",                                     \
      "Who read or erased which results and alerts, and when. Admin only.", NULL,                  \
      "200:[AuditEntry]", NULL, "org_id")

#endif
