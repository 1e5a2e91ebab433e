/* Handing e-mailed codes to the notifications service (internal operation
 * CODES_MAIL) without writing an address anywhere.
 *
 * A request with delivery "email" builds a batch in memory: each
 * recipient's address beside the code made for it. The batch is queued when
 * the handler succeeds and sent from the loop once the request's
 * transaction has committed, in chunks of HANDOFF_CHUNK; a chunk whose first
 * code is not in the store (the transaction was rolled back, or the survey
 * closed meanwhile) is dropped. Notifications keeps the chunk in memory only
 * until each mail is sent. A chunk that cannot be handed over after
 * HANDOFF_MAX_ATTEMPTS tries (no instance, no mail server configured, its
 * queue full) is withdrawn: its codes are deleted and the survey's counts
 * lowered, so that no code exists that nobody received. Every address and
 * code is overwritten in memory before it is freed.
 *
 * What is lost on a crash between the reply and the handoff is codes that
 * were never mailed; they are deleted with every unused code when the survey
 * closes. Keeping them on disk to survive a crash would mean storing the
 * addresses, which this design refuses. */
#ifndef SURVEYS_HANDOFF_H
#define SURVEYS_HANDOFF_H

#include "service.h"

#define HANDOFF_CHUNK        500  /* codes per CODES_MAIL call (well under the message limit) */
#define HANDOFF_MAX_ATTEMPTS 6    /* calls per chunk before it is withdrawn */
#define HANDOFF_RETRY_MS     1000 /* first retry; doubles each time (times WH_RETRY_SCALE) */
#define HANDOFF_MAX_INFLIGHT 4    /* chunks awaiting notifications' answer */
#define HANDOFF_MAX_QUEUED   (4 * 10000) /* codes held in memory; beyond it a request is 503 */

typedef struct handoff handoff_t;
typedef struct handoff_batch handoff_batch_t;

int handoff_start(wh_service_t *s, handoff_t **out);
void handoff_stop(handoff_t **h_p);

/* Room for n more codes in memory (a request beyond it is refused). */
bool handoff_room(const handoff_t *h, size_t n);
/* A batch for one request; the strings are copied. NULL on no memory. */
handoff_batch_t *handoff_batch_new(const char *survey_id, const char *org_id, const char *title,
                                   const char *languages_csv, const char *unit, size_t cap);
/* Adds one recipient and its code (formatted) with the code's hash. */
void handoff_batch_add(handoff_batch_t *b, const char *addr, size_t addr_len, const char *code,
                       const char *hash);
/* Queues the batch to be sent after the commit (takes it). */
void handoff_submit(handoff_t *h, handoff_batch_t *b);
/* Wipes and frees a batch that is not submitted. */
void handoff_batch_free(handoff_batch_t *b);

#endif
