/* The agreements service: organisations and cooperation agreements. */
#include "organizations.h"
#include "outbox.h"
#include "schema.h"
#include "service.h"

static const wh_handler_t handlers[] = {
    {WH_OP_ORGS_CREATE, org_create},
    {WH_OP_ORGS_LIST, org_list},
    {WH_OP_ORGS_GET, org_get},
    {WH_OP_ORGS_PATCH, org_patch},
};

static wh_outbox_t *outbox;

static int start(wh_service_t *s)
{
    return wh_outbox_start(s, WH_OP_EVENTS_INGEST, &outbox);
}

static void stop(wh_service_t *s)
{
    wh_outbox_stop(&outbox);
}

int main(void)
{
    const wh_service_def_t def = {
        .svc = WH_SVC_AGREEMENTS,
        .migrations = agreements_migrations,
        .n_migrations = agreements_n_migrations,
        .handlers = handlers,
        .n_handlers = sizeof handlers / sizeof handlers[0],
        .start = start,
        .stop = stop,
    };
    return wh_service_main(&def);
}
