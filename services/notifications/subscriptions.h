/* Subscriptions: which events of an organisation go where (an e-mail
 * address or a webhook URL) and in which language. A webhook subscription
 * gets a signing secret, shown only in the answer to its creation.
 *
 * Admins manage every organisation's subscriptions; coordinators,
 * consultants and occupational health those of their organisations, and
 * anything else is 404. Alert events (alert.*) may be subscribed to, and
 * such subscriptions deleted, only by admins and occupational health:
 * alert notices are for the people who act on them, and a colleague must
 * not be able to silence them. */
#ifndef NOTIFICATIONS_SUBSCRIPTIONS_H
#define NOTIFICATIONS_SUBSCRIPTIONS_H

#include <stdbool.h>

#include "dispatch.h"
#include "netguard.h"

#define SUB_MAX_EVENTS 20   /* event types in one subscription */
#define SUB_MAX_URL    2000 /* characters of a webhook URL */
#define SUB_MAX_HOST   300  /* host:port of a webhook URL */

void subscription_create(wh_ctx_t *c);
void subscription_list(wh_ctx_t *c);
void subscription_get(wh_ctx_t *c);
void subscription_delete(wh_ctx_t *c);

/* True for the roles that see and manage alert notifications. */
bool subscription_role_sees_alerts(unsigned role);
/* The concurrency key of a webhook URL ("host:port", lower case) into out;
 * false unless url is an absolute http(s) URL with a host and without
 * user information. */
bool subscription_webhook_host(const char *url, char *out, size_t cap);
/* The same, and the address guard's judgement of the host (netguard.h):
 * SUB_URL_REFUSED, with the class in *cls (may be NULL), when the host is a
 * literal address or a name that the guard refuses. */
enum { SUB_URL_OK, SUB_URL_BAD, SUB_URL_REFUSED };
int subscription_webhook_check(const char *url, char *out, size_t cap, net_class_t *cls);

#endif
