/* Autolock on this node (node/autolock.c): the cluster object carries the
 * unlock key (Berth.UnlockKey, inside the encrypted store, as SwarmKit
 * keeps it in its raft store); whenever an applied entry changes it, this
 * node re-seals its data key under the new key, or under a stored key
 * when autolock is turned off (raft/keyring.h). */
#ifndef BERTH_NODE_AUTOLOCK_H
#define BERTH_NODE_AUTOLOCK_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"

struct berth_daemon;

typedef struct autolock {
    struct berth_daemon *d;
    char applied[128];   /* the key the keyring is sealed under now ("" none) */
} autolock;

void autolock_start(autolock *al, struct berth_daemon *d);
void autolock_stop(autolock *al);

/* Sets or clears cluster (a cluster document being written) Berth.UnlockKey
 * after its Spec.EncryptionConfig.AutoLockManagers: a new key when turned
 * on or when rotate is asked with autolock on, none when off. */
void autolock_apply_spec(json_t *cluster, bool rotate);

/* The unlock key of a cluster document ("" when autolock is off). */
const char *autolock_key(json_t *cluster);

#endif
