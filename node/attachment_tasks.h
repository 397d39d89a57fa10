/* Network attachment tasks: how a container outside any service gets an
 * address on an attachable overlay network (swarmkit's
 * ResourceAllocator.AttachNetwork).  The container's node asks a manager
 * (itself, or its dispatcher over the session); the manager records a
 * task of no service, fixed to that node, whose Spec names the container
 * and the network; the leader's allocator gives it its address with every
 * other task's (node/reconcile.c), so two nodes never get the same one;
 * the node reads it back from its store or assignments
 * (node/attachments.c).  The task lives as long as the container is on the
 * network: removing the container or disconnecting it deletes it.
 *
 *   {ID, Spec {NetworkAttachmentSpec {ContainerID}, Networks [{Target, Aliases}]},
 *    ServiceID "", NodeID, DesiredState "running", Status {State "new"},
 *    Berth {ContainerName}}
 *
 * Such tasks are not the orchestrators' (no service owns them), the
 * scheduler's (their node is given) or the agent's to run: the container
 * runs already. */
#ifndef BERTH_NODE_ATTACHMENT_TASKS_H
#define BERTH_NODE_ATTACHMENT_TASKS_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"
#include "netoverlay/overlay_alloc.h"
#include "raft/cluster_store.h"

/* The container a task attaches ("" when it is a service's task). */
const char *attachment_task_container(const json_t *task);
static inline bool attachment_task(const json_t *task) { return *attachment_task_container(task) != 0; }
/* The network it attaches to (its Spec.Networks[0].Target). */
const char *attachment_task_network(const json_t *task);

/* The overlay network ref names in networks (an ID, a name, or a unique
 * ID prefix; borrowed), or NULL with Docker's error: not found (-ENOENT),
 * not an overlay or not attachable (-EPERM). */
const json_t *attachment_network_resolve(const json_t *networks, const char *ref, berr *e);

/* What a request carries: {"container": id, "name": container name,
 * "network": ref, "aliases": [..]}.  done gets status 0 and the task's
 * document (borrowed), or an error. */
typedef void (*attachment_done)(void *arg, int status, const berr *e, const json_t *task);

/* Records the attachment of the request's container on node_id to the
 * network (a task already there for the same container and network is
 * answered again).  -EINVAL for a malformed request, the resolve errors,
 * and the proposal's. */
int attachment_request(cluster_store *cs, const char *node_id, const json_t *req, attachment_done done, void *arg,
                       berr *e);

/* Deletes node_id's attachment tasks of container_id (of every network
 * when net_id is NULL or "").  done gets 0 also when there were none. */
int attachment_release(cluster_store *cs, const char *node_id, const char *container_id, const char *net_id,
                       cs_done_fn done, void *arg, berr *e);

/* The leader's allocator step for a new attachment task (edited in
 * place): its address, then "assigned" (its node is fixed), or
 * "rejected" with the allocator's error (a full subnet, a network gone). */
void attachment_task_allocate(ovl_alloc *a, json_t *task, long long now_ns);

#endif
