/* JSON-lines logging on stderr: one object per line,
 *     {"time":"2025-01-01T09:30:00.123Z","level":"info","service":"surveys",
 *      "request_id":"01J...","msg":"SURVEYS_CREATE 201 2.1ms"}
 * time is the real time in UTC with milliseconds (not the WH_NOW clock),
 * request_id is present when the line belongs to a request, and every
 * string is escaped so that a line is always one valid JSON object, whatever
 * bytes a message holds (quotes, newlines and invalid UTF-8 from an error
 * text included). Messages name what happened, never health data, codes,
 * tokens, secrets, addresses or bodies. The format is described for
 * operators in docs/ARCHITECTURE.md ("Logs"). */
#ifndef WH_LOG_H
#define WH_LOG_H

enum { WH_LOG_DEBUG, WH_LOG_INFO, WH_LOG_WARN, WH_LOG_ERROR };

#define WH_LOG_MAX_MSG        1023 /* bytes of a message; longer ones are cut */
#define WH_LOG_MAX_REQUEST_ID 64   /* the envelope's request id (WH_ENV_MAX_ID) */

/* service names the process; the level comes from WH_LOG_LEVEL
 * (debug|info|warn|error, default info). */
void wh_log_init(const char *service);
int wh_log_enabled(int level);
/* A line under request_id; NULL means the current request's (below), if any. */
void wh_log(int level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The request the process is handling now (the runtime sets it around each
 * dispatch), so that every line written meanwhile names it without the
 * handlers passing it on. NULL or "" clears it; a longer id than
 * WH_LOG_MAX_REQUEST_ID is cut. wh_log_request() is NULL when there is none. */
void wh_log_set_request(const char *request_id);
const char *wh_log_request(void);

#define wh_log_info(...)  wh_log(WH_LOG_INFO, NULL, __VA_ARGS__)
#define wh_log_warn(...)  wh_log(WH_LOG_WARN, NULL, __VA_ARGS__)
#define wh_log_error(...) wh_log(WH_LOG_ERROR, NULL, __VA_ARGS__)
#define wh_log_debug(...) wh_log(WH_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
