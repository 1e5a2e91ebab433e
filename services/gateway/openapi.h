/* The OpenAPI 3.1 document served at /v1/openapi.json, generated from the
 * operations table so that it cannot drift from the routes: every path and
 * method, its parameters, the roles that may call it (x-roles), the owning
 * service, and the shared problem-details and list shapes. */
#ifndef GATEWAY_OPENAPI_H
#define GATEWAY_OPENAPI_H

#include "buf.h"

void openapi_render(wh_buf_t *out);

#endif
