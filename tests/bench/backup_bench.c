/* What an online backup costs the writes it runs beside: one-row commits
 * (WAL, synchronous=FULL, as every store) on a large store, their latency
 * p50/p99/max without a backup and while wh_store_backup copies the store
 * (VACUUM INTO on another thread, paced, see services/runtime/backup.h),
 * and how long the backup takes. For comparison, the same copy unpaced: a
 * plain VACUUM INTO from a read-only connection, then one fsync, as a
 * backup without the pacing VFS would be.
 *
 *   backup_bench [--quick] [--mb N] [--rounds R] [--dir D]
 *
 * Default: a 1024 MB store under $TMPDIR (or /tmp), 3 rounds of a 5 s
 * baseline followed by a backup and an unpaced copy; prints each round and
 * the medians over the rounds with the ratios (during / without). --quick: 8 MB, one round (a
 * smoke test that keeps it building and working). */
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bare.h"

#include "backup.h"
#include "store.h"

#define ROW_BYTES   4000 /* filler rows */
#define BASELINE_S  5.0
#define MAX_SAMPLES 2000000

static const char *const migrations[] = {
    "CREATE TABLE filler (id INTEGER PRIMARY KEY, pad BLOB NOT NULL);"
    "CREATE TABLE writes (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, note TEXT NOT NULL);",
};

static void die(const char *what)
{
    fprintf(stderr, "backup_bench: %s\n", what);
    exit(1);
}

/* Fills the store to mb megabytes, fast (synchronous=OFF, big transactions):
 * the filling is not what is measured. */
static void fill(const char *path, int mb)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("cannot open the store to fill it");
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;", NULL, NULL, NULL);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO filler(pad) VALUES (randomblob(?1))", -1, &st, NULL) !=
        SQLITE_OK)
        die("cannot prepare the filler");
    long rows = (long)mb * 1024 * 1024 / ROW_BYTES;
    for (long i = 0; i < rows; i++) {
        if (i % 10000 == 0)
            sqlite3_exec(db, i ? "COMMIT; BEGIN" : "BEGIN", NULL, NULL, NULL);
        sqlite3_bind_int(st, 1, ROW_BYTES);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("cannot fill");
        sqlite3_reset(st);
    }
    sqlite3_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL);
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* On disk before anything is measured, so that the kernel's writeback
     * of the filling does not land in the first round. */
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0)
        die("cannot sync the filled store");
    close(fd);
}

typedef struct samples {
    double *v;
    size_t n;
} samples_t;

static void commit_one(wh_store_t *s, samples_t *out)
{
    static const char SQL[] = "INSERT INTO writes(at, note) VALUES (?1, 'one row')";
    double t0 = now_s();
    if (wh_store_begin(s) != 0)
        die("BEGIN failed");
    sqlite3_stmt *st = wh_store_stmt(s, SQL);
    sqlite3_bind_int64(st, 1, (int64_t)(t0 * 1000));
    if (sqlite3_step(st) != SQLITE_DONE || wh_store_commit(s) != 0)
        die("a write failed");
    if (out->n < MAX_SAMPLES)
        out->v[out->n++] = (now_s() - t0) * 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct stats {
    double p50, p99, max;
    size_t n;
} stats_t;

static stats_t stats_of(samples_t *s)
{
    stats_t r = {0};
    if (s->n == 0)
        return r;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    r.n = s->n;
    r.p50 = s->v[s->n / 2];
    r.p99 = s->v[s->n * 99 / 100];
    r.max = s->v[s->n - 1];
    return r;
}

struct backup_run {
    const char *src, *dir;
    wh_backup_info_t info;
    char err[256];
    int rc;
    volatile bool done;
};

static void *backup_thread(void *arg)
{
    struct backup_run *b = arg;
    b->rc = wh_store_backup(b->src, b->dir, "bench", &b->info, b->err, sizeof b->err);
    __atomic_store_n(&b->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* The unpaced copy: VACUUM INTO with the default VFS, then fsync. */
static void *unpaced_thread(void *arg)
{
    struct backup_run *b = arg;
    double t0 = now_s();
    char dst[700];
    snprintf(dst, sizeof dst, "%s/bench.db", b->dir);
    mkdir(b->dir, 0700);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    b->rc = -1;
    if (sqlite3_open_v2(b->src, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, dst, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_DONE) {
        int fd = open(dst, O_RDONLY);
        struct stat sb;
        if (fd >= 0 && fsync(fd) == 0 && fstat(fd, &sb) == 0) {
            b->info.bytes = sb.st_size;
            b->rc = 0;
        }
        if (fd >= 0)
            close(fd);
    }
    snprintf(b->err, sizeof b->err, "unpaced copy: %s", db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_finalize(st);
    sqlite3_close(db);
    b->info.seconds = now_s() - t0;
    __atomic_store_n(&b->done, true, __ATOMIC_RELEASE);
    return NULL;
}

static void remove_backup(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/bench.db", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/bench.json", dir);
    unlink(p);
    rmdir(dir);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    int mb = 1024, rounds = 3;
    double base_s = BASELINE_S;
    const char *tmp = getenv("TMPDIR");
    const char *root = tmp && *tmp ? tmp : "/tmp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            mb = 8;
            rounds = 1;
            base_s = 0.5;
        } else if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) {
            mb = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            root = argv[++i];
        } else {
            fprintf(stderr, "usage: backup_bench [--quick] [--mb N] [--rounds R] [--dir D]\n");
            return 2;
        }
    }
    if (mb < 1 || rounds < 1 || rounds > 20)
        die("--mb must be >= 1 and --rounds 1 to 20");
    char dir[512], path[600], bdir[600];
    snprintf(dir, sizeof dir, "%s/wh-backup-bench-XXXXXX", root);
    if (!mkdtemp(dir))
        die("cannot create the working directory");
    snprintf(path, sizeof path, "%s/store.db", dir);
    snprintf(bdir, sizeof bdir, "%s/backup", dir);

    wh_store_t *s;
    if (wh_store_open(path, migrations, 1, &s) != 0)
        die("cannot open the store");
    double t0 = now_s();
    fill(path, mb);
    printf("store %d MB filled in %.1f s; %d rounds: %.1f s without a backup, then a paced "
           "backup, then an unpaced copy\n",
           mb, now_s() - t0, rounds, base_s);

    samples_t base = {malloc(MAX_SAMPLES * sizeof(double)), 0};
    samples_t during = {malloc(MAX_SAMPLES * sizeof(double)), 0};
    if (!base.v || !during.v)
        die("out of memory");
    /* Per round: p50, p99, max without; the same during the paced backup
     * and during the unpaced copy; and each copy's seconds and MB/s. */
    enum { N_FIG = 13 };
    double m[N_FIG][20];
    static const char *const label[2] = {"paced backup (wh_store_backup)", "unpaced VACUUM INTO"};
    for (int r = 0; r < rounds; r++) {
        base.n = 0;
        double end = now_s() + base_s;
        while (now_s() < end)
            commit_one(s, &base);
        stats_t sb = stats_of(&base);
        m[0][r] = sb.p50, m[1][r] = sb.p99, m[2][r] = sb.max;
        printf("round %d: without a backup        n=%-6zu p50 %6.2f ms  p99 %6.2f ms  max %7.2f "
               "ms\n",
               r + 1, sb.n, sb.p50, sb.p99, sb.max);
        for (int v = 0; v < 2; v++) {
            during.n = 0;
            struct backup_run b = {.src = path, .dir = bdir};
            pthread_t th;
            if (pthread_create(&th, NULL, v == 0 ? backup_thread : unpaced_thread, &b) != 0)
                die("cannot start the backup thread");
            while (!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE))
                commit_one(s, &during);
            pthread_join(th, NULL);
            if (b.rc != 0)
                die(b.err);
            remove_backup(bdir);
            stats_t sd = stats_of(&during);
            double mbps = (double)b.info.bytes / 1048576.0 / b.info.seconds;
            m[3 + 5 * v][r] = sd.p50, m[4 + 5 * v][r] = sd.p99, m[5 + 5 * v][r] = sd.max;
            m[6 + 5 * v][r] = b.info.seconds, m[7 + 5 * v][r] = mbps;
            printf("         during %-19s n=%-6zu p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms; "
                   "%.1f s, %.0f MB/s\n",
                   v == 0 ? "the paced backup" : "an unpaced copy", sd.n, sd.p50, sd.p99, sd.max,
                   b.info.seconds, mbps);
            fflush(stdout);
        }
    }
    double md[N_FIG];
    for (int k = 0; k < N_FIG; k++)
        md[k] = median(m[k], rounds);
    printf("median over %d rounds (one-row commits, synchronous=FULL, %d MB store):\n", rounds, mb);
    printf("  without a backup:  p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", md[0], md[1], md[2]);
    for (int v = 0; v < 2; v++) {
        const double *d = md + 3 + 5 * v;
        printf("  during the %s: p50 %.2f ms  p99 %.2f ms  max %.2f ms; copy %.1f s, %.0f "
               "MB/s\n",
               label[v], d[0], d[1], d[2], d[3], d[4]);
        printf("    ratio to without: p50 %.2f  p99 %.2f  max %.2f\n", d[0] / md[0], d[1] / md[1],
               d[2] / md[2]);
    }
    wh_store_destroy(&s);
    char p[700];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", path, (const char *[]){"", "-wal", "-shm"}[i]);
        unlink(p);
    }
    rmdir(dir);
    free(base.v);
    free(during.v);
    return 0;
}
