/* Problem details (RFC 9457): the one shape every error takes, on the wire
 * between processes (msgpack, inside a reply envelope) and at the HTTP edge
 * (application/problem+json). Each form is written here and nowhere else.
 *
 * msgpack: {type, title, detail, errors?: [{pointer | parameter, detail}]}
 * JSON:    {"type", "title", "status", "detail", "errors": [...]}
 *
 * type is a slug ("not-found") that the JSON form names as a relative URI
 * under /problems/, or a URI kept as it is ("about:blank"). */
#ifndef WH_PROBLEM_H
#define WH_PROBLEM_H

#include <stddef.h>

#include "buf.h"
#include "msg.h"

#define WH_PROBLEM_MAX_ERRORS 50 /* field errors listed in one problem */

typedef struct wh_problem {
    int status;
    wh_str_t type;   /* p NULL: about:blank */
    wh_str_t title;  /* p NULL: the status text */
    wh_str_t detail; /* p NULL: empty */
} wh_problem_t;

/* The reason phrase of an HTTP status, or its class for one not listed. */
const char *wh_status_text(int status);

/* Packs the msgpack form as one value. errors is n_errors msgpack maps
 * back to back (already packed), appended to out after the packer's
 * output, which must write into out too; n_errors 0 leaves the list out. */
void wh_problem_pack(msgpack_packer *pk, wh_buf_t *out, const wh_problem_t *p, const char *errors,
                     size_t errors_len, size_t n_errors);

/* Appends the JSON form to out. errors is a decoded msgpack array rendered
 * as it is, or NULL for an empty list. Non-zero (a WH_E* code) when errors
 * cannot be rendered as JSON; out then holds no usable document. */
int wh_problem_json(wh_buf_t *out, const wh_problem_t *p, const msgpack_object *errors);

#endif
