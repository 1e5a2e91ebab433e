#include "openapi.h"

#include <stdbool.h>
#include <string.h>

#include "list.h"
#include "ops.h"

static void role_list(wh_buf_t *b, unsigned roles)
{
    static const unsigned bits[] = {WH_ROLE_ADMIN, WH_ROLE_COORDINATOR, WH_ROLE_CONSULTANT,
                                    WH_ROLE_OCC_HEALTH, WH_ROLE_INTEGRATION};
    wh_buf_putc(b, '[');
    bool first = true;
    if (roles & WH_ROLE_PUBLIC) {
        wh_buf_puts(b, "\"public\"");
        first = false;
    }
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (roles & bits[i]) {
            wh_buf_printf(b, "%s\"%s\"", first ? "" : ",", wh_role_name(bits[i]));
            first = false;
        }
    wh_buf_putc(b, ']');
}

/* Per-operation documentation, for the services whose rows file defines
 * WH_OPS_<SERVICE>_DOCS(D) with D(NAME, summary, description, media types
 * of a success that is not (only) JSON, comma-separated, or NULL). An
 * operation with media types is a document, not a list: it takes no
 * limit and cursor. */
typedef struct op_doc {
    int op;
    const char *summary;
    const char *description;
    const char *media;
} op_doc_t;
static const op_doc_t op_docs[] = {
#define WH_OP_DOC(name, summary, description, media) {WH_OP_##name, summary, description, media},
#ifdef WH_OPS_AGREEMENTS_DOCS
    WH_OPS_AGREEMENTS_DOCS(WH_OP_DOC)
#endif
#ifdef WH_OPS_SCREENING_DOCS
    WH_OPS_SCREENING_DOCS(WH_OP_DOC)
#endif
#undef WH_OP_DOC
    {-1, NULL, NULL, NULL},
};

static const op_doc_t *doc_of(const wh_op_t *op)
{
    for (const op_doc_t *d = op_docs; d->op >= 0; d++)
        if (&wh_ops[d->op] == op)
            return d;
    return NULL;
}

static void lower(char *dst, const char *src)
{
    while (*src) {
        char c = *src++;
        *dst++ = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    *dst = '\0';
}

static void operation(wh_buf_t *b, const wh_op_t *op)
{
    char opid[64];
    lower(opid, op->name);
    wh_buf_printf(b, "\"operationId\":\"%s\",\"x-service\":\"%s\",\"x-roles\":", opid,
                  wh_service_names[op->service]);
    role_list(b, op->roles);
    const op_doc_t *doc = doc_of(op);
    if (doc) {
        wh_buf_puts(b, ",\"summary\":");
        wh_buf_json_str(b, doc->summary, strlen(doc->summary));
        wh_buf_puts(b, ",\"description\":");
        wh_buf_json_str(b, doc->description, strlen(doc->description));
    }
    if (op->roles & WH_ROLE_PUBLIC)
        wh_buf_puts(b, ",\"security\":[]");
    wh_buf_puts(b, ",\"parameters\":[");
    bool first = true;
    for (const char *p = strchr(op->path, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        wh_buf_printf(b, "%s{\"name\":\"%.*s\",\"in\":\"path\",\"required\":true,"
                         "\"schema\":{\"type\":\"string\"}}",
                      first ? "" : ",", (int)(e - p - 1), p + 1);
        first = false;
    }
    if (op->flags & WH_OPF_CREATE) {
        wh_buf_printf(b, "%s{\"name\":\"Idempotency-Key\",\"in\":\"header\",\"schema\":"
                         "{\"type\":\"string\",\"maxLength\":255}}",
                      first ? "" : ",");
        first = false;
    }
    if (strcmp(op->method, "PATCH") == 0) {
        wh_buf_printf(b, "%s{\"name\":\"If-Match\",\"in\":\"header\",\"schema\":"
                         "{\"type\":\"string\"}}",
                      first ? "" : ",");
        first = false;
    }
    if (strcmp(op->method, "GET") == 0 && !strchr(op->path, '{') &&
        strstr(op->path, "openapi") == NULL && !(doc && doc->media)) {
        wh_buf_printf(b,
                      "%s{\"name\":\"limit\",\"in\":\"query\",\"description\":"
                      "\"Items at most; a page also ends at %d KiB of items, so it may hold "
                      "fewer and still have a next_cursor.\",\"schema\":{\"type\":\"integer\","
                      "\"minimum\":1,\"maximum\":500,\"default\":50}},"
                      "{\"name\":\"cursor\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}}",
                      first ? "" : ",", WH_LIST_MAX_BYTES / 1024);
    }
    wh_buf_putc(b, ']');
    if (op->flags & WH_OPF_BODY)
        wh_buf_printf(b, ",\"requestBody\":{\"required\":true,\"content\":{\"%s\":{\"schema\":"
                         "{\"type\":\"object\",\"additionalProperties\":false}}}}",
                      strcmp(op->method, "PATCH") == 0 ? "application/merge-patch+json"
                                                       : "application/json");
    int ok = (op->flags & WH_OPF_CREATE) ? 201 : strcmp(op->method, "DELETE") == 0 ? 204 : 200;
    if (doc && doc->media) {
        wh_buf_printf(b, ",\"responses\":{\"%d\":{\"description\":\"success\",\"content\":{",
                      ok);
        for (const char *m = doc->media; *m;) {
            size_t n = strcspn(m, ",");
            bool json = n == 16 && strncmp(m, "application/json", 16) == 0;
            wh_buf_printf(b, "%s\"%.*s\":{\"schema\":{\"type\":\"%s\"}}",
                          m == doc->media ? "" : ",", (int)n, m, json ? "object" : "string");
            m += n + (m[n] == ',');
        }
        wh_buf_puts(b, "}}");
    } else
        wh_buf_printf(b, ",\"responses\":{\"%d\":{\"description\":\"success\"}", ok);
    static const int errs[] = {400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503, 504, 507};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
        wh_buf_printf(b, ",\"%d\":{\"$ref\":\"#/components/responses/Problem\"}", errs[i]);
    wh_buf_puts(b, "}");
}

void openapi_render(wh_buf_t *b)
{
    wh_buf_puts(b,
                "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"workhealth\",\"version\":\"1\","
                "\"description\":\"Workplace health programmes: cooperation agreements, "
                "anonymous surveys, screening and notifications. Roles per operation are listed "
                "in x-roles; a token sees only its organisations, others are 404.\"},"
                "\"servers\":[{\"url\":\"/\"}],"
                "\"security\":[{\"bearer\":[]}],\"paths\":{");
    bool first_path = true;
    for (int i = 0; i < WH_OP_COUNT; i++) {
        if (!wh_ops[i].path)
            continue; /* internal operation */
        /* Group methods under their path: emit each path once, at its first
         * row. */
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = wh_ops[j].path && strcmp(wh_ops[j].path, wh_ops[i].path) == 0;
        if (seen)
            continue;
        wh_buf_printf(b, "%s\"%s\":{", first_path ? "" : ",", wh_ops[i].path);
        first_path = false;
        bool first_m = true;
        for (int j = i; j < WH_OP_COUNT; j++) {
            if (!wh_ops[j].path || strcmp(wh_ops[j].path, wh_ops[i].path) != 0)
                continue;
            char m[8];
            lower(m, wh_ops[j].method);
            wh_buf_printf(b, "%s\"%s\":{", first_m ? "" : ",", m);
            operation(b, &wh_ops[j]);
            wh_buf_putc(b, '}');
            first_m = false;
        }
        wh_buf_putc(b, '}');
    }
    wh_buf_puts(b,
                "},\"components\":{\"securitySchemes\":{\"bearer\":{\"type\":\"http\","
                "\"scheme\":\"bearer\"}},\"responses\":{\"Problem\":{\"description\":"
                "\"RFC 9457 problem details\",\"content\":{\"application/problem+json\":"
                "{\"schema\":{\"$ref\":\"#/components/schemas/Problem\"}}}}},"
                "\"schemas\":{\"Problem\":{\"type\":\"object\",\"properties\":{"
                "\"type\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"
                "\"status\":{\"type\":\"integer\"},\"detail\":{\"type\":\"string\"},"
                "\"errors\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
                "\"pointer\":{\"type\":\"string\"},\"parameter\":{\"type\":\"string\"},"
                "\"detail\":{\"type\":\"string\"}}}}}}}}}");
}
