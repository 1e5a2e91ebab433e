/* Operations owned by the gateway (rows of the table in proto/ops.h). */
#ifndef WH_OPS_GATEWAY_H
#define WH_OPS_GATEWAY_H

/* Calendar feeds: those who read and keep agreements, for the organisations
 * their token covers (admin: any). */
#define WH_ROLES_FEEDS (WH_ROLE_ADMIN | WH_ROLE_COORDINATOR | WH_ROLE_CONSULTANT)

#define WH_OPS_GATEWAY(X)                                                                   \
    X(OPENAPI_GET, "GET", "/v1/openapi.json", WH_SVC_GATEWAY, WH_ROLE_PUBLIC, 0)           \
    X(TOKENS_CREATE, "POST", "/v1/tokens", WH_SVC_GATEWAY, WH_ROLE_ADMIN,                  \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                          \
    X(TOKENS_LIST, "GET", "/v1/tokens", WH_SVC_GATEWAY, WH_ROLE_ADMIN, 0)                  \
    X(TOKENS_DELETE, "DELETE", "/v1/tokens/{id}", WH_SVC_GATEWAY, WH_ROLE_ADMIN,           \
      WH_OPF_WRITE)                                                                        \
    X(FEEDS_CREATE, "POST", "/v1/calendar-feeds", WH_SVC_GATEWAY, WH_ROLES_FEEDS,          \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                          \
    X(FEEDS_LIST, "GET", "/v1/calendar-feeds", WH_SVC_GATEWAY, WH_ROLES_FEEDS, 0)          \
    X(FEEDS_DELETE, "DELETE", "/v1/calendar-feeds/{id}", WH_SVC_GATEWAY, WH_ROLES_FEEDS,   \
      WH_OPF_WRITE)

#endif
