/* Writing iCalendar (RFC 5545) content lines: escaping of TEXT values
 * (backslash, semicolon, comma and newlines, section 3.3.11) and folding of
 * long lines (section 3.1: at most 75 octets per line without the CRLF, a
 * continuation starting with one space, never inside a UTF-8 sequence).
 * Every line ends in CRLF. It knows nothing of agreements; calendar.c
 * builds the feed from these. */
#ifndef AGREEMENTS_ICAL_H
#define AGREEMENTS_ICAL_H

#include <stddef.h>

#include "buf.h"

#define ICAL_MAX_LINE_OCTETS 75

/* Appends s escaped as a TEXT value (CRLF and lone CR count as newlines). */
void ical_escape(wh_buf_t *out, const char *s, size_t n);
/* Appends one content line of n octets, folded, with its CRLF. */
void ical_line(wh_buf_t *out, const char *line, size_t n);
/* NAME:value with the value as given (dates, UIDs, fixed words). */
void ical_prop(wh_buf_t *out, const char *name, const char *value);
/* NAME:value with the value escaped as TEXT. */
void ical_prop_text(wh_buf_t *out, const char *name, const char *value, size_t n);

#endif
