/* Runs a service's real handlers in-process, for unit tests of business
 * rules: a store with the service's migrations in a temporary directory, the
 * dispatcher over a handler table, and each request packed and decoded as the
 * gateway and the service would, in a transaction of its own. Bodies are
 * written as JSON; replies are read back from their msgpack.
 *
 * The dispatcher wants a handler for every operation of the service: the
 * ones a test does not list answer 501, so that calling one by mistake
 * shows. Like the gateway, nothing here checks roles: that is the ops
 * table's row (proto/ops.h), which the gateway enforces.
 *
 * Everything is static and marked unused: each test file includes this once
 * and uses what it needs. */
#ifndef WH_HANDLER_HARNESS_H
#define WH_HANDLER_HARNESS_H

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "dispatch.h"
#include "json.h"
#include "outbox.h"

#define HH            static __attribute__((unused))
#define HH_MAX_PARAMS 4

/* Who asks: the principal the gateway would put into the envelope. */
typedef struct hh_who {
    const char *token_id;
    unsigned role;
    const char *orgs[4];
    size_t n_orgs;
} hh_who_t;

typedef struct hh {
    char dir[64];
    wh_store_t *store;
    wh_dispatcher_t disp;
    wh_reply_t rep;
    wh_handler_t handlers[WH_OP_COUNT];
    size_t n_handlers;
    wh_msg_t msg; /* the last reply body decoded by hh_body */
    bool has_msg;
    int seq;
} hh_t;

HH void hh_not_in_test(wh_ctx_t *c)
{
    wh_reply_problem(c->rep, 501, "not-in-test", "this handler is not part of the test");
}

/* Opens a store named <name>.db with migrations in a new temporary directory
 * and a dispatcher for svc over the handlers given. */
HH void hh_open(hh_t *h, enum wh_svc svc, const char *name, const char *const *migrations,
                int n_migrations, const wh_handler_t *handlers, size_t n)
{
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "/tmp/wh-%s-handlers-XXXXXX", name);
    CHECK(mkdtemp(h->dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/%s.db", h->dir, name);
    CHECK_INT(wh_store_open(path, migrations, n_migrations, &h->store), 0);
    CHECK_INT(wh_outbox_init_store(h->store), 0);
    /* Durability is not under test: without an fsync per request each test
     * file stays well under a second on a busy machine. */
    CHECK_INT(wh_store_exec(h->store, "PRAGMA synchronous=OFF;"), 0);
    CHECK(n <= WH_OP_COUNT);
    memcpy(h->handlers, handlers, n * sizeof handlers[0]);
    h->n_handlers = n;
    for (int op = 0; op < WH_OP_COUNT; op++) {
        bool listed = false;
        for (size_t i = 0; i < n; i++)
            listed |= handlers[i].op == op;
        if (wh_ops[op].service == svc && !listed)
            h->handlers[h->n_handlers++] = (wh_handler_t){op, hh_not_in_test};
    }
    CHECK_INT(wh_dispatcher_init(&h->disp, svc, h->handlers, h->n_handlers, h->store, NULL), 0);
    wh_reply_init(&h->rep);
}

HH void hh_close(hh_t *h)
{
    if (h->has_msg)
        wh_msg_close(&h->msg);
    wh_reply_close(&h->rep);
    wh_store_destroy(&h->store);
    DIR *d = opendir(h->dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", h->dir, e->d_name);
        CHECK_INT(unlink(p), 0);
    }
    closedir(d);
    CHECK_INT(rmdir(h->dir), 0);
}

/* Runs op for who with params ("id=...&by=unit", or NULL) and a JSON body
 * (or NULL); returns the reply's status. */
HH int hh_call(hh_t *h, const hh_who_t *who, int op, const char *params, const char *json)
{
    char pbuf[512];
    snprintf(pbuf, sizeof pbuf, "%s", params ? params : "");
    wh_param_t ps[HH_MAX_PARAMS];
    size_t np = 0;
    for (char *p = pbuf; *p && np < HH_MAX_PARAMS;) {
        char *amp = strchr(p, '&'), *eq = strchr(p, '=');
        if (amp)
            *amp = '\0';
        CHECK(eq != NULL);
        *eq = '\0';
        ps[np++] = (wh_param_t){p, {eq + 1, strlen(eq + 1)}};
        p = amp ? amp + 1 : p + strlen(p);
    }
    wh_buf_t body;
    wh_buf_init(&body);
    if (json) {
        wh_json_error_t err;
        if (wh_json_to_msgpack(json, strlen(json), &body, &err) != 0) {
            fprintf(stderr, "bad JSON in test: %s\n", err.text);
            exit(1);
        }
    }
    char rid[32];
    snprintf(rid, sizeof rid, "req-%d", ++h->seq);
    wh_buf_t env;
    wh_buf_init(&env);
    wh_request_pack(&env, &(wh_request_out_t){
                              .op = op,
                              .id = rid,
                              .token_id = who->token_id,
                              .role = who->role,
                              .orgs = who->orgs,
                              .n_orgs = who->n_orgs,
                              .deadline_ms = wh_clock_now_ms() + 60000,
                              .params = ps,
                              .n_params = np,
                              .body = json ? body.data : NULL,
                              .body_len = json ? body.len : 0,
                          });
    wh_request_t req;
    CHECK_INT(wh_request_decode(env.data, env.len, &req), 0);
    wh_reply_reset(&h->rep);
    CHECK_INT(wh_store_begin(h->store), 0);
    wh_dispatch(&h->disp, &req, &h->rep);
    CHECK_INT(wh_store_commit(h->store), 0);
    wh_request_close(&req);
    wh_buf_close(&env);
    wh_buf_close(&body);
    return h->rep.status;
}

/* The problem type (slug) of the last reply; "" for a success. */
HH const char *hh_problem(const hh_t *h)
{
    return h->rep.status >= 400 ? h->rep.type : "";
}

/* The JSON pointer (or parameter name) of field error i of the last reply;
 * "(none)" past the last. */
HH const char *hh_error_at(const hh_t *h, int i)
{
    static char out[256];
    snprintf(out, sizeof out, "(none)");
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    for (int k = 0; msgpack_unpack_next(&u, h->rep.errors.data, h->rep.errors.len, &off) ==
                    MSGPACK_UNPACK_SUCCESS;
         k++) {
        if (k < i)
            continue;
        const msgpack_object *where = wh_msg_get(&u.data, "pointer");
        if (!where)
            where = wh_msg_get(&u.data, "parameter");
        CHECK(where != NULL);
        CHECK_INT(wh_msg_copy_str(where, out, sizeof out), 0);
        break;
    }
    msgpack_unpacked_destroy(&u);
    return out;
}

/* The last reply's body, decoded (valid until the next hh_body). */
HH const msgpack_object *hh_body(hh_t *h)
{
    if (h->has_msg)
        wh_msg_close(&h->msg);
    CHECK(h->rep.has_body);
    CHECK_INT(wh_msg_decode(h->rep.body.data, h->rep.body.len, &h->msg), 0);
    h->has_msg = true;
    return h->msg.root;
}

/* The value at a dotted path ("total.dimensions.0.n") under o: map keys
 * and array indexes; NULL when absent. */
HH const msgpack_object *hh_at(const msgpack_object *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        CHECK(n < sizeof key);
        memcpy(key, path, n);
        key[n] = '\0';
        path += n + (path[n] == '.');
        if (o->type == MSGPACK_OBJECT_ARRAY) {
            char *end;
            unsigned long i = strtoul(key, &end, 10);
            o = *end == '\0' && i < o->via.array.size ? &o->via.array.ptr[i] : NULL;
        } else {
            o = wh_msg_get(o, key);
        }
    }
    return o;
}

/* A string at path, as a NUL-terminated copy (valid until the next call);
 * "(nil)" for nil, "(absent)" when missing. */
HH const char *hh_str(const msgpack_object *o, const char *path)
{
    static char out[512];
    const msgpack_object *v = hh_at(o, path);
    if (!v)
        return "(absent)";
    if (wh_msg_is_nil(v))
        return "(nil)";
    CHECK_INT(wh_msg_copy_str(v, out, sizeof out), 0);
    return out;
}

/* An integer at path; fails the test unless there is one. */
HH int64_t hh_int(const msgpack_object *o, const char *path)
{
    int64_t x;
    const msgpack_object *v = hh_at(o, path);
    if (!v || !wh_msg_int(v, &x)) {
        fprintf(stderr, "no integer at %s\n", path);
        exit(1);
    }
    return x;
}

/* True when path holds nil (a suppressed figure, say). */
HH bool hh_nil(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = hh_at(o, path);
    return v && wh_msg_is_nil(v);
}

HH bool hh_true(const msgpack_object *o, const char *path)
{
    const msgpack_object *v = hh_at(o, path);
    return v && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
}

HH int64_t hh_count(hh_t *h, const char *sql)
{
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(wh_store_db(h->store), sql, -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

#endif
