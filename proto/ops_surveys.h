/* Operations owned by the surveys service (rows of the table in proto/ops.h).
 * The two public rows take no bearer token: a participation code is their
 * only credential, and the gateway rate-limits them per address. Issuing
 * codes is not WH_OPF_CREATE: a replay would need the codes in plain text,
 * which are never stored (the service refuses a repeated key itself). */
#ifndef WH_OPS_SURVEYS_H
#define WH_OPS_SURVEYS_H

#define WH_SURVEY_MANAGERS (WH_ROLE_ADMIN | WH_ROLE_COORDINATOR)

#define WH_OPS_SURVEYS(X)                                                                          \
    X(SURVEYS_CREATE, "POST", "/v1/surveys", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,                   \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(SURVEYS_LIST, "GET", "/v1/surveys", WH_SVC_SURVEYS, WH_ROLES_STAFF, 0)                       \
    X(SURVEYS_GET, "GET", "/v1/surveys/{id}", WH_SVC_SURVEYS, WH_ROLES_STAFF, 0)                   \
    X(SURVEYS_PATCH, "PATCH", "/v1/surveys/{id}", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,              \
      WH_OPF_BODY | WH_OPF_WRITE)                                                                  \
    X(SURVEYS_OPEN, "POST", "/v1/surveys/{id}/open", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,           \
      WH_OPF_WRITE)                                                                                \
    X(SURVEYS_CLOSE, "POST", "/v1/surveys/{id}/close", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,         \
      WH_OPF_WRITE)                                                                                \
    X(SURVEYS_CODES, "POST", "/v1/surveys/{id}/codes", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,         \
      WH_OPF_BODY | WH_OPF_WRITE)                                                                  \
    X(SURVEYS_RESULTS, "GET", "/v1/surveys/{id}/results", WH_SVC_SURVEYS, WH_ROLES_STAFF, 0)       \
    X(SURVEYS_RESULTS_CSV, "GET", "/v1/surveys/{id}/results.csv", WH_SVC_SURVEYS, WH_ROLES_STAFF,  \
      0)                                                                                           \
    X(PUBLIC_SURVEY_GET, "GET", "/v1/public/surveys/{id}", WH_SVC_SURVEYS, WH_ROLE_PUBLIC, 0)      \
    X(PUBLIC_RESPONSES_CREATE, "POST", "/v1/public/surveys/{id}/responses", WH_SVC_SURVEYS,        \
      WH_ROLE_PUBLIC, WH_OPF_BODY | WH_OPF_WRITE)

#endif
