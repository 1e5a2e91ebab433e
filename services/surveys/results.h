/* Survey results: only aggregates, only for closed surveys, only over at
 * least the anonymity threshold of respondents (docs/DOMAIN.md, "Anonymity").
 *
 * One pass over the survey's responses scores every respondent per
 * dimension (scoring.h) into the cell of the unit they chose; cells are
 * then summed up the unit tree, so a unit's figures cover its whole
 * subtree, and the organisation as a whole is the root. Suppression
 * (suppress.h) runs first on the response counts and then on each
 * dimension, starting from the units whose counts are suppressed, so that
 * no table shows a cell another table hides. Response rates (responses /
 * codes issued in the subtree, at most 1) are shown exactly where counts
 * are.
 *
 * Hot spots are the worst shown cells (unit x dimension, the organisation
 * included) whose band is red or amber, worst first; resources the best
 * shown cells whose band is green, best first; at most RESULTS_MAX_HIGHLIGHTS
 * each. ?compare_to= names an earlier closed survey of the same organisation;
 * each cell then carries the change of its mean, where both waves show the
 * cell (units and dimensions matched by key).
 *
 * Results exist only once a survey is closed: live results would let a
 * reader subtract the figures before and after one person's response. */
#ifndef SURVEYS_RESULTS_H
#define SURVEYS_RESULTS_H

#include "dispatch.h"

#define RESULTS_MAX_HIGHLIGHTS 10

void results_get(wh_ctx_t *c);
void results_csv(wh_ctx_t *c);

#endif
