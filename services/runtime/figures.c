#include "figures.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

struct sample {
    const char *name, *type, *help;
    const char *key[WH_FIGURES_MAX_LABELS];
    char value[WH_FIGURES_MAX_LABELS][WH_FIGURES_MAX_VALUE];
    double v;
};

struct wh_figures {
    struct sample s[WH_FIGURES_MAX];
    int n;
};

void wh_figure(wh_figures_t *f, const char *name, const char *type, const char *help,
               const char *k1, const char *v1, const char *k2, const char *v2, double value)
{
    if (f->n >= WH_FIGURES_MAX)
        return;
    struct sample *s = &f->s[f->n++];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->type = type;
    s->help = help;
    s->key[0] = k1;
    s->key[1] = k2;
    snprintf(s->value[0], sizeof s->value[0], "%s", v1 ? v1 : "");
    snprintf(s->value[1], sizeof s->value[1], "%s", v2 ? v2 : "");
    s->v = value;
}

void wh_figures_rows(wh_figures_t *f, sqlite3_stmt *st, const char *name, const char *help,
                     const char *k1, const char *k2)
{
    if (!st)
        return;
    for (int i = 0; i < WH_FIGURES_MAX_LABEL_VALUES && sqlite3_step(st) == SQLITE_ROW; i++) {
        const char *v1 = (const char *)sqlite3_column_text(st, 1);
        const char *v2 = k2 ? (const char *)sqlite3_column_text(st, 2) : NULL;
        wh_figure(f, name, "gauge", help, k1, v1, k2, v2, (double)sqlite3_column_int64(st, 0));
    }
    sqlite3_reset(st);
}

int64_t wh_figures_count(sqlite3_stmt *st)
{
    if (!st)
        return 0;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

int wh_figures_op(enum wh_svc svc)
{
    switch (svc) {
    case WH_SVC_AGREEMENTS:
        return WH_OP_AGREEMENTS_METRICS;
    case WH_SVC_SURVEYS:
        return WH_OP_SURVEYS_METRICS;
    case WH_SVC_SCREENING:
        return WH_OP_SCREENING_METRICS;
    case WH_SVC_NOTIFICATIONS:
        return WH_OP_NOTIFICATIONS_METRICS;
    default:
        return -1;
    }
}

static const char SQL_HAS_TABLE[] =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1";
static const char SQL_OUTBOX_PENDING[] = "SELECT count(*) FROM wh_outbox WHERE state = 0";
static const char SQL_OUTBOX_REJECTED[] = "SELECT count(*) FROM wh_outbox WHERE state = 1";
static const char SQL_OUTBOX_OLDEST[] =
    "SELECT occurred_at FROM wh_outbox WHERE state = 0 ORDER BY seq LIMIT 1";
static const char SQL_INBOX_SIZE[] = "SELECT count(*) FROM wh_inbox";
static const char SQL_PAGE_COUNT[] = "PRAGMA page_count";
static const char SQL_PAGE_SIZE[] = "PRAGMA page_size";

static bool has_table(wh_store_t *store, const char *name)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_HAS_TABLE);
    if (!st)
        return false;
    wh_stmt_bind_text(st, 1, name);
    return wh_figures_count(st) > 0;
}

static wh_figures_fn also;

void wh_figures_also(wh_figures_fn fn)
{
    also = fn;
}

/* What every service has: its outbox, inbox and store. */
static void common_figures(wh_store_t *store, wh_figures_t *f)
{
    if (has_table(store, "wh_outbox")) {
        wh_figure_gauge(f, "wh_outbox_backlog",
                        "Events in the outbox not yet acknowledged by their consumer.",
                        (double)wh_figures_count(wh_store_stmt(store, SQL_OUTBOX_PENDING)));
        wh_figure_gauge(f, "wh_outbox_rejected",
                        "Events the consumer refused for good (kept for inspection).",
                        (double)wh_figures_count(wh_store_stmt(store, SQL_OUTBOX_REJECTED)));
        double age = 0;
        sqlite3_stmt *st = wh_store_stmt(store, SQL_OUTBOX_OLDEST);
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            wh_str_t at = wh_stmt_col_str(st, 0);
            int64_t ms;
            if (at.p && wh_clock_parse_rfc3339(at.p, at.n, &ms) == 0) {
                int64_t d = wh_clock_now_ms() - ms;
                age = d > 0 ? (double)d / 1000.0 : 0;
            }
        }
        if (st)
            sqlite3_reset(st);
        wh_figure_gauge(f, "wh_outbox_oldest_age_seconds",
                        "Age of the oldest unacknowledged outbox event (0 when none).", age);
        if (also)
            also(store, f);
    }
    if (has_table(store, "wh_inbox"))
        wh_figure_gauge(f, "wh_inbox_events",
                        "Event ids remembered in the inbox (for exactly-once effects).",
                        (double)wh_figures_count(wh_store_stmt(store, SQL_INBOX_SIZE)));
    int64_t pages = wh_figures_count(wh_store_stmt(store, SQL_PAGE_COUNT));
    int64_t page_size = wh_figures_count(wh_store_stmt(store, SQL_PAGE_SIZE));
    wh_figure_gauge(f, "wh_store_bytes", "Size of the service's SQLite database (pages in use).",
                    (double)(pages * page_size));
    double wal = 0;
    const char *db = sqlite3_db_filename(wh_store_db(store), "main");
    if (db && *db) {
        char path[4096];
        struct stat sb;
        if (snprintf(path, sizeof path, "%s-wal", db) < (int)sizeof path && stat(path, &sb) == 0)
            wal = (double)sb.st_size;
    }
    wh_figure_gauge(f, "wh_store_wal_bytes", "Size of the store's write-ahead log file.", wal);
}

static wh_figures_t figures; /* one request at a time on the service's loop */

void wh_figures_handle(wh_ctx_t *c, wh_figures_fn own)
{
    wh_figures_t *f = &figures;
    f->n = 0;
    common_figures(c->store, f);
    if (own)
        own(c->store, f);
    char instance[WH_FIGURES_MAX_INSTANCE];
    char host[WH_FIGURES_MAX_INSTANCE - 12];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(instance, sizeof instance, "%s:%ld", host, (long)getpid());
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 2);
    wh_msg_kv_str(pk, "instance", instance);
    wh_msg_pack_str(pk, "samples");
    msgpack_pack_array(pk, (uint32_t)f->n);
    for (int i = 0; i < f->n; i++) {
        const struct sample *s = &f->s[i];
        msgpack_pack_array(pk, 5);
        wh_msg_pack_str(pk, s->name);
        wh_msg_pack_str(pk, s->type);
        wh_msg_pack_str(pk, s->help);
        uint32_t nl = 0;
        for (int k = 0; k < WH_FIGURES_MAX_LABELS; k++)
            nl += s->key[k] != NULL;
        msgpack_pack_array(pk, nl * 2);
        for (int k = 0; k < WH_FIGURES_MAX_LABELS; k++)
            if (s->key[k]) {
                wh_msg_pack_str(pk, s->key[k]);
                wh_msg_pack_str(pk, s->value[k]);
            }
        msgpack_pack_double(pk, s->v);
    }
}
