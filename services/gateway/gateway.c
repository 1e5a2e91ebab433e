#include "gateway.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets.h"
#include "auth.h"
#include "backup.h"
#include "broker.h"
#include "calfeed.h"
#include "clock.h"
#include "console.h"
#include "dispatch.h"
#include "err.h"
#include "feeds.h"
#include "http.h"
#include "id.h"
#include "csvtab.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "openapi.h"
#include "pagehdr.h"
#include "participate.h"
#include "ratelimit.h"
#include "router.h"
#include "scrape.h"
#include "sweep.h"

/* X-Request-Id, the page security headers and a few of a response's own. */
#define RESPOND_MAX_HEADERS 16
/* Headers of the gateway's own besides ETag and Retry-After (a session's). */
#define RENDER_MAX_EXTRA 2

struct gateway {
    assets_t *assets;   /* the pages' static files, served under /assets/ */
    console_t *console; /* the pages' sessions */
    uv_loop_t *loop;
    wh_config_t cfg;
    wh_store_t *store;
    char store_path[WH_PATH_MAX];
    wh_dispatcher_t local;
    broker_t *broker;
    wh_http_server_t *http;
    metrics_t *metrics;
    uint64_t timeout_ms;
    uint64_t metrics_timeout_ms;         /* each service's answer to a /metrics scrape */
    bool scraping;                       /* a scrape of the services is under way */
    struct metrics_call *scrape_waiting; /* the /metrics requests waiting for it */
    wh_buf_t openapi;                    /* the OpenAPI document as msgpack, built once */
    ratelimit_t *ratelimit;              /* per address, for operations without a token */
    sweep_t *sweep;                      /* expires the store's idempotency records */
    size_t calendar_max_bytes;           /* CALFEED_MAX_BYTES, or WH_CALENDAR_MAX_BYTES */
    size_t calendar_max_held;            /* CALFEED_MAX_HELD_BYTES, or WH_CALENDAR_MAX_HELD_BYTES */
    size_t import_max_bytes;             /* GATEWAY_MAX_IMPORT_BYTES, or WH_HTTP_MAX_IMPORT_BYTES */
    route_match_t match;                 /* the request being handed over */
    wh_bufpool_t bufs;                   /* envelopes and replies' JSON, reused */
    uv_timer_t *trim;                    /* gives freed heap back once idle */
    uint64_t requests;                   /* requests taken, for the idle trim */
    uint64_t requests_at_tick, requests_at_trim;
};

/* The gateway keeps freed heap for reuse under load (main.c's trim
 * threshold); after a quiet period (fewer than GATEWAY_QUIET_REQUESTS, so
 * that health probes do not count as load) following any requests, it
 * gives it back: about 1 MB after start, the first requests' buffers. */
#define GATEWAY_IDLE_TRIM_MS   2000
#define GATEWAY_QUIET_REQUESTS 16

static void on_trim(uv_timer_t *t)
{
    gateway_t *gw = t->data;
    if (gw->requests - gw->requests_at_tick < GATEWAY_QUIET_REQUESTS &&
        gw->requests != gw->requests_at_trim) {
        malloc_trim(0);
        gw->requests_at_trim = gw->requests;
    }
    gw->requests_at_tick = gw->requests;
}

static void on_trim_closed(uv_handle_t *h)
{
    free(h);
}

/* One request on its way through the broker. */
struct call {
    gateway_t *gw;
    wh_http_req_t *req;
    int route;
    char request_id[GATEWAY_MAX_REQUEST_ID + 1];
};

static const char JSON_TYPE[] = "application/json";
static const char PROBLEM_TYPE[] = "application/problem+json";

static void respond(gateway_t *gw, wh_http_req_t *req, int route, const char *request_id,
                    int status, const char *ctype, const wh_http_header_t *extra, size_t n_extra,
                    const char *body, size_t len)
{
    wh_http_header_t h[RESPOND_MAX_HEADERS];
    size_t n = 0;
    h[n++] = (wh_http_header_t){"X-Request-Id", request_id};
    for (size_t i = 0; i < n_extra && n < RESPOND_MAX_HEADERS; i++)
        h[n++] = extra[i];
    double secs = (double)(uv_hrtime() - req->started_ns) / 1e9;
    metrics_observe(gw->metrics, route, status, secs);
    /* One access line per request, under its request id. It names the
     * route template, never the path or query as sent: those can carry a
     * subject's pseudonym or a participation code. */
    int level = status >= 500 ? WH_LOG_WARN : WH_LOG_INFO;
    if (wh_log_enabled(level)) {
        const char *what =
            route < WH_OP_COUNT             ? wh_ops[route].path
            : route == METRIC_ROUTE_HEALTHZ ? "/healthz"
            : route == METRIC_ROUTE_READYZ  ? "/readyz"
            : route == METRIC_ROUTE_METRICS ? "/metrics"
            : route == METRIC_ROUTE_ASSETS  ? "/assets/{name}"
            : route == METRIC_ROUTE_CONSOLE ? "/"
            : route == METRIC_ROUTE_PARTICIPATE || route == METRIC_ROUTE_PARTICIPATE_SUBMIT
                ? "/s/{survey_id}"
            : route == METRIC_ROUTE_PARTICIPATE_THANKS ? "/s/{survey_id}/thanks"
                                                       : "(no route)";
        wh_log(level, request_id, "%s %s %d %.1fms", req->method, what, status, secs * 1e3);
    }
    wh_http_respond(req, status, ctype, h, n, body, len);
}

/* A problem the gateway answers itself; type is a slug (or "about:blank"). */
static void problem(gateway_t *gw, wh_http_req_t *req, int route, const char *request_id,
                    int status, const char *type, const char *detail, const wh_http_header_t *extra,
                    size_t n_extra)
{
    wh_buf_t b;
    wh_buf_init(&b);
    wh_problem_json(
        &b, &(wh_problem_t){.status = status, .type = wh_cstr(type), .detail = wh_cstr(detail)},
        NULL);
    respond(gw, req, route, request_id, status, PROBLEM_TYPE, extra, n_extra, b.data, b.len);
    wh_buf_close(&b);
}

static void bad_reply(gateway_t *gw, wh_http_req_t *req, int route, const char *request_id)
{
    problem(gw, req, route, request_id, 502, "bad-reply", "the service gave a malformed reply",
            NULL, 0);
}

/* Renders a reply envelope (from a service or from the local dispatcher),
 * with the caller's extra headers. */
static void render_reply_h(gateway_t *gw, wh_http_req_t *req, int route, const char *request_id,
                           const char *data, size_t len, const wh_http_header_t *extra,
                           size_t n_extra)
{
    wh_reply_in_t r;
    if (wh_reply_env_decode(data, len, &r) != 0) {
        bad_reply(gw, req, route, request_id);
        return;
    }
    wh_http_header_t h[2 + RENDER_MAX_EXTRA];
    size_t nh = 0;
    for (size_t i = 0; i < n_extra && i < RENDER_MAX_EXTRA; i++)
        h[nh++] = extra[i];
    char etag[WH_ENV_MAX_ETAG + 1], retry[24], ctype_raw[WH_ENV_MAX_CONTENT_TYPE + 1];
    if (r.etag.p) {
        wh_copy_cut(etag, sizeof etag, r.etag.p, r.etag.n);
        h[nh++] = (wh_http_header_t){"ETag", etag};
    }
    if (r.retry_after_s > 0) {
        snprintf(retry, sizeof retry, "%lld", (long long)r.retry_after_s);
        h[nh++] = (wh_http_header_t){"Retry-After", retry};
    }
    wh_buf_t own, *b = wh_bufpool_take(&gw->bufs, &own);
    const msgpack_object *body = r.body;
    int rc = 0;
    const char *ctype = JSON_TYPE;
    if (r.status >= 400) {
        ctype = PROBLEM_TYPE;
        rc = wh_problem_json(b, &r.problem, r.errors);
    } else if (body && r.content_type.p) {
        /* Not JSON (CSV, iCalendar): the service's bytes as they are. */
        snprintf(ctype_raw, sizeof ctype_raw, "%.*s", (int)r.content_type.n, r.content_type.p);
        ctype = ctype_raw;
        if (body->type == MSGPACK_OBJECT_BIN)
            wh_buf_append(b, body->via.bin.ptr, body->via.bin.size);
        else if (body->type == MSGPACK_OBJECT_STR)
            wh_buf_append(b, body->via.str.ptr, body->via.str.size);
        else
            rc = WH_EPROTO;
    } else if (body) {
        rc = wh_json_from_msgpack(body, b);
    }
    if (rc != 0 || wh_buf_failed(b))
        bad_reply(gw, req, route, request_id);
    else
        respond(gw, req, route, request_id, r.status, b->len ? ctype : NULL, h, nh, b->data,
                b->len);
    wh_bufpool_give(&gw->bufs, b);
    wh_reply_env_close(&r);
}

static void render_reply(gateway_t *gw, wh_http_req_t *req, int route, const char *request_id,
                         const char *data, size_t len)
{
    render_reply_h(gw, req, route, request_id, data, len, NULL, 0);
}

static void on_broker_reply(void *ud, int status, const char *reply, size_t len)
{
    struct call *call = ud;
    gateway_t *gw = call->gw;
    if (status == BROKER_OK) {
        render_reply(gw, call->req, call->route, call->request_id, reply, len);
    } else {
        /* The broker's own answer (413, 503, 504), as a service asking
         * through it gets it too. */
        wh_buf_t b;
        wh_buf_init(&b);
        broker_reply_pack(&b, "", status);
        render_reply(gw, call->req, call->route, call->request_id, b.data, b.len);
        wh_buf_close(&b);
    }
    free(call);
}

static void on_calendar(void *ud, int status, const char *reply, size_t len, const char *cal,
                        size_t cal_len)
{
    struct call *call = ud;
    if (cal) {
        respond(call->gw, call->req, call->route, call->request_id, 200, CALFEED_CONTENT_TYPE, NULL,
                0, cal, cal_len);
        free(call);
    } else if (status == CALFEED_BUSY) {
        static const wh_http_header_t retry = {"Retry-After", "1"};
        problem(call->gw, call->req, call->route, call->request_id, 503, "unavailable",
                "too many calendar feeds are being joined at once; retry shortly", &retry, 1);
        free(call);
    } else if (status == CALFEED_BAD_REPLY) {
        problem(call->gw, call->req, call->route, call->request_id, 502, "bad-reply",
                "the service gave a malformed reply", NULL, 0);
        free(call);
    } else {
        on_broker_reply(call, status, reply, len);
    }
}

/* A route's parameter copied into out as a string (cut at cap - 1 bytes),
 * or NULL when absent. */
static const char *route_param(const route_match_t *m, const char *name, char *out, size_t cap)
{
    for (size_t i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0) {
            size_t n = m->params[i].value.n < cap ? m->params[i].value.n : cap - 1;
            memcpy(out, m->params[i].value.p, n);
            out[n] = '\0';
            return out;
        }
    return NULL;
}

/* Runs a gateway-owned operation in its own transaction. */
static void run_local(gateway_t *gw, wh_http_req_t *req, int route, const char *request_id,
                      const char *env, size_t len)
{
    wh_request_t r;
    wh_reply_t rep;
    wh_reply_init(&rep);
    wh_buf_t out;
    wh_buf_init(&out);
    if (wh_request_decode(env, len, &r) != 0) {
        wh_reply_problem(&rep, 500, "internal", "could not decode our own envelope");
    } else {
        if (wh_store_begin(gw->store) != 0) {
            wh_reply_problem(&rep, 503, "store-unavailable", "the gateway's store is busy");
        } else {
            wh_dispatch(&gw->local, &r, &rep);
            if (wh_store_commit(gw->store) != 0) {
                wh_store_rollback(gw->store);
                /* No cookie for a session that was not stored. */
                console_begin(gw->console);
                wh_reply_reset(&rep);
                wh_reply_problem(&rep, 503, "store-unavailable", "the change was not stored");
            }
        }
        wh_request_close(&r);
    }
    wh_reply_pack(&rep, request_id, &out);
    wh_http_header_t h[RENDER_MAX_EXTRA];
    size_t nh = console_headers(gw->console, h, RENDER_MAX_EXTRA);
    render_reply_h(gw, req, route, request_id, out.data, out.len, h, nh);
    wh_buf_close(&out);
    wh_reply_close(&rep);
}

static void backup_reply(void *ud, wh_reply_t *rep)
{
    struct call *call = ud;
    wh_buf_t out;
    wh_buf_init(&out);
    wh_reply_pack(rep, call->request_id, &out);
    render_reply(call->gw, call->req, call->route, call->request_id, out.data, out.len);
    wh_buf_close(&out);
    free(call);
}

/* The backup of the gateway's own store, taken off the loop like a
 * service's (services/runtime/backup.h). */
static void backup_local(gateway_t *gw, wh_http_req_t *req, int route, const char *request_id,
                         const char *env, size_t len)
{
    wh_request_t r;
    struct call *call = malloc(sizeof *call);
    if (!call || wh_request_decode(env, len, &r) != 0) {
        free(call);
        problem(gw, req, route, request_id, 503, "unavailable", "out of memory", NULL, 0);
        return;
    }
    *call = (struct call){.gw = gw, .req = req, .route = route};
    snprintf(call->request_id, sizeof call->request_id, "%s", request_id);
    wh_backup_handle(gw->loop, &gw->cfg, WH_SVC_GATEWAY, gw->store_path, &r, backup_reply, call);
    wh_request_close(&r);
}

static bool valid_request_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GATEWAY_MAX_REQUEST_ID)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

static bool json_content_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n == 28 && strncasecmp(ct, "application/merge-patch+json", 28) == 0);
}

static bool csv_content_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    return strcspn(ct, "; ") == 8 && strncasecmp(ct, "text/csv", 8) == 0;
}

/* The http server's body_limit: a text/csv body to an operation that takes
 * one (a bulk import) may be larger than any JSON body. */
static size_t import_body_limit(const char *method, const char *path, size_t path_len,
                                const char *content_type, void *ud)
{
    const gateway_t *gw = ud;
    if (!csv_content_type(content_type))
        return 0;
    for (int i = 0; i < WH_OP_COUNT; i++) {
        const wh_op_t *op = &wh_ops[i];
        if ((op->flags & WH_OPF_CSV) && strcmp(op->method, method) == 0 &&
            strlen(op->path) == path_len && memcmp(op->path, path, path_len) == 0)
            return gw->import_max_bytes;
    }
    return 0;
}

/* Converts a text/csv body into the table the service reads (csvtab.h);
 * false after answering 415 or 422. */
static bool csv_body(gateway_t *gw, wh_http_req_t *req, int route, const char *rid, wh_buf_t *out)
{
    if (!csv_content_type(req->content_type)) {
        problem(gw, req, route, rid, 415, "unsupported-media-type", "the body must be text/csv",
                NULL, 0);
        return false;
    }
    csvtab_error_t err;
    int rc = csvtab_encode(req->body ? req->body : "", req->body_len, out, &err);
    if (rc == 0)
        return true;
    if (rc == WH_ENOMEM) {
        problem(gw, req, route, rid, 503, "unavailable", "out of memory", NULL, 0);
        return false;
    }
    /* One error with its pointer, as a service's 422 would list it. */
    wh_buf_t errors, b;
    wh_buf_init(&errors);
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &errors);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    wh_msg_kv_str(&pk, "pointer", err.pointer);
    wh_msg_kv_str(&pk, "detail", err.detail);
    wh_msg_t m;
    if (!wh_buf_failed(&errors) && wh_msg_decode(errors.data, errors.len, &m) == 0) {
        wh_problem_json(&b,
                        &(wh_problem_t){.status = 422,
                                        .type = wh_cstr(rc == WH_ELIMIT ? "limit" : "validation"),
                                        .detail = WH_STR("the CSV file is not valid")},
                        m.root);
        wh_msg_close(&m);
    }
    if (wh_buf_failed(&b) || !b.len)
        problem(gw, req, route, rid, 503, "unavailable", "out of memory", NULL, 0);
    else
        respond(gw, req, route, rid, 422, PROBLEM_TYPE, NULL, 0, b.data, b.len);
    wh_buf_close(&errors);
    wh_buf_close(&b);
    return false;
}

/* True for a JSON body that is an empty object (whitespace allowed). */
static bool empty_json_object(const wh_http_req_t *req)
{
    if (!json_content_type(req->content_type))
        return false;
    wh_buf_t b;
    wh_json_error_t je;
    wh_buf_init(&b);
    bool empty = wh_json_to_msgpack(req->body, req->body_len, &b, &je) == 0 && b.len == 1 &&
                 (unsigned char)b.data[0] == 0x80; /* msgpack fixmap of 0 pairs */
    wh_buf_close(&b);
    return empty;
}

struct metrics_call {
    wh_http_req_t *req;
    char request_id[GATEWAY_MAX_REQUEST_ID + 1];
    struct metrics_call *next;
};

/* /metrics needs no token, so a scrape asked for while one is under way
 * waits for that one rather than asking every instance again: a client
 * polling it cannot multiply the services' counting work. */
static void on_scraped(void *ud, const wh_buf_t *services)
{
    gateway_t *gw = ud;
    struct metrics_call *mc = gw->scrape_waiting;
    gw->scrape_waiting = NULL;
    gw->scraping = false;
    while (mc) {
        struct metrics_call *next = mc->next;
        if (gw->http) { /* else shutting down: the connection is gone */
            wh_buf_t b;
            wh_buf_init(&b);
            wh_http_stats_t st;
            wh_http_get_stats(gw->http, &st);
            int instances[WH_SVC_COUNT] = {0};
            for (int s = 1; s < WH_SVC_COUNT; s++)
                instances[s] = broker_instances(gw->broker, (enum wh_svc)s);
            metrics_render(gw->metrics, &st, broker_pending(gw->broker), instances, &b);
            wh_buf_append(&b, services->data, services->len);
            if (wh_buf_failed(&b))
                problem(gw, mc->req, METRIC_ROUTE_METRICS, mc->request_id, 503, "unavailable",
                        "out of memory", NULL, 0);
            else
                respond(gw, mc->req, METRIC_ROUTE_METRICS, mc->request_id, 200,
                        "text/plain; version=0.0.4", NULL, 0, b.data, b.len);
            wh_buf_close(&b);
        }
        free(mc);
        mc = next;
    }
}

/* GET /assets/{name}: a static file of the pages, with the page security
 * headers; revalidated by ETag on every use, so a new release shows at once. */
static void serve_asset(gateway_t *gw, wh_http_req_t *req, const char *rid)
{
    const asset_t *a = assets_find(gw->assets, req->path + strlen(ASSETS_PREFIX));
    if (!a) {
        problem(gw, req, METRIC_ROUTE_ASSETS, rid, 404, "not-found", "no such file", NULL, 0);
        return;
    }
    const wh_http_header_t h[] = {
        WH_PAGE_HEADERS, {"ETag", a->etag}, {"Cache-Control", "no-cache"}};
    bool same = req->if_none_match && strcmp(req->if_none_match, a->etag) == 0;
    respond(gw, req, METRIC_ROUTE_ASSETS, rid, same ? 304 : 200, a->content_type, h,
            sizeof h / sizeof h[0], same ? NULL : a->data, same ? 0 : a->len);
}

/* A participation page on its way (participate.h). */
struct page_call {
    gateway_t *gw;
    wh_http_req_t *req;
    int route;
    char request_id[GATEWAY_MAX_REQUEST_ID + 1];
};

static void on_page(void *ud, const page_reply_t *r)
{
    struct page_call *pc = ud;
    wh_http_header_t h[WH_PAGE_HEADERS_N + 4] = {WH_PAGE_HEADERS};
    size_t n = WH_PAGE_HEADERS_N;
    /* The page holds a participation code or answers: no cache keeps it. */
    h[n++] = (wh_http_header_t){"Cache-Control", "no-store"};
    if (r->location)
        h[n++] = (wh_http_header_t){"Location", r->location};
    if (r->allow)
        h[n++] = (wh_http_header_t){"Allow", r->allow};
    if (r->retry_after)
        h[n++] = (wh_http_header_t){"Retry-After", r->retry_after};
    respond(pc->gw, pc->req, pc->route, pc->request_id, r->status,
            r->len ? "text/html; charset=utf-8" : NULL, h, n, r->body, r->len);
    free(pc);
}

/* /s/...: the participation page. Public like the API's participation
 * operations, so under the same per-address rate limit. */
static void serve_page(gateway_t *gw, wh_http_req_t *req, const char *rid)
{
    static const int routes[] = {[PAGE_ROUTE_FORM] = METRIC_ROUTE_PARTICIPATE,
                                 [PAGE_ROUTE_SUBMIT] = METRIC_ROUTE_PARTICIPATE_SUBMIT,
                                 [PAGE_ROUTE_THANKS] = METRIC_ROUTE_PARTICIPATE_THANKS};
    struct page_call *pc = malloc(sizeof *pc);
    if (!pc) {
        problem(gw, req, METRIC_ROUTE_UNMATCHED, rid, 503, "unavailable", "out of memory", NULL, 0);
        return;
    }
    *pc = (struct page_call){
        .gw = gw, .req = req, .route = routes[participate_route(req->method, req->path)]};
    snprintf(pc->request_id, sizeof pc->request_id, "%s", rid);
    participate_req_t pr = {
        .broker = gw->broker,
        .timeout_ms = gw->timeout_ms,
        .request_id = rid,
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .content_type = req->content_type,
        .accept_language = req->accept_language,
        .body = req->body,
        .body_len = req->body_len,
    };
    int wait_s = ratelimit_take(gw->ratelimit, req->peer, uv_now(gw->loop));
    if (wait_s > 0)
        participate_too_many(&pr, wait_s, on_page, pc);
    else
        participate_handle(&pr, on_page, pc);
}

/* GET /: the console, as the sign-in page or, with a live session, the
 * app's shell. Both are static files; which one depends on the cookie, so
 * neither may be cached. */
static void serve_root(gateway_t *gw, wh_http_req_t *req, const char *rid)
{
    const asset_t *a = assets_find(gw->assets, console_root_page(gw->console, req));
    if (!a) {
        problem(gw, req, METRIC_ROUTE_CONSOLE, rid, 404, "not-found", "the pages are not installed",
                NULL, 0);
        return;
    }
    const wh_http_header_t h[] = {WH_PAGE_HEADERS, {"Cache-Control", "no-store"}};
    respond(gw, req, METRIC_ROUTE_CONSOLE, rid, 200, a->content_type, h, sizeof h / sizeof h[0],
            a->data, a->len);
}

/* /healthz, /readyz and /metrics: the orchestrator's endpoints, not operations of ops.h. */
static void serve_orchestrator(gateway_t *gw, wh_http_req_t *req, const char *rid)
{
    wh_buf_t b;
    wh_buf_init(&b);
    if (strcmp(req->path, "/healthz") == 0) {
        respond(gw, req, METRIC_ROUTE_HEALTHZ, rid, 200, JSON_TYPE, NULL, 0, "{\"status\":\"ok\"}",
                15);
    } else if (strcmp(req->path, "/readyz") == 0) {
        bool ready = true;
        wh_buf_puts(&b, "{\"services\":{");
        for (int s = 1; s < WH_SVC_COUNT; s++) {
            int n = broker_instances(gw->broker, (enum wh_svc)s);
            ready = ready && n > 0;
            wh_buf_printf(&b, "%s\"%s\":%d", s > 1 ? "," : "", wh_service_names[s], n);
        }
        wh_buf_printf(&b, "},\"status\":\"%s\"}", ready ? "ready" : "not ready");
        respond(gw, req, METRIC_ROUTE_READYZ, rid, ready ? 200 : 503, JSON_TYPE, NULL, 0, b.data,
                b.len);
    } else {
        /* The services' figures first, the gateway's own once they are in. */
        struct metrics_call *mc = malloc(sizeof *mc);
        if (!mc) {
            problem(gw, req, METRIC_ROUTE_METRICS, rid, 503, "unavailable", "out of memory", NULL,
                    0);
        } else {
            *mc = (struct metrics_call){.req = req, .next = gw->scrape_waiting};
            snprintf(mc->request_id, sizeof mc->request_id, "%s", rid);
            gw->scrape_waiting = mc;
            if (!gw->scraping) {
                gw->scraping = true;
                scrape_start(gw->broker, gw->metrics_timeout_ms, on_scraped, gw);
            }
        }
    }
    wh_buf_close(&b);
}

_Static_assert(GATEWAY_MAX_REQUEST_ID <= WH_ENV_MAX_ID &&
                   GATEWAY_MAX_REQUEST_ID <= WH_LOG_MAX_REQUEST_ID,
               "a client's request id travels in the envelope and is logged whole");

/* The gateway's own addresses outside the operation table that answer GET
 * and HEAD only (a page's file only where there is one): another method
 * there is 405, as on the API's routes. */
static bool gateway_get_only(const gateway_t *gw, const char *path)
{
    if (strncmp(path, ASSETS_PREFIX, strlen(ASSETS_PREFIX)) == 0)
        return assets_find(gw->assets, path + strlen(ASSETS_PREFIX)) != NULL;
    return strcmp(path, "/") == 0 || strcmp(path, "/healthz") == 0 ||
           strcmp(path, "/readyz") == 0 || strcmp(path, "/metrics") == 0;
}

static void handle_request(wh_http_server_t *srv, wh_http_req_t *req, void *ud)
{
    gateway_t *gw = ud;
    gw->requests++;
    char rid[GATEWAY_MAX_REQUEST_ID + 1];
    if (req->request_id && valid_request_id(req->request_id))
        snprintf(rid, sizeof rid, "%s", req->request_id);
    else
        wh_id_new(rid);
    /* Whatever the gateway logs while it handles the request names it. */
    wh_log_set_request(rid);

    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (get && (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0 ||
                strcmp(req->path, "/metrics") == 0)) {
        serve_orchestrator(gw, req, rid);
        return;
    }
    if (get && strncmp(req->path, ASSETS_PREFIX, strlen(ASSETS_PREFIX)) == 0) {
        serve_asset(gw, req, rid);
        return;
    }
    if (!get && gateway_get_only(gw, req->path)) {
        wh_http_header_t allow = {"Allow", "GET, HEAD"};
        problem(gw, req, METRIC_ROUTE_UNMATCHED, rid, 405, "about:blank",
                "method not allowed on this resource", &allow, 1);
        return;
    }
    console_begin(gw->console);
    if (participate_path(req->path)) {
        serve_page(gw, req, rid);
        return;
    }
    if (get && strcmp(req->path, "/") == 0) {
        serve_root(gw, req, rid);
        return;
    }
    /* The match lives in the gateway, not on the heap per request: requests
     * are handed over one at a time, and nothing below keeps it. */
    route_match_t *m = &gw->match;
    int rc = router_match(req->method, req->path, req->query, m);
    if (rc != ROUTE_OK) {
        wh_http_header_t allow = {"Allow", m->allow};
        problem(gw, req, METRIC_ROUTE_UNMATCHED, rid, rc, rc == 404 ? "not-found" : "about:blank",
                m->error, &allow, rc == ROUTE_BAD_METHOD);
        return;
    }
    int route = m->op;
    const wh_op_t *op = &wh_ops[m->op];
    principal_t pr = {0};
    /* A calendar feed's secret opens the calendar, and only it, without a
     * bearer token; a wrong one is as unknown as any other address (one
     * longer than any secret is cut here and then found too long). */
    char feed[FEEDS_MAX_SECRET_BYTES + 1];
    bool by_feed = m->op == WH_OP_AGREEMENTS_CALENDAR && !req->authorization &&
                   route_param(m, "feed", feed, sizeof feed);
    if (op->roles & WH_ROLE_PUBLIC || by_feed) {
        int wait_s = ratelimit_take(gw->ratelimit, req->peer, uv_now(gw->loop));
        if (wait_s > 0) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", wait_s);
            wh_http_header_t h = {"Retry-After", ra};
            problem(gw, req, route, rid, 429, "rate-limited",
                    "too many requests from this address; retry later", &h, 1);
            goto done;
        }
    }
    if (by_feed) {
        int fr = feeds_resolve(gw->store, feed, &pr);
        explicit_bzero(feed, sizeof feed);
        if (fr != 0) {
            problem(gw, req, route, rid, 404, "not-found", "no such calendar feed", NULL, 0);
            goto done;
        }
    } else if (!(op->roles & WH_ROLE_PUBLIC)) {
        /* A bearer token, else the console's session cookie; signing in
         * takes a token only. A request with Authorization ignores cookies. */
        bool bearer = req->authorization || m->op == WH_OP_SESSION_CREATE;
        bool write = !get;
        int ar = bearer ? auth_check(gw->store, req->authorization, &pr)
                        : console_auth(gw->console, req, write, &pr);
        if (ar == WH_EINVAL) {
            problem(gw, req, route, rid, 403, "csrf",
                    "a change made with the session cookie needs its X-CSRF-Token and a "
                    "same-origin request",
                    NULL, 0);
            goto done;
        }
        if (ar != 0) {
            wh_http_header_t h = {"WWW-Authenticate", "Bearer realm=\"workhealth\""};
            problem(gw, req, route, rid, 401, "unauthorized",
                    "a valid bearer token (or the pages' session) is required", &h, 1);
            goto done;
        }
        if (m->op == WH_OP_SESSION_CREATE && !console_signin_origin_ok(gw->console, req)) {
            problem(gw, req, route, rid, 403, "csrf", "sign in from the pages' own origin", NULL,
                    0);
            goto done;
        }
        if (!(op->roles & pr.role)) {
            problem(gw, req, route, rid, 403, "forbidden", "this token's role may not do this",
                    NULL, 0);
            goto done;
        }
    }
    wh_buf_t body_own, *body = wh_bufpool_take(&gw->bufs, &body_own);
    if (op->flags & WH_OPF_CSV) {
        if (!csv_body(gw, req, route, rid, body))
            goto done_body;
    } else if (op->flags & WH_OPF_BODY) {
        if (!json_content_type(req->content_type)) {
            problem(gw, req, route, rid, 415, "unsupported-media-type",
                    "the body must be application/json", NULL, 0);
            goto done_body;
        }
        wh_json_error_t je;
        int jr = wh_json_to_msgpack(req->body ? req->body : "", req->body_len, body, &je);
        if (jr != 0) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s (line %d, column %d)", je.text, je.line, je.column);
            problem(gw, req, route, rid, jr == WH_ELIMIT ? 422 : 400,
                    jr == WH_ELIMIT ? "limit" : "malformed-json", detail, NULL, 0);
            goto done_body;
        }
    } else if (req->body_len > 0 && !empty_json_object(req)) {
        /* `{}` is what generated clients send to an action without
         * parameters; anything else is a mistake worth reporting. */
        problem(gw, req, route, rid, 400, "unexpected-body",
                "this request takes no body (or an empty JSON object)", NULL, 0);
        goto done_body;
    }
    /* A backup takes as long as its store needs, not a request's time. */
    bool backup = wh_backup_is_op(op->service, m->op);
    uint64_t timeout_ms = backup ? (uint64_t)WH_BACKUP_TIMEOUT_MS : gw->timeout_ms;
    wh_buf_t env_own, *env = wh_bufpool_take(&gw->bufs, &env_own);
    wh_request_pack(env, &(wh_request_out_t){
                             .op = m->op,
                             .id = rid,
                             .token_id = pr.token_id[0] ? pr.token_id : NULL,
                             .role = pr.role,
                             .orgs = (const char *const *)pr.orgs,
                             .n_orgs = pr.n_orgs,
                             .deadline_ms = (int64_t)timeout_ms,
                             .idempotency_key = req->idempotency_key,
                             .if_match = req->if_match,
                             .accept = req->accept,
                             .params = m->params,
                             .n_params = m->n_params,
                             .body = (op->flags & (WH_OPF_BODY | WH_OPF_CSV)) ? body->data : NULL,
                             .body_len = body->len,
                         });
    if (wh_buf_failed(env)) {
        problem(gw, req, route, rid, 503, "unavailable", "out of memory", NULL, 0);
    } else if (backup && op->service == WH_SVC_GATEWAY) {
        backup_local(gw, req, route, rid, env->data, env->len);
    } else if (op->service == WH_SVC_GATEWAY) {
        run_local(gw, req, route, rid, env->data, env->len);
    } else if (m->op == WH_OP_AGREEMENTS_CALENDAR) {
        struct call *call = malloc(sizeof *call);
        char employer[ROUTER_MAX_PARAM_BYTES + 1], insurer[ROUTER_MAX_PARAM_BYTES + 1];
        if (!call) {
            problem(gw, req, route, rid, 503, "unavailable", "out of memory", NULL, 0);
        } else {
            *call = (struct call){.gw = gw, .req = req, .route = route};
            memcpy(call->request_id, rid, sizeof rid);
            calfeed_req_t cr = {
                .broker = gw->broker,
                .timeout_ms = gw->timeout_ms,
                .max_bytes = gw->calendar_max_bytes,
                .max_held = gw->calendar_max_held,
                .request_id = rid,
                .token_id = pr.token_id[0] ? pr.token_id : NULL,
                .role = pr.role,
                .orgs = (const char *const *)pr.orgs,
                .n_orgs = pr.n_orgs,
                .employer_id = route_param(m, "employer_id", employer, sizeof employer),
                .insurer_id = route_param(m, "insurer_id", insurer, sizeof insurer),
            };
            calfeed_fetch(&cr, on_calendar, call);
        }
    } else {
        struct call *call = malloc(sizeof *call);
        if (!call) {
            problem(gw, req, route, rid, 503, "unavailable", "out of memory", NULL, 0);
        } else {
            call->gw = gw;
            call->req = req;
            call->route = route;
            memcpy(call->request_id, rid, sizeof rid);
            broker_send(gw->broker, op->service, env->data, env->len, timeout_ms, on_broker_reply,
                        call);
        }
    }
    wh_bufpool_give(&gw->bufs, env);
done_body:
    wh_bufpool_give(&gw->bufs, body);
done:
    auth_principal_close(&pr);
}

static void on_request(wh_http_server_t *srv, wh_http_req_t *req, void *ud)
{
    handle_request(srv, req, ud);
    wh_log_set_request(NULL);
}

static void openapi_get(wh_ctx_t *c)
{
    gateway_t *gw = c->app;
    wh_reply_ok(c->rep, 200);
    wh_buf_append(&c->rep->body, gw->openapi.data, gw->openapi.len);
}

static const wh_handler_t local_handlers[] = {
    {WH_OP_OPENAPI_GET, openapi_get},
    {WH_OP_TOKENS_CREATE, tokens_create},
    {WH_OP_TOKENS_LIST, tokens_list},
    {WH_OP_TOKENS_DELETE, tokens_delete},
    {WH_OP_FEEDS_CREATE, feeds_create},
    {WH_OP_FEEDS_LIST, feeds_list},
    {WH_OP_FEEDS_DELETE, feeds_delete},
    {WH_OP_SESSION_CREATE, session_create},
    {WH_OP_SESSION_GET, session_get},
    {WH_OP_SESSION_DELETE, session_delete},
    /* Answered off the loop by backup_local, never through run_local. */
    {WH_OP_BACKUPS_GATEWAY, wh_backup_in_batch},
    {WH_OP_BACKUPS_PRUNE_GATEWAY, wh_backup_in_batch},
};

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    return *end == '\0' && x > 0 ? (uint64_t)x : dflt;
}

int gateway_new(uv_loop_t *loop, const wh_config_t *cfg, gateway_t **out)
{
    gateway_t *gw = calloc(1, sizeof *gw);
    if (!gw)
        return WH_ENOMEM;
    gw->loop = loop;
    gw->cfg = *cfg;
    gw->timeout_ms = env_u64("WH_REQUEST_TIMEOUT_MS", GATEWAY_REQUEST_TIMEOUT_MS);
    gw->metrics_timeout_ms = env_u64("WH_METRICS_TIMEOUT_MS", SCRAPE_TIMEOUT_MS);
    gw->calendar_max_bytes = env_u64("WH_CALENDAR_MAX_BYTES", CALFEED_MAX_BYTES);
    gw->calendar_max_held = env_u64("WH_CALENDAR_MAX_HELD_BYTES", CALFEED_MAX_HELD_BYTES);
    if (gw->calendar_max_bytes < 2 * CALFEED_FRAME_BYTES)
        gw->calendar_max_bytes = 2 * CALFEED_FRAME_BYTES;
    char url[FEEDS_MAX_URL];
    if (!cfg->public_url)
        snprintf(url, sizeof url, "http://%s", cfg->http_addr);
    if (feeds_init(cfg->public_url ? cfg->public_url : url) != 0) {
        wh_log_error("WH_PUBLIC_URL is longer than %d bytes", FEEDS_MAX_URL / 2 - 1);
        free(gw);
        return WH_ELIMIT;
    }
    int rc = WH_EIO;
    if (wh_config_path(cfg, "gateway.db", gw->store_path) != 0 ||
        wh_store_open(gw->store_path, gateway_migrations, gateway_n_migrations, &gw->store) != 0)
        goto fail_store;
    if (wh_dispatcher_init(&gw->local, WH_SVC_GATEWAY, local_handlers,
                           sizeof local_handlers / sizeof local_handlers[0], gw->store, gw) != 0 ||
        auth_bootstrap(gw->store, cfg) != 0)
        goto fail_auth;
    wh_buf_t doc;
    wh_buf_init(&doc);
    openapi_render(&doc);
    wh_json_error_t je;
    rc = wh_json_to_msgpack(doc.data, doc.len, &gw->openapi, &je);
    wh_buf_close(&doc);
    if (rc != 0) {
        wh_log_error("the OpenAPI document is not valid JSON: %s", je.text);
        goto fail_auth;
    }
    rc = WH_EIO;
    if (ratelimit_new((double)env_u64("WH_PUBLIC_RATE_PER_S", RATELIMIT_RATE_PER_S),
                      (double)env_u64("WH_PUBLIC_BURST", RATELIMIT_BURST), RATELIMIT_MAX_ADDRESSES,
                      &gw->ratelimit) != 0)
        goto fail_auth;
    if (!(gw->metrics = metrics_new()))
        goto fail_auth;
    char why[256 + WH_PATH_MAX];
    if (assets_load(getenv("WH_PAGES_DIR"), &gw->assets, why, sizeof why) != 0) {
        wh_log_error("cannot load the pages: %s", why);
        rc = WH_EIO;
        goto fail_broker;
    }
    if (console_new(gw->store, cfg->public_url, env_u64("WH_SESSION_IDLE_S", CONSOLE_IDLE_S),
                    env_u64("WH_SESSION_MAX_S", CONSOLE_MAX_S), &gw->console) != 0 ||
        sweep_start(loop, gw->store, &gw->local, &gw->sweep) != 0 ||
        broker_new_cfg(loop, cfg, &gw->broker) != 0)
        goto fail_broker;
    wh_http_config_t hc;
    wh_http_config_defaults(&hc);
    hc.addr = cfg->http_addr;
    hc.max_connections = (int)env_u64("WH_HTTP_MAX_CONNECTIONS", (uint64_t)hc.max_connections);
    hc.max_connections_per_addr =
        (int)env_u64("WH_HTTP_MAX_CONNECTIONS_PER_ADDR", (uint64_t)hc.max_connections_per_addr);
    hc.max_body_bytes = env_u64("WH_HTTP_MAX_BODY_BYTES", hc.max_body_bytes);
    gw->import_max_bytes = env_u64("WH_HTTP_MAX_IMPORT_BYTES", GATEWAY_MAX_IMPORT_BYTES);
    hc.body_limit = import_body_limit;
    hc.max_large_held_bytes = env_u64("WH_HTTP_MAX_LARGE_HELD_BYTES", hc.max_large_held_bytes);
    hc.max_conn_queued_bytes = env_u64("WH_HTTP_MAX_CONN_QUEUED_BYTES", hc.max_conn_queued_bytes);
    hc.max_queued_bytes = env_u64("WH_HTTP_MAX_QUEUED_BYTES", hc.max_queued_bytes);
    hc.first_byte_timeout_ms = env_u64("WH_HTTP_FIRST_BYTE_TIMEOUT_MS", hc.first_byte_timeout_ms);
    hc.header_timeout_ms = env_u64("WH_HTTP_HEADER_TIMEOUT_MS", hc.header_timeout_ms);
    hc.body_timeout_ms = env_u64("WH_HTTP_BODY_TIMEOUT_MS", hc.body_timeout_ms);
    hc.idle_timeout_ms = env_u64("WH_HTTP_IDLE_TIMEOUT_MS", hc.idle_timeout_ms);
    if (wh_http_server_new(loop, &hc, on_request, gw, &gw->http) != 0) {
        wh_log_error("cannot listen on %s", cfg->http_addr);
        goto fail_http;
    }
    /* Building the OpenAPI document left megabytes of freed heap, which
     * the gateway's trim threshold (main.c) would keep for good; an idle
     * gateway gives them back. */
    malloc_trim(0);
    if ((gw->trim = malloc(sizeof *gw->trim)) != NULL) {
        uv_timer_init(loop, gw->trim);
        gw->trim->data = gw;
        uv_timer_start(gw->trim, on_trim, GATEWAY_IDLE_TRIM_MS / 4, GATEWAY_IDLE_TRIM_MS);
        uv_unref((uv_handle_t *)gw->trim);
    }
    *out = gw;
    return 0;

fail_http:
    broker_destroy(&gw->broker);
fail_broker:
    sweep_stop(&gw->sweep);
    console_destroy(&gw->console);
    metrics_destroy(&gw->metrics);
    assets_free(&gw->assets);
fail_auth:
    ratelimit_destroy(&gw->ratelimit);
    wh_buf_close(&gw->openapi);
    wh_store_destroy(&gw->store);
fail_store:
    free(gw);
    return rc;
}

void gateway_destroy(gateway_t **gw_p)
{
    gateway_t *gw = *gw_p;
    if (!gw)
        return;
    /* The broker first: it answers every request still in flight (503)
     * while the connections they belong to are still there. */
    broker_destroy(&gw->broker);
    wh_http_server_destroy(&gw->http);
    if (gw->trim)
        uv_close((uv_handle_t *)gw->trim, on_trim_closed);
    sweep_stop(&gw->sweep);
    console_destroy(&gw->console);
    auth_cache_clear();
    metrics_destroy(&gw->metrics);
    assets_free(&gw->assets);
    ratelimit_destroy(&gw->ratelimit);
    wh_buf_close(&gw->openapi);
    wh_bufpool_close(&gw->bufs);
    wh_store_destroy(&gw->store);
    free(gw);
    *gw_p = NULL;
}

console_t *console_of(void *app)
{
    return ((gateway_t *)app)->console;
}

int gateway_http_port(const gateway_t *gw)
{
    return wh_http_port(gw->http);
}
