#include "events.h"

#include <string.h>

const wh_event_type_t wh_event_types[] = {
    {"organization.created",
     "agreements",
     0,
     {{"organization_id", WH_FIELD_STR, 1}, {"name", WH_FIELD_STR, 1}, {"kind", WH_FIELD_STR, 1}}},
    {"organization.updated",
     "agreements",
     0,
     {{"organization_id", WH_FIELD_STR, 1}, {"name", WH_FIELD_STR, 1}, {"kind", WH_FIELD_STR, 1}}},
    {"agreement.expiring",
     "agreements",
     1,
     {{"agreement_id", WH_FIELD_STR, 1},
      {"title", WH_FIELD_STR, 1},
      {"employer_id", WH_FIELD_STR, 1},
      {"insurer_id", WH_FIELD_STR, 1},
      {"ends_on", WH_FIELD_DATE, 1},
      {"notice_deadline", WH_FIELD_DATE, 1},
      {"days_before", WH_FIELD_INT, 1},
      {"auto_renew", WH_FIELD_BOOL, 1},
      {"contacts", WH_FIELD_CONTACTS, 1},
      {"entered_by_role", WH_FIELD_STR, 0},
      {"entered_by_org", WH_FIELD_STR, 0}}},
    {"agreement.expired",
     "agreements",
     1,
     {{"agreement_id", WH_FIELD_STR, 1},
      {"title", WH_FIELD_STR, 1},
      {"employer_id", WH_FIELD_STR, 1},
      {"insurer_id", WH_FIELD_STR, 1},
      {"ends_on", WH_FIELD_DATE, 1},
      {"contacts", WH_FIELD_CONTACTS, 1},
      {"entered_by_role", WH_FIELD_STR, 0},
      {"entered_by_org", WH_FIELD_STR, 0}}},
    {"agreement.renewed",
     "agreements",
     0,
     {{"agreement_id", WH_FIELD_STR, 1},
      {"successor_id", WH_FIELD_STR, 1},
      {"title", WH_FIELD_STR, 1},
      {"ends_on", WH_FIELD_DATE, 1}}},
    {"alert.created",
     "screening",
     0,
     {{"alert_id", WH_FIELD_STR, 1}, {"urgent", WH_FIELD_BOOL, 1}}},
    {"alert.escalated",
     "screening",
     0,
     {{"alert_id", WH_FIELD_STR, 1}, {"urgent", WH_FIELD_BOOL, 1}}},
    {"survey.opened", "surveys", 0, {{"survey_id", WH_FIELD_STR, 1}, {"title", WH_FIELD_STR, 1}}},
    {"survey.closed", "surveys", 0, {{"survey_id", WH_FIELD_STR, 1}, {"title", WH_FIELD_STR, 1}}},
    {"network.benchmark_published",
     "surveys",
     0,
     {{"network_id", WH_FIELD_STR, 1},
      {"template_id", WH_FIELD_STR, 1},
      {"year", WH_FIELD_INT, 1}}},
};
const int wh_n_event_types = sizeof wh_event_types / sizeof wh_event_types[0];

const wh_event_type_t *wh_event_type_find(const char *type, unsigned long n)
{
    for (int i = 0; i < wh_n_event_types; i++)
        if (strlen(wh_event_types[i].type) == n && memcmp(wh_event_types[i].type, type, n) == 0)
            return &wh_event_types[i];
    return NULL;
}
