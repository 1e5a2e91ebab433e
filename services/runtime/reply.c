#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "err.h"

void wh_reply_init(wh_reply_t *r)
{
    memset(r, 0, sizeof *r);
    wh_buf_init(&r->body);
    wh_buf_init(&r->errors);
    wh_msg_writer_init(&r->pk, &r->body);
    wh_msg_writer_init(&r->epk, &r->errors);
}

void wh_reply_close(wh_reply_t *r)
{
    wh_buf_close(&r->body);
    wh_buf_close(&r->errors);
}

void wh_reply_reset(wh_reply_t *r)
{
    wh_buf_reset(&r->body);
    wh_buf_reset(&r->errors);
    r->status = 0;
    r->etag[0] = r->type[0] = r->title[0] = r->detail[0] = '\0';
    r->has_body = false;
    r->n_errors = 0;
    r->retry_after_s = 0;
    r->content_type[0] = '\0';
    r->secret = false;
}

msgpack_packer *wh_reply_ok(wh_reply_t *r, int status)
{
    wh_buf_reset(&r->body);
    r->status = status;
    r->has_body = true;
    return &r->pk;
}

void wh_reply_raw(wh_reply_t *r, int status, const char *content_type, const void *data,
                  size_t len)
{
    wh_buf_reset(&r->body);
    r->status = status;
    r->has_body = true;
    snprintf(r->content_type, sizeof r->content_type, "%s", content_type);
    msgpack_pack_bin(&r->pk, len);
    msgpack_pack_bin_body(&r->pk, data, len);
}

void wh_reply_empty(wh_reply_t *r, int status)
{
    wh_buf_reset(&r->body);
    r->status = status;
    r->has_body = false;
}

void wh_reply_etag(wh_reply_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->etag, sizeof r->etag, fmt, ap);
    va_end(ap);
}

void wh_reply_secret(wh_reply_t *r)
{
    r->secret = true;
}

const char *wh_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    }
    /* RFC 9110 lets a client ignore the phrase; the class is still honest. */
    switch (status / 100) {
    case 1:
        return "Informational";
    case 2:
        return "Success";
    case 3:
        return "Redirection";
    case 4:
        return "Client Error";
    case 5:
        return "Server Error";
    default:
        return "Unknown";
    }
}

void wh_reply_problem(wh_reply_t *r, int status, const char *slug, const char *fmt, ...)
{
    r->status = status;
    r->has_body = false;
    wh_buf_reset(&r->body);
    snprintf(r->type, sizeof r->type, "%s", slug);
    snprintf(r->title, sizeof r->title, "%s", wh_status_text(status));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 0))) static void add_error(wh_reply_t *r, const char *kind,
                                                             const char *where, const char *fmt,
                                                             va_list ap)
{
    if (r->n_errors >= WH_REPLY_MAX_ERRORS) {
        r->n_errors++; /* counted, not listed */
        return;
    }
    char detail[256];
    vsnprintf(detail, sizeof detail, fmt, ap);
    msgpack_pack_map(&r->epk, 2);
    wh_msg_kv_str(&r->epk, kind, where);
    wh_msg_kv_str(&r->epk, "detail", detail);
    r->n_errors++;
}

void wh_reply_field(wh_reply_t *r, const char *pointer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_error(r, "pointer", pointer, fmt, ap);
    va_end(ap);
}

void wh_reply_param(wh_reply_t *r, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_error(r, "parameter", name, fmt, ap);
    va_end(ap);
}

bool wh_reply_invalid(wh_reply_t *r)
{
    if (r->n_errors == 0)
        return false;
    if (r->status != 422) {
        int shown = r->n_errors > WH_REPLY_MAX_ERRORS ? WH_REPLY_MAX_ERRORS : r->n_errors;
        wh_reply_problem(r, 422, "validation", "%d invalid field%s%s", r->n_errors,
                         r->n_errors == 1 ? "" : "s",
                         shown < r->n_errors ? " (first ones listed)" : "");
    }
    return true;
}

void wh_reply_pack(const wh_reply_t *r, const char *id, wh_buf_t *out)
{
    msgpack_packer pk;
    wh_msg_writer_init(&pk, out);
    bool err = r->status >= 400;
    bool body = !err && r->has_body;
    bool raw = body && r->content_type[0];
    msgpack_pack_map(&pk, 3 + (r->etag[0] != 0) + (body || err) + (r->retry_after_s > 0) + raw);
    wh_msg_kv_int(&pk, "v", WH_PROTO_VERSION);
    wh_msg_kv_str(&pk, "id", id);
    wh_msg_kv_int(&pk, "status", r->status);
    if (r->etag[0])
        wh_msg_kv_str(&pk, "etag", r->etag);
    if (r->retry_after_s > 0)
        wh_msg_kv_int(&pk, "retry_after", r->retry_after_s);
    if (raw)
        wh_msg_kv_str(&pk, "content_type", r->content_type);
    if (body) {
        wh_msg_pack_str(&pk, "body");
        wh_buf_append(out, r->body.data, r->body.len);
    } else if (err) {
        wh_msg_pack_str(&pk, "error");
        int listed = r->n_errors > WH_REPLY_MAX_ERRORS ? WH_REPLY_MAX_ERRORS : r->n_errors;
        msgpack_pack_map(&pk, 3 + (listed > 0));
        wh_msg_kv_str(&pk, "type", r->type[0] ? r->type : "about:blank");
        wh_msg_kv_str(&pk, "title", r->title[0] ? r->title : wh_status_text(r->status));
        wh_msg_kv_str(&pk, "detail", r->detail);
        if (listed > 0) {
            wh_msg_pack_str(&pk, "errors");
            msgpack_pack_array(&pk, (size_t)listed);
            wh_buf_append(out, r->errors.data, r->errors.len);
        }
    }
}

bool wh_reply_check_size(wh_reply_t *r)
{
    if (!r->has_body)
        return false;
    size_t len = r->body.len;
    if (len > WH_REPLY_MAX_BODY_BYTES) {
        wh_reply_problem(r, 507, "reply-too-large",
                         "the answer (%zu bytes) is over the %d bytes a reply may carry; "
                         "ask for less (a smaller limit or a narrower filter)",
                         len, WH_REPLY_MAX_BODY_BYTES);
        return true;
    }
    /* What the receiving end will decode: no more values, nesting or
     * string length than wh_msg_decode accepts. */
    int rc = wh_msg_check(r->body.data, len);
    if (rc == WH_ELIMIT) {
        wh_reply_problem(r, 507, "reply-too-large",
                         "the answer has more than %d values, a string over %d bytes or "
                         "deeper nesting than a reply may carry; ask for less",
                         WH_MSG_MAX_ITEMS, WH_MSG_MAX_STR);
        return true;
    }
    if (rc != 0) {
        wh_reply_problem(r, 500, "internal", "the answer was malformed");
        return true;
    }
    return false;
}
