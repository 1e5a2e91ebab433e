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
/* Processes are single-threaded loops: one current request per process. */
static char current_request[WH_LOG_MAX_REQUEST_ID + 1];

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

void wh_log_set_request(const char *request_id)
{
    /* Set twice per request: a copy, not a formatted print. */
    const char *r = request_id ? request_id : "";
    wh_copy_cut(current_request, sizeof current_request, r, strnlen(r, sizeof current_request));
}

const char *wh_log_request(void)
{
    return current_request[0] ? current_request : NULL;
}

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0
 * when it is not one (stray continuation byte, overlong form, surrogate,
 * beyond U+10FFFF, or cut off, as a message cut at WH_LOG_MAX_MSG can be). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* s as a JSON string: escaped like wh_buf_json_str, and each byte that is
 * not part of well-formed UTF-8 replaced by U+FFFD, so that every line
 * parses as JSON whatever an error text from a library holds. */
static void put_str(wh_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    wh_buf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = utf8_len(p + i, n - i);
        if (len == 0) {
            wh_buf_puts(b, "\\ufffd");
            i++;
        } else if (len > 1) {
            wh_buf_append(b, p + i, len);
            i += len;
        } else {
            i++;
            if (c == '"' || c == '\\') {
                wh_buf_putc(b, '\\');
                wh_buf_putc(b, (char)c);
            } else if (c == '\n') {
                wh_buf_puts(b, "\\n");
            } else if (c == '\r') {
                wh_buf_puts(b, "\\r");
            } else if (c == '\t') {
                wh_buf_puts(b, "\\t");
            } else if (c < 0x20 || c == 0x7f) {
                char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0'};
                wh_buf_puts(b, u);
            } else {
                wh_buf_putc(b, (char)c);
            }
        }
    }
    wh_buf_putc(b, '"');
}

void wh_log(int level, const char *request_id, const char *fmt, ...)
{
    if (level < log_level)
        return;
    char msg[WH_LOG_MAX_MSG + 1];
    va_list ap;
    va_start(ap, fmt);
    int full = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (full > WH_LOG_MAX_MSG) {
        /* Cut before a character that the limit split, not in it. */
        size_t n = WH_LOG_MAX_MSG, lead = n;
        while (lead > 0 && n - lead < 4 && ((unsigned char)msg[lead - 1] & 0xc0) == 0x80)
            lead--;
        if (lead > 0 && (unsigned char)msg[lead - 1] >= 0xc0 &&
            utf8_len((const unsigned char *)msg + lead - 1, n - lead + 1) == 0)
            msg[lead - 1] = '\0';
    }
    if (!request_id)
        request_id = wh_log_request();
    /* The log's time is the real time, not the test clock: operators
     * correlate logs with the outside world. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[WH_RFC3339_LEN];
    wh_clock_format_rfc3339((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when);
    wh_buf_t b;
    wh_buf_init(&b);
    wh_buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"service\":", when, level_names[level]);
    put_str(&b, log_service);
    if (request_id) {
        wh_buf_puts(&b, ",\"request_id\":");
        put_str(&b, request_id);
    }
    wh_buf_puts(&b, ",\"msg\":");
    put_str(&b, msg);
    wh_buf_puts(&b, "}\n");
    /* One write per line (stderr is unbuffered), so that lines of one
     * process never interleave. */
    if (!wh_buf_failed(&b))
        fwrite(b.data, 1, b.len, stderr);
    wh_buf_close(&b);
}
