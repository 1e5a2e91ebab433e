/* A service's figures for the gateway's /metrics: the internal operation
 * <SERVICE>_METRICS that every service answers from its runtime. The runtime
 * adds what every service has (outbox backlog and its oldest event's age,
 * inbox size, store and WAL size); a service adds its own through the
 * figures hook of its definition, preferably computed from its store
 * (counts survive restarts) rather than kept in memory.
 *
 * Figures are counts only: no per-subject or per-organisation labels, no
 * health data. A label's values come from a fixed set (a status, a channel,
 * an outcome) and a hook reads at most WH_FIGURES_MAX_LABEL_VALUES of them
 * per figure; a reply carries at most WH_FIGURES_MAX samples.
 *
 * Reply body: {"instance": "<host>:<pid>", "samples": [[name, type, help,
 * [label, value, ...], number], ...]}. name, type and help are string
 * constants; the gateway adds the labels service and instance. */
#ifndef WH_FIGURES_H
#define WH_FIGURES_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatch.h"
#include "ops.h"
#include "store.h"

#define WH_FIGURES_MAX              256 /* samples in one reply */
#define WH_FIGURES_MAX_LABELS       2   /* labels per sample (besides service, instance) */
#define WH_FIGURES_MAX_LABEL_VALUES 16  /* values a hook reads for one label */
#define WH_FIGURES_MAX_VALUE        32  /* bytes of a label value */
#define WH_FIGURES_MAX_INSTANCE     64  /* bytes of the instance name */

typedef struct wh_figures wh_figures_t;

/* Adds one sample. name, type ("gauge" or "counter") and help must be
 * string constants; label keys too (NULL when unused); label values are
 * copied (cut to WH_FIGURES_MAX_VALUE - 1 bytes). Samples past
 * WH_FIGURES_MAX are dropped. */
void wh_figure(wh_figures_t *f, const char *name, const char *type, const char *help,
               const char *k1, const char *v1, const char *k2, const char *v2, double value);
static inline void wh_figure_gauge(wh_figures_t *f, const char *name, const char *help,
                                   double value)
{
    wh_figure(f, name, "gauge", help, NULL, NULL, NULL, NULL, value);
}
/* Adds one sample per row of st (a prepared statement, parameters bound):
 * column 0 the value, columns 1 and 2 the values of labels k1 and k2 (k2
 * NULL when the query has only one label column); at most
 * WH_FIGURES_MAX_LABEL_VALUES rows are read. */
void wh_figures_rows(wh_figures_t *f, sqlite3_stmt *st, const char *name, const char *help,
                     const char *k1, const char *k2);
/* The first column of st's first row, or 0. */
int64_t wh_figures_count(sqlite3_stmt *st);

/* The service's own figures, called inside the read transaction of the
 * request. */
typedef void (*wh_figures_fn)(wh_store_t *store, wh_figures_t *f);

/* The internal operation by which the gateway asks svc for its figures. */
int wh_figures_op(enum wh_svc svc);
/* The handler of that operation (installed by the runtime); own is the
 * service's hook or NULL. */
void wh_figures_handle(wh_ctx_t *c, wh_figures_fn own);
/* A runtime module's own figures (the outbox relay's credit), added to
 * every reply of this process after the common ones; one at most. */
void wh_figures_also(wh_figures_fn fn);

#endif
