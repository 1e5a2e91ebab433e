/* Bearer tokens: the gateway's own store holds only a SHA-256 of each token
 * (tokens carry 256 random bits, so a fast hash is enough), and every
 * request looks its token up there, so revocation takes effect with the next
 * request. The bootstrap admin token comes from WH_ADMIN_TOKEN, or is
 * generated once into $WH_DATA_DIR/admin.token (mode 0600).
 *
 * The token resource (POST/GET/DELETE /v1/tokens) is served here too, by
 * handlers of the same shape as a service's. */
#ifndef GATEWAY_AUTH_H
#define GATEWAY_AUTH_H

#include <stddef.h>

#include "config.h"
#include "dispatch.h"
#include "store.h"

#define AUTH_TOKEN_PREFIX    "wh_"
#define AUTH_MAX_TOKEN_BYTES 128
#define AUTH_MAX_LABEL       200
#define AUTH_CACHE_SLOTS     1024 /* tokens remembered after their first use */
#define AUTH_MEMO_SLOTS      256  /* tokens in use whose hash is remembered */

typedef struct principal {
    char token_id[WH_ENV_MAX_TOKEN_ID + 1];
    unsigned role;
    char *org_list;    /* owned, or NULL when orgs is borrowed; the ids split in place */
    const char **orgs; /* owned with org_list, else the token cache's */
    size_t n_orgs;
} principal_t;

extern const char *const gateway_migrations[];
extern const int gateway_n_migrations;

/* Installs or refreshes the bootstrap admin token. */
int auth_bootstrap(wh_store_t *store, const wh_config_t *cfg);
/* Checks an Authorization header value. 0 with p filled (free with
 * auth_principal_close), or WH_ENOTFOUND for a missing, malformed, unknown,
 * revoked or expired token. p's organisations are borrowed from the token
 * cache, without an allocation per request: they stay valid until the next
 * auth_cache_clear (a token write), so use them before running one. */
int auth_check(wh_store_t *store, const char *authorization, principal_t *p);
void auth_principal_close(principal_t *p);
/* Fills p for a token (org_list comma-separated, copied); 0 or WH_ENOMEM. */
int auth_principal_set(principal_t *p, const char *token_id, unsigned role, const char *org_list);
/* Forgets every cached token; called on every token write. */
void auth_cache_clear(void);

void tokens_create(wh_ctx_t *c);
void tokens_list(wh_ctx_t *c);
void tokens_delete(wh_ctx_t *c);

#endif
