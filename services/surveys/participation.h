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
#include "service.h"

#define RESPONSE_TOKEN_BYTES   16          /* random primary key of a stored response */
#define SURVEY_WAL_TRUNCATE_MS (60 * 1000) /* about a minute between WAL truncations */

void public_survey_get(wh_ctx_t *c);
void public_response_create(wh_ctx_t *c);

/* Registers the truncation of the write-ahead log as a job of the service,
 * every SURVEY_WAL_TRUNCATE_MS: its frames are written in commit order, so
 * an old WAL file would keep the order in which codes were burned and
 * responses stored after the database no longer does. */
int participation_every(wh_service_t *s);

#endif
