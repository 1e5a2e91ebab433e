#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "err.h"
#include "id.h"
#include "log.h"
#include "msg.h"

/* "<name>=<secret>; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0" */
#define SET_COOKIE_MAX (sizeof CONSOLE_COOKIE_SECURE + CONSOLE_MAX_COOKIE + 80)

struct console {
    wh_store_t *store;
    bool secure;        /* the pages are reached over https: Secure, __Host- */
    const char *cookie; /* its name */
    char public_origin[CONSOLE_MAX_ORIGIN];
    int64_t idle_ms, max_ms, touch_ms;
    /* The request being handled (console_begin clears it). */
    bool have_session;
    char session_id[WH_ID_LEN + 1];
    char csrf[CONSOLE_CSRF_LEN + 1];
    int64_t created_ms, last_ms;
    bool session_op; /* a session operation ran: its headers go out */
    char set_cookie[SET_COOKIE_MAX];
};

/* A session works only while its token does. */
static const char SQL_SESSION_BY_HASH[] =
    "SELECT s.id, s.created_ms, s.last_ms, t.id, t.role, t.org_list FROM sessions s"
    " JOIN tokens t ON t.id = s.token_id"
    " WHERE s.hash = ?1 AND t.revoked_ms IS NULL AND (t.expires_ms IS NULL OR t.expires_ms > ?2)";
static const char SQL_SESSION_TOUCH[] = "UPDATE sessions SET last_ms = ?2 WHERE id = ?1";
static const char SQL_SESSION_DROP_DEAD[] =
    "DELETE FROM sessions WHERE last_ms <= ?1 OR created_ms <= ?2";
static const char SQL_SESSION_COUNT[] = "SELECT count(*) FROM sessions WHERE token_id = ?1";
static const char SQL_SESSION_DROP_OLDEST[] =
    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE token_id = ?1"
    " ORDER BY created_ms, id LIMIT ?2)";
static const char SQL_SESSION_INSERT[] =
    "INSERT INTO sessions(id, hash, token_id, created_ms, last_ms) VALUES (?1, ?2, ?3, ?4, ?4)";
static const char SQL_SESSION_DELETE[] = "DELETE FROM sessions WHERE id = ?1";
static const char SQL_TOKEN_LABEL[] = "SELECT label FROM tokens WHERE id = ?1";

/* scheme://host[:port] of url into out ("" when url is not http(s)). */
static void origin_of(const char *url, char *out, size_t cap)
{
    out[0] = '\0';
    if (!url)
        return;
    const char *sep = strstr(url, "://");
    if (!sep)
        return;
    size_t n = (size_t)(sep + 3 - url) + strcspn(sep + 3, "/?#");
    if (n < cap)
        snprintf(out, cap, "%.*s", (int)n, url);
}

int console_new(wh_store_t *store, const char *public_url, uint64_t idle_s, uint64_t max_s,
                console_t **out)
{
    console_t *c = calloc(1, sizeof *c);
    if (!c)
        return WH_ENOMEM;
    c->store = store;
    c->secure = public_url && strncasecmp(public_url, "https://", 8) == 0;
    c->cookie = c->secure ? CONSOLE_COOKIE_SECURE : CONSOLE_COOKIE;
    origin_of(public_url, c->public_origin, sizeof c->public_origin);
    c->idle_ms = (int64_t)idle_s * 1000;
    c->max_ms = (int64_t)max_s * 1000;
    c->touch_ms = c->idle_ms / 30 < CONSOLE_TOUCH_MS ? c->idle_ms / 30 : CONSOLE_TOUCH_MS;
    *out = c;
    return 0;
}

void console_destroy(console_t **c_p)
{
    if (*c_p)
        explicit_bzero(*c_p, sizeof **c_p);
    free(*c_p);
    *c_p = NULL;
}

void console_begin(console_t *c)
{
    c->have_session = false;
    c->session_op = false;
    c->session_id[0] = '\0';
    explicit_bzero(c->csrf, sizeof c->csrf);
    explicit_bzero(c->set_cookie, sizeof c->set_cookie);
}

static bool b64url(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

int console_cookie_find(const char *header, const char *name, char *out, size_t cap)
{
    size_t name_n = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        size_t pair = strcspn(p, ";");
        if (pair > name_n && strncmp(p, name, name_n) == 0 && p[name_n] == '=') {
            const char *v = p + name_n + 1;
            size_t n = pair - name_n - 1;
            while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            if (n >= cap || n <= strlen(CONSOLE_SECRET_PREFIX) ||
                strncmp(v, CONSOLE_SECRET_PREFIX, strlen(CONSOLE_SECRET_PREFIX)) != 0)
                return WH_ELIMIT;
            for (size_t i = strlen(CONSOLE_SECRET_PREFIX); i < n; i++)
                if (!b64url(v[i]))
                    return WH_ELIMIT;
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
        p += pair;
    }
    return WH_ENOTFOUND;
}

bool console_same_origin(const char *origin, const char *sec_fetch_site, const char *host,
                         const char *public_origin, bool require)
{
    if (!origin && !sec_fetch_site)
        return !require;
    if (sec_fetch_site && strcmp(sec_fetch_site, "same-origin") != 0)
        return false;
    if (!origin)
        return true;
    if (public_origin && *public_origin && strcasecmp(origin, public_origin) == 0)
        return true;
    /* The authority of an http(s) Origin must be the Host the browser sent
     * the request to: the page that made it was loaded from there. */
    const char *auth = NULL;
    if (strncasecmp(origin, "http://", 7) == 0)
        auth = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        auth = origin + 8;
    return auth && host && *host && strlen(host) < CONSOLE_MAX_ORIGIN &&
           strcasecmp(auth, host) == 0;
}

void console_csrf_of(const char *secret, char out[CONSOLE_CSRF_LEN + 1])
{
    /* A one-way function of the secret under its own label: the page can
     * hold the CSRF token without holding the cookie's secret. */
    char buf[sizeof "wh-csrf:" + CONSOLE_MAX_COOKIE];
    int n = snprintf(buf, sizeof buf, "wh-csrf:%s", secret);
    wh_sha256_hex(buf, (size_t)n, out);
    explicit_bzero(buf, sizeof buf);
}

bool console_csrf_ok(const char *header, const char *expected)
{
    return header && strlen(header) == CONSOLE_CSRF_LEN &&
           wh_ct_equal(header, expected, CONSOLE_CSRF_LEN);
}

bool console_signin_origin_ok(const console_t *c, const wh_http_req_t *req)
{
    return console_same_origin(req->origin, req->sec_fetch_site, req->host, c->public_origin,
                               false);
}

/* Looks the session of req's cookie up; fills p when given. */
static int find_session(console_t *c, const wh_http_req_t *req, principal_t *p)
{
    char secret[CONSOLE_MAX_COOKIE];
    if (!req->cookie || console_cookie_find(req->cookie, c->cookie, secret, sizeof secret) != 0)
        return WH_ENOTFOUND;
    char hash[65];
    wh_sha256_hex(secret, strlen(secret), hash);
    int64_t now = wh_clock_now_ms();
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SESSION_BY_HASH);
    if (!st) {
        explicit_bzero(secret, sizeof secret);
        return WH_ENOTFOUND;
    }
    wh_stmt_bind_text(st, 1, hash);
    sqlite3_bind_int64(st, 2, now);
    int rc = WH_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t created = sqlite3_column_int64(st, 1), last = sqlite3_column_int64(st, 2);
        if (now - last < c->idle_ms && now - created < c->max_ms) {
            wh_stmt_col_copy(st, 0, c->session_id, sizeof c->session_id);
            c->created_ms = created;
            c->last_ms = last;
            c->have_session = true;
            console_csrf_of(secret, c->csrf);
            rc = 0;
            if (p) {
                wh_str_t role = wh_stmt_col_str(st, 4);
                const char *list = (const char *)sqlite3_column_text(st, 5);
                char token_id[WH_ENV_MAX_TOKEN_ID + 1];
                wh_stmt_col_copy(st, 3, token_id, sizeof token_id);
                rc = auth_principal_set(p, token_id, wh_role_parse(role.p, role.n),
                                        list ? list : "");
            }
        }
    }
    sqlite3_reset(st);
    explicit_bzero(secret, sizeof secret);
    if (rc == 0 && now - c->last_ms >= c->touch_ms) {
        sqlite3_stmt *t = wh_store_stmt(c->store, SQL_SESSION_TOUCH);
        if (t) {
            wh_stmt_bind_text(t, 1, c->session_id);
            sqlite3_bind_int64(t, 2, now);
            if (sqlite3_step(t) == SQLITE_DONE)
                c->last_ms = now;
            sqlite3_reset(t);
        }
    }
    return rc;
}

int console_auth(console_t *c, const wh_http_req_t *req, bool write, principal_t *p)
{
    memset(p, 0, sizeof *p);
    int rc = find_session(c, req, p);
    if (rc != 0)
        return WH_ENOTFOUND;
    if (write && (!console_csrf_ok(req->csrf_token, c->csrf) ||
                  !console_same_origin(req->origin, req->sec_fetch_site, req->host,
                                       c->public_origin, true))) {
        auth_principal_close(p);
        return WH_EINVAL;
    }
    return 0;
}

const char *console_root_page(console_t *c, const wh_http_req_t *req)
{
    return find_session(c, req, NULL) == 0 ? "app.html" : "signin.html";
}

size_t console_headers(console_t *c, wh_http_header_t *h, size_t cap)
{
    size_t n = 0;
    if (!c->session_op)
        return 0;
    if (n < cap)
        h[n++] = (wh_http_header_t){"Cache-Control", "no-store"};
    if (c->set_cookie[0] && n < cap)
        h[n++] = (wh_http_header_t){"Set-Cookie", c->set_cookie};
    return n;
}

static void instant(msgpack_packer *pk, const char *key, int64_t ms, bool have)
{
    char t[WH_RFC3339_LEN];
    if (!have) {
        wh_msg_kv_nil(pk, key);
        return;
    }
    wh_clock_format_rfc3339(ms, t);
    wh_msg_kv_str(pk, key, t);
}

/* The Session answer for the request's principal and, when it has one, its
 * session. */
static void pack_session(wh_ctx_t *c, console_t *con, int status)
{
    const wh_principal_t *pr = &c->req->principal;
    char label[4 * AUTH_MAX_LABEL + 1] = "";
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_TOKEN_LABEL);
    if (st) {
        wh_stmt_bind_text(st, 1, pr->token_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            wh_stmt_col_copy(st, 0, label, sizeof label);
        sqlite3_reset(st);
    }
    msgpack_packer *pk = wh_reply_ok(c->rep, status);
    msgpack_pack_map(pk, 7);
    wh_msg_kv_str(pk, "token_id", pr->token_id);
    wh_msg_kv_str(pk, "role", wh_role_name(pr->role));
    wh_msg_pack_str(pk, "org_ids");
    if (pr->orgs && pr->orgs->type == MSGPACK_OBJECT_ARRAY)
        msgpack_pack_object(pk, *pr->orgs);
    else
        msgpack_pack_array(pk, 0);
    wh_msg_kv_str(pk, "label", label);
    if (con->have_session)
        wh_msg_kv_str(pk, "csrf_token", con->csrf);
    else
        wh_msg_kv_nil(pk, "csrf_token");
    instant(pk, "expires_at", con->created_ms + con->max_ms, con->have_session);
    instant(pk, "idle_expires_at", con->last_ms + con->idle_ms, con->have_session);
}

void session_create(wh_ctx_t *c)
{
    console_t *con = console_of(c->app);
    const wh_principal_t *pr = &c->req->principal;
    const char *token_id = pr->token_id;
    int64_t now = wh_clock_now_ms();
    con->session_op = true;
    /* Ended sessions go first, then the token's oldest beyond the limit. */
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SESSION_DROP_DEAD);
    int ok = st != NULL;
    if (ok) {
        sqlite3_bind_int64(st, 1, now - con->idle_ms);
        sqlite3_bind_int64(st, 2, now - con->max_ms);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    int64_t live = 0;
    if (ok && (st = wh_store_stmt(c->store, SQL_SESSION_COUNT))) {
        wh_stmt_bind_text(st, 1, token_id);
        ok = sqlite3_step(st) == SQLITE_ROW;
        live = ok ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
    }
    if (ok && live >= CONSOLE_MAX_PER_TOKEN &&
        (st = wh_store_stmt(c->store, SQL_SESSION_DROP_OLDEST))) {
        wh_stmt_bind_text(st, 1, token_id);
        sqlite3_bind_int64(st, 2, live - CONSOLE_MAX_PER_TOKEN + 1);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    unsigned char raw[32];
    char secret[CONSOLE_MAX_COOKIE], hash[65];
    memcpy(secret, CONSOLE_SECRET_PREFIX, strlen(CONSOLE_SECRET_PREFIX));
    wh_random_bytes(raw, sizeof raw);
    wh_base64url(raw, sizeof raw, secret + strlen(CONSOLE_SECRET_PREFIX));
    explicit_bzero(raw, sizeof raw);
    wh_sha256_hex(secret, strlen(secret), hash);
    wh_id_new(con->session_id);
    if (ok && (st = wh_store_stmt(c->store, SQL_SESSION_INSERT))) {
        wh_stmt_bind_text(st, 1, con->session_id);
        wh_stmt_bind_text(st, 2, hash);
        wh_stmt_bind_text(st, 3, token_id);
        sqlite3_bind_int64(st, 4, now);
        ok = sqlite3_step(st) == SQLITE_DONE;
    } else {
        ok = 0;
    }
    if (!ok) {
        explicit_bzero(secret, sizeof secret);
        wh_reply_problem(c->rep, 503, "store-unavailable", "the session could not be stored");
        return;
    }
    con->have_session = true;
    con->created_ms = con->last_ms = now;
    console_csrf_of(secret, con->csrf);
    snprintf(con->set_cookie, sizeof con->set_cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
             con->cookie, secret, con->secure ? "; Secure" : "");
    explicit_bzero(secret, sizeof secret);
    pack_session(c, con, 201);
}

void session_get(wh_ctx_t *c)
{
    console_t *con = console_of(c->app);
    con->session_op = true;
    pack_session(c, con, 200);
}

void session_delete(wh_ctx_t *c)
{
    console_t *con = console_of(c->app);
    con->session_op = true;
    if (!con->have_session) {
        wh_reply_problem(c->rep, 404, "not-found",
                         "this request has no session (a bearer token is not one)");
        return;
    }
    sqlite3_stmt *st = wh_store_stmt(c->store, SQL_SESSION_DELETE);
    if (!st) {
        wh_reply_problem(c->rep, 503, "store-unavailable", "the session could not be ended");
        return;
    }
    wh_stmt_bind_text(st, 1, con->session_id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        wh_reply_problem(c->rep, 503, "store-unavailable", "the session could not be ended");
        return;
    }
    con->have_session = false;
    snprintf(con->set_cookie, sizeof con->set_cookie,
             "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", con->cookie,
             con->secure ? "; Secure" : "");
    wh_reply_empty(c->rep, 204);
}
