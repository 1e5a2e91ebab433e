/* JSON-lines logging on stderr: one object per line with time, level,
 * service, an optional request id and a message. Messages name what
 * happened, never health data: no answers, scores, subjects or bodies. */
#ifndef WH_LOG_H
#define WH_LOG_H

enum { WH_LOG_DEBUG, WH_LOG_INFO, WH_LOG_WARN, WH_LOG_ERROR };

/* service names the process; the level comes from WH_LOG_LEVEL
 * (debug|info|warn|error, default info). */
void wh_log_init(const char *service);
int wh_log_enabled(int level);
void wh_log(int level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define wh_log_info(...)  wh_log(WH_LOG_INFO, NULL, __VA_ARGS__)
#define wh_log_warn(...)  wh_log(WH_LOG_WARN, NULL, __VA_ARGS__)
#define wh_log_error(...) wh_log(WH_LOG_ERROR, NULL, __VA_ARGS__)
#define wh_log_debug(...) wh_log(WH_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
