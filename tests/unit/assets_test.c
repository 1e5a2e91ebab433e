/* The pages' static files: what is loaded, what is skipped, and the limits
 * on their number and size, each crossed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "assets.h"
#include "check.h"
#include "tmpdir.h"

static char dir[64];

static void put(const char *name, size_t len)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    for (size_t i = 0; i < len; i++)
        fputc('a' + (int)(i % 26), f);
    CHECK_INT(fclose(f), 0);
}

static void fresh(void)
{
    snprintf(dir, sizeof dir, "/tmp/wh-assets-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void test_loads_known_files(void)
{
    fresh();
    put("app.css", 10);
    put("app.js", 20);
    put("index.html", 30);
    put("notes.md", 5);    /* unknown type: not served */
    put(".hidden.css", 5); /* dot file: not served */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub.css", dir);
    CHECK_INT(mkdir(sub, 0700), 0); /* a directory with a served name: skipped */
    assets_t *a = NULL;
    char why[256];
    CHECK_INT(assets_load(dir, &a, why, sizeof why), 0);
    CHECK_INT((int)assets_count(a), 3);
    const asset_t *css = assets_find(a, "app.css");
    CHECK(css != NULL);
    CHECK_INT((int)css->len, 10);
    CHECK_STR(css->content_type, "text/css; charset=utf-8");
    CHECK(css->etag[0] == '"' && strlen(css->etag) == 18);
    CHECK(strcmp(css->etag, assets_find(a, "app.js")->etag) != 0);
    CHECK(assets_find(a, "notes.md") == NULL);
    CHECK(assets_find(a, ".hidden.css") == NULL);
    CHECK(assets_find(a, "../app.css") == NULL);
    CHECK(assets_find(a, "sub.css") == NULL);
    CHECK(assets_find(a, "") == NULL);
    assets_free(&a);
    CHECK(a == NULL);
    CHECK_INT(rmdir(sub), 0);
    test_remove_dir(dir);
}

static void test_too_many_files(void)
{
    fresh();
    for (int i = 0; i <= ASSETS_MAX_FILES; i++) {
        char n[32];
        snprintf(n, sizeof n, "f%03d.txt", i);
        put(n, 1);
    }
    assets_t *a = NULL;
    char why[256];
    CHECK_INT(assets_load(dir, &a, why, sizeof why), -1);
    CHECK(strstr(why, "ASSETS_MAX_FILES") != NULL);
    CHECK(a == NULL);
    char n[128];
    snprintf(n, sizeof n, "%s/f%03d.txt", dir, ASSETS_MAX_FILES);
    CHECK_INT(unlink(n), 0); /* exactly at the limit loads */
    CHECK_INT(assets_load(dir, &a, why, sizeof why), 0);
    CHECK_INT((int)assets_count(a), ASSETS_MAX_FILES);
    assets_free(&a);
    test_remove_dir(dir);
}

static void test_too_many_bytes(void)
{
    fresh();
    put("big.js", ASSETS_MAX_BYTES - 1);
    put("one.css", 1);
    assets_t *a = NULL;
    char why[256];
    CHECK_INT(assets_load(dir, &a, why, sizeof why), 0); /* exactly at the limit */
    assets_free(&a);
    put("two.css", 1);
    CHECK_INT(assets_load(dir, &a, why, sizeof why), -1);
    CHECK(strstr(why, "ASSETS_MAX_BYTES") != NULL);
    test_remove_dir(dir);
}

static void test_missing_dir(void)
{
    assets_t *a = NULL;
    char why[256];
    CHECK_INT(assets_load("/nonexistent/wh-pages", &a, why, sizeof why), -1);
    CHECK(strstr(why, "/nonexistent/wh-pages") != NULL);
}

int main(void)
{
    TEST(test_loads_known_files);
    TEST(test_too_many_files);
    TEST(test_too_many_bytes);
    TEST(test_missing_dir);
    return 0;
}
