/* Per-address rate limiting for the operations that need no bearer token
 * (the public survey endpoints, the OpenAPI document). It lives in the
 * gateway because only the gateway sees network addresses; no service ever
 * learns one, so nothing stored can link a survey response to an address.
 *
 * A token bucket per address: RATELIMIT_BURST requests at once, refilled at
 * RATELIMIT_RATE_PER_S. IPv6 addresses share a bucket per /64 (one host
 * usually holds a whole /64); IPv4-mapped IPv6 counts as IPv4. The table is
 * a fixed array of RATELIMIT_MAX_ADDRESSES buckets with open addressing
 * under a keyed hash (seeded at random, so that nobody can aim addresses at
 * one slot): an address looks at RATELIMIT_PROBE slots and, when none is
 * its own or free, takes over the one seen longest ago. Memory is bounded
 * whatever the number of clients; an evicted address merely starts again
 * with a full bucket. It does not know HTTP. */
#ifndef GATEWAY_RATELIMIT_H
#define GATEWAY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_RATE_PER_S    10   /* default sustained requests per second per address */
#define RATELIMIT_BURST         100  /* default requests at once */
#define RATELIMIT_MAX_ADDRESSES 8192 /* buckets kept; a power of two */
#define RATELIMIT_PROBE         8    /* slots an address may occupy */

typedef struct ratelimit ratelimit_t;

/* rate_per_s > 0, burst >= 1, max_addresses a power of two >= RATELIMIT_PROBE. */
int ratelimit_new(double rate_per_s, double burst, size_t max_addresses, ratelimit_t **out);
void ratelimit_destroy(ratelimit_t **rl_p);

/* Takes one request for addr (text, as the HTTP server reports the peer) at
 * now_ms (a monotonic clock). Returns 0 when allowed, else the whole
 * seconds until the next request would be (for Retry-After, at least 1). */
int ratelimit_take(ratelimit_t *rl, const char *addr, uint64_t now_ms);

/* Buckets in use (for tests). */
size_t ratelimit_used(const ratelimit_t *rl);

#endif
