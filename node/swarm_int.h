/* Swarm internals shared by node/swarm.c (the store's life, the cluster and
 * node objects) and node/swarm_join.c (joining another cluster, and the
 * leader's side of a join).  Nothing outside node/swarm*.c includes this. */
#ifndef BERTH_NODE_SWARM_INT_H
#define BERTH_NODE_SWARM_INT_H

#include "node/swarm.h"

#define MAX_SUBSCRIBERS 8

typedef struct waiter {
    void (*fn)(void *arg);
    void *arg;
    struct waiter *next;
} waiter;

typedef struct subscriber {
    void (*fn)(void *arg, swarm_event ev);
    void *arg;
} subscriber;

struct swarm {
    uv_loop_t *loop;
    char *dir;
    char *hostname, *arch, *engine_version;
    long long nano_cpus, memory_bytes;

    cluster_store *cs;
    swarm_state state;
    char error[BERR_MSG_MAX];
    char node_id[26], cluster_id[26];
    uint64_t pending_since;      /* uv_now when the store last became pending */
    int ensure_tries;

    uv_timer_t timer;            /* releases waiters SWARM_WAIT_MS after pending began */
    waiter *waiters;
    subscriber subs[MAX_SUBSCRIBERS];
    int n_subs;

    bool leaving;                /* a leave is replacing the store */
    bool old_store_closing;      /* ... and is waiting for the old one to close */
    swarm_done_fn leave_done;
    void (*reopen)(swarm *s);    /* what opens the next store after a replace (NULL: a fresh cluster) */
    char *join_remote;           /* a join under way: the manager it talks to, */
    char *join_token;            /* the token, */
    char *join_listen, *join_advertise;  /* and this node's addresses */
    int join_hops;
    bool force_new;              /* the next open forces a new cluster of this member alone */
    char join_cluster[26];
    json_t *join_peers;
    char *join_ca;               /* the remote's root CA, pinned by the token's digest */
    char *join_key;              /* this node's new key, until its certificate comes */
    void *leave_arg;

    uv_timer_t renew_timer;      /* this node's certificate renewal (swarm_ca.c) */
    uv_timer_t reach_timer;      /* the leader's upkeep of ManagerStatus.Reachability */
    bool reach_proposing;
    int transfer_ticks;          /* a stopping leader waiting for its successor */
    char demote_seen[26];        /* a demoted member seen caught up once: removed at the next tick */

    bool closing;
    void (*close_done)(void *arg);
    void *close_arg;
};

/* node/swarm.c */
void swarm_enter_pending(swarm *s);
void swarm_enter_error(swarm *s, const berr *e);
void swarm_notify(swarm *s, swarm_event ev);
/* Answers the leave or join under way (if any). */
void swarm_finish_leave(swarm *s, int status, const berr *e);
/* Opens the store (join_cluster_id: joining that cluster at advertise,
 * listening on listen); a failure puts s in SWARM_ERROR. */
int swarm_open_store(swarm *s, const char *join_cluster_id, const char *listen, const char *advertise, berr *e);
/* Closes the store and wipes its directory, then calls then(s). */
void swarm_replace_store(swarm *s, void (*then)(swarm *s));
json_t *swarm_node_description(swarm *s);

/* node/swarm_members.c: the leader's upkeep, every 200 ms */
void swarm_members_tick(uv_timer_t *t);

/* node/swarm_join.c */
void swarm_rpc(void *arg, json_t *req, cs_rpc_ctx *ctx);

/* node/swarm_ca.c: the root CA in the cluster object, node certificates */
/* Makes a root CA in the cluster document (Berth.CA and TLSInfo). */
int swarm_ca_new(json_t *cluster, berr *e);
const char *swarm_ca_cert(json_t *cluster);
/* Docker's TLSInfo for a node certificate (cert NULL: the CA itself). */
json_t *swarm_tls_info(const char *ca_pem, const char *cert_pem);
/* Signs csr for node_id in role (TLS_ROLE_*) with the cluster's CA, for
 * the spec's CAConfig.NodeCertExpiry. */
int swarm_ca_issue(swarm *s, json_t *cluster, const char *csr, const char *node_id, const char *role, char **cert,
                   berr *e);
/* Gives this manager a certificate of the cluster's CA unless the one it
 * has is current; swarm_ca_schedule sets the renewal timer for it. */
int swarm_ca_sign_self(swarm *s, json_t *cluster, berr *e);
void swarm_ca_schedule(swarm *s);
/* The transport's check of a client certificate (arg: the swarm). */
bool swarm_peer_check(void *arg, const tls_ident *peer, char *why, size_t why_len);
bool swarm_node_removed(json_t *cluster, const char *node_id);

#endif
