/* services/gateway/openapi.c: every operation of the table with a path is
 * documented (summary, description, a schema for every body it takes and
 * returns, known media types), every schema it names exists and is valid
 * JSON, and the rendered document is JSON whose every $ref resolves. */
#include <jansson.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "openapi.h"
#include "ops.h"

static int failures;

static void fail(const wh_op_t *op, const char *what, const char *detail)
{
    fprintf(stderr, "  %s %s %s: %s%s%s\n", op->name, op->method, op->path, what,
            detail ? ": " : "", detail ? detail : "");
    failures++;
}

static const char *schema_json(const char *name, size_t n)
{
    for (size_t i = 0; i < openapi_n_schemas; i++)
        if (strlen(openapi_schemas[i].name) == n && strncmp(openapi_schemas[i].name, name, n) == 0)
            return openapi_schemas[i].json;
    return NULL;
}

static bool known_media(const char *m, size_t n)
{
    static const char *const known[] = {"application/json", "text/csv", "text/calendar",
                                        "text/html"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i]) == n && strncmp(known[i], m, n) == 0)
            return true;
    return false;
}

static bool media_ok(const char *media, size_t n)
{
    for (const char *m = media; m < media + n;) {
        size_t k = strcspn(m, ",");
        if (k > (size_t)(media + n - m))
            k = (size_t)(media + n - m);
        if (!known_media(m, k))
            return false;
        m += k + 1;
    }
    return true;
}

static void test_every_operation_documented(void)
{
    for (int i = 0; i < WH_OP_COUNT; i++) {
        const wh_op_t *op = &wh_ops[i];
        if (!op->path)
            continue;
        const openapi_doc_t *d = openapi_doc_of(i);
        if (!d) {
            fail(op, "no documentation row (WH_OPS_<SERVICE>_DOCS)", NULL);
            continue;
        }
        if (!d->summary || !d->summary[0])
            fail(op, "no summary", NULL);
        if (!d->description || !d->description[0])
            fail(op, "no description", NULL);
        if ((op->flags & (WH_OPF_BODY | WH_OPF_CSV)) && !d->request)
            fail(op, "takes a body but names no request schema", NULL);
        if (!(op->flags & (WH_OPF_BODY | WH_OPF_CSV)) && d->request)
            fail(op, "names a request schema but takes no body", NULL);
        if (d->request && !schema_json(d->request, strlen(d->request)))
            fail(op, "unknown request schema", d->request);
        if (d->media && !media_ok(d->media, strlen(d->media)))
            fail(op, "unknown media type", d->media);
        if (!d->responses || !d->responses[0]) {
            fail(op, "no success response", NULL);
            continue;
        }
        for (const char *r = d->responses; *r;) {
            size_t n = strcspn(r, " ");
            char tok[128];
            snprintf(tok, sizeof tok, "%.*s", (int)n, r);
            size_t body_n = strcspn(tok, "@");
            bool no_body = strncmp(tok, "204", 3) == 0;
            if (!(tok[0] == '2' && strspn(tok, "0123456789") == 3))
                fail(op, "success is not a 2xx status", tok);
            const char *colon = memchr(tok, ':', body_n);
            if (colon) {
                const char *s = colon + 1;
                size_t sn = body_n - (size_t)(s - tok);
                if (sn >= 2 && s[0] == '[' && s[sn - 1] == ']')
                    s++, sn -= 2;
                if (no_body)
                    fail(op, "204 with a schema", tok);
                else if (!schema_json(s, sn))
                    fail(op, "unknown response schema", tok);
            } else if (!no_body && !d->media && !strchr(tok, '@')) {
                fail(op, "success without a response schema", tok);
            }
            if (tok[body_n] == '@' && !media_ok(tok + body_n + 1, strlen(tok + body_n + 1)))
                fail(op, "unknown media type", tok);
            r += n + (r[n] == ' ');
        }
    }
    CHECK_INT(failures, 0);
}

static void test_schemas_are_json(void)
{
    for (size_t i = 0; i < openapi_n_schemas; i++) {
        json_error_t e;
        json_t *j = json_loads(openapi_schemas[i].json, 0, &e);
        if (!j || !json_is_object(j)) {
            fprintf(stderr, "  schema %s: %s (line %d, column %d)\n", openapi_schemas[i].name,
                    e.text, e.line, e.column);
            failures++;
        }
        json_decref(j);
        for (size_t k = 0; k < i; k++)
            if (strcmp(openapi_schemas[k].name, openapi_schemas[i].name) == 0) {
                fprintf(stderr, "  schema %s defined twice\n", openapi_schemas[i].name);
                failures++;
            }
    }
    CHECK_INT(failures, 0);
}

/* Every "$ref": "#/a/b" under node points at something in doc. */
static void check_refs(json_t *doc, json_t *node)
{
    if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) check_refs(doc, v);
        return;
    }
    if (!json_is_object(node))
        return;
    const char *k;
    json_t *v;
    json_object_foreach(node, k, v)
    {
        if (strcmp(k, "$ref") == 0 && json_is_string(v)) {
            const char *ref = json_string_value(v);
            json_t *at = doc;
            CHECK(strncmp(ref, "#/", 2) == 0);
            char part[128];
            for (const char *p = ref + 2; at && *p;) {
                size_t n = strcspn(p, "/");
                snprintf(part, sizeof part, "%.*s", (int)n, p);
                at = json_object_get(at, part);
                p += n + (p[n] == '/');
            }
            if (!at) {
                fprintf(stderr, "  unresolved $ref %s\n", ref);
                failures++;
            }
        } else {
            check_refs(doc, v);
        }
    }
}

static void test_rendered_document(void)
{
    wh_buf_t b;
    wh_buf_init(&b);
    openapi_render(&b);
    CHECK(!wh_buf_failed(&b));
    json_error_t e;
    json_t *doc = json_loadb(b.data, b.len, 0, &e);
    if (!doc)
        fprintf(stderr, "  document: %s (line %d, column %d, position %d)\n", e.text, e.line,
                e.column, e.position);
    CHECK(doc != NULL);
    CHECK_STR(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    CHECK(json_object_get(json_object_get(doc, "info"), "license") != NULL);
    json_t *paths = json_object_get(doc, "paths");
    int ops = 0;
    for (int i = 0; i < WH_OP_COUNT; i++) {
        if (!wh_ops[i].path)
            continue;
        char m[8];
        size_t n = strlen(wh_ops[i].method);
        for (size_t k = 0; k <= n; k++)
            m[k] = (char)(wh_ops[i].method[k] | (k < n ? 0x20 : 0));
        json_t *op = json_object_get(json_object_get(paths, wh_ops[i].path), m);
        CHECK(op != NULL);
        CHECK(json_string_length(json_object_get(op, "summary")) > 0);
        CHECK(json_array_size(json_object_get(op, "tags")) == 1);
        json_t *resp = json_object_get(op, "responses");
        const char *status;
        json_t *r;
        int ok = 0;
        json_object_foreach(resp, status, r)
        {
            if (status[0] != '2')
                continue;
            ok++;
            if (strcmp(status, "204") != 0 && !json_object_get(r, "content"))
                fail(&wh_ops[i], "success without content", status);
        }
        CHECK(ok > 0);
        ops++;
    }
    CHECK(ops > 0);
    check_refs(doc, doc);
    CHECK_INT(failures, 0);
    json_decref(doc);
    wh_buf_close(&b);
}

int main(void)
{
    TEST(test_every_operation_documented);
    TEST(test_schemas_are_json);
    TEST(test_rendered_document);
    return 0;
}
