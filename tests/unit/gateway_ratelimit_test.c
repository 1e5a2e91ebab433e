/* services/gateway/ratelimit.c, the gateway's per-address limit of the
 * operations that need no bearer token (the public survey endpoints, the
 * OpenAPI document); no service is involved. The burst and then the exact
 * Retry-After, refill over time up to the burst and no further, addresses
 * independent of each other, IPv6 grouped per /64 and IPv4-mapped IPv6 as
 * IPv4, a bounded table that evicts the address seen longest ago, and the
 * argument checks. */
#include <stdio.h>

#include "check.h"
#include "err.h"
#include "ratelimit.h"

static void test_burst_then_retry_after(void)
{
    ratelimit_t *rl;
    CHECK_INT(ratelimit_new(2, 5, 64, &rl), 0);
    for (int i = 0; i < 5; i++)
        CHECK_INT(ratelimit_take(rl, "192.0.2.1", 1000), 0);
    /* Empty: one token takes 500 ms at 2/s, announced as 1 s. */
    CHECK_INT(ratelimit_take(rl, "192.0.2.1", 1000), 1);
    CHECK_INT(ratelimit_take(rl, "192.0.2.1", 1499), 1);
    CHECK_INT(ratelimit_take(rl, "192.0.2.1", 1500), 0);
    CHECK_INT(ratelimit_take(rl, "192.0.2.1", 1500), 1);
    ratelimit_destroy(&rl);
    CHECK(rl == NULL);
    ratelimit_destroy(&rl); /* NULL is fine */
}

static void test_slow_rate_retry_after(void)
{
    ratelimit_t *rl;
    CHECK_INT(ratelimit_new(0.1, 1, 64, &rl), 0); /* one per 10 s */
    CHECK_INT(ratelimit_take(rl, "192.0.2.9", 0), 0);
    CHECK_INT(ratelimit_take(rl, "192.0.2.9", 0), 10);
    CHECK_INT(ratelimit_take(rl, "192.0.2.9", 2500), 8); /* 7.5 s left, rounded up */
    ratelimit_destroy(&rl);
}

static void test_refill_caps_at_burst(void)
{
    ratelimit_t *rl;
    CHECK_INT(ratelimit_new(10, 3, 64, &rl), 0);
    CHECK_INT(ratelimit_take(rl, "192.0.2.2", 0), 0);
    /* An hour idle refills to the burst, not to 36,000. */
    for (int i = 0; i < 3; i++)
        CHECK_INT(ratelimit_take(rl, "192.0.2.2", 3600000), 0);
    CHECK(ratelimit_take(rl, "192.0.2.2", 3600000) > 0);
    ratelimit_destroy(&rl);
}

static void test_addresses_independent(void)
{
    ratelimit_t *rl;
    CHECK_INT(ratelimit_new(1, 2, 64, &rl), 0);
    CHECK_INT(ratelimit_take(rl, "192.0.2.3", 0), 0);
    CHECK_INT(ratelimit_take(rl, "192.0.2.3", 0), 0);
    CHECK(ratelimit_take(rl, "192.0.2.3", 0) > 0);
    CHECK_INT(ratelimit_take(rl, "192.0.2.4", 0), 0);
    CHECK_INT(ratelimit_take(rl, "2001:db8::1", 0), 0);
    CHECK_INT(ratelimit_used(rl), 3);
    ratelimit_destroy(&rl);
}

static void test_ipv6_prefix_and_mapped(void)
{
    ratelimit_t *rl;
    CHECK_INT(ratelimit_new(1, 2, 64, &rl), 0);
    /* Two addresses in one /64 share a bucket... */
    CHECK_INT(ratelimit_take(rl, "2001:db8:1:2::1", 0), 0);
    CHECK_INT(ratelimit_take(rl, "2001:db8:1:2:ffff::9", 0), 0);
    CHECK(ratelimit_take(rl, "2001:db8:1:2::77", 0) > 0);
    /* ...the next /64 does not. */
    CHECK_INT(ratelimit_take(rl, "2001:db8:1:3::1", 0), 0);
    /* IPv4-mapped IPv6 is the IPv4 address itself. */
    CHECK_INT(ratelimit_take(rl, "198.51.100.7", 0), 0);
    CHECK_INT(ratelimit_take(rl, "::ffff:198.51.100.7", 0), 0);
    CHECK(ratelimit_take(rl, "198.51.100.7", 0) > 0);
    /* Names that are no address share one bucket. */
    CHECK_INT(ratelimit_take(rl, "unknown", 0), 0);
    CHECK_INT(ratelimit_take(rl, "", 0), 0);
    CHECK(ratelimit_take(rl, NULL, 0) > 0);
    ratelimit_destroy(&rl);
}

/* Far more addresses than buckets: the table stays at its size, and the
 * address seen longest ago is the one evicted (it starts again full). */
static void test_bounded_table(void)
{
    ratelimit_t *rl;
    CHECK_INT(ratelimit_new(1, 1, 16, &rl), 0);
    CHECK_INT(ratelimit_take(rl, "203.0.113.1", 0), 0);
    CHECK(ratelimit_take(rl, "203.0.113.1", 0) > 0);
    char a[48];
    for (int i = 0; i < 10000; i++) {
        snprintf(a, sizeof a, "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        CHECK_INT(ratelimit_take(rl, a, 10 + (uint64_t)i / 1000), 0);
        CHECK(ratelimit_used(rl) <= 16);
    }
    CHECK_INT(ratelimit_used(rl), 16);
    /* 203.0.113.1 was the oldest everywhere it could live: evicted, so it is
     * allowed again although its bucket was empty and little time passed. */
    CHECK_INT(ratelimit_take(rl, "203.0.113.1", 20), 0);
    ratelimit_destroy(&rl);
}

static void test_bad_arguments(void)
{
    ratelimit_t *rl = NULL;
    CHECK_INT(ratelimit_new(0, 5, 64, &rl), WH_EINVAL);
    CHECK_INT(ratelimit_new(1, 0.5, 64, &rl), WH_EINVAL);
    CHECK_INT(ratelimit_new(1, 5, 100, &rl), WH_EINVAL); /* not a power of two */
    CHECK_INT(ratelimit_new(1, 5, RATELIMIT_PROBE / 2, &rl), WH_EINVAL);
    CHECK(rl == NULL);
    CHECK_INT(ratelimit_new(RATELIMIT_RATE_PER_S, RATELIMIT_BURST, RATELIMIT_MAX_ADDRESSES, &rl),
              0);
    ratelimit_destroy(&rl);
}

int main(void)
{
    TEST(test_burst_then_retry_after);
    TEST(test_slow_rate_retry_after);
    TEST(test_refill_caps_at_burst);
    TEST(test_addresses_independent);
    TEST(test_ipv6_prefix_and_mapped);
    TEST(test_bounded_table);
    TEST(test_bad_arguments);
    return 0;
}
