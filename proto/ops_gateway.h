/* Operations owned by the gateway (rows of the table in proto/ops.h). */
#ifndef WH_OPS_GATEWAY_H
#define WH_OPS_GATEWAY_H

/* Calendar feeds: those who read and keep agreements, for the organisations
 * their token covers (admin: any). */
#define WH_ROLES_FEEDS (WH_ROLE_ADMIN | WH_ROLE_COORDINATOR | WH_ROLE_CONSULTANT)

/* The console's sessions: every role that has pages (integrations are machines). */
#define WH_ROLES_CONSOLE (WH_ROLES_STAFF | WH_ROLE_OCC_HEALTH)

#define WH_OPS_GATEWAY(X)                                                                          \
    X(BACKUPS_GATEWAY, "POST", "/v1/backups/{backup_id}/gateway", WH_SVC_GATEWAY, WH_ROLE_ADMIN,   \
      WH_OPF_WRITE)                                                                                \
    X(BACKUPS_PRUNE_GATEWAY, "POST", "/v1/backups/{backup_id}/gateway/prune", WH_SVC_GATEWAY,      \
      WH_ROLE_ADMIN, WH_OPF_WRITE)                                                                 \
    X(OPENAPI_GET, "GET", "/v1/openapi.json", WH_SVC_GATEWAY, WH_ROLE_PUBLIC, 0)                   \
    X(TOKENS_CREATE, "POST", "/v1/tokens", WH_SVC_GATEWAY, WH_ROLE_ADMIN,                          \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(TOKENS_LIST, "GET", "/v1/tokens", WH_SVC_GATEWAY, WH_ROLE_ADMIN, 0)                          \
    X(TOKENS_DELETE, "DELETE", "/v1/tokens/{id}", WH_SVC_GATEWAY, WH_ROLE_ADMIN, WH_OPF_WRITE)     \
    X(FEEDS_CREATE, "POST", "/v1/calendar-feeds", WH_SVC_GATEWAY, WH_ROLES_FEEDS,                  \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(FEEDS_LIST, "GET", "/v1/calendar-feeds", WH_SVC_GATEWAY, WH_ROLES_FEEDS, 0)                  \
    X(FEEDS_DELETE, "DELETE", "/v1/calendar-feeds/{id}", WH_SVC_GATEWAY, WH_ROLES_FEEDS,           \
      WH_OPF_WRITE)                                                                                \
    X(SESSION_CREATE, "POST", "/v1/session", WH_SVC_GATEWAY, WH_ROLES_CONSOLE, WH_OPF_WRITE)       \
    X(SESSION_GET, "GET", "/v1/session", WH_SVC_GATEWAY, WH_ROLES_ANY, 0)                          \
    X(SESSION_DELETE, "DELETE", "/v1/session", WH_SVC_GATEWAY, WH_ROLES_ANY, WH_OPF_WRITE)

/* Documentation of the rows above for the OpenAPI document:
 * D(NAME, summary, description, request schema, successes, media types,
 * query parameters), as described at WH_OPS_AGREEMENTS_DOCS. */
#define WH_OPS_GATEWAY_DOCS(D)                                                                     \
    WH_OP_BACKUP_DOC(D, BACKUPS_GATEWAY, "gateway")                                                \
    WH_OP_BACKUP_PRUNE_DOC(D, BACKUPS_PRUNE_GATEWAY, "gateway")                                    \
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
      NULL, NULL)                                                                                  \
    D(SESSION_CREATE, "Sign in to the pages",                                                      \
      "Exchanges the API token in Authorization: Bearer for a session cookie (HttpOnly, "          \
      "SameSite=Strict, Path=/; Secure and named __Host-wh_session when WH_PUBLIC_URL is "         \
      "https, else wh_session) that authenticates later requests in its place. A request "         \
      "authenticated by the cookie that changes anything needs the answer's csrf_token in "        \
      "X-CSRF-Token and a same-origin Origin or Sec-Fetch-Site, else 403. The session ends "       \
      "after WH_SESSION_IDLE_S unused, WH_SESSION_MAX_S after sign-in, on DELETE, or with its "    \
      "token; a token holds at most 20 sessions, the oldest ends beyond that. Every role but "     \
      "integration.",                                                                              \
      NULL, "201:Session", NULL, NULL)                                                             \
    D(SESSION_GET, "Who is signed in",                                                             \
      "The role and organisations of the session's token, with the session's csrf_token and "      \
      "when it ends; with a bearer token the same without a session (csrf_token and the "          \
      "times null).",                                                                              \
      NULL, "200:Session", NULL, NULL)                                                             \
    D(SESSION_DELETE, "Sign out",                                                                  \
      "Ends the cookie's session on the server at once and clears the cookie. 404 without a "      \
      "session (a bearer token is not one).",                                                      \
      NULL, "204", NULL, NULL)

#endif
