/* The surveys service: anonymous employee surveys with one-time codes and
 * results per org unit under the anonymity rules. */
#include <stdio.h>
#include <string.h>

#include "surveys_figures.h"
#include "app.h"
#include "benchmark.h"
#include "codes.h"
#include "networks.h"
#include "outbox.h"
#include "participation.h"
#include "results.h"
#include "schema.h"
#include "sickleave.h"
#include "service.h"
#include "survey.h"

static const wh_handler_t handlers[] = {
    {WH_OP_SURVEYS_CREATE, survey_create},
    {WH_OP_SURVEYS_LIST, survey_list},
    {WH_OP_SURVEYS_GET, survey_get},
    {WH_OP_SURVEYS_PATCH, survey_patch},
    {WH_OP_SURVEYS_OPEN, survey_open},
    {WH_OP_SURVEYS_CLOSE, survey_close_op},
    {WH_OP_SURVEYS_CODES, codes_create},
    {WH_OP_SURVEYS_RESULTS, results_get},
    {WH_OP_SURVEYS_RESULTS_CSV, results_csv},
    {WH_OP_PUBLIC_SURVEY_GET, public_survey_get},
    {WH_OP_PUBLIC_RESPONSES_CREATE, public_response_create},
    {WH_OP_NETWORKS_CREATE, network_create},
    {WH_OP_NETWORKS_LIST, network_list},
    {WH_OP_NETWORKS_GET, network_get},
    {WH_OP_NETWORK_MEMBERS_ADD, network_member_add},
    {WH_OP_NETWORK_MEMBERS_REMOVE, network_member_remove},
    {WH_OP_NETWORK_TEMPLATES_CREATE, network_template_create},
    {WH_OP_NETWORK_TEMPLATES_LIST, network_template_list},
    {WH_OP_NETWORK_BENCHMARKS_PUBLISH, benchmark_publish},
    {WH_OP_NETWORK_BENCHMARKS_GET, benchmark_get},
    {WH_OP_SICKLEAVE_IMPORT, sickleave_import},
    {WH_OP_SICKLEAVE_GET, sickleave_get},
};

static wh_outbox_t *outbox;
static surveys_app_t app;

static int start(wh_service_t *s)
{
    /* Deleted codes are overwritten, not just unlinked from the b-tree. */
    if (wh_store_exec(wh_service_store(s), "PRAGMA secure_delete=ON;") != 0)
        return 1;
    const wh_config_t *cfg = wh_service_config(s);
    if (cfg->public_url)
        snprintf(app.base_url, sizeof app.base_url, "%s", cfg->public_url);
    else
        snprintf(app.base_url, sizeof app.base_url, "http://%s", cfg->http_addr);
    size_t n = strlen(app.base_url);
    while (n > 0 && app.base_url[n - 1] == '/')
        app.base_url[--n] = '\0';
    if (handoff_start(s, &app.handoff) != 0 || survey_every(s) != 0 || participation_every(s) != 0)
        return 1;
    return wh_outbox_start(s, WH_OP_EVENTS_INGEST, &outbox);
}

static void stop(wh_service_t *s)
{
    wh_outbox_stop(&outbox);
    handoff_stop(&app.handoff);
}

int main(void)
{
    const wh_service_def_t def = {
        .svc = WH_SVC_SURVEYS,
        .migrations = surveys_migrations,
        .n_migrations = surveys_n_migrations,
        .handlers = handlers,
        .n_handlers = sizeof handlers / sizeof handlers[0],
        .start = start,
        .stop = stop,
        .figures = surveys_figures,
        .app = &app,
    };
    return wh_service_main(&def);
}
