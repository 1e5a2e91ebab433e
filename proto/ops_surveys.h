/* Operations owned by the surveys service (rows of the table in proto/ops.h).
 * The two public rows take no bearer token: a participation code is their
 * only credential, and the gateway rate-limits them per address. Issuing
 * codes is not WH_OPF_CREATE: a replay would need the codes in plain text,
 * which are never stored (the service refuses a repeated key itself). */
#ifndef WH_OPS_SURVEYS_H
#define WH_OPS_SURVEYS_H

#define WH_SURVEY_MANAGERS (WH_ROLE_ADMIN | WH_ROLE_COORDINATOR)

#define WH_OPS_SURVEYS(X)                                                                          \
    X(BACKUPS_SURVEYS, "POST", "/v1/backups/{backup_id}/surveys", WH_SVC_SURVEYS, WH_ROLE_ADMIN,   \
      WH_OPF_WRITE)                                                                                \
    X(BACKUPS_PRUNE_SURVEYS, "POST", "/v1/backups/{backup_id}/surveys/prune", WH_SVC_SURVEYS,      \
      WH_ROLE_ADMIN, WH_OPF_WRITE)                                                                 \
    X(SURVEYS_METRICS, "GET", NULL, WH_SVC_SURVEYS, WH_ROLE_SERVICE, 0)                            \
    WH_OPS_NETWORKS(X)                                                                             \
    WH_OPS_SICKLEAVE(X)                                                                            \
    X(SURVEYS_CREATE, "POST", "/v1/surveys", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,                   \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(SURVEYS_LIST, "GET", "/v1/surveys", WH_SVC_SURVEYS, WH_ROLES_STAFF, 0)                       \
    X(SURVEYS_GET, "GET", "/v1/surveys/{id}", WH_SVC_SURVEYS, WH_ROLES_STAFF, 0)                   \
    X(SURVEYS_PATCH, "PATCH", "/v1/surveys/{id}", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,              \
      WH_OPF_BODY | WH_OPF_WRITE)                                                                  \
    X(SURVEYS_OPEN, "POST", "/v1/surveys/{id}/open", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,           \
      WH_OPF_WRITE)                                                                                \
    X(SURVEYS_CLOSE, "POST", "/v1/surveys/{id}/close", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,         \
      WH_OPF_WRITE)                                                                                \
    X(SURVEYS_CODES, "POST", "/v1/surveys/{id}/codes", WH_SVC_SURVEYS, WH_SURVEY_MANAGERS,         \
      WH_OPF_BODY | WH_OPF_WRITE)                                                                  \
    X(SURVEYS_RESULTS, "GET", "/v1/surveys/{id}/results", WH_SVC_SURVEYS, WH_ROLES_STAFF, 0)       \
    X(SURVEYS_RESULTS_CSV, "GET", "/v1/surveys/{id}/results.csv", WH_SVC_SURVEYS, WH_ROLES_STAFF,  \
      0)                                                                                           \
    X(PUBLIC_SURVEY_GET, "GET", "/v1/public/surveys/{id}", WH_SVC_SURVEYS, WH_ROLE_PUBLIC, 0)      \
    X(PUBLIC_RESPONSES_CREATE, "POST", "/v1/public/surveys/{id}/responses", WH_SVC_SURVEYS,        \
      WH_ROLE_PUBLIC, WH_OPF_BODY | WH_OPF_WRITE)

/* Documentation of the rows above for the OpenAPI document (see
 * WH_OPS_AGREEMENTS_DOCS). */
#define WH_SURVEY_SCOPE                                                                            \
    " Admin, and coordinators and consultants of the survey's organisation (others are 404)."
#define WH_OPS_SURVEYS_DOCS(D)                                                                     \
    WH_OP_BACKUP_DOC(D, BACKUPS_SURVEYS, "surveys")                                                \
    WH_OP_BACKUP_PRUNE_DOC(D, BACKUPS_PRUNE_SURVEYS, "surveys")                                    \
    WH_OPS_NETWORKS_DOCS(D)                                                                        \
    WH_OPS_SICKLEAVE_DOCS(D)                                                                       \
    D(SURVEYS_CREATE, "Create a survey",                                                           \
      "A draft with its languages, dimensions, questions (each on its own scale, optionally "      \
      "reversed) and tree of units. Admin and coordinators.",                                      \
      "SurveyCreate", "201:Survey", NULL, NULL)                                                    \
    D(SURVEYS_LIST, "List surveys",                                                                \
      "Without their definitions; filters org_id and state." WH_SURVEY_SCOPE, NULL,                \
      "200:[SurveySummary]", NULL, "org_id state=draft|open|closed")                               \
    D(SURVEYS_GET, "Read a survey",                                                                \
      "With its definition and how many codes were issued, and how, per unit; ETag for "           \
      "If-Match." WH_SURVEY_SCOPE,                                                                 \
      NULL, "200:Survey", NULL, NULL)                                                              \
    D(SURVEYS_PATCH, "Change a survey (JSON merge patch)",                                         \
      "Languages, dimensions, questions and units are frozen once the survey is open (409). "      \
      "Admin and coordinators.",                                                                   \
      "SurveyPatch", "200:Survey", NULL, NULL)                                                     \
    D(SURVEYS_OPEN, "Open a survey",                                                               \
      "From draft; participation codes work from now on. No body, or {}. Admin and "               \
      "coordinators.",                                                                             \
      NULL, "200:Survey", NULL, NULL)                                                              \
    D(SURVEYS_CLOSE, "Close a survey",                                                             \
      "From open; results are available from now on. No body, or {}. Admin and coordinators.",     \
      NULL, "200:Survey", NULL, NULL)                                                              \
    D(SURVEYS_CODES, "Issue participation codes",                                                  \
      "One-time codes; the service never learns who received which. delivery clear (the "          \
      "default) answers them as JSON, print as a printable HTML sheet with a QR code per slip "    \
      "(Accept is not needed), email mails one to each recipient and answers counts only (202). "  \
      "A token that received codes in clear or in print may not read the survey's results. "       \
      "Admin and coordinators.",                                                                   \
      "CodesRequest", "201:CodesIssued 202:CodesMailed@application/json",                          \
      "application/json,text/html", NULL)                                                          \
    D(SURVEYS_RESULTS, "Results of a closed survey",                                               \
      "Per unit and dimension: n, mean on 0-100 (reverse items flipped), sd, distribution and "    \
      "band; cells under the anonymity threshold, and cells from which one could be derived, "     \
      "are suppressed with null figures. compare_to= adds the change against an earlier wave "     \
      "of the same organisation. 409 before the survey closed; 403 for a token that received "     \
      "its codes in clear. sick_leave_period= (YYYY, YYYY-MM or YYYY-Qn) puts each unit's "        \
      "sick-leave figures beside it, as GET /v1/sick-leave shows them." WH_SURVEY_SCOPE,           \
      NULL, "200:SurveyResults", NULL, "by=unit compare_to sick_leave_period")                     \
    D(SURVEYS_RESULTS_CSV, "Results as CSV",                                                       \
      "The same figures as /results, one row per unit and dimension, for spreadsheets; text "      \
      "fields that a spreadsheet would take for a formula are prefixed with '." WH_SURVEY_SCOPE,   \
      NULL, "200", "text/csv", "compare_to")                                                       \
    D(PUBLIC_SURVEY_GET, "The questionnaire for a participation code",                             \
      "No bearer token: a valid unused code is the credential (403 otherwise, 409 when the "       \
      "survey is not open). The questions in lang (default: the survey's first language). "        \
      "Rate-limited per address.",                                                                 \
      NULL, "200:PublicSurvey", NULL, "code! lang=de|en|sv")                                       \
    D(PUBLIC_RESPONSES_CREATE, "Submit a response",                                                \
      "No bearer token: the code is burned in the same transaction; no response id is "            \
      "returned. Used or unknown code 403; 409 survey-not-open before it opens, survey-closed "    \
      "after. Rate-limited per address.",                                                          \
      "ResponseCreate", "201:ResponseRecorded", NULL, NULL)

/* Networks of organisations and their benchmarks (services/surveys/networks.h,
 * benchmark.h). Visibility is by membership: admins see every network,
 * coordinators and consultants those an organisation of theirs belongs to
 * (others are 404). Admins form networks and change members; admins and the
 * members' coordinators add templates and publish benchmarks. */
#define WH_NETWORK_MANAGERS (WH_ROLE_ADMIN | WH_ROLE_COORDINATOR)
#define WH_OPS_NETWORKS(X)                                                                         \
    X(NETWORKS_CREATE, "POST", "/v1/networks", WH_SVC_SURVEYS, WH_ROLE_ADMIN,                      \
      WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                                                  \
    X(NETWORKS_LIST, "GET", "/v1/networks", WH_SVC_SURVEYS, WH_ROLES_STAFF, 0)                     \
    X(NETWORKS_GET, "GET", "/v1/networks/{id}", WH_SVC_SURVEYS, WH_ROLES_STAFF, 0)                 \
    X(NETWORK_MEMBERS_ADD, "POST", "/v1/networks/{id}/members/{org_id}", WH_SVC_SURVEYS,           \
      WH_ROLE_ADMIN, WH_OPF_WRITE)                                                                 \
    X(NETWORK_MEMBERS_REMOVE, "DELETE", "/v1/networks/{id}/members/{org_id}", WH_SVC_SURVEYS,      \
      WH_ROLE_ADMIN, WH_OPF_WRITE)                                                                 \
    X(NETWORK_TEMPLATES_CREATE, "POST", "/v1/networks/{id}/templates", WH_SVC_SURVEYS,             \
      WH_NETWORK_MANAGERS, WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                             \
    X(NETWORK_TEMPLATES_LIST, "GET", "/v1/networks/{id}/templates", WH_SVC_SURVEYS,                \
      WH_ROLES_STAFF, 0)                                                                           \
    X(NETWORK_BENCHMARKS_PUBLISH, "POST", "/v1/networks/{id}/benchmarks", WH_SVC_SURVEYS,          \
      WH_NETWORK_MANAGERS, WH_OPF_CREATE | WH_OPF_BODY | WH_OPF_WRITE)                             \
    X(NETWORK_BENCHMARKS_GET, "GET", "/v1/networks/{id}/benchmarks/{year}", WH_SVC_SURVEYS,        \
      WH_ROLES_STAFF, 0)
#define WH_NETWORK_SCOPE                                                                           \
    " Admin, and coordinators and consultants of a member organisation (others are 404)."
#define WH_OPS_NETWORKS_DOCS(D)                                                                    \
    D(NETWORKS_CREATE, "Form a network of organisations",                                          \
      "Members benchmark their surveys built from the network's templates. Admin only.",           \
      "NetworkCreate", "201:Network", NULL, NULL)                                                  \
    D(NETWORKS_LIST, "List networks", "With their members." WH_NETWORK_SCOPE, NULL,                \
      "200:[Network]", NULL, NULL)                                                                 \
    D(NETWORKS_GET, "Read a network", "With its members." WH_NETWORK_SCOPE, NULL, "200:Network",   \
      NULL, NULL)                                                                                  \
    D(NETWORK_MEMBERS_ADD, "Add a member organisation",                                            \
      "A member already is one: unchanged. Benchmarks already published keep the members they "    \
      "were published with. No body, or {}. Admin only.",                                          \
      NULL, "200:Network", NULL, NULL)                                                             \
    D(NETWORK_MEMBERS_REMOVE, "Remove a member organisation",                                      \
      "Published benchmarks do not change. Admin only.", NULL, "204", NULL, NULL)                  \
    D(NETWORK_TEMPLATES_CREATE, "Add a survey template",                                           \
      "Languages, dimensions and questions as in POST /v1/surveys; members create surveys from "   \
      "it with template_id, which keep them unchanged. Admin and members' coordinators.",          \
      "NetworkTemplateCreate", "201:NetworkTemplate", NULL, NULL)                                  \
    D(NETWORK_TEMPLATES_LIST, "List the network's templates",                                      \
      "With their definitions." WH_NETWORK_SCOPE, NULL, "200:[NetworkTemplate]", NULL, NULL)       \
    D(NETWORK_BENCHMARKS_PUBLISH, "Publish a benchmark",                                           \
      "Once per template and year, after the year has ended (409 otherwise), from each member's "  \
      "last survey from the template closed that year; stored as computed and never changed. "     \
      "Admin and members' coordinators.",                                                          \
      "BenchmarkPublish", "201:Benchmark", NULL, NULL)                                             \
    D(NETWORK_BENCHMARKS_GET, "Read a benchmark",                                                  \
      "Per dimension shown (at least 5 organisations over their anonymity threshold): "            \
      "organisations, mean and quartiles of micro-aggregated organisation means (null with "       \
      "fewer than 6), and the caller's own organisations' means and quarters." WH_NETWORK_SCOPE,   \
      NULL, "200:Benchmark", NULL, "template_id!")

/* The insurer's sick-leave figures (services/surveys/sickleave.h): imported
 * by the insurer's consultants as text/csv, read by the employer beside its
 * survey results. */
#define WH_OPS_SICKLEAVE(X)                                                                        \
    X(SICKLEAVE_IMPORT, "POST", "/v1/sick-leave/imports", WH_SVC_SURVEYS,                          \
      WH_ROLE_ADMIN | WH_ROLE_CONSULTANT, WH_OPF_CREATE | WH_OPF_CSV | WH_OPF_WRITE)               \
    X(SICKLEAVE_GET, "GET", "/v1/sick-leave", WH_SVC_SURVEYS, WH_ROLES_STAFF, 0)
#define WH_OPS_SICKLEAVE_DOCS(D)                                                                   \
    D(SICKLEAVE_IMPORT, "Import the insurer's sick-leave figures",                                 \
      "text/csv with the header org_id,unit,period,insured,cases,days,icd_chapter and optionally " \
      "sector (period YYYY, YYYY-MM or YYYY-Qn, ended; icd_chapter I-XXII, or empty for the "      \
      "unit's total, which every unit needs). At most 100000 rows, 16 MiB, 500 units per "         \
      "organisation and period. All or nothing: any invalid cell makes it 422 with a pointer "     \
      "per field (/rows/17/days, rows counted from 0 after the header); figures overlapping a "    \
      "period already imported for the organisation are 409. Admin, and consultants of the "       \
      "insurer (others are 404).",                                                                 \
      "SickLeaveCsv", "201:SickLeaveImport", NULL, "insurer_id!")                                  \
    D(SICKLEAVE_GET, "Sick-leave figures of an organisation",                                      \
      "Per unit (by=unit, the organisation first with unit null) or per ICD-10 chapter "           \
      "(by=icd_chapter): insured, cases, days and rate = days / (insured x calendar days) x 100. " \
      "Groups under 50 insured, and groups from which one could be derived, are suppressed with "  \
      "null figures. sector: the insurer's rate over the employers of the same sector in the "     \
      "same import, null under 10. Admin, the organisation's coordinators and consultants, and "   \
      "the importing insurer's consultants (others are 404).",                                     \
      NULL, "200:SickLeave", NULL, "org_id! period! by=unit|icd_chapter")

#endif
