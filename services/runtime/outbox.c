#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "events.h"
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
/* What is due: new events (beyond what this process has sent) and failed
 * ones whose retry time has come. Two queries, each walking wh_outbox_due
 * in its own order with no sort, merged by seq in relay_batch: one query
 * over both ranges ordered by seq sorted them in a temporary B-tree on
 * every relay round. The retries due come earliest first (a batch's worth
 * at most), the new events by seq. */
#define OUTBOX_EVENT_COLUMNS "seq, id, type, org_id, occurred_at, data, request_id"
static const char SQL_OUTBOX_FRESH[] = "SELECT " OUTBOX_EVENT_COLUMNS " FROM wh_outbox"
                                       " WHERE state = 0 AND next_ms = 0 AND seq > ?1"
                                       " ORDER BY seq LIMIT ?2";
static const char SQL_OUTBOX_RETRIES_DUE[] =
    "SELECT seq FROM wh_outbox WHERE state = 0 AND next_ms > 0 AND next_ms <= ?1"
    " ORDER BY next_ms, seq LIMIT ?2";
static const char SQL_OUTBOX_EVENT[] =
    "SELECT " OUTBOX_EVENT_COLUMNS " FROM wh_outbox WHERE seq = ?1";
static const char SQL_OUTBOX_ACK[] = "DELETE FROM wh_outbox WHERE seq = ?1";
static const char SQL_OUTBOX_RETRY[] =
    "UPDATE wh_outbox SET attempts = attempts + 1, next_ms = ?2, last_status = ?3"
    " WHERE seq = ?1";
static const char SQL_OUTBOX_REJECT[] =
    "UPDATE wh_outbox SET state = 1, attempts = attempts + 1, last_status = ?2 WHERE seq = ?1";
static const char SQL_OUTBOX_HOLD[] = "UPDATE wh_outbox SET next_ms = ?2 WHERE seq = ?1";
static const char SQL_OUTBOX_BACKLOG[] = "SELECT count(*) FROM wh_outbox WHERE state = 0";
static const char SQL_OUTBOX_ATTEMPTS[] = "SELECT attempts FROM wh_outbox WHERE seq = ?1";
static const char SQL_OUTBOX_EVENT_OF[] = "SELECT id, request_id FROM wh_outbox WHERE seq = ?1";

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
    uv_timer_t poll;    /* asks for credit again while the consumer grants none */
    int64_t sent_up_to; /* highest seq sent by this process */
    /* The batch in flight (at most one): its events' seqs in order. */
    bool in_flight;
    int n_batch;
    int64_t batch[WH_EVENTS_BATCH_MAX];
    /* Events the consumer takes now, as its last reply said. */
    int credit;
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
    /* Bound without copies: all of them outlive the step, and the
     * statement is reset before this returns. */
    const char *rid = wh_log_request();
    wh_stmt_bind_text_ref(st, 1, id);
    wh_stmt_bind_text_ref(st, 2, type);
    wh_stmt_bind_text_ref(st, 3, org_id);
    wh_stmt_bind_text_ref(st, 4, now);
    if (data)
        sqlite3_bind_blob(st, 5, data, (int)data_len, SQLITE_STATIC);
    else
        sqlite3_bind_blob(st, 5, &empty_map, 1, SQLITE_STATIC);
    wh_stmt_bind_text_ref(st, 6, rid);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return WH_ESTORE;
    if (id_out)
        memcpy(id_out, id, sizeof id);
    return 0;
}

/* The process's relay (a service runs one), for its figure in /metrics. */
static wh_outbox_t *running;

static void credit_figure(wh_store_t *store, wh_figures_t *f)
{
    if (running)
        wh_figure_gauge(f, "wh_outbox_credit",
                        "Events the consumer last allowed this service's relay to send.",
                        (double)running->credit);
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

/* The operator finds a rejected event under its id and the request that
 * emitted it. */
static void log_rejected(wh_store_t *store, int64_t seq, int status)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_OUTBOX_EVENT_OF);
    char id[WH_ID_LEN + 1] = "?", rid[WH_LOG_MAX_REQUEST_ID + 1] = "";
    if (st) {
        sqlite3_bind_int64(st, 1, seq);
        if (sqlite3_step(st) == SQLITE_ROW) {
            wh_stmt_col_copy(st, 0, id, sizeof id);
            wh_stmt_col_copy(st, 1, rid, sizeof rid);
        }
        sqlite3_reset(st);
    }
    wh_log(WH_LOG_ERROR, rid[0] ? rid : NULL,
           "event %s (%lld) rejected by the consumer with %d; kept as rejected", id, (long long)seq,
           status);
}

static void write_outcomes(wh_outbox_t *ob)
{
    /* Lazily durable: an acknowledgement lost in a crash only sends its
     * event again, which the consumer drops (its inbox), and a commit that
     * waited for an fsync here stalled the service's loop once per reply. */
    if (ob->n_outcomes == 0 || wh_store_begin_lazy(ob->store) != 0)
        return;
    int64_t now = wh_clock_now_ms();
    for (size_t i = 0; i < ob->n_outcomes; i++) {
        struct outcome *o = &ob->outcomes[i];
        sqlite3_stmt *st;
        if (o->status >= 200 && o->status < 300) {
            st = wh_store_stmt(ob->store, SQL_OUTBOX_ACK);
            sqlite3_bind_int64(st, 1, o->seq);
        } else if (o->status >= 400 && o->status < 500 && o->status != 408 && o->status != 429) {
            log_rejected(ob->store, o->seq, o->status);
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

static void add_outcome(wh_outbox_t *ob, int64_t seq, int status)
{
    if (ob->n_outcomes == ob->cap_outcomes) {
        size_t cap = ob->cap_outcomes ? ob->cap_outcomes * 2 : 64;
        struct outcome *o = realloc(ob->outcomes, cap * sizeof *o);
        if (!o)
            return; /* unrecorded: the event is resent after a restart */
        ob->outcomes = o;
        ob->cap_outcomes = cap;
    }
    ob->outcomes[ob->n_outcomes++] = (struct outcome){seq, status};
}

/* The reply to a batch: each event's status and the new credit. A batch
 * refused whole, or a reply that does not account for every event, counts
 * as a failure of each (sent again with backoff): only the consumer's
 * verdict on an event itself rejects it. */
static void on_reply(void *ud, int status, const msgpack_object *body)
{
    wh_outbox_t *ob = ud;
    ob->in_flight = false;
    const msgpack_object *results = body ? wh_msg_get(body, "results") : NULL;
    int64_t credit = 0;
    bool ok = status >= 200 && status < 300 && results && results->type == MSGPACK_OBJECT_ARRAY &&
              results->via.array.size == (uint32_t)ob->n_batch &&
              wh_msg_int(wh_msg_get(body, "credit"), &credit);
    if (ok) {
        ob->credit = credit < 0 ? 0 : credit > INT32_MAX ? INT32_MAX : (int)credit;
    } else if (status >= 400 && status < 500 && status != 408 && status != 429) {
        wh_log_error("a batch of %d events refused by the consumer with %d; sent again later",
                     ob->n_batch, status);
        status = 503;
    } else if (status >= 200 && status < 300) {
        status = 502;
    }
    for (int i = 0; i < ob->n_batch; i++) {
        int64_t st = status;
        if (ok && !wh_msg_int(&results->via.array.ptr[i], &st))
            st = 502;
        add_outcome(ob, ob->batch[i], (int)st);
    }
    ob->n_batch = 0;
    if (!ob->stopping && !uv_is_active((uv_handle_t *)&ob->flush))
        uv_idle_start(&ob->flush, on_flush);
}

static void on_poll(uv_timer_t *t);

static int seq_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sends the next batch: events due, at most the credit, WH_EVENTS_BATCH_MAX
 * and (but for a single event) WH_EVENTS_BATCH_BYTES. Without credit it
 * sends none and, when anything is due, asks again after
 * WH_EVENTS_CREDIT_POLL_MS with an empty batch. */
static void relay_batch(wh_outbox_t *ob, bool probe)
{
    if (ob->stopping || ob->in_flight)
        return;
    int want = probe ? 0 : ob->credit < WH_EVENTS_BATCH_MAX ? ob->credit : WH_EVENTS_BATCH_MAX;
    int limit = want > 0 ? want : 1;
    /* The retries due, by seq. */
    int64_t due_retries[WH_EVENTS_BATCH_MAX], retry_seqs[WH_EVENTS_BATCH_MAX];
    int n_due_retries = 0;
    sqlite3_stmt *rq = wh_store_stmt(ob->store, SQL_OUTBOX_RETRIES_DUE);
    if (!rq)
        return;
    sqlite3_bind_int64(rq, 1, wh_clock_now_ms());
    sqlite3_bind_int(rq, 2, limit);
    while (n_due_retries < limit && sqlite3_step(rq) == SQLITE_ROW)
        due_retries[n_due_retries++] = sqlite3_column_int64(rq, 0);
    sqlite3_reset(rq);
    qsort(due_retries, (size_t)n_due_retries, sizeof due_retries[0], seq_cmp);
    sqlite3_stmt *fresh = wh_store_stmt(ob->store, SQL_OUTBOX_FRESH);
    sqlite3_stmt *one = wh_store_stmt(ob->store, SQL_OUTBOX_EVENT);
    if (!fresh || !one)
        return;
    sqlite3_bind_int64(fresh, 1, ob->sent_up_to);
    sqlite3_bind_int(fresh, 2, limit);
    bool fresh_row = sqlite3_step(fresh) == SQLITE_ROW;
    wh_buf_t evs;
    wh_buf_init(&evs);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &evs);
    int n = 0, n_retry = 0, next_retry = 0;
    bool due = fresh_row || n_due_retries > 0;
    while (want > 0 && n < want && (fresh_row || next_retry < n_due_retries)) {
        /* The lower seq of the next new event and the next retry. */
        sqlite3_stmt *st = fresh;
        if (next_retry < n_due_retries &&
            (!fresh_row || due_retries[next_retry] < sqlite3_column_int64(fresh, 0))) {
            sqlite3_reset(one);
            sqlite3_bind_int64(one, 1, due_retries[next_retry++]);
            if (sqlite3_step(one) != SQLITE_ROW)
                continue; /* gone since: acknowledged meanwhile */
            st = one;
        }
        size_t mark = evs.len;
        msgpack_pack_map(&pk, 6);
        wh_msg_pack_str(&pk, "id");
        wh_msg_pack_wstr(&pk, wh_stmt_col_str(st, 1));
        wh_msg_pack_str(&pk, "type");
        wh_msg_pack_wstr(&pk, wh_stmt_col_str(st, 2));
        wh_msg_pack_str(&pk, "org_id");
        wh_msg_pack_wstr(&pk, wh_stmt_col_str(st, 3));
        wh_msg_pack_str(&pk, "occurred_at");
        wh_msg_pack_wstr(&pk, wh_stmt_col_str(st, 4));
        /* The request that emitted it (nil from a job), so that the
         * consumer's records of it name the request an operator follows. */
        wh_msg_pack_str(&pk, "request_id");
        wh_msg_pack_wstr(&pk, wh_stmt_col_str(st, 6));
        wh_msg_pack_str(&pk, "data");
        wh_buf_append(&evs, sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5));
        if (n > 0 && evs.len > WH_EVENTS_BATCH_BYTES) {
            evs.len = mark; /* it goes first in the next batch */
            break;
        }
        int64_t seq = sqlite3_column_int64(st, 0);
        if (seq <= ob->sent_up_to)
            retry_seqs[n_retry++] = seq;
        ob->batch[n++] = seq;
        if (st == fresh)
            fresh_row = sqlite3_step(fresh) == SQLITE_ROW;
    }
    sqlite3_reset(one);
    sqlite3_reset(fresh);
    if (n == 0 && !(probe || (due && want == 0))) {
        wh_buf_close(&evs);
        return; /* nothing due */
    }
    if (n == 0 && !probe) {
        /* Due events but no credit: ask again soon. */
        wh_buf_close(&evs);
        if (!uv_is_active((uv_handle_t *)&ob->poll))
            uv_timer_start(&ob->poll, on_poll, WH_EVENTS_CREDIT_POLL_MS, 0);
        return;
    }
    wh_buf_t msg;
    wh_buf_init(&msg);
    msgpack_packer mpk;
    wh_msg_writer_init(&mpk, &msg);
    msgpack_pack_map(&mpk, 1);
    wh_msg_pack_str(&mpk, "events");
    msgpack_pack_array(&mpk, (uint32_t)n);
    wh_buf_append(&msg, evs.data, evs.len);
    wh_buf_close(&evs);
    int rc = wh_buf_failed(&msg)
                 ? WH_ENOMEM
                 : wh_service_call(ob->svc, ob->op, msg.data, msg.len, on_reply, ob);
    wh_buf_close(&msg);
    if (rc == WH_ELIMIT && n == 1) {
        /* One event alone is over the largest message: no consumer will
         * ever take it. Kept as rejected, so that the stream goes on. */
        if (ob->batch[0] > ob->sent_up_to)
            ob->sent_up_to = ob->batch[0];
        add_outcome(ob, ob->batch[0], 413);
        if (!uv_is_active((uv_handle_t *)&ob->flush))
            uv_idle_start(&ob->flush, on_flush);
        return;
    }
    if (rc != 0)
        return; /* the socket is full or down; the timer retries */
    ob->in_flight = true;
    ob->n_batch = n;
    for (int i = 0; i < n; i++)
        if (ob->batch[i] > ob->sent_up_to)
            ob->sent_up_to = ob->batch[i];
    /* Retries due now are marked not-due while in flight so that the next
     * batch does not send them again; the reply's outcome decides. */
    if (n_retry > 0 && wh_store_begin_lazy(ob->store) == 0) {
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
}

static void relay(wh_outbox_t *ob)
{
    relay_batch(ob, false);
}

static void on_poll(uv_timer_t *t)
{
    relay_batch(t->data, true);
}

static void on_flush(uv_idle_t *h)
{
    wh_outbox_t *ob = h->data;
    uv_idle_stop(h);
    /* The next batch first: the consumer works on it while the outcomes of
     * the last one are written here. Acknowledged events are beyond
     * sent_up_to and not due, so none is sent twice. */
    relay(ob);
    write_outcomes(ob);
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
    uv_timer_init(loop, &ob->poll);
    ob->poll.data = ob;
    /* Until the consumer has said otherwise, one batch's worth. */
    ob->credit = WH_EVENTS_BATCH_MAX;
    wh_service_on_commit(s, kick_cb, ob);
    running = ob;
    wh_figures_also(credit_figure);
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
    if (running == ob)
        running = NULL;
    write_outcomes(ob);
    /* libuv finishes closing handles in the reverse order of uv_close(), so
     * the handle closed first (the idle one, which frees ob) is the last. */
    uv_close((uv_handle_t *)&ob->flush, on_closed);
    uv_close((uv_handle_t *)&ob->poll, on_closed);
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
