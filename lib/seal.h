/* A sealed envelope: bytes encrypted and authenticated with a 32-byte key
 * (libsodium's XChaCha20-Poly1305 IETF AEAD, a random 24-byte nonce per
 * envelope).  Layout:
 *   "BSL1" | u32 LE plaintext length | nonce (24) | ciphertext + tag (len + 16) | zero padding
 * The 8-byte header is authenticated too, and the padding (to a multiple
 * of 8, which raft_uv requires of entry data) must be zeros, so a flipped,
 * truncated or extended envelope is refused rather than misread. */
#ifndef BERTH_LIB_SEAL_H
#define BERTH_LIB_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define SEAL_KEY_BYTES 32
#define SEAL_HEADER_BYTES 32   /* magic, length, nonce */
#define SEAL_TAG_BYTES 16

/* The size of the envelope of len bytes. */
size_t seal_size(size_t len);

/* Seals plain into out (seal_size(len) bytes). */
void seal_bytes(const uint8_t key[SEAL_KEY_BYTES], const void *plain, size_t len, void *out);

/* Whether buf starts like an envelope (the magic). */
bool seal_is_sealed(const void *buf, size_t len);

/* The plaintext length an envelope claims, or -EINVAL when buf cannot be
 * an envelope of that length. */
long long seal_plain_len(const void *buf, size_t len);

/* Opens an envelope into out (seal_plain_len bytes).  -EINVAL for a
 * malformed one, -EBADMSG when it fails authentication (corrupted, or
 * another key). */
int seal_open(const uint8_t key[SEAL_KEY_BYTES], const void *buf, size_t len, void *out, berr *e);

#endif
