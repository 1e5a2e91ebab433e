/* workhealth-backup [backup_id]: an online backup of every store of a running
 * stack. Asks the gateway to have each service copy its own store into
 * <WH_BACKUP_DIR>/<backup_id>/ (POST /v1/backups/{backup_id}/{service}, see
 * services/runtime/backup.h), one store after the other, and prints the
 * backup's directory. Exits non-zero as soon as one store fails.
 *
 * The gateway is WH_GATEWAY_URL, else http://<WH_HTTP_ADDR> (0.0.0.0 means
 * this host); the admin token is WH_ADMIN_TOKEN, else the file
 * <WH_DATA_DIR>/admin.token. backup_id defaults to the UTC time,
 * e.g. 20261203T071500Z.
 *
 * With WH_BACKUP_KEEP = N (1 to 100000; 0 or unset keeps all), once every
 * store is copied it has each service keep its N newest copies and remove
 * the older ones (POST /v1/backups/{backup_id}/{service}/prune?keep=N).
 * Exit status: 0 done, 1 the backup is incomplete (nothing removed), 2 bad
 * arguments or settings, 3 complete but a removal failed. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPLY_BYTES (64 * 1024)
#define MAX_TOKEN_BYTES 256
#define MAX_URL_BYTES   1024
#define MAX_KEEP        100000 /* WH_BACKUP_KEEP_MAX in services/runtime/backup.h */

static const char *const services[] = {"gateway", "agreements", "surveys", "screening",
                                       "notifications"};

struct reply {
    char data[MAX_REPLY_BYTES];
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t len = size * n;
    if (len > sizeof r->data - 1 - r->len)
        return 0; /* over the limit: the transfer fails */
    memcpy(r->data + r->len, p, len);
    r->len += len;
    r->data[r->len] = '\0';
    return len;
}

static int read_token(char *out, size_t cap)
{
    const char *env = getenv("WH_ADMIN_TOKEN");
    if (env && *env) {
        if (strlen(env) >= cap)
            return -1;
        snprintf(out, cap, "%s", env);
        return 0;
    }
    const char *data = getenv("WH_DATA_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/admin.token", data && *data ? data : "./var");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "workhealth-backup: no WH_ADMIN_TOKEN and cannot read %s\n", path);
        return -1;
    }
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] ? 0 : -1;
}

static void gateway_url(char *out, size_t cap)
{
    const char *url = getenv("WH_GATEWAY_URL");
    if (url && *url) {
        snprintf(out, cap, "%s", url);
    } else {
        const char *addr = getenv("WH_HTTP_ADDR");
        if (!addr || !*addr)
            addr = "127.0.0.1:8080";
        if (strncmp(addr, "0.0.0.0:", 8) == 0)
            snprintf(out, cap, "http://127.0.0.1:%s", addr + 8);
        else
            snprintf(out, cap, "http://%s", addr);
    }
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

/* POSTs to url with the token; the reply's JSON (NULL when there is none)
 * and its status. */
static json_t *post(CURL *c, const char *url, const char *auth, const char *service, long *status)
{
    struct reply r = {.len = 0};
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (rc != CURLE_OK) {
        fprintf(stderr, "workhealth-backup: %s: %s\n", service, curl_easy_strerror(rc));
        return NULL;
    }
    return json_loadb(r.data, r.len, 0, NULL);
}

/* The reply when it has the status expected; else says why and NULL. */
static json_t *expect(json_t *j, long status, long want, const char *service)
{
    if (status == want && j)
        return j;
    if (status) {
        const char *detail = j ? json_string_value(json_object_get(j, "detail")) : NULL;
        fprintf(stderr, "workhealth-backup: %s: HTTP %ld: %s\n", service, status,
                detail ? detail : "no details");
    }
    json_decref(j);
    return NULL;
}

/* Backs up one store; prints its directory to dir (once known). */
static int backup_one(CURL *c, const char *base, const char *auth, const char *id,
                      const char *service, char *dir, size_t dir_cap)
{
    char url[MAX_URL_BYTES];
    snprintf(url, sizeof url, "%s/v1/backups/%s/%s", base, id, service);
    long status;
    json_t *j = post(c, url, auth, service, &status);
    j = expect(j, status, 201, service);
    if (!j)
        return -1;
    const char *path = json_string_value(json_object_get(j, "path"));
    fprintf(stderr, "workhealth-backup: %s: %lld bytes in %.1f s\n", service,
            (long long)json_integer_value(json_object_get(j, "bytes")),
            json_number_value(json_object_get(j, "seconds")));
    if (path && !dir[0]) {
        snprintf(dir, dir_cap, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
    }
    json_decref(j);
    return 0;
}

/* Has one store remove its copies older than the keep newest. */
static int prune_one(CURL *c, const char *base, const char *auth, const char *id,
                     const char *service, long keep)
{
    char url[MAX_URL_BYTES];
    snprintf(url, sizeof url, "%s/v1/backups/%s/%s/prune?keep=%ld", base, id, service, keep);
    long status;
    json_t *j = post(c, url, auth, service, &status);
    j = expect(j, status, 200, service);
    if (!j)
        return -1;
    fprintf(stderr, "workhealth-backup: %s: %lld older copies removed, %lld kept\n", service,
            (long long)json_integer_value(json_object_get(j, "removed")),
            (long long)json_integer_value(json_object_get(j, "kept")));
    json_decref(j);
    return 0;
}

/* WH_BACKUP_KEEP: digits only, 0 (keep all, the default) to MAX_KEEP. */
static long keep_setting(void)
{
    const char *k = getenv("WH_BACKUP_KEEP");
    if (!k || !*k)
        return 0;
    if (strlen(k) > 6 || strspn(k, "0123456789") != strlen(k) || atol(k) > MAX_KEEP)
        return -1;
    return atol(k);
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: workhealth-backup [backup_id]\n");
        return 2;
    }
    char id[80];
    if (argc == 2) {
        snprintf(id, sizeof id, "%s", argv[1]);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(id, sizeof id, "%Y%m%dT%H%M%SZ", &tm);
    }
    long keep = keep_setting();
    if (keep < 0) {
        fprintf(stderr,
                "workhealth-backup: WH_BACKUP_KEEP is not a whole number from 0 (keep "
                "all) to %d\n",
                MAX_KEEP);
        return 2;
    }
    char token[MAX_TOKEN_BYTES], auth[MAX_TOKEN_BYTES + 32], base[MAX_URL_BYTES / 2];
    if (read_token(token, sizeof token) != 0) {
        fprintf(stderr, "workhealth-backup: no usable admin token\n");
        return 1;
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    gateway_url(base, sizeof base);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    CURL *c = curl_easy_init();
    int rc = c ? 0 : 1;
    char dir[1024] = "";
    for (size_t i = 0; rc == 0 && i < sizeof services / sizeof services[0]; i++)
        if (backup_one(c, base, auth, id, services[i], dir, sizeof dir) != 0)
            rc = 1;
    /* Only once every store is in this backup: a store whose backups keep
     * failing must not see the other stores' older copies go. */
    for (size_t i = 0; rc == 0 && keep > 0 && i < sizeof services / sizeof services[0]; i++)
        if (prune_one(c, base, auth, id, services[i], keep) != 0)
            rc = 3;
    curl_easy_cleanup(c);
    curl_global_cleanup();
    if (rc == 0 || rc == 3)
        printf("%s\n", dir);
    if (rc == 1)
        fprintf(stderr, "workhealth-backup: backup %s is incomplete\n", id);
    else if (rc == 3)
        fprintf(stderr,
                "workhealth-backup: backup %s is complete, but older copies could not "
                "all be removed\n",
                id);
    return rc;
}
