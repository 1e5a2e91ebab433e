#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "id.h"
#include "log.h"

/* seq orders events; next_ms = 0 means "not yet sent by this process or due
 * now", > 0 the earliest time of the next attempt. state 1 = rejected.
 * request_id is the request that emitted the event (NULL from a job): the
 * relay sends the event under it, so that the consumer's lines, and the
 * deliveries made from it, name the request an operator is following. */
static const char SQL_OUTBOX_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS wh_outbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " type TEXT NOT NULL,"
    " org_id TEXT,"
    " occurred_at TEXT NOT NULL,"
    " data BLOB NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_ms INTEGER NOT NULL DEFAULT 0,"
    " state INTEGER NOT NULL DEFAULT 0,"
    " last_status INTEGER,"
    " request_id TEXT);"
    "CREATE INDEX IF NOT EXISTS wh_outbox_due ON wh_outbox(state, next_ms, seq);";
/* Stores made before request ids were kept get the column. */
static const char SQL_OUTBOX_HAS_REQUEST_ID[] =
    "SELECT count(*) FROM pragma_table_info('wh_outbox') WHERE name = 'request_id'";
static const char SQL_OUTBOX_ADD_REQUEST_ID[] = "ALTER TABLE wh_outbox ADD COLUMN request_id TEXT";
static const char SQL_OUTBOX_INSERT[] =
    "INSERT INTO wh_outbox(id, type, org_id, occurred_at, data, request_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/* New events (beyond what this process has sent) and failed ones now due. */
static const char SQL_OUTBOX_DUE[] =
    "SELECT seq, id, type, org_id, occurred_at, data, request_id FROM wh_outbox"
    " WHERE state = 0 AND ((next_ms = 0 AND seq > ?1) OR (next_ms > 0 AND next_ms <= ?2))"
    " ORDER BY seq LIMIT ?3";
static const char SQL_OUTBOX_ACK[] = "DELETE FROM wh_outbox WHERE seq = ?1";
static const char SQL_OUTBOX_RETRY[] =
    "UPDATE wh_outbox SET attempts = attempts + 1, next_ms = ?2, last_status = ?3"
    " WHERE seq = ?1";
static const char SQL_OUTBOX_REJECT[] =
    "UPDATE wh_outbox SET state = 1, attempts = attempts + 1, last_status = ?2 WHERE seq = ?1";
static const char SQL_OUTBOX_HOLD[] = "UPDATE wh_outbox SET next_ms = ?2 WHERE seq = ?1";
static const char SQL_OUTBOX_BACKLOG[] = "SELECT count(*) FROM wh_outbox WHERE state = 0";
static const char SQL_OUTBOX_ATTEMPTS[] = "SELECT attempts FROM wh_outbox WHERE seq = ?1";

struct inflight {
    wh_outbox_t *ob;
    int64_t seq;
};

/* Outcomes are gathered and written in one transaction per relay round,
 * not one per reply. */
struct outcome {
    int64_t seq;
    int status;
};

struct wh_outbox {
    wh_service_t *svc;
    wh_store_t *store;
    int op;
    uv_timer_t timer;
    uv_idle_t flush;
    int64_t sent_up_to; /* highest seq sent by this process */
    int in_flight;
    struct outcome *outcomes;
    size_t n_outcomes, cap_outcomes;
    int stopping;
};

int wh_outbox_init_store(wh_store_t *store)
{
    int rc = wh_store_exec(store, SQL_OUTBOX_SCHEMA);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = wh_store_stmt(store, SQL_OUTBOX_HAS_REQUEST_ID);
    if (!st)
        return WH_ESTORE;
    bool has = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    sqlite3_reset(st);
    return has ? 0 : wh_store_exec(store, SQL_OUTBOX_ADD_REQUEST_ID);
}

int wh_outbox_emit(wh_store_t *store, const char *type, const char *org_id, const char *data,
                   size_t data_len, char id_out[27])
{
    char id[WH_ID_LEN + 1], now[WH_RFC3339_LEN];
    wh_id_new(id);
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    sqlite3_stmt *st = wh_store_stmt(store, SQL_OUTBOX_INSERT);
    if (!st)
        return WH_ESTORE;
    static const char empty_map = (char)0x80;
    wh_stmt_bind_text(st, 1, id);
    wh_stmt_bind_text(st, 2, type);
    wh_stmt_bind_text(st, 3, org_id);
    wh_stmt_bind_text(st, 4, now);
    if (data)
        sqlite3_bind_blob(st, 5, data, (int)data_len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_blob(st, 5, &empty_map, 1, SQLITE_STATIC);
    wh_stmt_bind_text(st, 6, wh_log_request());
    if (sqlite3_step(st) != SQLITE_DONE)
        return WH_ESTORE;
    if (id_out)
        memcpy(id_out, id, sizeof id);
    return 0;
}

int64_t wh_outbox_backlog(wh_store_t *store)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_OUTBOX_BACKLOG);
    return st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
}

static uint64_t backoff_ms(int attempts)
{
    uint64_t d = WH_OUTBOX_RETRY_MIN_MS;
    for (int i = 0; i < attempts && d < WH_OUTBOX_RETRY_MAX_MS; i++)
        d *= 2;
    if (d > WH_OUTBOX_RETRY_MAX_MS)
        d = WH_OUTBOX_RETRY_MAX_MS;
    /* Full jitter over the upper half spreads retries of many events. */
    uint32_t r;
    wh_random_bytes(&r, sizeof r);
    return d / 2 + r % (d / 2 + 1);
}

static void write_outcomes(wh_outbox_t *ob)
{
    if (ob->n_outcomes == 0 || wh_store_begin(ob->store) != 0)
        return;
    int64_t now = wh_clock_now_ms();
    for (size_t i = 0; i < ob->n_outcomes; i++) {
        struct outcome *o = &ob->outcomes[i];
        sqlite3_stmt *st;
        if (o->status >= 200 && o->status < 300) {
            st = wh_store_stmt(ob->store, SQL_OUTBOX_ACK);
            sqlite3_bind_int64(st, 1, o->seq);
        } else if (o->status >= 400 && o->status < 500 && o->status != 408 && o->status != 429) {
            wh_log_error("event %lld rejected by the consumer with %d; kept as rejected",
                         (long long)o->seq, o->status);
            st = wh_store_stmt(ob->store, SQL_OUTBOX_REJECT);
            sqlite3_bind_int64(st, 1, o->seq);
            sqlite3_bind_int(st, 2, o->status);
        } else {
            sqlite3_stmt *a = wh_store_stmt(ob->store, SQL_OUTBOX_ATTEMPTS);
            sqlite3_bind_int64(a, 1, o->seq);
            int attempts = sqlite3_step(a) == SQLITE_ROW ? sqlite3_column_int(a, 0) : 0;
            sqlite3_reset(a);
            st = wh_store_stmt(ob->store, SQL_OUTBOX_RETRY);
            sqlite3_bind_int64(st, 1, o->seq);
            sqlite3_bind_int64(st, 2, now + (int64_t)backoff_ms(attempts));
            sqlite3_bind_int(st, 3, o->status);
        }
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    if (wh_store_commit(ob->store) != 0) {
        wh_store_rollback(ob->store);
        return; /* outcomes are retried: a resend is harmless */
    }
    ob->n_outcomes = 0;
}

static void on_flush(uv_idle_t *h);

static void on_reply(void *ud, int status, const msgpack_object *body)
{
    struct inflight *f = ud;
    wh_outbox_t *ob = f->ob;
    int64_t seq = f->seq;
    free(f);
    ob->in_flight--;
    if (ob->n_outcomes == ob->cap_outcomes) {
        size_t cap = ob->cap_outcomes ? ob->cap_outcomes * 2 : 64;
        struct outcome *o = realloc(ob->outcomes, cap * sizeof *o);
        if (!o)
            return; /* unrecorded: the event is resent after a restart */
        ob->outcomes = o;
        ob->cap_outcomes = cap;
    }
    ob->outcomes[ob->n_outcomes++] = (struct outcome){seq, status};
    if (!ob->stopping && !uv_is_active((uv_handle_t *)&ob->flush))
        uv_idle_start(&ob->flush, on_flush);
}

static void relay(wh_outbox_t *ob)
{
    if (ob->stopping)
        return;
    while (ob->in_flight < WH_OUTBOX_WINDOW) {
        sqlite3_stmt *st = wh_store_stmt(ob->store, SQL_OUTBOX_DUE);
        if (!st)
            return;
        sqlite3_bind_int64(st, 1, ob->sent_up_to);
        sqlite3_bind_int64(st, 2, wh_clock_now_ms());
        int want = WH_OUTBOX_WINDOW - ob->in_flight;
        sqlite3_bind_int(st, 3, want < WH_OUTBOX_BATCH ? want : WH_OUTBOX_BATCH);
        int sent = 0;
        /* Retries due now are marked not-due while in flight so the next
         * round does not send them again; the reply's outcome decides. */
        int64_t retry_seqs[WH_OUTBOX_BATCH];
        int n_retry = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t seq = sqlite3_column_int64(st, 0);
            wh_buf_t ev;
            wh_buf_init(&ev);
            msgpack_packer pk;
            wh_msg_writer_init(&pk, &ev);
            msgpack_pack_map(&pk, 5);
            wh_msg_pack_str(&pk, "id");
            wh_msg_pack_wstr(&pk, wh_stmt_col_str(st, 1));
            wh_msg_pack_str(&pk, "type");
            wh_msg_pack_wstr(&pk, wh_stmt_col_str(st, 2));
            wh_msg_pack_str(&pk, "org_id");
            wh_msg_pack_wstr(&pk, wh_stmt_col_str(st, 3));
            wh_msg_pack_str(&pk, "occurred_at");
            wh_msg_pack_wstr(&pk, wh_stmt_col_str(st, 4));
            wh_msg_pack_str(&pk, "data");
            wh_buf_append(&ev, sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5));
            struct inflight *f = malloc(sizeof *f);
            /* Sent under the request that emitted it (wh_service_call takes
             * the current one), or a new id when none did. */
            char origin[WH_LOG_MAX_REQUEST_ID + 1], outer[WH_LOG_MAX_REQUEST_ID + 1];
            snprintf(outer, sizeof outer, "%s", wh_log_request() ? wh_log_request() : "");
            wh_stmt_col_copy(st, 6, origin, sizeof origin);
            wh_log_set_request(origin);
            int rc = f ? wh_service_call(ob->svc, ob->op, ev.data, ev.len, on_reply, f) : WH_ENOMEM;
            wh_log_set_request(outer);
            wh_buf_close(&ev);
            if (rc != 0) {
                free(f);
                break; /* the socket is full or down; the timer retries */
            }
            f->ob = ob;
            f->seq = seq;
            ob->in_flight++;
            sent++;
            if (seq > ob->sent_up_to)
                ob->sent_up_to = seq;
            else if (n_retry < WH_OUTBOX_BATCH)
                retry_seqs[n_retry++] = seq;
        }
        sqlite3_reset(st);
        if (n_retry > 0 && wh_store_begin(ob->store) == 0) {
            for (int i = 0; i < n_retry; i++) {
                sqlite3_stmt *u = wh_store_stmt(ob->store, SQL_OUTBOX_HOLD);
                sqlite3_bind_int64(u, 1, retry_seqs[i]);
                /* Far enough ahead that the reply (or the call's timeout)
                 * always comes first. */
                sqlite3_bind_int64(u, 2, wh_clock_now_ms() + 2 * WH_SERVICE_CALL_TIMEOUT_MS);
                sqlite3_step(u);
                sqlite3_reset(u);
            }
            wh_store_commit(ob->store);
        }
        if (sent == 0)
            return;
    }
}

static void on_flush(uv_idle_t *h)
{
    wh_outbox_t *ob = h->data;
    uv_idle_stop(h);
    write_outcomes(ob);
    relay(ob);
}

static void on_timer(uv_timer_t *t)
{
    wh_outbox_t *ob = t->data;
    write_outcomes(ob);
    relay(ob);
}

void wh_outbox_kick(wh_outbox_t *ob)
{
    relay(ob);
}

static void kick_cb(void *ud)
{
    wh_outbox_kick(ud);
}

int wh_outbox_start(wh_service_t *s, int op, wh_outbox_t **out)
{
    wh_outbox_t *ob = calloc(1, sizeof *ob);
    if (!ob)
        return WH_ENOMEM;
    ob->svc = s;
    ob->store = wh_service_store(s);
    ob->op = op;
    if (wh_outbox_init_store(ob->store) != 0) {
        free(ob);
        return WH_ESTORE;
    }
    uv_loop_t *loop = wh_service_loop(s);
    uv_timer_init(loop, &ob->timer);
    ob->timer.data = ob;
    uv_timer_start(&ob->timer, on_timer, 0, WH_OUTBOX_TICK_MS);
    uv_idle_init(loop, &ob->flush);
    ob->flush.data = ob;
    wh_service_on_commit(s, kick_cb, ob);
    *out = ob;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    wh_outbox_t *ob = h->data;
    if (h == (uv_handle_t *)&ob->flush) {
        free(ob->outcomes);
        free(ob);
    }
}

void wh_outbox_stop(wh_outbox_t **ob_p)
{
    wh_outbox_t *ob = *ob_p;
    if (!ob)
        return;
    ob->stopping = 1;
    write_outcomes(ob);
    /* libuv finishes closing handles in the reverse order of uv_close(), so
     * the handle closed first (the idle one, which frees ob) is the last. */
    uv_close((uv_handle_t *)&ob->flush, on_closed);
    uv_close((uv_handle_t *)&ob->timer, on_closed);
    *ob_p = NULL;
}

msgpack_packer *wh_event_start(wh_event_t *ev, uint32_t n_fields)
{
    wh_buf_init(&ev->data);
    wh_msg_writer_init(&ev->pk, &ev->data);
    msgpack_pack_map(&ev->pk, n_fields);
    return &ev->pk;
}

int wh_event_emit(wh_event_t *ev, wh_store_t *store, const char *type, const char *org_id)
{
    return wh_event_emit_id(ev, store, type, org_id, NULL);
}

int wh_event_emit_id(wh_event_t *ev, wh_store_t *store, const char *type, const char *org_id,
                     char id_out[27])
{
    int rc = wh_buf_failed(&ev->data)
                 ? WH_ENOMEM
                 : wh_outbox_emit(store, type, org_id, ev->data.data, ev->data.len, id_out);
    wh_buf_close(&ev->data);
    return rc;
}
