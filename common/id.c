#include "id.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int wh_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return WH_EIO;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void wh_id_new(char out[WH_ID_LEN + 1])
{
    static int64_t last_ms = -1;
    static unsigned char last_rand[10];
    int64_t ms = wh_clock_now_ms();
    if (ms <= last_ms) {
        /* Same (or an earlier) millisecond: keep the time, bump the random
         * part so that ids stay strictly increasing in this process. */
        ms = last_ms;
        for (int i = 9; i >= 0; i--)
            if (++last_rand[i] != 0)
                break;
    } else {
        if (wh_random_bytes(last_rand, sizeof last_rand) != 0)
            memset(last_rand, 0, sizeof last_rand); /* ordering still holds */
        last_ms = ms;
    }
    /* 128 bits (48 of time, 80 random) as 26 base32 digits, the first
     * carrying the top 3 bits: hi holds bits 127..64, lo bits 63..0. */
    uint64_t hi = (uint64_t)ms << 16 | (uint64_t)last_rand[0] << 8 | last_rand[1];
    uint64_t lo = 0;
    for (int i = 2; i < 10; i++)
        lo = lo << 8 | last_rand[i];
    for (int i = WH_ID_LEN - 1; i >= 0; i--) {
        out[i] = crockford[lo & 31];
        lo = lo >> 5 | hi << 59;
        hi >>= 5;
    }
    out[WH_ID_LEN] = '\0';
}

bool wh_id_valid(const char *s, size_t n)
{
    if (n != WH_ID_LEN || s[0] > '7')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!memchr(crockford, s[i], 32) || s[i] == '\0')
            return false;
    return true;
}

static size_t b64(const unsigned char *in, size_t n, char *out, const char *alpha, bool pad)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = alpha[(v >> 6) & 63];
        else if (pad)
            out[o++] = '=';
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

size_t wh_base64url(const unsigned char *in, size_t n, char *out)
{
    return b64(in, n, out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
               false);
}

size_t wh_base64(const unsigned char *in, size_t n, char *out)
{
    return b64(in, n, out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
               true);
}

/* SHA-256 (FIPS 180-4) in the tree rather than from libcrypto: the
 * services need nothing else from OpenSSL, and each process that loads
 * libcrypto carries over half a megabyte of its relocated data. No branch
 * or table index depends on the data, as in OpenSSL's portable code. */
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int n)
{
    return x >> n | x << (32 - n);
}

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 =
            k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

/* The running state of one digest: whole blocks are hashed as they fill. */
typedef struct {
    uint32_t h[8];
    unsigned char buf[64];
    size_t buf_n;
    uint64_t n;
} sha256_t;

static void sha256_init(sha256_t *c)
{
    *c = (sha256_t){.h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
                          0x1f83d9ab, 0x5be0cd19}};
}

static void sha256_update(sha256_t *c, const unsigned char *p, size_t n)
{
    c->n += n;
    if (c->buf_n) {
        size_t k = 64 - c->buf_n < n ? 64 - c->buf_n : n;
        memcpy(c->buf + c->buf_n, p, k);
        c->buf_n += k;
        p += k;
        n -= k;
        if (c->buf_n < 64)
            return;
        sha256_block(c->h, c->buf);
        c->buf_n = 0;
    }
    for (; n >= 64; n -= 64, p += 64)
        sha256_block(c->h, p);
    memcpy(c->buf, p, n);
    c->buf_n = n;
}

static void sha256_final(sha256_t *c, unsigned char out[WH_SHA256_BYTES])
{
    /* The tail, 0x80, zeros and the length in bits: one block or two. */
    unsigned char tail[128] = {0};
    memcpy(tail, c->buf, c->buf_n);
    tail[c->buf_n] = 0x80;
    size_t blocks = c->buf_n < 56 ? 1 : 2;
    uint64_t bits = c->n * 8;
    for (int i = 0; i < 8; i++)
        tail[blocks * 64 - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t b = 0; b < blocks; b++)
        sha256_block(c->h, tail + 64 * b);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(c->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)c->h[i];
    }
}

void wh_sha256(const void *data, size_t n, unsigned char out[WH_SHA256_BYTES])
{
    sha256_t c;
    sha256_init(&c);
    sha256_update(&c, data, n);
    sha256_final(&c, out);
}

static void sha256_out(const unsigned char md[WH_SHA256_BYTES], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < WH_SHA256_BYTES; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void wh_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[WH_SHA256_BYTES];
    wh_sha256(data, n, md);
    sha256_out(md, out);
}

int wh_sha256_file(const char *path, char out[65], int64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return WH_EIO;
    sha256_t c;
    sha256_init(&c);
    static _Thread_local unsigned char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        sha256_update(&c, buf, (size_t)n);
    int err = errno;
    close(fd);
    if (n < 0) {
        errno = err;
        return WH_EIO;
    }
    unsigned char md[WH_SHA256_BYTES];
    sha256_final(&c, md);
    sha256_out(md, out);
    *bytes = (int64_t)c.n;
    return 0;
}

bool wh_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}
