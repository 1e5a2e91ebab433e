/* Operations owned by the agreements service (rows of the table in proto/ops.h).
 *
 * Roles: admin does everything. Coordinators (the employer's side) and
 * consultants (the insurer's side) read and change the agreements of the
 * organisations their token covers, either party being enough.
 * Occupational health reads them (it supports the programme's activities)
 * and changes nothing. The integration role pushes screening results and
 * has no business here. The prevention report is the insurer's: admin and
 * consultants. The calendar row comes before /v1/agreements/{id}, which
 * would otherwise take "calendar.ics" for an id. */
#ifndef WH_OPS_AGREEMENTS_H
/* The most bytes of events in one page of AGREEMENTS_CALENDAR_PAGE, which the
 * gateway asks for page after page to join into one calendar feed; well
 * within one reply's bin (WH_MSG_MAX_STR). */
#define WH_CALENDAR_PAGE_MAX_BYTES (512 * 1024)

#define WH_OPS_AGREEMENTS_H

#define WH_ROLES_AGR_READ   (WH_ROLES_STAFF | WH_ROLE_OCC_HEALTH)
#define WH_ROLES_AGR_WRITE  (WH_ROLE_ADMIN | WH_ROLE_COORDINATOR | WH_ROLE_CONSULTANT)
#define WH_ROLES_AGR_REPORT (WH_ROLE_ADMIN | WH_ROLE_CONSULTANT)

#define WH_OPS_AGREEMENTS(X)                                                                       \
    X(BACKUPS_AGREEMENTS, "POST", "/v1/backups/{backup_id}/agreements", WH_SVC_AGREEMENTS,         \
      WH_ROLE_ADMIN, WH_OPF_WRITE)                                                                 \
    X(BACKUPS_PRUNE_AGREEMENTS, "POST", "/v1/backups/{backup_id}/agreements/prune",                \
      WH_SVC_AGREEMENTS, WH_ROLE_ADMIN, WH_OPF_WRITE)                                              \
    X(AGREEMENTS_METRICS, "GET", NULL, WH_SVC_AGREEMENTS, WH_ROLE_SERVICE, 0)                      \
    X(ORGS_CREATE, "POST", "/v1/organizations", WH_SVC_AGREEMENTS, WH_ROLE_ADMIN,                  \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(ORGS_LIST, "GET", "/v1/organizations", WH_SVC_AGREEMENTS, WH_ROLES_ANY, 0)                   \
    X(ORGS_GET, "GET", "/v1/organizations/{id}", WH_SVC_AGREEMENTS, WH_ROLES_ANY, 0)               \
    X(ORGS_PATCH, "PATCH", "/v1/organizations/{id}", WH_SVC_AGREEMENTS,                            \
      WH_ROLE_ADMIN | WH_ROLE_COORDINATOR | WH_ROLE_CONSULTANT, WH_OPF_BODY | WH_OPF_WRITE)        \
    X(AGREEMENTS_CREATE, "POST", "/v1/agreements", WH_SVC_AGREEMENTS, WH_ROLES_AGR_WRITE,          \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(AGREEMENTS_LIST, "GET", "/v1/agreements", WH_SVC_AGREEMENTS, WH_ROLES_AGR_READ, 0)           \
    X(AGREEMENTS_CALENDAR, "GET", "/v1/agreements/calendar.ics", WH_SVC_AGREEMENTS,                \
      WH_ROLES_AGR_READ, 0)                                                                        \
    X(AGREEMENTS_GET, "GET", "/v1/agreements/{id}", WH_SVC_AGREEMENTS, WH_ROLES_AGR_READ, 0)       \
    X(AGREEMENTS_PATCH, "PATCH", "/v1/agreements/{id}", WH_SVC_AGREEMENTS, WH_ROLES_AGR_WRITE,     \
      WH_OPF_BODY | WH_OPF_WRITE)                                                                  \
    X(AGREEMENTS_DELETE, "DELETE", "/v1/agreements/{id}", WH_SVC_AGREEMENTS, WH_ROLES_AGR_WRITE,   \
      WH_OPF_WRITE)                                                                                \
    X(AGREEMENTS_SIGN, "POST", "/v1/agreements/{id}/sign", WH_SVC_AGREEMENTS, WH_ROLES_AGR_WRITE,  \
      WH_OPF_BODY | WH_OPF_WRITE)                                                                  \
    X(AGREEMENTS_TERMINATE, "POST", "/v1/agreements/{id}/terminate", WH_SVC_AGREEMENTS,            \
      WH_ROLES_AGR_WRITE, WH_OPF_BODY | WH_OPF_WRITE)                                              \
    X(AGREEMENTS_RENEW, "POST", "/v1/agreements/{id}/renew", WH_SVC_AGREEMENTS,                    \
      WH_ROLES_AGR_WRITE, WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                              \
    X(AGREEMENTS_HISTORY, "GET", "/v1/agreements/{id}/history", WH_SVC_AGREEMENTS,                 \
      WH_ROLES_AGR_READ, 0)                                                                        \
    X(AGREEMENTS_REMINDERS, "GET", "/v1/agreements/{id}/reminders", WH_SVC_AGREEMENTS,             \
      WH_ROLES_AGR_READ, 0)                                                                        \
    X(ACTIVITIES_CREATE, "POST", "/v1/agreements/{id}/activities", WH_SVC_AGREEMENTS,              \
      WH_ROLES_AGR_WRITE, WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                              \
    X(ACTIVITIES_LIST, "GET", "/v1/agreements/{id}/activities", WH_SVC_AGREEMENTS,                 \
      WH_ROLES_AGR_READ, 0)                                                                        \
    X(ACTIVITIES_GET, "GET", "/v1/activities/{id}", WH_SVC_AGREEMENTS, WH_ROLES_AGR_READ, 0)       \
    X(ACTIVITIES_PATCH, "PATCH", "/v1/activities/{id}", WH_SVC_AGREEMENTS, WH_ROLES_AGR_WRITE,     \
      WH_OPF_BODY | WH_OPF_WRITE)                                                                  \
    X(REPORTS_PREVENTION, "GET", "/v1/reports/prevention", WH_SVC_AGREEMENTS, WH_ROLES_AGR_REPORT, \
      0)                                                                                           \
    X(AGREEMENTS_CALENDAR_PAGE, "GET", NULL, WH_SVC_AGREEMENTS, WH_ROLE_SERVICE, 0)

/* Documentation of the rows above for the OpenAPI document:
 * D(NAME, summary, description, request, successes, media, query) where
 *   request    names the schema of the JSON body (services/gateway/
 *              openapi_schemas.c), or NULL when the operation takes none;
 *   successes  lists "STATUS[:SCHEMA]" separated by spaces, SCHEMA "[X]" for a
 *              page of X ({items, next_cursor}, with limit and cursor), with
 *              "@media" after it when that success has its own media types;
 *   media      lists the media types of the successes, comma-separated, the
 *              JSON ones taking SCHEMA and text ones their own (NULL: JSON);
 *   query      lists the query parameters "name[!][=int|date|a|b|c]"
 *              separated by spaces, ! for required, or NULL.
 * Every row with a path has one; tests/unit/openapi_test.c checks it. */
#define WH_AGR_SCOPE                                                                               \
    " Coordinators and consultants: agreements whose employer or insurer their token "             \
    "covers (others are 404); occupational_health: read-only, same scope; integration: "           \
    "no access."
#define WH_OPS_AGREEMENTS_DOCS(D)                                                                  \
    WH_OP_BACKUP_DOC(D, BACKUPS_AGREEMENTS, "agreements")                                          \
    WH_OP_BACKUP_PRUNE_DOC(D, BACKUPS_PRUNE_AGREEMENTS, "agreements")                              \
    D(ORGS_CREATE, "Create an organisation", "An employer or an insurer. Admin only.",             \
      "OrganizationCreate", "201:Organization", NULL, NULL)                                        \
    D(ORGS_LIST, "List organisations",                                                             \
      "Those the token covers (admin: all); kind= narrows to employers or insurers.", NULL,        \
      "200:[Organization]", NULL, "kind=employer|insurer")                                         \
    D(ORGS_GET, "Read an organisation",                                                            \
      "With an ETag for If-Match; one the token does not cover is 404.", NULL, "200:Organization", \
      NULL, NULL)                                                                                  \
    D(ORGS_PATCH, "Change an organisation (JSON merge patch)",                                     \
      "Admin, and coordinators and consultants of an organisation their token covers.",            \
      "OrganizationPatch", "200:Organization", NULL, NULL)                                         \
    D(AGREEMENTS_CREATE, "Create a cooperation agreement",                                         \
      "Created as draft, or as signed when signed_on is given. The employer must be an "           \
      "organisation of kind employer and the insurer one of kind insurer; a non-admin "            \
      "token must cover one of them." WH_AGR_SCOPE,                                                \
      "AgreementCreate", "201:Agreement", NULL, NULL)                                              \
    D(AGREEMENTS_LIST, "List agreements",                                                          \
      "Filters: employer_id, insurer_id, state (draft|signed|terminated|renewed), phase "          \
      "(upcoming|active|expired, from today's date), focus_area, expiring_within_days "            \
      "(signed agreements whose ends_on lies from today to today + n)." WH_AGR_SCOPE,              \
      NULL, "200:[Agreement]", NULL,                                                               \
      "employer_id insurer_id state=draft|signed|terminated|renewed "                              \
      "phase=upcoming|active|expired focus_area expiring_within_days=int")                         \
    D(AGREEMENTS_CALENDAR, "Deadlines as an iCalendar feed (RFC 5545)",                            \
      "One all-day event per notice deadline and per end date of every signed agreement "          \
      "in scope; ?employer_id= or ?insurer_id= narrow it. UIDs are stable. Without a "             \
      "bearer token, ?feed= with a calendar feed's secret (POST /v1/calendar-feeds) reads "        \
      "it as the feed's token could; an unknown feed is 404." WH_AGR_SCOPE,                        \
      NULL, "200", "text/calendar", "employer_id insurer_id feed")                                 \
    D(AGREEMENTS_GET, "Read an agreement",                                                         \
      "With phase, days_remaining, notice_deadline and conditions_met computed from "              \
      "today's date; ETag for If-Match." WH_AGR_SCOPE,                                             \
      NULL, "200:Agreement", NULL, NULL)                                                           \
    D(AGREEMENTS_PATCH, "Change an agreement (JSON merge patch)",                                  \
      "Parties and term (employer_id, insurer_id, starts_on, ends_on, notice_days) change "        \
      "only while the agreement is a draft, else 409." WH_AGR_SCOPE,                               \
      "AgreementPatch", "200:Agreement", NULL, NULL)                                               \
    D(AGREEMENTS_DELETE, "Delete a draft", "Only drafts; anything else is 409." WH_AGR_SCOPE,      \
      NULL, "204", NULL, NULL)                                                                     \
    D(AGREEMENTS_SIGN, "Sign a draft",                                                             \
      "{signed_on} (default today); 409 unless a draft." WH_AGR_SCOPE, "AgreementSign",            \
      "200:Agreement", NULL, NULL)                                                                 \
    D(AGREEMENTS_TERMINATE, "Terminate a signed agreement",                                        \
      "{effective_on, reason}; stops its reminders; 409 unless signed." WH_AGR_SCOPE,              \
      "AgreementTerminate", "200:Agreement", NULL, NULL)                                           \
    D(AGREEMENTS_RENEW, "Renew a signed agreement",                                                \
      "{ends_on, ...fields to change}: 201 with the successor (renews), the predecessor "          \
      "becomes renewed (renewed_by); 409 unless signed." WH_AGR_SCOPE,                             \
      "AgreementRenew", "201:Agreement", NULL, NULL)                                               \
    D(AGREEMENTS_HISTORY, "Every change of an agreement",                                          \
      "Who (token id and role, or system), when and what (field: {from, to}), oldest "             \
      "first." WH_AGR_SCOPE,                                                                       \
      NULL, "200:[AgreementChange]", NULL, NULL)                                                   \
    D(AGREEMENTS_REMINDERS, "Reminders of an agreement",                                           \
      "kind notice|expired, days_before, due_on, status due|sent|skipped, sent_at; all of "        \
      "them, in one answer." WH_AGR_SCOPE,                                                         \
      NULL, "200:ReminderList", NULL, NULL)                                                        \
    D(ACTIVITIES_CREATE, "Add an activity to an agreement",                                        \
      "A health day, workshop, course, survey, analysis or meeting under the "                     \
      "agreement." WH_AGR_SCOPE,                                                                   \
      "ActivityCreate", "201:Activity", NULL, NULL)                                                \
    D(ACTIVITIES_LIST, "Activities of an agreement", "Filters: status, kind." WH_AGR_SCOPE, NULL,  \
      "200:[Activity]", NULL,                                                                      \
      "status=planned|done|cancelled kind=health_day|workshop|course|leadership_training|"         \
      "survey|sick_leave_analysis|steering_group_meeting|consultation|other")                      \
    D(ACTIVITIES_GET, "Read an activity", "With an ETag for If-Match." WH_AGR_SCOPE, NULL,         \
      "200:Activity", NULL, NULL)                                                                  \
    D(ACTIVITIES_PATCH, "Change an activity (JSON merge patch)",                                   \
      "Any of its fields; null clears focus_area and participants." WH_AGR_SCOPE, "ActivityPatch", \
      "200:Activity", NULL, NULL)                                                                  \
    D(REPORTS_PREVENTION, "The insurer's yearly prevention report",                                \
      "?insurer_id=&year=: agreements active and new, organisations, employees covered, "          \
      "activities done and participants by kind and by focus area. JSON, or CSV with "             \
      "Accept: text/csv. Admin, and consultants for an insurer their token covers.",               \
      NULL, "200:PreventionReport", "application/json,text/csv", "insurer_id! year=int")

#endif
