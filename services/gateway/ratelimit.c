#include "ratelimit.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "id.h"

typedef struct bucket {
    unsigned char key[16];
    bool used;
    double tokens;
    uint64_t last_ms;
} bucket_t;

struct ratelimit {
    double rate_per_ms, burst;
    size_t mask;
    uint64_t seed[2];
    size_t used;
    bucket_t *b;
};

int ratelimit_new(double rate_per_s, double burst, size_t max_addresses, ratelimit_t **out)
{
    if (!(rate_per_s > 0) || !(burst >= 1) || max_addresses < RATELIMIT_PROBE ||
        (max_addresses & (max_addresses - 1)) != 0)
        return WH_EINVAL;
    ratelimit_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return WH_ENOMEM;
    rl->b = calloc(max_addresses, sizeof *rl->b);
    if (!rl->b || wh_random_bytes(rl->seed, sizeof rl->seed) != 0) {
        free(rl->b);
        free(rl);
        return WH_ENOMEM;
    }
    rl->rate_per_ms = rate_per_s / 1000.0;
    rl->burst = burst;
    rl->mask = max_addresses - 1;
    *out = rl;
    return 0;
}

void ratelimit_destroy(ratelimit_t **rl_p)
{
    ratelimit_t *rl = *rl_p;
    if (!rl)
        return;
    free(rl->b);
    free(rl);
    *rl_p = NULL;
}

size_t ratelimit_used(const ratelimit_t *rl)
{
    return rl->used;
}

/* The bucket key: IPv4 as IPv4-mapped IPv6, IPv6 cut to its /64. Anything
 * else (a name the server could not resolve) shares the all-zero key. */
static void addr_key(const char *addr, unsigned char key[16])
{
    memset(key, 0, 16);
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &a4, 4);
    } else if (inet_pton(AF_INET6, addr, &a6) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a6.s6_addr, mapped, 12) == 0)
            memcpy(key, a6.s6_addr, 16);
        else
            memcpy(key, a6.s6_addr, 8);
    }
}

/* A keyed 64-bit hash (murmur3's finalizer over the key's two halves and the
 * random seed); only its spread matters, not its cryptographic strength. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t slot_of(const ratelimit_t *rl, const unsigned char key[16])
{
    uint64_t hi, lo;
    memcpy(&hi, key, 8);
    memcpy(&lo, key + 8, 8);
    return (size_t)(mix(mix(hi ^ rl->seed[0]) ^ lo ^ rl->seed[1]) & rl->mask);
}

int ratelimit_take(ratelimit_t *rl, const char *addr, uint64_t now_ms)
{
    unsigned char key[16];
    addr_key(addr ? addr : "", key);
    size_t start = slot_of(rl, key);
    bucket_t *b = NULL, *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < RATELIMIT_PROBE && !b; i++) {
        bucket_t *x = &rl->b[(start + i) & rl->mask];
        if (x->used && memcmp(x->key, key, 16) == 0)
            b = x;
        else if (!x->used && !free_slot)
            free_slot = x;
        else if (x->used && (!oldest || x->last_ms < oldest->last_ms))
            oldest = x;
    }
    if (!b) {
        b = free_slot ? free_slot : oldest;
        if (!b->used)
            rl->used++;
        memcpy(b->key, key, 16);
        b->used = true;
        b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rl->rate_per_ms;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait_s = (1.0 - b->tokens) / (rl->rate_per_ms * 1000.0);
    double secs = ceil(wait_s);
    return secs < 1 ? 1 : secs > 86400 ? 86400 : (int)secs;
}
