/* Matching a request's method and path to a row of proto/ops.h, and parsing
 * the query string. Path parameters ({id}) and query parameters both end up
 * as decoded name/value pairs for the envelope's params map. */
#ifndef GATEWAY_ROUTER_H
#define GATEWAY_ROUTER_H

#include <stddef.h>

#include "envelope.h"

#define ROUTER_MAX_PARAMS      32   /* path + query parameters in one request */
#define ROUTER_MAX_SEGMENTS    16   /* path segments */
#define ROUTER_MAX_PARAM_BYTES 1024 /* one decoded value */

enum { ROUTE_OK = 0, ROUTE_NOT_FOUND = 404, ROUTE_BAD_METHOD = 405, ROUTE_BAD_QUERY = 400 };

typedef struct route_match {
    int op;
    size_t n_params;
    wh_param_t params[ROUTER_MAX_PARAMS];
    char names[ROUTER_MAX_PARAMS][64];
    char allow[64]; /* methods allowed on the path, for 405 */
    char error[128];
    char storage[16384]; /* decoded values */
    size_t used;
} route_match_t;

/* Matches method/path/query. Returns ROUTE_OK with m filled, or one of the
 * other codes with m->error (and m->allow for 405) explaining. */
int router_match(const char *method, const char *path, const char *query, route_match_t *m);

#endif
