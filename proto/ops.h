/* The wire contract's one list of operations. Each row names an operation,
 * its HTTP method and path template, the service that owns it, the roles
 * that may call it and its flags. The gateway's router is built from this
 * table and each service checks at start that it has exactly one handler for
 * every row it owns, so a new endpoint is one row here plus one handler.
 *
 * Path templates use {name} for a parameter; it reaches the service in the
 * envelope's params map under that name, beside the query parameters.
 * Internal operations, which services call on each other through the
 * broker, have no path and are not reachable over HTTP. */
#ifndef WH_OPS_H
#define WH_OPS_H

#include <stddef.h>

/* Roles, as bits so that a row can allow several. */
enum {
    WH_ROLE_ADMIN = 1 << 0,
    WH_ROLE_COORDINATOR = 1 << 1,
    WH_ROLE_CONSULTANT = 1 << 2,
    WH_ROLE_OCC_HEALTH = 1 << 3,
    WH_ROLE_INTEGRATION = 1 << 4,
    WH_ROLE_PUBLIC = 1 << 5,  /* no bearer token needed */
    WH_ROLE_SERVICE = 1 << 6, /* another service; never a token's role */
};
#define WH_ROLES_STAFF (WH_ROLE_ADMIN | WH_ROLE_COORDINATOR | WH_ROLE_CONSULTANT)
#define WH_ROLES_ANY   (WH_ROLES_STAFF | WH_ROLE_OCC_HEALTH | WH_ROLE_INTEGRATION)

enum wh_svc {
    WH_SVC_GATEWAY,
    WH_SVC_AGREEMENTS,
    WH_SVC_SURVEYS,
    WH_SVC_SCREENING,
    WH_SVC_NOTIFICATIONS,
    WH_SVC_COUNT
};

/* Flags. */
#define WH_OPF_CREATE 1u /* POST that creates: Idempotency-Key applies */
#define WH_OPF_BODY   2u /* takes a JSON object body */
#define WH_OPF_WRITE  4u /* changes state */
#define WH_OPF_CSV    8u /* takes a text/csv body, forwarded as a table (csvtab.h) */

/* Every store's online backup (services/runtime/backup.h) has a row
 * BACKUPS_<SERVICE>, "POST", "/v1/backups/{backup_id}/<service>", admin only,
 * in its service's file, since a path has one owner: the owning service
 * copies its own store into the named backup. Their documentation: */
#define WH_OP_BACKUP_DOC(D, NAME, name)                                                            \
    D(NAME, "Back up the " name " store",                                                          \
      "An online, consistent copy of the store, taken while it serves reads and writes, into "     \
      "<WH_BACKUP_DIR>/<backup_id>/" name ".db beside its manifest " name ".json. backup_id is "   \
      "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (else 400). A "      \
      "copy of this store already in the backup, or another backup running, is 409. Admin "        \
      "only; workhealth-backup calls it for every store.",                                         \
      NULL, "201:Backup", NULL, NULL)

/* And a row BACKUPS_PRUNE_<SERVICE>, "POST",
 * "/v1/backups/{backup_id}/<service>/prune": once every store of backup_id
 * is copied, workhealth-backup has each service remove its older copies. */
#define WH_OP_BACKUP_PRUNE_DOC(D, NAME, name)                                                      \
    D(NAME, "Remove older copies of the " name " store",                                           \
      "After backup_id holds a copy of every store: keeps the keep newest copies of this store "   \
      "in <WH_BACKUP_DIR> (backup_id counts as the newest) and removes the others, each "          \
      "manifest before its copy, and each backup directory left empty. Directories that are "      \
      "not backups of this store are left alone. backup_id without a copy of this store, or a "    \
      "backup running, is 409; keep is 1 to 100000. Admin only; workhealth-backup calls it "       \
      "with WH_BACKUP_KEEP once all stores are copied.",                                           \
      NULL, "200:BackupPrune", NULL, "keep!=int")

/* X(NAME, method, path, service, roles, flags). Each service's rows live in
 * its own file, proto/ops_<service>.h, so that work on one service does not
 * touch another's rows. */
#include "ops_gateway.h"
#include "ops_agreements.h"
#include "ops_surveys.h"
#include "ops_screening.h"
#include "ops_notifications.h"

#define WH_OPS(X)                                                                                  \
    WH_OPS_GATEWAY(X)                                                                              \
    WH_OPS_AGREEMENTS(X)                                                                           \
    WH_OPS_SURVEYS(X)                                                                              \
    WH_OPS_SCREENING(X)                                                                            \
    WH_OPS_NOTIFICATIONS(X)

/* The rows come from a macro that clang-format cannot see into. */
// clang-format off
enum wh_op_id {
#define WH_OP_ENUM(name, m, p, s, r, f) WH_OP_##name,
    WH_OPS(WH_OP_ENUM)
#undef WH_OP_ENUM
    WH_OP_COUNT
};
// clang-format on

typedef struct wh_op {
    const char *name; /* wire name, e.g. "ORGS_GET" */
    const char *method;
    const char *path;
    enum wh_svc service;
    unsigned roles;
    unsigned flags;
} wh_op_t;

extern const wh_op_t wh_ops[WH_OP_COUNT];
extern const char *const wh_service_names[WH_SVC_COUNT];

/* Index of the op with this wire name, or -1. */
int wh_op_find(const char *name, size_t n);
/* Role name <-> bit; 0 / NULL when unknown. */
unsigned wh_role_parse(const char *name, size_t n);
const char *wh_role_name(unsigned role);

#endif
