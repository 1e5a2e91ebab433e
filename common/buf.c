#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

void wh_buf_init(wh_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

void wh_buf_close(wh_buf_t *b)
{
    free(b->data);
    wh_buf_init(b);
}

void wh_buf_reset(wh_buf_t *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

int wh_buf_grow(wh_buf_t *b, size_t extra)
{
    if (b->failed)
        return WH_ENOMEM;
    if (extra > ((size_t)-1) / 4) {
        b->failed = true;
        return WH_ENOMEM;
    }
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->failed = true;
            return WH_ENOMEM;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return WH_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void wh_buf_vprintf(wh_buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || wh_buf_reserve(b, (size_t)n) != 0)
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void wh_buf_printf(wh_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wh_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void wh_buf_html(wh_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&':
            wh_buf_puts(b, "&amp;");
            break;
        case '<':
            wh_buf_puts(b, "&lt;");
            break;
        case '>':
            wh_buf_puts(b, "&gt;");
            break;
        case '"':
            wh_buf_puts(b, "&quot;");
            break;
        case '\'':
            wh_buf_puts(b, "&#39;");
            break;
        default:
            wh_buf_putc(b, s[i]);
        }
    }
}

/* What each byte becomes in a JSON string: 0 as itself, a letter for a
 * two-character escape (\n), 'u' for \u00XX. */
static const char json_esc[256] = {
    ['"'] = '"',  ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', [0x00] = 'u',
    [0x01] = 'u', [0x02] = 'u',  [0x03] = 'u', [0x04] = 'u', [0x05] = 'u', [0x06] = 'u',
    [0x07] = 'u', [0x08] = 'u',  [0x0b] = 'u', [0x0c] = 'u', [0x0e] = 'u', [0x0f] = 'u',
    [0x10] = 'u', [0x11] = 'u',  [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u',
    [0x16] = 'u', [0x17] = 'u',  [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u',
    [0x1c] = 'u', [0x1d] = 'u',  [0x1e] = 'u', [0x1f] = 'u', [0x7f] = 'u',
};

/* Whether any of the eight bytes of w needs an escape: below 0x20, '"',
 * '\\' or 0x7f (bytes of 0x80 and above pass as they are). */
static inline bool word_needs_escape(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\'), del = w ^ (ones * 0x7f);
    /* A byte x is zero, or below 0x20, exactly when (x - k) borrows into
     * its high bit while x's own high bit is clear. */
    uint64_t low = (w - ones * 0x20) & ~w;
    uint64_t zero = ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) | ((del - ones) & ~del);
    return ((low | zero) & high) != 0;
}

void wh_buf_json_str(wh_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX. */
    if (wh_buf_reserve(b, n * 6 + 2) != 0)
        return;
    char *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        /* Eight bytes at a time while none needs an escape. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (word_needs_escape(w))
                break;
            memcpy(o, &w, 8);
            o += 8;
            i += 8;
        }
        size_t stop = i + 8 <= n ? i + 8 : n;
        for (; i < stop; i++) {
            unsigned char c = (unsigned char)s[i];
            char e = json_esc[c];
            if (!e) {
                *o++ = (char)c;
            } else if (e != 'u') {
                *o++ = '\\';
                *o++ = e;
            } else {
                *o++ = '\\';
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 15];
            }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
}

wh_buf_t *wh_bufpool_take(wh_bufpool_t *p, wh_buf_t *own)
{
    for (int i = 0; i < WH_BUFPOOL_SLOTS; i++)
        if (!p->busy[i]) {
            p->busy[i] = true;
            wh_buf_reset(&p->buf[i]);
            return &p->buf[i];
        }
    wh_buf_init(own);
    return own;
}

void wh_bufpool_give(wh_bufpool_t *p, wh_buf_t *b)
{
    for (int i = 0; i < WH_BUFPOOL_SLOTS; i++)
        if (b == &p->buf[i]) {
            if (b->cap > WH_BUFPOOL_KEEP_BYTES || b->failed)
                wh_buf_close(b);
            else
                wh_buf_reset(b);
            p->busy[i] = false;
            return;
        }
    wh_buf_close(b);
}

void wh_bufpool_close(wh_bufpool_t *p)
{
    for (int i = 0; i < WH_BUFPOOL_SLOTS; i++) {
        wh_buf_close(&p->buf[i]);
        p->busy[i] = false;
    }
}

char *wh_buf_steal(wh_buf_t *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    wh_buf_init(b);
    return p;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long wh_pct_decode(const char *in, size_t n, bool plus_space, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '+' && plus_space) {
            c = ' ';
        } else if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}
