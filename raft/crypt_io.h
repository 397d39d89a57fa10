/* Encryption at rest for the cluster store (raft/crypt_io.c): raft_uv's
 * raft_io with its disk methods wrapped, so that command entries are sealed
 * (lib/seal.h) with the node's DEK on their way to the log segments and
 * snapshots on their way to the snapshot files, and opened when loaded.
 * What travels between members stays plaintext in memory (each member
 * seals with its own DEK, as SwarmKit's managers do); configuration and
 * barrier entries (member addresses, no data) are written as they are.
 * An entry or snapshot that fails authentication stops the load with a
 * clear error: nothing is applied from a corrupted log. */
#ifndef BERTH_RAFT_CRYPT_IO_H
#define BERTH_RAFT_CRYPT_IO_H

#include <raft.h>
#include <stdbool.h>

#include "lib/err.h"
#include "raft/keyring.h"

/* Wraps io (its load, append, snapshot_put and snapshot_get) with keys k
 * (copied). */
int cs_crypt_io_wrap(struct raft_io *io, const cs_keyring *k, berr *e);
/* Loads (or on a new store creates) the keyring in dir (raft/keyring.h)
 * and wraps io with it: -EACCES while locked without unlock_key, -EPERM
 * for a wrong key. */
int cs_crypt_io_open(struct raft_io *io, const char *dir, bool had_data, const char *unlock_key, berr *e);
/* Re-seals io's DEK in dir's keyring under unlock_key (autolock), or
 * under a new stored KEK when it is NULL or "". */
int cs_crypt_io_rewrap(struct raft_io *io, const char *dir, const char *unlock_key, berr *e);
/* io's DEK (borrowed), NULL when io is not wrapped. */
const uint8_t *cs_crypt_io_dek(struct raft_io *io);
/* Forgets io's keys (before raft_uv_close frees it). */
void cs_crypt_io_unwrap(struct raft_io *io);

#endif
