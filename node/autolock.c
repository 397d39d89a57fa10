#include "node/autolock.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "node/daemon.h"
#include "node/swarm.h"
#include "raft/cluster_store.h"
#include "raft/keyring.h"

const char *autolock_key(json_t *cluster)
{
    const char *k = json_string_value(json_object_get(json_object_get(cluster, "Berth"), "UnlockKey"));
    return k ? k : "";
}

void autolock_apply_spec(json_t *cluster, bool rotate)
{
    json_t *spec = json_object_get(cluster, "Spec");
    bool on = json_is_true(json_object_get(json_object_get(spec, "EncryptionConfig"), "AutoLockManagers"));
    json_t *berth = json_object_get(cluster, "Berth");
    if (!json_is_object(berth)) {
        berth = json_object();
        json_object_set_new(cluster, "Berth", berth);
    }
    if (!on) {
        json_object_del(berth, "UnlockKey");
        return;
    }
    if (*autolock_key(cluster) && !rotate)
        return;
    char key[CS_UNLOCK_KEY_LEN + 1];
    cs_unlock_key_new(key);
    json_object_set_new(berth, "UnlockKey", json_string(key));
    sodium_memzero(key, sizeof key);
}

static void rekey(autolock *al, cluster_store *cs, const char *key)
{
    if (!strcmp(al->applied, key))
        return;
    berr e = {0};
    if (cluster_store_rekey(cs, key, &e) < 0) {
        log_error("swarm: could not re-seal the cluster store's key: %s", e.msg);
        return;
    }
    log_info("swarm: autolock is %s on this node", *key ? "on" : "off");
    snprintf(al->applied, sizeof al->applied, "%s", key);
}

static void on_change(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)index;
    autolock *al = arg;
    cluster_store *cs = al->d->swarm ? swarm_store(al->d->swarm) : NULL;
    if (!cs)
        return;
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == CS_CLUSTER && ops[i].type == CS_PUT)
            rekey(al, cs, autolock_key(ops[i].doc));
    if (n == 0) {   /* a snapshot was installed */
        json_t *c = swarm_cluster_doc(al->d->swarm);
        if (c)
            rekey(al, cs, autolock_key(c));
        json_decref(c);
    }
}

static void on_swarm(void *arg, swarm_event ev)
{
    autolock *al = arg;
    if (ev != SWARM_EV_ACTIVE)
        return;
    cluster_store *cs = swarm_store(al->d->swarm);
    /* Sealed once at every activation after what the cluster says (cheap:
     * the DEK only), then again whenever the key changes. */
    json_t *c = swarm_cluster_doc(al->d->swarm);
    snprintf(al->applied, sizeof al->applied, "?");
    rekey(al, cs, autolock_key(c));
    json_decref(c);
    cluster_store_watch(cs, on_change, al);
}

void autolock_start(autolock *al, struct berth_daemon *d)
{
    memset(al, 0, sizeof *al);
    al->d = d;
    if (d->swarm) {
        swarm_subscribe(d->swarm, on_swarm, al);
        if (swarm_store(d->swarm))
            on_swarm(al, SWARM_EV_ACTIVE);
    }
}

void autolock_stop(autolock *al)
{
    sodium_memzero(al->applied, sizeof al->applied);
}
