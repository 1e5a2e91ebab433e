/* A growable byte buffer the caller embeds (wh_buf_init/wh_buf_close). Used
 * for building HTTP responses, JSON text and log lines. It is always kept
 * NUL-terminated so that text can be passed on as a C string; len does not
 * count the terminator. Allocation failure is sticky: after one, every append
 * is a no-op and wh_buf_failed() says so, so that a caller can append freely
 * and check once at the end. */
#ifndef WH_BUF_H
#define WH_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct wh_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} wh_buf_t;

void wh_buf_init(wh_buf_t *b);
void wh_buf_close(wh_buf_t *b);
void wh_buf_reset(wh_buf_t *b); /* len = 0, keeps the allocation */
int wh_buf_reserve(wh_buf_t *b, size_t extra);
void wh_buf_append(wh_buf_t *b, const void *p, size_t n);
void wh_buf_puts(wh_buf_t *b, const char *s);
void wh_buf_putc(wh_buf_t *b, char c);
void wh_buf_printf(wh_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wh_buf_vprintf(wh_buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s as a JSON string literal, quotes included. */
void wh_buf_json_str(wh_buf_t *b, const char *s, size_t n);
/* Appends s with the characters special in HTML text and attribute values
 * (& < > " ') as entities. */
void wh_buf_html(wh_buf_t *b, const char *s, size_t n);
/* Percent-decodes in[0..n) into out, which has room for n + 1 bytes, '+'
 * as a space when plus_space (forms, query strings), and terminates it.
 * The decoded length, or -1 for a malformed escape or a NUL byte. */
long wh_pct_decode(const char *in, size_t n, bool plus_space, char *out);
/* Hands the allocation to the caller (who frees it) and re-initialises b. */
char *wh_buf_steal(wh_buf_t *b, size_t *len);
static inline bool wh_buf_failed(const wh_buf_t *b)
{
    return b->failed;
}

#endif
