#include "http_client.h"

#include <stdbool.h>
#include <stdlib.h>

#include "err.h"
#include "log.h"

/* One watched socket. curl_multi_assign() ties it to the socket so that the
 * next callback for the same socket finds it again. */
struct watch {
    uv_poll_t poll;
    curl_socket_t fd;
    wh_http_client_t *c;
    struct watch *prev, *next; /* open watches, for destroy */
};

/* One transfer, found again through CURLOPT_PRIVATE. */
struct transfer {
    CURL *easy;
    wh_http_done_fn fn;
    void *ud;
    struct transfer *prev, *next;
};

struct wh_http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct transfer *transfers; /* every active one, for destroy */
    struct watch *watches;
    size_t active;
    size_t open_handles; /* timer + watches still to be closed */
    bool destroying;
};

static void maybe_free(wh_http_client_t *c)
{
    if (c->destroying && c->open_handles == 0)
        free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    wh_http_client_t *c;
    if (h->type == UV_TIMER) {
        c = h->data;
    } else {
        struct watch *w = h->data;
        c = w->c;
        free(w);
    }
    c->open_handles--;
    maybe_free(c);
}

static void finish(wh_http_client_t *c, CURL *easy, CURLcode result)
{
    struct transfer *t = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    curl_multi_remove_handle(c->multi, easy);
    if (!t)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        c->transfers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    c->active--;
    wh_http_done_fn fn = t->fn;
    void *ud = t->ud;
    free(t);
    fn(ud, easy, result);
}

/* Reports finished transfers. A callback may add new transfers; they are
 * picked up by curl's own timer callback. */
static void check_done(wh_http_client_t *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            finish(c, m->easy_handle, m->data.result);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct watch *w = p->data;
    wh_http_client_t *c = w->c;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(c->multi, w->fd, flags, &running);
    check_done(c);
}

static void on_timer(uv_timer_t *t)
{
    wh_http_client_t *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

/* CURLMOPT_TIMERFUNCTION: never calls back into curl directly; a zero
 * timeout runs on the next loop iteration. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    wh_http_client_t *c = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void unwatch(wh_http_client_t *c, struct watch *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        c->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, on_handle_closed);
}

/* CURLMOPT_SOCKETFUNCTION */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    wh_http_client_t *c = userp;
    struct watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            unwatch(c, w);
            curl_multi_assign(c->multi, fd, NULL);
        }
        return 0;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            return -1;
        w->fd = fd;
        w->c = c;
        if (uv_poll_init_socket(c->loop, &w->poll, fd) != 0) {
            free(w);
            return -1;
        }
        w->poll.data = w;
        c->open_handles++;
        w->next = c->watches;
        if (w->next)
            w->next->prev = w;
        c->watches = w;
        curl_multi_assign(c->multi, fd, w);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&w->poll, events, on_poll);
    return 0;
}

int wh_http_client_new(uv_loop_t *loop, wh_http_client_t **out)
{
    wh_http_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return WH_ENOMEM;
    c->loop = loop;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    *out = c;
    return 0;
}

/* libcurl (and the TLS libraries under it) is set up with the first
 * transfer: a stack that sends nothing does not pay for it (2.4 MB of
 * resident pages in a process of its own). */
static int ensure_multi(wh_http_client_t *c)
{
    static bool global_done;
    if (c->multi)
        return 0;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
            return WH_EIO;
        global_done = true;
    }
    c->multi = curl_multi_init();
    if (!c->multi)
        return WH_ENOMEM;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)WH_HTTP_CLIENT_MAX_CACHED);
    return 0;
}

int wh_http_client_add(wh_http_client_t *c, CURL *easy, wh_http_done_fn fn, void *ud)
{
    if (c->destroying)
        return WH_EINVAL;
    int rc = ensure_multi(c);
    if (rc != 0)
        return rc;
    struct transfer *t = calloc(1, sizeof *t);
    if (!t)
        return WH_ENOMEM;
    t->easy = easy;
    t->fn = fn;
    t->ud = ud;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(t);
        return WH_EIO;
    }
    t->next = c->transfers;
    if (t->next)
        t->next->prev = t;
    c->transfers = t;
    c->active++;
    return 0;
}

size_t wh_http_client_active(const wh_http_client_t *c)
{
    return c->active;
}

void wh_http_client_destroy(wh_http_client_t **c_p)
{
    wh_http_client_t *c = *c_p;
    if (!c)
        return;
    *c_p = NULL;
    c->destroying = true;
    while (c->transfers)
        finish(c, c->transfers->easy, CURLE_ABORTED_BY_CALLBACK);
    /* Cleanup closes the cached connections; any socket curl did not ask
     * to unwatch on the way is unwatched here. */
    if (c->multi)
        curl_multi_cleanup(c->multi);
    while (c->watches)
        unwatch(c, c->watches);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}
