/* The surveys service's figures for /metrics (see runtime/figures.h). */
#ifndef SURVEYS_FIGURES_H
#define SURVEYS_FIGURES_H

#include "figures.h"

void surveys_figures(wh_store_t *store, wh_figures_t *f);

#endif
