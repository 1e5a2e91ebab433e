/* common/id.c: ULIDs (shape, validity, the time prefix, strict order within
 * one process), base64 and base64url against the RFC 4648 vectors, SHA-256
 * against the FIPS 180-2 vectors, and the CSPRNG wrapper. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "check.h"
#include "clock.h"
#include "err.h"
#include "id.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The 48-bit millisecond prefix of an id (its first ten characters). */
static int64_t id_ms(const char *id)
{
    int64_t v = 0;
    for (int i = 0; i < 10; i++)
        v = v * 32 + (int64_t)(strchr(crockford, id[i]) - crockford);
    return v;
}

static void test_id_shape(void)
{
    char id[WH_ID_LEN + 1];
    memset(id, '#', sizeof id);
    wh_id_new(id);
    CHECK_INT(strlen(id), 26);
    CHECK_INT(WH_ID_LEN, 26);
    CHECK(wh_id_valid(id, strlen(id)));
    for (int i = 0; i < WH_ID_LEN; i++)
        CHECK(strchr(crockford, id[i]) != NULL);
    CHECK(id[0] <= '7');
}

static void test_id_time_prefix(void)
{
    CHECK_INT(setenv("WH_NOW", "2025-01-01T00:00:00Z", 1), 0);
    CHECK_INT(wh_clock_init(), 0);
    char id[WH_ID_LEN + 1];
    int64_t before = wh_clock_now_ms();
    wh_id_new(id);
    int64_t after = wh_clock_now_ms();
    /* 1735689600000 ms in base32 is 01JGFJJZ00. */
    CHECK(strncmp(id, "01JGFJJZ", 8) == 0);
    CHECK(id_ms(id) >= before && id_ms(id) <= after);
    CHECK_INT(unsetenv("WH_NOW"), 0);
    CHECK_INT(wh_clock_init(), 0);
}

static void test_id_strictly_increasing(void)
{
    enum { N = 100000 };
    char(*ids)[WH_ID_LEN + 1] = malloc(N * sizeof *ids);
    CHECK(ids != NULL);
    for (int i = 0; i < N; i++)
        wh_id_new(ids[i]);
    int same_ms = 0;
    for (int i = 1; i < N; i++) {
        if (strcmp(ids[i - 1], ids[i]) >= 0) {
            fprintf(stderr, "id %d %s is not after %s\n", i, ids[i], ids[i - 1]);
            CHECK(0);
        }
        CHECK(wh_id_valid(ids[i], WH_ID_LEN));
        same_ms += id_ms(ids[i]) == id_ms(ids[i - 1]);
    }
    /* The loop is tight enough that many ids share a millisecond, which is
     * the case the increment exists for. */
    CHECK(same_ms > N / 2);
    free(ids);
}

static void test_id_valid(void)
{
    CHECK(wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAV", 26));
    CHECK(wh_id_valid("00000000000000000000000000", 26));
    CHECK(wh_id_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26));
    /* The first character carries only three bits. */
    CHECK(!wh_id_valid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26));
    /* Lower case, and the letters Crockford leaves out (I L O U). */
    CHECK(!wh_id_valid("01arz3ndektsv4rrffq69g5fav", 26));
    CHECK(!wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAI", 26));
    CHECK(!wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAL", 26));
    CHECK(!wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAO", 26));
    CHECK(!wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAU", 26));
    CHECK(!wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FA-", 26));
    CHECK(!wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FA ", 26));
    CHECK(!wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FA\0", 26));
    /* Length exactly 26. */
    CHECK(!wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FA", 25));
    CHECK(!wh_id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAVV", 27));
    CHECK(!wh_id_valid("", 0));
}

static const char *b64(const char *in, int url)
{
    static char out[64];
    memset(out, '#', sizeof out);
    size_t n = url ? wh_base64url((const unsigned char *)in, strlen(in), out)
                   : wh_base64((const unsigned char *)in, strlen(in), out);
    CHECK_INT(n, strlen(out));
    return out;
}

static void test_base64_rfc4648(void)
{
    CHECK_STR(b64("", 0), "");
    CHECK_STR(b64("f", 0), "Zg==");
    CHECK_STR(b64("fo", 0), "Zm8=");
    CHECK_STR(b64("foo", 0), "Zm9v");
    CHECK_STR(b64("foob", 0), "Zm9vYg==");
    CHECK_STR(b64("fooba", 0), "Zm9vYmE=");
    CHECK_STR(b64("foobar", 0), "Zm9vYmFy");
}

static void test_base64url_rfc4648(void)
{
    CHECK_STR(b64("", 1), "");
    CHECK_STR(b64("f", 1), "Zg");
    CHECK_STR(b64("fo", 1), "Zm8");
    CHECK_STR(b64("foo", 1), "Zm9v");
    CHECK_STR(b64("foob", 1), "Zm9vYg");
    CHECK_STR(b64("fooba", 1), "Zm9vYmE");
    CHECK_STR(b64("foobar", 1), "Zm9vYmFy");
}

static void test_base64_alphabets(void)
{
    /* The last two symbols differ: + and / versus - and _. */
    static const unsigned char hi[] = {0xfb, 0xff, 0xbf};
    char out[16];
    CHECK_INT(wh_base64(hi, 3, out), 4);
    CHECK_STR(out, "+/+/");
    CHECK_INT(wh_base64url(hi, 3, out), 4);
    CHECK_STR(out, "-_-_");
    static const unsigned char two[] = {0xfb, 0xff};
    CHECK_INT(wh_base64(two, 2, out), 4);
    CHECK_STR(out, "+/8=");
    CHECK_INT(wh_base64url(two, 2, out), 3);
    CHECK_STR(out, "-_8");
    static const unsigned char zero[] = {0, 0, 0, 0};
    CHECK_INT(wh_base64(zero, 4, out), 8);
    CHECK_STR(out, "AAAAAA==");
    /* 32 random bytes, as a token: 43 characters without padding. */
    unsigned char key[32];
    CHECK_INT(wh_random_bytes(key, sizeof key), 0);
    char tok[4 * 11 + 1];
    CHECK_INT(wh_base64url(key, sizeof key, tok), 43);
    CHECK_INT(strlen(tok), 43);
    CHECK(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
}

static const char *sha(const char *s, size_t n)
{
    static char out[65];
    memset(out, '#', sizeof out);
    wh_sha256_hex(s, n, out);
    return out;
}

static void test_sha256(void)
{
    CHECK_STR(sha("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_STR(sha("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK_STR(sha(two, strlen(two)),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* Only n bytes are hashed. */
    CHECK_STR(sha("abcdef", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* The same digest as OpenSSL's for every length around the block and
     * padding edges (55, 56, 63, 64, ...) and a long one. */
    static unsigned char data[70000];
    CHECK_INT(wh_random_bytes(data, sizeof data), 0);
    for (size_t n = 0; n <= sizeof data; n = n < 300 ? n + 1 : n * 2 + 7) {
        unsigned char ours[WH_SHA256_BYTES], theirs[SHA256_DIGEST_LENGTH];
        wh_sha256(data, n, ours);
        CHECK(EVP_Digest(data, n, theirs, NULL, EVP_sha256(), NULL) == 1);
        if (memcmp(ours, theirs, sizeof ours) != 0)
            fprintf(stderr, "differs at length %zu\n", n);
        CHECK(memcmp(ours, theirs, sizeof ours) == 0);
    }
    /* A million times 'a' (FIPS 180-2, appendix B.3). */
    char *a = malloc(1000000);
    CHECK(a != NULL);
    memset(a, 'a', 1000000);
    CHECK_STR(sha(a, 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* A file is hashed in chunks that end anywhere in a block: the digest is
 * the one of its bytes in one piece, and its size is counted. */
static void test_sha256_file(void)
{
    static unsigned char data[200003];
    CHECK_INT(wh_random_bytes(data, sizeof data), 0);
    char path[] = "/tmp/wh-id-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, data, sizeof data) == (ssize_t)sizeof data);
    close(fd);
    char want[65], got[65];
    int64_t bytes = -1;
    wh_sha256_hex(data, sizeof data, want);
    CHECK_INT(wh_sha256_file(path, got, &bytes), 0);
    CHECK_STR(got, want);
    CHECK(bytes == (int64_t)sizeof data);
    unlink(path);
    CHECK_INT(wh_sha256_file(path, got, &bytes), WH_EIO);
}

static void test_random_bytes(void)
{
    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK_INT(wh_random_bytes(a, sizeof a), 0);
    CHECK_INT(wh_random_bytes(b, sizeof b), 0);
    /* 512 random bits: equal or all-zero only if the CSPRNG is broken. */
    CHECK(memcmp(a, b, sizeof a) != 0);
    static const unsigned char z[64];
    CHECK(memcmp(a, z, sizeof a) != 0);
    CHECK_INT(wh_random_bytes(a, 0), 0);
    /* A large request is filled completely (getrandom may return short). */
    size_t big = 1 << 20;
    unsigned char *p = calloc(1, big);
    CHECK(p != NULL);
    CHECK_INT(wh_random_bytes(p, big), 0);
    size_t zeros = 0;
    for (size_t i = big - 4096; i < big; i++)
        zeros += p[i] == 0;
    CHECK(zeros < 64); /* expected 16 */
    free(p);
}

/* Equal only when every byte is: a difference in the first, a middle or
 * the last byte is found; nothing to compare is equal. */
static void test_ct_equal(void)
{
    unsigned char a[65], b[65];
    memset(a, 'x', sizeof a);
    memcpy(b, a, sizeof b);
    CHECK(wh_ct_equal(a, b, sizeof a));
    CHECK(wh_ct_equal(a, "y", 0));
    size_t at[] = {0, 31, 64};
    for (size_t i = 0; i < 3; i++) {
        b[at[i]] ^= 0x80;
        CHECK(!wh_ct_equal(a, b, sizeof a));
        b[at[i]] ^= 0x80;
    }
    CHECK(wh_ct_equal(a, b, sizeof a));
}

int main(void)
{
    TEST(test_ct_equal);
    /* First: ids never go back in time within a process, so the fixed
     * clock must come before any id from the real one. */
    TEST(test_id_time_prefix);
    TEST(test_id_shape);
    TEST(test_id_strictly_increasing);
    TEST(test_id_valid);
    TEST(test_base64_rfc4648);
    TEST(test_base64url_rfc4648);
    TEST(test_base64_alphabets);
    TEST(test_sha256);
    TEST(test_sha256_file);
    TEST(test_random_bytes);
    return 0;
}
