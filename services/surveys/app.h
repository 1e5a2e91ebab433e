/* What handlers need from the running service (wh_ctx_t.app): the base of
 * participation links and the handoff of e-mailed codes. NULL app in unit
 * tests that run handlers without a service. */
#ifndef SURVEYS_APP_H
#define SURVEYS_APP_H

#include "handoff.h"

typedef struct surveys_app {
    char base_url[512]; /* WH_PUBLIC_URL without a trailing slash */
    handoff_t *handoff;
} surveys_app_t;

#endif
