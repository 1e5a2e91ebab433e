#include "ical.h"

#include <string.h>

void ical_escape(wh_buf_t *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        switch (c) {
        case '\\':
            wh_buf_puts(out, "\\\\");
            break;
        case ';':
            wh_buf_puts(out, "\\;");
            break;
        case ',':
            wh_buf_puts(out, "\\,");
            break;
        case '\r':
            if (i + 1 < n && s[i + 1] == '\n')
                break; /* the \n that follows writes the newline */
            wh_buf_puts(out, "\\n");
            break;
        case '\n':
            wh_buf_puts(out, "\\n");
            break;
        default:
            wh_buf_putc(out, c);
        }
    }
}

void ical_line(wh_buf_t *out, const char *line, size_t n)
{
    /* The first physical line holds 75 octets, each continuation a space
     * and 74 more. A cut never falls on a UTF-8 continuation octet
     * (10xxxxxx), so a character is never split across lines. */
    size_t pos = 0, room = ICAL_MAX_LINE_OCTETS;
    while (n - pos > room) {
        size_t cut = pos + room;
        while (cut > pos && ((unsigned char)line[cut] & 0xC0) == 0x80)
            cut--;
        wh_buf_append(out, line + pos, cut - pos);
        wh_buf_puts(out, "\r\n ");
        pos = cut;
        room = ICAL_MAX_LINE_OCTETS - 1;
    }
    wh_buf_append(out, line + pos, n - pos);
    wh_buf_puts(out, "\r\n");
}

void ical_prop(wh_buf_t *out, const char *name, const char *value)
{
    wh_buf_t l;
    wh_buf_init(&l);
    wh_buf_printf(&l, "%s:%s", name, value);
    ical_line(out, l.data ? l.data : "", l.len);
    wh_buf_close(&l);
}

void ical_prop_text(wh_buf_t *out, const char *name, const char *value, size_t n)
{
    wh_buf_t l;
    wh_buf_init(&l);
    wh_buf_puts(&l, name);
    wh_buf_putc(&l, ':');
    ical_escape(&l, value, n);
    ical_line(out, l.data ? l.data : "", l.len);
    wh_buf_close(&l);
}
