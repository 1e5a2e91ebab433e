/* Operations owned by the notifications service (rows of the table in proto/ops.h).
 * Subscriptions and deliveries are for people who act on notifications
 * (admin, coordinator, consultant, occupational health), never for the
 * integration role, which only pushes screening results. */
#ifndef WH_OPS_NOTIFICATIONS_H
#define WH_OPS_NOTIFICATIONS_H

#define WH_ROLES_NOTIFY (WH_ROLES_STAFF | WH_ROLE_OCC_HEALTH)

#define WH_OPS_NOTIFICATIONS(X)                                                             \
    X(EVENTS_INGEST, "POST", NULL, WH_SVC_NOTIFICATIONS, WH_ROLE_SERVICE,                  \
      WH_OPF_BODY | WH_OPF_WRITE)                                                          \
    X(CODES_MAIL, "POST", NULL, WH_SVC_NOTIFICATIONS, WH_ROLE_SERVICE, WH_OPF_BODY)        \
    X(SUBSCRIPTIONS_CREATE, "POST", "/v1/subscriptions", WH_SVC_NOTIFICATIONS,             \
      WH_ROLES_NOTIFY, WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                         \
    X(SUBSCRIPTIONS_LIST, "GET", "/v1/subscriptions", WH_SVC_NOTIFICATIONS,                \
      WH_ROLES_NOTIFY, 0)                                                                  \
    X(SUBSCRIPTIONS_GET, "GET", "/v1/subscriptions/{id}", WH_SVC_NOTIFICATIONS,            \
      WH_ROLES_NOTIFY, 0)                                                                  \
    X(SUBSCRIPTIONS_DELETE, "DELETE", "/v1/subscriptions/{id}", WH_SVC_NOTIFICATIONS,      \
      WH_ROLES_NOTIFY, WH_OPF_WRITE)                                                       \
    X(DELIVERIES_LIST, "GET", "/v1/deliveries", WH_SVC_NOTIFICATIONS, WH_ROLES_NOTIFY, 0)  \
    X(DELIVERIES_RETRY, "POST", "/v1/deliveries/{id}/retry", WH_SVC_NOTIFICATIONS,         \
      WH_ROLES_NOTIFY, WH_OPF_WRITE)

#endif
