#include "sweep.h"

#include <stdlib.h>

#include "err.h"

struct sweep {
    uv_timer_t timer; /* its data is the sweep, freed once the close ends */
    wh_store_t *store;
    wh_dispatcher_t *d;
};

static const char SQL_SECURE_DELETE[] = "PRAGMA secure_delete=ON;";
static const char SQL_WAL_TRUNCATE[] = "PRAGMA wal_checkpoint(TRUNCATE)";

static void on_timer(uv_timer_t *t)
{
    sweep_t *s = t->data;
    if (wh_store_begin(s->store) != 0)
        return;
    wh_dispatcher_expire(s->d);
    if (wh_store_commit(s->store) != 0) {
        wh_store_rollback(s->store);
        return;
    }
    sqlite3_stmt *st = wh_store_stmt(s->store, SQL_WAL_TRUNCATE);
    if (st) {
        sqlite3_step(st);
        sqlite3_reset(st);
    }
}

int sweep_start(uv_loop_t *loop, wh_store_t *store, wh_dispatcher_t *d, sweep_t **out)
{
    if (wh_store_exec(store, SQL_SECURE_DELETE) != 0)
        return WH_ESTORE;
    sweep_t *s = calloc(1, sizeof *s);
    if (!s)
        return WH_ENOMEM;
    s->store = store;
    s->d = d;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_timer, SWEEP_FIRST_MS, SWEEP_EVERY_MS);
    *out = s;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void sweep_stop(sweep_t **s_p)
{
    sweep_t *s = *s_p;
    if (!s)
        return;
    uv_close((uv_handle_t *)&s->timer, on_closed);
    *s_p = NULL;
}
