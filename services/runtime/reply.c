#include "reply.h"

#include <stdarg.h>
#include <stdint.h>
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

void wh_reply_raw(wh_reply_t *r, int status, const char *content_type, const void *data, size_t len)
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

size_t wh_etag_version(char *out, size_t cap, const char *id, size_t id_len, int64_t version)
{
    char digits[24], *d = digits + sizeof digits;
    uint64_t v = version < 0 ? -(uint64_t)version : (uint64_t)version;
    do
        *--d = (char)('0' + v % 10);
    while (v /= 10);
    if (version < 0)
        *--d = '-';
    size_t nd = (size_t)(digits + sizeof digits - d);
    size_t len = id_len + nd + 3;
    if (len >= cap) {
        int n = snprintf(out, cap, "\"%.*s.%lld\"", (int)id_len, id, (long long)version);
        return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
    }
    out[0] = '"';
    memcpy(out + 1, id, id_len);
    out[1 + id_len] = '.';
    memcpy(out + 2 + id_len, d, nd);
    out[len - 1] = '"';
    out[len] = '\0';
    return len;
}

void wh_reply_secret(wh_reply_t *r)
{
    r->secret = true;
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

__attribute__((format(printf, 4, 0))) static void
add_error(wh_reply_t *r, const char *kind, const char *where, const char *fmt, va_list ap)
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
    wh_reply_out_t env = {
        .id = id,
        .status = r->status,
        .etag = r->etag[0] ? r->etag : NULL,
        .retry_after_s = r->retry_after_s,
        .content_type = r->content_type[0] ? r->content_type : NULL,
        .body = r->has_body ? r->body.data : NULL,
        .body_len = r->body.len,
        .problem = {.type = wh_cstr(r->type[0] ? r->type : NULL),
                    .title = wh_cstr(r->title[0] ? r->title : NULL),
                    .detail = wh_cstr(r->detail)},
        .errors = r->errors.data,
        .errors_len = r->errors.len,
        /* Errors past the limit are counted in the detail, not listed. */
        .n_errors = (size_t)(r->n_errors > WH_REPLY_MAX_ERRORS ? WH_REPLY_MAX_ERRORS : r->n_errors),
    };
    wh_reply_env_pack(out, &env);
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
