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

int router_match(const char *method, const char *path, const char *query, route_match_t *m)
{
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
    bool path_known = false;
    for (int i = 0; i < WH_OP_COUNT; i++) {
        size_t before = m->n_params;
        if (!wh_ops[i].path || !match_path(wh_ops[i].path, path, m))
            continue;
        path_known = true;
        if (strcmp(wh_ops[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(wh_ops[i].method, "GET") == 0)) {
            m->op = i;
            break;
        }
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
