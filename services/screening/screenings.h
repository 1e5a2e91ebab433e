/* Screening results: pushed by integrations and occupational health, scored
 * here from the answers (instruments.h), stored under the integration's
 * pseudonym, and read back only by occupational health with every read
 * audited.
 *
 * A push is idempotent by (org_id, external_id): a repeat with the same
 * content answers the first result with 200 and stores nothing; the same
 * external_id with other content is 409. The Idempotency-Key header works
 * as everywhere (dispatch.h). In a batch every item is validated and
 * checked against its external_id before anything of it is written, so a
 * bad item (422, 404, 409) leaves nothing behind and does not reject the
 * others; a failing store fails the whole batch (500), which the request's
 * savepoint undoes. Items get no savepoint of their own: each would copy
 * every page the item touches into a statement journal, which cost more
 * than a third of the batch's time. */
#ifndef SCREENING_SCREENINGS_H
#define SCREENING_SCREENINGS_H

#include <stdbool.h>

#include "dispatch.h"

#define SCR_BATCH_MAX        1000 /* items in one batch */
#define SCR_MAX_SUBJECT      128  /* characters of a pseudonym */
#define SCR_MAX_EXTERNAL_ID  128
#define SCR_MAX_UNIT         100
#define SCR_MAX_ANSWERS      64       /* array length read before item checks */
#define SCR_TAKEN_AT_SKEW_MS 600000LL /* taken_at may be this far ahead of our clock */

/* A pseudonym is letters, digits and . _ - : + ~ (no spaces, so no names);
 * anything with an @ looks like an e-mail address and is refused. On false,
 * *why says what is wrong, without repeating the value. */
bool scr_subject_ok(wh_str_t s, const char **why);
/* "de", "en", "sv", "pt-BR": two or three lower-case letters, optionally a
 * hyphen and a region or script tag. */
bool scr_language_ok(wh_str_t s);

void screenings_create(wh_ctx_t *c);
void screenings_batch(wh_ctx_t *c);
void screenings_get(wh_ctx_t *c);
void screenings_list(wh_ctx_t *c);

#endif
