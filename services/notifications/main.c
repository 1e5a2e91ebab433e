/* The notifications service: events from the other services' outboxes,
 * turned into e-mails and signed webhooks. */
#include "inbox.h"
#include "ingest.h"
#include "schema.h"
#include "service.h"

static const wh_handler_t handlers[] = {
    {WH_OP_EVENTS_INGEST, events_ingest},
};

static int start(wh_service_t *s)
{
    return wh_inbox_init_store(wh_service_store(s));
}

int main(void)
{
    const wh_service_def_t def = {
        .svc = WH_SVC_NOTIFICATIONS,
        .migrations = notifications_migrations,
        .n_migrations = notifications_n_migrations,
        .handlers = handlers,
        .n_handlers = sizeof handlers / sizeof handlers[0],
        .start = start,
    };
    return wh_service_main(&def);
}
