/* The screening service. It opens its store, joins the broker and serves the
 * operations that proto/ops.h gives it; its API arrives with its own work. */
#include "service.h"

static const char *const migrations[] = {
    /* 1: the store exists and is versioned; tables come with the API. */
    "CREATE TABLE service_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
};

int main(void)
{
    static const wh_service_def_t def = {
        .svc = WH_SVC_SCREENING,
        .migrations = migrations,
        .n_migrations = sizeof migrations / sizeof migrations[0],
    };
    return wh_service_main(&def);
}
