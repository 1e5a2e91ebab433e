#include "scrape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "figures.h"
#include "id.h"

#define NAME_MAX_LEN 64
#define HELP_MAX_LEN 200
#define LABELS_MAX_LEN                                                                             \
    (WH_FIGURES_MAX_LABELS * (NAME_MAX_LEN + 2 * WH_FIGURES_MAX_VALUE + 4) +                       \
     2 * WH_FIGURES_MAX_INSTANCE + 32)

struct sample {
    char name[NAME_MAX_LEN + 1];
    const char *type; /* "gauge" or "counter" */
    char help[2 * HELP_MAX_LEN + 1];
    char labels[LABELS_MAX_LEN]; /* service="..",instance=".."[,k="v"] */
    double v;
    size_t seq; /* arrival order, to keep it stable */
};

struct scrape {
    struct sample *s;
    size_t n, cap;
    int up[WH_SVC_COUNT];
    /* The scrape in flight. */
    int waiting;
    scrape_done_fn fn;
    void *ud;
};

scrape_t *scrape_new(void)
{
    return calloc(1, sizeof(scrape_t));
}

void scrape_destroy(scrape_t *s)
{
    if (!s)
        return;
    free(s->s);
    free(s);
}

static bool valid_name(wh_str_t n, bool label)
{
    if (!n.p || n.n == 0 || n.n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n.n; i++) {
        char c = n.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (!label && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* Escapes v for a label value (quote, backslash, newline) or, when help,
 * for a HELP line (backslash, newline); drops other control bytes. */
static void escape(char *out, size_t cap, wh_str_t v, bool help)
{
    size_t o = 0;
    for (size_t i = 0; i < v.n && o + 3 < cap; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == '\\' || (c == '"' && !help)) {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c >= 0x20 && c != 0x7f) {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
    if (!m || m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t kn = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        wh_str_t k = wh_msg_str(&m->via.map.ptr[i].key);
        if (k.p && k.n == kn && memcmp(k.p, key, kn) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

static bool number(const msgpack_object *o, double *v)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *v = (double)o->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *v = (double)o->via.i64;
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *v = o->via.f64;
        return true;
    default:
        return false;
    }
}

static bool reserved_label(wh_str_t k)
{
    return (k.n == 7 && memcmp(k.p, "service", 7) == 0) ||
           (k.n == 8 && memcmp(k.p, "instance", 8) == 0) ||
           (k.n >= 2 && k.p[0] == '_' && k.p[1] == '_');
}

/* One sample [name, type, help, [k, v, ...], value]; false when malformed. */
static bool parse_sample(const msgpack_object *o, enum wh_svc svc, const char *instance,
                         struct sample *out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 5)
        return false;
    const msgpack_object *a = o->via.array.ptr;
    wh_str_t name = wh_msg_str(&a[0]), type = wh_msg_str(&a[1]), help = wh_msg_str(&a[2]);
    if (!valid_name(name, false) || !type.p || !help.p || help.n > HELP_MAX_LEN)
        return false;
    if (type.n == 5 && memcmp(type.p, "gauge", 5) == 0)
        out->type = "gauge";
    else if (type.n == 7 && memcmp(type.p, "counter", 7) == 0)
        out->type = "counter";
    else
        return false;
    if (a[3].type != MSGPACK_OBJECT_ARRAY || a[3].via.array.size % 2 ||
        a[3].via.array.size > 2 * WH_FIGURES_MAX_LABELS || !number(&a[4], &out->v))
        return false;
    memcpy(out->name, name.p, name.n);
    out->name[name.n] = '\0';
    escape(out->help, sizeof out->help, help, true);
    size_t o_len =
        (size_t)snprintf(out->labels, sizeof out->labels, "service=\"%s\",instance=\"%s\"",
                         wh_service_names[svc], instance);
    for (uint32_t i = 0; i < a[3].via.array.size; i += 2) {
        wh_str_t k = wh_msg_str(&a[3].via.array.ptr[i]);
        wh_str_t v = wh_msg_str(&a[3].via.array.ptr[i + 1]);
        if (!valid_name(k, true) || reserved_label(k) || !v.p || v.n >= WH_FIGURES_MAX_VALUE)
            return false;
        char ev[2 * WH_FIGURES_MAX_VALUE + 1];
        escape(ev, sizeof ev, v, false);
        o_len += (size_t)snprintf(out->labels + o_len, sizeof out->labels - o_len, ",%.*s=\"%s\"",
                                  (int)k.n, k.p, ev);
        if (o_len >= sizeof out->labels)
            return false;
    }
    return true;
}

void scrape_add_reply(scrape_t *s, enum wh_svc svc, const char *reply, size_t len)
{
    wh_reply_in_t r;
    if (svc <= WH_SVC_GATEWAY || svc >= WH_SVC_COUNT || wh_reply_env_decode(reply, len, &r) != 0)
        return;
    const msgpack_object *inst = map_get(r.body, "instance");
    const msgpack_object *samples = map_get(r.body, "samples");
    wh_str_t in = inst ? wh_msg_str(inst) : (wh_str_t){NULL, 0};
    if (r.status == 200 && in.p && in.n < WH_FIGURES_MAX_INSTANCE && samples &&
        samples->type == MSGPACK_OBJECT_ARRAY) {
        char instance[2 * WH_FIGURES_MAX_INSTANCE + 1];
        escape(instance, sizeof instance, in, false);
        s->up[svc] = 1;
        uint32_t n = samples->via.array.size;
        if (n > WH_FIGURES_MAX)
            n = WH_FIGURES_MAX;
        for (uint32_t i = 0; i < n; i++) {
            if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                struct sample *ns = realloc(s->s, cap * sizeof *ns);
                if (!ns)
                    break;
                s->s = ns;
                s->cap = cap;
            }
            struct sample *smp = &s->s[s->n];
            if (parse_sample(&samples->via.array.ptr[i], svc, instance, smp)) {
                smp->seq = s->n;
                s->n++;
            }
        }
    }
    wh_reply_env_close(&r);
}

static int by_name(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void render_value(wh_buf_t *out, double v)
{
    if (isnan(v))
        wh_buf_puts(out, "NaN\n");
    else if (isinf(v))
        wh_buf_puts(out, v > 0 ? "+Inf\n" : "-Inf\n");
    else
        wh_buf_printf(out, "%.17g\n", v);
}

void scrape_render(scrape_t *s, wh_buf_t *out)
{
    wh_buf_puts(out, "# HELP wh_service_up Whether an instance of the service answered the "
                     "last scrape in time (1) or none did (0).\n"
                     "# TYPE wh_service_up gauge\n");
    for (int v = 1; v < WH_SVC_COUNT; v++)
        wh_buf_printf(out, "wh_service_up{service=\"%s\"} %d\n", wh_service_names[v], s->up[v]);
    if (s->n)
        qsort(s->s, s->n, sizeof *s->s, by_name);
    const struct sample *family = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct sample *x = &s->s[i];
        if (!family || strcmp(family->name, x->name) != 0) {
            family = x;
            wh_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help, x->name, x->type);
        } else if (family->type != x->type) {
            continue; /* one family, one type: the first instance's */
        }
        wh_buf_printf(out, "%s{%s} ", x->name, x->labels);
        render_value(out, x->v);
    }
}

/* One instance asked. */
struct ask {
    scrape_t *s;
    enum wh_svc svc;
};

static void finish_if_done(scrape_t *s)
{
    if (--s->waiting > 0)
        return;
    wh_buf_t b;
    wh_buf_init(&b);
    scrape_render(s, &b);
    s->fn(s->ud, &b);
    wh_buf_close(&b);
    scrape_destroy(s);
}

static void on_reply(void *ud, int status, const char *reply, size_t len)
{
    struct ask *a = ud;
    scrape_t *s = a->s;
    if (status == BROKER_OK)
        scrape_add_reply(s, a->svc, reply, len);
    free(a);
    finish_if_done(s);
}

void scrape_start(broker_t *b, uint64_t timeout_ms, scrape_done_fn fn, void *ud)
{
    scrape_t *s = scrape_new();
    if (!s) {
        wh_buf_t empty;
        wh_buf_init(&empty);
        fn(ud, &empty);
        return;
    }
    s->fn = fn;
    s->ud = ud;
    s->waiting = 1; /* this function's own hold, released at its end */
    char rid[WH_ID_LEN + 1];
    wh_id_new(rid);
    for (int v = 1; v < WH_SVC_COUNT; v++) {
        wh_buf_t env;
        wh_buf_init(&env);
        wh_request_pack(&env, &(wh_request_out_t){.op = wh_figures_op((enum wh_svc)v),
                                                  .id = rid,
                                                  .token_id = "gateway",
                                                  .role = WH_ROLE_SERVICE,
                                                  .deadline_ms = (int64_t)timeout_ms});
        int slots = broker_slots(b, (enum wh_svc)v);
        for (int i = 0; i < slots && !wh_buf_failed(&env); i++) {
            if (!broker_slot_alive(b, (enum wh_svc)v, i))
                continue;
            struct ask *a = malloc(sizeof *a);
            if (!a)
                break;
            a->s = s;
            a->svc = (enum wh_svc)v;
            s->waiting++;
            broker_send_slot(b, (enum wh_svc)v, i, env.data, env.len, timeout_ms, on_reply, a);
        }
        wh_buf_close(&env);
    }
    finish_if_done(s);
}
