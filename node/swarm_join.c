/* Joining another cluster as a manager, and the managers' side of it.
 *
 * Over node RPC on the swarm port (raft/transport.h), every call TLS:
 *   hello        any manager, no certificate needed: its node ID and the
 *                cluster's root CA certificate.  The joiner asks without
 *                trusting the server and pins the CA by the token's digest
 *                ("remote CA does not match fingerprint");
 *   token_check  any manager, the server verified against that CA: is
 *                this the cluster's manager token?  Answers the cluster ID
 *                and the members' addresses;
 *   issue        any manager: signs a certificate request, for a new node
 *                with a join token (the token's role), or for the node a
 *                valid certificate names (renewal, the role the store
 *                gives it);
 *   join         the leader, from a manager's certificate: records the
 *                node, checks it can reach the joiner's advertised
 *                address, adds it as a raft voter; a follower answers with
 *                the leader's address instead.
 * The joiner pins the CA before it sends the token anywhere, and checks
 * the token before it gives up its own cluster, so a wrong digest or a
 * wrong token leaves it as it was.  Requests without a certificate reach
 * only hello, token_check and issue. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/tls_ca.h"
#include "node/swarm_int.h"
#include "node/swarm_token.h"

#define RPC_TIMEOUT_MS 5000
/* The leader's join answer comes after the new member caught up and was
 * promoted: allow for a large log. */
#define JOIN_TIMEOUT_MS 20000
#define MAX_REDIRECTS 3

#define ERR_BAD_TOKEN "rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster"

/* ---- the joiner ------------------------------------------------------------------- */

static void join_clear(swarm *s)
{
    free(s->join_remote);
    free(s->join_token);
    free(s->join_listen);
    free(s->join_advertise);
    free(s->join_ca);
    tls_free_secret(s->join_key);
    s->join_remote = s->join_token = s->join_listen = s->join_advertise = s->join_ca = s->join_key = NULL;
    json_decref(s->join_peers);
    s->join_peers = NULL;
}

/* A failure before this node gave up its cluster: answer, nothing else. */
static void join_refused(swarm *s, int status, const berr *e)
{
    join_clear(s);
    /* The store stayed as it was: active again. */
    s->state = SWARM_ACTIVE;
    swarm_finish_leave(s, status, e);
}

/* A failure after: answer, and go back to a fresh one-member cluster. */
static void join_failed(swarm *s, int status, const berr *e)
{
    log_warn("swarm: join failed: %s", e && e->msg[0] ? e->msg : "failed");
    join_clear(s);
    swarm_finish_leave(s, status, e);
    if (!s->closing)
        swarm_replace_store(s, NULL);
}

static void send_join(swarm *s);

static void on_join_reply(void *arg, int status, json_t *resp, const berr *e)
{
    swarm *s = arg;
    if (s->closing || !s->join_remote)
        return;
    berr err = {0};
    if (status < 0) {
        berr_set(&err, status, "could not join the swarm: %s", e && e->msg[0] ? e->msg : "no answer");
        join_failed(s, -EAGAIN, &err);
        return;
    }
    int st = (int)json_integer_value(json_object_get(resp, "status"));
    const char *leader = json_string_value(json_object_get(resp, "leader"));
    if (st == -ENOTCONN && leader && *leader && ++s->join_hops <= MAX_REDIRECTS) {
        free(s->join_remote);
        s->join_remote = xstrdup(leader);
        send_join(s);
        return;
    }
    if (st != 0) {
        const char *msg = json_string_value(json_object_get(resp, "error"));
        berr_set(&err, st == -EINVAL ? -EINVAL : -EAGAIN, "%s", msg ? msg : "the manager refused the join");
        join_failed(s, err.code, &err);
        return;
    }
    /* Added: the store becomes ready once the leader's log is applied
     * here, then this node's object is refreshed and the join answered
     * (swarm.c, become_active). */
    log_info("swarm: joined cluster %s through %s", s->join_cluster, s->join_remote);
    join_clear(s);
}

static void send_join(swarm *s)
{
    json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "op", "join", "token", s->join_token, "node",
                            swarm_node_id(s), "raft_id", "", "addr", s->join_advertise, "description",
                            swarm_node_description(s));
    char rid[24];
    snprintf(rid, sizeof rid, "%llu", (unsigned long long)cluster_store_raft_id(s->cs));
    json_object_set_new(req, "raft_id", json_string(rid));
    berr e = {0};
    int rc = cs_rpc_call_owned(s->loop, s, s->join_remote, req, JOIN_TIMEOUT_MS, on_join_reply, s, &e);
    json_decref(req);
    if (rc < 0)
        join_failed(s, -EAGAIN, &e);
}

static void on_issued(void *arg, int status, json_t *resp, const berr *e)
{
    swarm *s = arg;
    if (s->closing || !s->join_remote || !s->cs)
        return;
    berr err = {0};
    if (status < 0) {
        berr_set(&err, status, "could not get a certificate from %s: %s", s->join_remote,
                 e && e->msg[0] ? e->msg : "no answer");
        join_failed(s, -EAGAIN, &err);
        return;
    }
    int st = (int)json_integer_value(json_object_get(resp, "status"));
    const char *cert = json_string_value(json_object_get(resp, "cert"));
    if (st != 0 || !cert) {
        const char *msg = json_string_value(json_object_get(resp, "error"));
        berr_set(&err, st == -EINVAL ? -EINVAL : -EAGAIN, "%s", msg ? msg : "the manager issued no certificate");
        join_failed(s, err.code, &err);
        return;
    }
    /* What was asked for, from the CA that was pinned. */
    tls_ident id;
    if (tls_cert_verify(s->join_ca, cert, &id, &err) < 0 || strcmp(id.cn, swarm_node_id(s)) != 0 ||
        strcmp(id.ou, TLS_ROLE_MANAGER) != 0 || strcmp(id.o, s->join_cluster) != 0) {
        if (!err.msg[0])
            berr_set(&err, -EPROTO, "the manager issued a certificate for another node or role");
        berr_wrap(&err, "could not join the swarm");
        join_failed(s, -EAGAIN, &err);
        return;
    }
    if (cluster_store_set_tls(s->cs, s->join_ca, cert, s->join_key, &err) < 0) {
        join_failed(s, err.code ? err.code : -EIO, &err);
        return;
    }
    s->join_hops = 0;
    send_join(s);
}

/* The old store is closed and wiped: open the new one in the remote's
 * cluster, get this node's certificate, then ask to be added. */
static void join_reopen(swarm *s)
{
    berr e = {0};
    if (swarm_open_store(s, s->join_cluster, s->join_listen, s->join_advertise, &e) < 0) {
        join_clear(s);
        swarm_finish_leave(s, e.code ? e.code : -EIO, &e);
        return;
    }
    /* Until it has the log, the new member knows the others only from
     * what the manager it asked told it. */
    const char *key;
    json_t *val;
    json_object_foreach(s->join_peers, key, val) cluster_store_set_peer(s->cs, strtoull(key, NULL, 10),
                                                                       json_string_value(val));
    char *csr = NULL;
    int rc = tls_key_new(&s->join_key, &e);
    if (rc == 0)
        rc = tls_csr_new(s->join_key, &csr, &e);
    if (rc == 0) {
        json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "op", "issue", "token", s->join_token, "csr", csr, "node",
                                swarm_node_id(s));
        rc = cs_rpc_call_bootstrap(s->loop, s, s->join_remote, s->join_ca, req, RPC_TIMEOUT_MS, on_issued, s, &e);
        json_decref(req);
    }
    free(csr);
    if (rc < 0)
        join_failed(s, -EAGAIN, &e);
}

static void on_token_checked(void *arg, int status, json_t *resp, const berr *e)
{
    swarm *s = arg;
    if (s->closing || !s->join_remote)
        return;
    berr err = {0};
    if (status < 0) {
        berr_set(&err, status, "could not check the join token with %s: %s", s->join_remote,
                 e && e->msg[0] ? e->msg : "no answer");
        join_refused(s, -EAGAIN, &err);
        return;
    }
    int st = (int)json_integer_value(json_object_get(resp, "status"));
    if (st != 0) {
        const char *msg = json_string_value(json_object_get(resp, "error"));
        berr_set(&err, st, "%s", msg ? msg : ERR_BAD_TOKEN);
        join_refused(s, st == -ENOSYS ? -ENOSYS : -EINVAL, &err);
        return;
    }
    /* This answer came from a server with a certificate of the pinned CA. */
    const char *cluster = json_string_value(json_object_get(resp, "cluster"));
    if (!cluster || strlen(cluster) != 25) {
        berr_set(&err, -EAGAIN, "the manager at %s is not a swarm manager ready to be joined", s->join_remote);
        join_refused(s, -EAGAIN, &err);
        return;
    }
    snprintf(s->join_cluster, sizeof s->join_cluster, "%s", cluster);
    json_decref(s->join_peers);
    json_t *peers = json_object_get(resp, "peers");
    s->join_peers = json_is_object(peers) ? json_deep_copy(peers) : json_object();
    swarm_replace_store(s, join_reopen);
}

static void on_hello(void *arg, int status, json_t *resp, const berr *e)
{
    swarm *s = arg;
    if (s->closing || !s->join_remote)
        return;
    berr err = {0};
    if (status < 0) {
        berr_set(&err, status, "could not reach the manager at %s: %s", s->join_remote,
                 e && e->msg[0] ? e->msg : "no answer");
        join_refused(s, -EAGAIN, &err);
        return;
    }
    char want[SWARM_TOKEN_DIGEST_LEN + 1], secret[SWARM_TOKEN_SECRET_LEN + 1], got[SWARM_TOKEN_DIGEST_LEN + 1];
    swarm_token_parse(s->join_token, want, secret, NULL);
    const char *ca = json_string_value(json_object_get(resp, "ca"));
    if (!ca || !*ca) {
        berr_set(&err, -EAGAIN, "the manager at %s is not a swarm manager ready to be joined", s->join_remote);
        join_refused(s, -EAGAIN, &err);
        return;
    }
    swarm_token_digest(ca, got);
    if (strcmp(got, want) != 0) {
        berr_set(&err, -EINVAL, "remote CA does not match fingerprint. Expected: %s", want);
        join_refused(s, -EINVAL, &err);
        return;
    }
    s->join_ca = xstrdup(ca);
    json_t *req = json_pack("{s:s, s:s}", "op", "token_check", "token", s->join_token);
    int rc = cs_rpc_call_bootstrap(s->loop, s, s->join_remote, s->join_ca, req, RPC_TIMEOUT_MS, on_token_checked, s,
                                   &err);
    json_decref(req);
    if (rc < 0)
        join_refused(s, -EAGAIN, &err);
}

int swarm_join(swarm *s, const char *remote, const char *token, const char *listen, const char *advertise,
               swarm_done_fn done, void *arg, berr *e)
{
    if (s->closing)
        return berr_set(e, -ECANCELED, "the daemon is shutting down");
    if (s->leaving)
        return berr_set(e, -EBUSY, "the node is already leaving or joining a swarm");
    char digest[SWARM_TOKEN_DIGEST_LEN + 1], secret[SWARM_TOKEN_SECRET_LEN + 1];
    if (swarm_token_parse(token, digest, secret, e) < 0)
        return -EINVAL;
    s->join_remote = xstrdup(remote);
    s->join_token = xstrdup(token);
    s->join_listen = xstrdup(listen);
    s->join_advertise = xstrdup(advertise);
    json_t *req = json_pack("{s:s}", "op", "hello");
    int rc = cs_rpc_call_bootstrap(s->loop, s, remote, NULL, req, RPC_TIMEOUT_MS, on_hello, s, e);
    json_decref(req);
    if (rc < 0) {
        join_clear(s);
        return rc;
    }
    s->leaving = true;
    s->leave_done = done;
    s->leave_arg = arg;
    s->state = SWARM_PENDING;
    s->pending_since = uv_now(s->loop);
    return 0;
}

/* ---- the managers' side ---------------------------------------------------------------- */

static json_t *rpc_error(int status, const char *msg)
{
    return json_pack("{s:i, s:s}", "status", status, "error", msg);
}

/* Which token this is: 'm' manager, 'w' worker, 0 neither. */
static char token_role(json_t *cluster, const char *token)
{
    json_t *tokens = json_object_get(cluster, "JoinTokens");
    const char *m = json_string_value(json_object_get(tokens, "Manager"));
    const char *w = json_string_value(json_object_get(tokens, "Worker"));
    /* Constant time: the token is a secret. */
    size_t n = token ? strlen(token) : 0;
    if (m && strlen(m) == n && n > 0 && sodium_memcmp(m, token, n) == 0)
        return 'm';
    if (w && strlen(w) == n && n > 0 && sodium_memcmp(w, token, n) == 0)
        return 'w';
    return 0;
}

static json_t *check_token(swarm *s, const char *token)
{
    json_t *cluster = swarm_cluster_doc(s);
    if (!cluster)
        return rpc_error(-EAGAIN, "This node is not a swarm manager. Manager is being prepared or has trouble "
                                  "connecting to the cluster.");
    char role = token_role(cluster, token);
    json_decref(cluster);
    if (role == 'w')
        return rpc_error(-ENOSYS, "berthd cannot join workers yet: only managers join (worker nodes are the second "
                                  "part of multi-node work)");
    if (role != 'm')
        return rpc_error(-EINVAL, ERR_BAD_TOKEN);
    return NULL;
}

typedef struct pending_join {
    swarm *s;
    cs_rpc_ctx *ctx;
    char node[26];
    uint64_t raft_id;
    char *addr;
    json_t *desc;
} pending_join;

static void pending_free(pending_join *p)
{
    free(p->addr);
    json_decref(p->desc);
    free(p);
}

static void on_voter_added(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    pending_join *p = arg;
    if (status < 0)
        cs_rpc_reply(p->ctx, rpc_error(-EAGAIN, e && e->msg[0] ? e->msg : "could not add the member"));
    else
        cs_rpc_reply(p->ctx, json_pack("{s:i}", "status", 0));
    log_info("swarm: manager %s at %s %s", p->node, p->addr, status < 0 ? "could not be added" : "joined");
    pending_free(p);
}

static void on_node_recorded(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    pending_join *p = arg;
    cluster_store *cs = p->s->closing ? NULL : swarm_store(p->s);
    berr err = {0};
    if (status < 0 || !cs) {
        cs_rpc_reply(p->ctx, rpc_error(-EAGAIN, e && e->msg[0] ? e->msg : "could not record the node"));
        pending_free(p);
        return;
    }
    if (cluster_store_add_voter(cs, p->raft_id, p->addr, on_voter_added, p, &err) < 0) {
        cs_rpc_reply(p->ctx, rpc_error(-EAGAIN, err.msg));
        pending_free(p);
    }
}

static void on_dialled_back(void *arg, int status, json_t *resp, const berr *e)
{
    (void)resp;
    (void)e;
    pending_join *p = arg;
    swarm *s = p->s;
    cluster_store *cs = s->closing ? NULL : swarm_store(s);
    if (status < 0 || !cs) {
        cs_rpc_reply(p->ctx, rpc_error(-EAGAIN, cs ? "rpc error: code = Unavailable desc = could not connect to "
                                                     "prospective new cluster member using its advertised address"
                                                   : "the manager is shutting down"));
        pending_free(p);
        return;
    }
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    char rid[24];
    snprintf(rid, sizeof rid, "%llu", (unsigned long long)p->raft_id);
    const char *colon = strrchr(p->addr, ':');
    cleanup_free char *host = xstrndup(p->addr, colon ? (size_t)(colon - p->addr) : strlen(p->addr));
    json_t *doc = json_pack("{s:s, s:{s:i}, s:s, s:s, s:{s:{}, s:s, s:s}, s:O, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s}}",
                            "ID", p->node, "Version", "Index", 0, "CreatedAt", now, "UpdatedAt", now, "Spec",
                            "Labels", "Role", "manager", "Availability", "active", "Description", p->desc, "Status",
                            "State", "ready", "Addr", host, "ManagerStatus", "Reachability", "reachable", "Addr",
                            p->addr, "Berth", "RaftID", rid);
    cs_op op = {.type = CS_PUT, .kind = CS_NODE, .doc = doc, .if_version = -1};
    snprintf(op.id, sizeof op.id, "%s", p->node);
    berr err = {0};
    int rc = cluster_store_propose(cs, &op, 1, on_node_recorded, p, &err);
    json_decref(doc);
    if (rc < 0) {
        cs_rpc_reply(p->ctx, rpc_error(-EAGAIN, err.msg));
        pending_free(p);
    }
}

static void handle_join(swarm *s, json_t *req, cs_rpc_ctx *ctx)
{
    cluster_store *cs = swarm_store(s);
    json_t *bad = check_token(s, json_string_value(json_object_get(req, "token")));
    if (bad) {
        cs_rpc_reply(ctx, bad);
        return;
    }
    /* The node joins as whom its certificate names. */
    const char *who = json_string_value(json_object_get(req, "node"));
    if (cs_rpc_peer_role(ctx) != CS_PEER_MANAGER || !who || strcmp(who, cs_rpc_peer_node(ctx)) != 0) {
        cs_rpc_reply(ctx, rpc_error(-EPERM, "node RPC: a join needs the joining node's manager certificate"));
        return;
    }
    uint64_t leader = cluster_store_leader(cs);
    if (leader != cluster_store_raft_id(cs)) {
        json_t *resp = rpc_error(-ENOTCONN, "raft: failed to process the request: node lost leader status");
        /* The leader's address as the transport knows it. */
        json_t *nodes = cs_list(cs, CS_NODE);
        size_t i;
        json_t *n;
        char lid[24];
        snprintf(lid, sizeof lid, "%llu", (unsigned long long)leader);
        json_array_foreach(nodes, i, n) {
            if (strcmp(json_string_value(json_object_get(json_object_get(n, "Berth"), "RaftID")) ?: "", lid) == 0)
                json_object_set(resp, "leader", json_object_get(json_object_get(n, "ManagerStatus"), "Addr"));
        }
        json_decref(nodes);
        cs_rpc_reply(ctx, resp);
        return;
    }
    const char *node = json_string_value(json_object_get(req, "node"));
    const char *rid = json_string_value(json_object_get(req, "raft_id"));
    const char *addr = json_string_value(json_object_get(req, "addr"));
    json_t *desc = json_object_get(req, "description");
    char *end = NULL;
    unsigned long long raft_id = rid ? strtoull(rid, &end, 10) : 0;
    if (!node || strlen(node) != 25 || !raft_id || *end || !addr || !*addr || strlen(addr) > 64 ||
        !json_is_object(desc)) {
        cs_rpc_reply(ctx, rpc_error(-EINVAL, "node RPC: a join needs a node ID, a raft ID, an address and a "
                                             "description"));
        return;
    }
    pending_join *p = xcalloc(1, sizeof *p);
    p->s = s;
    p->ctx = ctx;
    snprintf(p->node, sizeof p->node, "%s", node);
    p->raft_id = raft_id;
    p->addr = xstrdup(addr);
    p->desc = json_incref(desc);
    /* SwarmKit dials a joining manager back before adding it: a member
     * the others cannot reach would cost the cluster its quorum. */
    json_t *hello = json_pack("{s:s}", "op", "hello");
    berr e = {0};
    if (cs_rpc_call_owned(s->loop, s, addr, hello, RPC_TIMEOUT_MS, on_dialled_back, p, &e) < 0) {
        cs_rpc_reply(ctx, rpc_error(-EAGAIN, e.msg));
        pending_free(p);
    }
    json_decref(hello);
}

static bool node_id_shaped(const char *id)
{
    if (!id || strlen(id) != 25)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
            return false;
    return true;
}

/* A certificate for a node: a new one with a join token, or the node its
 * certificate names renewing (then in the role the store gives it). */
static void handle_issue(swarm *s, json_t *req, cs_rpc_ctx *ctx)
{
    cluster_store *cs = swarm_store(s);
    json_t *cluster = swarm_cluster_doc(s);
    const char *csr = json_string_value(json_object_get(req, "csr"));
    if (!cluster || !csr) {
        json_decref(cluster);
        cs_rpc_reply(ctx, rpc_error(cluster ? -EINVAL : -EAGAIN,
                                    cluster ? "node RPC: issue needs a certificate signing request"
                                            : "This node is not a swarm manager."));
        return;
    }
    const char *node = NULL, *role = NULL;
    json_t *doc = NULL;
    if (cs_rpc_peer_role(ctx) == CS_PEER_NONE) {
        char r = token_role(cluster, json_string_value(json_object_get(req, "token")));
        node = json_string_value(json_object_get(req, "node"));
        if (!r) {
            cs_rpc_reply(ctx, rpc_error(-EINVAL, ERR_BAD_TOKEN));
            json_decref(cluster);
            return;
        }
        /* A token makes new nodes only: an ID the cluster has (or had)
         * is not given away to whoever holds a token. */
        if (!node_id_shaped(node) || cs_get(cs, CS_NODE, node, &doc, NULL) == 0 || swarm_node_removed(cluster, node)) {
            json_decref(doc);
            cs_rpc_reply(ctx, rpc_error(-EINVAL, "node RPC: issue needs a new node ID"));
            json_decref(cluster);
            return;
        }
        role = r == 'm' ? TLS_ROLE_MANAGER : TLS_ROLE_WORKER;
    } else {
        node = cs_rpc_peer_node(ctx);
        if (cs_get(cs, CS_NODE, node, &doc, NULL) < 0) {
            cs_rpc_reply(ctx, rpc_error(-ENOENT, "node RPC: this node is not in the swarm"));
            json_decref(cluster);
            return;
        }
        const char *want = json_string_value(json_object_get(json_object_get(doc, "Spec"), "Role"));
        role = want && strcmp(want, "manager") == 0 ? TLS_ROLE_MANAGER : TLS_ROLE_WORKER;
        json_decref(doc);
    }
    char *cert = NULL;
    berr e = {0};
    if (swarm_ca_issue(s, cluster, csr, node, role, &cert, &e) < 0) {
        cs_rpc_reply(ctx, rpc_error(e.code ? e.code : -EINVAL, e.msg));
    } else {
        log_info("swarm: issued a %s certificate to node %s", role, node);
        cs_rpc_reply(ctx, json_pack("{s:i, s:s, s:s}", "status", 0, "cert", cert, "ca", swarm_ca_cert(cluster)));
    }
    free(cert);
    json_decref(cluster);
}

void swarm_rpc(void *arg, json_t *req, cs_rpc_ctx *ctx)
{
    swarm *s = arg;
    const char *op = json_string_value(json_object_get(req, "op"));
    bool bootstrap = op && (strcmp(op, "hello") == 0 || strcmp(op, "token_check") == 0 || strcmp(op, "issue") == 0);
    if (!bootstrap && cs_rpc_peer_role(ctx) == CS_PEER_NONE) {
        cs_rpc_reply(ctx, rpc_error(-EPERM, "node RPC: this request needs a certificate from the swarm's CA"));
        return;
    }
    if (op && strcmp(op, "hello") == 0) {
        json_t *cluster = swarm_cluster_doc(s);
        const char *ca = swarm_ca_cert(cluster);
        json_t *resp = json_pack("{s:i, s:s}", "status", 0, "node", swarm_node_id(s));
        if (ca)
            json_object_set_new(resp, "ca", json_string(ca));
        json_decref(cluster);
        cs_rpc_reply(ctx, resp);
        return;
    }
    if (!swarm_store(s)) {
        cs_rpc_reply(ctx, rpc_error(-EAGAIN, "This node is not a swarm manager. Manager is being prepared or has "
                                             "trouble connecting to the cluster."));
        return;
    }
    if (op && strcmp(op, "token_check") == 0) {
        json_t *bad = check_token(s, json_string_value(json_object_get(req, "token")));
        cs_rpc_reply(ctx, bad ? bad
                              : json_pack("{s:i, s:s, s:o}", "status", 0, "cluster", swarm_cluster_id(s), "peers",
                                          cluster_store_peers(swarm_store(s))));
        return;
    }
    if (op && strcmp(op, "issue") == 0) {
        handle_issue(s, req, ctx);
        return;
    }
    if (op && strcmp(op, "join") == 0) {
        handle_join(s, req, ctx);
        return;
    }
    cs_rpc_reply(ctx, rpc_error(-EINVAL, "node RPC: unknown request"));
}
