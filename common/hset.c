#include "hset.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "id.h"

static bool pow2(size_t n)
{
    return n && (n & (n - 1)) == 0;
}

/* murmur3's finalizer: every input bit reaches every output bit. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t home_of(const wh_hset_t *s, const unsigned char *key)
{
    uint64_t h = s->seed[0];
    size_t i = 0;
    for (; i + 8 <= s->key_len; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = mix(h ^ w) + s->seed[1];
    }
    if (i < s->key_len) {
        uint64_t w = 0;
        memcpy(&w, key + i, s->key_len - i);
        h = mix(h ^ w ^ (uint64_t)(s->key_len - i) << 56) + s->seed[1];
    }
    return (size_t)mix(h ^ s->key_len) & (s->slots - 1);
}

/* Constant time in the key's length: no early exit on the first difference.
 * Eight bytes at a time, then the rest byte by byte. */
static bool key_eq(const wh_hset_t *s, const unsigned char *a, const unsigned char *b)
{
    uint64_t d = 0;
    size_t i = 0;
    for (; i + 8 <= s->key_len; i += 8) {
        uint64_t wa, wb;
        memcpy(&wa, a + i, 8);
        memcpy(&wb, b + i, 8);
        d |= wa ^ wb;
    }
    for (; i < s->key_len; i++)
        d |= (uint64_t)(a[i] ^ b[i]);
    return d == 0;
}

static unsigned char *entry(const wh_hset_t *s, size_t i)
{
    return s->entries + i * s->entry_size;
}

static int alloc_slots(wh_hset_t *s, size_t slots)
{
    s->entries = calloc(slots, s->entry_size);
    s->used = calloc(slots, 1);
    if (!s->entries || !s->used) {
        free(s->entries);
        free(s->used);
        s->entries = s->used = NULL;
        return WH_ENOMEM;
    }
    s->slots = slots;
    return 0;
}

int wh_hset_init(wh_hset_t *s, const wh_hset_opts_t *o)
{
    memset(s, 0, sizeof *s);
    if (o->key_len == 0 || o->entry_size < o->key_len || o->entry_size > WH_HSET_MAX_ENTRY ||
        !pow2(o->slots) || o->slots < WH_HSET_MIN_SLOTS || !pow2(o->max_slots) ||
        o->max_slots < o->slots || o->max_slots > WH_HSET_MAX_SLOTS || o->probe > o->slots ||
        (o->probe && o->max_slots != o->slots))
        return WH_EINVAL;
    s->key_len = o->key_len;
    s->entry_size = o->entry_size;
    s->max_slots = o->max_slots;
    s->probe = o->probe;
    s->evict_first = o->evict_first;
    if (wh_random_bytes(s->seed, sizeof s->seed) != 0)
        return WH_ENOMEM;
    return alloc_slots(s, o->slots);
}

void wh_hset_close(wh_hset_t *s)
{
    free(s->entries);
    free(s->used);
    memset(s, 0, sizeof *s);
}

/* The slot holding key, or the free slot where the probe ended ((size_t)-1
 * when a cache's window is full); *found says which. */
static size_t find(const wh_hset_t *s, const unsigned char *key, bool *found)
{
    size_t mask = s->slots - 1, i = home_of(s, key);
    for (size_t n = 0; !s->probe || n < s->probe; n++, i = (i + 1) & mask) {
        if (!s->used[i]) {
            *found = false;
            return i;
        }
        if (key_eq(s, entry(s, i), key)) {
            *found = true;
            return i;
        }
    }
    *found = false;
    return (size_t)-1;
}

void *wh_hset_get(const wh_hset_t *s, const void *key)
{
    bool found;
    size_t i = find(s, key, &found);
    return found ? entry(s, i) : NULL;
}

static int grow(wh_hset_t *s)
{
    wh_hset_t old = *s;
    if (alloc_slots(s, old.slots * 2) != 0) {
        *s = old;
        return WH_ENOMEM;
    }
    for (size_t j = 0; j < old.slots; j++) {
        if (!old.used[j])
            continue;
        bool found;
        size_t i = find(s, old.entries + j * old.entry_size, &found);
        memcpy(entry(s, i), old.entries + j * old.entry_size, s->entry_size);
        s->used[i] = 1;
    }
    free(old.entries);
    free(old.used);
    return 0;
}

/* The slot a cache gives up for a key whose window is full. */
static size_t victim(const wh_hset_t *s, const unsigned char *key)
{
    size_t mask = s->slots - 1, home = home_of(s, key), v = home;
    for (size_t n = 1; s->evict_first && n < s->probe; n++) {
        size_t i = (home + n) & mask;
        if (s->evict_first(entry(s, i), entry(s, v)))
            v = i;
    }
    return v;
}

void *wh_hset_put(wh_hset_t *s, const void *key, wh_hset_how_t *how, int *err)
{
    *err = 0;
    bool found;
    size_t i = find(s, key, &found);
    if (found) {
        *how = WH_HSET_FOUND;
        return entry(s, i);
    }
    if (i == (size_t)-1) { /* a cache's full window */
        i = victim(s, key);
        memcpy(entry(s, i), key, s->key_len);
        *how = WH_HSET_REPLACED;
        return entry(s, i);
    }
    if (!s->probe && (s->count + 1) * 4 > s->slots * 3) {
        if (s->slots >= s->max_slots) {
            *err = WH_ELIMIT;
            return NULL;
        }
        if ((*err = grow(s)) != 0)
            return NULL;
        i = find(s, key, &found);
    }
    memset(entry(s, i), 0, s->entry_size);
    memcpy(entry(s, i), key, s->key_len);
    s->used[i] = 1;
    s->count++;
    *how = WH_HSET_ADDED;
    return entry(s, i);
}

bool wh_hset_del(wh_hset_t *s, const void *key)
{
    bool found;
    size_t hole = find(s, key, &found), mask = s->slots - 1;
    if (!found)
        return false;
    s->used[hole] = 0;
    s->count--;
    /* Backward shift: an entry after the hole moves into it unless its home
     * lies after the hole (cyclically up to the entry), where the probe for
     * it starts past the hole anyway. An entry only ever moves towards its
     * home, so a cache's keys stay within their windows. */
    for (size_t j = (hole + 1) & mask; s->used[j]; j = (j + 1) & mask) {
        size_t home = home_of(s, entry(s, j));
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            memcpy(entry(s, hole), entry(s, j), s->entry_size);
            s->used[hole] = 1;
            s->used[j] = 0;
            hole = j;
        }
    }
    return true;
}

void wh_hset_clear(wh_hset_t *s)
{
    memset(s->used, 0, s->slots);
    memset(s->entries, 0, s->slots * s->entry_size);
    s->count = 0;
}

void *wh_hset_slot(const wh_hset_t *s, size_t i)
{
    return i < s->slots && s->used[i] ? entry(s, i) : NULL;
}
