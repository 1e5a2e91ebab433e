/* Validating a request body field by field. Each check reports a problem to
 * the reply with the field's JSON pointer and returns what it found, so that
 * a handler can run every check and answer one 422 that lists all invalid
 * fields. Presence is three-valued for JSON merge patch: a field may be
 * absent, explicitly null, or set. */
#ifndef WH_VALID_H
#define WH_VALID_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"
#include "reply.h"

#define WH_V_REQUIRED 1u /* absent is an error */
#define WH_V_NULLABLE 2u /* null is allowed (and means "clear" in a patch) */
/* wh_valid_str: the text may span lines (newline and tab allowed); without
 * it a string is one line: no control character at all, no U+2028/U+2029,
 * no bidirectional control. */
#define WH_V_MULTILINE 4u

typedef enum { WH_V_BAD = -1, WH_V_ABSENT = 0, WH_V_NULL = 1, WH_V_SET = 2 } wh_v_result_t;

typedef struct wh_valid {
    wh_reply_t *rep;
    const msgpack_object *obj; /* a map */
    char prefix[128];          /* JSON pointer of obj, "" for the body */
} wh_valid_t;

/* Checks that obj is a map (else one error at prefix) and prepares v. */
bool wh_valid_init(wh_valid_t *v, wh_reply_t *rep, const msgpack_object *obj, const char *prefix);
/* Reports every key of the object not in known (NULL-terminated). */
void wh_valid_only(wh_valid_t *v, const char *const *known);
/* The pointer of key under v (escaped per RFC 6901) into out. */
void wh_valid_pointer(const wh_valid_t *v, const char *key, char *out, size_t cap);

wh_v_result_t wh_valid_str(wh_valid_t *v, const char *key, unsigned flags, size_t min_len,
                           size_t max_len, wh_str_t *out);
wh_v_result_t wh_valid_int(wh_valid_t *v, const char *key, unsigned flags, int64_t min, int64_t max,
                           int64_t *out);
wh_v_result_t wh_valid_bool(wh_valid_t *v, const char *key, unsigned flags, bool *out);
/* One of values (NULL-terminated); *out is its index. */
wh_v_result_t wh_valid_enum(wh_valid_t *v, const char *key, unsigned flags,
                            const char *const *values, int *out);
wh_v_result_t wh_valid_date(wh_valid_t *v, const char *key, unsigned flags, int32_t *out);
wh_v_result_t wh_valid_instant(wh_valid_t *v, const char *key, unsigned flags, int64_t *out_ms);
wh_v_result_t wh_valid_array(wh_valid_t *v, const char *key, unsigned flags, uint32_t max_items,
                             const msgpack_object **out);

/* Query parameters (strings) of the request: limit and cursor. */
typedef struct wh_page {
    int64_t limit;
    wh_str_t cursor; /* p NULL for the first page */
} wh_page_t;
/* A plausible mail address: local@domain with a dot in the domain, no
 * spaces, controls, quotes, brackets or separators, at most WH_MAX_EMAIL
 * octets (RFC 5321). */
#define WH_MAX_EMAIL 254
bool wh_valid_email(const char *s, size_t n);

#define WH_PAGE_DEFAULT 50
#define WH_PAGE_MAX     500
struct wh_request;
/* Reads ?limit= and ?cursor= (an id); reports bad values to rep. */
bool wh_valid_page(const struct wh_request *req, wh_reply_t *rep, wh_page_t *page);

/* Optional query parameters of a list's filters. An absent one is fine; a bad
 * one is reported to rep (wh_reply_param, so that every bad parameter is
 * listed in one 422) and the check returns false. */
/* ?name= one of values (NULL-terminated): *index is its index, -1 when the
 * parameter is absent. detail is the problem's text; NULL says "must be one
 * of a, b, c" as wh_valid_enum does. */
bool wh_param_enum(const struct wh_request *req, wh_reply_t *rep, const char *name,
                   const char *const *values, const char *detail, int *index);
/* The value at index (from wh_param_enum), NULL for -1: what a query binds. */
static inline const char *wh_param_value(const char *const *values, int index)
{
    return index < 0 ? NULL : values[index];
}
/* ?name= a decimal integer from min to max into *out, which is left as it
 * was when the parameter is absent: digits only, no sign, and at most one
 * character more than max has digits (a leading zero passes, a long run of
 * them does not). max is at most WH_PARAM_INT_MAX. */
#define WH_PARAM_INT_MAX 1000000000000000LL
bool wh_param_int(const struct wh_request *req, wh_reply_t *rep, const char *name, int64_t min,
                  int64_t max, int64_t *out);
/* ?name= an id (wh_id_valid) into *out, p NULL when absent. */
bool wh_param_id(const struct wh_request *req, wh_reply_t *rep, const char *name,
                 const char *detail, wh_str_t *out);

#endif
