/* The notifications service's figures for /metrics (see runtime/figures.h). */
#ifndef NOTIFICATIONS_FIGURES_H
#define NOTIFICATIONS_FIGURES_H

#include "figures.h"

void notifications_figures(wh_store_t *store, wh_figures_t *f);

#endif
