/* A worker's mirror: the read side of the cluster store without raft (see
 * cluster_store.h).  The documents are the manager's, loaded whole each
 * time the worker's assignments change, so versions stay the manager's
 * and a report conditioned on one means the same thing there. */
#include <stdio.h>
#include <stdlib.h>

#include "lib/buf.h"
#include "raft/cluster_store_int.h"

int cluster_mirror_new(const char *node_id, const char *cluster_id, cluster_store **out, berr *e)
{
    cluster_store *cs = xcalloc(1, sizeof *cs);
    if (cs_fsm_new(&cs->fsm, e) < 0) {
        free(cs);
        return -EIO;
    }
    cs->mirror = true;
    snprintf(cs->node_id, sizeof cs->node_id, "%s", node_id);
    snprintf(cs->cluster_id, sizeof cs->cluster_id, "%s", cluster_id);
    *out = cs;
    return 0;
}

int cluster_mirror_load(cluster_store *cs, json_t *docs, berr *e)
{
    if (!cs->mirror)
        return berr_set(e, -EINVAL, "only a mirror is loaded from outside raft");
    return cs_fsm_load(cs->fsm, docs, e);
}

void cluster_mirror_free(cluster_store *cs)
{
    if (!cs || !cs->mirror)
        return;
    cs_fsm_free(cs->fsm);
    free(cs);
}
