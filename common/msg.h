/* msgpack reading and writing for messages between processes.
 *
 * Reading never trusts a declared size: wh_msg_decode first walks the bytes
 * and checks every array, map, string and binary length against the bytes
 * that remain, the nesting depth against WH_MSG_MAX_DEPTH and the total
 * number of values against WH_MSG_MAX_ITEMS; only then is msgpack-c's
 * unpacker run, whose allocations are thereby bounded by the message size.
 * (msgpack-c 4.0 allocates for whatever count a header claims before checking
 * the length, so a 17-byte message could otherwise ask for gigabytes.)
 * Extension types are refused: the protocol does not use them.
 *
 * Writing packs into a wh_buf_t through an ordinary msgpack_packer. */
#ifndef WH_MSG_H
#define WH_MSG_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

#define WH_MSG_MAX_BYTES (4 * 1024 * 1024) /* also ZMQ_MAXMSGSIZE on every socket */
#define WH_MSG_MAX_DEPTH 32
#define WH_MSG_MAX_ITEMS 200000
#define WH_MSG_MAX_STR   (1024 * 1024)

/* A borrowed slice of bytes (msgpack strings are not NUL-terminated). */
typedef struct wh_str {
    const char *p;
    size_t n;
} wh_str_t;

#define WH_STR(lit) ((wh_str_t){(lit), sizeof(lit) - 1})
/* A C string as a slice; {NULL, 0} for NULL. */
static inline wh_str_t wh_cstr(const char *s)
{
    return (wh_str_t){s, s ? strlen(s) : 0};
}

/* Decoding takes its zone from a few kept per thread (WH_MSG_ZONES_KEPT),
 * so that a message costs no allocation of its own up to
 * WH_MSG_ZONE_KEEP_BYTES; larger ones, or more at once, get a zone of
 * their own, freed with the message. */
#define WH_MSG_ZONES_KEPT      4
#define WH_MSG_ZONE_KEEP_BYTES (64 * 1024)
typedef struct wh_msg {
    msgpack_object obj;
    msgpack_zone *zone;
    int slot; /* 1 + the kept zone's index, or 0 (a zeroed wh_msg_t closes) */
    const msgpack_object *root;
} wh_msg_t;

/* Checks the bounds above, then unpacks exactly one value spanning all of
 * data. On success m->root is valid until wh_msg_close(m) AND as long as
 * data stays unchanged: strings and binaries in the tree point into data
 * (msgpack-c does not copy them). WH_EPROTO for malformed or trailing
 * bytes, WH_ELIMIT for a crossed limit. */
int wh_msg_decode(const char *data, size_t len, wh_msg_t *m);
/* The bounds check alone. */
int wh_msg_check(const char *data, size_t len);
void wh_msg_close(wh_msg_t *m);

/* Map lookups by string key; NULL when absent or when map is not a map. */
/* Looks up n keys of a map in one pass over its entries: out[i] is the
 * value of keys[i], or NULL (also when map is not a map). As with
 * wh_msg_get, the first of repeated keys wins. For decoding a message's
 * fixed fields, where a lookup per field walked the map once each. */
void wh_msg_get_many(const msgpack_object *map, const wh_str_t *keys, size_t n,
                     const msgpack_object **out);
const msgpack_object *wh_msg_get(const msgpack_object *map, const char *key);
bool wh_msg_is_str(const msgpack_object *o);
bool wh_msg_is_nil(const msgpack_object *o);
wh_str_t wh_msg_str(const msgpack_object *o); /* {NULL,0} unless a string */
bool wh_msg_str_eq(const msgpack_object *o, const char *s);
bool wh_str_eq(wh_str_t a, const char *s);
/* Integer value of a signed/unsigned int (or an integral float); false
 * otherwise or when out of int64 range. */
bool wh_msg_int(const msgpack_object *o, int64_t *out);
/* Copies a string value into out (cap bytes with NUL); WH_ETYPE if not a
 * string, WH_ELIMIT if too long. */
int wh_msg_copy_str(const msgpack_object *o, char *out, size_t cap);

/* Writer: a packer that appends to buf. */
void wh_msg_writer_init(msgpack_packer *pk, wh_buf_t *buf);
void wh_msg_pack_str(msgpack_packer *pk, const char *s);
void wh_msg_pack_strn(msgpack_packer *pk, const char *s, size_t n);
/* A comma-separated list ("a,b,c"; "" is none) as an array of strings. */
void wh_msg_pack_csv(msgpack_packer *pk, const char *list);
void wh_msg_pack_wstr(msgpack_packer *pk, wh_str_t s); /* nil when s.p is NULL */
/* A key followed by a value; the string forms pack nil for NULL. */
void wh_msg_kv_str(msgpack_packer *pk, const char *key, const char *val);
void wh_msg_kv_strn(msgpack_packer *pk, const char *key, const char *val, size_t n);
void wh_msg_kv_int(msgpack_packer *pk, const char *key, int64_t val);
void wh_msg_kv_bool(msgpack_packer *pk, const char *key, bool val);
void wh_msg_kv_nil(msgpack_packer *pk, const char *key);
/* Packs an already-decoded object (copying it). */
void wh_msg_pack_obj(msgpack_packer *pk, const msgpack_object *o);

#endif
