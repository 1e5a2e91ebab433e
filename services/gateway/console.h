/* The console's sessions: a browser signs in by exchanging an API token for
 * a session cookie (POST /v1/session), which then authenticates its /v1
 * requests in the token's place, with the token's role and organisations.
 *
 * The store keeps only a SHA-256 of each session's secret, the token it
 * belongs to and two instants (sign-in, last use); a session lives while
 * its token does and ends after CONSOLE idle time unused, a fixed time
 * after sign-in, or on DELETE /v1/session. The cookie is HttpOnly,
 * SameSite=Strict, Path=/, and Secure with the __Host- prefix when the
 * public URL is https. A request the cookie authenticates that is not a GET
 * or HEAD must carry the session's CSRF token (derived from its secret, so
 * nothing more is stored) in X-CSRF-Token and come from the pages' own
 * origin by Origin or Sec-Fetch-Site. Bearer tokens work as before; a
 * request with Authorization ignores any cookie.
 *
 * It does not render pages: GET / answers one of two static files
 * (console_root_page), and the pages call the /v1 API like any client. */
#ifndef GATEWAY_CONSOLE_H
#define GATEWAY_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "dispatch.h"
#include "http.h"
#include "store.h"

#define CONSOLE_COOKIE        "wh_session"
#define CONSOLE_COOKIE_SECURE "__Host-wh_session" /* with an https WH_PUBLIC_URL */
#define CONSOLE_SECRET_PREFIX "whs_"
#define CONSOLE_IDLE_S        1800  /* WH_SESSION_IDLE_S: unused this long, a session ends */
#define CONSOLE_MAX_S         43200 /* WH_SESSION_MAX_S: this long after sign-in it ends */
#define CONSOLE_MAX_PER_TOKEN 20    /* live sessions of one token; a new one ends the oldest */
#define CONSOLE_MAX_COOKIE    128   /* a longer session value is unknown at once */
#define CONSOLE_MAX_ORIGIN    512   /* a longer Origin or Host is not ours */
#define CONSOLE_CSRF_LEN      64    /* hex digits */
/* Last use is written at most this often (and at most every 1/30 of the
 * idle time), so that reading pages does not write the store each time. */
#define CONSOLE_TOUCH_MS 60000

typedef struct console console_t;

/* public_url: WH_PUBLIC_URL or NULL (then the cookie is not Secure); copied. */
int console_new(wh_store_t *store, const char *public_url, uint64_t idle_s, uint64_t max_s,
                console_t **out);
void console_destroy(console_t **c_p);

/* Before each request: forgets the previous one's session. */
void console_begin(console_t *c);
/* Authenticates req by its session cookie. write: the request changes
 * something (CSRF token and origin required). 0 with p filled (free with
 * auth_principal_close); WH_ENOTFOUND for no cookie or an unknown, ended or
 * expired session (401); WH_EINVAL for a missing or wrong CSRF token or a
 * foreign origin (403). */
int console_auth(console_t *c, const wh_http_req_t *req, bool write, principal_t *p);
/* Whether req may sign in from where it comes: a browser's request must be
 * same-origin; one without Origin and Sec-Fetch-Site (curl) may. */
bool console_signin_origin_ok(const console_t *c, const wh_http_req_t *req);
/* The headers a session operation adds to its answer (Set-Cookie,
 * Cache-Control), into h; their count (0 for other operations). The values
 * live in c until the next console_begin. */
size_t console_headers(console_t *c, wh_http_header_t *h, size_t cap);
/* What GET / answers: "app.html" with a live session, else "signin.html". */
const char *console_root_page(console_t *c, const wh_http_req_t *req);

/* Handlers of POST, GET and DELETE /v1/session. They find the console
 * through console_of(c->app), which the module that owns the dispatcher
 * (the gateway) defines. */
console_t *console_of(void *app);
void session_create(wh_ctx_t *c);
void session_get(wh_ctx_t *c);
void session_delete(wh_ctx_t *c);

/* The parsing, exposed for tests. The value of the cookie called name in a
 * Cookie header into out: 0, WH_ENOTFOUND, or WH_ELIMIT when it does not fit
 * in cap (or is not base64url with the session prefix). */
int console_cookie_find(const char *header, const char *name, char *out, size_t cap);
/* Whether a request with these headers comes from the pages' own origin:
 * Sec-Fetch-Site, when sent, must be same-origin; Origin, when sent, must
 * name the Host the request was sent to or public_origin
 * (scheme://host[:port], may be NULL). With neither header the answer is
 * !require. */
bool console_same_origin(const char *origin, const char *sec_fetch_site, const char *host,
                         const char *public_origin, bool require);
/* The CSRF token of a session secret, and its comparison in constant time. */
void console_csrf_of(const char *secret, char out[CONSOLE_CSRF_LEN + 1]);
bool console_csrf_ok(const char *header, const char *expected);

#endif
