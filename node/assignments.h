/* A node's assignments: the documents its own tasks need, and nothing
 * else (node/assignments.c).  The dispatcher sends them to a worker, whose
 * agent reads them from its mirror (raft/cluster_store.h) exactly as a
 * manager's agent reads its whole store. */
#ifndef BERTH_NODE_ASSIGNMENTS_H
#define BERTH_NODE_ASSIGNMENTS_H

#include <jansson.h>

#include "raft/cluster_store.h"

#define ASSIGNMENTS_VERSION_LEN 16

/* {"node": [its node], "task": [its tasks], "service": [...], "secret":
 * [...], "config": [...], "network": [...], "cluster": [...]} (a new
 * object): its tasks with their services, secrets, configs and networks,
 * and for the overlay networks among them their peers (the other nodes'
 * tasks on them, with their services and nodes; see assignments.c); the
 * cluster object only as its data path port.  In version
 * a digest of every document's kind, ID and Version.Index: the same
 * assignments give the same version on every manager. */
json_t *assignments_for(cluster_store *cs, const char *node_id, char version[ASSIGNMENTS_VERSION_LEN + 1]);

#endif
