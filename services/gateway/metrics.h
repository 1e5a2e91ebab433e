/* Counters for /metrics in the Prometheus text format: requests by route and
 * status, a latency histogram per route, requests in flight, and what the
 * caller adds (instances per service, connection counts). Routes are the
 * operations of proto/ops.h plus the gateway's own endpoints. */
#ifndef GATEWAY_METRICS_H
#define GATEWAY_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "ops.h"

enum {
    METRIC_ROUTE_HEALTHZ = WH_OP_COUNT,
    METRIC_ROUTE_READYZ,
    METRIC_ROUTE_METRICS,
    METRIC_ROUTE_UNMATCHED,
    METRIC_ROUTES
};
#define METRIC_LATENCY_BUCKETS 12

typedef struct metrics metrics_t;

metrics_t *metrics_new(void);
void metrics_destroy(metrics_t **m_p);
void metrics_observe(metrics_t *m, int route, int status, double seconds);
void metrics_render(const metrics_t *m, wh_buf_t *out);

#endif
