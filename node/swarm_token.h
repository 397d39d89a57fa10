/* Swarm join tokens in SwarmKit's format:
 *
 *   SWMTKN-1-<digest: 50 base-36 digits>-<secret: 25 base-36 digits>
 *
 * In SwarmKit the digest part is the sha256 of the cluster's root CA
 * certificate, so a joining node can pin the CA it downloads; the secret
 * part is 16 random bytes, different for the worker and the manager token
 * and for every rotation.  Berth has no X.509 CA: the cluster's root of
 * trust is an ed25519 key pair whose 32-byte seed (the "root secret") lives
 * in the cluster object, and the digest part is the sha256 of its public
 * key.  A joining node can pin that key the same way.
 *
 * Both numbers are written as Go's big.Int.Text(36) does (lower-case
 * 0-9a-z, most significant digit first), left-padded with zeros. */
#ifndef BERTH_NODE_SWARM_TOKEN_H
#define BERTH_NODE_SWARM_TOKEN_H

#include <stddef.h>

#include "lib/err.h"

#define SWARM_TOKEN_DIGEST_LEN 50
#define SWARM_TOKEN_SECRET_LEN 25
#define SWARM_TOKEN_SECRET_BYTES 16
#define SWARM_ROOT_SECRET_BYTES 32
/* "SWMTKN-1-" + digest + "-" + secret */
#define SWARM_TOKEN_LEN (9 + SWARM_TOKEN_DIGEST_LEN + 1 + SWARM_TOKEN_SECRET_LEN)

/* Writes the big-endian number in bytes[0..n) in base 36, left-padded with
 * '0' to width digits (more digits when the number needs them), into out,
 * which holds at least max(width, 2 * n) + 1 bytes.  Returns the length. */
size_t swarm_base36(const unsigned char *bytes, size_t n, size_t width, char *out);

/* The digest part for a root secret (a seed for crypto_sign_seed_keypair). */
void swarm_token_digest(const unsigned char seed[SWARM_ROOT_SECRET_BYTES], char out[SWARM_TOKEN_DIGEST_LEN + 1]);

/* The digest part for the root public key (what a joining node receives
 * and pins), and that public key (64 hex digits + NUL) from the root
 * secret as the cluster object keeps it (64 hex digits). */
void swarm_token_digest_pk(const unsigned char *pk, size_t len, char out[SWARM_TOKEN_DIGEST_LEN + 1]);
int swarm_root_public_hex(const char *seed_hex, char out[65], berr *e);

/* A new token for the cluster with this root secret (fresh random secret
 * part on every call). */
void swarm_token_new(const unsigned char seed[SWARM_ROOT_SECRET_BYTES], char out[SWARM_TOKEN_LEN + 1]);

/* The same from the root secret as kept in the cluster object (64 hex
 * digits).  -EINVAL if it is not that. */
int swarm_token_new_hex(const char *seed_hex, char out[SWARM_TOKEN_LEN + 1], berr *e);

/* Splits a token into its parts, accepting what SwarmKit's ParseJoinToken
 * accepts (version 1, and version 2 with its FIPS flag).  -EINVAL with
 * SwarmKit's "invalid join token" otherwise. */
int swarm_token_parse(const char *token, char digest[SWARM_TOKEN_DIGEST_LEN + 1],
                      char secret[SWARM_TOKEN_SECRET_LEN + 1], berr *e);

#endif
