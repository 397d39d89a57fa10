/* The dispatcher: every manager's side of the workers' sessions
 * (node/dispatcher.c).
 *
 * A worker holds no raft state.  It keeps one session with one manager
 * (any of them) over node RPC on the swarm port:
 *   worker_join  with the worker certificate its token got it (`issue`,
 *                node/swarm_join.c): the node its CN names is recorded (a
 *                write, forwarded to the leader like every write) and told
 *                the managers and the heartbeat period;
 *   session      a long poll that is also the heartbeat: the worker sends
 *                the version of the assignments it has; the answer comes
 *                at once when they changed (with the new set, see
 *                node/assignments.h), else after one heartbeat period,
 *                and the worker asks again at once;
 *   report       a batch of task states, written as one entry, each
 *                conditioned on the task version the worker saw;
 *   alive        manager to leader: when each worker in session here was
 *                last heard from, so the leader alone decides Down/Ready
 *                (node/dispatcher_health.h) wherever the sessions are.
 * The methods are in one table that says which peer role may call each,
 * for the transport's certificate check (docs/operations.md).
 *
 * Answers come from the local store, so a follower serves sessions as
 * well as the leader does. */
#ifndef BERTH_NODE_DISPATCHER_H
#define BERTH_NODE_DISPATCHER_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "raft/cluster_store.h"

struct swarm;
typedef struct dispatcher dispatcher;

/* Who may call a method: the OU of the caller's certificate
 * (cs_rpc_peer_role; SwarmKit's swarm-worker / swarm-manager).  A worker
 * acts only as the node its certificate names. */
typedef enum disp_role {
    DISP_WORKER,     /* workers and managers */
    DISP_MANAGER,    /* managers only */
} disp_role;

/* The role a method needs, or -1 when it is not the dispatcher's. */
int dispatcher_method_role(const char *op);

dispatcher *dispatcher_new(struct swarm *s, uv_loop_t *loop);
/* Answers parked sessions, stops its timers and frees d once they closed. */
void dispatcher_free(dispatcher *d);
/* The store became active (cs) or is going (NULL). */
void dispatcher_attach(dispatcher *d, cluster_store *cs);
/* Handles op if it is the dispatcher's (true), answering ctx. */
bool dispatcher_rpc(dispatcher *d, const char *op, json_t *req, cs_rpc_ctx *ctx);

/* The cluster's Dispatcher.HeartbeatPeriod in milliseconds (5000 by default). */
unsigned dispatcher_heartbeat_ms(cluster_store *cs);

#endif
