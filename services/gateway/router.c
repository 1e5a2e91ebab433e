#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

/* Percent-decodes s[0..n) into the match's storage; plus_space for query
 * strings. Returns false on bad escapes, NUL bytes or lack of room. */
static bool decode(route_match_t *m, const char *s, size_t n, bool plus_space, wh_str_t *out)
{
    /* ROUTER_MAX_PARAM_BYTES bounds the decoded value (checked below); an
     * escape turns three characters into one byte, so longer input cannot
     * fit it. n is also an upper bound of the decoded size for the room. */
    if (n > 3 * (size_t)ROUTER_MAX_PARAM_BYTES || m->used + n + 1 > sizeof m->storage)
        return false;
    char *start = m->storage + m->used;
    long len = wh_pct_decode(s, n, plus_space, start);
    if (len < 0 || (size_t)len > ROUTER_MAX_PARAM_BYTES)
        return false;
    m->used += (size_t)len + 1;
    *out = (wh_str_t){start, (size_t)len};
    return true;
}

static bool add_param(route_match_t *m, const char *name, size_t name_len, wh_str_t value)
{
    if (m->n_params == ROUTER_MAX_PARAMS || name_len >= sizeof m->names[0])
        return false;
    for (size_t i = 0; i < m->n_params; i++)
        if (strlen(m->names[i]) == name_len && memcmp(m->names[i], name, name_len) == 0)
            return false; /* a parameter given twice is ambiguous */
    memcpy(m->names[m->n_params], name, name_len);
    m->names[m->n_params][name_len] = '\0';
    m->params[m->n_params].name = m->names[m->n_params];
    m->params[m->n_params].value = value;
    m->n_params++;
    return true;
}

/* Matches path against a template, adding {name} parameters to m. */
static bool match_path(const char *tmpl, const char *path, route_match_t *m)
{
    size_t saved_params = m->n_params, saved_used = m->used;
    const char *t = tmpl, *p = path;
    while (*t && *p) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            const char *seg_end = strchr(p, '/');
            size_t seg = seg_end ? (size_t)(seg_end - p) : strlen(p);
            wh_str_t v;
            if (seg == 0 || !decode(m, p, seg, false, &v) || memchr(v.p, '/', v.n) ||
                !add_param(m, t + 1, (size_t)(close - t - 1), v))
                goto nomatch;
            t = close + 1;
            p += seg;
        } else if (*t == *p) {
            t++;
            p++;
        } else {
            goto nomatch;
        }
    }
    if (*t == '\0' && *p == '\0')
        return true;
nomatch:
    m->n_params = saved_params;
    m->used = saved_used;
    return false;
}

/* A cheap first look at each operation, made once: its method as a number
 * and the two bytes after "/v1/" of its path (ANY where the template has a
 * parameter there or is shorter), so that most operations are passed over
 * without walking their templates. */
#define ANY 0x100
static struct {
    int method;
    int c4, c5;
} first_look[WH_OP_COUNT];
static bool looked;

static int method_code(const char *m)
{
    static const char *const names[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(m, names[i]) == 0)
            return i;
    return -1;
}

static void look_once(void)
{
    for (int i = 0; i < WH_OP_COUNT; i++) {
        const char *t = wh_ops[i].path ? wh_ops[i].path : "";
        size_t n = strcspn(t, "{");
        first_look[i].method = wh_ops[i].path ? method_code(wh_ops[i].method) : -2;
        first_look[i].c4 = n > 4 ? (unsigned char)t[4] : ANY;
        first_look[i].c5 = n > 5 ? (unsigned char)t[5] : ANY;
    }
    looked = true;
}

/* False when operation i cannot match a path whose bytes 4 and 5 are c4 and
 * c5 (0 past its end). */
static bool may_match(int i, int c4, int c5)
{
    return (first_look[i].c4 == ANY || first_look[i].c4 == c4) &&
           (first_look[i].c5 == ANY || first_look[i].c5 == c5);
}

int router_match(const char *method, const char *path, const char *query, route_match_t *m)
{
    if (!looked)
        look_once();
    m->op = -1;
    m->n_params = 0;
    m->used = 0;
    m->allow[0] = m->error[0] = '\0';
    size_t segments = 0;
    for (const char *p = path; *p; p++)
        segments += *p == '/';
    if (segments > ROUTER_MAX_SEGMENTS) {
        snprintf(m->error, sizeof m->error, "no such resource");
        return ROUTE_NOT_FOUND;
    }
    /* The operations of the request's method first (HEAD is served as
     * GET): the first whose path matches is the one, as in table order.
     * Only when none does are the others' paths tried, for 405 and Allow. */
    int code = method_code(strcmp(method, "HEAD") == 0 ? "GET" : method);
    size_t plen = strnlen(path, 6);
    int c4 = plen > 4 ? (unsigned char)path[4] : 0, c5 = plen > 5 ? (unsigned char)path[5] : 0;
    for (int i = 0; code >= 0 && i < WH_OP_COUNT; i++) {
        if (first_look[i].method == code && may_match(i, c4, c5) &&
            match_path(wh_ops[i].path, path, m)) {
            m->op = i;
            break;
        }
    }
    bool path_known = m->op >= 0;
    for (int i = 0; m->op < 0 && i < WH_OP_COUNT; i++) {
        size_t before = m->n_params;
        if (!wh_ops[i].path || !may_match(i, c4, c5) || !match_path(wh_ops[i].path, path, m))
            continue;
        path_known = true;
        size_t al = strlen(m->allow);
        if (!strstr(m->allow, wh_ops[i].method))
            snprintf(m->allow + al, sizeof m->allow - al, "%s%s", al ? ", " : "", wh_ops[i].method);
        m->n_params = before;
    }
    if (m->op < 0) {
        snprintf(m->error, sizeof m->error,
                 path_known ? "method not allowed on this resource" : "no such resource");
        return path_known ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
    }
    /* Query: name=value pairs separated by '&'; empty pairs are skipped. */
    const char *q = query;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > 0) {
            const char *eq = memchr(q, '=', len);
            size_t nlen = eq ? (size_t)(eq - q) : len;
            wh_str_t name, value = {"", 0};
            if (!decode(m, q, nlen, true, &name) ||
                (eq && !decode(m, eq + 1, len - nlen - 1, true, &value))) {
                snprintf(m->error, sizeof m->error, "malformed query string");
                return ROUTE_BAD_QUERY;
            }
            if (!add_param(m, name.p, name.n, value)) {
                snprintf(m->error, sizeof m->error,
                         "query parameter repeated, too long or too many (at most %d)",
                         ROUTER_MAX_PARAMS);
                return ROUTE_BAD_QUERY;
            }
        }
        q = amp ? amp + 1 : NULL;
    }
    return ROUTE_OK;
}
