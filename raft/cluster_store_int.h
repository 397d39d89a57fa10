/* The cluster store's insides, shared by raft/cluster_store.c (open, close,
 * leadership, local proposals, reads), raft/cluster_forward.c (proposals
 * forwarded from followers to the leader) and raft/cluster_members.c
 * (membership changes and the members' view).  Nothing outside raft/
 * includes this. */
#ifndef BERTH_RAFT_CLUSTER_STORE_INT_H
#define BERTH_RAFT_CLUSTER_STORE_INT_H

#include <raft.h>
#include <raft/uv.h>

#include "raft/cluster_store.h"
#include "raft/fsm.h"
#include "raft/match_guard.h"

typedef struct cs_forward cs_forward;

struct cluster_store {
    uv_loop_t *loop;
    char *dir;
    char *raft_dir;
    char *address;          /* the raft address given to raft_init (kept by libraft's configuration) */
    char *listen;           /* where the transport listens, NULL: address */
    char *advertise;        /* where the others reach this member, NULL: address */
    json_t *peers;          /* {"<raft id>": "ip:port"}: addresses that override the configuration's */
    char node_id[26];
    char cluster_id[26];
    raft_id raft_id;

    cs_fsm *fsm;
    bool mirror;            /* a worker's copy of its assignments: no raft, no files (raft/cluster_mirror.c) */
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft raft;
    bool raft_inited;
    bool joining;           /* opened to join: no bootstrap, ready once a leader sent the log */

    uv_timer_t timer;       /* raft's tick and the leadership poll (cluster_tick.c); the drain at close */
    int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv);
    /* raft_uv's send, wrapped so a follower's answers claim no more than
     * the leader sent it (raft/match_guard.h, cluster_tick.c). */
    int (*io_send)(struct raft_io *io, struct raft_io_send *req, const struct raft_message *m, raft_io_send_cb cb);
    match_guard guard;
    raft_io_tick_cb raft_tick;  /* what raft gave io->start, called from the timer */
    raft_io_recv_cb raft_recv;
    struct raft_barrier barrier;
    bool barrier_pending;
    raft_term barrier_term;
    bool ready;
    raft_term ready_term;
    bool ready_fired;
    void (*on_ready)(void *arg);
    void *ready_arg;

    tls_creds *creds;       /* this member's CA, certificate and key (NULL: none yet) */
    cs_rpc_handler rpc;     /* node RPC requests that are not the store's */
    void *rpc_arg;
    cs_forward *forwards;   /* forwarded proposals waiting for the leader or for their apply here */

    bool closing;
    int in_flight;          /* proposals and changes libraft has not answered yet */
    int drain_ticks;        /* close waits for them, a bounded while */
    int close_pending;
    void (*close_done)(void *arg);
    void *close_arg;

    /* See guarded_io_close() in cluster_store.c. */
    void (*io_close)(struct raft_io *io, raft_io_close_cb cb);
    raft_io_close_cb io_closed;
    bool io_close_fired;
    uint64_t buried_at;             /* uv_now() when it went to the graveyard */
    struct cluster_store *next_buried;
};

/* One proposal in flight; freed by its raft_apply callback, which libraft
 * always calls (with RAFT_LEADERSHIPLOST when raft stops first). */
typedef struct cs_request {
    struct raft_apply req;
    struct cluster_store *cs;
    cs_done_fn done;
    void *arg;
} cs_request;

/* raft/cluster_store.c */
int cs_propose_local(cluster_store *cs, const cs_op *ops, size_t n, cs_done_fn done, void *arg, berr *e);
int cs_identity_save(cluster_store *cs, berr *e);

/* raft/cluster_certs.c: loads <dir>/certificates into the transport;
 * rewrites the node key sealed (autolock) or plain, as the keyring now is. */
void cs_certs_load(cluster_store *cs);
int cs_certs_rewrite_key(cluster_store *cs, berr *e);

/* raft/cluster_store.c: leadership and readiness, after every tick. */
void cs_poll_leader(cluster_store *cs);

/* raft/cluster_tick.c: the store's timer ticks raft, once a second for a
 * lone leader and every heartbeat timeout otherwise.  cs_tick_wrap before
 * raft_start; cs_tick_pace after raft_start and whenever the state or the
 * configuration may have changed. */
void cs_tick_wrap(cluster_store *cs);   /* also wraps io.send for the match guard */
void cs_tick_pace(cluster_store *cs);

/* raft/cluster_forward.c */
int cs_forward_propose(cluster_store *cs, const cs_op *ops, size_t n, cs_done_fn done, void *arg, berr *e);
/* The transport's RPC entry point (arg: the store). */
void cs_rpc_dispatch(void *arg, json_t *req, cs_rpc_ctx *ctx);
/* After applies and on every poll: completes forwarded proposals whose
 * entry is applied here. */
void cs_forward_poll(cluster_store *cs);
/* Fails whatever is still waiting (close). */
void cs_forward_cancel(cluster_store *cs);
/* The leader's address for node RPC, or NULL. */
const char *cs_leader_address(cluster_store *cs);

#endif
