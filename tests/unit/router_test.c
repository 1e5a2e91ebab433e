/* services/gateway/router.c: every row of proto/ops.h is reachable by its
 * own method and path, HEAD is GET, 405 names the allowed methods, 404 for
 * the rest; percent-decoding of path and query parameters with every way
 * an escape can be bad; and each ROUTER_MAX_* limit at and past its value. */
#include <string.h>

#include "check.h"
#include "router.h"

static route_match_t m;

static const char *param(const char *name)
{
    static char out[ROUTER_MAX_PARAM_BYTES + 1];
    for (size_t i = 0; i < m.n_params; i++)
        if (strcmp(m.params[i].name, name) == 0) {
            CHECK(m.params[i].value.n <= ROUTER_MAX_PARAM_BYTES);
            memcpy(out, m.params[i].value.p, m.params[i].value.n);
            out[m.params[i].value.n] = '\0';
            /* Values are NUL-terminated in the storage too. */
            CHECK_INT(m.params[i].value.p[m.params[i].value.n], '\0');
            return out;
        }
    return NULL;
}

/* The template's path with every {name} replaced by value. */
static void fill(const char *tmpl, const char *value, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *t = tmpl; *t; t++) {
        if (*t == '{') {
            o += (size_t)snprintf(out + o, cap - o, "%s", value);
            t = strchr(t, '}');
        } else {
            out[o++] = *t;
        }
        CHECK(o < cap);
    }
    out[o] = '\0';
}

static void test_every_row_matches_itself(void)
{
    int reachable = 0;
    for (int i = 0; i < WH_OP_COUNT; i++) {
        if (!wh_ops[i].path)
            continue; /* internal: no HTTP route */
        reachable++;
        char path[256];
        fill(wh_ops[i].path, "01ARZ3NDEKTSV4RRFFQ69G5FAV", path, sizeof path);
        CHECK_INT(router_match(wh_ops[i].method, path, NULL, &m), ROUTE_OK);
        CHECK_INT(m.op, i);
        size_t braces = 0;
        for (const char *p = wh_ops[i].path; (p = strchr(p, '{')); p++)
            braces++;
        CHECK_INT(m.n_params, braces);
        /* Each {name} of the template is a parameter with the value. */
        for (const char *p = wh_ops[i].path; (p = strchr(p, '{')); p++) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(strchr(p, '}') - p - 1), p + 1);
            CHECK_STR(param(name), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        }
        CHECK_STR(m.error, "");
        /* With a query string too. */
        CHECK_INT(router_match(wh_ops[i].method, path, "x=1", &m), ROUTE_OK);
        CHECK_INT(m.op, i);
        CHECK_STR(param("x"), "1");
    }
    CHECK(reachable >= 8);
}

static void test_internal_ops_unreachable(void)
{
    /* An operation without a path is reachable by no method on any path. */
    static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "PUT", NULL};
    static const char *const paths[] = {"/",      "/v1",      "/v1/",       "/v1/events",
                                        "(null)", "/v1/null", "/v1/tokens", NULL};
    for (int i = 0; methods[i]; i++)
        for (int j = 0; paths[j]; j++) {
            int rc = router_match(methods[i], paths[j], NULL, &m);
            if (rc == ROUTE_OK)
                CHECK(wh_ops[m.op].path != NULL);
        }
}

static void test_head_is_get(void)
{
    CHECK_INT(router_match("HEAD", "/v1/organizations/01X", NULL, &m), ROUTE_OK);
    CHECK_INT(m.op, WH_OP_ORGS_GET);
    CHECK_STR(param("id"), "01X");
    CHECK_INT(router_match("HEAD", "/v1/organizations", NULL, &m), ROUTE_OK);
    CHECK_INT(m.op, WH_OP_ORGS_LIST);
    CHECK_INT(router_match("HEAD", "/v1/openapi.json", NULL, &m), ROUTE_OK);
    CHECK_INT(m.op, WH_OP_OPENAPI_GET);
    /* HEAD where there is no GET: 405. */
    CHECK_INT(router_match("HEAD", "/v1/tokens/01X", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_STR(m.allow, "DELETE");
}

static void test_405_allow(void)
{
    CHECK_INT(router_match("DELETE", "/v1/organizations", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_INT(m.op, -1);
    CHECK_STR(m.allow, "POST, GET");
    CHECK_STR(m.error, "method not allowed on this resource");
    CHECK_INT(m.n_params, 0);
    CHECK_INT(router_match("POST", "/v1/organizations/01X", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_STR(m.allow, "GET, PATCH");
    CHECK_INT(m.n_params, 0); /* params of the rows that did not match are dropped */
    CHECK_INT(router_match("PUT", "/v1/tokens", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_STR(m.allow, "POST, GET");
    CHECK_INT(router_match("GET", "/v1/tokens/01X", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_STR(m.allow, "DELETE");
    CHECK_INT(router_match("POST", "/v1/openapi.json", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_STR(m.allow, "GET");
    /* Methods are case-sensitive (RFC 9110 9.1). */
    CHECK_INT(router_match("get", "/v1/organizations", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_INT(router_match("BREW", "/v1/organizations", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_INT(router_match("", "/v1/organizations", NULL, &m), ROUTE_BAD_METHOD);
    /* The query is not looked at for a 405. */
    CHECK_INT(router_match("DELETE", "/v1/organizations", "%zz", &m), ROUTE_BAD_METHOD);
}

static void test_404(void)
{
    static const char *const paths[] = {"",
                                        "/",
                                        "/v1",
                                        "/v1/",
                                        "/v2/organizations",
                                        "/v1/organization",
                                        "/v1/organizationsx",
                                        "/v1/organizations/",
                                        "/V1/organizations",
                                        "/v1/Organizations",
                                        "/v1/organizations/01X/",
                                        "/v1/organizations/01X/extra",
                                        "/v1/organizations//",
                                        "//v1/organizations",
                                        "/v1//organizations",
                                        "/v1/%6Frganizations", /* literal parts are not decoded */
                                        "v1/organizations",
                                        "/v1/openapi.json/",
                                        "/v1/tokens/",
                                        NULL};
    for (int i = 0; paths[i]; i++) {
        int rc = router_match("GET", paths[i], NULL, &m);
        if (rc != ROUTE_NOT_FOUND) {
            fprintf(stderr, "GET %s: %d\n", paths[i], rc);
            CHECK(0);
        }
        CHECK_INT(m.op, -1);
        CHECK_STR(m.error, "no such resource");
        CHECK_STR(m.allow, "");
    }
}

static void test_path_decoding(void)
{
    CHECK_INT(router_match("GET", "/v1/organizations/a%20b", NULL, &m), ROUTE_OK);
    CHECK_STR(param("id"), "a b");
    CHECK_INT(router_match("GET", "/v1/organizations/a+b", NULL, &m), ROUTE_OK);
    CHECK_STR(param("id"), "a+b"); /* + is a space only in queries */
    CHECK_INT(router_match("GET", "/v1/organizations/K%c3%b6ln", NULL, &m), ROUTE_OK);
    CHECK_STR(param("id"), "K\xc3\xb6ln");
    CHECK_INT(router_match("GET", "/v1/organizations/%4B%C3%B6ln", NULL, &m), ROUTE_OK);
    CHECK_STR(param("id"), "K\xc3\xb6ln");
    CHECK_INT(router_match("GET", "/v1/organizations/%25", NULL, &m), ROUTE_OK);
    CHECK_STR(param("id"), "%");
    CHECK_INT(router_match("GET", "/v1/organizations/%3F%23", NULL, &m), ROUTE_OK);
    CHECK_STR(param("id"), "?#");
    /* An encoded slash would smuggle a segment into a parameter; NUL would
     * cut it short downstream; bad escapes are not guessed at. */
    static const char *const bad[] = {
        "/v1/organizations/a%2Fb", "/v1/organizations/a%2fb", "/v1/organizations/%2F",
        "/v1/organizations/a%00b", "/v1/organizations/%00",   "/v1/organizations/%zz",
        "/v1/organizations/%g0",   "/v1/organizations/%0g",   "/v1/organizations/%",
        "/v1/organizations/a%",    "/v1/organizations/a%4",   "/v1/organizations/%%41",
        "/v1/organizations/%-1",   "/v1/organizations/% 1",   NULL};
    for (int i = 0; bad[i]; i++) {
        int rc = router_match("GET", bad[i], NULL, &m);
        if (rc != ROUTE_NOT_FOUND) {
            fprintf(stderr, "GET %s: %d\n", bad[i], rc);
            CHECK(0);
        }
        CHECK_INT(m.n_params, 0);
        /* Nor does it reach PATCH on the same template. */
        CHECK_INT(router_match("PATCH", bad[i], NULL, &m), ROUTE_NOT_FOUND);
    }
}

static void test_query_decoding(void)
{
    CHECK_INT(router_match("GET", "/v1/organizations", "kind=employer&limit=10", &m), ROUTE_OK);
    CHECK_INT(m.n_params, 2);
    CHECK_STR(m.params[0].name, "kind");
    CHECK_STR(param("kind"), "employer");
    CHECK_STR(param("limit"), "10");
    CHECK_INT(router_match("GET", "/v1/organizations", "q=a+b%20c%2Bd", &m), ROUTE_OK);
    CHECK_STR(param("q"), "a b c+d");
    CHECK_INT(router_match("GET", "/v1/organizations", "q=%2F%3D%26", &m), ROUTE_OK);
    CHECK_STR(param("q"), "/=&"); /* a slash is fine in a query value */
    CHECK_INT(router_match("GET", "/v1/organizations", "a%5Bb%5D=1&c+d=2", &m), ROUTE_OK);
    CHECK_STR(param("a[b]"), "1");
    CHECK_STR(param("c d"), "2");
    CHECK_INT(router_match("GET", "/v1/organizations", "flag&empty=&x=a=b", &m), ROUTE_OK);
    CHECK_INT(m.n_params, 3);
    CHECK_STR(param("flag"), "");
    CHECK_STR(param("empty"), "");
    CHECK_STR(param("x"), "a=b");
    CHECK_INT(router_match("GET", "/v1/organizations", "&&a=1&&&b=2&", &m), ROUTE_OK);
    CHECK_INT(m.n_params, 2);
    CHECK_STR(param("a"), "1");
    CHECK_STR(param("b"), "2");
    CHECK_INT(router_match("GET", "/v1/organizations", "", &m), ROUTE_OK);
    CHECK_INT(m.n_params, 0);
    CHECK_INT(router_match("GET", "/v1/organizations", NULL, &m), ROUTE_OK);
    CHECK_INT(m.n_params, 0);

    static const char *const bad[] = {"a=%00", "a%00=1",    "a=%zz", "a=%",   "a=%4",
                                      "%=1",   "a=1&b=%G1", "a=%%",  "a=b%2", NULL};
    for (int i = 0; bad[i]; i++) {
        int rc = router_match("GET", "/v1/organizations", bad[i], &m);
        if (rc != ROUTE_BAD_QUERY) {
            fprintf(stderr, "?%s: %d\n", bad[i], rc);
            CHECK(0);
        }
        CHECK_STR(m.error, "malformed query string");
    }
}

static void test_repeated_params(void)
{
    CHECK_INT(router_match("GET", "/v1/organizations", "limit=1&limit=2", &m), ROUTE_BAD_QUERY);
    CHECK(strstr(m.error, "repeated") != NULL);
    CHECK_INT(router_match("GET", "/v1/organizations", "limit=1&limit=1", &m), ROUTE_BAD_QUERY);
    CHECK_INT(router_match("GET", "/v1/organizations", "a&a", &m), ROUTE_BAD_QUERY);
    /* The same name once encoded and once not is the same name. */
    CHECK_INT(router_match("GET", "/v1/organizations", "limit=1&%6Cimit=2", &m), ROUTE_BAD_QUERY);
    /* A query parameter cannot override a path parameter. */
    CHECK_INT(router_match("GET", "/v1/organizations/01A", "id=01B", &m), ROUTE_BAD_QUERY);
    CHECK_INT(router_match("PATCH", "/v1/organizations/01A", "id=01A", &m), ROUTE_BAD_QUERY);
}

/* A query with n parameters p0=v&p1=v... */
static int with_params(const char *path, int n)
{
    static char q[4096];
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(q + o, sizeof q - o, "%sp%d=v", i ? "&" : "", i);
    CHECK(o < sizeof q);
    return router_match("GET", path, q, &m);
}

static void test_max_params(void)
{
    CHECK_INT(with_params("/v1/organizations", ROUTER_MAX_PARAMS), ROUTE_OK);
    CHECK_INT(m.n_params, ROUTER_MAX_PARAMS);
    CHECK_STR(param("p31"), "v");
    CHECK_INT(with_params("/v1/organizations", ROUTER_MAX_PARAMS + 1), ROUTE_BAD_QUERY);
    /* The path parameter counts too. */
    CHECK_INT(with_params("/v1/organizations/01A", ROUTER_MAX_PARAMS - 1), ROUTE_OK);
    CHECK_INT(m.n_params, ROUTER_MAX_PARAMS);
    CHECK_STR(param("id"), "01A");
    CHECK_INT(with_params("/v1/organizations/01A", ROUTER_MAX_PARAMS), ROUTE_BAD_QUERY);
    CHECK(strstr(m.error, "at most 32") != NULL);
}

static void test_max_segments(void)
{
    /* No route is that deep, so both sides of the limit are 404; past it
     * the path is refused before any row is tried. */
    char path[4096];
    for (int n = ROUTER_MAX_SEGMENTS; n <= ROUTER_MAX_SEGMENTS + 1; n++) {
        size_t o = 0;
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(path + o, sizeof path - o, "/s");
        CHECK_INT(router_match("GET", path, NULL, &m), ROUTE_NOT_FOUND);
        CHECK_STR(m.error, "no such resource");
    }
    /* A known prefix with too many segments after it. */
    size_t o = (size_t)snprintf(path, sizeof path, "/v1/organizations");
    for (int i = 0; i < ROUTER_MAX_SEGMENTS; i++)
        o += (size_t)snprintf(path + o, sizeof path - o, "/x");
    CHECK_INT(router_match("GET", path, NULL, &m), ROUTE_NOT_FOUND);
    /* Slashes alone. */
    memset(path, '/', 3000);
    path[3000] = '\0';
    CHECK_INT(router_match("GET", path, NULL, &m), ROUTE_NOT_FOUND);
}

static void test_max_param_bytes(void)
{
    char path[8192], q[8192];
    /* Path: a value of exactly the limit, then one byte more. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t o = (size_t)snprintf(path, sizeof path, "/v1/organizations/");
        memset(path + o, 'a', ROUTER_MAX_PARAM_BYTES + (size_t)extra);
        path[o + ROUTER_MAX_PARAM_BYTES + (size_t)extra] = '\0';
        CHECK_INT(router_match("GET", path, NULL, &m), extra ? ROUTE_NOT_FOUND : ROUTE_OK);
        if (!extra)
            CHECK_INT(strlen(param("id")), ROUTER_MAX_PARAM_BYTES);
    }
    /* Query value and query name. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t o = (size_t)snprintf(q, sizeof q, "v=");
        memset(q + o, 'b', ROUTER_MAX_PARAM_BYTES + (size_t)extra);
        q[o + ROUTER_MAX_PARAM_BYTES + (size_t)extra] = '\0';
        CHECK_INT(router_match("GET", "/v1/organizations", q, &m),
                  extra ? ROUTE_BAD_QUERY : ROUTE_OK);
        if (!extra)
            CHECK_INT(strlen(param("v")), ROUTER_MAX_PARAM_BYTES);
    }
    /* The limit is on the decoded value: 1024 bytes written as 3072
     * characters of escapes fit; 1025 do not. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t o = (size_t)snprintf(q, sizeof q, "v=");
        for (int i = 0; i < ROUTER_MAX_PARAM_BYTES + extra; i++)
            o += (size_t)snprintf(q + o, sizeof q - o, "%%%02X", (unsigned)(0x80 + i % 64));
        CHECK_INT(router_match("GET", "/v1/organizations", q, &m),
                  extra ? ROUTE_BAD_QUERY : ROUTE_OK);
        if (!extra) {
            const char *v = param("v");
            CHECK_INT(strlen(v), ROUTER_MAX_PARAM_BYTES);
            CHECK_INT((unsigned char)v[0], 0x80);
            CHECK_INT((unsigned char)v[63], 0xbf);
        }
        o = (size_t)snprintf(path, sizeof path, "/v1/organizations/");
        for (int i = 0; i < ROUTER_MAX_PARAM_BYTES + extra; i++)
            o += (size_t)snprintf(path + o, sizeof path - o, "%%41");
        CHECK_INT(router_match("GET", path, NULL, &m), extra ? ROUTE_NOT_FOUND : ROUTE_OK);
        if (!extra)
            CHECK_INT(strlen(param("id")), ROUTER_MAX_PARAM_BYTES);
    }
    /* Names are bounded by their storage: 63 bytes, not 64. */
    for (int extra = 0; extra <= 1; extra++) {
        memset(q, 'n', 63 + (size_t)extra);
        memcpy(q + 63 + extra, "=1", 3);
        CHECK_INT(router_match("GET", "/v1/organizations", q, &m),
                  extra ? ROUTE_BAD_QUERY : ROUTE_OK);
    }
}

static void test_total_storage(void)
{
    /* Many large values together run out of decoded storage before the
     * parameter limit: a 400, never an overrun. */
    static char q[64 * 1024];
    size_t o = 0;
    int n;
    for (n = 0; n < ROUTER_MAX_PARAMS; n++) {
        o += (size_t)snprintf(q + o, sizeof q - o, "%sp%02d=", n ? "&" : "", n);
        memset(q + o, 'x', ROUTER_MAX_PARAM_BYTES);
        o += ROUTER_MAX_PARAM_BYTES;
        q[o] = '\0';
    }
    CHECK_INT(router_match("GET", "/v1/organizations", q, &m), ROUTE_BAD_QUERY);
    CHECK(m.used <= sizeof m.storage);
    /* As many as fit: (1024 + 1) for each value and 4 for its name. */
    size_t fit = sizeof m.storage / (ROUTER_MAX_PARAM_BYTES + 1 + 4);
    o = 0;
    for (size_t i = 0; i < fit; i++) {
        o += (size_t)snprintf(q + o, sizeof q - o, "%sp%02zu=", i ? "&" : "", i);
        memset(q + o, 'x', ROUTER_MAX_PARAM_BYTES);
        o += ROUTER_MAX_PARAM_BYTES;
        q[o] = '\0';
    }
    CHECK_INT(router_match("GET", "/v1/organizations", q, &m), ROUTE_OK);
    CHECK_INT(m.n_params, fit);
    CHECK_INT(strlen(param("p00")), ROUTER_MAX_PARAM_BYTES);
}

static void test_match_resets_state(void)
{
    CHECK_INT(router_match("GET", "/v1/organizations/01A", "a=1", &m), ROUTE_OK);
    CHECK_INT(m.n_params, 2);
    CHECK_INT(router_match("GET", "/v1/organizations", NULL, &m), ROUTE_OK);
    CHECK_INT(m.n_params, 0);
    CHECK_INT(m.used, 0);
    CHECK_STR(m.error, "");
    CHECK_INT(router_match("DELETE", "/v1/organizations", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_INT(router_match("DELETE", "/v1/organizations", NULL, &m), ROUTE_BAD_METHOD);
    CHECK_STR(m.allow, "POST, GET"); /* not appended to twice */
}

int main(void)
{
    TEST(test_every_row_matches_itself);
    TEST(test_internal_ops_unreachable);
    TEST(test_head_is_get);
    TEST(test_405_allow);
    TEST(test_404);
    TEST(test_path_decoding);
    TEST(test_query_decoding);
    TEST(test_repeated_params);
    TEST(test_max_params);
    TEST(test_max_segments);
    TEST(test_max_param_bytes);
    TEST(test_total_storage);
    TEST(test_match_resets_state);
    return 0;
}
