/* Public participation: the questionnaire and the response, without a
 * bearer token, against a valid unused code (WH_ROLE_PUBLIC operations; the
 * gateway rate-limits them per address, so that no address ever reaches
 * this service).
 *
 * A response burns its code in the same transaction that stores it: the
 * code's row is deleted with "DELETE ... WHERE hash = ?" and the response
 * is stored only if that deleted exactly one row, so two requests with one
 * code, even at the same moment and on two instances, store one response
 * (SQLite serialises the writing transactions). A response that fails
 * validation (422) is rolled back with its savepoint and leaves the code
 * unused. Nothing returned identifies the response. */
#ifndef SURVEYS_PARTICIPATION_H
#define SURVEYS_PARTICIPATION_H

#include "dispatch.h"

#define RESPONSE_TOKEN_BYTES 16 /* random primary key of a stored response */

void public_survey_get(wh_ctx_t *c);
void public_response_create(wh_ctx_t *c);

#endif
