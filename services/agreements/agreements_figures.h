/* The agreements service's figures for /metrics (see runtime/figures.h). */
#ifndef AGREEMENTS_FIGURES_H
#define AGREEMENTS_FIGURES_H

#include "figures.h"

void agreements_figures(wh_store_t *store, wh_figures_t *f);

#endif
