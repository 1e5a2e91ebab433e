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
#define WH_OPS_SCREENING_DOCS(D)                                                                   \
    D(SCR_STATS, "Screening statistics of a closed period",                                        \
      "People per band (each in the band of their latest result in the period), for the "          \
      "organisation and, with by=unit, per unit; instrument= names one. period= is required: "     \
      "a month YYYY-MM, a quarter YYYY-Qn or a year YYYY, closed 7 days after its last day "       \
      "(409 before that); from/to and any other window are 422. The first request after the "      \
      "close computes and stores the figures; every later one returns them unchanged (results "    \
      "arriving after their month closed never count). Figures below the organisation's "          \
      "threshold are null with suppressed: true, and further ones are suppressed until no "        \
      "hidden figure and no group of fewer than the threshold can be derived.",                    \
      NULL)

#endif
