#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"

static const char *log_service = "workhealth";
static int log_level = WH_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void wh_log_init(const char *service)
{
    log_service = service;
    const char *lv = getenv("WH_LOG_LEVEL");
    if (lv)
        for (int i = 0; i < 4; i++)
            if (strcmp(lv, level_names[i]) == 0)
                log_level = i;
}

int wh_log_enabled(int level)
{
    return level >= log_level;
}

void wh_log(int level, const char *request_id, const char *fmt, ...)
{
    if (level < log_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The log's time is the real time, not the test clock: operators
     * correlate logs with the outside world. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[WH_RFC3339_LEN];
    wh_clock_format_rfc3339((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when);
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"svc\":", when, level_names[level]);
    wh_buf_json_str(&b, log_service, strlen(log_service));
    if (request_id) {
        wh_buf_puts(&b, ",\"request_id\":");
        wh_buf_json_str(&b, request_id, strlen(request_id));
    }
    wh_buf_puts(&b, ",\"msg\":");
    wh_buf_json_str(&b, msg, strlen(msg));
    wh_buf_puts(&b, "}\n");
    if (!wh_buf_failed(&b))
        fwrite(b.data, 1, b.len, stderr);
    wh_buf_close(&b);
}
