/* The notifications service's EVENTS_INGEST in batches (proto/events.h),
 * run in-process (handler_harness.h):
 * - a batch is answered with one status per event, in order: 200 for an
 *   event stored (or a repeat), 422 for one refused, and the others of the
 *   batch are stored all the same;
 * - a batch sent again stores nothing twice (the inbox);
 * - an element that is not an object is refused alone;
 * - a batch of WH_EVENTS_BATCH_MAX events is taken, one more is 422;
 * - the reply carries the credit, EVENTS_BACKLOG_MAX less the webhooks due. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "events.h"
#include "handler_harness.h"
#include "inbox.h"
#include "ingest.h"

extern const char *const notifications_migrations[];
extern const int notifications_n_migrations;

static const wh_handler_t handlers[] = {{WH_OP_EVENTS_INGEST, events_ingest}};
static const hh_who_t producer = {"agreements", WH_ROLE_SERVICE, {NULL}, 0};

static hh_t h;

static void setup(void)
{
    hh_open(&h, WH_SVC_NOTIFICATIONS, "notifications", notifications_migrations,
            notifications_n_migrations, handlers, sizeof handlers / sizeof handlers[0]);
    CHECK_INT(wh_inbox_init_store(h.store), 0);
}

/* An organization.updated event with id number i, or one of unknown type. */
static size_t event(char *out, size_t cap, int i, bool known)
{
    return (size_t)snprintf(
        out, cap,
        "{\"id\":\"01JEVENT%018d\",\"type\":\"%s\",\"org_id\":null,"
        "\"occurred_at\":\"2026-01-05T10:00:00.000Z\",\"request_id\":\"req-origin-%d\","
        "\"data\":{\"organization_id\":\"01JAAAAAAAAAAAAAAAAAAAAAAA\",\"name\":\"Amt\","
        "\"kind\":\"employer\"}}",
        i, known ? "organization.updated" : "no.such_type", i);
}

/* A batch of n events, those with i % bad_every == bad_every - 1 unknown
 * (bad_every 0: none). */
static char *batch(int n, int bad_every)
{
    size_t cap = 64 + (size_t)n * 400, len = 0;
    char *b = malloc(cap);
    CHECK(b != NULL);
    len += (size_t)snprintf(b, cap, "{\"events\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            b[len++] = ',';
        len += event(b + len, cap - len, i, !(bad_every && i % bad_every == bad_every - 1));
    }
    snprintf(b + len, cap - len, "]}");
    return b;
}

static int64_t count(const char *sql)
{
    sqlite3_stmt *st = wh_store_stmt(h.store, sql);
    CHECK(st != NULL);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

static void check_results(int n, int bad_every)
{
    const msgpack_object *body = hh_body(&h);
    const msgpack_object *res = wh_msg_get(body, "results");
    CHECK(res != NULL && res->type == MSGPACK_OBJECT_ARRAY);
    CHECK_INT((int)res->via.array.size, n);
    for (int i = 0; i < n; i++) {
        int64_t st = 0;
        CHECK(wh_msg_int(&res->via.array.ptr[i], &st));
        CHECK_INT((int)st, bad_every && i % bad_every == bad_every - 1 ? 422 : 200);
    }
    int64_t credit = -1;
    CHECK(wh_msg_int(wh_msg_get(body, "credit"), &credit));
    CHECK_INT((int)credit, EVENTS_BACKLOG_MAX); /* no subscription: no deliveries */
}

static void test_statuses_per_event(void)
{
    setup();
    char *b = batch(5, 2);
    CHECK_INT(hh_call(&h, &producer, WH_OP_EVENTS_INGEST, NULL, b), 200);
    check_results(5, 2);
    CHECK_INT((int)count("SELECT count(*) FROM events"), 3);
    /* Each event keeps the request that emitted it. */
    CHECK_INT((int)count("SELECT count(*) FROM events WHERE request_id = 'req-origin-4'"), 1);
    /* Sent again (its acknowledgement lost): nothing is stored twice. */
    CHECK_INT(hh_call(&h, &producer, WH_OP_EVENTS_INGEST, NULL, b), 200);
    check_results(5, 2);
    CHECK_INT((int)count("SELECT count(*) FROM events"), 3);
    free(b);
    hh_close(&h);
}

/* Something that is not an event at all is refused on its own. */
static void test_not_an_object(void)
{
    setup();
    char one[512], b[600];
    event(one, sizeof one, 7, true);
    snprintf(b, sizeof b, "{\"events\":[1,%s]}", one);
    CHECK_INT(hh_call(&h, &producer, WH_OP_EVENTS_INGEST, NULL, b), 200);
    const msgpack_object *res = wh_msg_get(hh_body(&h), "results");
    CHECK(res != NULL && res->type == MSGPACK_OBJECT_ARRAY && res->via.array.size == 2);
    int64_t st[2] = {0, 0};
    CHECK(wh_msg_int(&res->via.array.ptr[0], &st[0]) && wh_msg_int(&res->via.array.ptr[1], &st[1]));
    CHECK_INT((int)st[0], 422);
    CHECK_INT((int)st[1], 200);
    CHECK_INT((int)count("SELECT count(*) FROM events"), 1);
    hh_close(&h);
}

static void test_batch_limit(void)
{
    setup();
    char *b = batch(WH_EVENTS_BATCH_MAX, 0);
    CHECK_INT(hh_call(&h, &producer, WH_OP_EVENTS_INGEST, NULL, b), 200);
    check_results(WH_EVENTS_BATCH_MAX, 0);
    free(b);
    b = batch(WH_EVENTS_BATCH_MAX + 1, 0);
    CHECK_INT(hh_call(&h, &producer, WH_OP_EVENTS_INGEST, NULL, b), 422);
    free(b);
    CHECK_INT((int)count("SELECT count(*) FROM events"), WH_EVENTS_BATCH_MAX);
    hh_close(&h);
}

/* An empty batch only asks for the credit. */
static void test_empty_batch(void)
{
    setup();
    CHECK_INT(hh_call(&h, &producer, WH_OP_EVENTS_INGEST, NULL, "{\"events\":[]}"), 200);
    check_results(0, 0);
    hh_close(&h);
}

int main(void)
{
    TEST(test_statuses_per_event);
    TEST(test_not_an_object);
    TEST(test_batch_limit);
    TEST(test_empty_batch);
    return 0;
}
