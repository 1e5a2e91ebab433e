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

/* Per-operation documentation from each service's rows file:
 * D(NAME, summary, description, request schema, successes, media types,
 * query parameters). */
static const openapi_doc_t op_docs[] = {
#define WH_OP_DOC(name, summary, description, request, responses, media, query)                    \
    {WH_OP_##name, summary, description, request, responses, media, query},
    /* clang-format off */
    WH_OPS_GATEWAY_DOCS(WH_OP_DOC)
    WH_OPS_AGREEMENTS_DOCS(WH_OP_DOC)
    WH_OPS_SURVEYS_DOCS(WH_OP_DOC)
    WH_OPS_SCREENING_DOCS(WH_OP_DOC)
    WH_OPS_NOTIFICATIONS_DOCS(WH_OP_DOC)
#undef WH_OP_DOC
    {-1, NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */

const openapi_doc_t *openapi_doc_of(int op)
{
    for (const openapi_doc_t *d = op_docs; d->op >= 0; d++)
        if (d->op == op)
            return d;
    return NULL;
}

/* What each service's tag says. */
static const char *const tag_descriptions[WH_SVC_COUNT] = {
    "API tokens and this document.",
    "Organisations, cooperation agreements between an employer and an insurer, their "
    "activities, deadlines and reminders, and the insurer's prevention report.",
    "Anonymous employee surveys: definition, participation codes, public participation and "
    "results under the anonymity threshold.",
    "Validated screening questionnaires pushed by integrations, the alerts they open, "
    "erasure, and statistics under the anonymity rule.",
    "Subscriptions to events by e-mail or signed webhook, and their deliveries.",
};

/* Media types of bodies that are not JSON, with the schema they get. */
static const struct {
    const char *media;
    const char *schema;
} text_media[] = {
    {"text/csv", "CsvText"},
    {"text/calendar", "CalendarText"},
    {"text/html", "HtmlPage"},
};

/* The single resources, whose every answer carries an ETag for If-Match. */
static const char *const etag_schemas[] = {
    "Organization", "Agreement", "Activity", "Survey", "Screening", "Alert", "ScreeningSettings"};

static void lower(char *dst, const char *src)
{
    while (*src) {
        char c = *src++;
        *dst++ = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    *dst = '\0';
}

static bool is_list(const char *schema, size_t n)
{
    return n >= 2 && schema[0] == '[' && schema[n - 1] == ']';
}

/* The schema of one success body for a JSON media type: a reference, or for
 * "[X]" the list page of X. */
static void json_schema_ref(wh_buf_t *b, const char *schema, size_t n)
{
    if (is_list(schema, n))
        wh_buf_printf(b,
                      "{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\"],"
                      "\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
                      "{\"$ref\":\"#/components/schemas/%.*s\"}},\"next_cursor\":"
                      "{\"$ref\":\"#/components/schemas/NextCursor\"}}}",
                      (int)(n - 2), schema + 1);
    else
        wh_buf_printf(b, "{\"$ref\":\"#/components/schemas/%.*s\"}", (int)n, schema);
}

/* True when one of the successes of doc is a list page. */
static bool returns_list(const openapi_doc_t *doc)
{
    for (const char *r = doc->responses; *r;) {
        size_t n = strcspn(r, " ");
        size_t body_n = strcspn(r, " @");
        const char *colon = memchr(r, ':', body_n);
        if (colon && is_list(colon + 1, (size_t)(r + body_n - colon - 1)))
            return true;
        r += n + (r[n] == ' ');
    }
    return false;
}

static void query_param(wh_buf_t *b, const char *p, size_t n)
{
    size_t name_n = strcspn(p, "=! ");
    if (name_n > n)
        name_n = n;
    bool required = name_n < n && p[name_n] == '!';
    const char *type = memchr(p, '=', n);
    size_t type_n = type ? (size_t)(p + n - type - 1) : 0;
    if (type)
        type++;
    wh_buf_printf(b,
                  ",{\"name\":\"%.*s\",\"in\":\"query\",\"required\":%s,\"schema\":", (int)name_n,
                  p, required ? "true" : "false");
    if (!type)
        wh_buf_puts(b, "{\"type\":\"string\"}");
    else if (type_n == 3 && strncmp(type, "int", 3) == 0)
        wh_buf_puts(b, "{\"type\":\"integer\"}");
    else if (type_n == 4 && strncmp(type, "date", 4) == 0)
        wh_buf_puts(b, "{\"type\":\"string\",\"format\":\"date\"}");
    else {
        /* a|b|c */
        wh_buf_puts(b, "{\"type\":\"string\",\"enum\":[");
        for (size_t i = 0; i < type_n;) {
            size_t k = strcspn(type + i, "| ");
            if (k > type_n - i)
                k = type_n - i;
            wh_buf_printf(b, "%s\"%.*s\"", i ? "," : "", (int)k, type + i);
            i += k + 1;
        }
        wh_buf_puts(b, "]}");
    }
    wh_buf_putc(b, '}');
}

static void parameters(wh_buf_t *b, const wh_op_t *op, const openapi_doc_t *doc)
{
    /* Every operation takes X-Request-Id, so the list is never empty. */
    wh_buf_puts(b, ",\"parameters\":[{\"$ref\":\"#/components/parameters/RequestId\"}");
    for (const char *p = strchr(op->path, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        wh_buf_printf(b,
                      ",{\"name\":\"%.*s\",\"in\":\"path\",\"required\":true,"
                      "\"schema\":{\"type\":\"string\"}}",
                      (int)(e - p - 1), p + 1);
    }
    if (op->flags & WH_OPF_CREATE)
        wh_buf_puts(b, ",{\"name\":\"Idempotency-Key\",\"in\":\"header\",\"description\":"
                       "\"A repeat with the same key and body returns the first response; "
                       "the same key with another body is 422.\",\"schema\":"
                       "{\"type\":\"string\",\"maxLength\":255}}");
    if (strcmp(op->method, "PATCH") == 0)
        wh_buf_puts(b, ",{\"name\":\"If-Match\",\"in\":\"header\",\"description\":"
                       "\"The ETag last read; another is 412.\",\"schema\":"
                       "{\"type\":\"string\"}}");
    if (doc && doc->query)
        for (const char *q = doc->query; *q;) {
            size_t n = strcspn(q, " ");
            query_param(b, q, n);
            q += n + (q[n] == ' ');
        }
    if (doc && returns_list(doc))
        wh_buf_printf(b,
                      ",{\"name\":\"limit\",\"in\":\"query\",\"description\":"
                      "\"Items at most; a page also ends at %d KiB of items, so it may hold "
                      "fewer and still have a next_cursor.\",\"schema\":{\"type\":\"integer\","
                      "\"minimum\":1,\"maximum\":500,\"default\":50}},"
                      "{\"name\":\"cursor\",\"in\":\"query\",\"description\":\"The next_cursor "
                      "of the previous page.\",\"schema\":{\"type\":\"string\"}}",
                      WH_LIST_MAX_BYTES / 1024);
    wh_buf_putc(b, ']');
}

static void request_body(wh_buf_t *b, const wh_op_t *op, const openapi_doc_t *doc)
{
    if (doc && doc->request && (op->flags & WH_OPF_CSV)) {
        wh_buf_printf(b,
                      ",\"requestBody\":{\"required\":true,\"content\":{\"text/csv\":{\"schema\":"
                      "{\"$ref\":\"#/components/schemas/%s\"}}}}",
                      doc->request);
    } else if (doc && doc->request) {
        bool patch = strcmp(op->method, "PATCH") == 0;
        wh_buf_printf(b,
                      ",\"requestBody\":{\"required\":true,\"content\":{\"%s\":{\"schema\":"
                      "{\"$ref\":\"#/components/schemas/%s\"}}",
                      patch ? "application/merge-patch+json" : "application/json", doc->request);
        if (patch)
            wh_buf_printf(b,
                          ",\"application/json\":{\"schema\":"
                          "{\"$ref\":\"#/components/schemas/%s\"}}",
                          doc->request);
        wh_buf_puts(b, "}}");
    } else if (strcmp(op->method, "POST") == 0) {
        /* An action without fields: no body, or {} as generated clients send. */
        wh_buf_puts(b, ",\"requestBody\":{\"required\":false,\"description\":\"No body, or an "
                       "empty object.\",\"content\":{\"application/json\":{\"schema\":"
                       "{\"$ref\":\"#/components/schemas/Empty\"}}}}");
    }
}

static void success(wh_buf_t *b, const wh_op_t *op, const openapi_doc_t *doc, const char *r,
                    size_t n, bool first)
{
    const char *at = memchr(r, '@', n);
    size_t body_n = at ? (size_t)(at - r) : n;
    const char *colon = memchr(r, ':', body_n);
    size_t status_n = colon ? (size_t)(colon - r) : body_n;
    const char *schema = colon ? colon + 1 : NULL;
    size_t schema_n = colon ? (size_t)(r + body_n - colon - 1) : 0;
    wh_buf_printf(b, "%s\"%.*s\":{\"description\":\"%s\"", first ? "" : ",", (int)status_n, r,
                  strncmp(r, "201", 3) == 0   ? "Created"
                  : strncmp(r, "202", 3) == 0 ? "Accepted"
                  : strncmp(r, "204", 3) == 0 ? "Done; no body"
                                              : "Success");
    bool etag = false;
    for (size_t i = 0; schema && i < sizeof etag_schemas / sizeof etag_schemas[0]; i++)
        etag = etag || (strlen(etag_schemas[i]) == schema_n &&
                        strncmp(schema, etag_schemas[i], schema_n) == 0);
    wh_buf_puts(b,
                ",\"headers\":{\"X-Request-Id\":{\"$ref\":\"#/components/headers/X-Request-Id\"}");
    if (etag)
        wh_buf_puts(b, ",\"ETag\":{\"$ref\":\"#/components/headers/ETag\"}");
    wh_buf_putc(b, '}');
    /* The media types: this success's own, the operation's, or JSON. */
    const char *media = doc->media;
    size_t media_n = media ? strlen(media) : 0;
    if (at) {
        media = at + 1;
        media_n = (size_t)(r + n - media);
    }
    if (schema || media) {
        if (!media) {
            media = "application/json";
            media_n = strlen(media);
        }
        wh_buf_puts(b, ",\"content\":{");
        for (const char *m = media; m < media + media_n;) {
            size_t k = strcspn(m, ", ");
            if (k > (size_t)(media + media_n - m))
                k = (size_t)(media + media_n - m);
            wh_buf_printf(b, "%s\"%.*s\":{\"schema\":", m == media ? "" : ",", (int)k, m);
            const char *text = NULL;
            for (size_t i = 0; i < sizeof text_media / sizeof text_media[0]; i++)
                if (strlen(text_media[i].media) == k && strncmp(m, text_media[i].media, k) == 0)
                    text = text_media[i].schema;
            if (text)
                wh_buf_printf(b, "{\"$ref\":\"#/components/schemas/%s\"}", text);
            else
                json_schema_ref(b, schema ? schema : "Empty", schema ? schema_n : 5);
            wh_buf_putc(b, '}');
            m += k + (m[k] == ',');
        }
        wh_buf_putc(b, '}');
    }
    wh_buf_putc(b, '}');
}

static void responses(wh_buf_t *b, const wh_op_t *op, const openapi_doc_t *doc)
{
    wh_buf_puts(b, ",\"responses\":{");
    if (doc && doc->responses) {
        bool first = true;
        for (const char *r = doc->responses; *r;) {
            size_t n = strcspn(r, " ");
            success(b, op, doc, r, n, first);
            first = false;
            r += n + (r[n] == ' ');
        }
    } else
        wh_buf_puts(b, "\"200\":{\"description\":\"Success\"}");
    /* Errors, all as problem details: those any operation may meet, 401
     * only with a token, 412 and 507 only for writes, 415 only with a
     * body. */
    bool pub = op->roles & WH_ROLE_PUBLIC;
    bool write = op->flags & WH_OPF_WRITE;
    bool body = strcmp(op->method, "POST") == 0 || strcmp(op->method, "PATCH") == 0;
    static const struct {
        int status;
        const char *ref;
        int when; /* 0 always, 1 with a token, 2 writes, 3 with a body */
    } errs[] = {
        {400, "Problem", 0},     {401, "Problem", 1},     {403, "Problem", 0}, {404, "Problem", 0},
        {409, "Problem", 0},     {412, "Problem", 2},     {413, "Problem", 0}, {415, "Problem", 3},
        {422, "Problem", 0},     {429, "RateLimited", 0}, {500, "Problem", 0}, {502, "Problem", 0},
        {503, "Unavailable", 0}, {504, "Problem", 0},     {507, "Problem", 2},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        int w = errs[i].when;
        if ((w == 1 && pub) || (w == 2 && !write) || (w == 3 && !body))
            continue;
        wh_buf_printf(b, ",\"%d\":{\"$ref\":\"#/components/responses/%s\"}", errs[i].status,
                      errs[i].ref);
    }
    wh_buf_putc(b, '}');
}

static void operation(wh_buf_t *b, const wh_op_t *op)
{
    char opid[64];
    lower(opid, op->name);
    const openapi_doc_t *doc = openapi_doc_of((int)(op - wh_ops));
    wh_buf_printf(b, "\"operationId\":\"%s\",\"tags\":[\"%s\"],\"x-service\":\"%s\",\"x-roles\":",
                  opid, wh_service_names[op->service], wh_service_names[op->service]);
    role_list(b, op->roles);
    if (doc) {
        wh_buf_puts(b, ",\"summary\":");
        wh_buf_json_str(b, doc->summary, strlen(doc->summary));
        wh_buf_puts(b, ",\"description\":");
        wh_buf_json_str(b, doc->description, strlen(doc->description));
    }
    if (op->roles & WH_ROLE_PUBLIC)
        wh_buf_puts(b, ",\"security\":[]");
    else if (op - wh_ops == WH_OP_SESSION_CREATE) /* a session is made from a token only */
        wh_buf_puts(b, ",\"security\":[{\"bearer\":[]}]");
    parameters(b, op, doc);
    request_body(b, op, doc);
    responses(b, op, doc);
}

static void components(wh_buf_t *b)
{
    wh_buf_puts(b,
                ",\"components\":{\"securitySchemes\":{\"bearer\":{\"type\":\"http\","
                "\"scheme\":\"bearer\",\"description\":\"An API token from POST /v1/tokens (or "
                "the operator's bootstrap token), bound to a role and organisations.\"},"
                "\"session\":{\"type\":\"apiKey\",\"in\":\"cookie\",\"name\":\"wh_session\","
                "\"description\":\"The pages' session from POST /v1/session (__Host-wh_session "
                "under an https WH_PUBLIC_URL); a request that changes anything also needs its "
                "csrf_token in X-CSRF-Token and a same-origin Origin or Sec-Fetch-Site.\"}},"
                "\"parameters\":{\"RequestId\":{\"name\":\"X-Request-Id\",\"in\":\"header\","
                "\"description\":\"The caller's id for this request, in every log line of "
                "every service that handles it and echoed in the answer; without it, or with "
                "another form, the gateway makes one.\",\"schema\":{\"type\":\"string\","
                "\"pattern\":\"^[A-Za-z0-9._:-]{1,64}$\"}}},"
                "\"headers\":{\"X-Request-Id\":{\"description\":\"The request's id: the "
                "caller's X-Request-Id when valid, else one the gateway made.\",\"required\":"
                "true,\"schema\":{\"type\":\"string\"}},"
                "\"X-Request-Id-Problem\":{\"description\":\"The request's id, as on every "
                "answer; absent when the HTTP layer refused the request before routing it.\","
                "\"schema\":{\"type\":\"string\"}},"
                "\"ETag\":{\"description\":\"The resource's version, for "
                "If-Match.\",\"required\":true,\"schema\":{\"type\":\"string\"}},\"Retry-After\":{"
                "\"description\":"
                "\"Seconds to wait before trying again.\",\"required\":true,\"schema\":"
                "{\"type\":\"integer\",\"minimum\":0}}},"
                "\"responses\":{\"Problem\":{\"description\":\"RFC 9457 problem details\","
                "\"headers\":{\"X-Request-Id\":{\"$ref\":\"#/components/headers/"
                "X-Request-Id-Problem\"}},"
                "\"content\":{\"application/problem+json\":{\"schema\":"
                "{\"$ref\":\"#/components/schemas/Problem\"}}}},"
                "\"RateLimited\":{\"description\":\"Too many requests from this address; "
                "RFC 9457 problem details\",\"headers\":{\"X-Request-Id\":{\"$ref\":"
                "\"#/components/headers/X-Request-Id-Problem\"},\"Retry-After\":{\"$ref\":"
                "\"#/components/headers/Retry-After\"}},\"content\":{\"application/problem+json\":"
                "{\"schema\":{\"$ref\":\"#/components/schemas/Problem\"}}}},"
                "\"Unavailable\":{\"description\":\"A service is down or busy; RFC 9457 problem "
                "details\",\"headers\":{\"X-Request-Id\":{\"$ref\":\"#/components/headers/"
                "X-Request-Id-Problem\"},\"Retry-After\":{\"description\":\"Seconds to wait, when "
                "known.\",\"schema\":{\"type\":\"integer\",\"minimum\":0}}},\"content\":"
                "{\"application/problem+json\":{\"schema\":"
                "{\"$ref\":\"#/components/schemas/Problem\"}}}}},"
                "\"schemas\":{");
    for (size_t i = 0; i < openapi_n_schemas; i++)
        wh_buf_printf(b, "%s\"%s\":%s", i ? "," : "", openapi_schemas[i].name,
                      openapi_schemas[i].json);
    wh_buf_puts(b, "}}");
}

void openapi_render(wh_buf_t *b)
{
    wh_buf_puts(b, "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"workhealth\",\"version\":\"1\","
                   "\"summary\":\"Workplace health programmes: agreements, surveys, screening, "
                   "notifications.\",\"description\":\"Workplace health programmes: cooperation "
                   "agreements, anonymous surveys, screening and notifications. JSON in UTF-8 with "
                   "snake_case fields; dates YYYY-MM-DD, instants RFC 3339 in UTC; ids are opaque "
                   "sortable strings. Errors are RFC 9457 problem details with a JSON pointer per "
                   "invalid field; unknown fields in a request body are 422. Roles per operation "
                   "are listed in x-roles; a token sees only its organisations, others are 404. "
                   "Lists take limit and cursor and answer {items, next_cursor}.\","
                   "\"license\":{\"name\":\"Apache-2.0\",\"identifier\":\"Apache-2.0\"}},"
                   "\"servers\":[{\"url\":\"/\",\"description\":\"The gateway serving this "
                   "document\"}],\"tags\":[");
    for (int s = 0; s < WH_SVC_COUNT; s++)
        wh_buf_printf(b, "%s{\"name\":\"%s\",\"description\":\"%s\"}", s ? "," : "",
                      wh_service_names[s], tag_descriptions[s]);
    wh_buf_puts(b, "],\"security\":[{\"bearer\":[]},{\"session\":[]}],\"paths\":{");
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
    wh_buf_putc(b, '}');
    components(b);
    wh_buf_putc(b, '}');
}
