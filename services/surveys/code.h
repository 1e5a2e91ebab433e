/* A participation code, the value itself (codes.h issues them): CODE_CHARS
 * characters of Crockford base32 (CODE_BITS random bits from the kernel's
 * CSPRNG), shown in groups of five: with the public endpoints rate-limited
 * per address, guessing one is hopeless. Input is normalised the Crockford
 * way (case, I/L as 1, O as 0, dashes and spaces ignored). */
#ifndef SURVEYS_CODE_H
#define SURVEYS_CODE_H

#include <stdbool.h>

#include "msg.h"

#define CODE_CHARS     20 /* 100 bits */
#define CODE_BITS      (CODE_CHARS * 5)
#define CODE_GROUP     5
#define CODE_SHOWN_LEN (CODE_CHARS + CODE_CHARS / CODE_GROUP - 1) /* with dashes */
#define CODE_MAX_INPUT 64

/* A new code, formatted with dashes, NUL-terminated. */
int code_new(char out[CODE_SHOWN_LEN + 1]);
/* The canonical CODE_CHARS characters of a code as typed; false if it
 * cannot be one. */
bool code_normalize(wh_str_t in, char out[CODE_CHARS + 1]);
/* SHA-256 hex of "<survey id>:<canonical code>". */
void code_hash(const char *survey_id, const char canonical[CODE_CHARS + 1], char out[65]);

#endif
