/* Operations owned by the notifications service (rows of the table in proto/ops.h). */
#ifndef WH_OPS_NOTIFICATIONS_H
#define WH_OPS_NOTIFICATIONS_H

#define WH_OPS_NOTIFICATIONS(X)                                                             \
    X(EVENTS_INGEST, "POST", NULL, WH_SVC_NOTIFICATIONS, WH_ROLE_SERVICE,                  \
      WH_OPF_BODY | WH_OPF_WRITE)

#endif
