#include "ingest.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "deliveries.h"
#include "id.h"
#include "events.h"
#include "envelope.h"
#include "inbox.h"

static const char SQL_EVENT_INSERT[] =
    "INSERT INTO events(id, type, org_id, occurred_at, data, received_at, request_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/* request_id: the request that emitted the event, which a batch names per
 * event (a single event is sent under it). */
static const char *const event_fields[] = {"id",   "type",       "org_id", "occurred_at",
                                           "data", "request_id", NULL};
static const char *const languages[] = {"de", "en", "sv", NULL};

/* Webhook deliveries due and not yet sent, counted up to ?2. */
static const char SQL_BACKLOG[] =
    "SELECT count(*) FROM (SELECT 1 FROM deliveries"
    " WHERE status = 'pending' AND channel = 'webhook' AND next_ms <= ?1 LIMIT ?2)";

static const char *const batch_fields[] = {"events", NULL};

static void check_contacts(wh_reply_t *rep, wh_valid_t *data, const char *name)
{
    const msgpack_object *arr = NULL;
    if (wh_valid_array(data, name, WH_V_REQUIRED, EVENT_MAX_CONTACTS, &arr) != WH_V_SET)
        return;
    static const char *const contact_fields[] = {"name", "email", "language", "role", NULL};
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "/data/%s/%u", name, i);
        wh_valid_t v;
        if (!wh_valid_init(&v, rep, &arr->via.array.ptr[i], prefix))
            continue;
        wh_valid_only(&v, contact_fields);
        wh_str_t s;
        int lang;
        /* Texts stored before single-line fields were enforced are taken
         * as they are (mail rendering flattens them). */
        wh_valid_str(&v, "name", WH_V_REQUIRED | WH_V_MULTILINE, 1, EVENT_MAX_FIELD, &s);
        wh_valid_str(&v, "email", WH_V_REQUIRED, 3, 254, &s);
        wh_valid_str(&v, "role", WH_V_NULLABLE | WH_V_MULTILINE, 1, EVENT_MAX_FIELD, &s);
        wh_valid_enum(&v, "language", WH_V_REQUIRED, languages, &lang);
    }
}

/* Checks one event against proto/events.h, collecting its field errors in
 * rep (a 422 then), and stores it with its deliveries unless its id is in
 * the inbox already; *repeat says which. 0, or a 503 problem in rep. */
static void ingest_one(wh_ctx_t *c, wh_reply_t *rep, const msgpack_object *ev, bool *repeat)
{
    wh_valid_t v;
    if (!wh_valid_init(&v, rep, ev, ""))
        return;
    wh_valid_only(&v, event_fields);
    wh_str_t id = {0}, type = {0}, org = {0};
    int64_t at = 0;
    wh_valid_str(&v, "id", WH_V_REQUIRED, WH_ID_LEN, WH_ID_LEN, &id);
    wh_valid_str(&v, "type", WH_V_REQUIRED, 1, 64, &type);
    wh_valid_str(&v, "org_id", WH_V_REQUIRED | WH_V_NULLABLE, WH_ID_LEN, WH_ID_LEN, &org);
    wh_valid_instant(&v, "occurred_at", WH_V_REQUIRED, &at);
    wh_str_t origin = {0};
    wh_valid_str(&v, "request_id", WH_V_NULLABLE, 1, WH_ENV_MAX_ID, &origin);
    const wh_event_type_t *et = type.p ? wh_event_type_find(type.p, type.n) : NULL;
    if (type.p && !et)
        wh_reply_field(rep, "/type", "unknown event type");
    const msgpack_object *data = wh_msg_get(ev, "data");
    wh_valid_t dv;
    if (wh_valid_init(&dv, rep, data, "/data") && et) {
        const char *known[WH_EVENT_MAX_FIELDS + 1];
        int n = 0;
        for (; n < WH_EVENT_MAX_FIELDS && et->fields[n].name; n++)
            known[n] = et->fields[n].name;
        known[n] = NULL;
        wh_valid_only(&dv, known);
        for (int i = 0; i < n; i++) {
            const wh_event_field_t *f = &et->fields[i];
            unsigned flags = f->required ? WH_V_REQUIRED : WH_V_NULLABLE;
            wh_str_t s;
            int64_t x;
            bool b;
            int32_t d;
            switch (f->kind) {
            case WH_FIELD_STR:
                wh_valid_str(&dv, f->name, flags | WH_V_MULTILINE, 1, EVENT_MAX_FIELD, &s);
                break;
            case WH_FIELD_INT:
                wh_valid_int(&dv, f->name, flags, INT32_MIN, INT32_MAX, &x);
                break;
            case WH_FIELD_BOOL:
                wh_valid_bool(&dv, f->name, flags, &b);
                break;
            case WH_FIELD_DATE:
                wh_valid_date(&dv, f->name, flags, &d);
                break;
            case WH_FIELD_CONTACTS:
                check_contacts(rep, &dv, f->name);
                break;
            }
        }
    }
    if (wh_reply_invalid(rep))
        return;
    if (wh_inbox_accept(c->store, id, repeat) != 0) {
        wh_reply_problem(rep, 503, "store-unavailable", "the inbox could not be written");
        return;
    }
    rep->status = 200;
    if (*repeat)
        return;
    wh_buf_t raw;
    wh_buf_init(&raw);
    msgpack_packer rpk;
    wh_msg_writer_init(&rpk, &raw);
    wh_msg_pack_obj(&rpk, data);
    char now[WH_RFC3339_LEN], when[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(wh_clock_now_ms(), now);
    wh_clock_format_rfc3339(at, when);
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_EVENT_INSERT);
    wh_stmt_bind_str(st, 1, id);
    wh_stmt_bind_str(st, 2, type);
    wh_stmt_bind_str(st, 3, org);
    wh_stmt_bind_text(st, 4, when);
    sqlite3_bind_blob(st, 5, raw.data, (int)raw.len, SQLITE_TRANSIENT);
    wh_stmt_bind_text(st, 6, now);
    /* The request that emitted the event: named in a batch, else the one
     * the event was sent under. */
    if (origin.p)
        wh_stmt_bind_str(st, 7, origin);
    else
        wh_stmt_bind_text(st, 7, c->req->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        wh_reply_problem(rep, 503, "store-unavailable", "the event could not be stored");
    else if (deliveries_create(c->store, id, type, org, et, data) != 0)
        wh_reply_problem(rep, 503, "store-unavailable", "the deliveries could not be stored");
    wh_buf_close(&raw);
}

int events_credit(wh_store_t *store)
{
    sqlite3_stmt *st = wh_store_stmt(store, SQL_BACKLOG);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, wh_clock_now_ms());
    sqlite3_bind_int(st, 2, EVENTS_BACKLOG_MAX);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : EVENTS_BACKLOG_MAX;
    sqlite3_reset(st);
    return n >= EVENTS_BACKLOG_MAX ? 0 : (int)(EVENTS_BACKLOG_MAX - n);
}

/* {events: [...]}: each event as above; the reply lists their statuses in
 * order and the credit. A store failure fails the whole batch (503, all of
 * it rolled back), so that the producer sends it again. */
static void ingest_batch(wh_ctx_t *c)
{
    wh_valid_t v;
    if (!wh_ctx_body(c, &v, batch_fields))
        return;
    const msgpack_object *arr = NULL;
    if (wh_valid_array(&v, "events", WH_V_REQUIRED, WH_EVENTS_BATCH_MAX, &arr) != WH_V_SET ||
        wh_reply_invalid(c->rep))
        return;
    uint32_t n = arr->via.array.size;
    short status[WH_EVENTS_BATCH_MAX];
    wh_reply_t one;
    wh_reply_init(&one);
    for (uint32_t i = 0; i < n; i++) {
        wh_reply_reset(&one);
        bool repeat = false;
        ingest_one(c, &one, &arr->via.array.ptr[i], &repeat);
        wh_reply_invalid(&one);
        if (one.status >= 500) {
            wh_reply_problem(c->rep, 503, "store-unavailable", "%s", one.detail);
            wh_reply_close(&one);
            return;
        }
        status[i] = (short)(one.status ? one.status : 500);
    }
    wh_reply_close(&one);
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 2);
    wh_msg_pack_str(pk, "results");
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++)
        msgpack_pack_int(pk, status[i]);
    wh_msg_kv_int(pk, "credit", events_credit(c->store));
}

void events_ingest(wh_ctx_t *c)
{
    if (c->req->body && wh_msg_get(c->req->body, "events")) {
        ingest_batch(c);
        return;
    }
    /* One event alone, as producers sent them before batches. */
    bool repeat = false;
    ingest_one(c, c->rep, c->req->body, &repeat);
    if (wh_reply_invalid(c->rep) || c->rep->status >= 400)
        return;
    msgpack_packer *pk = wh_reply_ok(c->rep, 200);
    msgpack_pack_map(pk, 1);
    wh_msg_kv_bool(pk, "repeat", repeat);
}
