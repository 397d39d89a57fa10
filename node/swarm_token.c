/* Swarm join tokens (see swarm_token.h). */
#include "node/swarm_token.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char digits36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

size_t swarm_base36(const unsigned char *bytes, size_t n, size_t width, char *out)
{
    /* Schoolbook long division of the big-endian number by 36, collecting
     * remainders (least significant first); the numbers here are at most
     * 32 bytes, so quadratic is nothing. */
    unsigned char num[64];
    if (n > sizeof num)
        n = sizeof num;
    if (n)
        memcpy(num, bytes, n);
    char rev[2 * sizeof num + 1];
    size_t nd = 0;
    size_t start = 0;
    while (start < n && num[start] == 0)
        start++;
    while (start < n) {
        unsigned rem = 0;
        for (size_t i = start; i < n; i++) {
            unsigned cur = rem * 256 + num[i];
            num[i] = (unsigned char)(cur / 36);
            rem = cur % 36;
        }
        rev[nd++] = digits36[rem];
        while (start < n && num[start] == 0)
            start++;
    }
    size_t len = 0;
    for (size_t i = nd; i < width; i++)
        out[len++] = '0';
    while (nd > 0)
        out[len++] = rev[--nd];
    if (len == 0)
        out[len++] = '0'; /* zero with width 0 is "0", as Go writes it */
    out[len] = 0;
    return len;
}

void swarm_token_digest(const char *ca_pem, char out[SWARM_TOKEN_DIGEST_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)ca_pem, strlen(ca_pem));
    /* 256 bits need at most 50 base-36 digits: exactly SwarmKit's width. */
    swarm_base36(h, sizeof h, SWARM_TOKEN_DIGEST_LEN, out);
}

int swarm_token_new(const char *ca_pem, char out[SWARM_TOKEN_LEN + 1], berr *e)
{
    if (!ca_pem || !*ca_pem)
        return berr_set(e, -EINVAL, "the cluster has no root CA to make join tokens for");
    char digest[SWARM_TOKEN_DIGEST_LEN + 1];
    swarm_token_digest(ca_pem, digest);
    unsigned char secret[SWARM_TOKEN_SECRET_BYTES];
    randombytes_buf(secret, sizeof secret);
    char secret36[2 * SWARM_TOKEN_SECRET_BYTES + 1];
    swarm_base36(secret, sizeof secret, SWARM_TOKEN_SECRET_LEN, secret36);
    snprintf(out, SWARM_TOKEN_LEN + 1, "SWMTKN-1-%s-%s", digest, secret36);
    return 0;
}

static bool all_base36(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
            return false;
    return true;
}

int swarm_token_parse(const char *token, char digest[SWARM_TOKEN_DIGEST_LEN + 1],
                      char secret[SWARM_TOKEN_SECRET_LEN + 1], berr *e)
{
    /* SWMTKN-1-<digest>-<secret> or SWMTKN-2-<0|1>-<digest>-<secret> */
    const char *parts[6];
    size_t lens[6];
    size_t np = 0;
    const char *p = token ? token : "";
    for (;;) {
        const char *dash = strchr(p, '-');
        if (np == 6)
            return berr_set(e, -EINVAL, "invalid join token");
        parts[np] = p;
        lens[np] = dash ? (size_t)(dash - p) : strlen(p);
        np++;
        if (!dash)
            break;
        p = dash + 1;
    }
    if (np < 4 || lens[0] != 6 || memcmp(parts[0], "SWMTKN", 6) != 0 || lens[1] != 1)
        return berr_set(e, -EINVAL, "invalid join token");
    if (parts[1][0] == '1') {
        if (np != 4)
            return berr_set(e, -EINVAL, "invalid join token");
    } else if (parts[1][0] == '2') {
        if (np != 5 || lens[2] != 1 || (parts[2][0] != '0' && parts[2][0] != '1'))
            return berr_set(e, -EINVAL, "invalid join token");
    } else {
        return berr_set(e, -EINVAL, "invalid join token");
    }
    size_t d = np - 2, s = np - 1;
    if (lens[d] != SWARM_TOKEN_DIGEST_LEN || lens[s] != SWARM_TOKEN_SECRET_LEN || !all_base36(parts[d], lens[d]) ||
        !all_base36(parts[s], lens[s]))
        return berr_set(e, -EINVAL, "invalid join token");
    memcpy(digest, parts[d], SWARM_TOKEN_DIGEST_LEN);
    digest[SWARM_TOKEN_DIGEST_LEN] = 0;
    memcpy(secret, parts[s], SWARM_TOKEN_SECRET_LEN);
    secret[SWARM_TOKEN_SECRET_LEN] = 0;
    return 0;
}
