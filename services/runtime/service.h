/* The skeleton every service runs, so that a service's main.c is wiring
 * only: configuration, the store and its migrations, a DEALER socket to the
 * gateway's broker with heartbeats (which also announce the service, so an
 * instance rejoins a restarted gateway by itself), and the request loop.
 *
 * Requests that arrive together are run as one batch in one transaction with
 * a savepoint each, and answered after the commit: a reply always means
 * committed (synchronous=FULL), and a busy service pays one fsync per batch
 * rather than per request (group commit). */
#ifndef WH_SERVICE_H
#define WH_SERVICE_H

#include <uv.h>

#include "config.h"
#include "dispatch.h"
#include "figures.h"
#include "ops.h"
#include "store.h"

#define WH_SERVICE_MAX_BATCH 256 /* requests per transaction */
/* A transaction takes no further request once it has run this long, so that
 * a burst of slow requests is answered in slices, not all at its end. */
#define WH_SERVICE_BATCH_MS 100

typedef struct wh_service wh_service_t;

typedef struct wh_service_def {
    enum wh_svc svc;
    const char *const *migrations;
    int n_migrations;
    const wh_handler_t *handlers;
    size_t n_handlers;
    /* Optional: called once the store is open and before requests are
     * served (timers, relays); a non-zero return stops the service. */
    int (*start)(wh_service_t *s);
    /* Optional: called on shutdown before the loop closes. */
    void (*stop)(wh_service_t *s);
    /* Optional: the service's own figures for /metrics (see figures.h);
     * the runtime answers the service's METRICS operation with them. */
    wh_figures_fn figures;
    void *app;
} wh_service_def_t;

/* Runs the service until SIGINT or SIGTERM; returns the process exit code. */
int wh_service_main(const wh_service_def_t *def);

/* Calls an operation of another service through the broker (internal
 * operations; the principal is the calling service). fn gets the reply's
 * status and body (NULL when absent; valid during the call), or 503/504
 * when no instance answered within WH_SERVICE_CALL_TIMEOUT_MS. */
#define WH_SERVICE_CALL_TIMEOUT_MS 15000
/* While the broker cannot be reached (a service started before the gateway,
 * a gateway restarting), ZeroMQ tries again after this long, doubling up to
 * the maximum: a service joins within that much of the gateway's start. */
#define WH_SERVICE_RECONNECT_MS     10
#define WH_SERVICE_RECONNECT_MAX_MS 100
#define WH_SERVICE_MAX_CALLS        4096 /* calls in flight */
typedef void (*wh_call_fn)(void *ud, int status, const msgpack_object *body);
int wh_service_call(wh_service_t *s, int op, const char *body, size_t body_len, wh_call_fn fn,
                    void *ud);
/* Registers fn to run after every committed batch of requests that wrote
 * (the outbox relay uses it to send what the batch emitted at once); a
 * batch of reads only does not run it. */
void wh_service_on_commit(wh_service_t *s, void (*fn)(void *ud), void *ud);

/* Jobs: work a service does by itself every period (escalations, purges,
 * scheduled transitions, scans), on its loop between batches of requests.
 *
 * Unless WH_JOB_OWN_TXN, run is called in a write transaction begun for it
 * (BEGIN IMMEDIATE) and returns how many changes it made, or a negative
 * WH_E* code: then everything it wrote is rolled back and the failure is
 * logged with the job's name and the error, never with data. Otherwise it
 * is committed and, when it made changes, the on-commit hook (the outbox
 * relay) runs so that the events it emitted go out at once. due, when
 * given, is a plain read that decides whether run is needed at all, so that
 * an idle period takes no write lock. With WH_JOB_OWN_TXN run gets no
 * transaction: it begins and ends its own (a scan in batches) or needs none
 * (a WAL checkpoint); one it leaves open is rolled back and logged as a
 * failure, and after a run with changes the hook runs as well. Clocks are
 * the job's business: wh_clock_now_ms() honours WH_NOW. */
#define WH_SERVICE_MAX_JOBS 8
#define WH_JOB_OWN_TXN      1u

typedef struct wh_job {
    const char *name; /* for the log, e.g. "escalation" */
    bool (*due)(wh_store_t *store, void *arg);
    int64_t (*run)(wh_store_t *store, void *arg);
    unsigned flags;
} wh_job_t;

/* Runs job (which must outlive the service) with arg at once and then
 * every period_ms; call from the start hook. 0, or WH_ELIMIT past
 * WH_SERVICE_MAX_JOBS. */
int wh_service_every(wh_service_t *s, uint64_t period_ms, const wh_job_t *job, void *arg);

/* Long work on the loop (a batch of slow requests, a reminder scan over
 * thousands of agreements) calls this now and then: it sends a heartbeat
 * when one is due, so that the broker does not drop a busy instance. A no-op
 * outside a serving service (unit tests). */
void wh_service_keepalive(void);

uv_loop_t *wh_service_loop(wh_service_t *s);
wh_store_t *wh_service_store(wh_service_t *s);
const wh_config_t *wh_service_config(wh_service_t *s);
void *wh_service_app(wh_service_t *s);

#endif
