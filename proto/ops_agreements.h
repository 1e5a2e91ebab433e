/* Operations owned by the agreements service (rows of the table in proto/ops.h). */
#ifndef WH_OPS_AGREEMENTS_H
#define WH_OPS_AGREEMENTS_H

#define WH_OPS_AGREEMENTS(X)                                                                \
    X(ORGS_CREATE, "POST", "/v1/organizations", WH_SVC_AGREEMENTS, WH_ROLE_ADMIN,          \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                          \
    X(ORGS_LIST, "GET", "/v1/organizations", WH_SVC_AGREEMENTS, WH_ROLES_ANY, 0)           \
    X(ORGS_GET, "GET", "/v1/organizations/{id}", WH_SVC_AGREEMENTS, WH_ROLES_ANY, 0)       \
    X(ORGS_PATCH, "PATCH", "/v1/organizations/{id}", WH_SVC_AGREEMENTS,                    \
      WH_ROLE_ADMIN | WH_ROLE_COORDINATOR | WH_ROLE_CONSULTANT, WH_OPF_BODY | WH_OPF_WRITE)

#endif
