#include "problem.h"

#include <string.h>

#include "json.h"

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

static wh_str_t or_default(wh_str_t s, const char *dflt)
{
    return s.p ? s : (wh_str_t){dflt, strlen(dflt)};
}

void wh_problem_pack(msgpack_packer *pk, wh_buf_t *out, const wh_problem_t *p, const char *errors,
                     size_t errors_len, size_t n_errors)
{
    msgpack_pack_map(pk, 3 + (n_errors > 0));
    wh_msg_pack_str(pk, "type");
    wh_msg_pack_wstr(pk, or_default(p->type, "about:blank"));
    wh_msg_pack_str(pk, "title");
    wh_msg_pack_wstr(pk, or_default(p->title, wh_status_text(p->status)));
    wh_msg_pack_str(pk, "detail");
    wh_msg_pack_wstr(pk, or_default(p->detail, ""));
    if (n_errors > 0) {
        wh_msg_pack_str(pk, "errors");
        msgpack_pack_array(pk, n_errors);
        wh_buf_append(out, errors, errors_len);
    }
}

int wh_problem_json(wh_buf_t *out, const wh_problem_t *p, const msgpack_object *errors)
{
    wh_str_t type = p->type;
    wh_buf_puts(out, "{\"type\":");
    if (type.p && !wh_str_eq(type, "about:blank") && !memchr(type.p, ':', type.n)) {
        /* A slug: a relative URI reference under /problems/. */
        wh_buf_t t;
        wh_buf_init(&t);
        wh_buf_printf(&t, "/problems/%.*s", (int)type.n, type.p);
        wh_buf_json_str(out, t.data, t.len);
        wh_buf_close(&t);
    } else {
        type = or_default(type, "about:blank");
        wh_buf_json_str(out, type.p, type.n);
    }
    wh_str_t title = or_default(p->title, wh_status_text(p->status));
    wh_str_t detail = or_default(p->detail, "");
    wh_buf_puts(out, ",\"title\":");
    wh_buf_json_str(out, title.p, title.n);
    wh_buf_printf(out, ",\"status\":%d,\"detail\":", p->status);
    wh_buf_json_str(out, detail.p, detail.n);
    wh_buf_puts(out, ",\"errors\":");
    int rc = 0;
    if (errors)
        rc = wh_json_from_msgpack(errors, out);
    else
        wh_buf_puts(out, "[]");
    wh_buf_putc(out, '}');
    return rc;
}
