/* The screening service's figures for /metrics (see runtime/figures.h). */
#ifndef SCREENING_FIGURES_H
#define SCREENING_FIGURES_H

#include "figures.h"

void screening_figures(wh_store_t *store, wh_figures_t *f);

#endif
