/* The delivery engine: sends pending deliveries (webhooks and e-mails) on
 * the service's libuv loop through libcurl's multi interface
 * (services/notifications/http_client.h), so that no send ever blocks the loop, and writes
 * each attempt's outcome back to the store.
 *
 * State lives in the store, not here: a delivery is `pending` with the time
 * it is next due until an attempt succeeds or the schedule (schedule.h) is
 * over. The engine reads due deliveries into memory (bounded), keeps at
 * most ENGINE_MAX_PER_HOST transfers going to one receiver host (and as
 * many SMTP sessions) and ENGINE_MAX_INFLIGHT in all, and writes outcomes in
 * batches, one transaction per batch. A delivery whose attempt was cut off
 * by a crash is still pending and due, so it is sent again after a restart:
 * delivery is at least once, and receivers recognise a repeat by its
 * webhook-id (e-mail: its Message-ID).
 *
 * One engine owns a store's deliveries: a second process on the same store
 * would send the same deliveries too (still at least once).
 *
 * E-mail is limited per organisation (ENGINE_MAIL_PER_ORG_HOUR), so that
 * one tenant cannot make workhealth a mass mailer, nor hold up every other
 * tenant's mail behind its own: mail beyond the limit stays pending and is
 * sent in a later hour.
 *
 * Configuration (environment): WH_SMTP_URL, WH_MAIL_FROM, WH_PUBLIC_URL
 * (see README), WH_RETRY_SCALE (schedule.h), WH_MAIL_PER_ORG_HOUR,
 * WH_WEBHOOK_ALLOW (netguard.h). Without WH_SMTP_URL, e-mail
 * deliveries stay pending, to be sent once it is set. */
#ifndef NOTIFICATIONS_ENGINE_H
#define NOTIFICATIONS_ENGINE_H

#include "service.h"

#define ENGINE_MAX_INFLIGHT        128  /* transfers at once, all receivers */
#define ENGINE_MAX_PER_HOST        4    /* transfers at once to one webhook host; SMTP sessions */
#define ENGINE_MAX_JOBS            2048 /* deliveries held in memory, queued or in flight */
#define ENGINE_MAX_QUEUED_PER_HOST 1024 /* of those, waiting for one host */
#define ENGINE_MAX_OUTCOMES        4096 /* outcomes waiting to be written */
#define ENGINE_FLUSH_MS            20   /* outcomes are written at most this late */
#define ENGINE_FLUSH_BATCH         512  /* or as soon as this many wait */
#define ENGINE_TICK_MS             1000 /* due deliveries are looked for at least this often */
/* The limits of one transfer are in webhook.h and mail.h. */
/* E-mails started per organisation (the event's) in one hour; more wait,
 * pending, for the next hour: nothing is dropped. WH_MAIL_PER_ORG_HOUR
 * overrides the default (1..ENGINE_MAIL_PER_ORG_HOUR_MAX). */
#define ENGINE_MAIL_PER_ORG_HOUR     200
#define ENGINE_MAIL_PER_ORG_HOUR_MAX 1000000
#define ENGINE_MAIL_WINDOW_MS        (3600 * 1000)
#define ENGINE_MAIL_ORGS             1024 /* organisations whose hour is tracked at once */

typedef struct engine engine_t;

/* Starts the engine on the service's loop; call from the start hook. */
int engine_start(wh_service_t *s, engine_t **out);
/* Ends transfers in flight (they stay pending and are sent again after the
 * next start), writes the outcomes gathered so far and closes the handles. */
void engine_stop(engine_t **e_p);

#endif
