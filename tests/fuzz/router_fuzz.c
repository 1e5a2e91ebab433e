/* Fuzz target for the gateway's router: the input is split at its first two
 * NUL bytes into method, path and query (missing parts are empty), and
 * router_match must answer without crashing and keep its invariants: a
 * match names a routable operation, parameters are within the limits,
 * decoded values hold no NUL and path values no '/', a 405 says what is
 * allowed. A broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static route_match_t m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One NUL-terminated copy holding the three parts. */
    char *buf = malloc(size + 3);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *method = buf;
    const char *path = method + strlen(method) + 1;
    const char *query = path + strlen(path) + 1;
    if (path > buf + size)
        path = buf + size + 1;
    if (query > buf + size + 1)
        query = buf + size + 2;

    int rc = router_match(method, path, query, &m);
    if (m.used > sizeof m.storage || m.n_params > ROUTER_MAX_PARAMS)
        abort();
    switch (rc) {
    case ROUTE_OK: {
        if (m.op < 0 || m.op >= WH_OP_COUNT || !wh_ops[m.op].path)
            abort();
        if (strcmp(wh_ops[m.op].method, method) != 0 &&
            !(strcmp(method, "HEAD") == 0 && strcmp(wh_ops[m.op].method, "GET") == 0))
            abort();
        for (size_t i = 0; i < m.n_params; i++) {
            wh_str_t v = m.params[i].value;
            if (v.n > ROUTER_MAX_PARAM_BYTES || memchr(v.p, '\0', v.n) || v.p[v.n] != '\0')
                abort();
            if (strlen(m.params[i].name) >= sizeof m.names[0])
                abort();
            for (size_t j = 0; j < i; j++)
                if (strcmp(m.params[i].name, m.params[j].name) == 0)
                    abort();
            /* A path parameter ({id}) never holds a slash. */
            if (strcmp(m.params[i].name, "id") == 0 && i == 0 && strchr(wh_ops[m.op].path, '{') &&
                memchr(v.p, '/', v.n))
                abort();
        }
        break;
    }
    case ROUTE_BAD_METHOD:
        if (m.op != -1 || m.allow[0] == '\0' || m.error[0] == '\0')
            abort();
        break;
    case ROUTE_NOT_FOUND:
    case ROUTE_BAD_QUERY:
        if (m.error[0] == '\0')
            abort();
        break;
    default:
        abort();
    }
    free(buf);
    return 0;
}
