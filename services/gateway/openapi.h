/* The OpenAPI 3.1 document served at /v1/openapi.json, generated from the
 * operations table so that it cannot drift from the routes: every path and
 * method, its parameters, the roles that may call it (x-roles), the owning
 * service as its tag, a summary and description, the schemas of its request
 * and response bodies (proto/ops_<service>.h name them per operation; the
 * schemas themselves are in openapi_schemas.c), and the shared
 * problem-details and list shapes. */
#ifndef GATEWAY_OPENAPI_H
#define GATEWAY_OPENAPI_H

#include <stddef.h>

#include "buf.h"

void openapi_render(wh_buf_t *out);

/* The documentation of one operation of the table (see
 * WH_OPS_AGREEMENTS_DOCS in proto/ops_agreements.h), or NULL when it has
 * none. */
typedef struct openapi_doc {
    int op;
    const char *summary;
    const char *description;
    const char *request;   /* schema of the JSON body, or NULL: none */
    const char *responses; /* successes: "STATUS[:SCHEMA]" separated by spaces */
    const char *media;     /* media types of those bodies, comma-separated; NULL: JSON */
    const char *query;     /* query parameters "name[!][=type]" separated by spaces, or NULL */
} openapi_doc_t;
const openapi_doc_t *openapi_doc_of(int op);

/* The named schemas of components.schemas, each a JSON text. */
typedef struct openapi_schema {
    const char *name;
    const char *json;
} openapi_schema_t;
extern const openapi_schema_t openapi_schemas[];
extern const size_t openapi_n_schemas;

#endif
