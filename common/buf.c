#include "buf.h"

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

int wh_buf_reserve(wh_buf_t *b, size_t extra)
{
    if (b->failed)
        return WH_ENOMEM;
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

void wh_buf_append(wh_buf_t *b, const void *p, size_t n)
{
    if (wh_buf_reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void wh_buf_puts(wh_buf_t *b, const char *s)
{
    wh_buf_append(b, s, strlen(s));
}

void wh_buf_putc(wh_buf_t *b, char c)
{
    wh_buf_append(b, &c, 1);
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

void wh_buf_json_str(wh_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX. */
    if (wh_buf_reserve(b, n * 6 + 2) != 0)
        return;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            *o++ = '\\';
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                *o++ = '\\';
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 15];
            } else {
                *o++ = (char)c;
            }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
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
