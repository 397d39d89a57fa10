/* Swarm mode on this node: the cluster store's life in the daemon, and the
 * two objects every cluster has from its first moment.
 *
 * Berth is cluster-first: the daemon always runs the cluster store
 * (raft/cluster_store.h) in <data-root>/swarm, and a single node is a
 * one-member cluster.  Once the store is ready (this member is leader and
 * has applied its log) swarm_ makes sure that
 *   - the cluster object exists (CS_CLUSTER, ID = the store's cluster ID)
 *     with Docker's default spec, join tokens and address pool, and
 *   - this node's object exists (CS_NODE, ID = the store's node ID): a
 *     ready, active manager and raft leader, described as this host is now
 * and only then reports itself active.  So `docker info` says "active" and
 * `docker service create` works without `docker swarm init`; init only
 * records the advertise address, applies the spec, renews the tokens and
 * marks the cluster initialized (which a second init refuses, as dockerd).
 *
 * The swarm port listens on 127.0.0.1:2377 until `swarm init` or `swarm
 * join` moves it to the listen address; every connection to it is TLS
 * with certificates from the cluster's root CA (node/swarm_ca.c).
 *
 * Besides Docker's fields the two documents carry one private member,
 * "Berth", that the API never shows: in the cluster object the root CA's
 * certificate and key (the certificate the join tokens' digest pins, see
 * swarm_token.h; node/swarm_ca.c), the nodes removed from the swarm and
 * whether `swarm init` ran; in the node object the listen and data-path
 * addresses given to init.
 *
 * `swarm leave --force` closes the store, wipes its directory and opens a
 * fresh one: a new cluster with a new node ID.
 *
 * Owned by the daemon context; everything runs on the loop thread. */
#ifndef BERTH_NODE_SWARM_H
#define BERTH_NODE_SWARM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "lib/err.h"
#include "raft/cluster_store.h"

#define SWARM_DIR "swarm"
#define SWARM_RAFT_ADDRESS "127.0.0.1:2377"
#define SWARM_RAFT_HOST "127.0.0.1"
#define SWARM_RAFT_PORT "2377"
/* How long requests wait for a starting store before they are told the
 * manager is not ready (dockerd's swarmConnectTimeout). */
#define SWARM_WAIT_MS 20000

typedef struct swarm swarm;

typedef enum swarm_state {
    SWARM_PENDING,   /* the store is opening, electing itself, or being replaced (leave) */
    SWARM_ACTIVE,    /* ready: the cluster and node objects exist */
    SWARM_ERROR,     /* the store failed to open or to start; swarm_error() says why */
    SWARM_LOCKED,    /* autolock: the store's keyring waits for its unlock key (swarm_unlock) */
} swarm_state;

/* What subscribers hear (swarm_subscribe). */
typedef enum swarm_event {
    SWARM_EV_ACTIVE,   /* the store is ready (at start, and again after a leave) */
    SWARM_EV_CLOSING,  /* the store is about to close: drop its pointer and watchers */
    SWARM_EV_LEFT,     /* the node left its cluster (leave --force); the old node ID is gone */
    SWARM_EV_ASSIGNED, /* a worker's first assignments arrived: swarm_agent_store is its copy */
} swarm_event;

typedef struct swarm_host {
    const char *hostname;
    const char *arch;          /* Docker's spelling in node descriptions: "x86_64" */
    long long nano_cpus;
    long long memory_bytes;
    const char *engine_version;
} swarm_host;

/* Opens the locked store with its unlock key (SWMKEY-1-...).  -EEXIST
 * "swarm is not locked", -EINVAL "invalid key string", -EPERM "swarm could
 * not be unlocked: invalid key provided" (the node stays locked). */
int swarm_unlock(swarm *s, const char *key, berr *e);

/* Opens the store under <data_root>/swarm and starts it; it becomes active
 * asynchronously.  A store that fails to open does not fail the daemon (as
 * dockerd keeps running with its swarm in error): the swarm is then in
 * SWARM_ERROR and the failure is logged.  host is copied.  Returns a new
 * swarm, freed by swarm_close. */
swarm *swarm_open(uv_loop_t *loop, const char *data_root, const swarm_host *host);

/* The cluster document with node_id added to the nodes whose certificates
 * are refused (`docker node rm`), a new reference. */
json_t *swarm_cluster_with_removed(json_t *cluster, const char *node_id);
/* When a certificate valid from not_before to not_after is renewed, at
 * fraction (0.5 to 0.8, drawn at random by the caller) of its life. */
int64_t swarm_cert_renew_at(time_t not_before, time_t not_after, double fraction);

/* Closes the store and frees s; done(arg) is called from the loop once
 * everything is closed.  Waiters still queued are called first. */
void swarm_close(swarm *s, void (*done)(void *arg), void *arg);

swarm_state swarm_get_state(const swarm *s);
/* "" unless SWARM_ERROR. */
const char *swarm_error(const swarm *s);
/* The store while active, else NULL (borrowed; do not keep it across a
 * SWARM_EV_CLOSING). */
cluster_store *swarm_store(swarm *s);
/* IDs of this node and its cluster ("" until the store has opened). */
const char *swarm_node_id(const swarm *s);
const char *swarm_cluster_id(const swarm *s);

/* While the store is pending, queues fn(arg) to be called once it leaves
 * that state (or SWARM_WAIT_MS after it entered it) and returns true.
 * Returns false, queueing nothing, when there is nothing to wait for: the
 * store is active, in error, or has been pending longer than that. */
bool swarm_wait(swarm *s, void (*fn)(void *arg), void *arg);

/* At most 8 subscribers; fn is told of the events above. */
int swarm_subscribe(swarm *s, void (*fn)(void *arg, swarm_event ev), void *arg);

/* `swarm leave --force`: closes the store, wipes <data-root>/swarm, opens a
 * fresh one-member cluster and calls done once it is active (status 0) or
 * failed.  -EBUSY at once if a leave is already under way. */
typedef void (*swarm_done_fn)(void *arg, int status, const berr *e);
int swarm_leave(swarm *s, swarm_done_fn done, void *arg, berr *e);

/* `swarm join --token T remote`: checks with the manager at remote
 * ("ip:port") that its root key matches the token's digest and that the
 * token is its manager token, then abandons this node's one-member
 * cluster, opens an empty store in the remote's cluster listening on
 * listen and reached at advertise ("ip:port" each), and asks the leader
 * to add it as a voter.  done is called once the store has the cluster's
 * log and this node's object (0), or with the step that failed; after a
 * failure past the checks the node is back in a fresh one-member cluster.
 * The caller checks first that there is nothing to lose here. */
int swarm_join(swarm *s, const char *remote, const char *token, const char *listen, const char *advertise,
               swarm_done_fn done, void *arg, berr *e);

/* `swarm init --force-new-cluster` on a manager of several: reopens the
 * store as the only voter of its cluster, keeping every object; done
 * once it is active again. */
int swarm_force_new_cluster(swarm *s, swarm_done_fn done, void *arg, berr *e);

/* Moves the swarm port's listener to listen and records advertise as
 * where the other managers reach this one ("ip:port" each). */
int swarm_set_addresses(swarm *s, const char *listen, const char *advertise, berr *e);

/* For node documents: whether raft says this node leads, and
 * "reachable"/"unreachable" as the leader last recorded it. */
bool swarm_node_is_leader(swarm *s, json_t *node);

/* ---- the documents ------------------------------------------------------ */

/* The cluster object (a new reference) or NULL when not active. */
json_t *swarm_cluster_doc(swarm *s);
/* This node's object (a new reference) or NULL when not active. */
json_t *swarm_node_doc(swarm *s);
/* Whether `swarm init` ran on this cluster. */
bool swarm_initialized(swarm *s);

/* Docker's default cluster spec (a new object), as `docker swarm inspect`
 * shows it on a fresh swarm. */
json_t *swarm_default_spec(void);

/* Regenerates Worker and/or Manager in the cluster document's JoinTokens
 * from its root secret. */
int swarm_rotate_tokens(json_t *cluster, bool worker, bool manager, berr *e);

/* ---- workers ---------------------------------------------------------------- */

/* Whether this node is a worker (no store: swarm_store is NULL; its
 * session with a manager, node/swarm_worker.c). */
bool swarm_is_worker(const swarm *s);
/* What this node's agent reads: the store on a manager, the copy of its
 * assignments on a worker (NULL until the first arrived). */
cluster_store *swarm_agent_store(swarm *s);
/* Where the agent's task reports go: a proposal on a manager, a report to
 * its manager on a worker (done: -ESTALE when a task changed meanwhile:
 * the new assignments follow; -ENOTCONN when the manager did not answer). */
int swarm_agent_report(swarm *s, const cs_op *ops, size_t n, cs_done_fn done, void *arg, berr *e);
/* A worker's request (req borrowed, with its "op") to the manager its
 * session is with: done as cs_rpc_call's, then the answer's own
 * "status" and "error" are the caller's to read.  -ENOTCONN on a manager
 * or before the worker has a session. */
int swarm_worker_call(swarm *s, json_t *req, cs_rpc_done done, void *arg, berr *e);
/* A worker's managers as it knows them ([{"NodeID", "Addr": "ip:port"}],
 * docker info's RemoteManagers; a new array) and its own address ("" on a
 * manager). */
json_t *swarm_worker_managers(swarm *s);
const char *swarm_worker_addr(swarm *s);

/* Docker's "host:port" joins (brackets around IPv6 hosts). */
char *swarm_join_host_port(const char *host, const char *port);

#endif
