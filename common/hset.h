/* A hash set of fixed-size keys, or a map when each entry carries a value
 * after its key: one array of slots, open addressing with linear probing and
 * backward-shift deletion (no tombstones), under a keyed hash seeded at
 * random, so that keys chosen from outside cannot be aimed at one slot. Keys
 * are compared in constant time: they may be derived from secrets.
 *
 * Its size is bounded in one of two ways:
 * - a set (probe 0) grows by doubling when a new key would fill it past 3/4,
 *   up to max_slots; there wh_hset_put fails with WH_ELIMIT;
 * - a cache (probe P > 0) never grows: a key lives within P slots of its
 *   home slot, and a new key that finds those P slots taken evicts the entry
 *   that evict_first ranks first (the home slot's entry when it is NULL). */
#ifndef WH_HSET_H
#define WH_HSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WH_HSET_MIN_SLOTS 8
#define WH_HSET_MAX_SLOTS ((size_t)1 << 24)
#define WH_HSET_MAX_ENTRY 4096 /* bytes of one entry */

/* True if entry a should be evicted before entry b. */
typedef bool (*wh_hset_evict_fn)(const void *a, const void *b);

typedef struct wh_hset_opts {
    size_t key_len;    /* the key: the first key_len bytes of an entry */
    size_t entry_size; /* >= key_len; the bytes after the key are the value */
    size_t slots;      /* at the start: a power of two, WH_HSET_MIN_SLOTS or more */
    size_t max_slots;  /* a power of two >= slots, at most WH_HSET_MAX_SLOTS */
    unsigned probe;    /* 0: a growing set; P > 0: a cache of `slots` entries */
    wh_hset_evict_fn evict_first;
} wh_hset_opts_t;

typedef struct wh_hset {
    unsigned char *entries; /* slots * entry_size */
    unsigned char *used;    /* slots flags */
    size_t key_len, entry_size, slots, max_slots, count;
    unsigned probe;
    wh_hset_evict_fn evict_first;
    uint64_t seed[2];
} wh_hset_t;

typedef enum {
    WH_HSET_FOUND,    /* the key was there; the entry is as it was */
    WH_HSET_ADDED,    /* a new entry: the key set, the value zeroed */
    WH_HSET_REPLACED, /* a cache evicted an entry for it: the key set, the value
                       * still the evicted one's, for the caller to release */
} wh_hset_how_t;

/* 0, WH_EINVAL for options outside the limits above, WH_ENOMEM. */
int wh_hset_init(wh_hset_t *s, const wh_hset_opts_t *o);
void wh_hset_close(wh_hset_t *s);

/* The entry of key, or NULL. */
void *wh_hset_get(const wh_hset_t *s, const void *key);
/* The entry of key, added if needed (how says which); NULL when a set is
 * full at max_slots (*err WH_ELIMIT) or memory ran out (*err WH_ENOMEM).
 * A cache's put never fails. */
void *wh_hset_put(wh_hset_t *s, const void *key, wh_hset_how_t *how, int *err);
/* Removes key; false if it was not there. */
bool wh_hset_del(wh_hset_t *s, const void *key);
/* Removes every entry (the slots stay allocated). */
void wh_hset_clear(wh_hset_t *s);

static inline size_t wh_hset_count(const wh_hset_t *s)
{
    return s->count;
}
/* The entry in slot i (i < s->slots), NULL for a free slot: to visit every
 * entry, for instance to release values before wh_hset_clear. */
void *wh_hset_slot(const wh_hset_t *s, size_t i);

#endif
