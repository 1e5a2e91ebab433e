/* Operations owned by the gateway (rows of the table in proto/ops.h). */
#ifndef WH_OPS_GATEWAY_H
#define WH_OPS_GATEWAY_H

/* Calendar feeds: those who read and keep agreements, for the organisations
 * their token covers (admin: any). */
#define WH_ROLES_FEEDS (WH_ROLE_ADMIN | WH_ROLE_COORDINATOR | WH_ROLE_CONSULTANT)

#define WH_OPS_GATEWAY(X)                                                                          \
    X(BACKUPS_GATEWAY, "POST", "/v1/backups/{backup_id}/gateway", WH_SVC_GATEWAY, WH_ROLE_ADMIN,   \
      WH_OPF_WRITE)                                                                                \
    X(OPENAPI_GET, "GET", "/v1/openapi.json", WH_SVC_GATEWAY, WH_ROLE_PUBLIC, 0)                   \
    X(TOKENS_CREATE, "POST", "/v1/tokens", WH_SVC_GATEWAY, WH_ROLE_ADMIN,                          \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(TOKENS_LIST, "GET", "/v1/tokens", WH_SVC_GATEWAY, WH_ROLE_ADMIN, 0)                          \
    X(TOKENS_DELETE, "DELETE", "/v1/tokens/{id}", WH_SVC_GATEWAY, WH_ROLE_ADMIN, WH_OPF_WRITE)     \
    X(FEEDS_CREATE, "POST", "/v1/calendar-feeds", WH_SVC_GATEWAY, WH_ROLES_FEEDS,                  \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(FEEDS_LIST, "GET", "/v1/calendar-feeds", WH_SVC_GATEWAY, WH_ROLES_FEEDS, 0)                  \
    X(FEEDS_DELETE, "DELETE", "/v1/calendar-feeds/{id}", WH_SVC_GATEWAY, WH_ROLES_FEEDS,           \
      WH_OPF_WRITE)

/* Documentation of the rows above for the OpenAPI document:
 * D(NAME, summary, description, request schema, successes, media types,
 * query parameters), as described at WH_OPS_AGREEMENTS_DOCS. */
#define WH_OPS_GATEWAY_DOCS(D)                                                                     \
    WH_OP_BACKUP_DOC(D, BACKUPS_GATEWAY, "gateway")                                                \
    D(OPENAPI_GET, "This OpenAPI document",                                                        \
      "The contract of every operation, generated from the operations table; no token "            \
      "needed.",                                                                                   \
      NULL, "200:OpenApiDocument", NULL, NULL)                                                     \
    D(TOKENS_CREATE, "Create an API token",                                                        \
      "Bound to a role and organisations (admin: all). The secret is in token, shown this "        \
      "once; the gateway keeps only its hash. Admin only.",                                        \
      "TokenCreate", "201:TokenCreated", NULL, NULL)                                               \
    D(TOKENS_LIST, "List API tokens", "Without their secrets. Admin only.", NULL, "200:[Token]",   \
      NULL, NULL)                                                                                  \
    D(TOKENS_DELETE, "Revoke an API token",                                                        \
      "Effective at once for every later request. Admin only.", NULL, "204", NULL, NULL)           \
    D(FEEDS_CREATE, "Create a calendar feed",                                                      \
      "A secret address for calendar programs, which send no token: url, shown this once, "        \
      "opens GET /v1/agreements/calendar.ics?feed= (and nothing else) with what this token "       \
      "sees, narrowed to org_ids. It ends when deleted or when this token is revoked or "          \
      "expires. Admin, coordinators, consultants; at most 100 per token.",                         \
      "CalendarFeedCreate", "201:CalendarFeedCreated", NULL, NULL)                                 \
    D(FEEDS_LIST, "List calendar feeds",                                                           \
      "This token's feeds (admin: every feed), without their secrets.", NULL,                      \
      "200:[CalendarFeed]", NULL, NULL)                                                            \
    D(FEEDS_DELETE, "Delete a calendar feed",                                                      \
      "Its address answers 404 at once. Another token's feed is 404 (admin: any).", NULL, "204",   \
      NULL, NULL)

#endif
