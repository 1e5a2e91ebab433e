/* services/runtime/service.c's jobs (wh_service_every) on the real service
 * loop: a job runs in a write transaction of its own and is committed; a
 * failing one is rolled back and logged by name, without its data; a job
 * whose due check says no is never run; a job with its own transactions
 * that leaves one open is rolled back and logged; after a job with changes,
 * and only then, the on-commit hook (the outbox relay's kick) runs once.
 * The service stops itself once every job has run a few times, so the
 * checks count runs and never wait for time. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "err.h"
#include "service.h"

#define RUNS 3 /* runs of each job before the service stops */

static char dir[64];
static char log_path[96];
static char out[65536];
static FILE *real; /* the original stderr */
static int done;

/* What the jobs and the hook saw. */
static int writes;     /* committed runs of the writing job */
static int idles;      /* runs of the job that changes nothing */
static int fails;      /* runs of the failing job */
static int own_runs;   /* runs of the job with its own transactions */
static int own_open;   /* of those, the runs that left a transaction open */
static int own_ok;     /* of those, the runs that returned a change */
static int dues;       /* calls of the due check that says no */
static int gated;      /* runs behind that check: must stay 0 */
static int kicks;      /* calls of the on-commit hook */
static int not_in_txn; /* a transactional job that found no transaction */
static int in_txn;     /* the job with its own transactions found one open */
static bool stopping;

static const char *const migrations[] = {
    "CREATE TABLE t(job TEXT NOT NULL, data TEXT);",
};

static void insert(wh_store_t *store, const char *job, const char *data)
{
    sqlite3_stmt *st = wh_store_stmt(store, "INSERT INTO t(job, data) VALUES (?1, ?2)");
    CHECK(st != NULL);
    wh_stmt_bind_text(st, 1, job);
    wh_stmt_bind_text(st, 2, data);
    CHECK_INT(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
}

static void maybe_stop(void)
{
    if (!stopping && writes >= RUNS && idles >= RUNS && fails >= RUNS && own_runs >= 2 * RUNS &&
        dues >= RUNS) {
        stopping = true;
        raise(SIGTERM);
    }
}

static int64_t writer(wh_store_t *store, void *arg)
{
    not_in_txn += !wh_store_in_txn(store);
    insert(store, "writer", NULL);
    writes++;
    maybe_stop();
    return 1;
}

static int64_t idle(wh_store_t *store, void *arg)
{
    not_in_txn += !wh_store_in_txn(store);
    idles++;
    return 0;
}

/* Writes what would be health data, then fails. */
static int64_t failing(wh_store_t *store, void *arg)
{
    not_in_txn += !wh_store_in_txn(store);
    insert(store, "failing", "PHQ-9 total 23");
    fails++;
    return WH_ECONFLICT;
}

/* Every other run begins a transaction, writes and leaves it open. */
static int64_t own(wh_store_t *store, void *arg)
{
    in_txn += wh_store_in_txn(store);
    if (own_runs++ % 2 == 0) {
        CHECK_INT(wh_store_begin(store), 0);
        insert(store, "own", "PHQ-9 total 23");
        own_open++;
        return 0;
    }
    own_ok++;
    return 1;
}

static bool never_due(wh_store_t *store, void *arg)
{
    dues++;
    return false;
}

static int64_t behind_due(wh_store_t *store, void *arg)
{
    gated++;
    return 1;
}

static void on_kick(void *ud)
{
    kicks++;
}

static const wh_job_t writer_job = {"writer job", NULL, writer, 0};
static const wh_job_t idle_job = {"idle job", NULL, idle, 0};
static const wh_job_t failing_job = {"failing job", NULL, failing, 0};
static const wh_job_t own_job = {"own job", NULL, own, WH_JOB_OWN_TXN};
static const wh_job_t gated_job = {"gated job", never_due, behind_due, 0};

static int start(wh_service_t *s)
{
    wh_service_on_commit(s, on_kick, NULL);
    CHECK_INT(wh_service_every(s, 2, &writer_job, NULL), 0);
    CHECK_INT(wh_service_every(s, 2, &idle_job, NULL), 0);
    CHECK_INT(wh_service_every(s, 2, &failing_job, NULL), 0);
    CHECK_INT(wh_service_every(s, 2, &own_job, NULL), 0);
    CHECK_INT(wh_service_every(s, 2, &gated_job, NULL), 0);
    /* Room for WH_SERVICE_MAX_JOBS, and not one more. */
    for (int i = 5; i < WH_SERVICE_MAX_JOBS; i++)
        CHECK_INT(wh_service_every(s, 3600 * 1000, &idle_job, NULL), 0);
    CHECK_INT(wh_service_every(s, 3600 * 1000, &idle_job, NULL), WH_ELIMIT);
    return 0;
}

static void noop(wh_ctx_t *c)
{
}

static const char *captured(void)
{
    fflush(stderr);
    FILE *f = fopen(log_path, "r");
    CHECK(f != NULL);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    return out;
}

/* A failed CHECK writes to the redirected stderr: show it on the real one. */
static void show_failure(void)
{
    if (done)
        return;
    fprintf(real, "%s", captured());
    fflush(real);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static int rows(sqlite3 *db, const char *job)
{
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE job = ?1", -1, &st, NULL),
              SQLITE_OK);
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void unlink_in(const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wh-every-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char ep[128];
    snprintf(ep, sizeof ep, "ipc://%s/broker.ipc", dir); /* nobody binds it */
    CHECK_INT(setenv("WH_DATA_DIR", dir, 1), 0);
    CHECK_INT(setenv("WH_BROKER_CONNECT", ep, 1), 0);
    snprintf(log_path, sizeof log_path, "%s/log", dir);
    fprintf(stderr, "  jobs: commit, rollback, due check, own transactions, kicks\n");
    int fd = dup(fileno(stderr));
    CHECK(fd >= 0);
    real = fdopen(fd, "w");
    CHECK(real != NULL);
    fflush(stderr);
    CHECK(freopen(log_path, "w", stderr) != NULL);
    atexit(show_failure);

    static wh_handler_t handlers[WH_OP_COUNT];
    size_t n_handlers = 0;
    for (int op = 0; op < WH_OP_COUNT; op++)
        if (wh_ops[op].service == WH_SVC_AGREEMENTS)
            handlers[n_handlers++] = (wh_handler_t){op, noop};
    wh_service_def_t def = {
        .svc = WH_SVC_AGREEMENTS,
        .migrations = migrations,
        .n_migrations = 1,
        .handlers = handlers,
        .n_handlers = n_handlers,
        .start = start,
    };
    CHECK_INT(wh_service_main(&def), 0);

    CHECK_INT(not_in_txn, 0);
    CHECK_INT(in_txn, 0);
    CHECK_INT(gated, 0);
    /* What the writer committed stays; what failed or was left open is gone. */
    char db_path[128];
    snprintf(db_path, sizeof db_path, "%s/agreements.db", dir);
    sqlite3 *db;
    CHECK_INT(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    CHECK_INT(rows(db, "writer"), writes);
    CHECK_INT(rows(db, "failing"), 0);
    CHECK_INT(rows(db, "own"), 0);
    sqlite3_close(db);
    /* One kick after each run with changes, none after the others. */
    CHECK_INT(kicks, writes + own_ok);
    /* Each failure logged once, by the job's name, without its data. */
    const char *log = captured();
    CHECK_INT(count(log, "failing job failed"), fails);
    CHECK_INT(count(log, "own job failed"), own_open);
    CHECK_INT(count(log, "writer job failed"), 0);
    CHECK_INT(count(log, "idle job failed"), 0);
    CHECK_INT(count(log, "PHQ"), 0);
    done = 1;

    unlink_in("agreements.db");
    unlink_in("agreements.db-wal");
    unlink_in("agreements.db-shm");
    unlink_in("log");
    CHECK_INT(rmdir(dir), 0);
    return 0;
}
