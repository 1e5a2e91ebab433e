/* Operations owned by the notifications service (rows of the table in proto/ops.h).
 * Subscriptions and deliveries are for people who act on notifications
 * (admin, coordinator, consultant, occupational health), never for the
 * integration role, which only pushes screening results. */
#ifndef WH_OPS_NOTIFICATIONS_H
#define WH_OPS_NOTIFICATIONS_H

#define WH_ROLES_NOTIFY (WH_ROLES_STAFF | WH_ROLE_OCC_HEALTH)

#define WH_OPS_NOTIFICATIONS(X)                                                                    \
    X(BACKUPS_NOTIFICATIONS, "POST", "/v1/backups/{backup_id}/notifications",                      \
      WH_SVC_NOTIFICATIONS, WH_ROLE_ADMIN, WH_OPF_WRITE)                                           \
    X(BACKUPS_PRUNE_NOTIFICATIONS, "POST", "/v1/backups/{backup_id}/notifications/prune",          \
      WH_SVC_NOTIFICATIONS, WH_ROLE_ADMIN, WH_OPF_WRITE)                                           \
    X(NOTIFICATIONS_METRICS, "GET", NULL, WH_SVC_NOTIFICATIONS, WH_ROLE_SERVICE, 0)                \
    X(EVENTS_INGEST, "POST", NULL, WH_SVC_NOTIFICATIONS, WH_ROLE_SERVICE,                          \
      WH_OPF_BODY | WH_OPF_WRITE)                                                                  \
    X(CODES_MAIL, "POST", NULL, WH_SVC_NOTIFICATIONS, WH_ROLE_SERVICE, WH_OPF_BODY)                \
    X(SUBSCRIPTIONS_CREATE, "POST", "/v1/subscriptions", WH_SVC_NOTIFICATIONS, WH_ROLES_NOTIFY,    \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(SUBSCRIPTIONS_LIST, "GET", "/v1/subscriptions", WH_SVC_NOTIFICATIONS, WH_ROLES_NOTIFY, 0)    \
    X(SUBSCRIPTIONS_GET, "GET", "/v1/subscriptions/{id}", WH_SVC_NOTIFICATIONS, WH_ROLES_NOTIFY,   \
      0)                                                                                           \
    X(SUBSCRIPTIONS_DELETE, "DELETE", "/v1/subscriptions/{id}", WH_SVC_NOTIFICATIONS,              \
      WH_ROLES_NOTIFY, WH_OPF_WRITE)                                                               \
    X(DELIVERIES_LIST, "GET", "/v1/deliveries", WH_SVC_NOTIFICATIONS, WH_ROLES_NOTIFY, 0)          \
    X(DELIVERIES_RETRY, "POST", "/v1/deliveries/{id}/retry", WH_SVC_NOTIFICATIONS,                 \
      WH_ROLES_NOTIFY, WH_OPF_WRITE)

/* Documentation of the rows above for the OpenAPI document (see
 * WH_OPS_AGREEMENTS_DOCS). */
#define WH_NOTIFY_SCOPE                                                                            \
    " Admin, coordinators, consultants and occupational health, for organisations their "          \
    "token covers (others are 404)."
#define WH_OPS_NOTIFICATIONS_DOCS(D)                                                               \
    WH_OP_BACKUP_DOC(D, BACKUPS_NOTIFICATIONS, "notifications")                                    \
    WH_OP_BACKUP_PRUNE_DOC(D, BACKUPS_PRUNE_NOTIFICATIONS, "notifications")                        \
    D(SUBSCRIPTIONS_CREATE, "Subscribe to events",                                                 \
      "By e-mail (language required) or webhook (Standard Webhooks signatures; the signing "       \
      "secret is in secret, shown this once)." WH_NOTIFY_SCOPE,                                    \
      "SubscriptionCreate", "201:Subscription", NULL, NULL)                                        \
    D(SUBSCRIPTIONS_LIST, "List subscriptions", "Filter org_id." WH_NOTIFY_SCOPE, NULL,            \
      "200:[Subscription]", NULL, "org_id")                                                        \
    D(SUBSCRIPTIONS_GET, "Read a subscription", "Without its secret." WH_NOTIFY_SCOPE, NULL,       \
      "200:Subscription", NULL, NULL)                                                              \
    D(SUBSCRIPTIONS_DELETE, "Delete a subscription",                                               \
      "No further deliveries are made for it." WH_NOTIFY_SCOPE, NULL, "204", NULL, NULL)           \
    D(DELIVERIES_LIST, "List deliveries",                                                          \
      "Each with its most recent attempts; at least once, retried with backoff, then "             \
      "failed." WH_NOTIFY_SCOPE,                                                                   \
      NULL, "200:[Delivery]", NULL, "status=pending|delivered|failed event_type subscription_id")  \
    D(DELIVERIES_RETRY, "Retry a failed delivery",                                                 \
      "Back to pending with a fresh schedule; 409 unless failed. No body, or {}." WH_NOTIFY_SCOPE, \
      NULL, "200:Delivery", NULL, NULL)

#endif
