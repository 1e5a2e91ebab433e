/* One-time participation codes. A coordinator asks for a number of codes
 * (optionally for one unit) and hands them out, on paper or by mail merge;
 * the service stores only the SHA-256 of survey id and code, so it never
 * knows which code went to whom, and a code is deleted when used.
 *
 * A code is CODE_CHARS characters of Crockford base32 (CODE_BITS random bits
 * from the kernel's CSPRNG), shown in groups of five: with the public
 * endpoints rate-limited per address, guessing one is hopeless. Input is
 * normalised the Crockford way (case, I/L as 1, O as 0, dashes and spaces
 * ignored). */
#ifndef SURVEYS_CODES_H
#define SURVEYS_CODES_H

#include <stdbool.h>

#include "dispatch.h"

#define CODE_CHARS            20 /* 100 bits */
#define CODE_BITS             (CODE_CHARS * 5)
#define CODE_GROUP            5
#define CODE_SHOWN_LEN        (CODE_CHARS + CODE_CHARS / CODE_GROUP - 1) /* with dashes */
#define CODE_MAX_INPUT        64
#define CODES_MAX_PER_REQUEST 5000
#define CODES_MAX_PER_SURVEY  200000

/* A new code, formatted with dashes, NUL-terminated. */
int code_new(char out[CODE_SHOWN_LEN + 1]);
/* The canonical CODE_CHARS characters of a code as typed; false if it
 * cannot be one. */
bool code_normalize(wh_str_t in, char out[CODE_CHARS + 1]);
/* SHA-256 hex of "<survey id>:<canonical code>". */
void code_hash(const char *survey_id, const char canonical[CODE_CHARS + 1], char out[65]);

void codes_create(wh_ctx_t *c);

#endif
