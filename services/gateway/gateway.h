/* The gateway: the single HTTP entry point. For each request it matches the
 * route, authenticates the bearer token, checks the role against the
 * operation's row, converts the JSON body to msgpack, and either runs the
 * operation itself (tokens, the OpenAPI document) or sends it through the
 * broker to the owning service; then it renders the reply as JSON, or as
 * application/problem+json for errors. /healthz, /readyz and /metrics serve
 * the orchestrator. */
#ifndef GATEWAY_GATEWAY_H
#define GATEWAY_GATEWAY_H

#include <uv.h>

#include "config.h"

#define GATEWAY_REQUEST_TIMEOUT_MS 10000 /* default broker deadline: 504 after it */
#define GATEWAY_MAX_REQUEST_ID     64
#define GATEWAY_MAX_IMPORT_BYTES   (16 * 1024 * 1024) /* a text/csv import's body: 413 */

typedef struct gateway gateway_t;

/* Opens the store, bootstraps the admin token, binds the broker and the
 * HTTP listener. Tunables beyond cfg come from the environment
 * (WH_REQUEST_TIMEOUT_MS, WH_HTTP_MAX_CONNECTIONS, WH_HTTP_MAX_CONNECTIONS_PER_ADDR,
 * WH_HTTP_MAX_BODY_BYTES, WH_HTTP_MAX_CONN_QUEUED_BYTES, WH_HTTP_MAX_QUEUED_BYTES,
 * WH_HTTP_FIRST_BYTE_TIMEOUT_MS, WH_HTTP_HEADER_TIMEOUT_MS, WH_HTTP_BODY_TIMEOUT_MS,
 * WH_HTTP_IDLE_TIMEOUT_MS, WH_HTTP_MAX_LARGE_HELD_BYTES: see http.h;
 * WH_HTTP_MAX_IMPORT_BYTES for a text/csv import's body;
 * and for operations without a token WH_PUBLIC_RATE_PER_S and WH_PUBLIC_BURST
 * per address: see ratelimit.h; WH_SESSION_IDLE_S and WH_SESSION_MAX_S for
 * the console's sessions: see console.h). */
int gateway_new(uv_loop_t *loop, const wh_config_t *cfg, gateway_t **out);
void gateway_destroy(gateway_t **gw_p);
int gateway_http_port(const gateway_t *gw);

#endif
