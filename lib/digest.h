/* sha256 digests in Docker's textual form "sha256:<64 hex>", computed with
 * libsodium.  Image IDs, layer diff IDs, chain IDs and blob names all use it. */
#ifndef BERTH_LIB_DIGEST_H
#define BERTH_LIB_DIGEST_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

#define DIGEST_HEX_LEN 64
#define DIGEST_STR_LEN (7 + DIGEST_HEX_LEN) /* "sha256:" + hex */
#define DIGEST_BUF (DIGEST_STR_LEN + 1)

typedef struct digest_ctx {
    crypto_hash_sha256_state st;
} digest_ctx;

void digest_init(digest_ctx *c);
void digest_update(digest_ctx *c, const void *data, size_t len);
/* Writes "sha256:<hex>" into out (DIGEST_BUF bytes). */
void digest_final(digest_ctx *c, char out[DIGEST_BUF]);

/* One-shot digest of a memory range. */
void digest_mem(const void *data, size_t len, char out[DIGEST_BUF]);
/* Digest of a file's whole content; also returns its size if size != NULL. */
int digest_file(const char *path, char out[DIGEST_BUF], long long *size, berr *e);

/* True for exactly "sha256:" followed by 64 lowercase hex digits. */
bool digest_valid(const char *s);
/* True for exactly 64 lowercase hex digits. */
bool digest_hex_valid(const char *s);
/* The hex part of a "sha256:<hex>" string (the string itself if no prefix). */
const char *digest_hex(const char *digest);

/* Chain ID of a layer (the OCI "ChainID"): for the base layer its diff ID,
 * else sha256 of "<parent chain ID> <diff ID>". */
/* 64 random hex digits: the IDs of containers, networks, endpoints, execs. */
void digest_random_id(char out[DIGEST_HEX_LEN + 1]);

void digest_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_BUF]);

#endif
