/* One-time participation codes. A coordinator asks for codes (optionally
 * for one unit); the service stores only the SHA-256 of survey id and code,
 * so it never knows which code went to whom, and a code is deleted when used.
 *
 * How the codes reach people (`delivery`):
 * - "email": one code per recipient address, handed in memory to the
 *   notifications service, which mails each straight to its address
 *   (handoff.h). Nobody sees these codes; the reply holds counts only, and
 *   no address is written to any store or log.
 * - "clear" (the default): the codes in the reply; "print": an HTML sheet of
 *   slips, one code and its QR code (the participation link) per slip.
 *   Whoever receives codes in clear could answer with some of them and
 *   subtract those answers from the results, so the token that asked for
 *   them is recorded and may not read this survey's results (four-eyes).
 *
 * The code itself is code.h. */
#ifndef SURVEYS_CODES_H
#define SURVEYS_CODES_H

#include <stdbool.h>

#include "code.h"
#include "dispatch.h"
#include "valid.h"

#define CODES_MAX_PER_REQUEST 5000
#define CODES_MAX_PER_SURVEY  200000
#define CODES_MAX_RECIPIENTS  10000        /* addresses in one request with delivery "email" */
#define CODES_MAX_ADDRESS     WH_MAX_EMAIL /* octets of one address (RFC 5321) */
#define CODES_MAX_PRINT       100          /* slips on one printed sheet (13 A4 pages) */
/* A sheet is one string in the reply, which the wire takes up to
 * WH_MSG_MAX_STR; a very long WH_PUBLIC_URL makes the QR codes larger, and a
 * sheet beyond this is refused (507) rather than sent. */
#define CODES_MAX_SHEET_BYTES (WH_MSG_MAX_STR - 64 * 1024)

enum code_delivery { CODES_CLEAR, CODES_PRINT, CODES_EMAIL };
extern const char *const code_deliveries[]; /* "clear", "print", "email", NULL */

/* True when the token received codes of this survey in clear or in print. */
bool codes_issuer(wh_store_t *store, const char *survey_id, const char *token_id);

void codes_create(wh_ctx_t *c);

#endif
