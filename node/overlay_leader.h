/* The leader's share of overlay networking (node/overlay_leader.c),
 * called from the reconciler's pass: the ingress network once the swarm
 * is initialized, and an address on each of its networks for every new
 * task before it is scheduled (swarmkit's network allocator). */
#ifndef BERTH_NODE_OVERLAY_LEADER_H
#define BERTH_NODE_OVERLAY_LEADER_H

#include <jansson.h>
#include <stdbool.h>

#include "netoverlay/overlay_alloc.h"

/* The ingress network's document when the swarm is initialized and has
 * none (a new object, its ID derived from the cluster's so two passes
 * cannot make two), else NULL. */
json_t *overlay_ingress_doc(const json_t *cluster, const json_t *networks, const char *now);

/* Whether the service publishes ports through the routing mesh. */
bool overlay_service_ingress(const json_t *service);

/* Gives a new task its NetworksAttachments (see ovl_alloc_task); false
 * (logged) when it cannot have them yet, and the task stays "new". */
bool overlay_task_allocate(ovl_alloc *a, json_t *task, const json_t *services);

#endif
