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

#include <curl/curl.h>

#include "buf.h"
#include "valid.h"

#define MAIL_MAX_SUBJECT     250 /* octets of subject text; longer ones are cut */
#define MAIL_MAX_ADDRESS     WH_MAX_EMAIL
#define MAIL_DOMAIN          "workhealth" /* right-hand side of Message-ID */
#define MAIL_SMTP_CONNECT_MS 10000
#define MAIL_SMTP_TIMEOUT_MS 30000

/* WH_SMTP_URL: smtp://[user:password@]host[:port] (STARTTLS when the server
 * offers it; required when the URL carries credentials, so that a password
 * never crosses the network in clear) or smtps://... (TLS from the start).
 * A query "?starttls=required|try|off" overrides the choice for smtp:// and
 * is removed: *curl_url (malloc'd) is what curl gets, *use_ssl its
 * CURLOPT_USE_SSL. WH_EINVAL for anything else (nothing allocated). */
int mail_smtp_url(const char *url, char **curl_url, long *use_ssl);

/* A composed e-mail handed to curl's upload a piece at a time:
 * CURLOPT_READFUNCTION mail_upload_read, CURLOPT_READDATA the upload. */
typedef struct mail_upload {
    const wh_buf_t *msg;
    size_t off;
} mail_upload_t;
size_t mail_upload_read(char *buf, size_t size, size_t n, void *ud);

/* The envelope sender from WH_MAIL_FROM, which may be "Name <addr>" or a
 * bare address: "<addr>" into out. false when it is not usable. */
bool mail_envelope_from(const char *from, char *out, size_t cap);

/* The SMTP server deliveries go through (from mail_smtp_url) and the
 * envelope sender (from mail_envelope_from). */
typedef struct mail_smtp {
    char *url;
    long use_ssl;
    char envelope_from[MAIL_MAX_ADDRESS + 3];
} mail_smtp_t;
/* Sets up easy to send upload's message to one recipient through smtp;
 * upload must live as long as the transfer; *rcpt is the caller's to free
 * (curl_slist_free_all) after it. WH_ENOMEM. */
int mail_curl_setup(CURL *easy, const mail_smtp_t *smtp, const char *to, mail_upload_t *upload,
                    struct curl_slist **rcpt);
/* Appends the whole message to out. id is the delivery id: the Message-ID
 * is <id@workhealth>, the same on every attempt, so a receiving system can
 * recognise a repeat. */
int mail_compose(wh_buf_t *out, const char *from, const char *to, const char *subject,
                 size_t subject_len, const char *body, size_t body_len, const char *id,
                 int64_t date_ms);

#endif
