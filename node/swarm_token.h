/* Swarm join tokens in SwarmKit's format:
 *
 *   SWMTKN-1-<digest: 50 base-36 digits>-<secret: 25 base-36 digits>
 *
 * The digest part is the sha256 of the cluster's root CA certificate (its
 * PEM text, as SwarmKit's digest.FromBytes(rootCA.Certs)), so a joining
 * node can pin the CA it downloads before it trusts it; the secret part
 * is 16 random bytes, different for the worker and the manager token and
 * for every rotation.
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
/* "SWMTKN-1-" + digest + "-" + secret */
#define SWARM_TOKEN_LEN (9 + SWARM_TOKEN_DIGEST_LEN + 1 + SWARM_TOKEN_SECRET_LEN)

/* Writes the big-endian number in bytes[0..n) in base 36, left-padded with
 * '0' to width digits (more digits when the number needs them), into out,
 * which holds at least max(width, 2 * n) + 1 bytes.  Returns the length. */
size_t swarm_base36(const unsigned char *bytes, size_t n, size_t width, char *out);

/* The digest part for a root CA certificate (PEM). */
void swarm_token_digest(const char *ca_pem, char out[SWARM_TOKEN_DIGEST_LEN + 1]);

/* A new token for the cluster with this root CA (fresh random secret
 * part on every call); -EINVAL when there is no CA. */
int swarm_token_new(const char *ca_pem, char out[SWARM_TOKEN_LEN + 1], berr *e);

/* Splits a token into its parts, accepting what SwarmKit's ParseJoinToken
 * accepts (version 1, and version 2 with its FIPS flag).  -EINVAL with
 * SwarmKit's "invalid join token" otherwise. */
int swarm_token_parse(const char *token, char digest[SWARM_TOKEN_DIGEST_LEN + 1],
                      char secret[SWARM_TOKEN_SECRET_LEN + 1], berr *e);

#endif
