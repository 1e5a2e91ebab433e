/* Composing an e-mail (RFC 5322 with MIME): From, To, Subject, Date,
 * Message-ID, MIME-Version and a plain-text UTF-8 body in quoted-printable,
 * lines ending in CRLF, so that the message passes any SMTP server (no line
 * over 998 octets, no 8-bit data needed). A subject that is not plain ASCII
 * is written as RFC 2047 encoded words, and line breaks in it (event data
 * may contain them) become spaces, so nothing from an event can add a
 * header. Sending is the delivery engine's. */
#ifndef NOTIFICATIONS_MAIL_H
#define NOTIFICATIONS_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "valid.h"

#define MAIL_MAX_SUBJECT 250 /* octets of subject text; longer ones are cut */
#define MAIL_MAX_ADDRESS WH_MAX_EMAIL
#define MAIL_DOMAIN      "workhealth" /* right-hand side of Message-ID */

/* The envelope sender from WH_MAIL_FROM, which may be "Name <addr>" or a
 * bare address: "<addr>" into out. false when it is not usable. */
bool mail_envelope_from(const char *from, char *out, size_t cap);
/* Appends the whole message to out. id is the delivery id: the Message-ID
 * is <id@workhealth>, the same on every attempt, so a receiving system can
 * recognise a repeat. */
int mail_compose(wh_buf_t *out, const char *from, const char *to, const char *subject,
                 size_t subject_len, const char *body, size_t body_len, const char *id,
                 int64_t date_ms);

#endif
