/* The gateway's bridge between JSON (what clients send and read) and msgpack
 * (what services speak). wh_json_to_msgpack() parses a request body in
 * one pass straight into msgpack, or with jansson for what that pass does
 * not handle, enforces this module's limits and appends the encoding;
 * wh_json_from_msgpack() renders a decoded msgpack reply as compact JSON.
 * A document that passes through both directions comes back byte for byte
 * (same msgpack), which the fuzz target checks.
 *
 * It does not validate shapes (which fields an operation needs), does not
 * decode msgpack bytes (callers unpack with their own bounds) and does not
 * pretty-print. Only JSON text in UTF-8 is accepted, without a byte order
 * mark. Integers outside the int64 range and numbers that overflow a double
 * are refused rather than rounded, so a client never has a value silently
 * changed on its way to a service. */
#ifndef WH_JSON_H
#define WH_JSON_H

#include <stddef.h>

#include <msgpack.h>

#include "buf.h"

/* Nesting of arrays and objects; a bare scalar has depth 0, "[]" depth 1.
 * The msgpack-c unpacker accepts at most 32 levels (MSGPACK_EMBED_STACK_SIZE,
 * and WH_MSG_MAX_DEPTH), and a request body travels one level inside the
 * envelope's map, so 31 is the deepest body every service can unpack. */
#define WH_JSON_MAX_DEPTH 31
/* Bytes of one string or object key after unescaping, in UTF-8. */
#define WH_JSON_MAX_STRING_BYTES (256 * 1024)
/* Values in one document, counting containers and scalars but not keys:
 * "[1,2]" holds 3. */
#define WH_JSON_MAX_ITEMS 100000

typedef struct wh_json_error {
    int line;   /* 1-based; 0 when the error has no position (limits, memory) */
    int column; /* 1-based, in characters, where the parser stopped; 0 likewise */
    char text[160];
} wh_json_error_t;

/* Parses json[0..len) and appends its msgpack encoding to out. Duplicate
 * object keys, "\u0000" in strings or keys, invalid UTF-8 and anything after
 * the value are rejected. Integers become msgpack ints in the smallest
 * encoding (unsigned formats for values >= 0), other numbers float64, object
 * keys str; key order is kept. Any JSON value is accepted at the top level.
 *
 * Returns 0; WH_EJSON when the text is malformed (err has line, column and
 * the parser's message); WH_ELIMIT when one of the limits above is crossed or
 * a number does not fit (err->text names the limit); WH_ENOMEM. On error out
 * is left as it was. err may be NULL. */
int wh_json_to_msgpack(const char *json, size_t len, wh_buf_t *out, wh_json_error_t *err);

/* The two ways wh_json_to_msgpack() goes, for the tests that compare them.
 * The one-pass parser turns the JSON straight into msgpack; it handles what
 * clients commonly send and returns WH_EAGAIN (out as it was) for anything
 * else: every error, \u escapes, integers of more than 18 digits, a limit
 * crossed, objects of more than 64 keys. wh_json_to_msgpack() then runs
 * jansson, which handles everything and words the errors. Whatever the
 * one-pass parser accepts, jansson accepts with the same bytes out. */
int wh_json_to_msgpack_fast(const char *json, size_t len, wh_buf_t *out);
int wh_json_to_msgpack_jansson(const char *json, size_t len, wh_buf_t *out, wh_json_error_t *err);

/* Appends o as compact JSON to out. Map keys must be str and every str valid
 * UTF-8 (else WH_EPROTO); bin becomes a base64 string (RFC 4648, padded); ext
 * is WH_EPROTO; NaN and infinities become null. Floats are printed as the
 * shortest text that reads back as the same value and always carry a '.' or
 * an exponent, so they stay floats on a second conversion; float32 values use
 * the shortest text for a float. Nesting deeper than WH_JSON_MAX_DEPTH is
 * WH_ELIMIT. On error out is left as it was. */
int wh_json_from_msgpack(const msgpack_object *o, wh_buf_t *out);

#endif
