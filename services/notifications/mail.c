#include "mail.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <time.h>

#include "err.h"
#include "id.h"

bool mail_envelope_from(const char *from, char *out, size_t cap)
{
    if (!from || strpbrk(from, "\r\n"))
        return false;
    const char *lt = strrchr(from, '<');
    const char *addr = from;
    size_t n = strlen(from);
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt)
            return false;
        addr = lt + 1;
        n = (size_t)(gt - addr);
    }
    /* The sender may be a local name without a dot in its domain, such as
     * the default workhealth@localhost. */
    const char *at = memchr(addr, '@', n);
    if (!at || at == addr || at == addr + n - 1 || n + 3 > cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)addr[i] <= ' ' || strchr("<>\"(),;:\\[]", addr[i]))
            return false;
    out[0] = '<';
    memcpy(out + 1, addr, n);
    out[n + 1] = '>';
    out[n + 2] = '\0';
    return true;
}

static bool plain_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

/* The subject with line breaks and tabs as spaces, cut at a character
 * boundary to MAIL_MAX_SUBJECT octets. */
static size_t clean_subject(const char *s, size_t n, char *out)
{
    if (n > MAIL_MAX_SUBJECT) {
        n = MAIL_MAX_SUBJECT;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] == '\r' || s[i] == '\n' || s[i] == '\t') ? ' ' : s[i];
    return n;
}

/* RFC 2047 "B" encoded words of at most 45 octets of text each (60 base64
 * characters, 72 with the delimiters), never splitting a UTF-8 sequence,
 * folded onto continuation lines. */
static void put_encoded_subject(wh_buf_t *out, const char *s, size_t n)
{
    size_t i = 0;
    bool first = true;
    while (i < n) {
        size_t take = n - i < 45 ? n - i : 45;
        while (take > 0 && i + take < n && ((unsigned char)s[i + take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = 1;
        char b64[64];
        wh_base64((const unsigned char *)s + i, take, b64);
        wh_buf_printf(out, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", b64);
        first = false;
        i += take;
    }
}

/* Quoted-printable (RFC 2045 6.7) of UTF-8 text whose lines end in "\n",
 * with CRLF line ends and soft breaks before 76 characters. */
static void put_quoted_printable(wh_buf_t *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            continue;
        if (c == '\n') {
            wh_buf_puts(out, "\r\n");
            col = 0;
            continue;
        }
        bool at_eol = i + 1 == n || s[i + 1] == '\n' || s[i + 1] == '\r';
        bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_eol);
        size_t w = literal ? 1 : 3;
        if (col + w > 75) {
            wh_buf_puts(out, "=\r\n");
            col = 0;
        }
        if (literal) {
            wh_buf_putc(out, (char)c);
        } else {
            wh_buf_putc(out, '=');
            wh_buf_putc(out, hex[c >> 4]);
            wh_buf_putc(out, hex[c & 15]);
        }
        col += w;
    }
    if (n > 0 && s[n - 1] != '\n')
        wh_buf_puts(out, "\r\n");
}

int mail_compose(wh_buf_t *out, const char *from, const char *to, const char *subject,
                 size_t subject_len, const char *body, size_t body_len, const char *id,
                 int64_t date_ms)
{
    if (!from || strpbrk(from, "\r\n") || !wh_valid_email(to, strlen(to)))
        return WH_EINVAL;
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(date_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    wh_buf_printf(out, "From: %s\r\nTo: <%s>\r\nSubject: ", from, to);
    char subj[MAIL_MAX_SUBJECT];
    size_t sn = clean_subject(subject, subject_len, subj);
    if (plain_ascii(subj, sn))
        wh_buf_append(out, subj, sn);
    else
        put_encoded_subject(out, subj, sn);
    wh_buf_printf(out,
                  "\r\nDate: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n"
                  "Message-ID: <%s@" MAIL_DOMAIN ">\r\n"
                  "MIME-Version: 1.0\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n"
                  "Auto-Submitted: auto-generated\r\n"
                  "\r\n",
                  days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, id);
    put_quoted_printable(out, body, body_len);
    return wh_buf_failed(out) ? WH_ENOMEM : 0;
}

size_t mail_upload_read(char *buf, size_t size, size_t n, void *ud)
{
    mail_upload_t *u = ud;
    size_t left = u->msg->len - u->off;
    size_t take = size * n < left ? size * n : left;
    memcpy(buf, u->msg->data + u->off, take);
    u->off += take;
    return take;
}

int mail_smtp_url(const char *url, char **curl_url, long *use_ssl)
{
    *curl_url = NULL;
    bool smtps = strncmp(url, "smtps://", 8) == 0;
    if (!smtps && strncmp(url, "smtp://", 7) != 0)
        return WH_EINVAL;
    const char *auth_end = strpbrk(url + (smtps ? 8 : 7), "/?");
    const char *at = strchr(url, '@');
    bool credentials = at && (!auth_end || at < auth_end);
    long ssl = smtps || credentials ? CURLUSESSL_ALL : CURLUSESSL_TRY;
    const char *q = strchr(url, '?');
    if (q) {
        if (strcmp(q, "?starttls=required") == 0)
            ssl = CURLUSESSL_ALL;
        else if (strcmp(q, "?starttls=try") == 0)
            ssl = CURLUSESSL_TRY;
        else if (strcmp(q, "?starttls=off") == 0 && !smtps)
            ssl = CURLUSESSL_NONE;
        else
            return WH_EINVAL;
    }
    *curl_url = q ? strndup(url, (size_t)(q - url)) : strdup(url);
    if (!*curl_url)
        return WH_ENOMEM;
    *use_ssl = ssl;
    return 0;
}

int mail_curl_setup(CURL *c, const mail_smtp_t *smtp, const char *to, mail_upload_t *upload,
                    struct curl_slist **rcpt)
{
    char addr[MAIL_MAX_ADDRESS + 3];
    snprintf(addr, sizeof addr, "<%s>", to);
    *rcpt = curl_slist_append(NULL, addr);
    if (!*rcpt)
        return WH_ENOMEM;
    curl_easy_setopt(c, CURLOPT_URL, smtp->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, smtp->use_ssl);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, smtp->envelope_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, *rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_upload_read);
    curl_easy_setopt(c, CURLOPT_READDATA, upload);
    curl_easy_setopt(c, CURLOPT_INFILESIZE, (long)upload->msg->len);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)MAIL_SMTP_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)MAIL_SMTP_TIMEOUT_MS);
    return 0;
}
