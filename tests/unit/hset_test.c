/* common/hset.c: a set that grows to its bound, a cache that evicts within
 * its probe window, deletion that keeps every other key findable. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "hset.h"

typedef struct {
    int64_t key;
    int64_t value;
} pair_t;

static void set_of_ints(wh_hset_t *s, size_t slots, size_t max_slots)
{
    wh_hset_opts_t o = {
        .key_len = 8, .entry_size = sizeof(pair_t), .slots = slots, .max_slots = max_slots};
    CHECK_INT(wh_hset_init(s, &o), 0);
}

static void test_options(void)
{
    wh_hset_t s;
    wh_hset_opts_t o = {.key_len = 8, .entry_size = 8, .slots = 8, .max_slots = 8};
    CHECK_INT(wh_hset_init(&s, &o), 0);
    wh_hset_close(&s);
    wh_hset_opts_t bad[] = {
        {.key_len = 0, .entry_size = 8, .slots = 8, .max_slots = 8},
        {.key_len = 8, .entry_size = 4, .slots = 8, .max_slots = 8},
        {.key_len = 8, .entry_size = WH_HSET_MAX_ENTRY + 1, .slots = 8, .max_slots = 8},
        {.key_len = 8, .entry_size = 8, .slots = 12, .max_slots = 16},
        {.key_len = 8, .entry_size = 8, .slots = 4, .max_slots = 8},
        {.key_len = 8, .entry_size = 8, .slots = 16, .max_slots = 8},
        {.key_len = 8, .entry_size = 8, .slots = 8, .max_slots = WH_HSET_MAX_SLOTS * 2},
        {.key_len = 8, .entry_size = 8, .slots = 8, .max_slots = 16, .probe = 2},
        {.key_len = 8, .entry_size = 8, .slots = 8, .max_slots = 8, .probe = 9},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(wh_hset_init(&s, &bad[i]), WH_EINVAL);
}

/* From 8 slots up to 1024: every key added is found with its value, and
 * keys never added are not. */
static void test_growth(void)
{
    wh_hset_t s;
    set_of_ints(&s, 8, 1024);
    wh_hset_how_t how;
    int err;
    for (int64_t k = 1; k <= 700; k++) {
        pair_t *p = wh_hset_put(&s, &k, &how, &err);
        CHECK(p);
        CHECK_INT(how, WH_HSET_ADDED);
        CHECK_INT(p->value, 0);
        p->value = k * 3;
    }
    CHECK_INT(wh_hset_count(&s), 700);
    CHECK_INT(s.slots, 1024);
    for (int64_t k = 1; k <= 700; k++) {
        pair_t *p = wh_hset_get(&s, &k);
        CHECK(p);
        CHECK_INT(p->key, k);
        CHECK_INT(p->value, k * 3);
    }
    for (int64_t k = 701; k <= 2000; k++)
        CHECK(!wh_hset_get(&s, &k));
    /* Putting a key again finds it and leaves its value. */
    int64_t k = 5;
    pair_t *p = wh_hset_put(&s, &k, &how, &err);
    CHECK_INT(how, WH_HSET_FOUND);
    CHECK_INT(p->value, 15);
    CHECK_INT(wh_hset_count(&s), 700);
    wh_hset_close(&s);
}

/* At max_slots a set holds 3/4 of them and refuses the next new key, but
 * still finds the ones it has; after a delete there is room again. */
static void test_bounded(void)
{
    wh_hset_t s;
    set_of_ints(&s, 8, 16);
    wh_hset_how_t how;
    int err;
    for (int64_t k = 1; k <= 12; k++)
        CHECK(wh_hset_put(&s, &k, &how, &err));
    int64_t k = 13;
    CHECK(!wh_hset_put(&s, &k, &how, &err));
    CHECK_INT(err, WH_ELIMIT);
    CHECK_INT(wh_hset_count(&s), 12);
    CHECK_INT(s.slots, 16);
    k = 12;
    CHECK(wh_hset_put(&s, &k, &how, &err));
    CHECK_INT(how, WH_HSET_FOUND);
    CHECK(wh_hset_del(&s, &k));
    k = 13;
    CHECK(wh_hset_put(&s, &k, &how, &err));
    CHECK_INT(err, 0);
    wh_hset_close(&s);
}

/* Random puts and deletes in a small, crowded table (long probe runs that
 * wrap around the end) against a plain array: deletion must move back
 * exactly the entries whose probe crossed the hole. */
static void test_delete_collisions(void)
{
    for (int round = 0; round < 50; round++) {
        wh_hset_t s;
        set_of_ints(&s, 16, 16);
        bool in[40] = {0};
        uint64_t r = 0x9E3779B97F4A7C15ull * (uint64_t)(round + 1);
        for (int step = 0; step < 2000; step++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            int64_t k = (int64_t)(r % 40);
            wh_hset_how_t how;
            int err;
            if (r >> 40 & 1) {
                CHECK_INT(wh_hset_del(&s, &k), in[k]);
                in[k] = false;
            } else if (wh_hset_put(&s, &k, &how, &err)) {
                CHECK_INT(how, in[k] ? WH_HSET_FOUND : WH_HSET_ADDED);
                in[k] = true;
            } else {
                CHECK_INT(err, WH_ELIMIT);
                CHECK(!in[k]);
            }
            size_t n = 0;
            for (int64_t j = 0; j < 40; j++) {
                pair_t *p = wh_hset_get(&s, &j);
                CHECK_INT(p != NULL, in[j]);
                n += in[j];
            }
            CHECK_INT(wh_hset_count(&s), n);
            size_t seen = 0;
            for (size_t i = 0; i < s.slots; i++)
                seen += wh_hset_slot(&s, i) != NULL;
            CHECK_INT(seen, n);
        }
        wh_hset_close(&s);
    }
}

/* A cache never holds more than its slots; a full window evicts the entry
 * evict_first ranks first, which the caller sees in the REPLACED entry. */
static bool older(const void *a, const void *b)
{
    return ((const pair_t *)a)->value < ((const pair_t *)b)->value;
}

static void test_cache_evicts(void)
{
    wh_hset_t s;
    wh_hset_opts_t o = {.key_len = 8,
                        .entry_size = sizeof(pair_t),
                        .slots = 8,
                        .max_slots = 8,
                        .probe = 8,
                        .evict_first = older};
    CHECK_INT(wh_hset_init(&s, &o), 0);
    wh_hset_how_t how;
    int err;
    for (int64_t k = 1; k <= 8; k++) {
        pair_t *p = wh_hset_put(&s, &k, &how, &err);
        CHECK_INT(how, WH_HSET_ADDED);
        p->value = 100 + k; /* key 1 is the oldest */
    }
    CHECK_INT(wh_hset_count(&s), 8);
    int64_t k = 9;
    pair_t *p = wh_hset_put(&s, &k, &how, &err);
    CHECK_INT(how, WH_HSET_REPLACED);
    CHECK_INT(p->key, 9);
    CHECK_INT(p->value, 101); /* the evicted entry's, to be released */
    p->value = 200;
    CHECK_INT(wh_hset_count(&s), 8);
    k = 1;
    CHECK(!wh_hset_get(&s, &k));
    for (k = 2; k <= 9; k++)
        CHECK(wh_hset_get(&s, &k));
    /* Many more keys: the size stays bounded, the newest key is always in. */
    for (k = 10; k < 1000; k++) {
        p = wh_hset_put(&s, &k, &how, &err);
        CHECK(p);
        p->value = 1000 + k;
        CHECK(wh_hset_get(&s, &k));
        CHECK(wh_hset_count(&s) <= 8);
    }
    wh_hset_clear(&s);
    CHECK_INT(wh_hset_count(&s), 0);
    k = 999;
    CHECK(!wh_hset_get(&s, &k));
    wh_hset_close(&s);
}

/* A direct-mapped cache (probe 1): a key is only ever in its home slot. */
static void test_direct_mapped(void)
{
    wh_hset_t s;
    wh_hset_opts_t o = {.key_len = 64, .entry_size = 72, .slots = 8, .max_slots = 8, .probe = 1};
    CHECK_INT(wh_hset_init(&s, &o), 0);
    char key[64];
    wh_hset_how_t how;
    int err;
    for (int i = 0; i < 200; i++) {
        memset(key, 'a' + i % 26, sizeof key);
        key[0] = (char)i;
        CHECK(wh_hset_put(&s, key, &how, &err));
        CHECK(wh_hset_get(&s, key));
        CHECK(wh_hset_count(&s) <= 8);
    }
    /* Keys differing only in their last byte are different keys. */
    memset(key, 'x', sizeof key);
    wh_hset_clear(&s);
    CHECK(wh_hset_put(&s, key, &how, &err));
    key[63] = 'y';
    CHECK(!wh_hset_get(&s, key));
    wh_hset_close(&s);
}

/* Keys that differ in one byte only, in every position of a key whose
 * length is not a multiple of the eight bytes compared at once, are
 * different keys. */
static void test_keys_differ_anywhere(void)
{
    enum { LEN = 21 };
    wh_hset_t s;
    wh_hset_opts_t o = {.key_len = LEN, .entry_size = LEN, .slots = 64, .max_slots = 64};
    CHECK_INT(wh_hset_init(&s, &o), 0);
    unsigned char base[LEN] = {0};
    wh_hset_how_t how;
    int err;
    CHECK(wh_hset_put(&s, base, &how, &err) != NULL);
    for (int i = 0; i < LEN; i++) {
        unsigned char k[LEN] = {0};
        k[i] = 0x80;
        CHECK(wh_hset_get(&s, k) == NULL);
        CHECK(wh_hset_put(&s, k, &how, &err) != NULL);
        CHECK_INT(how, WH_HSET_ADDED);
    }
    CHECK_INT(wh_hset_count(&s), LEN + 1);
    CHECK(wh_hset_get(&s, base) != NULL);
    wh_hset_close(&s);
}

int main(void)
{
    TEST(test_options);
    TEST(test_growth);
    TEST(test_bounded);
    TEST(test_delete_collisions);
    TEST(test_cache_evicts);
    TEST(test_direct_mapped);
    TEST(test_keys_differ_anywhere);
    return 0;
}
