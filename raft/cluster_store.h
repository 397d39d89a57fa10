/* The cluster store: Docker's cluster objects (the cluster itself, nodes,
 * services, tasks, networks, secrets, configs) in a SQLite database that
 * only the raft state machine writes.
 *
 * Every node runs the same store; a single node is a one-member raft
 * cluster bootstrapped on its first start.  A write is a list of
 * operations proposed as one raft entry (msgpack-encoded); when the entry
 * commits, every member applies it to its database in one transaction,
 * all or nothing.  Reads are local SQL queries.  Snapshots are the
 * serialized database (sqlite3_serialize); libraft keeps its log and
 * snapshots under <dir>/raft and trims the log behind each snapshot, so
 * memory and disk stay flat however many writes there are.
 *
 * Objects are stored as the JSON documents Docker's API shows (ID,
 * Version.Index, CreatedAt, UpdatedAt, Spec, ...).  The state machine
 * sets Version.Index to the raft index of the entry that last wrote the
 * object (Docker's own meaning of the version index) and keeps CreatedAt
 * from the first version; UpdatedAt (and CreatedAt of a new object) come
 * from the proposer, so every member applies the same bytes.
 *
 * Everything runs on the daemon's loop thread. */
#ifndef BERTH_RAFT_CLUSTER_STORE_H
#define BERTH_RAFT_CLUSTER_STORE_H

#define CS_NO_LEADER_MSG \
    "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of " \
    "the managers are online."

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lib/err.h"
#include "raft/transport.h"

typedef enum cs_kind {
    CS_CLUSTER,
    CS_NODE,
    CS_SERVICE,
    CS_TASK,
    CS_NETWORK,
    CS_SECRET,
    CS_CONFIG,
    CS_KIND_N,
} cs_kind;

/* "cluster", "node", "service", ... */
const char *cs_kind_name(cs_kind k);

typedef enum cs_op_type { CS_PUT, CS_DEL } cs_op_type;

typedef struct cs_op {
    cs_op_type type;
    cs_kind kind;
    char id[65];
    json_t *doc;          /* CS_PUT: the whole document (borrowed by propose) */
    int64_t if_version;   /* -1: unconditional; 0: must not exist yet; n > 0: must be at Version.Index n */
} cs_op;

typedef struct cluster_store cluster_store;

typedef struct cs_options {
    const char *dir;               /* <data-root>/swarm: identity, raft log and snapshots */
    const char *raft_address;      /* "127.0.0.1:2377": what raft listens on and records for this member */
    /* Joining another cluster: a fresh identity in this cluster, no
     * bootstrap; the member starts empty and waits for the leader to add
     * it (cluster_store_add_voter there) and send it the log. */
    const char *join_cluster_id;
    const char *listen_address;    /* where to listen on a first start (NULL: raft_address) */
    /* `swarm init --force-new-cluster`: keep the log and snapshot but make
     * this member the only voter (libraft's raft_recover), so a lone
     * surviving manager gets a quorum of one back with its state. */
    bool force_new_cluster;
    unsigned snapshot_threshold;   /* entries between snapshots (0: 1024) */
    unsigned snapshot_trailing;    /* entries kept behind a snapshot (0: 128) */
    const char *unlock_key;        /* NULL, or the key that opens an autolocked keyring (raft/keyring.h) */
    bool unsealed;                 /* benchmarks only: no encryption at rest, for the plain figure beside the sealed one */
} cs_options;

/* Opens the store: on the first start makes a node ID, a raft ID and a
 * cluster ID (kept in <dir>/identity.json) and bootstraps a one-member
 * raft configuration; otherwise loads the last snapshot and the log.  The
 * member becomes leader asynchronously; cluster_store_on_ready (set right
 * after open) fires once it is leader and has applied every committed
 * entry. */
int cluster_store_open(uv_loop_t *loop, const cs_options *o, cluster_store **out, berr *e);
void cluster_store_on_ready(cluster_store *cs, void (*ready)(void *arg), void *arg);
bool cluster_store_ready(const cluster_store *cs);

/* Stops raft (closing its files and sockets) and frees the store; done is
 * called from the loop once everything is closed. */
void cluster_store_close(cluster_store *cs, void (*done)(void *arg), void *arg);

/* Releases the memory of every closed store (libraft may touch it for a
 * while after close, see cluster_store.c); call once the loop has ended. */
void cluster_store_reap(void);

/* Removes everything under dir (the store must be closed): `swarm leave`
 * starts over with a fresh identity. */
int cluster_store_wipe(const char *dir, berr *e);

/* Docker-style IDs: 25 lower-case base-36 characters. */
const char *cluster_store_node_id(const cluster_store *cs);
const char *cluster_store_cluster_id(const cluster_store *cs);
void cs_new_id(char out[26]);

/* Re-seals this node's data key (raft/keyring.h) under unlock_key, or
 * under a stored key when it is NULL or "" (autolock off).  The log is
 * not rewritten. */
int cluster_store_rekey(cluster_store *cs, const char *unlock_key, berr *e);

/* ---- writes ---------------------------------------------------------------- */

/* Completion of a proposal: status 0 with the entry's raft index, or
 * -EAGAIN when a precondition failed (an object was not at the expected
 * version: "update out of sequence"), -EEXIST / -ENOENT for if_version 0 /
 * a missing object, -ENOTCONN when there is no leader (Docker's "The swarm
 * does not have a leader" in e), -EIO when the leader could not say.
 *
 * On a follower the proposal is forwarded to the leader over node RPC and
 * done is called once the entry is applied here too, so a caller reads
 * its own write on any member. */
typedef void (*cs_done_fn)(void *arg, int status, uint64_t index, const berr *e);

/* Proposes ops (copied: the caller may free them on return) as one raft
 * entry; done is called once it is applied here (never before propose
 * returns).  Returns -ENOTCONN (no leader) or -EINVAL (bad op) at once. */
int cluster_store_propose(cluster_store *cs, const cs_op *ops, size_t n, cs_done_fn done, void *arg, berr *e);

/* ---- reads ------------------------------------------------------------------ */

/* A new reference to the object's document; -ENOENT when absent. */
int cs_get(cluster_store *cs, cs_kind kind, const char *id, json_t **doc, berr *e);

/* Every object of kind, in creation order (a new array). */
json_t *cs_list(cluster_store *cs, cs_kind kind);

/* Objects of kind whose document has value (a string) at json_path
 * (SQLite's json_extract syntax: "$.ServiceID", "$.Spec.Name"). */
json_t *cs_list_where(cluster_store *cs, cs_kind kind, const char *json_path, const char *value);

/* Called on every member after each applied entry, with its ops (for
 * CS_DEL, doc is NULL).  Orchestrators, the scheduler, the agent and
 * event emission hang off this.  At most 8 watchers. */
typedef void (*cs_watch_fn)(void *arg, uint64_t index, const cs_op *ops, size_t n);
void cluster_store_watch(cluster_store *cs, cs_watch_fn fn, void *arg);

/* Raft figures for docker info and tests: last applied index, number of
 * entries in the in-memory log, last snapshot index. */
typedef struct cs_stats {
    uint64_t applied;
    uint64_t log_entries;
    uint64_t snapshot_index;
    bool leader;
} cs_stats;
void cluster_store_stats(const cluster_store *cs, cs_stats *out);

/* ---- members and addresses --------------------------------------------------- */

/* Where this member listens ("0.0.0.0:2377") and where the others reach
 * it ("10.0.0.1:2377"); kept in identity.json for the next start, the
 * listener moves at once.  Either may be NULL (unchanged). */
int cluster_store_set_addresses(cluster_store *cs, const char *listen, const char *advertise, berr *e);
const char *cluster_store_advertise_address(const cluster_store *cs);
/* Where the member with this raft ID is reached (kept in identity.json):
 * libraft's configuration cannot rename a member, this overrides it. */
void cluster_store_set_peer(cluster_store *cs, uint64_t raft_id, const char *address);
uint64_t cluster_store_raft_id(const cluster_store *cs);
/* {"<raft id>": "ip:port"} for every member whose address is known,
 * this one included (a new object): what a joining member needs before
 * it has the log. */
json_t *cluster_store_peers(cluster_store *cs);

typedef struct cs_member {
    uint64_t raft_id;
    bool voter;
    bool leader;
    bool reachable;   /* leader: heard from within an election timeout; others: only self and the leader are known */
    bool known;       /* whether reachable is this member's own observation */
    uint64_t match_index; /* leader: the last entry known to be in this member's log */
} cs_member;
/* The raft configuration as this member sees it; returns how many (at
 * most max written). */
size_t cluster_store_members(cluster_store *cs, cs_member *out, size_t max);
/* The leader's raft ID (0: none known) and whether this member is it. */
uint64_t cluster_store_leader(cluster_store *cs);

/* On the leader: adds raft_id at address as a non-voting member, lets it
 * catch up with the log, then makes it a voter (libraft's one change at a
 * time); done with 0 or the reason.  raft_remove for the other way. */
int cluster_store_add_voter(cluster_store *cs, uint64_t raft_id, const char *address, cs_done_fn done, void *arg,
                            berr *e);
/* On the leader: hands leadership to the most caught-up voter. */
int cluster_store_transfer(cluster_store *cs, berr *e);
int cluster_store_remove_member(cluster_store *cs, uint64_t raft_id, cs_done_fn done, void *arg, berr *e);

/* Node RPC requests that are not the store's own (forwarded proposals)
 * go to fn; see raft/transport.h. */
void cluster_store_on_rpc(cluster_store *cs, cs_rpc_handler fn, void *arg);

/* ---- TLS identity (raft/cluster_certs.c) ----------------------------------------- */

/* This member's credentials on the swarm port: the cluster's root CA
 * certificate, this node's certificate (which must chain to it) and its
 * key, all PEM.  Written to <dir>/certificates (loaded again at every
 * open, before raft starts) and used from now on by the transport and by
 * cs_rpc_call. */
int cluster_store_set_tls(cluster_store *cs, const char *ca, const char *cert, const char *key, berr *e);
/* The credentials in use (borrowed), NULL before the first certificate. */
tls_creds *cluster_store_tls(cluster_store *cs);
/* Asked for every client certificate at the TLS handshake (a removed
 * node is refused there). */
void cluster_store_set_peer_check(cluster_store *cs, cs_peer_check fn, void *arg);

#endif
