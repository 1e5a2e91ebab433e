/* Calendar feeds: a secret address at which a calendar program, which sends
 * no bearer token, reads the agreement deadlines a token could see
 * (POST/GET/DELETE /v1/calendar-feeds).
 *
 * A feed belongs to the token that created it and reads with that token's
 * role, narrowed to the feed's org_ids (a subset of the token's; an admin's
 * feed may name any, or none for every organisation). The store holds only
 * a SHA-256 of the feed's secret, which is shown once, in the URL that the
 * creation answers. The secret opens GET /v1/agreements/calendar.ics?feed=
 * and nothing else: it is not a bearer token. A feed stops working at once
 * when it is deleted, and with its token: when that token is revoked or
 * expires, every feed it created answers 404 from then on. */
#ifndef GATEWAY_FEEDS_H
#define GATEWAY_FEEDS_H

#include "auth.h"
#include "dispatch.h"
#include "store.h"

#define FEEDS_SECRET_PREFIX    "whf_"
#define FEEDS_MAX_SECRET_BYTES 128 /* a longer ?feed= is unknown at once */
#define FEEDS_MAX_LABEL        200
#define FEEDS_MAX_PER_TOKEN    100  /* live feeds one token may hold: 422 beyond */
#define FEEDS_MAX_URL          1024 /* WH_PUBLIC_URL and the feed's path and secret */

/* The feeds table is the gateway store's migration 2 (gateway_migrations in
 * auth.c, where every migration of that store is listed). */
/* The base of the URLs feeds are given under (WH_PUBLIC_URL); copied. */
int feeds_init(const char *public_url);
/* The principal a ?feed= secret reads with: 0 with p filled (free with
 * auth_principal_close), or WH_ENOTFOUND when the secret is malformed,
 * unknown, deleted, or its token is revoked or expired. */
int feeds_resolve(wh_store_t *store, const char *secret, principal_t *p);

void feeds_create(wh_ctx_t *c);
void feeds_list(wh_ctx_t *c);
void feeds_delete(wh_ctx_t *c);

#endif
