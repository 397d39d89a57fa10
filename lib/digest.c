#include "lib/digest.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"

static void to_hex(const unsigned char *h, char out[DIGEST_BUF])
{
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[h[i] >> 4];
        out[8 + 2 * i] = hex[h[i] & 15];
    }
    out[DIGEST_STR_LEN] = 0;
}

void digest_init(digest_ctx *c) { crypto_hash_sha256_init(&c->st); }

void digest_update(digest_ctx *c, const void *data, size_t len)
{
    crypto_hash_sha256_update(&c->st, data, len);
}

void digest_final(digest_ctx *c, char out[DIGEST_BUF])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&c->st, h);
    to_hex(h, out);
}

void digest_mem(const void *data, size_t len, char out[DIGEST_BUF])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    to_hex(h, out);
}

int digest_file(const char *path, char out[DIGEST_BUF], long long *size, berr *e)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "open %s", path);
    digest_ctx c;
    digest_init(&c);
    long long total = 0;
    static __thread char block[1 << 16];
    for (;;) {
        ssize_t n = read(fd, block, sizeof block);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(e, -errno, "read %s", path);
        }
        if (n == 0)
            break;
        digest_update(&c, block, (size_t)n);
        total += n;
    }
    digest_final(&c, out);
    if (size)
        *size = total;
    return 0;
}

bool digest_hex_valid(const char *s)
{
    if (!s || strlen(s) != DIGEST_HEX_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

bool digest_valid(const char *s)
{
    return s && strncmp(s, "sha256:", 7) == 0 && digest_hex_valid(s + 7);
}

const char *digest_hex(const char *digest)
{
    return strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
}

void digest_chain_id(const char *parent_chain, const char *diff_id, char out[DIGEST_BUF])
{
    if (!parent_chain || !*parent_chain) {
        snprintf(out, DIGEST_BUF, "%s", diff_id);
        return;
    }
    char joined[2 * DIGEST_BUF + 2];
    int n = snprintf(joined, sizeof joined, "%s %s", parent_chain, diff_id);
    digest_mem(joined, (size_t)n, out);
}

void digest_random_id(char out[DIGEST_HEX_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, DIGEST_HEX_LEN + 1, raw, sizeof raw);
}
