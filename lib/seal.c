#include "lib/seal.h"

#include <sodium.h>
#include <string.h>

static const unsigned char MAGIC[4] = {'B', 'S', 'L', '1'};

size_t seal_size(size_t len)
{
    size_t n = SEAL_HEADER_BYTES + len + SEAL_TAG_BYTES;
    return (n + 7) & ~(size_t)7;
}

void seal_bytes(const uint8_t key[SEAL_KEY_BYTES], const void *plain, size_t len, void *out)
{
    unsigned char *o = out;
    size_t total = seal_size(len);
    memcpy(o, MAGIC, 4);
    uint32_t l = (uint32_t)len;
    o[4] = (unsigned char)l;
    o[5] = (unsigned char)(l >> 8);
    o[6] = (unsigned char)(l >> 16);
    o[7] = (unsigned char)(l >> 24);
    randombytes_buf(o + 8, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(o + SEAL_HEADER_BYTES, &clen, plain, len, o, 8, NULL, o + 8, key);
    memset(o + SEAL_HEADER_BYTES + clen, 0, total - SEAL_HEADER_BYTES - clen);
}

bool seal_is_sealed(const void *buf, size_t len)
{
    return len >= 4 && memcmp(buf, MAGIC, 4) == 0;
}

long long seal_plain_len(const void *buf, size_t len)
{
    const unsigned char *b = buf;
    if (len < SEAL_HEADER_BYTES + SEAL_TAG_BYTES || !seal_is_sealed(buf, len))
        return -EINVAL;
    size_t l = (size_t)b[4] | (size_t)b[5] << 8 | (size_t)b[6] << 16 | (size_t)b[7] << 24;
    if (seal_size(l) != len)
        return -EINVAL;
    return (long long)l;
}

int seal_open(const uint8_t key[SEAL_KEY_BYTES], const void *buf, size_t len, void *out, berr *e)
{
    const unsigned char *b = buf;
    long long l = seal_plain_len(buf, len);
    if (l < 0)
        return berr_set(e, -EINVAL, "not a sealed envelope (truncated or malformed)");
    size_t clen = (size_t)l + SEAL_TAG_BYTES;
    for (size_t i = SEAL_HEADER_BYTES + clen; i < len; i++)
        if (b[i])
            return berr_set(e, -EINVAL, "not a sealed envelope (garbage after its end)");
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, b + SEAL_HEADER_BYTES, clen, b, 8, b + 8, key) !=
        0)
        return berr_set(e, -EBADMSG, "sealed data failed authentication (corrupted, or sealed with another key)");
    return 0;
}
