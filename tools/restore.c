/* workhealth-restore <backup-dir> <empty-data-dir>: puts the stores of a
 * backup (made by workhealth-backup) into place for a stack that is not
 * running. Refuses a target that is not empty. Checks every store before
 * copying any: its manifest names it, its size and SHA-256 match, SQLite's
 * integrity check passes and its schema version is the manifest's. The
 * copies are 0600 in a 0700 directory, each synced and renamed into place.
 * Keys (curve/), the admin token file and logs are not part of a backup: a
 * stack started on the restored directory makes new ones as on first start. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "id.h"

#define PATH_BYTES 1024

static const char *const services[] = {"gateway", "agreements", "surveys", "screening",
                                       "notifications"};
#define N_SERVICES (sizeof services / sizeof services[0])

static int complain(const char *service, const char *what)
{
    fprintf(stderr, "workhealth-restore: %s: %s\n", service, what);
    return -1;
}

/* The first column of a one-row query, as text into out. */
static int query_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
    if (rc == 0)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc;
}

/* What check_store found in a store's manifest and copy: the copy made
 * into the target must be the same bytes, whatever happens to the backup
 * directory meanwhile. */
typedef struct {
    char sha[65];
    int64_t bytes;
} checked_t;

static int check_store(const char *dir, const char *service, checked_t *ok_copy)
{
    char db_path[PATH_BYTES], man_path[PATH_BYTES];
    snprintf(db_path, sizeof db_path, "%s/%s.db", dir, service);
    snprintf(man_path, sizeof man_path, "%s/%s.json", dir, service);
    json_error_t je;
    json_t *m = json_load_file(man_path, 0, &je);
    if (!m)
        return complain(service, "no readable manifest (<service>.json)");
    const char *name = json_string_value(json_object_get(m, "service"));
    const char *sha = json_string_value(json_object_get(m, "sha256"));
    json_t *bytes_j = json_object_get(m, "bytes"), *ver_j = json_object_get(m, "schema_version");
    int rc = 0;
    if (!name || strcmp(name, service) != 0 || !sha || !json_is_integer(bytes_j) ||
        !json_is_integer(ver_j))
        rc = complain(service, "the manifest does not describe this store");
    char hex[65];
    int64_t bytes = 0;
    if (rc == 0 && wh_sha256_file(db_path, hex, &bytes) != 0)
        rc = complain(service, "cannot read the copy");
    if (rc == 0 && (bytes != json_integer_value(bytes_j) || strcmp(hex, sha) != 0))
        rc = complain(service, "the copy's size or SHA-256 is not the manifest's");
    if (rc == 0) {
        memcpy(ok_copy->sha, hex, sizeof hex);
        ok_copy->bytes = bytes;
    }
    sqlite3 *db = NULL;
    char text[64], want[32];
    snprintf(want, sizeof want, "%lld", (long long)json_integer_value(ver_j));
    if (rc == 0 && (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
                    query_text(db, "PRAGMA integrity_check", text, sizeof text) != 0 ||
                    strcmp(text, "ok") != 0))
        rc = complain(service, "the copy fails SQLite's integrity check");
    if (rc == 0 &&
        (query_text(db, "PRAGMA user_version", text, sizeof text) != 0 || strcmp(text, want) != 0))
        rc = complain(service, "the copy's schema version is not the manifest's");
    sqlite3_close(db);
    json_decref(m);
    return rc;
}

static int copy_store(const char *dir, const char *target, const char *service,
                      const checked_t *want)
{
    char src[PATH_BYTES], tmp[PATH_BYTES], dst[PATH_BYTES];
    snprintf(src, sizeof src, "%s/%s.db", dir, service);
    snprintf(tmp, sizeof tmp, "%s/%s.db.tmp", target, service);
    snprintf(dst, sizeof dst, "%s/%s.db", target, service);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    static char buf[1 << 16];
    ssize_t n = 0;
    bool ok = in >= 0 && out >= 0;
    while (ok && (n = read(in, buf, sizeof buf)) > 0)
        ok = write(out, buf, (size_t)n) == n;
    ok = ok && n == 0 && fchmod(out, 0600) == 0 && fsync(out) == 0;
    if (in >= 0)
        close(in);
    if (out >= 0)
        ok = close(out) == 0 && ok;
    if (!ok) {
        unlink(tmp);
        return complain(service, strerror(errno));
    }
    char hex[65];
    int64_t bytes = -1;
    if (wh_sha256_file(tmp, hex, &bytes) != 0 || bytes != want->bytes ||
        strcmp(hex, want->sha) != 0) {
        unlink(tmp);
        return complain(service, "the backup changed while it was copied; nothing of it is used");
    }
    if (rename(tmp, dst) != 0) {
        unlink(tmp);
        return complain(service, strerror(errno));
    }
    return 0;
}

/* 0 when path is an empty directory (created 0700 when absent). */
static int empty_target(const char *path)
{
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST) {
        fprintf(stderr, "workhealth-restore: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "workhealth-restore: %s is not a directory\n", path);
        return -1;
    }
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)) != NULL)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    if (entries > 0) {
        fprintf(stderr,
                "workhealth-restore: %s is not empty; restore only into an empty "
                "data directory\n",
                path);
        return -1;
    }
    return chmod(path, 0700);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: workhealth-restore <backup-dir> <empty-data-dir>\n");
        return 2;
    }
    const char *dir = argv[1], *target = argv[2];
    if (strlen(dir) > PATH_BYTES - 64 || strlen(target) > PATH_BYTES - 64) {
        fprintf(stderr, "workhealth-restore: path too long\n");
        return 2;
    }
    int bad = 0;
    checked_t checked[N_SERVICES];
    for (size_t i = 0; i < N_SERVICES; i++)
        bad |= check_store(dir, services[i], &checked[i]) != 0;
    if (bad) {
        fprintf(stderr, "workhealth-restore: %s is not a complete backup; nothing restored\n", dir);
        return 1;
    }
    if (empty_target(target) != 0)
        return 1;
    for (size_t i = 0; i < N_SERVICES; i++)
        if (copy_store(dir, target, services[i], &checked[i]) != 0)
            return 1;
    int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        fprintf(stderr, "workhealth-restore: cannot sync %s\n", target);
        return 1;
    }
    close(fd);
    printf("%s\n", target);
    return 0;
}
