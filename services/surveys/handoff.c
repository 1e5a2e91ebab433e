#include "handoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "definition.h"
#include "err.h"
#include "id.h"
#include "log.h"
#include "valid.h"

static const char SQL_CODE_EXISTS[] =
    "SELECT 1 FROM survey_codes WHERE survey_id = ?1 AND hash = ?2";
static const char SQL_CODE_DELETE[] = "DELETE FROM survey_codes WHERE survey_id = ?1 AND hash = ?2";
static const char SQL_COUNT_LOWER[] =
    "UPDATE survey_code_counts SET email = max(email - ?3, 0), issued = max(issued - ?3, 0)"
    " WHERE survey_id = ?1 AND unit = ?2";

struct item {
    char to[WH_MAX_EMAIL + 1];
    char code[CODE_SHOWN_LEN + 1];
    char hash[65];
};

struct chunk {
    struct chunk *next;
    handoff_t *h;
    char survey_id[WH_ID_LEN + 1];
    char org_id[WH_ID_LEN + 1];
    char unit[DEF_MAX_KEY + 1];
    char langs[16];                             /* "de,en,sv" */
    char request_id[WH_LOG_MAX_REQUEST_ID + 1]; /* the request that issued the codes */
    char *title;
    size_t n;
    struct item items[HANDOFF_CHUNK];
    int attempts;
    uint64_t next_ms;
    bool verified, in_flight;
};

struct handoff_batch {
    struct chunk *head, *tail;
    size_t n;
};

struct handoff {
    wh_service_t *svc;
    wh_store_t *store;
    uv_timer_t timer;
    struct chunk *head, *tail;
    size_t queued; /* codes held */
    int in_flight;
    double scale; /* WH_RETRY_SCALE: tests shrink the retry delays */
    bool stopping, closed;
};

static void chunk_free(struct chunk *c)
{
    if (!c)
        return;
    explicit_bzero(c->items, sizeof c->items);
    free(c->title);
    free(c);
}

static void maybe_free(handoff_t *h)
{
    if (h->stopping && h->closed && h->in_flight == 0)
        free(h);
}

int handoff_start(wh_service_t *s, handoff_t **out)
{
    handoff_t *h = calloc(1, sizeof *h);
    if (!h)
        return WH_ENOMEM;
    h->svc = s;
    h->store = wh_service_store(s);
    h->scale = wh_service_config(s)->retry_scale;
    uv_timer_init(wh_service_loop(s), &h->timer);
    h->timer.data = h;
    *out = h;
    return 0;
}

static void on_closed(uv_handle_t *t)
{
    handoff_t *h = t->data;
    h->closed = true;
    maybe_free(h);
}

void handoff_stop(handoff_t **h_p)
{
    handoff_t *h = *h_p;
    if (!h)
        return;
    *h_p = NULL;
    h->stopping = true;
    if (h->queued)
        wh_log_warn("%zu e-mailed codes not handed over at shutdown; they are never sent",
                    h->queued);
    /* Chunks awaiting an answer are freed by it (or at exit); their
     * addresses are wiped now. */
    for (struct chunk *c = h->head, *next; c; c = next) {
        next = c->next;
        if (c->in_flight) {
            explicit_bzero(c->items, sizeof c->items);
            c->next = NULL;
        } else {
            chunk_free(c);
        }
    }
    h->head = h->tail = NULL;
    uv_close((uv_handle_t *)&h->timer, on_closed);
}

bool handoff_room(const handoff_t *h, size_t n)
{
    return h && !h->stopping && h->queued + n <= HANDOFF_MAX_QUEUED;
}

static struct chunk *chunk_new(const handoff_batch_t *b, const char *survey_id, const char *org_id,
                               const char *title, const char *langs, const char *unit)
{
    struct chunk *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (b && b->head) {
        const struct chunk *f = b->head;
        survey_id = f->survey_id, org_id = f->org_id, title = f->title, langs = f->langs,
        unit = f->unit;
    }
    c->title = strdup(title);
    if (!c->title) {
        free(c);
        return NULL;
    }
    snprintf(c->survey_id, sizeof c->survey_id, "%s", survey_id);
    snprintf(c->org_id, sizeof c->org_id, "%s", org_id);
    snprintf(c->unit, sizeof c->unit, "%s", unit);
    snprintf(c->langs, sizeof c->langs, "%s", langs);
    /* The handler's request: the chunk is handed over under it. */
    snprintf(c->request_id, sizeof c->request_id, "%s", wh_log_request() ? wh_log_request() : "");
    return c;
}

handoff_batch_t *handoff_batch_new(const char *survey_id, const char *org_id, const char *title,
                                   const char *languages_csv, const char *unit, size_t cap)
{
    handoff_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    /* Every chunk is allocated now, so that adding cannot fail. */
    for (size_t have = 0; have < cap || !b->head; have += HANDOFF_CHUNK) {
        struct chunk *c = chunk_new(b, survey_id, org_id, title, languages_csv, unit);
        if (!c) {
            handoff_batch_free(b);
            return NULL;
        }
        if (b->tail)
            b->tail->next = c;
        else
            b->head = c;
        b->tail = c;
    }
    b->tail = b->head;
    return b;
}

void handoff_batch_add(handoff_batch_t *b, const char *addr, size_t addr_len, const char *code,
                       const char *hash)
{
    struct chunk *c = b->tail;
    if (c->n == HANDOFF_CHUNK) {
        if (!c->next)
            return; /* beyond the capacity given: cannot happen */
        c = b->tail = c->next;
    }
    struct item *it = &c->items[c->n++];
    if (addr_len > WH_MAX_EMAIL)
        addr_len = WH_MAX_EMAIL;
    memcpy(it->to, addr, addr_len);
    it->to[addr_len] = '\0';
    snprintf(it->code, sizeof it->code, "%s", code);
    snprintf(it->hash, sizeof it->hash, "%s", hash);
    b->n++;
}

void handoff_batch_free(handoff_batch_t *b)
{
    if (!b)
        return;
    for (struct chunk *c = b->head, *next; c; c = next) {
        next = c->next;
        chunk_free(c);
    }
    free(b);
}

static void pump(handoff_t *h);

static void on_timer(uv_timer_t *t)
{
    pump(t->data);
}

void handoff_submit(handoff_t *h, handoff_batch_t *b)
{
    for (struct chunk *c = b->head, *next; c; c = next) {
        next = c->next;
        c->next = NULL;
        if (c->n == 0) {
            chunk_free(c);
            continue;
        }
        c->h = h;
        h->queued += c->n;
        if (h->tail)
            h->tail->next = c;
        else
            h->head = c;
        h->tail = c;
    }
    free(b);
    /* The timer runs after the current batch of requests has committed. */
    uv_timer_start(&h->timer, on_timer, 0, 0);
}

static void unlink_chunk(handoff_t *h, struct chunk *c)
{
    struct chunk *prev = NULL;
    for (struct chunk *x = h->head; x && x != c; x = x->next)
        prev = x;
    if (prev)
        prev->next = c->next;
    else if (h->head == c)
        h->head = c->next;
    else
        return;
    if (h->tail == c)
        h->tail = prev;
    h->queued -= c->n;
}

/* The chunk's codes were stored: the request's transaction committed. */
static bool committed(handoff_t *h, const struct chunk *c)
{
    sqlite3_stmt *st = wh_store_stmt(h->store, SQL_CODE_EXISTS);
    if (!st)
        return false;
    wh_stmt_bind_text(st, 1, c->survey_id);
    wh_stmt_bind_text(st, 2, c->items[0].hash);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return found;
}

/* The request that issued a chunk's codes, for its lines; NULL if none. */
static const char *chunk_request(const struct chunk *c)
{
    return c->request_id[0] ? c->request_id : NULL;
}

/* Deletes the codes of a chunk that never reached anybody and lowers the
 * counts by as many as were still there. */
static void withdraw(handoff_t *h, struct chunk *c, int status)
{
    if (wh_store_begin(h->store) != 0) {
        wh_log(WH_LOG_ERROR, chunk_request(c),
               "survey %s: %zu e-mailed codes could not be handed over nor withdrawn", c->survey_id,
               c->n);
        return;
    }
    int64_t gone = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < c->n; i++) {
        sqlite3_stmt *st = wh_store_stmt(h->store, SQL_CODE_DELETE);
        ok = st != NULL;
        if (!ok)
            break;
        wh_stmt_bind_text(st, 1, c->survey_id);
        wh_stmt_bind_text(st, 2, c->items[i].hash);
        ok = sqlite3_step(st) == SQLITE_DONE;
        gone += sqlite3_changes(wh_store_db(h->store));
        sqlite3_reset(st);
    }
    sqlite3_stmt *st = ok ? wh_store_stmt(h->store, SQL_COUNT_LOWER) : NULL;
    if (st) {
        wh_stmt_bind_text(st, 1, c->survey_id);
        wh_stmt_bind_text(st, 2, c->unit);
        sqlite3_bind_int64(st, 3, gone);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    if (!st || !ok || wh_store_commit(h->store) != 0) {
        wh_store_rollback(h->store);
        wh_log(WH_LOG_ERROR, chunk_request(c),
               "survey %s: %zu e-mailed codes could not be handed over nor withdrawn", c->survey_id,
               c->n);
        return;
    }
    wh_log(WH_LOG_WARN, chunk_request(c),
           "survey %s: %lld e-mailed codes withdrawn: the notifications service did not "
           "take them (%d)",
           c->survey_id, (long long)gone, status);
}

static void on_reply(void *ud, int status, const msgpack_object *body)
{
    (void)body;
    struct chunk *c = ud;
    handoff_t *h = c->h;
    c->in_flight = false;
    h->in_flight--;
    if (h->stopping) {
        chunk_free(c);
        maybe_free(h);
        return;
    }
    bool retry = status == 429 || status >= 500;
    if (status >= 200 && status < 300) {
        unlink_chunk(h, c);
        chunk_free(c);
    } else if (!retry || c->attempts >= HANDOFF_MAX_ATTEMPTS) {
        unlink_chunk(h, c);
        withdraw(h, c, status);
        chunk_free(c);
    } else {
        double delay = (double)((uint64_t)HANDOFF_RETRY_MS << (c->attempts - 1)) * h->scale;
        c->next_ms = uv_now(wh_service_loop(h->svc)) + (delay < 1 ? 1 : (uint64_t)delay);
    }
    pump(h);
}

/* {survey_id, org_id, title, languages: [...], items: [{to, code}]} */
static void send_chunk(handoff_t *h, struct chunk *c)
{
    wh_buf_t b;
    wh_buf_init(&b);
    msgpack_packer pk;
    wh_msg_writer_init(&pk, &b);
    msgpack_pack_map(&pk, 5);
    wh_msg_kv_str(&pk, "survey_id", c->survey_id);
    wh_msg_kv_str(&pk, "org_id", c->org_id);
    wh_msg_kv_str(&pk, "title", c->title);
    wh_msg_pack_str(&pk, "languages");
    int nl = 1;
    for (const char *p = c->langs; *p; p++)
        nl += *p == ',';
    msgpack_pack_array(&pk, (size_t)nl);
    for (const char *p = c->langs; *p;) {
        size_t n = strcspn(p, ",");
        msgpack_pack_str(&pk, n);
        msgpack_pack_str_body(&pk, p, n);
        p += n + (p[n] == ',');
    }
    wh_msg_pack_str(&pk, "items");
    msgpack_pack_array(&pk, c->n);
    for (size_t i = 0; i < c->n; i++) {
        msgpack_pack_map(&pk, 2);
        wh_msg_kv_str(&pk, "to", c->items[i].to);
        wh_msg_kv_str(&pk, "code", c->items[i].code);
    }
    c->attempts++;
    /* Sent from the loop after the commit, under the request that issued
     * the codes (wh_service_call takes the current one). */
    char outer[WH_LOG_MAX_REQUEST_ID + 1];
    snprintf(outer, sizeof outer, "%s", wh_log_request() ? wh_log_request() : "");
    wh_log_set_request(c->request_id);
    int rc = wh_buf_failed(&b)
                 ? WH_ENOMEM
                 : wh_service_call(h->svc, WH_OP_CODES_MAIL, b.data, b.len, on_reply, c);
    wh_log_set_request(outer);
    if (b.data)
        explicit_bzero(b.data, b.cap);
    wh_buf_close(&b);
    if (rc == 0) {
        c->in_flight = true;
        h->in_flight++;
    } else {
        c->next_ms = uv_now(wh_service_loop(h->svc)) + HANDOFF_RETRY_MS;
    }
}

static void pump(handoff_t *h)
{
    if (h->stopping)
        return;
    uint64_t now = uv_now(wh_service_loop(h->svc)), next = UINT64_MAX;
    for (struct chunk *c = h->head, *after; c; c = after) {
        after = c->next;
        if (c->in_flight)
            continue;
        if (h->in_flight >= HANDOFF_MAX_INFLIGHT)
            continue; /* an answer pumps again */
        if (c->next_ms > now) {
            if (c->next_ms < next)
                next = c->next_ms;
            continue;
        }
        if (!c->verified && !committed(h, c)) {
            unlink_chunk(h, c);
            chunk_free(c);
            continue;
        }
        c->verified = true;
        send_chunk(h, c);
        if (!c->in_flight && c->next_ms < next)
            next = c->next_ms;
    }
    if (next != UINT64_MAX)
        uv_timer_start(&h->timer, on_timer, next > now ? next - now : 1, 0);
}
