/* Counters for /metrics in the Prometheus text format: requests by route and
 * status, a latency histogram per route, requests in flight, and what the
 * caller adds (instances per service, connection counts). Routes are the
 * operations of proto/ops.h plus the gateway's own endpoints. */
#ifndef GATEWAY_METRICS_H
#define GATEWAY_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "ops.h"

enum {
    METRIC_ROUTE_HEALTHZ = WH_OP_COUNT,
    METRIC_ROUTE_READYZ,
    METRIC_ROUTE_METRICS,
    METRIC_ROUTE_ASSETS,
    METRIC_ROUTE_PARTICIPATE,        /* GET /s/{survey_id} */
    METRIC_ROUTE_PARTICIPATE_SUBMIT, /* POST /s/{survey_id} */
    METRIC_ROUTE_PARTICIPATE_THANKS, /* GET /s/{survey_id}/thanks */
    METRIC_ROUTE_CONSOLE,            /* GET /: the console's sign-in or app page */
    METRIC_ROUTE_UNMATCHED,
    METRIC_ROUTES
};
#define METRIC_LATENCY_BUCKETS 12

typedef struct metrics metrics_t;

metrics_t *metrics_new(void);
void metrics_destroy(metrics_t **m_p);
void metrics_observe(metrics_t *m, int route, int status, double seconds);
/* The whole /metrics text: these counters, then the HTTP server's, the
 * broker's requests in flight and the live instances of each service
 * (instances[svc], from 1). */
void metrics_render(const metrics_t *m, const wh_http_stats_t *st, uint64_t broker_pending,
                    const int instances[WH_SVC_COUNT], wh_buf_t *out);

#endif
