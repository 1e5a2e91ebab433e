#define _GNU_SOURCE
#include "assets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct assets {
    char dir[PATH_MAX];
    asset_t *files; /* sorted by name */
    size_t n;
};

static const struct {
    const char *ext;
    const char *type;
} TYPES[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/vnd.microsoft.icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(dot, TYPES[i].ext) == 0)
            return TYPES[i].type;
    return NULL;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > ASSETS_MAX_NAME_BYTES || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const asset_t *)a)->name, ((const asset_t *)b)->name);
}

static int read_file(int dfd, const char *name, char **data, size_t *len, size_t room)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > room) {
        close(fd);
        errno = EFBIG;
        return -1;
    }
    size_t n = (size_t)st.st_size;
    char *p = malloc(n ? n : 1);
    size_t got = 0;
    while (p && got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!p || got != n) {
        free(p);
        return -1;
    }
    *data = p;
    *len = n;
    return 0;
}

static void default_dir(char *out, size_t len)
{
    char exe[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, len, "pages");
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    struct stat st;
    snprintf(out, len, "%s/pages", exe);
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
        return;
    snprintf(out, len, "%s/../share/workhealth/pages", exe);
}

int assets_load(const char *dir, assets_t **out, char *why, size_t why_len)
{
    *out = NULL;
    assets_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    if (dir && *dir)
        snprintf(a->dir, sizeof a->dir, "%s", dir);
    else
        default_dir(a->dir, sizeof a->dir);
    DIR *d = opendir(a->dir);
    if (!d) {
        snprintf(why, why_len, "pages directory %s: %s", a->dir, strerror(errno));
        free(a);
        return -1;
    }
    a->files = calloc(ASSETS_MAX_FILES, sizeof *a->files);
    size_t total = 0;
    int rc = a->files ? 0 : -1;
    if (rc)
        snprintf(why, why_len, "out of memory");
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        const char *type = type_of(e->d_name);
        struct stat st;
        if (!name_ok(e->d_name) || !type ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (a->n == ASSETS_MAX_FILES) {
            snprintf(why, why_len, "pages directory %s: more than ASSETS_MAX_FILES (%d) files",
                     a->dir, ASSETS_MAX_FILES);
            rc = -1;
            break;
        }
        asset_t *f = &a->files[a->n];
        if (read_file(dirfd(d), e->d_name, &f->data, &f->len, ASSETS_MAX_BYTES - total) != 0) {
            snprintf(why, why_len, "%s/%s: %s", a->dir, e->d_name,
                     errno == EFBIG ? "the pages would pass ASSETS_MAX_BYTES" : strerror(errno));
            rc = -1;
            break;
        }
        total += f->len;
        memcpy(f->name, e->d_name, strlen(e->d_name) + 1); /* name_ok bounded it */
        f->content_type = type;
        uint64_t h = 1469598103934665603ull; /* FNV-1a: a validator, not a secret */
        for (size_t i = 0; i < f->len; i++)
            h = (h ^ (unsigned char)f->data[i]) * 1099511628211ull;
        snprintf(f->etag, sizeof f->etag, "\"%016llx\"", (unsigned long long)h);
        a->n++;
    }
    closedir(d);
    if (rc != 0) {
        assets_free(&a);
        return -1;
    }
    qsort(a->files, a->n, sizeof *a->files, by_name);
    *out = a;
    return 0;
}

const asset_t *assets_find(const assets_t *a, const char *name)
{
    if (!a || !name_ok(name))
        return NULL;
    asset_t key;
    memcpy(key.name, name, strlen(name) + 1); /* name_ok bounded it */
    return bsearch(&key, a->files, a->n, sizeof *a->files, by_name);
}

size_t assets_count(const assets_t *a)
{
    return a ? a->n : 0;
}

const char *assets_dir(const assets_t *a)
{
    return a ? a->dir : "";
}

void assets_free(assets_t **ap)
{
    assets_t *a = *ap;
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        free(a->files[i].data);
    free(a->files);
    free(a);
    *ap = NULL;
}
