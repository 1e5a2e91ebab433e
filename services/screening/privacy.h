/* What protects the health data besides the role checks at the gateway:
 * tenant scoping, the audit log of every read of individual data, erasure
 * of a pseudonym and the retention purge.
 *
 * The audit log records who read which results or alerts (by id), never
 * the subject: erasing a subject must leave the store free of it, while the
 * trail of reads stays. Erasure and purge overwrite what they delete
 * (secure_delete, set when the service starts) and the service truncates
 * the write-ahead log afterwards, so that no copy survives in free pages.
 * Replies kept for an Idempotency-Key go with the results they carry (a
 * whole batch's reply with any one of them), so a repeat of such a request
 * after the erasure runs again instead of being answered from the record. */
#ifndef SCREENING_PRIVACY_H
#define SCREENING_PRIVACY_H

#include <stdbool.h>
#include <stdint.h>

#include "dispatch.h"
#include "list.h"
#include "service.h"

#define SCR_RETENTION_TICK_MS (3600 * 1000) /* how often old results are purged */
#define SCR_WAL_TICK_MS       1000          /* how soon the log is truncated after a deletion */

/* True when org is a well-formed id the principal covers. */
bool scr_org_ok(const wh_request_t *req, wh_str_t org);
/* The org_id query parameter, or the principal's only organisation when it
 * is absent; reports 422 or 404 and returns false otherwise. Parameters
 * already reported bad are answered first (422), so that a handler checks
 * its query and then calls this. */
bool scr_org_param(wh_ctx_t *c, wh_str_t *org);

/* Appends one audit row in the request's transaction: action on the
 * resources whose ids are in ids (comma-separated), count of them. */
int audit_write(wh_ctx_t *c, wh_str_t org, const char *action, const char *ids, int64_t count);
/* Ends a list whose ids were kept (wh_list_keep_ids): audits the read of
 * the rows on the page, then answers the page, or a 500 (and no rows) if
 * the audit cannot be written. */
void audit_list_finish(wh_ctx_t *c, wh_list_t *l, wh_str_t org, const char *action);

/* Deletes results of organisations with a retention period that are older
 * than it, the idempotency replies that carry them, and closed alerts left
 * without results. org NULL for every organisation. Returns the number of
 * results deleted, or a negative WH_E* code. */
int64_t retention_purge(wh_store_t *store, const char *org, int64_t now_ms);

/* The service's state that handlers reach through wh_ctx_t.app. */
typedef struct scr_app {
    /* Set by erasure and purge: the service truncates the write-ahead log
     * after the commit, since deleted rows live on in its older frames. */
    bool wal_dirty;
} scr_app_t;

/* Registers the jobs of the privacy rules: the retention purge now and
 * every SCR_RETENTION_TICK_MS, and the truncation of the write-ahead log
 * after erasures and purges (app->wal_dirty), looked at every
 * SCR_WAL_TICK_MS. */
int privacy_every(wh_service_t *s, scr_app_t *app);

/* DELETE /v1/subjects/{subject}?org_id= */
void subject_erase(wh_ctx_t *c);
/* GET /v1/screening/audit?org_id= */
void audit_list(wh_ctx_t *c);

#endif
