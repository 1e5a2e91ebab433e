/* The services' figures on /metrics: when /metrics is scraped, the gateway
 * asks every live instance of every service for its figures (the internal
 * operation <SERVICE>_METRICS, see services/runtime/figures.h) with a short
 * deadline, and renders what came back, each sample labelled with service
 * and instance, plus wh_service_up{service} (1 when at least one instance
 * answered). A missing or slow service costs the scrape at most
 * SCRAPE_TIMEOUT_MS and shows as up 0; it never blocks /metrics.
 *
 * Label cardinality is bounded: 4 services x BROKER_MAX_INSTANCES instances
 * x WH_FIGURES_MAX samples each; samples that are malformed (a bad name, an
 * unknown type, a reserved or extra label, a value over
 * WH_FIGURES_MAX_VALUE bytes) are dropped. */
#ifndef GATEWAY_SCRAPE_H
#define GATEWAY_SCRAPE_H

#include <stdint.h>

#include "broker.h"
#include "buf.h"

#define SCRAPE_TIMEOUT_MS 1000 /* per instance, all asked at once */

/* text is the rendered exposition (valid during the call). */
typedef void (*scrape_done_fn)(void *ud, const wh_buf_t *text);

/* Starts a scrape; fn is called exactly once, possibly before this
 * returns (no instance up). */
void scrape_start(broker_t *b, uint64_t timeout_ms, scrape_done_fn fn, void *ud);

/* Exposed for tests: adds one instance's reply body (msgpack) for svc to the
 * scrape s, and renders. */
typedef struct scrape scrape_t;
scrape_t *scrape_new(void);
void scrape_add_reply(scrape_t *s, enum wh_svc svc, const char *reply, size_t len);
void scrape_render(scrape_t *s, wh_buf_t *out);
void scrape_destroy(scrape_t *s);

#endif
