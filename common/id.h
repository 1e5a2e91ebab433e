/* Identifiers and randomness. Ids are ULIDs: 48 bits of milliseconds from the
 * service clock and 80 random bits in Crockford base32, 26 characters, so
 * they sort by creation time; within one millisecond the random part is
 * incremented, keeping ids from one process strictly increasing. Secrets
 * (tokens, signing keys, participation codes) come from wh_random_bytes,
 * which reads the kernel's CSPRNG. */
#ifndef WH_ID_H
#define WH_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WH_ID_LEN 26

int wh_random_bytes(void *buf, size_t n);
/* Writes a new id and a NUL to out. */
void wh_id_new(char out[WH_ID_LEN + 1]);
/* True for 26 characters of Crockford base32 (upper case). */
bool wh_id_valid(const char *s, size_t n);
/* base64url without padding of n bytes; out needs 4*ceil(n/3)+1 bytes. */
size_t wh_base64url(const unsigned char *in, size_t n, char *out);
/* Standard base64 with padding; out needs 4*ceil(n/3)+1 bytes. */
size_t wh_base64(const unsigned char *in, size_t n, char *out);
#define WH_SHA256_BYTES 32
/* SHA-256 of data[0..n) (FIPS 180-4; in the tree, see id.c). */
void wh_sha256(const void *data, size_t n, unsigned char out[WH_SHA256_BYTES]);
/* SHA-256 of data as 64 lowercase hex characters and a NUL. */
void wh_sha256_hex(const void *data, size_t n, char out[65]);
/* SHA-256 of the file at path, the same way, and its size; WH_EIO (errno
 * set) if it cannot be read. */
int wh_sha256_file(const char *path, char out[65], int64_t *bytes);
/* Whether a[0..n) and b[0..n) are equal, in time that depends on n only
 * (for secrets and their hashes). */
bool wh_ct_equal(const void *a, const void *b, size_t n);

#endif
