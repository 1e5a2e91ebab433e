#include "ratelimit.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hset.h"

/* The hash set's entry: its key first. */
typedef struct bucket {
    unsigned char key[16];
    double tokens;
    uint64_t last_ms;
} bucket_t;

struct ratelimit {
    double rate_per_ms, burst;
    wh_hset_t buckets;
};

/* The bucket seen longest ago goes first when a window is full. */
static bool older(const void *a, const void *b)
{
    return ((const bucket_t *)a)->last_ms < ((const bucket_t *)b)->last_ms;
}

int ratelimit_new(double rate_per_s, double burst, size_t max_addresses, ratelimit_t **out)
{
    if (!(rate_per_s > 0) || !(burst >= 1) || max_addresses < RATELIMIT_PROBE ||
        (max_addresses & (max_addresses - 1)) != 0)
        return WH_EINVAL;
    ratelimit_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return WH_ENOMEM;
    const wh_hset_opts_t o = {.key_len = 16,
                              .entry_size = sizeof(bucket_t),
                              .slots = max_addresses,
                              .max_slots = max_addresses,
                              .probe = RATELIMIT_PROBE,
                              .evict_first = older};
    int rc = wh_hset_init(&rl->buckets, &o);
    if (rc != 0) {
        free(rl);
        return rc;
    }
    rl->rate_per_ms = rate_per_s / 1000.0;
    rl->burst = burst;
    *out = rl;
    return 0;
}

void ratelimit_destroy(ratelimit_t **rl_p)
{
    ratelimit_t *rl = *rl_p;
    if (!rl)
        return;
    wh_hset_close(&rl->buckets);
    free(rl);
    *rl_p = NULL;
}

size_t ratelimit_used(const ratelimit_t *rl)
{
    return wh_hset_count(&rl->buckets);
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

int ratelimit_take(ratelimit_t *rl, const char *addr, uint64_t now_ms)
{
    unsigned char key[16];
    addr_key(addr ? addr : "", key);
    wh_hset_how_t how;
    int err;
    bucket_t *b = wh_hset_put(&rl->buckets, key, &how, &err);
    if (how != WH_HSET_FOUND) { /* a new address, or one evicted for it */
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
