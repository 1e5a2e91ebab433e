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
#include <string.h>

typedef struct wh_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} wh_buf_t;

void wh_buf_init(wh_buf_t *b);
void wh_buf_close(wh_buf_t *b);
void wh_buf_reset(wh_buf_t *b); /* len = 0, keeps the allocation */
/* Makes room for extra more bytes (and the terminator): 0, or WH_ENOMEM
 * (and the buffer failed). The common case, room already there, is inline:
 * responses are built from many short appends. */
int wh_buf_grow(wh_buf_t *b, size_t extra);
static inline int wh_buf_reserve(wh_buf_t *b, size_t extra)
{
    if (!b->failed && extra < b->cap - b->len)
        return 0;
    return wh_buf_grow(b, extra);
}
static inline void wh_buf_append(wh_buf_t *b, const void *p, size_t n)
{
    if (wh_buf_reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}
static inline void wh_buf_puts(wh_buf_t *b, const char *s)
{
    wh_buf_append(b, s, strlen(s));
}
static inline void wh_buf_putc(wh_buf_t *b, char c)
{
    if (wh_buf_reserve(b, 1) != 0)
        return;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}
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
/* Copies s[0..n) into out (cap > 0), cut to cap - 1 bytes, and
 * terminates it; the bytes copied: snprintf("%s")'s result without its
 * formatting, for copies on the request path. */
static inline size_t wh_copy_cut(char *out, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}
/* Hands the allocation to the caller (who frees it) and re-initialises b. */
char *wh_buf_steal(wh_buf_t *b, size_t *len);
/* Buffers a loop reuses from one request to the next, so that building a
 * request's envelope or a reply's JSON costs no allocation: take one, use
 * it, give it back. A buffer given back is kept only up to
 * WH_BUFPOOL_KEEP_BYTES (a large import does not stay resident). One
 * thread only. */
#define WH_BUFPOOL_SLOTS      4
#define WH_BUFPOOL_KEEP_BYTES (64 * 1024)
typedef struct wh_bufpool {
    wh_buf_t buf[WH_BUFPOOL_SLOTS];
    bool busy[WH_BUFPOOL_SLOTS];
} wh_bufpool_t;
/* An empty buffer of the pool's; when all are in use (nested requests),
 * own, initialised. Give it back with wh_bufpool_give either way. */
wh_buf_t *wh_bufpool_take(wh_bufpool_t *p, wh_buf_t *own);
void wh_bufpool_give(wh_bufpool_t *p, wh_buf_t *b);
void wh_bufpool_close(wh_bufpool_t *p);
static inline bool wh_buf_failed(const wh_buf_t *b)
{
    return b->failed;
}

#endif
