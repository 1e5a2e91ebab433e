/* The notifications service: events from the other services' outboxes,
 * turned into e-mails and signed webhooks. */
#include "notifications_figures.h"
#include "codes_mail.h"
#include "deliveries.h"
#include "engine.h"
#include "inbox.h"
#include "ingest.h"
#include "schema.h"
#include "service.h"
#include "subscriptions.h"

static const wh_handler_t handlers[] = {
    {WH_OP_EVENTS_INGEST, events_ingest},
    {WH_OP_CODES_MAIL, codes_mail_accept},
    {WH_OP_SUBSCRIPTIONS_CREATE, subscription_create},
    {WH_OP_SUBSCRIPTIONS_LIST, subscription_list},
    {WH_OP_SUBSCRIPTIONS_GET, subscription_get},
    {WH_OP_SUBSCRIPTIONS_DELETE, subscription_delete},
    {WH_OP_DELIVERIES_LIST, delivery_list},
    {WH_OP_DELIVERIES_RETRY, delivery_retry},
};

static engine_t *engine;

static int start(wh_service_t *s)
{
    int rc = wh_inbox_init_store(wh_service_store(s));
    rc = rc ? rc : engine_start(s, &engine);
    return rc ? rc : codes_mail_start(s);
}

static void stop(wh_service_t *s)
{
    codes_mail_stop();
    engine_stop(&engine);
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
        .stop = stop,
        .figures = notifications_figures,
    };
    return wh_service_main(&def);
}
