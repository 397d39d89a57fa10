/* The scheduler: pending tasks -> nodes, as swarmkit's manager/scheduler.
 *
 * One call is one scheduling pass ("tick") over every task in the cluster:
 *
 *   - Tasks the scheduler looks at are those in states pending..running
 *     (a task still "new" has not been allocated yet; a pending task whose
 *     desired state is past "complete" is being removed and is skipped).
 *   - A pending task that already has a NodeID (a global service's task)
 *     is checked against its node: it becomes "assigned" with Message
 *     "scheduler confirmed task can run on preassigned node", or keeps
 *     pending with Status.Err saying why ("1 node not available for new
 *     tasks").
 *   - Pending tasks without a NodeID are grouped by service and spec and
 *     placed: nodes are filtered (ready and active, reservations against
 *     what is left of Description.Resources after the tasks already there,
 *     placement constraints, Placement.Platforms, host-mode published
 *     ports, Placement.MaxReplicas), spread over the Placement.Preferences
 *     tree (node.labels.x / engine.labels.x), then onto the nodes with the
 *     fewest tasks of the service, then the fewest tasks, then (our tie
 *     break, swarmkit leaves it to map order) the lowest node ID.  A node
 *     where the service failed 5 times in the last 5 minutes goes last.
 *     Placed tasks become "assigned" with Message "scheduler assigned task
 *     to node"; the others keep pending with Status.Err "no suitable node
 *     (scheduling constraints not satisfied on 2 nodes; 1 node not
 *     available for new tasks)".
 *
 * A task is returned only when its Status changes, so calling again with
 * nothing new returns nothing.  Generic resources, plugins and CSI volumes
 * are not filtered on. */
#ifndef BERTH_SCHEDULER_PLACEMENT_H
#define BERTH_SCHEDULER_PLACEMENT_H

#include <jansson.h>

#include "lib/err.h"
#include "scheduler/common.h"

/* nodes: every Node document; tasks: every Task document (borrowed
 * arrays); services: Service documents, used only to learn host-mode
 * published ports (may be NULL).  now_ns stamps the new statuses.  The
 * changed tasks (whole documents, Status replaced, NodeID set when
 * assigned) go into out->updated.  -EINVAL if an argument is not an
 * array. */
int sched_place(const json_t *nodes, const json_t *tasks, const json_t *services, long long now_ns,
                sched_changes *out, berr *e);

/* The constraint enforcer (swarmkit's constraintenforcer), for a node
 * whose labels, role or resources changed: on an active node, each task
 * desired to run that has not finished is checked, in the order of tasks,
 * against its service's current placement constraints (the task's own
 * when its service is not in services) and against what is left of the
 * node's resources after the tasks kept before it.  A task that no longer
 * fits becomes "rejected", Message "task rejected by constraint enforcer",
 * Err "assigned node no longer meets constraints"; the orchestrator then
 * replaces it elsewhere.  Rejected tasks go into out->updated. */
void sched_place_enforce(const json_t *node, const json_t *tasks, const json_t *services, long long now_ns,
                         sched_changes *out);

/* Whether one node can take the task now, given the other tasks: NULL if
 * it can, else the explanation swarmkit would give ("insufficient
 * resources on 1 node"), a new string to free.  For tests and for
 * `docker node ps`-style diagnostics. */
char *sched_place_explain_node(const json_t *node, const json_t *task, const json_t *tasks,
                               const json_t *services);

#endif
