#include "metrics.h"

#include <stdlib.h>

static const double bounds[METRIC_LATENCY_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

struct metrics {
    uint64_t by_status[METRIC_ROUTES][6][100]; /* status / 100, status % 100 */
    uint64_t buckets[METRIC_ROUTES][METRIC_LATENCY_BUCKETS + 1];
    double sum[METRIC_ROUTES];
    uint64_t count[METRIC_ROUTES];
};

metrics_t *metrics_new(void)
{
    return calloc(1, sizeof(metrics_t));
}

void metrics_destroy(metrics_t **m_p)
{
    free(*m_p);
    *m_p = NULL;
}

void metrics_observe(metrics_t *m, int route, int status, double seconds)
{
    if (route < 0 || route >= METRIC_ROUTES || status < 100 || status > 599)
        return;
    m->by_status[route][status / 100][status % 100]++;
    int b = 0;
    while (b < METRIC_LATENCY_BUCKETS && seconds > bounds[b])
        b++;
    m->buckets[route][b]++;
    m->sum[route] += seconds;
    m->count[route]++;
}

static const char *route_name(int r)
{
    switch (r) {
    case METRIC_ROUTE_HEALTHZ:
        return "healthz";
    case METRIC_ROUTE_READYZ:
        return "readyz";
    case METRIC_ROUTE_METRICS:
        return "metrics";
    case METRIC_ROUTE_ASSETS:
        return "assets";
    case METRIC_ROUTE_PARTICIPATE:
        return "page_participate";
    case METRIC_ROUTE_PARTICIPATE_SUBMIT:
        return "page_participate_submit";
    case METRIC_ROUTE_PARTICIPATE_THANKS:
        return "page_participate_thanks";
    case METRIC_ROUTE_CONSOLE:
        return "console";
    case METRIC_ROUTE_UNMATCHED:
        return "unmatched";
    }
    return wh_ops[r].name;
}

void metrics_render(const metrics_t *m, const wh_http_stats_t *st, uint64_t broker_pending,
                    const int instances[WH_SVC_COUNT], wh_buf_t *out)
{
    wh_buf_puts(out, "# HELP wh_http_requests_total HTTP requests by route and status.\n"
                     "# TYPE wh_http_requests_total counter\n");
    for (int r = 0; r < METRIC_ROUTES; r++)
        for (int c = 1; c < 6; c++)
            for (int s = 0; s < 100; s++)
                if (m->by_status[r][c][s])
                    wh_buf_printf(out, "wh_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                                  route_name(r), c * 100 + s,
                                  (unsigned long long)m->by_status[r][c][s]);
    wh_buf_puts(out, "# HELP wh_http_request_duration_seconds Time from the request's first "
                     "byte to its response.\n"
                     "# TYPE wh_http_request_duration_seconds histogram\n");
    for (int r = 0; r < METRIC_ROUTES; r++) {
        if (!m->count[r])
            continue;
        uint64_t cum = 0;
        for (int b = 0; b < METRIC_LATENCY_BUCKETS; b++) {
            cum += m->buckets[r][b];
            wh_buf_printf(out,
                          "wh_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                          route_name(r), bounds[b], (unsigned long long)cum);
        }
        cum += m->buckets[r][METRIC_LATENCY_BUCKETS];
        wh_buf_printf(out,
                      "wh_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                      "wh_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                      "wh_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                      route_name(r), (unsigned long long)cum, route_name(r), m->sum[r],
                      route_name(r), (unsigned long long)m->count[r]);
    }
    wh_buf_printf(out,
                  "# HELP wh_http_requests_in_flight Requests received and not yet answered.\n"
                  "# TYPE wh_http_requests_in_flight gauge\nwh_http_requests_in_flight %llu\n"
                  "# HELP wh_http_connections_open HTTP connections open now.\n"
                  "# TYPE wh_http_connections_open gauge\nwh_http_connections_open %llu\n"
                  "# HELP wh_http_connections_total HTTP connections accepted.\n"
                  "# TYPE wh_http_connections_total counter\nwh_http_connections_total %llu\n"
                  "# HELP wh_http_connections_rejected_total HTTP connections refused at a "
                  "connection limit.\n"
                  "# TYPE wh_http_connections_rejected_total counter\n"
                  "wh_http_connections_rejected_total %llu\n"
                  "# HELP wh_http_timeouts_total Connections closed for being too slow (first "
                  "byte, headers, body, idle).\n"
                  "# TYPE wh_http_timeouts_total counter\nwh_http_timeouts_total %llu\n"
                  "# HELP wh_http_limit_errors_total Requests refused for exceeding a size limit.\n"
                  "# TYPE wh_http_limit_errors_total counter\nwh_http_limit_errors_total %llu\n"
                  "# HELP wh_http_queued_bytes Response bytes queued for slow clients.\n"
                  "# TYPE wh_http_queued_bytes gauge\nwh_http_queued_bytes %llu\n"
                  "# HELP wh_http_shed_total Requests shed under load (503).\n"
                  "# TYPE wh_http_shed_total counter\nwh_http_shed_total %llu\n"
                  "# HELP wh_broker_pending Requests in flight to the services.\n"
                  "# TYPE wh_broker_pending gauge\nwh_broker_pending %llu\n"
                  "# HELP wh_service_instances Live instances per service.\n"
                  "# TYPE wh_service_instances gauge\n",
                  (unsigned long long)st->requests_in_flight,
                  (unsigned long long)st->connections_open,
                  (unsigned long long)st->connections_total,
                  (unsigned long long)st->connections_rejected, (unsigned long long)st->timeouts,
                  (unsigned long long)st->limit_errors, (unsigned long long)st->queued_bytes,
                  (unsigned long long)st->shed, (unsigned long long)broker_pending);
    for (int s = 1; s < WH_SVC_COUNT; s++)
        wh_buf_printf(out, "wh_service_instances{service=\"%s\"} %d\n", wh_service_names[s],
                      instances[s]);
}
