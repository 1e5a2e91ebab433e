#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "clock.h"
#include "err.h"
#include "log.h"

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static int copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return WH_ELIMIT;
    memcpy(dst, src, n + 1);
    return 0;
}

int wh_config_path(const wh_config_t *cfg, const char *name, char out[WH_PATH_MAX])
{
    int n = snprintf(out, WH_PATH_MAX, "%s/%s", cfg->data_dir, name);
    return n < 0 || n >= WH_PATH_MAX ? WH_ELIMIT : 0;
}

int wh_config_load(wh_config_t *cfg, const char *service)
{
    memset(cfg, 0, sizeof *cfg);
    wh_log_init(service);
    if (wh_clock_init() != 0) {
        wh_log_error("WH_NOW is not an RFC 3339 instant");
        return WH_EINVAL;
    }
    if (copy(cfg->http_addr, sizeof cfg->http_addr, env_or("WH_HTTP_ADDR", "127.0.0.1:8080")) ||
        copy(cfg->data_dir, sizeof cfg->data_dir, env_or("WH_DATA_DIR", "./var"))) {
        wh_log_error("WH_HTTP_ADDR or WH_DATA_DIR too long");
        return WH_ELIMIT;
    }
    char ipc[WH_PATH_MAX];
    if (snprintf(ipc, sizeof ipc, "ipc://%s/broker.ipc", cfg->data_dir) >= (int)sizeof ipc ||
        copy(cfg->broker_bind, sizeof cfg->broker_bind, env_or("WH_BROKER_BIND", ipc)) ||
        copy(cfg->broker_connect, sizeof cfg->broker_connect, env_or("WH_BROKER_CONNECT", ipc))) {
        wh_log_error("WH_BROKER_BIND, WH_BROKER_CONNECT or the data directory too long");
        return WH_ELIMIT;
    }
    /* ipc:// paths are limited by sun_path (107 bytes); an overlong data
     * directory path is reported here rather than as a bind failure. */
    const size_t sun_max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
    const char *eps[2] = {cfg->broker_bind, cfg->broker_connect};
    for (int i = 0; i < 2; i++)
        if (strncmp(eps[i], "ipc://", 6) == 0 && strlen(eps[i]) - 6 > sun_max) {
            wh_log_error("the socket path of %s is longer than %zu bytes", eps[i], sun_max);
            return WH_ELIMIT;
        }
    cfg->admin_token = getenv("WH_ADMIN_TOKEN");
    if (cfg->admin_token && !*cfg->admin_token)
        cfg->admin_token = NULL;
    cfg->public_url = getenv("WH_PUBLIC_URL");
    cfg->smtp_url = getenv("WH_SMTP_URL");
    cfg->mail_from = env_or("WH_MAIL_FROM", "workhealth@localhost");
    cfg->webhook_allow = getenv("WH_WEBHOOK_ALLOW");
    cfg->mail_per_org_hour = getenv("WH_MAIL_PER_ORG_HOUR");
    cfg->curve_secret = env_or("WH_CURVE_SECRET_KEY", NULL);
    cfg->broker_public = env_or("WH_BROKER_PUBLIC_KEY", NULL);
    cfg->curve_allowed = env_or("WH_CURVE_ALLOWED_KEYS", NULL);
    cfg->broker_insecure = strcmp(env_or("WH_BROKER_INSECURE", "0"), "1") == 0;
    char curve_dir[WH_PATH_MAX];
    if (snprintf(curve_dir, sizeof curve_dir, "%s/curve", cfg->data_dir) >= (int)sizeof curve_dir ||
        copy(cfg->curve_dir, sizeof cfg->curve_dir, env_or("WH_CURVE_DIR", curve_dir))) {
        wh_log_error("WH_CURVE_DIR or the data directory too long");
        return WH_ELIMIT;
    }
    int ok;
    cfg->retry_scale = wh_config_scale_parse(getenv("WH_RETRY_SCALE"), &ok);
    if (!ok)
        wh_log_warn("WH_RETRY_SCALE is not a number in (0, 1000]; using 1");
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        wh_log_error("cannot create data directory %s: %s", cfg->data_dir, strerror(errno));
        return WH_EIO;
    }
    return 0;
}

double wh_config_scale_parse(const char *s, int *ok)
{
    *ok = 1;
    if (!s || !*s)
        return 1.0;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !(v > 0.0) || v > 1000.0) {
        *ok = 0;
        return 1.0;
    }
    return v;
}
