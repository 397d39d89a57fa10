#include "raft/keyring.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/fsutil.h"

#define KEYRING_FILE "keyring.json"
static const char KEK_CONTEXT[] = "berth cluster store kek v1";

static void path_of(const char *dir, char *out, size_t n)
{
    snprintf(out, n, "%s/" KEYRING_FILE, dir);
}

static char *b64(const void *data, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(n);
    if (s)
        sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

/* Decodes exactly want bytes (want 0: any length up to cap). */
static int unb64(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    if (!s)
        return -EINVAL;
    const char *end = NULL;
    if (sodium_base642bin(out, cap, s, strlen(s), NULL, len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 || (end && *end))
        return -EINVAL;
    return 0;
}

int cs_unlock_key_parse(const char *key, uint8_t raw[32], berr *e)
{
    size_t plen = strlen(CS_UNLOCK_KEY_PREFIX), n = 0;
    const char *end = NULL;
    if (!key || strncmp(key, CS_UNLOCK_KEY_PREFIX, plen) ||
        sodium_base642bin(raw, 32, key + plen, strlen(key + plen), NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
        (end && *end) || n != 32)
        return berr_set(e, -EINVAL, "invalid key string");
    return 0;
}

void cs_unlock_key_new(char out[CS_UNLOCK_KEY_LEN + 1])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    size_t plen = strlen(CS_UNLOCK_KEY_PREFIX);
    memcpy(out, CS_UNLOCK_KEY_PREFIX, plen);
    sodium_bin2base64(out + plen, CS_UNLOCK_KEY_LEN + 1 - plen, raw, sizeof raw,
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

static void kek_from_unlock(const uint8_t raw[32], uint8_t kek[SEAL_KEY_BYTES])
{
    crypto_generichash(kek, SEAL_KEY_BYTES, (const unsigned char *)KEK_CONTEXT, sizeof KEK_CONTEXT - 1, raw, 32);
}

void cs_keyring_clear(cs_keyring *k)
{
    sodium_memzero(k, sizeof *k);
}

static int save(const char *dir, const cs_keyring *k, const uint8_t kek[SEAL_KEY_BYTES], bool store_kek, berr *e)
{
    uint8_t sealed[SEAL_HEADER_BYTES + SEAL_KEY_BYTES + SEAL_TAG_BYTES + 8];
    size_t slen = seal_size(SEAL_KEY_BYTES);
    seal_bytes(kek, k->dek, SEAL_KEY_BYTES, sealed);
    char *sdek = b64(sealed, slen), *skek = store_kek ? b64(kek, SEAL_KEY_BYTES) : NULL;
    json_t *o = json_pack("{s:i, s:s, s:b}", "Version", 1, "DEK", sdek ? sdek : "", "Plaintext", k->plaintext_ok);
    if (skek)
        json_object_set_new(o, "KEK", json_string(skek));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (skek)
        sodium_memzero(skek, strlen(skek));
    free(skek);
    free(sdek);
    if (!text)
        return berr_set(e, -ENOMEM, "out of memory");
    char path[4096];
    path_of(dir, path, sizeof path);
    int r = fs_write_file_atomic(path, text, strlen(text), 0600, e);
    sodium_memzero(text, strlen(text));
    free(text);
    return r;
}

int cs_keyring_rewrap(const char *dir, const cs_keyring *k, const char *unlock_key, berr *e)
{
    uint8_t kek[SEAL_KEY_BYTES];
    bool autolock = unlock_key && *unlock_key;
    if (autolock) {
        uint8_t raw[32];
        int r = cs_unlock_key_parse(unlock_key, raw, e);
        if (r < 0)
            return r;
        kek_from_unlock(raw, kek);
        sodium_memzero(raw, sizeof raw);
    } else {
        randombytes_buf(kek, sizeof kek);
    }
    int r = save(dir, k, kek, !autolock, e);
    sodium_memzero(kek, sizeof kek);
    return r;
}

static json_t *read_file(const char *dir, berr *e, int *rc)
{
    char path[4096];
    path_of(dir, path, sizeof path);
    char *text = NULL;
    size_t len = 0;
    *rc = fs_read_file(path, &text, &len, e);
    if (*rc < 0)
        return NULL;
    json_t *o = json_loadb(text, len, 0, NULL);
    sodium_memzero(text, len);
    free(text);
    if (!json_is_object(o)) {
        json_decref(o);
        *rc = berr_set(e, -EINVAL, "cluster store: %s is not a keyring", path);
        return NULL;
    }
    return o;
}

bool cs_keyring_is_locked(const char *dir)
{
    berr e = {0};
    int rc = 0;
    json_t *o = read_file(dir, &e, &rc);
    bool locked = o && !json_object_get(o, "KEK");
    json_decref(o);
    return locked;
}

int cs_keyring_load(const char *dir, bool had_raft_data, const char *unlock_key, cs_keyring *out, berr *e)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    berr ignore = {0};
    json_t *o = read_file(dir, &ignore, &rc);
    if (rc == -ENOENT) {
        randombytes_buf(out->dek, sizeof out->dek);
        out->plaintext_ok = had_raft_data;
        return cs_keyring_rewrap(dir, out, NULL, e);
    }
    if (!o)
        return berr_set(e, rc, "%s", ignore.msg);
    uint8_t kek[SEAL_KEY_BYTES];
    size_t n = 0;
    const char *skek = json_string_value(json_object_get(o, "KEK"));
    if (skek) {
        if (unb64(skek, kek, sizeof kek, &n) < 0 || n != sizeof kek) {
            json_decref(o);
            return berr_set(e, -EINVAL, "cluster store: the keyring's KEK is malformed");
        }
    } else {
        uint8_t raw[32];
        if (!unlock_key) {
            json_decref(o);
            return berr_set(e, -EACCES, CS_ERR_LOCKED);
        }
        if ((rc = cs_unlock_key_parse(unlock_key, raw, e)) < 0) {
            json_decref(o);
            return rc;
        }
        kek_from_unlock(raw, kek);
        sodium_memzero(raw, sizeof raw);
    }
    uint8_t sealed[SEAL_HEADER_BYTES + SEAL_KEY_BYTES + SEAL_TAG_BYTES + 8];
    rc = unb64(json_string_value(json_object_get(o, "DEK")), sealed, sizeof sealed, &n);
    out->plaintext_ok = json_is_true(json_object_get(o, "Plaintext"));
    json_decref(o);
    if (rc < 0 || seal_plain_len(sealed, n) != SEAL_KEY_BYTES) {
        sodium_memzero(kek, sizeof kek);
        return berr_set(e, -EINVAL, "cluster store: the keyring's DEK is malformed");
    }
    berr why = {0};
    rc = seal_open(kek, sealed, n, out->dek, &why);
    sodium_memzero(kek, sizeof kek);
    if (rc < 0) {
        cs_keyring_clear(out);
        if (skek)
            return berr_set(e, -EINVAL, "cluster store: the keyring is corrupted: %s", why.msg);
        /* dockerd's invalidUnlockKey */
        return berr_set(e, -EPERM, "swarm could not be unlocked: invalid key provided");
    }
    return 0;
}
