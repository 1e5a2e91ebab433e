#define _GNU_SOURCE /* sync_file_range */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "id.h"
#include "log.h"

bool wh_backup_id_valid(const char *p, size_t n)
{
    if (!p || n == 0 || n > WH_BACKUP_MAX_ID)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

int wh_backup_root(const wh_config_t *cfg, char out[WH_PATH_MAX])
{
    const char *root = getenv("WH_BACKUP_DIR");
    int n = root && *root ? snprintf(out, WH_PATH_MAX, "%s", root)
                          : snprintf(out, WH_PATH_MAX, "%s/backups", cfg->data_dir);
    return n < 0 || n >= WH_PATH_MAX ? WH_ELIMIT : 0;
}

int wh_backup_dir(const wh_config_t *cfg, const char *id, char out[WH_PATH_MAX])
{
    char root[WH_PATH_MAX];
    if (wh_backup_root(cfg, root) != 0)
        return WH_ELIMIT;
    int n = snprintf(out, WH_PATH_MAX, "%s/%s", root, id);
    return n < 0 || n >= WH_PATH_MAX ? WH_ELIMIT : 0;
}

/* ---- pruning ---- */

typedef struct dated {
    char id[WH_BACKUP_MAX_ID + 1];
    char at[WH_RFC3339_LEN];
    bool condemned; /* a removal began here and did not finish */
} dated_t;

static const char PRUNING[] = ".json.pruning";

/* The created_at of dir/<service>.json when it is a manifest of service
 * (as wh_store_backup writes them); false when it is not one. */
static bool manifest_date(int dirfd, const char *service, char at[WH_RFC3339_LEN])
{
    char name[64], text[512], want[96];
    if (snprintf(name, sizeof name, "%s.json", service) >= (int)sizeof name ||
        snprintf(want, sizeof want, "{\"service\":\"%s\",", service) >= (int)sizeof want)
        return false;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return false;
    text[n] = '\0';
    static const char KEY[] = "\"created_at\":\"";
    const char *p = strstr(text, KEY);
    if (strncmp(text, want, strlen(want)) != 0 || !p)
        return false;
    p += sizeof KEY - 1;
    size_t len = strcspn(p, "\"");
    if (len == 0 || len >= WH_RFC3339_LEN || p[len] != '"')
        return false;
    memcpy(at, p, len);
    at[len] = '\0';
    return true;
}

static bool has_file(int dirfd, const char *service, const char *suffix)
{
    char name[64];
    struct stat st;
    return snprintf(name, sizeof name, "%s%s", service, suffix) < (int)sizeof name &&
           fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int newest_first(const void *a, const void *b)
{
    const dated_t *x = a, *y = b;
    int c = strcmp(y->at, x->at);
    return c ? c : strcmp(y->id, x->id);
}

/* Removes service's copy from root/id: the manifest is first renamed to
 * <service>.json.pruning (so no manifest ever names a copy that is going),
 * then the copy goes, then the marker; a removal cut short is finished by
 * the next prune, which finds the marker. The directory goes too once no
 * store's copy is left in it. */
static bool remove_copy(int rootfd, const char *id, const char *service)
{
    int dirfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0)
        return false;
    char man[64], mark[64], db[64], dbtmp[64], mtmp[64];
    snprintf(man, sizeof man, "%s.json", service);
    snprintf(mark, sizeof mark, "%s%s", service, PRUNING);
    snprintf(db, sizeof db, "%s.db", service);
    snprintf(dbtmp, sizeof dbtmp, "%s.db.tmp", service);
    snprintf(mtmp, sizeof mtmp, "%s.json.tmp", service);
    bool ok = (renameat(dirfd, man, dirfd, mark) == 0 || errno == ENOENT) && fsync(dirfd) == 0;
    const char *const gone[] = {db, dbtmp, mtmp, mark};
    for (size_t i = 0; ok && i < sizeof gone / sizeof gone[0]; i++)
        if (unlinkat(dirfd, gone[i], 0) != 0 && errno != ENOENT)
            ok = false;
    ok = fsync(dirfd) == 0 && ok;
    close(dirfd);
    if (ok)
        unlinkat(rootfd, id, AT_REMOVEDIR); /* fails while another store's copy is there */
    return ok;
}

int wh_backup_prune(const char *root, const char *current, const char *service, int keep,
                    wh_backup_pruned_t *out)
{
    memset(out, 0, sizeof *out);
    if (keep < 1)
        return WH_EINVAL;
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return WH_EIO;
    int fd2 = dup(rootfd);
    DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
    if (!d) {
        if (fd2 >= 0)
            close(fd2);
        close(rootfd);
        return WH_EIO;
    }
    dated_t *all = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (!wh_backup_id_valid(e->d_name, len))
            continue;
        int dirfd = openat(rootfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
            continue;
        dated_t x = {0};
        bool dated = manifest_date(dirfd, service, x.at);
        x.condemned = !dated && has_file(dirfd, service, PRUNING);
        close(dirfd);
        if (!dated && !x.condemned)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            dated_t *grown = realloc(all, ncap * sizeof *all);
            if (!grown) {
                rc = WH_ENOMEM;
                break;
            }
            all = grown;
            cap = ncap;
        }
        memcpy(x.id, e->d_name, len + 1);
        all[n++] = x;
    }
    closedir(d);
    if (rc == 0) {
        qsort(all, n, sizeof *all, newest_first);
        /* The backup just completed is kept whatever its date says (a clock
         * set back, or WH_NOW). */
        for (size_t i = 0; i < n; i++) {
            if (strcmp(all[i].id, current) == 0 && !all[i].condemned) {
                dated_t cur = all[i];
                memmove(all + 1, all, i * sizeof *all);
                all[0] = cur;
                break;
            }
        }
        int kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (!all[i].condemned && kept < keep) {
                kept++;
            } else if (remove_copy(rootfd, all[i].id, service)) {
                out->removed++;
            } else {
                out->failed++;
                rc = WH_EIO;
            }
        }
        out->kept = kept;
        if (fsync(rootfd) != 0)
            rc = WH_EIO;
    }
    free(all);
    close(rootfd);
    return rc;
}

/* ---- the pacing VFS: the copy's writes reach the disk slice by slice ---- */

typedef struct paced_file {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, right after this struct */
    int fd;             /* the same file, for sync_file_range; -1 if none */
    int64_t lo, hi;     /* the range written since the last flush */
    uint64_t slice_ns;  /* when the current slice began */
} paced_file_t;

static sqlite3_vfs paced_vfs;
static const char PACED_VFS_NAME[] = "wh-backup-paced";

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void flush_slice(paced_file_t *f)
{
    if (f->fd >= 0 && f->hi > f->lo)
        sync_file_range(f->fd, f->lo, f->hi - f->lo,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER);
    f->lo = INT64_MAX;
    f->hi = 0;
}

static int p_close(sqlite3_file *file)
{
    paced_file_t *f = (paced_file_t *)file;
    int rc = f->real->pMethods->xClose(f->real);
    if (f->fd >= 0)
        close(f->fd);
    return rc;
}

static int p_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xRead(f->real, buf, amt, off);
}

static int p_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
    paced_file_t *f = (paced_file_t *)file;
    int rc = f->real->pMethods->xWrite(f->real, buf, amt, off);
    if (rc != SQLITE_OK || f->fd < 0)
        return rc;
    if (off < f->lo)
        f->lo = off;
    if (off + amt > f->hi)
        f->hi = off + amt;
    uint64_t now = mono_ns();
    if (now - f->slice_ns >= (uint64_t)WH_BACKUP_SLICE_MS * 1000000u) {
        flush_slice(f);
        struct timespec pause = {0, WH_BACKUP_PAUSE_MS * 1000000L};
        nanosleep(&pause, NULL);
        f->slice_ns = mono_ns();
    }
    return rc;
}

static int p_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xTruncate(f->real, size);
}

static int p_sync(sqlite3_file *file, int flags)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xSync(f->real, flags);
}

static int p_size(sqlite3_file *file, sqlite3_int64 *size)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xFileSize(f->real, size);
}

static int p_lock(sqlite3_file *file, int l)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xLock(f->real, l);
}

static int p_unlock(sqlite3_file *file, int l)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xUnlock(f->real, l);
}

static int p_check_lock(sqlite3_file *file, int *out)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int p_fcntl(sqlite3_file *file, int op, void *arg)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int p_sector(sqlite3_file *file)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int p_chars(sqlite3_file *file)
{
    paced_file_t *f = (paced_file_t *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Version 1: the copy is written without a journal, never in WAL mode. */
static const sqlite3_io_methods paced_methods = {
    .iVersion = 1,
    .xClose = p_close,
    .xRead = p_read,
    .xWrite = p_write,
    .xTruncate = p_truncate,
    .xSync = p_sync,
    .xFileSize = p_size,
    .xLock = p_lock,
    .xUnlock = p_unlock,
    .xCheckReservedLock = p_check_lock,
    .xFileControl = p_fcntl,
    .xSectorSize = p_sector,
    .xDeviceCharacteristics = p_chars,
};

static int p_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    sqlite3_vfs *root = vfs->pAppData;
    paced_file_t *f = (paced_file_t *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    f->fd = -1;
    int rc = root->xOpen(root, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        f->base.pMethods = NULL;
        return rc;
    }
    if (name && (flags & SQLITE_OPEN_MAIN_DB))
        f->fd = open(name, O_RDWR | O_CLOEXEC);
    f->lo = INT64_MAX;
    f->slice_ns = mono_ns();
    f->base.pMethods = &paced_methods;
    return SQLITE_OK;
}

#define FWD(name, args, ...)                                                                       \
    static int v_##name args                                                                       \
    {                                                                                              \
        sqlite3_vfs *root = vfs->pAppData;                                                         \
        return root->x##name(root, __VA_ARGS__);                                                   \
    }
FWD(Delete, (sqlite3_vfs * vfs, const char *name, int sync), name, sync)
FWD(Access, (sqlite3_vfs * vfs, const char *name, int flags, int *out), name, flags, out)
FWD(FullPathname, (sqlite3_vfs * vfs, const char *name, int n, char *out), name, n, out)
FWD(Randomness, (sqlite3_vfs * vfs, int n, char *out), n, out)
FWD(Sleep, (sqlite3_vfs * vfs, int us), us)
FWD(CurrentTime, (sqlite3_vfs * vfs, double *out), out)
#undef FWD

static int vfs_rc = SQLITE_ERROR;
static void register_vfs(void)
{
    sqlite3_vfs *root = sqlite3_vfs_find(NULL);
    if (!root)
        return;
    paced_vfs = (sqlite3_vfs){
        .iVersion = 1,
        .szOsFile = (int)sizeof(paced_file_t) + root->szOsFile,
        .mxPathname = root->mxPathname,
        .zName = PACED_VFS_NAME,
        .pAppData = root,
        .xOpen = p_open,
        .xDelete = v_Delete,
        .xAccess = v_Access,
        .xFullPathname = v_FullPathname,
        .xRandomness = v_Randomness,
        .xSleep = v_Sleep,
        .xCurrentTime = v_CurrentTime,
    };
    vfs_rc = sqlite3_vfs_register(&paced_vfs, 0);
}

/* ---- the copy ---- */

static int fail(char *err, size_t cap, int rc, const char *msg, const char *detail)
{
    snprintf(err, cap, "%s%s", msg, detail ? detail : "");
    return rc;
}

static int mkdir_p(const char *path)
{
    char tmp[WH_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* "file:" URI of path with the pacing VFS; every byte outside the
 * unreserved set percent-encoded. */
static int copy_uri(const char *path, char *out, size_t cap)
{
    size_t o = 0;
    o += (size_t)snprintf(out, cap, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (o + 4 >= cap)
            return -1;
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '/' || c == '.' || c == '_' || c == '-')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
    }
    int n = snprintf(out + o, cap - o, "?vfs=%s", PACED_VFS_NAME);
    return n < 0 || (size_t)n >= cap - o ? -1 : 0;
}

static int vacuum_into(const char *src_path, const char *tmp, int *schema, char *err, size_t cap)
{
    char uri[3 * WH_PATH_MAX + 64];
    if (copy_uri(tmp, uri, sizeof uri) != 0)
        return fail(err, cap, WH_ELIMIT, "backup path too long", NULL);
    sqlite3 *db = NULL;
    int rc = WH_ESTORE;
    if (sqlite3_open_v2(src_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        snprintf(err, cap, "cannot open the store: %s", db ? sqlite3_errmsg(db) : "no memory");
        goto done;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    /* The schema version before the copy (checked against the copy after). */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        snprintf(err, cap, "cannot read the store: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        goto done;
    }
    *schema = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    /* VACUUM cannot run inside a transaction: close it, then check that the
     * copy's version is the one read (a migration runs only at start). */
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE) {
        snprintf(err, cap, "VACUUM INTO failed: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        goto done;
    }
    sqlite3_finalize(st);
    rc = 0;
done:
    sqlite3_close(db);
    return rc;
}

/* user_version of the copy: the snapshot VACUUM INTO read. */
static int copy_schema(const char *path, int *v)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *v = sqlite3_column_int(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

int wh_store_backup(const char *src_path, const char *dir, const char *service,
                    wh_backup_info_t *info, char *err, size_t cap)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_vfs);
    if (vfs_rc != SQLITE_OK)
        return fail(err, cap, WH_ESTORE, "cannot register the backup VFS", NULL);
    uint64_t t0 = mono_ns();
    memset(info, 0, sizeof *info);
    info->created_at_ms = wh_clock_now_ms();
    char db[WH_PATH_MAX], tmp[WH_PATH_MAX], man[WH_PATH_MAX], mtmp[WH_PATH_MAX];
    if (snprintf(db, sizeof db, "%s/%s.db", dir, service) >= (int)sizeof db ||
        snprintf(tmp, sizeof tmp, "%s/%s.db.tmp", dir, service) >= (int)sizeof tmp ||
        snprintf(man, sizeof man, "%s/%s.json", dir, service) >= (int)sizeof man ||
        snprintf(mtmp, sizeof mtmp, "%s/%s.json.tmp", dir, service) >= (int)sizeof mtmp)
        return fail(err, cap, WH_ELIMIT, "backup path too long", NULL);
    if (mkdir_p(dir) != 0)
        return fail(err, cap, WH_EIO, "cannot create the backup directory: ", strerror(errno));
    if (access(db, F_OK) == 0 || access(man, F_OK) == 0)
        return fail(err, cap, WH_ECONFLICT, "this backup already has a copy of the store", NULL);
    unlink(tmp); /* left by an attempt that died */
    int rc = vacuum_into(src_path, tmp, &info->schema_version, err, cap);
    int copy_v = -1;
    if (rc == 0 && (copy_schema(tmp, &copy_v) != 0 || copy_v != info->schema_version))
        rc = fail(err, cap, WH_ECONFLICT, "the store's schema changed during the backup", NULL);
    if (rc == 0 && chmod(tmp, 0600) != 0)
        rc = fail(err, cap, WH_EIO, "cannot protect the copy: ", strerror(errno));
    if (rc == 0 && fsync_path(tmp, O_RDONLY) != 0)
        rc = fail(err, cap, WH_EIO, "cannot sync the copy: ", strerror(errno));
    if (rc == 0 && wh_sha256_file(tmp, info->sha256, &info->bytes) != 0)
        rc = fail(err, cap, WH_EIO, "cannot hash the copy: ", strerror(errno));
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    char at[WH_RFC3339_LEN];
    wh_clock_format_rfc3339(info->created_at_ms, at);
    char json[512];
    int n = snprintf(json, sizeof json,
                     "{\"service\":\"%s\",\"schema_version\":%d,\"bytes\":%lld,"
                     "\"sha256\":\"%s\",\"created_at\":\"%s\"}\n",
                     service, info->schema_version, (long long)info->bytes, info->sha256, at);
    int fd = open(mtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, json, (size_t)n) == n && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    /* The copy first, the manifest last: a manifest names a complete copy. */
    if (!ok || rename(tmp, db) != 0 || rename(mtmp, man) != 0 ||
        fsync_path(dir, O_RDONLY | O_DIRECTORY) != 0) {
        int e = errno;
        unlink(tmp);
        unlink(mtmp);
        unlink(man); /* before the copy it names, so that no manifest outlives it */
        unlink(db);
        return fail(err, cap, WH_EIO, "cannot write the backup: ", strerror(e));
    }
    info->seconds = (double)(mono_ns() - t0) / 1e9;
    return 0;
}

/* ---- off the loop ---- */

struct backup_job {
    uv_work_t work;
    char src[WH_PATH_MAX], dir[WH_PATH_MAX], root[WH_PATH_MAX], service[32];
    char id[WH_BACKUP_MAX_ID + 1];
    int keep; /* > 0: prune (keep copies) instead of copying */
    wh_backup_info_t info;
    wh_backup_pruned_t pruned;
    char err[256];
    int rc;
    wh_backup_done_fn done;
    wh_prune_done_fn pdone;
    void *ud;
};

static bool backup_running;

static void job_work(uv_work_t *w)
{
    struct backup_job *j = w->data;
    if (j->keep > 0) {
        j->rc = wh_backup_prune(j->root, j->id, j->service, j->keep, &j->pruned);
        if (j->rc != 0)
            snprintf(j->err, sizeof j->err, "%d older copies could not be removed",
                     j->pruned.failed);
    } else {
        j->rc = wh_store_backup(j->src, j->dir, j->service, &j->info, j->err, sizeof j->err);
    }
}

static void job_after(uv_work_t *w, int status)
{
    struct backup_job *j = w->data;
    backup_running = false;
    if (status != 0 && j->rc == 0) {
        j->rc = WH_EIO;
        snprintf(j->err, sizeof j->err, "the backup was cancelled");
    }
    if (j->keep > 0)
        j->pdone(j->ud, j->rc, &j->pruned, j->err);
    else
        j->done(j->ud, j->rc, &j->info, j->err);
    free(j);
}

static int queue_job(uv_loop_t *loop, struct backup_job *j)
{
    if (backup_running) {
        free(j);
        return WH_EAGAIN;
    }
    j->work.data = j;
    if (uv_queue_work(loop, &j->work, job_work, job_after) != 0) {
        free(j);
        return WH_EIO;
    }
    backup_running = true;
    return 0;
}

int wh_backup_start(uv_loop_t *loop, const char *src_path, const char *dir, const char *service,
                    wh_backup_done_fn done, void *ud)
{
    struct backup_job *j = calloc(1, sizeof *j);
    if (!j)
        return WH_ENOMEM;
    if (snprintf(j->src, sizeof j->src, "%s", src_path) >= (int)sizeof j->src ||
        snprintf(j->dir, sizeof j->dir, "%s", dir) >= (int)sizeof j->dir ||
        snprintf(j->service, sizeof j->service, "%s", service) >= (int)sizeof j->service) {
        free(j);
        return WH_ELIMIT;
    }
    j->done = done;
    j->ud = ud;
    return queue_job(loop, j);
}

int wh_prune_start(uv_loop_t *loop, const char *root, const char *id, const char *service, int keep,
                   wh_prune_done_fn done, void *ud)
{
    struct backup_job *j = calloc(1, sizeof *j);
    if (!j)
        return WH_ENOMEM;
    if (keep < 1 || snprintf(j->root, sizeof j->root, "%s", root) >= (int)sizeof j->root ||
        snprintf(j->id, sizeof j->id, "%s", id) >= (int)sizeof j->id ||
        snprintf(j->service, sizeof j->service, "%s", service) >= (int)sizeof j->service) {
        free(j);
        return WH_ELIMIT;
    }
    j->keep = keep;
    j->pdone = done;
    j->ud = ud;
    return queue_job(loop, j);
}

/* Each store's two operations: the copy and the removal of older copies. */
static const int backup_ops[WH_SVC_COUNT][2] = {
    [WH_SVC_GATEWAY] = {WH_OP_BACKUPS_GATEWAY, WH_OP_BACKUPS_PRUNE_GATEWAY},
    [WH_SVC_AGREEMENTS] = {WH_OP_BACKUPS_AGREEMENTS, WH_OP_BACKUPS_PRUNE_AGREEMENTS},
    [WH_SVC_SURVEYS] = {WH_OP_BACKUPS_SURVEYS, WH_OP_BACKUPS_PRUNE_SURVEYS},
    [WH_SVC_SCREENING] = {WH_OP_BACKUPS_SCREENING, WH_OP_BACKUPS_PRUNE_SCREENING},
    [WH_SVC_NOTIFICATIONS] = {WH_OP_BACKUPS_NOTIFICATIONS, WH_OP_BACKUPS_PRUNE_NOTIFICATIONS},
};

int wh_backup_op(enum wh_svc svc)
{
    return (unsigned)svc < WH_SVC_COUNT ? backup_ops[svc][0] : -1;
}

int wh_backup_prune_op(enum wh_svc svc)
{
    return (unsigned)svc < WH_SVC_COUNT ? backup_ops[svc][1] : -1;
}

bool wh_backup_is_op(enum wh_svc svc, int op)
{
    return op >= 0 && (op == wh_backup_op(svc) || op == wh_backup_prune_op(svc));
}

void wh_backup_in_batch(wh_ctx_t *c)
{
    wh_reply_problem(c->rep, 500, "internal", "a backup cannot run in a batch of requests");
}

struct backup_req {
    wh_backup_reply_fn reply;
    void *ud;
    char id[WH_BACKUP_MAX_ID + 1];
    char dir[WH_PATH_MAX];
    enum wh_svc svc;
};

static void answer(struct backup_req *b, wh_reply_t *rep)
{
    b->reply(b->ud, rep);
    wh_reply_close(rep);
    free(b);
}

static void backup_done(void *ud, int rc, const wh_backup_info_t *info, const char *err)
{
    struct backup_req *b = ud;
    const char *name = wh_service_names[b->svc];
    wh_reply_t rep;
    wh_reply_init(&rep);
    if (rc == WH_ECONFLICT) {
        wh_reply_problem(&rep, 409, "conflict", "%s", err);
    } else if (rc != 0) {
        /* The reason names a system call or SQLite's complaint, no data. */
        wh_log_error("backup %s of %s failed: %s", b->id, name, err);
        wh_reply_problem(&rep, 503, "backup-failed", "the backup failed: %s", err);
    } else {
        wh_log_info("backup %s of %s: %lld bytes in %.1fs", b->id, name, (long long)info->bytes,
                    info->seconds);
        char path[WH_PATH_MAX + 40], at[WH_RFC3339_LEN];
        snprintf(path, sizeof path, "%s/%s.db", b->dir, name);
        wh_clock_format_rfc3339(info->created_at_ms, at);
        msgpack_packer *pk = wh_reply_ok(&rep, 201);
        msgpack_pack_map(pk, 8);
        wh_msg_kv_str(pk, "backup_id", b->id);
        wh_msg_kv_str(pk, "service", name);
        wh_msg_kv_str(pk, "path", path);
        wh_msg_kv_int(pk, "schema_version", info->schema_version);
        wh_msg_kv_int(pk, "bytes", info->bytes);
        wh_msg_kv_str(pk, "sha256", info->sha256);
        wh_msg_kv_str(pk, "created_at", at);
        wh_msg_pack_str(pk, "seconds");
        msgpack_pack_double(pk, info->seconds);
    }
    answer(b, &rep);
}

static void prune_done(void *ud, int rc, const wh_backup_pruned_t *pr, const char *err)
{
    struct backup_req *b = ud;
    const char *name = wh_service_names[b->svc];
    wh_reply_t rep;
    wh_reply_init(&rep);
    if (rc != 0) {
        wh_log_error("removing copies of %s older than backup %s: %s", name, b->id, err);
        wh_reply_problem(&rep, 503, "backup-failed", "%s", err);
    } else {
        wh_log_info("backup %s of %s: %d older cop%s removed, %d kept", b->id, name, pr->removed,
                    pr->removed == 1 ? "y" : "ies", pr->kept);
        msgpack_packer *pk = wh_reply_ok(&rep, 200);
        msgpack_pack_map(pk, 4);
        wh_msg_kv_str(pk, "backup_id", b->id);
        wh_msg_kv_str(pk, "service", name);
        wh_msg_kv_int(pk, "kept", pr->kept);
        wh_msg_kv_int(pk, "removed", pr->removed);
    }
    answer(b, &rep);
}

/* keep= of a prune request: 1 to WH_BACKUP_KEEP_MAX, digits only. */
static int keep_param(const wh_request_t *req)
{
    wh_str_t k = wh_request_param(req, "keep");
    if (!k.p || k.n == 0 || k.n > 6)
        return -1;
    int v = 0;
    for (size_t i = 0; i < k.n; i++) {
        if (k.p[i] < '0' || k.p[i] > '9')
            return -1;
        v = v * 10 + (k.p[i] - '0');
    }
    return v >= 1 && v <= WH_BACKUP_KEEP_MAX ? v : -1;
}

/* Whether dir holds a complete copy of service (its manifest). */
static bool has_copy(const char *dir, const char *service)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    char at[WH_RFC3339_LEN];
    bool ok = manifest_date(fd, service, at);
    close(fd);
    return ok;
}

void wh_backup_handle(uv_loop_t *loop, const wh_config_t *cfg, enum wh_svc svc,
                      const char *store_path, const wh_request_t *req, wh_backup_reply_fn reply,
                      void *ud)
{
    wh_reply_t rep;
    wh_reply_init(&rep);
    struct backup_req *b = calloc(1, sizeof *b);
    if (!b) {
        wh_reply_problem(&rep, 503, "unavailable", "out of memory");
        reply(ud, &rep);
        wh_reply_close(&rep);
        return;
    }
    *b = (struct backup_req){.reply = reply, .ud = ud, .svc = svc};
    bool prune = req->op == wh_backup_prune_op(svc);
    int keep = prune ? keep_param(req) : 0;
    wh_str_t id = wh_request_param(req, "backup_id");
    char root[WH_PATH_MAX];
    if (req->principal.role != WH_ROLE_ADMIN) {
        wh_reply_problem(&rep, 403, "forbidden", "only an admin may take a backup");
    } else if (!wh_backup_id_valid(id.p, id.n)) {
        wh_reply_param(&rep, "backup_id",
                       "must be 1 to %d letters, digits, '.', '_' or '-', starting with a letter "
                       "or digit",
                       WH_BACKUP_MAX_ID);
        wh_reply_problem(&rep, 400, "bad-backup-id", "backup_id is not a valid backup id");
    } else if (prune && keep < 0) {
        wh_reply_param(&rep, "keep", "must be a whole number from 1 to %d", WH_BACKUP_KEEP_MAX);
        wh_reply_problem(&rep, 400, "validation", "keep is not a number of copies");
    } else {
        memcpy(b->id, id.p, id.n);
        int rc = wh_backup_dir(cfg, b->id, b->dir);
        if (rc == 0 && prune && !has_copy(b->dir, wh_service_names[svc])) {
            wh_reply_problem(&rep, 409, "conflict",
                             "backup %s holds no copy of this store: nothing is removed", b->id);
            answer(b, &rep);
            return;
        }
        if (rc == 0 && prune)
            rc = wh_backup_root(cfg, root);
        if (rc == 0)
            rc = prune
                     ? wh_prune_start(loop, root, b->id, wh_service_names[svc], keep, prune_done, b)
                     : wh_backup_start(loop, store_path, b->dir, wh_service_names[svc], backup_done,
                                       b);
        if (rc == 0) {
            wh_reply_close(&rep);
            return;
        }
        if (rc == WH_EAGAIN)
            wh_reply_problem(&rep, 409, "conflict", "another backup of this store is running");
        else
            wh_reply_problem(&rep, 503, "backup-failed", "the backup could not start: %s",
                             wh_strerror(rc));
    }
    answer(b, &rep);
}
