/* The cluster store's keys on this node (raft/keyring.c).
 *
 * A data encryption key (DEK, 32 random bytes, one per node as in
 * SwarmKit) seals the raft log's command entries and the snapshots on
 * disk (raft/crypt_io.c).  The DEK is kept in <dir>/keyring.json sealed
 * with a key-encrypting key (KEK):
 *   - without autolock the KEK is stored beside it, so the raft files
 *     alone (a copied log, a backup of raft/) give nothing away;
 *   - with autolock the KEK is derived from the unlock key
 *     ("SWMKEY-1-<base64 of 32 bytes>", SwarmKit's format) and never
 *     stored: after a restart the store cannot be read until someone
 *     gives the key ("docker swarm unlock").
 * Changing the unlock key re-seals the DEK only; the log is not rewritten.
 * The file is replaced atomically. */
#ifndef BERTH_RAFT_KEYRING_H
#define BERTH_RAFT_KEYRING_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/seal.h"

#define CS_UNLOCK_KEY_PREFIX "SWMKEY-1-"
#define CS_UNLOCK_KEY_LEN (9 + 43)

/* dockerd's words while a locked node waits for its key (503). */
#define CS_ERR_LOCKED \
    "Swarm is encrypted and needs to be unlocked before it can be used. Please use \"docker swarm unlock\" to unlock it."

typedef struct cs_keyring {
    uint8_t dek[SEAL_KEY_BYTES];
    bool plaintext_ok;   /* the log predates encryption: unsealed entries are old ones */
} cs_keyring;

/* Loads <dir>/keyring.json, or creates it (a new DEK, a stored KEK) when
 * absent; existing raft data without a keyring (made before encryption)
 * marks plaintext_ok.  unlock_key: NULL, or the key to open a locked one.
 * -EACCES (CS_ERR_LOCKED) when locked and no key was given, -EPERM when
 * the key does not open it, -EINVAL for a malformed key or file. */
int cs_keyring_load(const char *dir, bool had_raft_data, const char *unlock_key, cs_keyring *out, berr *e);

/* Whether the keyring is locked (its KEK not stored). */
bool cs_keyring_is_locked(const char *dir);

/* Re-seals the DEK: under unlock_key (autolock), or under a new stored
 * KEK when unlock_key is NULL or "". */
int cs_keyring_rewrap(const char *dir, const cs_keyring *k, const char *unlock_key, berr *e);

/* A new unlock key in SwarmKit's human-readable form. */
void cs_unlock_key_new(char out[CS_UNLOCK_KEY_LEN + 1]);

/* SwarmKit's ParseHumanReadableKey: "invalid key string" otherwise. */
int cs_unlock_key_parse(const char *key, uint8_t raw[32], berr *e);

void cs_keyring_clear(cs_keyring *k);

#endif
