#include "id.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

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

/* SHA256() looks the algorithm up anew on every call, which costs more
 * than hashing a token; it is looked up once. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void wh_sha256_hex(const void *data, size_t n, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md || !EVP_Digest(data, n, md, NULL, sha256_md, NULL))
        SHA256(data, n, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}
