/* libcurl's multi interface driven by a libuv loop, so that HTTP and SMTP
 * transfers never block the loop: curl tells which sockets to watch (one
 * uv_poll_t each) and when to call it back (one uv_timer_t), and the loop
 * hands readiness back with curl_multi_socket_action(). This is the pattern
 * of curl's own multi-uv example.
 *
 * The caller builds each easy handle (URL, headers, timeouts, callbacks),
 * adds it with a completion callback, and owns it again when the callback
 * runs: it then reads what it needs (CURLINFO_*) and calls
 * curl_easy_cleanup(). It does not limit concurrency, pick hosts or retry;
 * the caller decides how many transfers it adds. */
#ifndef WH_HTTP_CLIENT_H
#define WH_HTTP_CLIENT_H

#include <curl/curl.h>
#include <stddef.h>
#include <uv.h>

/* Idle connections kept for reuse (keep-alive) across transfers. */
#define WH_HTTP_CLIENT_MAX_CACHED 64

typedef struct wh_http_client wh_http_client_t;

/* Called once per added transfer when it ends: result is CURLE_OK or the
 * error; CURLE_ABORTED_BY_CALLBACK when the client is destroyed first. */
typedef void (*wh_http_done_fn)(void *ud, CURL *easy, CURLcode result);

/* The client; libcurl is set up (curl_global_init once per process, the
 * multi handle) with its first transfer. */
int wh_http_client_new(uv_loop_t *loop, wh_http_client_t **out);
/* Ends every transfer (each one's callback runs with
 * CURLE_ABORTED_BY_CALLBACK), then closes the handles; the memory is freed
 * once the loop has run their close callbacks. Accepts NULL. */
void wh_http_client_destroy(wh_http_client_t **c_p);
/* Starts a transfer; its CURLOPT_PRIVATE is used by the client. */
int wh_http_client_add(wh_http_client_t *c, CURL *easy, wh_http_done_fn fn, void *ud);
/* Transfers added and not yet ended. */
size_t wh_http_client_active(const wh_http_client_t *c);

#endif
