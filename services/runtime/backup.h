/* Online backups of a service's store, taken by the owning service while it
 * keeps serving writes.
 *
 * A separate read-only connection runs VACUUM INTO on a worker thread: it
 * reads one snapshot (WAL readers never block the service's writer, nor it
 * them) and writes a compact copy to a temporary file. The copy's writes go
 * through a thin VFS that flushes them to disk in slices of
 * WH_BACKUP_SLICE_MS and pauses between slices, so that the disk is never
 * flooded with dirty pages and the service's own fsyncs wait a moment at
 * most. The copy is then fsynced, hashed and renamed into place beside a
 * manifest (JSON):
 *
 *   <WH_BACKUP_DIR>/<backup_id>/<service>.db
 *   <WH_BACKUP_DIR>/<backup_id>/<service>.json
 *     {"service", "schema_version", "bytes", "sha256", "created_at"}
 *
 * WH_BACKUP_DIR defaults to <WH_DATA_DIR>/backups. Once every store of a
 * backup is copied, workhealth-backup (with WH_BACKUP_KEEP = N) has each
 * service remove its copies in the other backups of that directory but the
 * newest N (by the manifests' created_at), and each backup directory left
 * empty: a backup that failed for one store never leads to removals. */
#define WH_BACKUP_KEEP_MAX 100000 /* copies of a store a prune may keep */
#ifndef WH_BACKUP_H
#define WH_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "dispatch.h"
#include "envelope.h"
#include "ops.h"
#include "reply.h"

#define WH_BACKUP_MAX_ID     64        /* bytes of a backup id */
#define WH_BACKUP_SLICE_MS   50        /* writes between two flushes of the copy */
#define WH_BACKUP_PAUSE_MS   10        /* rest after each flushed slice */
#define WH_BACKUP_TIMEOUT_MS 3600000LL /* the gateway's deadline for one store */

typedef struct wh_backup_info {
    int schema_version; /* the store's PRAGMA user_version */
    int64_t bytes;      /* size of the copy */
    char sha256[65];    /* of the copy, hex */
    int64_t created_at_ms;
    double seconds; /* how long it took */
} wh_backup_info_t;

/* A backup id: 1 to WH_BACKUP_MAX_ID bytes of [A-Za-z0-9._-], starting with
 * a letter or digit (so never "." or ".." and never a path). */
bool wh_backup_id_valid(const char *p, size_t n);

/* The directory of backup id: WH_BACKUP_DIR (or <data_dir>/backups) + "/" +
 * id. WH_ELIMIT if it does not fit. */
int wh_backup_dir(const wh_config_t *cfg, const char *id, char out[WH_PATH_MAX]);

/* Copies the store at src_path into <dir>/<service>.db with its manifest,
 * creating dir (0700) when absent; an existing copy of that service in dir
 * is WH_ECONFLICT. Blocks: run it off the service's loop. On failure a
 * reason (without data) is in err. */
int wh_store_backup(const char *src_path, const char *dir, const char *service,
                    wh_backup_info_t *info, char *err, size_t err_cap);

/* The directory all backups are in: WH_BACKUP_DIR, or <data_dir>/backups. */
int wh_backup_root(const wh_config_t *cfg, char out[WH_PATH_MAX]);

/* What a prune did: copies kept (the current one among them), removed, and
 * those whose removal failed. */
typedef struct wh_backup_pruned {
    int kept, removed, failed;
} wh_backup_pruned_t;

/* Keeps the newest keep (>= 1) copies of service under root and removes
 * the others: in each directory root/<backup id> (never a link) whose
 * manifest <service>.json names service and has a created_at, the
 * manifest first (renamed to a marker that a later prune finishes), then
 * the copy; the directory too once it is empty. The copy in root/<current>
 * counts as the newest. What it cannot read or date it leaves alone.
 * Blocks: run it off the service's loop. */
int wh_backup_prune(const char *root, const char *current, const char *service, int keep,
                    wh_backup_pruned_t *out);

/* Runs wh_store_backup on loop's thread pool; done is called on the loop's
 * thread with its result. At most one backup or prune runs per process:
 * another is WH_EAGAIN. */
typedef void (*wh_backup_done_fn)(void *ud, int rc, const wh_backup_info_t *info, const char *err);
int wh_backup_start(uv_loop_t *loop, const char *src_path, const char *dir, const char *service,
                    wh_backup_done_fn done, void *ud);

/* Runs wh_backup_prune the same way. */
typedef void (*wh_prune_done_fn)(void *ud, int rc, const wh_backup_pruned_t *pruned,
                                 const char *err);
int wh_prune_start(uv_loop_t *loop, const char *root, const char *id, const char *service, int keep,
                   wh_prune_done_fn done, void *ud);

/* The backup operation of svc (WH_OP_BACKUPS_<SERVICE>), and the one that
 * removes its older copies (WH_OP_BACKUPS_PRUNE_<SERVICE>). */
int wh_backup_op(enum wh_svc svc);
int wh_backup_prune_op(enum wh_svc svc);
/* Whether op is one of the two: answered by wh_backup_handle off the loop,
 * with the deadline WH_BACKUP_TIMEOUT_MS. */
bool wh_backup_is_op(enum wh_svc svc, int op);

/* The backup operation's entry in a dispatcher's table, which must name a
 * handler for every operation: a backup is answered when the copy is done,
 * outside the batches of requests (wh_backup_handle), so this one, which
 * answers 500, is never reached. */
void wh_backup_in_batch(wh_ctx_t *c);

/* Answers a backup or prune request of svc for the store at store_path: a
 * 403 for any role but admin, a 400 for a bad backup_id (or keep), a 409
 * while another runs (or, to prune, when backup_id has no copy of the
 * store), else the work off the loop and a 201 with the copy's manifest or
 * a 200 with what the prune kept and removed. reply gets the
 * reply on the loop's thread (at once, or when the copy is done). */
typedef void (*wh_backup_reply_fn)(void *ud, wh_reply_t *rep);
void wh_backup_handle(uv_loop_t *loop, const wh_config_t *cfg, enum wh_svc svc,
                      const char *store_path, const wh_request_t *req, wh_backup_reply_fn reply,
                      void *ud);

#endif
