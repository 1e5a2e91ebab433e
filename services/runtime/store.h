/* A service's SQLite store: one database file, WAL journal, synchronous=FULL
 * (a client told "stored" survives power loss), foreign keys on, a busy
 * timeout, schema versioned by PRAGMA user_version with forward-only
 * migrations compiled into the binary, and prepared statements cached by
 * their SQL text's address (SQL is always a string constant, never built
 * from input, so the address names the statement).
 *
 * It does not decide transaction scope: the service loop does (one
 * transaction per batch of requests, a savepoint per request). */
#ifndef WH_STORE_H
#define WH_STORE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "msg.h"

/* A service waits for another process's write lock on its loop, so the wait
 * must end well inside the broker's liveness window (WH_HEARTBEAT_MS x
 * WH_HEARTBEAT_LIVENESS = 2 s): a peer stuck holding the lock then costs the
 * waiting request a 503, not every instance its place at the broker. */
#define WH_STORE_BUSY_TIMEOUT_MS 1000
#define WH_STORE_MAX_STMTS       256

typedef struct wh_store wh_store_t;

/* migrations[i] brings the schema from version i to i+1. */
int wh_store_open(const char *path, const char *const *migrations, int n_migrations,
                  wh_store_t **out);
void wh_store_destroy(wh_store_t **s_p);
sqlite3 *wh_store_db(wh_store_t *s);

/* A cached statement, reset and with bindings cleared; do not finalize it.
 * NULL (after logging) if the SQL does not prepare, which is a programmer
 * error caught by every test that touches it. Every transaction bound
 * (begin, commit, rollback) resets the statements handed out since the
 * previous one, so a statement is handed out again in each transaction it
 * runs in rather than kept from an earlier one. */
sqlite3_stmt *wh_store_stmt(wh_store_t *s, const char *sql);

int wh_store_exec(wh_store_t *s, const char *sql); /* for fixed SQL only */
int wh_store_begin(wh_store_t *s);                 /* BEGIN IMMEDIATE */
int wh_store_begin_read(wh_store_t *s);            /* BEGIN (deferred), for reads */
/* BEGIN IMMEDIATE for bookkeeping whose loss is harmless (the outbox's
 * record of what its consumer acknowledged: lost, an event is sent again
 * and the consumer drops the duplicate): its commit does not wait for an
 * fsync (synchronous=NORMAL, which in WAL mode keeps the store consistent
 * and makes the transaction durable with the next synchronous commit).
 * The commit or rollback that ends it sets synchronous=FULL again, and so
 * does the next begin should that have failed. */
int wh_store_begin_lazy(wh_store_t *s);
int wh_store_commit(wh_store_t *s);
int wh_store_rollback(wh_store_t *s);
int wh_store_savepoint(wh_store_t *s);
int wh_store_release(wh_store_t *s);
int wh_store_rollback_to(wh_store_t *s);
bool wh_store_in_txn(wh_store_t *s);

/* Binding helpers that accept wh_str_t; a NULL p binds NULL. */
int wh_stmt_bind_str(sqlite3_stmt *st, int idx, wh_str_t v);
int wh_stmt_bind_text(sqlite3_stmt *st, int idx, const char *v); /* NUL-terminated */
/* The same without a copy, for values that stay where they are until the
 * statement is reset (the request's body, the caller's stack): a copy is a
 * malloc and a free per bound string, ten for a screening result's insert.
 * Reset the statement before the values go. */
int wh_stmt_bind_str_ref(sqlite3_stmt *st, int idx, wh_str_t v);
int wh_stmt_bind_text_ref(sqlite3_stmt *st, int idx, const char *v);
/* The text of a column as a slice (valid until the next step/reset). */
wh_str_t wh_stmt_col_str(sqlite3_stmt *st, int col);
/* The text of a column copied into out (cut to cap - 1 bytes, "" for NULL). */
void wh_stmt_col_copy(sqlite3_stmt *st, int col, char *out, size_t cap);
/* A column packed under key into a map: its text, integer, or milliseconds
 * as an RFC 3339 instant; null for a NULL column. */
void wh_stmt_kv_text(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col);
void wh_stmt_kv_int(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col);
void wh_stmt_kv_instant(msgpack_packer *pk, const char *key, sqlite3_stmt *st, int col);

#endif
