#include "id.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
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
    unsigned char b[16];
    uint64_t t = (uint64_t)ms;
    for (int i = 5; i >= 0; i--) {
        b[i] = (unsigned char)(t & 0xff);
        t >>= 8;
    }
    memcpy(b + 6, last_rand, 10);
    /* 128 bits as 26 base32 digits: the first digit carries 3 bits. */
    int bit = -2; /* 26*5 = 130 bits; two leading zero bits */
    for (int i = 0; i < WH_ID_LEN; i++, bit += 5) {
        unsigned v = 0;
        for (int k = 0; k < 5; k++) {
            int pos = bit + k;
            unsigned bitval = 0;
            if (pos >= 0)
                bitval = (b[pos / 8] >> (7 - pos % 8)) & 1u;
            v = (v << 1) | bitval;
        }
        out[i] = crockford[v];
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

static void sha256_out(const unsigned char md[SHA256_DIGEST_LENGTH], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void wh_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, n, md);
    sha256_out(md, out);
}

int wh_sha256_file(const char *path, char out[65], int64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return WH_EIO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : WH_EIO;
    static _Thread_local unsigned char buf[1 << 16];
    int64_t total = 0;
    ssize_t n = 0;
    while (rc == 0 && (n = read(fd, buf, sizeof buf)) > 0) {
        total += n;
        rc = EVP_DigestUpdate(md, buf, (size_t)n) == 1 ? 0 : WH_EIO;
    }
    unsigned char d[SHA256_DIGEST_LENGTH];
    unsigned len = 0;
    if (rc == 0 && (n < 0 || EVP_DigestFinal_ex(md, d, &len) != 1 || len != sizeof d))
        rc = WH_EIO;
    EVP_MD_CTX_free(md);
    close(fd);
    if (rc == 0) {
        sha256_out(d, out);
        *bytes = total;
    }
    return rc;
}
