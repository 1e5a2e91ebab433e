/* common/config.c: defaults, environment overrides, the data directory
 * created with mode 0700, paths under it, and each length limit (the
 * fixed buffers, and the 107 bytes of an ipc:// socket path). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "err.h"

static char base[64];

static void clear_env(void)
{
    static const char *const vars[] = {"WH_HTTP_ADDR",
                                       "WH_DATA_DIR",
                                       "WH_BROKER_BIND",
                                       "WH_BROKER_CONNECT",
                                       "WH_ADMIN_TOKEN",
                                       "WH_PUBLIC_URL",
                                       "WH_SMTP_URL",
                                       "WH_MAIL_FROM",
                                       "WH_NOW",
                                       "WH_LOG_LEVEL",
                                       NULL};
    for (int i = 0; vars[i]; i++)
        CHECK_INT(unsetenv(vars[i]), 0);
}

static void test_defaults(void)
{
    clear_env();
    char dir[128];
    snprintf(dir, sizeof dir, "%s/data", base);
    CHECK_INT(setenv("WH_DATA_DIR", dir, 1), 0);
    wh_config_t cfg;
    CHECK_INT(wh_config_load(&cfg, "test"), 0);
    CHECK_STR(cfg.http_addr, "127.0.0.1:8080");
    CHECK_STR(cfg.data_dir, dir);
    char ipc[200];
    snprintf(ipc, sizeof ipc, "ipc://%s/broker.ipc", dir);
    CHECK_STR(cfg.broker_bind, ipc);
    CHECK_STR(cfg.broker_connect, ipc);
    CHECK(cfg.admin_token == NULL);
    CHECK(cfg.public_url == NULL);
    CHECK(cfg.smtp_url == NULL);
    CHECK_STR(cfg.mail_from, "workhealth@localhost");
    /* Created, private. */
    struct stat st;
    CHECK_INT(stat(dir, &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_INT(st.st_mode & 0777, 0700);
    /* Loading again with the directory present is fine. */
    CHECK_INT(wh_config_load(&cfg, "test"), 0);
    char p[WH_PATH_MAX];
    CHECK_INT(wh_config_path(&cfg, "agreements.db", p), 0);
    char want[200];
    snprintf(want, sizeof want, "%s/agreements.db", dir);
    CHECK_STR(p, want);
    CHECK_INT(rmdir(dir), 0);
}

static void test_overrides(void)
{
    clear_env();
    char dir[128];
    snprintf(dir, sizeof dir, "%s/other", base);
    CHECK_INT(setenv("WH_DATA_DIR", dir, 1), 0);
    CHECK_INT(setenv("WH_HTTP_ADDR", "0.0.0.0:9090", 1), 0);
    CHECK_INT(setenv("WH_BROKER_BIND", "tcp://*:5555", 1), 0);
    CHECK_INT(setenv("WH_BROKER_CONNECT", "tcp://gateway:5555", 1), 0);
    CHECK_INT(setenv("WH_ADMIN_TOKEN", "secret", 1), 0);
    CHECK_INT(setenv("WH_PUBLIC_URL", "https://wh.example", 1), 0);
    CHECK_INT(setenv("WH_SMTP_URL", "smtp://mail:25", 1), 0);
    CHECK_INT(setenv("WH_MAIL_FROM", "noreply@wh.example", 1), 0);
    wh_config_t cfg;
    CHECK_INT(wh_config_load(&cfg, "test"), 0);
    CHECK_STR(cfg.http_addr, "0.0.0.0:9090");
    CHECK_STR(cfg.broker_bind, "tcp://*:5555");
    CHECK_STR(cfg.broker_connect, "tcp://gateway:5555");
    CHECK_STR(cfg.admin_token, "secret");
    CHECK_STR(cfg.public_url, "https://wh.example");
    CHECK_STR(cfg.smtp_url, "smtp://mail:25");
    CHECK_STR(cfg.mail_from, "noreply@wh.example");
    /* Empty means unset. */
    CHECK_INT(setenv("WH_ADMIN_TOKEN", "", 1), 0);
    CHECK_INT(setenv("WH_HTTP_ADDR", "", 1), 0);
    CHECK_INT(wh_config_load(&cfg, "test"), 0);
    CHECK(cfg.admin_token == NULL);
    CHECK_STR(cfg.http_addr, "127.0.0.1:8080");
    CHECK_INT(rmdir(dir), 0);
}

static void test_bad_environment(void)
{
    clear_env();
    char dir[128];
    snprintf(dir, sizeof dir, "%s/bad", base);
    CHECK_INT(setenv("WH_DATA_DIR", dir, 1), 0);
    wh_config_t cfg;
    CHECK_INT(setenv("WH_NOW", "yesterday", 1), 0);
    CHECK_INT(wh_config_load(&cfg, "test"), WH_EINVAL);
    CHECK_INT(unsetenv("WH_NOW"), 0);

    /* Buffers: http_addr holds 127 bytes. */
    char addr[200];
    memset(addr, 'a', sizeof addr);
    addr[sizeof cfg.http_addr] = '\0';
    CHECK_INT(setenv("WH_HTTP_ADDR", addr, 1), 0);
    CHECK_INT(wh_config_load(&cfg, "test"), WH_ELIMIT);
    addr[sizeof cfg.http_addr - 1] = '\0';
    CHECK_INT(setenv("WH_HTTP_ADDR", addr, 1), 0);
    CHECK_INT(wh_config_load(&cfg, "test"), 0);
    CHECK_INT(strlen(cfg.http_addr), sizeof cfg.http_addr - 1);
    CHECK_INT(unsetenv("WH_HTTP_ADDR"), 0);
    CHECK_INT(rmdir(dir), 0);

    /* An endpoint too long for its buffer is refused, not cut. */
    char ep[WH_PATH_MAX + 10];
    memset(ep, 'e', sizeof ep);
    memcpy(ep, "tcp://", 6);
    ep[sizeof ep - 1] = '\0';
    CHECK_INT(setenv("WH_BROKER_BIND", ep, 1), 0);
    CHECK_INT(wh_config_load(&cfg, "test"), WH_ELIMIT);
    CHECK_INT(unsetenv("WH_BROKER_BIND"), 0);
    CHECK_INT(setenv("WH_BROKER_CONNECT", ep, 1), 0);
    CHECK_INT(wh_config_load(&cfg, "test"), WH_ELIMIT);
    CHECK_INT(unsetenv("WH_BROKER_CONNECT"), 0);

    /* A data directory that cannot be created. */
    CHECK_INT(setenv("WH_DATA_DIR", "/nonexistent-parent/x", 1), 0);
    CHECK_INT(wh_config_load(&cfg, "test"), WH_EIO);
}

static void test_ipc_path_limit(void)
{
    /* The default endpoint is a Unix socket under the data directory, so
     * "<dir>/broker.ipc" must fit sun_path (with its NUL). */
    clear_env();
    size_t room = sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - strlen("/broker.ipc");
    char dir[256];
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)snprintf(dir, sizeof dir, "%s/", base);
        memset(dir + n, 'd', room + (size_t)extra - n);
        dir[room + (size_t)extra] = '\0';
        CHECK_INT(strlen(dir), room + (size_t)extra);
        CHECK_INT(setenv("WH_DATA_DIR", dir, 1), 0);
        wh_config_t cfg;
        CHECK_INT(wh_config_load(&cfg, "test"), extra ? WH_ELIMIT : 0);
        if (!extra)
            CHECK_INT(rmdir(dir), 0);
        /* With tcp endpoints the long directory is fine. */
        CHECK_INT(setenv("WH_BROKER_BIND", "tcp://127.0.0.1:5555", 1), 0);
        CHECK_INT(setenv("WH_BROKER_CONNECT", "tcp://127.0.0.1:5555", 1), 0);
        CHECK_INT(wh_config_load(&cfg, "test"), 0);
        CHECK_INT(rmdir(dir), 0);
        CHECK_INT(unsetenv("WH_BROKER_BIND"), 0);
        CHECK_INT(unsetenv("WH_BROKER_CONNECT"), 0);
    }
}

static void test_path_limit(void)
{
    wh_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    memset(cfg.data_dir, 'd', 500);
    cfg.data_dir[500] = '\0';
    char p[WH_PATH_MAX];
    /* 500 + "/" + 10 = 511 bytes and the NUL: fits; one more does not. */
    CHECK_INT(wh_config_path(&cfg, "1234567890", p), 0);
    CHECK_INT(strlen(p), 511);
    CHECK_INT(wh_config_path(&cfg, "12345678901", p), WH_ELIMIT);
}

/* WH_RETRY_SCALE: a number in (0, 1000]; anything else is 1 and reported. */
static void test_retry_scale(void)
{
    int ok;
    CHECK(wh_config_scale_parse("0.001", &ok) == 0.001 && ok);
    CHECK(wh_config_scale_parse(NULL, &ok) == 1.0 && ok);
    CHECK(wh_config_scale_parse("", &ok) == 1.0 && ok);
    CHECK(wh_config_scale_parse("0", &ok) == 1.0 && !ok);
    CHECK(wh_config_scale_parse("-1", &ok) == 1.0 && !ok);
    CHECK(wh_config_scale_parse("fast", &ok) == 1.0 && !ok);
    CHECK(wh_config_scale_parse("1000", &ok) == 1000.0 && ok);
    CHECK(wh_config_scale_parse("1001", &ok) == 1.0 && !ok);
}

int main(void)
{
    snprintf(base, sizeof base, "/tmp/wh-config-test-XXXXXX");
    CHECK(mkdtemp(base) != NULL);
    TEST(test_defaults);
    TEST(test_retry_scale);
    TEST(test_overrides);
    TEST(test_bad_environment);
    TEST(test_ipc_path_limit);
    TEST(test_path_limit);
    CHECK_INT(rmdir(base), 0);
    return 0;
}
